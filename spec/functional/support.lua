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
  d.task = infrakit.spawn(function()
    return infrakit.exec(argv, { env = support.env(home), timeout = 60 })
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

return support
