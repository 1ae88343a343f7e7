-- infrakit._scaling: the autoscaler's arithmetic, as pure functions (no
-- I/O, no clock: time comes in as an argument), so tables of cases pin it
-- down (spec/unit/lua/scaling_spec.lua). docs/autoscaling.md explains it
-- to users; lua/infrakit/_autoscaler.lua does the I/O around it.
local scaling = {}

local ceil, huge = math.ceil, math.huge

-- A field as Go decodes it: exact name first, then ignoring case.
local function field(t, name)
  if type(t) ~= "table" then return nil end
  local v = t[name]
  if v ~= nil then return v end
  local lower = name:lower()
  for k, x in pairs(t) do
    if type(k) == "string" and k:lower() == lower then return x end
  end
  return nil
end
scaling.field = field

-- A proposal the decision can use: a finite number >= 0.
local function usable(n)
  return type(n) == "number" and n == n and n >= 0 and n < huge
end

--- decide(cfg, memory, current, proposal, now) -> decision, memory
---
--- What to do with a policy's proposal. cfg: {min, max (sizes),
--- cooldown_up, cooldown_down (seconds), scale_in_after (evaluations)};
--- memory: what the previous call returned (nil the first time); current:
--- the group's desired size now; proposal: what the policy returned (any
--- value: a bad one holds); now: seconds (a last change later than now,
--- after the clock stepped back, counts as now).
---
--- The rules, in order:
---   1. current outside [min, max]: go to the bound at once (no cooldown).
---   2. a proposal that is not a finite number >= 0: hold.
---   3. the proposal (rounded up), clamped to [min, max]:
---      above current: scale out, unless within cooldown_up of the last change;
---      below current: scale in only when the last scale_in_after proposals
---        were all below current (hysteresis), to the largest of them (the
---        most conservative), and not within cooldown_down of the last change;
---      equal: hold.
--- decision = {size, action = "up" | "down" | "hold", reason}: size ~= current
--- exactly when action is "up" or "down". Misuse (min > max, a bad cfg)
--- raises.
function scaling.decide(cfg, memory, current, proposal, now)
  local min, max = cfg.min, cfg.max
  if type(min) ~= "number" or type(max) ~= "number" or min < 0 then
    error("scaling.decide: cfg.min and cfg.max must be sizes", 2)
  end
  if min > max then error(("scaling.decide: min (%d) > max (%d)"):format(min, max), 2) end
  if type(current) ~= "number" or current < 0 then error("scaling.decide: current must be a size", 2) end
  local up_cool, down_cool = cfg.cooldown_up or 0, cfg.cooldown_down or 0
  local after = cfg.scale_in_after or 1
  memory = memory or {}
  local below = memory.below or {}
  local last = memory.last_change
  -- The clock went back (the memory is kept in wall-clock seconds across
  -- restarts): the cooldown counts from now, not from a time to come, so
  -- a step back holds changes one cooldown at most.
  if last and now < last then last = now end

  local function changed(size, action, reason)
    return { size = size, action = action, reason = reason }, { last_change = now, below = {} }
  end
  local function hold(reason, keep_below)
    return { size = current, action = "hold", reason = reason }, { last_change = last, below = keep_below or {} }
  end

  if current < min then return changed(min, "up", ("below Min %d"):format(min)) end
  if current > max then return changed(max, "down", ("above Max %d"):format(max)) end
  if not usable(proposal) then
    return hold(("the policy's proposal %s is not a number >= 0"):format(tostring(proposal)), below)
  end
  local want = ceil(proposal)
  local note = ""
  if want > max then want, note = max, (" (clamped to Max %d)"):format(max) end
  if want < min then want, note = min, (" (clamped to Min %d)"):format(min) end

  if want > current then
    if last and now - last < up_cool then
      return hold(("wants %d%s; scale-out cooldown: %.1fs left"):format(want, note, up_cool - (now - last)))
    end
    return changed(want, "up", ("%d -> %d%s"):format(current, want, note))
  end
  if want == current then return hold(("at %d%s"):format(current, note)) end

  -- want < current: remember it, and act once enough agree.
  local window = {}
  for i = math.max(1, #below - after + 2), #below do window[#window + 1] = below[i] end
  window[#window + 1] = want
  if #window < after then
    return hold(("wants %d%s; scale-in after %d evaluations below %d (%d so far)"):format(
      want, note, after, current, #window), window)
  end
  local target = 0
  for _, w in ipairs(window) do target = w > target and w or target end
  if last and now - last < down_cool then
    return hold(("wants %d%s; scale-in cooldown: %.1fs left"):format(target, note, down_cool - (now - last)), window)
  end
  return changed(target, "down", ("%d -> %d%s"):format(current, target, note))
end

--- target_utilisation(state, params) -> proposal, reason
---
--- The built-in policy, like AWS target tracking: with avg the mean of
--- the metric params.Metric (default "load") over the instances that
--- report it, proposal = ceil(current * avg / params.Target). Within
--- params.Tolerance (default 0.1) of the target nothing changes (the dead
--- band); a scale-in goes at most params.ScaleInStep (default 1) instances
--- below desired per decision (more conservative than scale-out), and
--- none while the group has fewer instances than desired. No
--- instance reporting: nil and why (the decision holds).
function scaling.target_utilisation(state, params)
  local metric = field(params, "Metric") or "load"
  local target = field(params, "Target")
  if type(target) ~= "number" or target ~= target or target <= 0 then return nil, "Target must be a number > 0" end
  local tolerance = field(params, "Tolerance") or 0.1
  local step = field(params, "ScaleInStep") or 1
  local sum, n = 0, 0
  for _, inst in ipairs(state.instances or {}) do
    local v = inst.Metrics and inst.Metrics[metric]
    if usable(v) then sum, n = sum + v, n + 1 end
  end
  local current = state.current or 0
  if n == 0 then return nil, ("no instance reports %q"):format(metric) end
  local avg = sum / n
  local ratio = avg / target
  local why = ("avg %s %.3g over %d instances, target %.3g"):format(metric, avg, n, target)
  if math.abs(ratio - 1) <= tolerance then return state.desired, why .. " (within tolerance)" end
  local want = ceil(current * ratio - 1e-9)
  if want < state.desired then
    -- New instances report no load yet: do not shrink a group still growing.
    if current < state.desired then return state.desired, why .. " (the group is still growing)" end
    want = math.max(want, state.desired - step)
  end
  return want, why
end

local UNITS = { ns = 1e-9, us = 1e-6, ["\194\181s"] = 1e-6, ms = 1e-3, s = 1, m = 60, h = 3600 }

--- seconds(v) -> number | nil: a duration as the spec gives it, a Go
--- duration ("1m30s", "500ms") or a number of seconds (the C side has
--- validated it already: core/engine/scaling_spec.c).
function scaling.seconds(v)
  if type(v) == "number" then return v end
  if type(v) ~= "string" or v == "" then return nil end
  if v == "0" then return 0 end
  local total, pos = 0, 1
  while pos <= #v do
    local num, unit, e = v:match("^(%d*%.?%d+)(%a+)()", pos)
    if not num then num, unit, e = v:match("^(%d*%.?%d+)(\194\181s)()", pos) end
    if not num or not UNITS[unit] then return nil end
    total, pos = total + tonumber(num) * UNITS[unit], e
  end
  return total
end

--- config(block) -> cfg: the decision's settings from a validated
--- Properties.Scaling (defaults as in docs/autoscaling.md), plus interval
--- (seconds) and policy (the name, or "inline").
function scaling.config(block)
  local cooldown = scaling.seconds(field(block, "Cooldown")) or 60
  local policy = field(block, "Policy")
  return {
    min = field(block, "Min") or 1,
    max = field(block, "Max"),
    interval = scaling.seconds(field(block, "Interval")) or 10,
    cooldown_up = scaling.seconds(field(block, "CooldownUp")) or cooldown,
    cooldown_down = scaling.seconds(field(block, "CooldownDown")) or cooldown,
    scale_in_after = field(block, "ScaleInAfter") or 3,
    policy = type(policy) == "string" and policy or "inline",
  }
end

return scaling
