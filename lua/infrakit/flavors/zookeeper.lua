-- The zookeeper flavor (InfraKit's examples/flavor/zookeeper, reference
-- §5.4), served as `flavor-zookeeper`: a ZooKeeper ensemble whose
-- configuration comes entirely from the group's allocation.
--
-- Properties: { Type = "member", UseDocker = false }.
-- The group must be a quorum group: Allocation.LogicalIDs lists the
-- members' IP addresses (or host names); each instance's LogicalID is one
-- of them, and its ZooKeeper id (myid) is its 1-based position in the list.
--
-- Validate: Type must be "member"; LogicalIDs must not be empty. As an
--           extension, each LogicalID must be a plain address ([A-Za-z0-9.-]),
--           because it is written into a shell script.
-- Prepare:  needs the spec's LogicalID; REPLACES the spec's Init (as
--           InfraKit does; tags and attachments are untouched) with one of
--           the scripts below.
-- Healthy:  always "healthy". Drain: nothing to do (members come back).
--
-- The Init scripts, byte for byte, for the member 10.0.0.2 of LogicalIDs
-- ["10.0.0.1", "10.0.0.2"] (myid 2; servers are numbered in list order).
--
-- Members (two or more LogicalIDs), UseDocker false — InfraKit's text,
-- including the blank line around each server line that its Go template
-- leaves:
--
--   #!/bin/sh
--
--   apt-get update
--   apt-get install -y openjdk-8-jdk-headless
--   apt-get install -y zookeeperd
--
--   cat << EOF > /etc/zookeeper/conf/zoo.cfg
--   tickTime=2000
--   dataDir=/var/lib/zookeeper
--   clientPort=2181
--   initLimit=5
--   syncLimit=2
--
--   server.1=10.0.0.1:2888:3888
--
--   server.2=10.0.0.2:2888:3888
--
--   EOF
--
--   echo '2' > /var/lib/zookeeper/myid
--
--   systemctl reload-or-restart zookeeper
--
-- Members, UseDocker true — InfraKit's text; the member's own entry in
-- ZOO_SERVERS is 0.0.0.0 so that it binds locally for leader election:
--
--   #!/bin/sh
--
--   docker run \
--     -p 2181:2181 \
--     -p 2888:2888 \
--     -p 3888:3888 \
--     -e ZOO_MY_ID='2' \
--     -e ZOO_SERVERS='server.1=10.0.0.1:2888:3888 server.2=0.0.0.0:2888:3888' \
--     --name zk \
--     --restart always \
--     -d zookeeper
--
-- Standalone (exactly one LogicalID; our addition — InfraKit would write a
-- one-server ensemble): no server lines, no quorum ports, no myid:
--
--   #!/bin/sh
--
--   apt-get update
--   apt-get install -y openjdk-8-jdk-headless
--   apt-get install -y zookeeperd
--
--   cat << EOF > /etc/zookeeper/conf/zoo.cfg
--   tickTime=2000
--   dataDir=/var/lib/zookeeper
--   clientPort=2181
--   EOF
--
--   systemctl reload-or-restart zookeeper
--
-- and with UseDocker:
--
--   #!/bin/sh
--
--   docker run \
--     -p 2181:2181 \
--     --name zk \
--     --restart always \
--     -d zookeeper
--
-- Every script ends with a newline.
local go = require "infrakit.gotypes"

local zookeeper = {}

local FIELDS = { { "Type", "string" }, { "UseDocker", "bool" } }

local function decode(properties)
  return go.decode_struct(properties, "main.spec", FIELDS)
end

-- allocation.LogicalIDs as a list of strings (empty if none), or nil, err.
local function logical_ids(allocation)
  local ids, err = go.decode_struct(allocation, "group.AllocationMethod",
    { { "LogicalIDs", "[]string" } })
  if not ids then return nil, err end
  ids = ids.LogicalIDs or {}
  for _, id in ipairs(ids) do
    if not id:match("^[%w%.%-]+$") then
      return nil, ("LogicalID %q is not an IP address or host name; it is written into the init script"):format(id)
    end
  end
  return ids
end

local APT_HEAD = [[
#!/bin/sh

apt-get update
apt-get install -y openjdk-8-jdk-headless
apt-get install -y zookeeperd

cat << EOF > /etc/zookeeper/conf/zoo.cfg
tickTime=2000
dataDir=/var/lib/zookeeper
clientPort=2181
]]

local DOCKER_TAIL = [[
  --name zk \
  --restart always \
  -d zookeeper
]]

-- The Init script for the member at position myid of servers.
local function init_script(use_docker, servers, myid)
  local out = {}
  if #servers == 1 then
    if use_docker then
      return "#!/bin/sh\n\ndocker run \\\n  -p 2181:2181 \\\n" .. DOCKER_TAIL
    end
    return APT_HEAD .. "EOF\n\nsystemctl reload-or-restart zookeeper\n"
  end
  if use_docker then
    for i, server in ipairs(servers) do
      if i == myid then server = "0.0.0.0" end
      out[#out + 1] = ("server.%d=%s:2888:3888"):format(i, server)
    end
    return "#!/bin/sh\n\ndocker run \\\n"
      .. "  -p 2181:2181 \\\n  -p 2888:2888 \\\n  -p 3888:3888 \\\n"
      .. ("  -e ZOO_MY_ID='%d' \\\n"):format(myid)
      .. ("  -e ZOO_SERVERS='%s' \\\n"):format(table.concat(out, " "))
      .. DOCKER_TAIL
  end
  out[1] = APT_HEAD .. "initLimit=5\nsyncLimit=2\n"
  for i, server in ipairs(servers) do
    out[#out + 1] = ("\nserver.%d=%s:2888:3888\n"):format(i, server)
  end
  out[#out + 1] = ("\nEOF\n\necho '%d' > /var/lib/zookeeper/myid\n"):format(myid)
  out[#out + 1] = "\nsystemctl reload-or-restart zookeeper\n"
  return table.concat(out)
end

--- Checks Type and that the group lists its members in LogicalIDs.
---@param properties table|nil {Type="member", UseDocker=bool}
---@param allocation table {Size=, LogicalIDs=}
---@return true|nil ok
---@return string|nil err
---@return string|nil code
function zookeeper.validate(properties, allocation)
  local s, err = decode(properties)
  if not s then return nil, err, "EINVAL" end
  if s.Type ~= "member" then return nil, "Unrecognized node Type", "EINVAL" end
  local ids
  ids, err = logical_ids(allocation)
  if not ids then return nil, err, "EINVAL" end
  if #ids == 0 then
    return nil, "IP addresses are required as LogicalIDs for a ZooKeeper ensemble", "EINVAL"
  end
  return true
end

--- Returns a copy of spec whose Init installs and configures ZooKeeper for
--- this member (see the scripts above).
---@param properties table|nil
---@param spec table instance.Spec (LogicalID required)
---@param allocation table {LogicalIDs=}
---@param index table|nil
---@return table|nil spec
---@return string|nil err
---@return string|nil code
function zookeeper.prepare(properties, spec, allocation, index)
  local s, err = decode(properties)
  if not s then return nil, err, "EINVAL" end
  if s.Type ~= "member" then return nil, "Unsupported role type", "EINVAL" end
  local id = type(spec) == "table" and spec.LogicalID or nil
  if type(id) ~= "string" then
    return nil, "Manager nodes require an assigned logical ID", "EINVAL"
  end
  local ids
  ids, err = logical_ids(allocation)
  if not ids then return nil, err, "EINVAL" end
  local myid
  for i, server in ipairs(ids) do
    if server == id then
      myid = i
      break
    end
  end
  if not myid then
    return nil, ("Logical ID %s is not in available IDs [%s]"):format(id, table.concat(ids, " ")), "EINVAL"
  end
  local out = {}
  for k, v in pairs(spec) do out[k] = v end
  out.Init = init_script(s.UseDocker, ids, myid)
  return out
end

--- Always "healthy" (as in InfraKit).
---@param properties table|nil
---@param instance table
---@return string
function zookeeper.healthy(properties, instance)
  return "healthy"
end
zookeeper.healthy_properties = false -- never looks at them

--- Nothing to drain: a member that leaves is expected to come back.
---@param properties table|nil
---@param instance table
---@return true
function zookeeper.drain(properties, instance)
  return true
end

return zookeeper
