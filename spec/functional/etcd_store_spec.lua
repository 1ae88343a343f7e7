-- The etcd store end to end: real etcd members (etcd_support.lua) and a
-- real `infrakit daemon --store etcd://...`. Specs and rollout state live
-- in etcd (the text the file store would write), survive a SIGKILLed
-- daemon - a daemon restarted in another INFRAKIT_HOME resumes from etcd
-- alone - and writes go on when one of three members dies. Fenced writes
-- against a real etcd are in spec/unit/core/engine/test_store_etcd.c
-- (contract_against_a_real_etcd). Pending where etcd cannot start.
local infrakit = require "infrakit"
local json = infrakit.json
local support = dofile("spec/functional/support.lua")
local etcd = dofile("spec/functional/etcd_support.lua")

local function group_spec(id, size)
  return json.encode({
    ID = id,
    Properties = {
      Allocation = { Size = size },
      Instance = { Plugin = "instance-file", Properties = { note = "etcd" } },
      Flavor = { Plugin = "flavor-vanilla", Properties = {} },
    },
  })
end

local function ids(st)
  local out = {}
  for _, i in ipairs(st.Instances) do out[#out + 1] = i.ID end
  table.sort(out)
  return table.concat(out, ",")
end

local function kill9(d)
  local pid = io.open(d.plugins .. "/instance-file.pid"):read("*a")
  support.sh("kill -KILL " .. pid)
  d.task:wait()
end

describe("the etcd store", function()
  local skip, c, daemons, shared
  before_each(function()
    local ok, why = etcd.available()
    skip = not ok and why or nil
    daemons = {}
    shared = support.mktemp() -- instance-file's directory, shared by the daemons
  end)
  after_each(function()
    for _, d in ipairs(daemons) do
      pcall(d.stop)
      pcall(d.cleanup)
    end
    etcd.cleanup_all()
    support.sh("rm -rf " .. shared)
  end)

  local function start(url)
    local d = support.start_group_daemon(nil, { "--store", url, "--instance-file-dir", shared })
    daemons[#daemons + 1] = d
    return d
  end

  it("keeps specs and rollout state in etcd across a SIGKILLed daemon", function()
    if skip then return pending(skip) end
    local why
    c, why = etcd.try_start_cluster(1)
    if not c then return pending(why) end
    local url = "etcd://" .. c.endpoints .. "/ik/test"
    local d = start(url)
    local r = support.run(d.home, { "group", "commit", "-" }, { stdin = group_spec("workers", 2) })
    assert.are.equal(0, r.status, r.stderr)
    local before = ids(support.wait_group(d.home, "workers", support.steady_at(2)))
    -- In etcd, as the file store writes them; nothing in the home's configs.
    local spec = assert(c.get("ik/test/groups/workers/spec"))
    assert.are.equal("workers", json.decode(spec).ID)
    assert.are.equal("\n", spec:sub(-1))
    local state = json.decode(assert(c.get("ik/test/groups/workers/state")))
    assert.truthy(state.TargetHash ~= "")
    assert.are.equal(1, infrakit.exec({ "sh", "-c", "ls " .. d.home .. "/configs/groups 2>/dev/null | grep -q ." }).status)
    kill9(d)
    -- Another daemon, in another home: it knows the group from etcd only,
    -- and adopts the instances instead of provisioning new ones.
    local d2 = start(url)
    local st = support.wait_group(d2.home, "workers", support.steady_at(2))
    assert.are.equal(before, ids(st))
    -- It goes on writing there: a new size, a new state.
    r = support.run(d2.home, { "group", "commit", "-" }, { stdin = group_spec("workers", 3) })
    assert.are.equal(0, r.status, r.stderr)
    support.wait_group(d2.home, "workers", support.steady_at(3))
    assert.are.equal(3, json.decode(c.get("ik/test/groups/workers/spec")).Properties.Allocation.Size)
    -- Destroy removes its documents.
    r = support.run(d2.home, { "group", "destroy", "workers" })
    assert.are.equal(0, r.status, r.stderr)
    for _ = 1, 100 do
      if next(c.list("ik/test/groups/")) == nil then break end
      infrakit.sleep(0.05)
    end
    assert.are.same({}, c.list("ik/test/groups/"))
  end)

  it("goes on writing when one of three members dies", function()
    if skip then return pending(skip) end
    local why
    c, why = etcd.try_start_cluster(3)
    if not c then return pending(why) end
    local d = start("etcd://" .. c.endpoints .. "/ik")
    local r = support.run(d.home, { "group", "commit", "-" }, { stdin = group_spec("web", 1) })
    assert.are.equal(0, r.status, r.stderr)
    support.wait_group(d.home, "web", support.steady_at(1))
    -- The first endpoint, the one the daemon talks to, dies.
    c.kill9(c.members[1])
    r = support.run(d.home, { "group", "commit", "-" }, { stdin = group_spec("web", 2) })
    assert.are.equal(0, r.status, r.stderr .. r.stdout)
    support.wait_group(d.home, "web", support.steady_at(2))
    local spec
    for _ = 1, 60 do
      spec = json.decode(c.get("ik/groups/web/spec"))
      if spec.Properties.Allocation.Size == 2 then break end
      infrakit.sleep(0.05)
    end
    assert.are.equal(2, spec.Properties.Allocation.Size)
  end)

  it("refuses a bad --store URL naming the option", function()
    local home = support.mktemp()
    local r = support.run(home, { "daemon", "--store", "etcd://nohost/x" })
    support.sh("rm -rf " .. home)
    assert.are.equal(2, r.status)
    assert.truthy(r.stderr:find("--store etcd://nohost/x: endpoint \"nohost\": want HOST:PORT", 1, true), r.stderr)
  end)

  it("reports a daemon whose etcd does not answer", function()
    if skip then return pending(skip) end
    -- A port nothing listens on: the commit fails naming the endpoint.
    local d = start("etcd://127.0.0.1:1/ik")
    local r = support.run(d.home, { "group", "commit", "-" }, { stdin = group_spec("x", 1) })
    assert.are_not.equal(0, r.status)
    assert.truthy((r.stderr .. r.stdout):find("etcd 127.0.0.1:1", 1, true), r.stderr .. r.stdout)
  end)
end)
