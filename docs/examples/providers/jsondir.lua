-- jsondir: an instance provider whose instances are JSON files in a
-- directory - the shape of any provider (a cloud API, a hypervisor) with
-- the backend made as small as possible.
--
-- Install it as $INFRAKIT_HOME/providers/jsondir.lua; groups then use it as
-- "Instance": {"Plugin": "jsondir", "Properties": {...}}.
--
-- Instance i lives in <dir>/<i>.json, holding its description:
--   {"ID": "jd-…", "LogicalID": …, "Tags": {…}, "Properties": <the spec's Properties>}
-- <dir> is $JSONDIR_DIR, else $INFRAKIT_HOME/jsondir (~/.infrakit/jsondir).
-- Removing a file removes the instance, as deleting a VM in a cloud's
-- console would: watch() notices within `interval` seconds and tells the
-- group controller, which replaces it at once instead of at its next poll.
local infrakit = require "infrakit"
local json = infrakit.json

local provider = {}

local home = os.getenv("INFRAKIT_HOME") or ((os.getenv("HOME") or ".") .. "/.infrakit")

-- Read at every call, so a test can point them elsewhere.
provider.dir = os.getenv("JSONDIR_DIR") or (home .. "/jsondir")
provider.interval = tonumber(os.getenv("JSONDIR_INTERVAL")) or 0.5 -- seconds between two looks in watch

local function path_of(id)
  return provider.dir .. "/" .. id .. ".json"
end

-- IDs are ours ("jd-" and a UUID); refusing anything else keeps an ID
-- from naming a file outside the directory.
local function valid_id(id)
  return type(id) == "string" and id:match("^jd%-[%x%-]+$") ~= nil
end

local function read(id)
  local f = io.open(path_of(id), "r")
  if not f then return nil end
  local text = f:read("*a")
  f:close()
  local desc = json.decode(text) -- nil for a file cut short
  if type(desc) ~= "table" then return nil end
  if type(desc.Tags) ~= "table" then desc.Tags = {} end
  return desc
end

-- Write atomically: a reader sees the old file or the new one. Small
-- synchronous writes are fine in a provider; anything slow goes through
-- infrakit.exec or infrakit.http, which yield.
local function write(desc)
  local tmp = path_of(desc.ID) .. ".tmp"
  local f, err = io.open(tmp, "w")
  if not f then return nil, err, "EIO" end
  f:write(json.encode(desc))
  f:close()
  local ok, rerr = os.rename(tmp, path_of(desc.ID))
  if not ok then return nil, rerr, "EIO" end
  return true
end

-- The IDs in the directory, as a set. Yields (it runs ls).
local function list()
  local r, err, code = infrakit.exec({ "ls", "-1", provider.dir })
  if not r then return nil, err, code end
  local ids = {}
  if r.status ~= 0 then return ids end -- no directory yet: no instances
  for name in r.stdout:gmatch("[^\n]+") do
    local id = name:match("^(.+)%.json$")
    if valid_id(id) then ids[id] = true end
  end
  return ids
end

--- Validate(properties): any object (or nothing) will do here.
function provider.validate(properties)
  if properties ~= nil and properties ~= json.null and type(properties) ~= "table" then
    return nil, "jsondir: Properties must be an object", "EINVAL"
  end
  return true
end

--- Provision(spec): make the instance; return its new ID.
function provider.provision(spec)
  local r = infrakit.exec({ "mkdir", "-p", provider.dir })
  if not r or r.status ~= 0 then
    return nil, "jsondir: cannot create " .. provider.dir .. (r and (": " .. r.stderr) or ""), "EIO"
  end
  local id = "jd-" .. infrakit.uid()
  local ok, err, code = write({
    ID = id,
    LogicalID = spec.LogicalID,
    Tags = type(spec.Tags) == "table" and spec.Tags or {},
    Properties = spec.Properties,
  })
  if not ok then return nil, err, code end
  infrakit.log.info("provisioned", { mod = "jsondir", instance = id })
  return id
end

--- Label(id, labels): merge labels into the instance's tags.
function provider.label(id, labels)
  local desc = valid_id(id) and read(id)
  if not desc then return nil, "jsondir: no instance " .. tostring(id), "ENOTFOUND" end
  for k, v in pairs(labels or {}) do desc.Tags[k] = v end
  return write(desc)
end

--- Destroy(id, context): remove the instance. context.Reason is
--- "terminate" or "rolling_update".
function provider.destroy(id, context)
  if not valid_id(id) then return nil, "jsondir: no instance " .. tostring(id), "ENOTFOUND" end
  local ok, err = os.remove(path_of(id))
  if not ok then return nil, "jsondir: destroy " .. id .. ": " .. tostring(err), "ENOTFOUND" end
  infrakit.log.info("destroyed", { mod = "jsondir", instance = id, reason = context and context.Reason })
  return true
end

--- Describe(tags, with_properties): the instances carrying every tag in
--- tags, with their Properties when asked.
function provider.describe(tags, with_properties)
  local ids, err, code = list()
  if not ids then return nil, err, code end
  local out = {}
  for id in pairs(ids) do
    local desc = read(id)
    local match = desc ~= nil
    for k, v in pairs(type(tags) == "table" and tags or {}) do
      match = match and desc.Tags[k] == v
    end
    if match then
      if not with_properties then desc.Properties = nil end
      out[#out + 1] = desc
    end
  end
  table.sort(out, function(a, b) return a.ID < b.ID end)
  return out
end

--- Watch(notify): runs from load until the provider is reloaded or the
--- daemon stops (its task is cancelled then). Look at the directory every
--- `interval` seconds and report every instance that came or went.
function provider.watch(notify)
  local known = list() or {}
  while true do
    infrakit.sleep(provider.interval)
    local now = list()
    if now then
      for id in pairs(known) do
        if not now[id] then notify(id) end -- gone: the group replaces it
      end
      for id in pairs(now) do
        if not known[id] then notify(id) end -- appeared (ours, or copied in)
      end
      known = now
    end
  end
end

return provider
