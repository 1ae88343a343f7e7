local infrakit = require "infrakit"
local helper = dofile("spec/unit/lua/spec_helper.lua")

describe("infrakit.spawn", function()
  helper.track_refs()

  it("returns a handle whose wait() gives the results, nils included", function()
    local t = infrakit.spawn(function(a, b) return a + b, nil, "x" end, 2, 3)
    local n = select("#", t:wait())
    local s, z, x = t:wait()
    assert.are.equal(3, n)
    assert.are.same({ 5, nil, "x" }, { s, z, x })
    assert.are.equal("done", t:status())
  end)

  it("starts tasks on the next loop turn, not inline", function()
    local ran = false
    local t = infrakit.spawn(function() ran = true end)
    assert.is_false(ran)
    assert.are.equal("ready", t:status())
    t:wait()
    assert.is_true(ran)
  end)

  it("reports a raised error as nil, message with traceback, ELUA", function()
    local t = infrakit.spawn(function() error("boom") end)
    local r, msg, code = t:wait()
    assert.is_nil(r)
    assert.matches("boom", msg)
    assert.are.equal("ELUA", code)
    assert.are.equal("failed", t:status())
  end)

  it("keeps running after a task fails", function()
    local bad = infrakit.spawn(function() local x = nil; return x.field end)
    local good = infrakit.spawn(function() infrakit.sleep(0.01) return "fine" end)
    assert.is_nil((bad:wait()))
    assert.are.equal("fine", good:wait())
  end)

  it("cancel() stops a waiting task; wait() then returns ECANCELED", function()
    local reached = false
    local t = infrakit.spawn(function() infrakit.sleep(30) reached = true end)
    infrakit.sleep(0)
    assert.are.equal("waiting", t:status())
    t:cancel()
    local r, msg, code = t:wait()
    assert.is_nil(r)
    assert.are.equal("ECANCELED", code)
    assert.matches("canceled", msg)
    assert.is_false(reached)
    assert.are.equal("canceled", t:status())
  end)

  it("cancelling a task running exec kills the program", function()
    local t = infrakit.spawn(function() return infrakit.exec({ "sleep", "30" }) end)
    infrakit.sleep(0.05)
    t:cancel()
    assert.are.equal("ECANCELED", select(3, t:wait()))
  end)

  it("several tasks may wait for the same task", function()
    local gate = infrakit.spawn(function() infrakit.sleep(0.02) return "open" end)
    local waiters = {}
    for i = 1, 5 do
      waiters[i] = infrakit.spawn(function() return gate:wait() .. i end)
    end
    local results = infrakit.wait_all(waiters)
    for i = 1, 5 do assert.are.equal("open" .. i, results[i][1]) end
  end)

  it("wait_all reports failures in place and counts them", function()
    local results, failed = infrakit.wait_all {
      infrakit.spawn(function() return 1 end),
      infrakit.spawn(function() error("no") end),
      infrakit.spawn(function() return nil, "soft failure" end),
    }
    assert.are.equal(1, failed)
    assert.is_true(results[1].ok)
    assert.are.equal(1, results[1][1])
    assert.is_false(results[2].ok)
    assert.are.equal("ELUA", results[2].code)
    assert.is_true(results[3].ok)
    assert.are.equal(2, results[3].n)
    assert.are.equal("soft failure", results[3][2])
  end)

  it("a bare coroutine.yield() in a task yields to the scheduler", function()
    local order = {}
    local t = infrakit.spawn(function() order[#order + 1] = "other" end)
    order[#order + 1] = "first"
    coroutine.yield()
    order[#order + 1] = "last"
    t:wait()
    assert.are.same({ "first", "other", "last" }, order)
  end)

  it("raises on misuse", function()
    assert.has_error(function() infrakit.spawn("not a function") end)
    assert.has_error(function() infrakit.wait_all("nope") end)
    assert.has_error(function() infrakit.wait_all({ 1 }) end,
      "infrakit.wait_all: element 1 is a number, expected a task from infrakit.spawn")
  end)

  it("has a readable tostring", function()
    local t = infrakit.spawn(function() end)
    assert.matches("^infrakit.task: %d+ %(ready%)$", tostring(t))
    t:wait()
  end)
end)
