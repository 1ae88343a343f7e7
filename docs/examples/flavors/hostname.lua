-- hostname: a flavor that names each instance after its LogicalID.
--
-- Install it as $INFRAKIT_HOME/flavors/hostname.lua; groups then use it as
-- "Flavor": {"Plugin": "hostname", "Properties": {"Prefix": "web"}}.
--
-- Properties:
--   Prefix  first part of the host name (default "node")
--   Domain  optional; the host name becomes <name>.<Domain>
--
-- For the instance with LogicalID 10.0.0.1 and Prefix "web", prepare
-- appends to the Init script
--   hostnamectl set-hostname web-10-0-0-1
-- and tags the instance hostname=web-10-0-0-1.
local infrakit = require "infrakit"

local flavor = {}

local DEFAULT_PREFIX = "node"

-- Properties may be nil or JSON null (infrakit.json.null) when the group
-- spec has none.
local function props(properties)
  if type(properties) ~= "table" then return {} end
  return properties
end

-- A DNS label: lower-case letters, digits and dashes, not starting or
-- ending with a dash, at most 63 characters.
local function is_label(s)
  return type(s) == "string" and #s <= 63 and s:match("^[%l%d][%l%d%-]*$") ~= nil and s:sub(-1) ~= "-"
end

-- "10.0.0.1" -> "web-10-0-0-1"
local function hostname(prefix, logical_id)
  return prefix .. "-" .. logical_id:lower():gsub("[^%l%d]+", "-")
end

--- Called when a group is committed. Returns true, or nil and a message.
function flavor.validate(properties, allocation)
  local p = props(properties)
  local prefix = p.Prefix or DEFAULT_PREFIX
  if not is_label(prefix) then
    return nil, ("Prefix %q is not a host name label (a-z, 0-9 and '-')"):format(tostring(prefix))
  end
  if p.Domain ~= nil and type(p.Domain) ~= "string" then
    return nil, "Domain must be a string"
  end
  -- Names come from LogicalIDs: the group must list them (a "pet" group).
  local ids = allocation and allocation.LogicalIDs
  if type(ids) ~= "table" or #ids == 0 then
    return nil, "the hostname flavor needs Allocation.LogicalIDs"
  end
  for _, id in ipairs(ids) do
    if not is_label(hostname(prefix, id)) then
      return nil, ("LogicalID %q does not make a valid host name"):format(id)
    end
  end
  return true
end

--- Called before each instance is provisioned. Returns the instance spec
--- to provision (spec amended), or nil and a message.
function flavor.prepare(properties, spec, allocation, index)
  local p = props(properties)
  if type(spec.LogicalID) ~= "string" then
    return nil, "the hostname flavor needs a LogicalID for every instance"
  end
  local name = hostname(p.Prefix or DEFAULT_PREFIX, spec.LogicalID)
  local fqdn = p.Domain and (name .. "." .. p.Domain) or name

  -- Keep what the spec already has (another flavor, a combo) and add ours.
  local init = spec.Init
  local line = "hostnamectl set-hostname " .. fqdn
  spec.Init = (type(init) == "string" and init ~= "") and (init .. "\n" .. line) or line

  local tags = type(spec.Tags) == "table" and spec.Tags or {}
  tags.hostname = name
  spec.Tags = tags
  return spec
end

--- Called by rolling updates to gate on health: "healthy", "unhealthy" or
--- "unknown". Here: an instance we prepared carries our tag.
function flavor.healthy(properties, instance)
  if type(instance.Tags) == "table" and instance.Tags.hostname then return "healthy" end
  return "unknown"
end

--- Called before an instance is destroyed. Nothing to undo for a name;
--- log it so the operator can follow.
function flavor.drain(properties, instance)
  local tags = type(instance.Tags) == "table" and instance.Tags or {}
  infrakit.log.info("releasing host name", { instance = instance.ID, hostname = tags.hostname })
  return true
end

return flavor
