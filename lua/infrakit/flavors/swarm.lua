-- The swarm flavor (InfraKit's pkg/plugin/flavor/swarm, reference §5.2),
-- served as `flavor-swarm` with InfraKit's two types: a group's
-- Flavor.Plugin is "flavor-swarm/manager" or "flavor-swarm/worker". This
-- module returns { manager = flavor, worker = flavor }; the daemon loads
-- each from infrakit.flavors.swarm.<type> (docs/swarm.md).
--
-- Properties (keys match case-insensitively, as in Go):
--   InitScriptTemplateURL  a template for the Init script, instead of the
--                          built-in templates/swarm/{manager,worker}.sh.tmpl
--                          (InfraKit's defaults for real hosts)
--   SwarmJoinIP            the manager that initialises the swarm: the
--                          manager whose LogicalID equals it runs
--                          `swarm init` when the swarm is not initialised
--   EngineLabels           { k = v }: Docker engine labels the script sets
--   Attachments            { ["<LogicalID>" | "*"] = { { ID =, Type = } } }
--   Docker                 { Host = "unix:///var/run/docker.sock" | "tcp://H:P",
--                            TLS = { CAFile, CertFile, KeyFile, InsecureSkipVerify } }
--                          the engine whose swarm the instances join
--
-- Validate (InfraKit's rules): Docker connect info (Host or TLS); each
-- LogicalID once; attachments only for a LogicalID of the group or "*",
-- each with a Type, each attachment ID once; the template, when given,
-- loads and parses. Managers: an odd number of LogicalIDs (0 fails).
-- Every error names the field.
--
-- Prepare reads the swarm from Docker.Host as InfraKit does (info, then the
-- engine's own node, then the swarm), makes a new link (infrakit_link =
-- 16 random [a-z0-9], infrakit_link_context = swarm::<swarm ID>::<role>,
-- infrakit_link_created = now, RFC 3339) and renders the Init script
-- (it REPLACES the spec's Init) with these functions:
--   SPEC                 the decoded Properties (SPEC.SwarmJoinIP, ...)
--   INSTANCE_LOGICAL_ID  the spec's LogicalID, "" for cattle
--   ALLOCATIONS          the group's allocation {Size, LogicalIDs}
--   INDEX                {Group, Sequence}
--   INFRAKIT_LABELS      "k=v" strings: EngineLabels, then the link's three
--                        labels (InfraKit lists them in Go's random map
--                        order; here each part is sorted by key, so the
--                        output is stable)
--   SWARM_MANAGER_ADDR   the engine's node's ManagerStatus.Addr (an error
--                        when the engine is not a swarm manager)
--   SWARM_INITIALIZED    whether that node has a ManagerStatus
--   SWARM_JOIN_TOKENS    the swarm's JoinTokens (.Manager, .Worker)
--   SWARM_CLUSTER_ID     the swarm's ID
-- then adds the attachments of the LogicalID and of "*", and the tags
-- infrakit.cluster.id (the swarm ID, "?" when unknown) and the link's.
--
-- Healthy: the swarm nodes whose engine label infrakit_link equals the
-- instance's tag: none -> unknown (not joined yet); one -> unhealthy when
-- not ready, or a manager whose reachability is not "reachable", else
-- healthy; several -> healthy, with a warning. No link tag -> unhealthy.
-- Drain: a manager is demoted to worker; a worker's node is removed
-- (force). No node -> nothing to do; several -> an error.
--
-- Extensions (InfraKit has neither):
--   * Docker.Host may be a LIST of hosts, tried in order until one answers
--     as a swarm manager (else the first that answers at all), so the
--     managers can be replaced one at a time and the flavor follows them.
--   * When no host can be reached, the manager whose LogicalID equals
--     SwarmJoinIP (the bootstrap manager, whose own engine may not exist
--     yet) is prepared with SWARM_INITIALIZED false and swarm ID "?"; any
--     other instance fails with an error naming the hosts. (InfraKit
--     renders with no swarm state in both cases, so there a joining
--     instance fails on the missing token instead.)
local go = require "infrakit.gotypes"
local docker = require "infrakit.docker"
local log = require "infrakit.log"

local swarm = {}

local FIELDS = {
  { "Attachments", "map[string][]instance.Attachment" },
  { "InitScriptTemplateURL", "string" },
  { "SwarmJoinIP", "string" },
  { "EngineLabels", "map[string]string" },
  { "Docker", "any" },
}
local TLS_FIELDS = {
  { "CAFile", "string" }, { "CertFile", "string" }, { "KeyFile", "string" }, { "InsecureSkipVerify", "bool" },
}

-- Each Engine API call of the flavor: an engine that does not answer
-- within this is skipped (a list of hosts) or an error.
local CALL_TIMEOUT = { timeout = 10 }

local ALL_INSTANCES = "*"
local CLUSTER_ID_TAG = "infrakit.cluster.id"
local LINK_LABEL, LINK_CONTEXT, LINK_CREATED = "infrakit_link", "infrakit_link_context", "infrakit_link_created"

--- The clock and the random source of new links; tests replace them.
swarm.now = os.time
function swarm.random_value()
  local letters, out = "abcdefghijklmnopqrstuvwxyz0123456789", {}
  for i = 1, 16 do
    local k = math.random(1, #letters)
    out[i] = letters:sub(k, k)
  end
  return table.concat(out)
end

-- Decodes Properties into the Spec: Docker becomes { Host = the host or
-- the list as given, TLS = {...} | nil }, and s.hosts the list of hosts to
-- try (the default socket when only TLS is given). Returns the spec, or
-- nil and a message naming the field.
local function decode(properties)
  local s, err = go.decode_struct(properties, "swarm.Spec", FIELDS)
  if not s then return nil, err end
  local d = s.Docker
  local k = go.kind(d)
  if k ~= "null" and k ~= "object" and k ~= "empty" then
    return nil, "Docker: want an object { Host =, TLS = }, got " .. k
  end
  local host = go.field(d, "Host")
  local hosts = {}
  k = go.kind(host)
  if k == "string" then
    if host ~= "" then hosts[1] = host end
  elseif k == "array" or k == "empty" then
    for i, h in ipairs(host) do
      if type(h) ~= "string" or h == "" then return nil, ("Docker.Host[%d]: want a host URL (a string)"):format(i) end
      hosts[i] = h
    end
  elseif k ~= "null" then
    return nil, "Docker.Host: want a host URL or a list of them, got " .. k
  end
  local tls
  if not go.is_null(go.field(d, "TLS")) then
    tls, err = go.decode_struct(go.field(d, "TLS"), "tlsconfig.Options", TLS_FIELDS)
    if not tls then return nil, "Docker.TLS: " .. err end
  end
  s.Docker = { Host = #hosts == 1 and hosts[1] or (#hosts == 0 and "" or hosts), TLS = tls }
  s.hosts = hosts
  if #hosts == 0 and tls then hosts[1] = docker.default_host end
  return s
end

local function sorted_keys(t)
  local keys = {}
  for key in pairs(t or {}) do keys[#keys + 1] = key end
  table.sort(keys)
  return keys
end

-- InfraKit's validateIDsAndAttachments, in a stable order, each error
-- naming the field.
local function validate_ids_and_attachments(ids, attachments)
  local seen = {}
  for _, id in ipairs(ids) do
    if seen[id] then return nil, ("Allocation.LogicalIDs: LogicalID %s specified more than once"):format(id) end
    seen[id] = true
  end
  local keys = sorted_keys(attachments)
  for _, id in ipairs(keys) do
    if not seen[id] and id ~= ALL_INSTANCES then
      return nil, ("Attachments: LogicalID %s used for an attachment but is not in group LogicalIDs"):format(id)
    end
  end
  for _, id in ipairs(keys) do
    for i, a in ipairs(attachments[id] or {}) do
      if a.Type == "" then return nil, ("Attachments[%q][%d]: no attachment type"):format(id, i) end
    end
  end
  local ids_used = {}
  for _, id in ipairs(keys) do
    for i, a in ipairs(attachments[id] or {}) do
      if ids_used[a.ID] then
        return nil, ("Attachments[%q][%d]: Attachment %s specified more than once"):format(id, i, a.ID)
      end
      ids_used[a.ID] = true
    end
  end
  return true
end

local function template_module() return require "infrakit.template" end

-- Loads (and parses) the template the Properties name. Yields.
local function check_template_url(url)
  local t, err, code = template_module().load_url(url)
  if not t then return nil, "InitScriptTemplateURL " .. url .. ": " .. tostring(err), code end
  return true
end

local function logical_ids(allocation)
  local a, err = go.decode_struct(allocation, "group.AllocationMethod", { { "LogicalIDs", "[]string" } })
  if not a then return nil, "Allocation: " .. err end
  return a.LogicalIDs or {}
end

-- Validate for both roles (InfraKit's baseFlavor.Validate).
local function validate_base(properties, allocation)
  if go.is_null(properties) then return nil, "missing config (Properties)", "EINVAL" end
  local s, err = decode(properties)
  if not s then return nil, err, "EINVAL" end
  if #s.hosts == 0 then
    return nil, "no docker connect info: Properties.Docker needs Host (or TLS)", "EINVAL"
  end
  for _, host in ipairs(s.hosts) do
    local c, cerr = docker.client(host, s.Docker.TLS)
    if not c then return nil, cerr, "EINVAL" end
  end
  if s.InitScriptTemplateURL ~= "" then
    local ok, terr, code = check_template_url(s.InitScriptTemplateURL)
    if not ok then return nil, terr, code or "EINVAL" end
  end
  local ids
  ids, err = logical_ids(allocation)
  if not ids then return nil, err, "EINVAL" end
  local ok, verr = validate_ids_and_attachments(ids, s.Attachments)
  if not ok then return nil, verr, "EINVAL" end
  return s, ids
end

-- The link a new instance gets.
local function new_link(swarm_id, role)
  return {
    value = swarm.random_value(),
    context = "swarm::" .. swarm_id .. "::" .. role,
    created = os.date("!%Y-%m-%dT%H:%M:%SZ", swarm.now()),
  }
end

local function link_map(link)
  return { [LINK_LABEL] = link.value, [LINK_CONTEXT] = link.context, [LINK_CREATED] = link.created }
end

-- The template functions of one Prepare (see the header).
local function template_funcs(s, spec, allocation, index, state, link)
  local node, sw = state.node, state.swarm
  local function fail(msg) error(msg, 0) end
  return {
    SPEC = function()
      local out = {}
      for k, v in pairs(s) do
        if k ~= "hosts" then out[k] = v end
      end
      return out
    end,
    INSTANCE_LOGICAL_ID = function()
      return type(spec.LogicalID) == "string" and spec.LogicalID or ""
    end,
    ALLOCATIONS = function() return allocation end,
    INDEX = function() return index end,
    INFRAKIT_LABELS = function()
      local out = {}
      for _, k in ipairs(sorted_keys(s.EngineLabels)) do out[#out + 1] = k .. "=" .. s.EngineLabels[k] end
      local m = link_map(link)
      for _, k in ipairs(sorted_keys(m)) do out[#out + 1] = k .. "=" .. m[k] end
      return out
    end,
    SWARM_MANAGER_ADDR = function()
      if node == nil then fail("cannot prepare: no node info") end
      if go.is_null(node.ManagerStatus) then fail("cannot prepare: no manager status") end
      return node.ManagerStatus.Addr
    end,
    SWARM_INITIALIZED = function()
      return node ~= nil and not go.is_null(node.ManagerStatus)
    end,
    SWARM_JOIN_TOKENS = function()
      if sw == nil then fail("cannot prepare: no swarm status") end
      return sw.JoinTokens
    end,
    SWARM_CLUSTER_ID = function()
      if sw == nil then fail("cannot prepare: no swarm status") end
      return sw.ID
    end,
  }
end

-- The swarm state Prepare renders with: { info =, node =, swarm = } (parts
-- missing when unknown), or nil, message, code.
local function read_state(s, spec)
  local c, state, code = docker.find_manager(s.hosts, s.Docker.TLS, CALL_TIMEOUT)
  if c then
    -- The join tokens end up in Init scripts; never in the logs.
    local tokens = state.swarm and state.swarm.JoinTokens
    if type(tokens) == "table" then
      for _, t in ipairs { tokens.Manager, tokens.Worker } do
        if type(t) == "string" and t ~= "" then log.secret(t) end
      end
    end
    if state.swarm == nil then
      log.info("swarm flavor: the engine is not a swarm manager, or not in a swarm",
        { mod = "flavor/swarm", host = c.host })
    end
    return state
  end
  if code == "EINVAL" then return nil, state, code end
  local id = type(spec.LogicalID) == "string" and spec.LogicalID or ""
  if id ~= "" and id == s.SwarmJoinIP then
    log.info("swarm flavor: no engine answers; preparing the bootstrap manager of a new swarm",
      { mod = "flavor/swarm", logical_id = id })
    return {}
  end
  return nil, ("cannot read the swarm's state: %s"):format(state), code
end

-- Prepare for role "manager" or "worker" (InfraKit's baseFlavor.prepare).
local function prepare(role, properties, spec, allocation, index)
  local s, err = decode(properties)
  if not s then return nil, err, "EINVAL" end
  if type(spec) ~= "table" then spec = {} end
  local template = template_module()
  local state, code
  state, err, code = read_state(s, spec)
  if not state then return nil, err, code end
  local swarm_id = state.swarm and state.swarm.ID or "?"
  local link = new_link(swarm_id, role)
  local funcs = template_funcs(s, spec, allocation, index, state, link)
  local script
  if s.InitScriptTemplateURL ~= "" then
    script, err, code = template.render_url(s.InitScriptTemplateURL, nil, { funcs = funcs })
    if not script then
      return nil, "InitScriptTemplateURL " .. s.InitScriptTemplateURL .. ": " .. tostring(err), code
    end
  else
    local name = "templates/swarm/" .. role .. ".sh.tmpl"
    local text
    text, err, code = template.builtin(name)
    if not text then return nil, err, code end
    script, err, code = template.render(text, nil, { funcs = funcs, name = name })
    if not script then return nil, err, code end
  end

  local out = {}
  for k, v in pairs(spec) do out[k] = v end
  out.Init = script
  local extra = {}
  local id = type(spec.LogicalID) == "string" and spec.LogicalID or nil
  local attachments = s.Attachments or {}
  if id then
    for _, a in ipairs(attachments[id] or {}) do extra[#extra + 1] = a end
  end
  for _, a in ipairs(attachments[ALL_INSTANCES] or {}) do extra[#extra + 1] = a end
  if #extra > 0 then
    local list = go.list()
    if type(out.Attachments) == "table" then
      for _, a in ipairs(out.Attachments) do list[#list + 1] = a end
    end
    for _, a in ipairs(extra) do list[#list + 1] = a end
    out.Attachments = list
  end
  local tags = {}
  if type(out.Tags) == "table" then
    for k, v in pairs(out.Tags) do tags[k] = v end
  end
  tags[CLUSTER_ID_TAG] = swarm_id
  for k, v in pairs(link_map(link)) do
    if v ~= "" then tags[k] = v end
  end
  out.Tags = tags
  return out
end

-- The engine to ask about nodes, and the link value of instance: client,
-- value; or nil, message, code; or false when the instance has no link.
local function node_client(properties, instance)
  if go.is_null(properties) then return nil, "missing config (Properties)", "EINVAL" end
  local s, err = decode(properties)
  if not s then return nil, err, "EINVAL" end
  local tags = type(instance) == "table" and type(instance.Tags) == "table" and instance.Tags or {}
  local value = tags[LINK_LABEL]
  if type(value) ~= "string" or value == "" then return false end
  if #s.hosts == 0 then return nil, "no docker connect info: Properties.Docker needs Host (or TLS)", "EINVAL" end
  -- One host: asked directly, as InfraKit does (one call per check); a
  -- list: the first manager among them.
  local c, state, code
  if #s.hosts == 1 then
    c, state, code = docker.client(s.hosts[1], s.Docker.TLS, CALL_TIMEOUT)
  else
    c, state, code = docker.find_manager(s.hosts, s.Docker.TLS, CALL_TIMEOUT)
  end
  if not c then return nil, state, code end
  return c, value
end

local function instance_id(instance)
  return type(instance) == "table" and tostring(instance.ID) or "?"
end

local function node_ids(nodes)
  local ids = {}
  for i, n in ipairs(nodes) do ids[i] = tostring(n.ID) end
  return table.concat(ids, ", ")
end

local function hostname_of(node)
  return type(node.Description) == "table" and node.Description.Hostname or ""
end

local function healthy(properties, instance)
  local c, value, code = node_client(properties, instance)
  if c == false then
    log.info("swarm flavor: reporting unhealthy for an instance without an infrakit_link tag",
      { mod = "flavor/swarm", id = instance_id(instance) })
    return "unhealthy"
  end
  if not c then return nil, value, code end
  local nodes, err
  nodes, err, code = c:node_list({ label = { LINK_LABEL .. "=" .. value } })
  if not nodes then return nil, err, code end
  if #nodes == 0 then return "unknown" end -- not joined yet
  if #nodes > 1 then
    log.warn("swarm flavor: found duplicates", { mod = "flavor/swarm", label = value, nodes = node_ids(nodes) })
    return "healthy"
  end
  local n = nodes[1]
  local state = type(n.Status) == "table" and n.Status.State or ""
  local hostname = hostname_of(n)
  if state ~= "ready" then
    log.warn("swarm flavor: node is not ready", { mod = "flavor/swarm", id = n.ID, hostname = hostname, state = state })
    return "unhealthy"
  end
  if type(n.Spec) == "table" and n.Spec.Role == "manager" then
    if go.is_null(n.ManagerStatus) then
      log.error("swarm flavor: ManagerStatus is not defined", { mod = "flavor/swarm", id = n.ID, hostname = hostname })
      return "unhealthy"
    end
    if n.ManagerStatus.Reachability ~= "reachable" then
      log.warn("swarm flavor: manager node is not reachable", { mod = "flavor/swarm", id = n.ID, hostname = hostname,
        reachability = tostring(n.ManagerStatus.Reachability) })
      return "unhealthy"
    end
  end
  return "healthy"
end

-- The one node linked to instance, for Drain: node, client; false when
-- there is none; or nil, message, code.
local function drain_node(properties, instance)
  local c, value, code = node_client(properties, instance)
  if c == false then
    return nil, ("Unable to drain %s without an association tag"):format(instance_id(instance)), "EINVAL"
  end
  if not c then return nil, value, code end
  local nodes, err
  nodes, err, code = c:node_list({ label = { LINK_LABEL .. "=" .. value } })
  if not nodes then return nil, err, code end
  if #nodes == 0 then
    log.warn("swarm flavor: unable to drain - not found in swarm", { mod = "flavor/swarm", id = instance_id(instance) })
    return false
  end
  if #nodes > 1 then
    return nil, ("Expected at most one node with label %s, but found %s"):format(value, node_ids(nodes)), "EINVAL"
  end
  return nodes[1], c
end

-- One type of the flavor: role's Prepare; Validate = the common rules,
-- then check(spec, ids) when given; Drain = drain_one(client, node) on the
-- instance's node, when there is one.
local function flavor_of(role, check, drain_one)
  return {
    validate = function(properties, allocation)
      local s, ids, code = validate_base(properties, allocation)
      if not s then return nil, ids, code end
      if check then return check(s, ids) end
      return true
    end,
    prepare = function(properties, spec, allocation, index)
      return prepare(role, properties, spec, allocation, index)
    end,
    healthy = healthy,
    drain = function(properties, instance)
      local node, c, code = drain_node(properties, instance)
      if node == false then return true end
      if not node then return nil, c, code end
      return drain_one(c, node)
    end,
  }
end

-- Managers: an odd number of LogicalIDs. Drain demotes the node to worker
-- (a node that is a worker already is left alone).
swarm.manager = flavor_of("manager", function(s, ids)
  if #ids % 2 == 0 then
    return nil, ("must have odd number for quorum: Allocation.LogicalIDs has %d"):format(#ids), "EINVAL"
  end
  local attachments = s.Attachments or {}
  for _, id in ipairs(ids) do
    if attachments[id] == nil or #attachments[id] == 0 then
      log.warn("swarm flavor: no attachments, which is needed for durability", { mod = "flavor/swarm", id = id })
    end
  end
  return true
end, function(c, node)
  local inspected, err, code = c:node_inspect(node.ID)
  if not inspected then return nil, err, code end
  local fields = { mod = "flavor/swarm", id = node.ID, hostname = hostname_of(inspected) }
  if inspected.Spec.Role ~= "manager" then
    log.warn("swarm flavor: node is not a manager, nothing to demote", fields)
    return true
  end
  local spec = inspected.Spec
  spec.Role = "worker"
  log.info("swarm flavor: demoting a manager", fields)
  return c:node_update(node.ID, inspected.Version.Index, spec)
end)

-- Workers: Drain removes the node from the swarm (force).
swarm.worker = flavor_of("worker", nil, function(c, node)
  log.info("swarm flavor: removing a worker node", { mod = "flavor/swarm", id = node.ID, hostname = hostname_of(node) })
  return c:node_remove(node.ID, true)
end)

return swarm
