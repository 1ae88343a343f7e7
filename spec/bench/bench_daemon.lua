-- A daemon for a benchmark, and its event log.
--   local bd = dofile("spec/bench/bench_daemon.lua")
--   local d = bd.start(bin, home, { "--poll", "60s" })  -- d.sock (group), d.pid, d.stop()
--   local log = bd.event_log(home)
-- start runs `infrakit daemon ARGS...` in home (log level warn) and returns
-- once its group controller answers. The event log ($INFRAKIT_HOME/
-- events.jsonl) is read as it grows, so a benchmark times the controller
-- without costing it anything: log.wait(pred, timeout, needle) returns the
-- first new event for which pred holds (fails after timeout seconds,
-- default 60; needle, a plain string, skips decoding the lines without it,
-- so the reader costs the machine less while it waits); log.skip() passes
-- over everything logged so far.
local infrakit = require "infrakit"
local json = infrakit.json

local M = {}

function M.start(bin, home, args)
  local argv = { bin, "daemon" }
  for _, a in ipairs(args or {}) do argv[#argv + 1] = a end
  local task = infrakit.spawn(function()
    return infrakit.exec(argv, { env = { INFRAKIT_HOME = home, INFRAKIT_LOG_LEVEL = "warn" } })
  end)
  local d = { sock = home .. "/plugins/group" }
  for _ = 1, 500 do
    if infrakit.rpc.call(d.sock, "Handshake.Hello", nil, { timeout = 1 }) then break end
    infrakit.sleep(0.01)
  end
  d.pid = assert(infrakit.exec({ "cat", home .. "/plugins/group.pid" })).stdout:match("%d+")
  function d.stop()
    infrakit.exec({ "kill", "-TERM", d.pid })
    task:wait()
  end
  return d
end

function M.event_log(home)
  local log = { pos = 0 }
  function log.wait(pred, timeout, needle)
    local deadline = infrakit.clock() + (timeout or 60)
    while infrakit.clock() < deadline do
      local f = io.open(home .. "/events.jsonl")
      if f then
        f:seek("set", log.pos)
        local chunk = f:read("*a") or ""
        f:close()
        -- Whole lines only: a line being appended is read next time.
        for line in chunk:gmatch("([^\n]*)\n") do
          log.pos = log.pos + #line + 1
          local ev = (needle == nil or line:find(needle, 1, true)) and json.decode(line)
          if ev and pred(ev) then return ev end
        end
      end
      infrakit.sleep(0.0005)
    end
    error("benchmark: timed out waiting for an event")
  end
  function log.skip()
    local f = io.open(home .. "/events.jsonl")
    if f then log.pos = f:seek("end"); f:close() end
  end
  return log
end

return M
