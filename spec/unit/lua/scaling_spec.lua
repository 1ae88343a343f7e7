-- infrakit._scaling: the autoscaler's decision (bounds, cooldowns,
-- hysteresis), the built-in target-utilisation policy and the settings
-- read from Properties.Scaling; tables of cases (docs/autoscaling.md).
local scaling = require "infrakit._scaling"

local CFG = { min = 1, max = 10, cooldown_up = 30, cooldown_down = 60, scale_in_after = 1 }

local function with(over)
  local c = {}
  for k, v in pairs(CFG) do c[k] = v end
  for k, v in pairs(over or {}) do c[k] = v end
  return c
end

describe("scaling.decide", function()
  -- {name, cfg overrides, memory, current, proposal, now, size, action, reason pattern}
  local cases = {
    { "scales out to the proposal", nil, nil, 3, 5, 100, 5, "up", "^3 %-> 5$" },
    { "rounds a fractional proposal up", nil, nil, 3, 4.2, 100, 5, "up", "^3 %-> 5$" },
    { "clamps to Max", nil, nil, 3, 50, 100, 10, "up", "clamped to Max 10" },
    { "clamps to Min", nil, nil, 3, 0, 100, 1, "down", "clamped to Min 1" },
    { "holds at the proposal", nil, nil, 3, 3, 100, 3, "hold", "^at 3$" },
    { "goes to Min from below, ignoring cooldown", nil, { last_change = 99 }, 0, 0, 100, 1, "up", "below Min 1" },
    { "goes to Max from above, ignoring cooldown", nil, { last_change = 99 }, 12, 12, 100, 10, "down",
      "above Max 10" },
    { "scale-out waits for its cooldown", nil, { last_change = 80 }, 3, 6, 100, 3, "hold",
      "scale%-out cooldown: 10.0s left" },
    { "scale-out after its cooldown", nil, { last_change = 70 }, 3, 6, 100, 6, "up", "^3 %-> 6$" },
    { "scale-in waits for its (longer) cooldown", nil, { last_change = 70 }, 6, 3, 100, 6, "hold",
      "scale%-in cooldown: 30.0s left" },
    { "scale-in after its cooldown", nil, { last_change = 30 }, 6, 3, 100, 3, "down", "^6 %-> 3$" },
    { "separate cooldowns: scale-out allowed while scale-in is not", { cooldown_up = 5 }, { last_change = 90 }, 3,
      4, 100, 4, "up", "^3 %-> 4$" },
    { "a clock stepped back an hour: the cooldown counts from now, not from the future", nil,
      { last_change = 3700 }, 3, 6, 100, 3, "hold", "scale%-out cooldown: 30.0s left" },
    { "NaN holds", nil, nil, 3, 0 / 0, 100, 3, "hold", "not a number >= 0" },
    { "a negative proposal holds", nil, nil, 3, -2, 100, 3, "hold", "not a number >= 0" },
    { "infinity holds", nil, nil, 3, math.huge, 100, 3, "hold", "not a number >= 0" },
    { "a string holds", nil, nil, 3, "7", 100, 3, "hold", "not a number >= 0" },
    { "nil holds", nil, nil, 3, nil, 100, 3, "hold", "not a number >= 0" },
    { "Min = Max pins the size", { min = 4, max = 4 }, nil, 4, 9, 100, 4, "hold", "clamped to Max 4" },
    { "hysteresis: one low proposal is not enough", { scale_in_after = 3 }, nil, 6, 2, 100, 6, "hold",
      "scale%-in after 3 evaluations below 6 %(1 so far%)" },
    { "hysteresis: three in a row scale in, to the largest of them", { scale_in_after = 3 }, { below = { 4, 2 } },
      6, 3, 100, 4, "down", "^6 %-> 4$" },
  }
  for _, c in ipairs(cases) do
    it(c[1], function()
      local d, mem = scaling.decide(with(c[2]), c[3], c[4], c[5], c[6])
      assert.are.equal(c[7], d.size)
      assert.are.equal(c[8], d.action)
      assert.matches(c[9], d.reason)
      assert.are.equal("table", type(mem))
      if d.action ~= "hold" then assert.are.equal(c[6], mem.last_change) end
    end)
  end

  it("a clock stepped back: the cooldown ends one cooldown after the step", function()
    local d, mem = scaling.decide(CFG, { last_change = 3700 }, 3, 6, 100)
    assert.are.equal("hold", d.action)
    assert.are.equal(100, mem.last_change)
    d = scaling.decide(CFG, mem, 3, 6, 131)
    assert.are.equal("up", d.action)
  end)

  it("hysteresis: a proposal at or above current resets the count", function()
    local cfg = with({ scale_in_after = 2 })
    local d, mem = scaling.decide(cfg, nil, 6, 3, 100)
    assert.are.equal("hold", d.action)
    d, mem = scaling.decide(cfg, mem, 6, 6, 101)
    assert.are.equal("hold", d.action)
    d, mem = scaling.decide(cfg, mem, 6, 3, 102)
    assert.are.equal("hold", d.action)
    d = scaling.decide(cfg, mem, 6, 3, 103)
    assert.are.same({ size = 3, action = "down", reason = "6 -> 3" }, d)
  end)

  it("keeps counting low proposals through a scale-in cooldown", function()
    local cfg = with({ scale_in_after = 2, cooldown_down = 10 })
    local d, mem = scaling.decide(cfg, { last_change = 95 }, 6, 2, 100)
    assert.matches("after 2 evaluations", d.reason)
    d, mem = scaling.decide(cfg, mem, 6, 2, 101)
    assert.matches("scale%-in cooldown", d.reason)
    d = scaling.decide(cfg, mem, 6, 2, 106)
    assert.are.same({ size = 2, action = "down", reason = "6 -> 2" }, d)
  end)

  it("refuses min > max and a bad configuration", function()
    assert.has_error(function() scaling.decide(with({ min = 5, max = 2 }), nil, 3, 3, 0) end,
      "scaling.decide: min (5) > max (2)")
    assert.has_error(function() scaling.decide(with({ max = "x" }), nil, 3, 3, 0) end)
    assert.has_error(function() scaling.decide(with(), nil, -1, 3, 0) end)
  end)
end)

describe("scaling.target_utilisation", function()
  local function state(desired, loads)
    local inst = {}
    for i, l in ipairs(loads) do inst[i] = { ID = "i" .. i, Metrics = l ~= false and { load = l } or nil } end
    return { desired = desired, current = #loads, instances = inst }
  end
  -- {name, state, params, proposal, reason pattern}
  local cases = {
    { "ceil(current * avg / target)", state(2, { 30, 20 }), { Target = 10 }, 5, "avg load 25 over 2 instances" },
    { "exactly at target holds", state(3, { 10, 10, 10 }), { Target = 10 }, 3, "within tolerance" },
    { "within the dead band holds", state(3, { 11, 10, 10.5 }), { Target = 10 }, 3, "within tolerance" },
    { "outside a narrower dead band moves", state(3, { 12, 12, 12 }), { Target = 10, Tolerance = 0.05 }, 4, "avg" },
    { "scale-in goes one step at a time", state(6, { 1, 1, 1, 1, 1, 1 }), { Target = 10 }, 5, "avg load 1" },
    { "ScaleInStep allows bigger steps", state(6, { 1, 1, 1, 1, 1, 1 }), { Target = 10, ScaleInStep = 10 }, 1,
      "avg" },
    { "zero load proposes one step in", state(2, { 0, 0 }), { Target = 10 }, 1, "avg load 0" },
    { "averages over reporters only", state(2, { 40, false }), { Target = 10 }, 8, "over 1 instances" },
    { "ignores NaN and negative reports", state(2, { 0 / 0, -5 }), { Target = 10 }, nil, "no instance reports" },
    { "nobody reports: no proposal", state(2, { false, false }), { Target = 10 }, nil, "no instance reports \"load\"" },
    { "another metric", { desired = 1, current = 1, instances = { { Metrics = { rps = 300 } } } },
      { Target = 100, Metric = "rps" }, 3, "avg rps 300" },
    { "no shrink while the group is still growing", { desired = 4, current = 2,
      instances = { { Metrics = { load = 1 } }, { Metrics = { load = 1 } } } }, { Target = 10 }, 4, "still growing" },
    { "a bad Target", state(1, { 1 }), { Target = 0 }, nil, "Target must be a number > 0" },
  }
  for _, c in ipairs(cases) do
    it(c[1], function()
      local p, why = scaling.target_utilisation(c[2], c[3])
      assert.are.equal(c[4], p)
      assert.matches(c[5], why)
    end)
  end
end)

describe("scaling.config and scaling.seconds", function()
  it("reads Properties.Scaling with its defaults, ignoring case", function()
    assert.are.same({ min = 1, max = 5, interval = 10, cooldown_up = 60, cooldown_down = 60, scale_in_after = 3,
      policy = "target-utilisation" }, scaling.config({ Policy = "target-utilisation", Max = 5 }))
    assert.are.same({ min = 0, max = 5, interval = 0.5, cooldown_up = 2, cooldown_down = 90, scale_in_after = 1,
      policy = "inline" }, scaling.config({ policy = { Source = "x" }, min = 0, max = 5, interval = "500ms",
      cooldown = "1m30s", cooldownup = 2, ScaleInAfter = 1 }))
  end)
  it("parses Go durations", function()
    local cases = { { "10s", 10 }, { "1m30s", 90 }, { "250ms", 0.25 }, { "1h", 3600 }, { "0", 0 }, { 1.5, 1.5 },
      { "1.5s", 1.5 }, { "soon", nil }, { "", nil } }
    for _, c in ipairs(cases) do assert.are.equal(c[2], scaling.seconds(c[1]), tostring(c[1])) end
  end)
end)

describe("infrakit._core.event", function()
  local core = require "infrakit._core"
  it("drops events outside a daemon (no sink) and refuses bad arguments", function()
    assert.is_false(core.event("web", "autoscaled", { from = 1, to = 2 }))
    assert.is_false(core.event("web", "autoscaled"))
    assert.has_error(function() core.event("web", "autoscaled", "x") end)
    assert.has_error(function() core.event("web", "autoscaled", { 1, 2 }) end,
      "infrakit._core.event: fields must be a table of names")
    assert.has_error(function() core.event(nil, "x") end)
  end)
end)
