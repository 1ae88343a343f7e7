-- file-cluster: a ZooKeeper ensemble as pets on the file driver. Nothing
-- is installed or started: each member is a JSON file (instance-file) and
-- the zookeeper flavor renders its Init script from the group's logical
-- IDs. Shows the rendered ensemble configuration. See README.md.
local infrakit = require "infrakit"
local say = infrakit.print

local function check(ok, err, ...)
  if not ok then error(err, 2) end
  return ok, err, ...
end

return {
  description = "A ZooKeeper ensemble of pets on the file driver, with its rendered configuration.",
  params = {
    { name = "members", type = "list", default = { "10.0.0.1", "10.0.0.2", "10.0.0.3" },
      help = "the members' addresses (the logical IDs)" },
    { name = "home", type = "string",
      help = "INFRAKIT_HOME for the daemon (default: $INFRAKIT_HOME if set, else a new temporary one)" },
    { name = "keep", type = "bool", default = false, help = "leave the group and the daemon running" },
  },
  run = function(p)
    local home, temp = p.home, false
    if not home or home == "" then home = os.getenv("INFRAKIT_HOME") end
    if home == "" then home = nil end
    if not home then
      home = check(infrakit.exec({ "mktemp", "-d", "/tmp/infrakit-file-cluster-XXXXXX" })).stdout:gsub("%s+$", "")
      temp = true
    end
    local d = check(infrakit.daemon.ensure({ home = home }))
    say("daemon %s, INFRAKIT_HOME=%s", d.started and "started" or "running", home)
    local function teardown()
      if p.keep then
        local ik = "INFRAKIT_HOME=" .. home .. " " .. infrakit.executable
        return say("keeping the group (--keep); stop everything: %s group destroy zk%s%s", ik,
          d.started and (" && " .. ik .. " plugin stop group") or "", temp and (" && rm -rf " .. home) or "")
      end
      infrakit.group.destroy("zk")
      if d.started then infrakit.daemon.stop({ home = home }) end
      if temp then infrakit.exec({ "rm", "-rf", home }) end
      say("torn down")
    end
    infrakit.on_interrupt(teardown)
    local ok, err = xpcall(function()
      say("committing zk: pets %s", table.concat(p.members, ", "))
      check(infrakit.group.commit({
        ID = "zk",
        Properties = {
          Allocation = { LogicalIDs = p.members },
          Instance = { Plugin = "instance-file", Properties = { Note = "a zookeeper member" } },
          Flavor = { Plugin = "flavor-zookeeper", Properties = { Type = "member" } },
        },
      }))
      check(infrakit.group.wait("zk", { timeout = 30 }))
      -- Each member's spec, as the file driver stored it, holds the Init the flavor rendered.
      local r = check(infrakit.rpc.call(home .. "/plugins/instance-file", "Instance.DescribeInstances",
        { Tags = { ["infrakit.group"] = "zk" }, Properties = true }))
      table.sort(r.Descriptions, function(a, b) return a.LogicalID < b.LogicalID end)
      for _, inst in ipairs(r.Descriptions) do
        local init = inst.Properties.Init or ""
        local myid = init:match("echo '(%d+)' > /var/lib/zookeeper/myid") or "?"
        say("member %s (%s): myid %s", inst.LogicalID, inst.ID, myid)
      end
      local first = r.Descriptions[1]
      local cfg = (first.Properties.Init or ""):match("cat << EOF > /etc/zookeeper/conf/zoo.cfg\n(.-)\nEOF")
      say("the ensemble configuration every member writes (zoo.cfg):")
      for line in (cfg or "(not found)"):gmatch("[^\n]+") do say("  %s", line) end
    end, debug.traceback)
    teardown()
    if not ok then error(err, 0) end
  end,
}
