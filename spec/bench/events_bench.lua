-- What the event stream costs the daemon (docs/observability.md, "Event
-- stream"), run by `make bench` (spec/bench/run.sh). The same daemon is
-- measured without and with two GET /events clients attached (curl, each
-- receiving every event) and a dashboard-like poller calling
-- Group.DescribeGroup every 2 s: Handshake.Hello calls/s on the group
-- socket (spec/bench/rpc_load.c, 4 clients) and the time for 1,000 file
-- instances to converge after a commit, with the daemon's own CPU time in
-- that converge (what the stream costs it, apart from the clients' share of
-- a small machine). The clients run at nice 19: they stand for a browser
-- on an operator's laptop, and on a 2-core machine they would otherwise
-- time-share the daemon's core. The two setups are measured in pairs (each
-- going first half the time); the targets are the medians of the pairs'
-- ratios.
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

-- The daemon's time on a CPU so far, in seconds (/proc/PID/schedstat, in
-- nanoseconds: finer than /proc/PID/stat's ticks).
local function daemon_cpu()
  local f = assert(io.open("/proc/" .. daemon.pid .. "/schedstat"))
  local ns = tonumber(f:read("*a"):match("%d+"))
  f:close()
  return ns / 1e9
end

-- Seconds from the commit of 1,000 instances to steady, and the daemon's
-- CPU seconds meanwhile; then destroyed.
local function converge()
  local id = "bench"
  log.skip()
  local c0, t0 = daemon_cpu(), infrakit.clock()
  assert(infrakit.rpc.call(sock, "Group.CommitGroup", { Name = "group", Spec = cattle(id, 1000), Pretend = false }))
  log.wait(function(ev) return ev.group == id and ev.event == "phase" and ev.to == "steady" end, 120, '"steady"')
  local dt, cpu = infrakit.clock() - t0, daemon_cpu() - c0
  log.skip()
  assert(infrakit.rpc.call(sock, "Group.DestroyGroup", { Name = "group", ID = id }))
  log.wait(function(ev) return ev.group == id and ev.event == "destroyed" end, 120, '"destroyed"')
  return dt, cpu
end

local function calls_per_sec()
  if not bench_dir then return nil end
  local r = assert(infrakit.exec({ bench_dir .. "/rpc_load", "--unix", sock, "--conns", "4", "--seconds", "0.5" }))
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
    pids[k] = sh("nice -n 19 curl -sN --unix-socket " .. sock .. " http://h/events > " .. out .. " 2>&1 & echo $!").stdout:match("%d+")
  end
  local call = '{"jsonrpc":"2.0","method":"Group.DescribeGroup","params":{"Name":"group","ID":"bench"},"id":1}'
  pids[3] = sh("while :; do nice -n 19 curl -s --unix-socket " .. sock .. " -H 'Content-Type: application/json' -d '" .. call ..
    "' http://h/ >/dev/null; echo >> " .. home .. "/polls; sleep 2; done >/dev/null 2>&1 & echo $!").stdout:match("%d+")
  -- Connected once both streams said ": live" (the daemon writes it as a
  -- stream starts).
  for _ = 1, 200 do
    local live = sh("grep -l '^: live' " .. home .. "/sse1.txt " .. home .. "/sse2.txt 2>/dev/null | wc -l").stdout
    if tonumber(live) == 2 then break end
    infrakit.sleep(0.01)
  end
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
-- The two setups are measured back to back, a pair a round, and the ratio
-- is taken within each pair: the machine's other tenants move both halves
-- of a pair alike, where they move one round against another by more than
-- the 5 % asked about. The median of the pairs' ratios is the figure. One
-- pair's ratio spreads from 0.6 to 1.8 on a shared 2-core machine
-- (measured, for converge times and for calls/s alike, though the stream
-- clients have nothing to do while Hello is called), so it takes some 40
-- pairs for the median to settle within a few %: 40 converges, and 20
-- half-second calls/s runs.
local ROUNDS, RPC_ROUNDS = 40, 20
local ratios = { rpc = {}, converge = {}, cpu = {} }
local frames, polls = 0, 0
local function measure(setup, i)
  local detach = setup == "with" and attach() or nil
  -- The same idle time before either (attach waits for its clients, some
  -- tens of ms): a converge that follows an idle spell starts colder.
  infrakit.sleep(0.1)
  local m = {}
  if i <= RPC_ROUNDS then m.rpc = calls_per_sec() end
  m.converge, m.cpu = converge()
  keep(best[setup], "rpc", m.rpc, "higher")
  keep(best[setup], "converge", m.converge, "lower")
  keep(best[setup], "cpu", m.cpu, "lower")
  if detach then
    local f, p = detach()
    frames, polls = frames + f, polls + p
  end
  return m
end
-- Alternate which goes first, so neither always follows a converge.
for i = 1, ROUNDS do
  local with, without
  if i % 2 == 1 then
    without = measure("without", i); with = measure("with", i)
  else
    with = measure("with", i); without = measure("without", i)
  end
  for k, list in pairs(ratios) do
    if with[k] and without[k] then list[#list + 1] = with[k] / without[k] end
  end
end
local function median(list)
  table.sort(list)
  local n = #list
  return n % 2 == 1 and list[(n + 1) / 2] or (list[n / 2] + list[n / 2 + 1]) / 2
end

if best.without.rpc then
  info("Handshake.Hello calls/s on the group socket, no stream clients (best of " .. RPC_ROUNDS .. ")", best.without.rpc, "/s")
  info("  with 2 stream clients and a poller (best of " .. RPC_ROUNDS .. ")", best.with.rpc, "/s")
  row("  calls/s with / without (median of " .. RPC_ROUNDS .. " pairs)", median(ratios.rpc), "x", 0.95, "higher")
else
  info("Handshake.Hello calls/s: skipped, IK_BENCH_DIR (rpc_load) not set", 0, "")
end
info("commit -> 1,000 file instances converged, no stream clients (best of " .. ROUNDS .. ")", best.without.converge, "s")
info("  with 2 stream clients and a poller (best of " .. ROUNDS .. ")", best.with.converge, "s")
row("  converge time with / without (median of " .. ROUNDS .. " pairs)", median(ratios.converge), "x", 1.05, "lower")
info("the daemon's CPU time in that converge, no stream clients (best of " .. ROUNDS .. ")", best.without.cpu, "s")
info("  with 2 stream clients and a poller (best of " .. ROUNDS .. ")", best.with.cpu, "s")
info("  daemon CPU with / without (median of " .. ROUNDS .. " pairs)", median(ratios.cpu), "x")
info("  events each stream client received (all rounds)", frames, "")
info("  DescribeGroup polls meanwhile", polls, "")

daemon.stop()
sh("rm -rf " .. home)
report.print()
