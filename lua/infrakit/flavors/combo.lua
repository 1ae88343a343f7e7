-- The combo flavor (InfraKit's pkg/plugin/flavor/combo, reference §5.5),
-- served as `flavor-combo`: several flavors applied to one instance.
--
-- Properties: a LIST of { Plugin = "flavor-name[/type]", Properties = ... }.
--
-- Child flavors are reached through the host, at call time:
--   local h, err, code = require("infrakit").flavor.get(name)
-- returns a handle with methods following the flavor contract, which may
-- yield: h:validate(properties, allocation), h:prepare(properties, spec,
-- allocation, index), h:healthy(properties, instance), h:drain(properties,
-- instance); or nil, message, code when there is no such flavor. An error
-- a child raises is treated like a failure it returned.
--
-- Prepare:  each child, in order, gets a clone of the INCOMING spec (its own
--           Tags, Attachments and Properties copies); then the results are
--           merged onto a clone of the incoming spec: each child's Tags
--           overlaid in order, each child's non-empty Init appended with
--           "\n", each child's Attachments appended. The first failing
--           child fails the call with its message. As in InfraKit, a child
--           that keeps the incoming Init (vanilla does) repeats it:
--           incoming "a", vanilla child "b" gives "a\na\nb"; likewise the
--           incoming attachments come back once more per child that keeps
--           them (every child gets them in its clone). The result's
--           Tags is always a table and Attachments always a list (InfraKit
--           answers {} and [] there, not null).
-- Healthy:  the first child answer that is not "healthy" (or the first
--           failure) wins; all healthy (or no children) → "healthy".
-- Drain:    every child is drained even when one fails; the failures are
--           joined with ", ".
-- Validate: InfraKit only checks that Properties decode as the list. We
--           also validate each child: its Plugin must be set, must be
--           found, and its own validate must accept its Properties (with
--           the same allocation); the message starts with the child's
--           plugin name.
--           So a commit fails at once rather than at the first Prepare.
local go = require "infrakit.gotypes"

local combo = {}

local PLUGIN_SPEC = { { "Plugin", "string" }, { "Properties", "any" } }

-- Properties -> list of {Plugin=, Properties=} or nil, Go's message.
local function decode(properties)
  local kind = go.kind(properties)
  if kind == "null" then return {} end
  if kind ~= "array" and kind ~= "empty" then
    return nil, ("json: cannot unmarshal %s into Go value of type combo.Spec"):format(kind)
  end
  local list = {}
  for i = 1, #properties do
    local child, err = go.decode_struct(properties[i], "types.FlavorPlugin", PLUGIN_SPEC)
    if not child then return nil, err end
    list[i] = child
  end
  return list
end

-- The host's flavor registry, looked up at each call so the host may
-- install it after this module is loaded.
local function lookup(name)
  local ok, infrakit = pcall(require, "infrakit")
  local registry = ok and type(infrakit) == "table" and infrakit.flavor or nil
  if type(registry) ~= "table" or type(registry.get) ~= "function" then
    return nil, "child flavors are not available (infrakit.flavor is not installed)", "ENOTSUP"
  end
  local h, err, code = registry.get(name)
  if h == nil then
    return nil, err or ("no flavor plugin " .. tostring(name)), code or "ENOTFOUND"
  end
  return h
end

local function results(ok, ...)
  if ok then return ... end
  local err = ...
  return nil, tostring(err):match("^[^\n]*"), "ELUA"
end

-- h:method(...), with a raised error turned into nil, message, "ELUA".
local function call(h, method, ...)
  local ok, fn = pcall(function() return h[method] end)
  if not ok or type(fn) ~= "function" then
    return nil, ("the flavor handle has no %s method"):format(method), "ENOTSUP"
  end
  return results(pcall(fn, h, ...))
end

-- A copy of spec as InfraKit's cloneSpec makes it: Tags always a table,
-- Attachments always a list, Init always a string; other keys kept.
local function clone_spec(spec, copy_properties)
  local c = {}
  if type(spec) == "table" then
    for k, v in pairs(spec) do c[k] = v end
  end
  if copy_properties then c.Properties = go.copy(c.Properties) end
  local tags = {}
  if type(c.Tags) == "table" then
    for k, v in pairs(c.Tags) do tags[k] = v end
  end
  c.Tags = tags
  if type(c.Init) ~= "string" then c.Init = "" end
  if c.LogicalID == nil then c.LogicalID = go.null end
  local attachments = go.list()
  if type(c.Attachments) == "table" then
    for _, a in ipairs(c.Attachments) do attachments[#attachments + 1] = go.copy(a) end
  end
  c.Attachments = attachments
  return c
end

local function merge(initial, outputs)
  local result = clone_spec(initial, false)
  for _, out in ipairs(outputs) do
    if type(out.Tags) == "table" then
      for k, v in pairs(out.Tags) do result.Tags[k] = v end
    end
    if type(out.Init) == "string" and out.Init ~= "" then
      if result.Init ~= "" then result.Init = result.Init .. "\n" end
      result.Init = result.Init .. out.Init
    end
    if type(out.Attachments) == "table" then
      for _, a in ipairs(out.Attachments) do result.Attachments[#result.Attachments + 1] = a end
    end
  end
  return result
end

-- "plugin: message", unless the message names the plugin already (a
-- remote plugin may prefix its own name).
local function naming(plugin, msg)
  msg = tostring(msg)
  if msg:sub(1, #plugin + 1) == plugin .. ":" then return msg end
  return plugin .. ": " .. msg
end

--- Checks that Properties is a list of {Plugin, Properties} and that each
--- child flavor accepts its Properties. Yields (children are called).
---@param properties table|nil
---@param allocation table|nil
---@return true|nil ok
---@return string|nil err
---@return string|nil code
function combo.validate(properties, allocation)
  local list, err = decode(properties)
  if not list then return nil, err, "EINVAL" end
  for i, child in ipairs(list) do
    if child.Plugin == "" then
      return nil, ("flavor %d of the combo has no Plugin"):format(i), "EINVAL"
    end
    local h, lerr, code = lookup(child.Plugin)
    if not h then return nil, naming(child.Plugin, lerr), code end
    local ok, verr, vcode = call(h, "validate", child.Properties, allocation)
    if not ok then return nil, naming(child.Plugin, verr), vcode end
  end
  return true
end

--- Runs every child's prepare on a clone of spec and merges the results.
--- Yields.
---@param properties table|nil
---@param spec table instance.Spec
---@param allocation table|nil
---@param index table|nil
---@return table|nil spec
---@return string|nil err
---@return string|nil code
function combo.prepare(properties, spec, allocation, index)
  local list, err = decode(properties)
  if not list then return nil, err, "EINVAL" end
  local outputs = {}
  for i, child in ipairs(list) do
    local clone = clone_spec(spec, true)
    local h, lerr, code = lookup(child.Plugin)
    if not h then return nil, lerr, code end
    local out, perr, pcode = call(h, "prepare", child.Properties, clone, allocation, index)
    if out == nil or out == false then return nil, perr, pcode end
    if type(out) ~= "table" then
      return nil, ("%s: prepare returned a %s, not a spec"):format(child.Plugin, type(out)), "EINVAL"
    end
    outputs[i] = out
  end
  return merge(spec, outputs)
end

local HEALTH = { healthy = true, unhealthy = true, unknown = true }

--- The first child answer that is not "healthy", else "healthy". Yields.
---@param properties table|nil
---@param instance table instance.Description
---@return string|nil health
---@return string|nil err
---@return string|nil code
function combo.healthy(properties, instance)
  local list, err = decode(properties)
  if not list then return nil, err, "EINVAL" end
  for _, child in ipairs(list) do
    local h, lerr, code = lookup(child.Plugin)
    if not h then return nil, lerr, code end
    local health, herr, hcode = call(h, "healthy", child.Properties, instance)
    if health == nil then return nil, herr, hcode end
    if not HEALTH[health] then
      return nil, ("%s: healthy returned %s"):format(child.Plugin, tostring(health)), "EINVAL"
    end
    if health ~= "healthy" then return health end
  end
  return "healthy"
end

--- Drains through every child; failures are joined with ", ". Yields.
---@param properties table|nil
---@param instance table instance.Description
---@return true|nil ok
---@return string|nil err
---@return string|nil code
function combo.drain(properties, instance)
  local list, err = decode(properties)
  if not list then return nil, err, "EINVAL" end
  local errs = {}
  for _, child in ipairs(list) do
    local h, lerr = lookup(child.Plugin)
    if not h then
      errs[#errs + 1] = tostring(lerr)
    else
      local ok, derr = call(h, "drain", child.Properties, instance)
      if not ok then errs[#errs + 1] = tostring(derr) end
    end
  end
  if #errs > 0 then return nil, table.concat(errs, ", "), "EDRIVER" end
  return true
end

return combo
