local infrakit = require "infrakit"
local helper = dofile("spec/unit/lua/spec_helper.lua")
local null = infrakit.json.null

local zookeeper = require "infrakit.flavors.zookeeper"

local IDS = { "10.0.0.1", "10.0.0.2", "10.0.0.3" }

local function spec_of(t)
  local s = { Properties = { image = "ubuntu" }, Tags = { ["infrakit.group"] = "zk" }, Init = "old",
    LogicalID = null, Attachments = null }
  for k, v in pairs(t or {}) do s[k] = v end
  return s
end

-- InfraKit's member script for 10.0.0.2 of IDS, as its Go template renders it.
local MEMBER_2 = table.concat({
  "#!/bin/sh",
  "",
  "apt-get update",
  "apt-get install -y openjdk-8-jdk-headless",
  "apt-get install -y zookeeperd",
  "",
  "cat << EOF > /etc/zookeeper/conf/zoo.cfg",
  "tickTime=2000",
  "dataDir=/var/lib/zookeeper",
  "clientPort=2181",
  "initLimit=5",
  "syncLimit=2",
  "",
  "server.1=10.0.0.1:2888:3888",
  "",
  "server.2=10.0.0.2:2888:3888",
  "",
  "server.3=10.0.0.3:2888:3888",
  "",
  "EOF",
  "",
  "echo '2' > /var/lib/zookeeper/myid",
  "",
  "systemctl reload-or-restart zookeeper",
  "",
}, "\n")

local DOCKER_3 = table.concat({
  "#!/bin/sh",
  "",
  "docker run \\",
  "  -p 2181:2181 \\",
  "  -p 2888:2888 \\",
  "  -p 3888:3888 \\",
  "  -e ZOO_MY_ID='3' \\",
  "  -e ZOO_SERVERS='server.1=10.0.0.1:2888:3888 server.2=10.0.0.2:2888:3888 server.3=0.0.0.0:2888:3888' \\",
  "  --name zk \\",
  "  --restart always \\",
  "  -d zookeeper",
  "",
}, "\n")

local STANDALONE = table.concat({
  "#!/bin/sh",
  "",
  "apt-get update",
  "apt-get install -y openjdk-8-jdk-headless",
  "apt-get install -y zookeeperd",
  "",
  "cat << EOF > /etc/zookeeper/conf/zoo.cfg",
  "tickTime=2000",
  "dataDir=/var/lib/zookeeper",
  "clientPort=2181",
  "EOF",
  "",
  "systemctl reload-or-restart zookeeper",
  "",
}, "\n")

local STANDALONE_DOCKER = table.concat({
  "#!/bin/sh",
  "",
  "docker run \\",
  "  -p 2181:2181 \\",
  "  --name zk \\",
  "  --restart always \\",
  "  -d zookeeper",
  "",
}, "\n")

describe("flavor zookeeper", function()
  helper.track_refs()

  describe("prepare", function()
    it("replaces Init with InfraKit's member script, myid from the position in LogicalIDs", function()
      local spec = spec_of { LogicalID = "10.0.0.2" }
      local out = assert(zookeeper.prepare({ Type = "member" }, spec, { LogicalIDs = IDS }, { Group = "zk", Sequence = 3 }))
      assert.are.equal(MEMBER_2, out.Init)
      -- Nothing else changes, and the spec passed in is left alone.
      out.Init = "old"
      assert.are.same(spec_of { LogicalID = "10.0.0.2" }, out)
      assert.are.equal("old", spec.Init)
    end)

    it("numbers every member from its position", function()
      for i, id in ipairs(IDS) do
        local out = assert(zookeeper.prepare({ Type = "member" }, spec_of { LogicalID = id }, { LogicalIDs = IDS }, {}))
        assert.matches("\necho '" .. i .. "' > /var/lib/zookeeper/myid\n", out.Init, 1, true)
      end
    end)

    it("runs the zookeeper image with the member's own address as 0.0.0.0 when UseDocker is set", function()
      local out = assert(zookeeper.prepare({ type = "member", useDocker = true }, spec_of { LogicalID = "10.0.0.3" },
        { LogicalIDs = IDS }, {}))
      assert.are.equal(DOCKER_3, out.Init)
    end)

    it("configures a standalone server when the group has one LogicalID", function()
      local alloc = { LogicalIDs = { "10.0.0.9" } }
      local out = assert(zookeeper.prepare({ Type = "member" }, spec_of { LogicalID = "10.0.0.9" }, alloc, {}))
      assert.are.equal(STANDALONE, out.Init)
      out = assert(zookeeper.prepare({ Type = "member", UseDocker = true }, spec_of { LogicalID = "10.0.0.9" }, alloc, {}))
      assert.are.equal(STANDALONE_DOCKER, out.Init)
    end)

    it("fails with InfraKit's messages", function()
      local cases = {
        { { Type = "manager" }, spec_of { LogicalID = "10.0.0.1" }, "Unsupported role type" },
        { {}, spec_of { LogicalID = "10.0.0.1" }, "Unsupported role type" },
        { { Type = "member" }, spec_of {}, "Manager nodes require an assigned logical ID" },
        { { Type = "member" }, spec_of { LogicalID = "10.0.0.7" },
          "Logical ID 10.0.0.7 is not in available IDs [10.0.0.1 10.0.0.2 10.0.0.3]" },
        { { Type = "member", UseDocker = "yes" }, spec_of { LogicalID = "10.0.0.1" },
          "json: cannot unmarshal string into Go struct field spec.UseDocker of type bool" },
      }
      for _, c in ipairs(cases) do
        local out, err, code = zookeeper.prepare(c[1], c[2], { LogicalIDs = IDS }, {})
        assert.is_nil(out)
        assert.are.equal(c[3], err)
        assert.are.equal("EINVAL", code)
      end
    end)
  end)

  describe("validate", function()
    it("accepts members with LogicalIDs", function()
      assert.is_true(zookeeper.validate({ Type = "member" }, { Size = 0, LogicalIDs = IDS }))
      assert.is_true(zookeeper.validate({ Type = "member", UseDocker = true }, { LogicalIDs = { "zk1.example.com" } }))
    end)

    it("refuses other types, groups without LogicalIDs and IDs that would break the script", function()
      local cases = {
        { { Type = "leader" }, { LogicalIDs = IDS }, "Unrecognized node Type" },
        { null, { LogicalIDs = IDS }, "Unrecognized node Type" },
        { { Type = "member" }, { Size = 3, LogicalIDs = null }, "IP addresses are required as LogicalIDs for a ZooKeeper ensemble" },
        { { Type = "member" }, { LogicalIDs = {} }, "IP addresses are required as LogicalIDs for a ZooKeeper ensemble" },
        { { Type = "member" }, { LogicalIDs = { "10.0.0.1", "x'; reboot; '" } },
          [[LogicalID "x'; reboot; '" is not an IP address or host name; it is written into the init script]] },
        { { Type = "member" }, { LogicalIDs = "10.0.0.1" },
          "json: cannot unmarshal string into Go struct field AllocationMethod.LogicalIDs of type []string" },
      }
      for _, c in ipairs(cases) do
        local ok, err, code = zookeeper.validate(c[1], c[2])
        assert.is_nil(ok)
        assert.are.equal(c[3], err)
        assert.are.equal("EINVAL", code)
      end
    end)
  end)

  it("is always healthy and has nothing to drain", function()
    local inst = { ID = "i-1", LogicalID = "10.0.0.1", Tags = {} }
    assert.are.equal("healthy", zookeeper.healthy({ Type = "member" }, inst))
    assert.is_true(zookeeper.drain({ Type = "member" }, inst))
  end)
end)
