-- Shared by the Lua specs: registry-reference accounting.
--
-- Each spec records the runtime's reference count before it starts and
-- asserts, after a full GC, that it came back: a binding that leaks a
-- registry reference (a coroutine, a callback, a result table) fails here.
local infrakit = require "infrakit"

local helper = {}

function helper.settle()
  -- Let finished tasks and closed handles be released, then collect twice
  -- (finalizers of the first pass free what the second pass sees).
  infrakit.sleep(0)
  collectgarbage()
  collectgarbage()
end

-- Call inside a describe block: uses that block's busted environment.
function helper.track_refs()
  local env = getfenv(2)
  local before_each, after_each, assert = env.before_each, env.after_each, env.assert
  local baseline
  before_each(function()
    helper.settle()
    baseline = infrakit.debug.refs()
  end)
  after_each(function()
    helper.settle()
    assert.are.equal(baseline, infrakit.debug.refs(), "registry references leaked")
  end)
end

return helper
