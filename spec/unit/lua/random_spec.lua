-- math.random is seeded from the kernel in every Lua state, and
-- infrakit.uid() makes IDs unique across processes and restarts.
local infrakit = require "infrakit"

local bin = os.getenv("IK_BIN") or "./infrakit"

-- Run a chunk in a fresh `infrakit lua` process; returns its stdout.
local function fresh(code)
  local r = assert(infrakit.exec({ bin, "lua", "-e", code }, { timeout = 30 }))
  assert.are.equal(0, r.status, r.stderr)
  return r.stdout
end

describe("math.random", function()
  it("gives two fresh processes different sequences", function()
    local code = "local t = {} for i = 1, 8 do t[i] = math.random(1, 1000000) end print(table.concat(t, ' '))"
    local a, b = fresh(code), fresh(code)
    assert.are_not.equal(a, b)
  end)
end)

describe("infrakit.uid", function()
  it("returns a version 4 UUID", function()
    local id = infrakit.uid()
    assert.are.equal("string", type(id))
    assert.matches("^%x%x%x%x%x%x%x%x%-%x%x%x%x%-4%x%x%x%-[89ab]%x%x%x%-%x%x%x%x%x%x%x%x%x%x%x%x$", id)
  end)

  it("never repeats, in one process or across processes", function()
    local seen = {}
    for _ = 1, 10000 do
      local id = infrakit.uid()
      assert.is_nil(seen[id])
      seen[id] = true
    end
    local code = "local ik = require 'infrakit' print(ik.uid())"
    local a, b = fresh(code), fresh(code)
    assert.are_not.equal(a, b)
    assert.is_nil(seen[a:gsub("%s+$", "")])
  end)

  it("does not depend on math.random's state", function()
    math.randomseed(42)
    local a = infrakit.uid()
    math.randomseed(42)
    assert.are_not.equal(a, infrakit.uid())
    math.randomseed(tonumber(infrakit.uid():sub(1, 8), 16)) -- leave no fixed seed behind
  end)
end)
