-- What the event stream costs the daemon (docs/observability.md, "Event
-- stream"), run by `make bench` (spec/bench/run.sh). The same daemon is
-- measured without and with two GET /events clients attached (curl, each
-- receiving every event) and a dashboard-like poller calling
-- Group.DescribeGroup every 2 s: Handshake.Hello calls/s on the group
-- socket (spec/bench/rpc_load.c, 4 clients) and the time for 1,000 file
-- instances to converge after a commit. The two setups alternate, four times
-- (each going first twice), and the best of each is kept, so a noisy machine shifts both alike.
-- Prints a table; the target is the ratio: at most 5 % apart.
local infrakit = require "infrakit"
local json = infrakit.json

local bin = os.getenv("IK_BIN") or "./infrakit"
local bench_dir = os.getenv("IK_BENCH_DIR")
local function sh(cmd) return assert(infrakit.exec({ "sh", "-c", cmd })) end

local base = infrakit.exec({ "test", "-w", "/dev/shm" }).status == 0 and "/dev/shm" or "/tmp"
local home = sh("mktemp -d " .. base .. "/ik-ebench-XXXXXX").stdout:gsub("%s+$", "")
local report = dofile("spec/bench/report.lua")("event stream (home on " .. base .. ")")
local row, info = report.row, report.info
local bench_daemon = dofile("spec/bench/bench_daemon.lua")
local daemon = bench_daemon.start(bin, home)
local sock = daemon.sock
local log = bench_daemon.event_log(home)

local function cattle(id, size)
  return { ID = id, Properties = {
    Allocation = { Size = size },
    Instance = { Plugin = "instance-file", Properties = { Note = "v1" } },
    Flavor = { Plugin = "flavor-vanilla", Properties = {} },
  } }
end

-- Seconds from the commit of 1,000 instances to steady; then destroyed.
local function converge()
  local id = "bench"
  log.skip()
  local t0 = infrakit.clock()
  assert(infrakit.rpc.call(sock, "Group.CommitGroup", { Name = "group", Spec = cattle(id, 1000), Pretend = false }))
  log.wait(function(ev) return ev.group == id and ev.event == "phase" and ev.to == "steady" end, 120)
  local dt = infrakit.clock() - t0
  log.skip()
  assert(infrakit.rpc.call(sock, "Group.DestroyGroup", { Name = "group", ID = id }))
  log.wait(function(ev) return ev.group == id and ev.event == "destroyed" end, 120)
  return dt
end

local function calls_per_sec()
  if not bench_dir then return nil end
  local r = assert(infrakit.exec({ bench_dir .. "/rpc_load", "--unix", sock, "--conns", "4", "--seconds", "2" }))
  assert(r.status == 0, "rpc_load failed: " .. r.stderr)
  return json.decode(r.stdout).calls_per_sec
end

-- Two stream clients and the poller, each its own process as a dashboard
-- would be (a poller task in this script would share the loop that times
-- the converge); returns a function that stops them.
local function attach()
  local pids = {}
  for k = 1, 2 do
    local out = home .. "/sse" .. k .. ".txt"
    pids[k] = sh("curl -sN --unix-socket " .. sock .. " http://h/events > " .. out .. " 2>&1 & echo $!").stdout:match("%d+")
  end
  local call = '{"jsonrpc":"2.0","method":"Group.DescribeGroup","params":{"Name":"group","ID":"bench"},"id":1}'
  pids[3] = sh("while :; do curl -s --unix-socket " .. sock .. " -H 'Content-Type: application/json' -d '" .. call ..
    "' http://h/ >/dev/null; echo >> " .. home .. "/polls; sleep 2; done >/dev/null 2>&1 & echo $!").stdout:match("%d+")
  infrakit.sleep(0.3) -- connected
  return function()
    for _, pid in ipairs(pids) do sh("kill " .. pid .. " 2>/dev/null; true") end
    local frames = tonumber(sh("grep -c '^id: ' " .. home .. "/sse1.txt || true").stdout) or 0
    local polls = tonumber(sh("wc -l < " .. home .. "/polls").stdout) or 0
    sh("rm -f " .. home .. "/polls")
    return frames, polls
  end
end

local best = { without = {}, with = {} }
local function keep(t, k, v, better)
  if v and (t[k] == nil or (better == "higher" and v > t[k]) or (better == "lower" and v < t[k])) then t[k] = v end
end
local round, frames, polls = 0, 0, 0
local function measure(setup)
  local detach = setup == "with" and attach() or nil
  round = round + 1
  keep(best[setup], "rpc", calls_per_sec(), "higher")
  keep(best[setup], "converge", converge(), "lower")
  if detach then
    local f, p = detach()
    frames, polls = frames + f, polls + p
  end
end
-- Alternate which goes first, so neither always follows a converge.
for i = 1, 4 do
  if i % 2 == 1 then measure("without"); measure("with") else measure("with"); measure("without") end
end

if best.without.rpc then
  info("Handshake.Hello calls/s on the group socket, no stream clients (best of 4)", best.without.rpc, "/s")
  info("  with 2 stream clients and a poller (best of 4)", best.with.rpc, "/s")
  row("  calls/s with / without", best.with.rpc / best.without.rpc, "x", 0.95, "higher")
else
  info("Handshake.Hello calls/s: skipped, IK_BENCH_DIR (rpc_load) not set", 0, "")
end
info("commit -> 1,000 file instances converged, no stream clients (best of 4)", best.without.converge, "s")
info("  with 2 stream clients and a poller (best of 4)", best.with.converge, "s")
row("  converge time with / without", best.with.converge / best.without.converge, "x", 1.05, "lower")
info("  events each stream client received (all rounds)", frames, "")
info("  DescribeGroup polls meanwhile", polls, "")

daemon.stop()
sh("rm -rf " .. home)
report.print()
