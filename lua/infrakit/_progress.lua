--- infrakit._progress: infrakit.print and infrakit.progress, what a
--- playbook tells its user.
-- On a terminal a progress line is redrawn in place; elsewhere (CI, pipes)
-- each change is a plain line. Every line starts with the seconds since
-- the playbook started, so a log reads as a timeline.
local core = require "infrakit._core"

local progress = {}

local started = core.clock()
local tty = core.isatty(1)
local as_json = false
local pending = false -- a progress line is on screen, not ended

--- Emit JSON lines ({"time", "event": "print"|"progress", "text"}) for
--- machines instead of text (`infrakit play --json`).
function progress.set_json(on) as_json = on and true or false end

local function emit(event, text)
  local json = require "infrakit.json"
  local line = json.encode({ time = core.now(), elapsed = core.clock() - started, event = event, text = text })
  io.stdout:write(line, "\n")
  io.stdout:flush()
end

local function stamp() return string.format("[%5.2fs] ", core.clock() - started) end

--- Start the clock over (the playbook runner does, before run).
function progress.reset() started = core.clock() end

--- Force plain lines (tests, --no-tty) or redraws.
function progress.set_tty(on) tty = on and true or false end

local function finish_line()
  if pending then
    io.stdout:write("\n")
    pending = false
  end
end

--- A line of output, formatted like string.format.
function progress.print(fmt, ...)
  if as_json then return emit("print", select("#", ...) > 0 and string.format(fmt, ...) or tostring(fmt)) end
  finish_line()
  io.stdout:write(stamp(), select("#", ...) > 0 and string.format(fmt, ...) or tostring(fmt), "\n")
  io.stdout:flush()
end

local last
--- The current state of a long wait: redrawn in place on a terminal,
--- printed when it changes elsewhere.
function progress.update(fmt, ...)
  local text = select("#", ...) > 0 and string.format(fmt, ...) or tostring(fmt)
  if text == last then return end
  last = text
  if as_json then return emit("progress", text) end
  if tty then
    io.stdout:write("\r\27[K", stamp(), text)
    pending = true
  else
    io.stdout:write(stamp(), text, "\n")
  end
  io.stdout:flush()
end

--- The wait is over: keep its last line.
function progress.done()
  finish_line()
  last = nil
  io.stdout:flush()
end

return progress
