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
-- The decision's memory (the last change, the proposals counted for
-- ScaleInAfter) is kept per group in the daemon's store, groups/ID/scaling
-- ({"LastChange": wall-clock seconds, "Below": [proposals]}): read when
-- the runner first sees the group, written whenever it changes and before
-- the SetSize it leads to. So a restarted daemon, or the next leader when
-- there are several managers (only the leader runs this), honours the
-- cooldown of the last decision; and with etcd the write is fenced on the
-- leader key, so a deposed leader's write is refused and its SetSize never
-- sent.
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

local function memory_key(id) return "groups/" .. id .. "/scaling" end

-- The group's memory as stored: true, memory (nil when none is stored)
-- or false, message.
local function load_memory(id)
  local doc, err, code = core.store_get(memory_key(id))
  if doc == nil then
    if code == "ENOTFOUND" then return true, nil end
    return false, "reading " .. memory_key(id) .. ": " .. tostring(err)
  end
  local below = {}
  for _, n in ipairs(type(doc.Below) == "table" and doc.Below or {}) do
    if type(n) == "number" then below[#below + 1] = n end
  end
  return true, { last_change = tonumber(doc.LastChange), below = below }
end

local function same_memory(a, b)
  if (a and a.last_change) ~= (b and b.last_change) then return false end
  local x, y = a and a.below or {}, b and b.below or {}
  if #x ~= #y then return false end
  for i = 1, #x do
    if x[i] ~= y[i] then return false end
  end
  return true
end

-- Write memory unless it is what is stored: true, or nil, message.
local function save_memory(id, old, memory)
  if same_memory(old, memory) then return true end
  local doc = { LastChange = memory.last_change or json.null, Below = memory.below }
  if #memory.below == 0 then doc.Below = setmetatable({}, json.array_mt) end
  local ok, err = core.store_put(memory_key(id), doc)
  if not ok then return nil, "writing " .. memory_key(id) .. ": " .. tostring(err) end
  return true
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
  -- Wall-clock time: the memory outlives this process (a restart, another leader).
  local decision, memory = scaling.decide(cfg, g.memory, state.desired, proposal, core.now())
  -- Stored before the SetSize it leads to (a deposed leader's write is
  -- refused, and then nothing is sent).
  local saved, serr2 = save_memory(id, g.memory, memory)
  if not saved then return failed(g, id, cfg.policy, serr2) end
  g.memory = memory
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

-- How often the committed specs are read again (seconds): a commit that
-- adds, changes or removes Properties.Scaling is seen within this.
local SCAN_INTERVAL = 2

-- The committed specs, from the store (groups/ID/spec), not through the
-- group plugin: a daemon whose groups do not scale makes no HTTP call for
-- them (its HTTP client, libcurl, is loaded on first use), and a follower's
-- view is the same documents. nil (logged once per distinct error) when the
-- store cannot be read.
local last_scan_error
local function committed_specs()
  local keys, err = core.store_list("groups/")
  local specs = {}
  for _, key in ipairs(keys or {}) do
    if not err and key:match("^groups/[^/]+/spec$") then
      local spec, gerr, code = core.store_get(key)
      if spec then
        specs[#specs + 1] = spec
      elseif code ~= "ENOTFOUND" then -- a group freed meanwhile is skipped
        err = gerr
      end
    end
  end
  if err then
    if tostring(err) ~= last_scan_error then
      log.error("autoscale: cannot read the committed specs: " .. tostring(err), { mod = "autoscale" })
    end
    last_scan_error = tostring(err)
    return nil
  end
  last_scan_error = nil
  return specs
end

--- Runs forever (until the task is cancelled): evaluates each group with
--- Properties.Scaling every Interval. home: $INFRAKIT_HOME (metrics/,
--- policies/); group_socket: the controller's socket. Yields.
function autoscaler.run(home, group_socket)
  group.use(group_socket)
  local groups = {}
  local specs, scanned_at = nil, -math.huge
  while true do
    local wait = SCAN_INTERVAL
    if core.clock() - scanned_at >= SCAN_INTERVAL then
      specs = committed_specs()
      scanned_at = core.clock()
    end
    if specs then
      local seen = {}
      for _, spec in ipairs(specs) do
        local block = field(field(spec, "Properties"), "Scaling")
        local id = spec.ID
        if type(block) == "table" and type(id) == "string" then
          seen[id] = true
          local g = groups[id] or { next_at = 0 }
          groups[id] = g
          if not g.loaded and core.clock() >= g.next_at then
            local ok, memory = load_memory(id)
            if ok then
              g.loaded, g.memory = true, memory
            else -- no evaluation without the last decision's memory: its cooldown could be broken
              failed(g, id, tostring(field(block, "Policy")), memory)
              g.next_at = core.clock() + scaling.config(block).interval
            end
          end
          if g.loaded and core.clock() >= g.next_at then
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
