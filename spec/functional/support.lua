-- Shared by the functional specs: run the binary, start and stop a real
-- `infrakit daemon` in a temporary INFRAKIT_HOME.
--   local support = dofile("spec/functional/support.lua")
local infrakit = require "infrakit"

local support = { bin = os.getenv("IK_BIN") or "./infrakit" }

function support.sh(cmd)
  return assert(infrakit.exec({ "sh", "-c", cmd }))
end

function support.exists(path) -- sockets included (io.open cannot open them)
  return infrakit.exec({ "test", "-e", path }).status == 0
end

function support.mktemp()
  return (support.sh("mktemp -d /tmp/ik-spec-XXXXXX").stdout:gsub("%s+$", ""))
end

-- The environment of a command run against home: INFRAKIT_HOME and PATH.
function support.env(home, extra)
  local env = { INFRAKIT_HOME = home, PATH = os.getenv("PATH"), INFRAKIT_PLUGINS_DIR = "" }
  for k, v in pairs(extra or {}) do env[k] = v end
  return env
end

-- Run `infrakit ARGS...` against home; returns the exec result.
function support.run(home, args, opts)
  local argv = { support.bin }
  for _, a in ipairs(args) do argv[#argv + 1] = a end
  opts = opts or {}
  return assert(infrakit.exec(argv, { env = support.env(home, opts.env), stdin = opts.stdin, timeout = 60 }))
end

-- Wait until path exists (up to 2 s).
function support.wait_for(path)
  for _ = 1, 200 do
    if support.exists(path) then return true end
    infrakit.sleep(0.01)
  end
  return false
end

-- Start `infrakit daemon EXTRA...` in home (a fresh one when nil); returns
-- a handle with home, plugins, socket, stop() and cleanup().
function support.start_daemon(home, extra)
  home = home or support.mktemp()
  local argv = { support.bin, "daemon" }
  for _, a in ipairs(extra or {}) do argv[#argv + 1] = a end
  local d = { home = home, plugins = home .. "/plugins" }
  d.socket = d.plugins .. "/instance-file"
  -- The timeout only reaps a daemon a failed spec left behind: generous,
  -- since a spec under a sanitizer build runs several times slower.
  d.task = infrakit.spawn(function()
    return infrakit.exec(argv, { env = support.env(home), timeout = 180 })
  end)
  -- Ready once it answers: a pid file may be a previous daemon's.
  for _ = 1, 300 do
    if infrakit.rpc.call(d.socket, "Handshake.Hello", nil, { timeout = 1 }) then break end
    infrakit.sleep(0.01)
  end
  function d.stop()
    local pid = io.open(d.plugins .. "/instance-file.pid"):read("*a")
    support.sh("kill -TERM " .. pid)
    return d.task:wait()
  end
  function d.cleanup() support.sh("rm -rf " .. home) end
  return d
end

-- Start a daemon whose group controller polls every 60 s (a later --poll
-- in extra wins), so healing seen in a spec comes from events; returns
-- once the controller answers.
function support.start_group_daemon(home, extra)
  local args = { "--poll", "60s" }
  for _, a in ipairs(extra or {}) do args[#args + 1] = a end
  local d = support.start_daemon(home, args)
  local sock = d.home .. "/plugins/group"
  assert(support.wait_for(sock), "the daemon serves no group plugin")
  for _ = 1, 500 do
    if infrakit.rpc.call(sock, "Handshake.Hello", nil, { timeout = 1 }) then break end
    infrakit.sleep(0.01)
  end
  return d
end

-- The end of a spec that started d: destroy the groups named (their
-- instances go), stop the daemon, remove its home.
function support.finish(d, ...)
  for _, id in ipairs({ ... }) do support.run(d.home, { "group", "destroy", id }) end
  d.stop()
  d.cleanup()
end

-- A wait_group predicate: the group is steady at n instances, nothing in flight.
function support.steady_at(n)
  return function(st)
    return st.Phase == "steady" and #st.InFlight == 0 and st.Summary.Current == n and #st.Instances == n
  end
end

-- `infrakit group describe --json ID` as a table, or nil.
function support.group_status(home, id)
  local r = support.run(home, { "group", "describe", "--json", id })
  return r.status == 0 and infrakit.json.decode(r.stdout) or nil
end

-- Poll the group's status until pred(status) holds (within `seconds`,
-- default 10); returns it, or fails naming the last status seen.
function support.wait_group(home, id, pred, seconds)
  local st
  for _ = 1, (seconds or 10) * 50 do
    st = support.group_status(home, id)
    if st and pred(st) then return st end
    infrakit.sleep(0.02)
  end
  error(id .. ": condition never held; last status: " .. infrakit.json.encode(st or {}), 2)
end

-- The "seq" of each line of home's event log, in order.
function support.event_seqs(home)
  local out = {}
  for line in io.lines(home .. "/events.jsonl") do out[#out + 1] = infrakit.json.decode(line).seq end
  return out
end

-- A Lua flavor "versioned" in home/flavors: tags each instance with its
-- Properties.Version; instances of Version "bad" are unhealthy (a rollout
-- that a health gate stops).
function support.versioned_flavor(home)
  support.sh("mkdir -p " .. home .. "/flavors")
  local f = io.open(home .. "/flavors/versioned.lua", "w")
  f:write([[
return {
  validate = function() return true end,
  prepare = function(props, spec)
    spec.Tags = spec.Tags or {}
    spec.Tags.version = props.Version
    return spec
  end,
  healthy = function(props, inst)
    return inst.Tags.version == "bad" and "unhealthy" or "healthy"
  end,
}
]])
  f:close()
end

return support
