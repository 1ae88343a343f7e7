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

-- A TCP port on 127.0.0.1 nobody listens on now (a connection is
-- refused). Yields. Someone may take it before the caller binds it.
-- math.random is seeded once, from the kernel's random source, so
-- processes running at once try different ports.
local rng
function helper.free_port()
  if not rng then
    rng = true
    math.randomseed(tonumber(infrakit.uid():sub(1, 8), 16))
  end
  for _ = 1, 100 do
    local port = 20000 + math.random(0, 19999)
    local _, _, code = infrakit.http.request({ url = "http://127.0.0.1:" .. port .. "/", timeout = 1 })
    if code == "ECONNREFUSED" then return port end
  end
  error("no free port found on 127.0.0.1")
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
