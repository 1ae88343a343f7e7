local infrakit = require "infrakit"
local helper = dofile("spec/unit/lua/spec_helper.lua")

describe("the watchdog", function()
  helper.track_refs()
  local saved
  before_each(function()
    saved = infrakit.debug.timeout()
    infrakit.debug.timeout(0.2)
  end)
  after_each(function() infrakit.debug.timeout(saved) end)

  local runaways = {
    ["an interpreted or JIT-compiled counting loop"] = function() local x = 0 while true do x = x + 1 end end,
    ["an empty JIT-compiled loop"] = function() while true do end end,
    ["a loop that catches errors with pcall"] = function()
      while true do pcall(function() while true do end end) end
    end,
    -- LuaJIT runs an xpcall error handler with hooks off when the error
    -- came from a hook: a handler that loops must not escape (issue 13).
    ["a loop whose xpcall error handler loops too"] = function()
      xpcall(function() while true do end end, function() while true do end end)
    end,
    ["a loop that catches errors with xpcall"] = function()
      while true do xpcall(function() while true do end end, function(e) return e end) end
    end,
    ["a recursive loop through function calls"] = function()
      local function f(n) if n > 1e9 then return n end return f(n + 1) end
      while true do f(0) end
    end,
  }

  for name, fn in pairs(runaways) do
    it("stops " .. name .. " with ETIMEDOUT and keeps the process healthy", function()
      local t = infrakit.spawn(fn)
      local r, msg, code = t:wait()
      assert.is_nil(r)
      assert.are.equal("ETIMEDOUT", code)
      assert.matches("^watchdog: Lua code ran for more than 0.2 s without yielding", msg)
      -- The runtime carries on: tasks, sleep and exec still work.
      local ok = infrakit.spawn(function() infrakit.sleep(0.01) return infrakit.exec("echo alive").stdout end)
      assert.are.equal("alive\n", ok:wait())
    end)
  end

  it("bounds each slice, not the life of a task that yields", function()
    local t = infrakit.spawn(function()
      for _ = 1, 6 do infrakit.sleep(0.05) end -- 0.3 s in total, yielding
      return "finished"
    end)
    assert.are.equal("finished", t:wait())
  end)
end)
