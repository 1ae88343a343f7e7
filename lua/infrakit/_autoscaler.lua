-- infrakit._autoscaler: the daemon's autoscaler (docs/autoscaling.md).
-- core/cli/daemon_autoscale.c starts run(home, group_socket) as a task in
-- the daemon's Lua runtime; it runs until the daemon stops.
--
-- Every group whose committed spec has Properties.Scaling is evaluated
-- every Interval: its state (the controller's status and the instance
-- plugin's descriptions, plus each instance's reported metrics) goes to
-- the policy, which runs in the sandbox and proposes a size; the pure
-- decision (infrakit._scaling.decide: bounds, cooldowns, hysteresis) turns
-- that into a size, and a change goes to the controller as Group.SetSize
-- (a scale, never a replacement). Each change is logged and written to
-- events.jsonl as "autoscaled" {from, to, proposal, reason, policy}; a
-- policy that fails is logged and written as "autoscale-failed" (once per
-- distinct error, so a broken policy does not flood the log).
--
-- Metrics reported by instances: the file HOME/metrics/GROUP/INSTANCE-ID,
-- a bare number (the metric "load") or a JSON object of numbers; the
-- policy sees it as instance.Metrics. Policies can also fetch metrics
-- over HTTP with http.get.
local core = require "infrakit._core"
local group = require "infrakit.group"
local http = require "infrakit.http"
local json = require "infrakit.json"
local log = require "infrakit.log"
local sandbox = require "infrakit._sandbox"
local scaling = require "infrakit._scaling"

local field = scaling.field
local autoscaler = {}

local MAX_METRIC_FILE = 4096

-- The metrics an instance reported, or nil. ids that could leave the
-- metrics directory are not read.
local function read_metrics(home, gid, iid)
  if type(iid) ~= "string" or not iid:match("^[%w_%-][%w%._%-]*$") then return nil end
  local f = io.open(home .. "/metrics/" .. gid .. "/" .. iid, "rb")
  if not f then return nil end
  local text = f:read(MAX_METRIC_FILE) or ""
  f:close()
  local n = tonumber(text)
  if n then return { load = n } end
  local v = json.decode(text)
  if type(v) ~= "table" then return nil end
  local m = {}
  for k, x in pairs(v) do
    if type(k) == "string" and type(x) == "number" then m[k] = x end
  end
  return m
end

-- GET for policies: http(s) URLs only, a short timeout, the body or nil, message.
local function policy_get(url, opts)
  if type(url) ~= "string" or not (url:match("^http://") or url:match("^https://")) then
    error("http.get: want an http:// or https:// URL", 2)
  end
  local timeout = type(opts) == "table" and tonumber(opts.timeout) or 2
  return http.get(url, { timeout = math.min(timeout, 5) })
end

-- The policy's function for this Scaling block: the built-in, a file
-- HOME/policies/NAME.lua, or inline Source, compiled in a new sandbox.
-- Returns fn, key (what it was made from: reloaded when that changes), or
-- nil, message.
local function load_policy(home, block, cached)
  local p = field(block, "Policy")
  local source, name
  if p == "target-utilisation" then return scaling.target_utilisation, p, true end
  if type(p) == "string" then
    name = "=policy " .. p
    local f, err = io.open(home .. "/policies/" .. p .. ".lua", "rb")
    if not f then return nil, ("policy %q: %s (want a file %s/policies/%s.lua)"):format(p, err, home, p) end
    source = f:read("*a")
    f:close()
  else
    name = "=inline policy"
    source = field(p, "Source")
  end
  if cached and cached.key == source then return cached.fn, source end
  local env = sandbox.env({
    http = { get = policy_get },
    json = { encode = json.encode, decode = json.decode },
    log = { info = log.info, warn = log.warn },
  })
  local chunk, err = sandbox.load(source, name, env)
  if not chunk then return nil, err end
  local ok, fn = pcall(chunk)
  if not ok then return nil, tostring(fn) end
  if type(fn) ~= "function" then
    return nil, ("%s: want the chunk to return a function(state, params), got %s"):format(name:sub(2), type(fn))
  end
  return fn, source
end

-- What the policy sees: {group, desired, current, healthy, instances =
-- {{ID, LogicalID, Tags, Properties, Health, Metrics}}}.
local function group_state(home, id)
  local st, err = group.describe(id)
  if not st then return nil, "describe: " .. tostring(err) end
  local descs, ierr = group.instances(id)
  if not descs then return nil, "instances: " .. tostring(ierr) end
  local health = {}
  for _, i in ipairs(st.Instances or {}) do health[i.ID] = i.Health end
  local instances, healthy = {}, 0
  for _, d in ipairs(descs) do
    local h = health[d.ID] or "unknown"
    if h == "healthy" then healthy = healthy + 1 end
    instances[#instances + 1] = { ID = d.ID, LogicalID = d.LogicalID, Tags = d.Tags, Properties = d.Properties,
      Health = h, Metrics = read_metrics(home, id, d.ID) }
  end
  local summary = st.Summary or {}
  return { group = id, desired = summary.Desired or #instances, current = #instances, healthy = healthy,
    instances = instances }
end

local function failed(g, id, policy, msg)
  if g.last_error == msg then return end
  g.last_error = msg
  log.warn("autoscale: the policy failed; holding the size", { mod = "autoscale", group = id, policy = policy,
    error = msg })
  core.event(id, "autoscale-failed", { policy = policy, error = msg })
end

-- One evaluation of group id. g: what this runner keeps for the group.
local function evaluate(home, id, block, g)
  local cfg = scaling.config(block)
  local fn, key, builtin = load_policy(home, block, g.policy)
  if not fn then return failed(g, id, cfg.policy, key) end
  g.policy = { fn = fn, key = key }
  local state, serr = group_state(home, id)
  if not state then return failed(g, id, cfg.policy, serr) end
  local ok, proposal, why
  if builtin then
    ok, proposal, why = pcall(fn, state, block)
  else
    -- A task of its own: past a sandbox limit the whole task is stopped
    -- (sandbox.call cannot catch it), and that must not be this loop.
    ok, proposal, why = core.spawn(sandbox.call, fn, state, block):wait()
    if not ok and type(proposal) == "table" then proposal = proposal.msg end
  end
  if not ok then return failed(g, id, cfg.policy, tostring(proposal)) end
  g.last_error = nil
  local decision
  decision, g.memory = scaling.decide(cfg, g.memory, state.desired, proposal, core.clock())
  local reason = (why and tostring(why) .. "; " or "") .. decision.reason
  if decision.action == "hold" then
    log.debug("autoscale: hold", { mod = "autoscale", group = id, size = state.desired, reason = reason })
    return
  end
  local done, err = group.scale(id, decision.size)
  if not done then
    return failed(g, id, cfg.policy, ("SetSize %d: %s"):format(decision.size, tostring(err)))
  end
  log.info(("autoscale: %s %d -> %d"):format(id, state.desired, decision.size), { mod = "autoscale", group = id,
    from = state.desired, to = decision.size, policy = cfg.policy, reason = reason })
  core.event(id, "autoscaled", { from = state.desired, to = decision.size, action = decision.action,
    proposal = type(proposal) == "number" and proposal == proposal and proposal or json.null,
    reason = reason, policy = cfg.policy })
end

--- Runs forever (until the task is cancelled): evaluates each group with
--- Properties.Scaling every Interval. home: $INFRAKIT_HOME (metrics/,
--- policies/); group_socket: the controller's socket. Yields.
function autoscaler.run(home, group_socket)
  group.use(group_socket)
  local groups = {}
  while true do
    local wait = 1
    local specs = group.list()
    if specs then
      local seen = {}
      for _, spec in ipairs(specs) do
        local block = field(field(spec, "Properties"), "Scaling")
        local id = spec.ID
        if type(block) == "table" and type(id) == "string" then
          seen[id] = true
          local g = groups[id] or { next_at = 0 }
          groups[id] = g
          if core.clock() >= g.next_at then
            local ok, err = pcall(evaluate, home, id, block, g)
            if not ok then failed(g, id, tostring(field(block, "Policy")), tostring(err)) end
            g.next_at = core.clock() + scaling.config(block).interval
          end
          wait = math.min(wait, g.next_at - core.clock())
        end
      end
      for id in pairs(groups) do
        if not seen[id] then groups[id] = nil end
      end
    end
    core.sleep(math.max(0.05, wait))
  end
end

return autoscaler
