-- hello: a first tour of infrakit's Lua runtime, as a script for
-- `infrakit lua` (playbooks, run by `infrakit play`, are in playbooks/).
--
-- It starts a small "fleet" of local workers as concurrent tasks on the
-- event loop. Each worker runs real commands (infrakit.exec) and waits
-- (infrakit.sleep) without blocking the others; one worker crashes and is
-- restarted, the way a group controller heals a dead instance.
--
--   ./infrakit lua docs/examples/hello.lua [WORKERS]
local infrakit = require "infrakit"

local size = tonumber(arg and arg[1]) or 5
local started = infrakit.clock()

local function say(fmt, ...)
  io.stdout:write(string.format("[%5.2fs] ", infrakit.clock() - started), string.format(fmt, ...), "\n")
  io.stdout:flush()
end

say("infrakit %s: starting %d workers on one event loop", infrakit.version, size)

-- A worker asks the system who it is, then "serves" for a while.
local function worker(n, crash)
  local r, err = infrakit.exec({ "/bin/sh", "-c", "echo worker-$N on $(uname -n) pid $$" }, { env = { N = n } })
  if not r then return nil, err end
  say("%s", r.stdout:gsub("\n$", ""))
  infrakit.sleep(0.2 + n * 0.05)
  if crash then error("worker-" .. n .. " crashed (on purpose, to show self-healing)") end
  return "worker-" .. n .. " done"
end

local tasks = {}
for n = 1, size do
  tasks[n] = infrakit.spawn(worker, n, n == 2)
end

local results, failed = infrakit.wait_all(tasks)
for n, r in ipairs(results) do
  if r.ok then
    say("%s", r[1])
  else
    say("worker-%d failed: %s", n, (r.err:gsub("\n.*", "")))
    say("healing: starting a replacement for worker-%d", n)
    local again = infrakit.spawn(worker, n, false)
    local msg = assert(again:wait())
    say("%s (replacement)", msg)
    failed = failed - 1
  end
end

say("all %d workers accounted for; %d unhealed failures", size, failed)
return failed == 0 and 0 or 1
