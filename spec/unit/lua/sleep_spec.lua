local infrakit = require "infrakit"
local helper = dofile("spec/unit/lua/spec_helper.lua")

describe("infrakit.sleep", function()
  helper.track_refs()

  it("waits at least the given time", function()
    local t0 = infrakit.clock()
    infrakit.sleep(0.05)
    assert.is_true(infrakit.clock() - t0 >= 0.049)
  end)

  it("sleep(0) lets other ready tasks run first", function()
    local order = {}
    local t = infrakit.spawn(function() order[#order + 1] = "other" end)
    order[#order + 1] = "before"
    infrakit.sleep(0)
    order[#order + 1] = "after"
    t:wait()
    assert.are.same({ "before", "other", "after" }, order)
  end)

  it("rejects negative and non-numeric durations", function()
    assert.has_error(function() infrakit.sleep(-1) end, "infrakit.sleep: seconds must be a number >= 0")
    assert.has_error(function() infrakit.sleep("soon") end)
  end)

  it("refuses to wait inside a plain coroutine, with a clear message", function()
    local co = coroutine.create(function() infrakit.sleep(0.01) end)
    local ok, err = coroutine.resume(co)
    assert.is_false(ok)
    assert.matches("cannot wait inside a plain coroutine", err)
  end)

  it("many sleeping tasks overlap instead of running one after another", function()
    local asleep, most = 0, 0
    local tasks = {}
    for i = 1, 200 do
      tasks[i] = infrakit.spawn(function()
        asleep = asleep + 1
        if asleep > most then most = asleep end
        infrakit.sleep(0.05)
        asleep = asleep - 1
        return i
      end)
    end
    local results, failed = infrakit.wait_all(tasks)
    assert.are.equal(0, failed)
    for i = 1, 200 do assert.are.equal(i, results[i][1]) end
    -- Had sleep blocked the loop, no two tasks would ever sleep at once.
    assert.are.equal(200, most)
  end)
end)
