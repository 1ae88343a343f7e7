-- instance-docker end to end: a real dockerd of the spec's own (never the
-- machine's: docker_support.lua), a real `infrakit daemon` serving
-- instance-docker, the CLI. The group daemon polls every 60 s, so healing
-- seen here comes from the engine's event stream. Containers run the image
-- bb:1 (busybox imported, no registry) with no network (the engines run
-- with --bridge=none). Pending, with the reason, where no engine can start.
local infrakit = require "infrakit"
local json = infrakit.json
local support = dofile("spec/functional/support.lua")
local docker = dofile("spec/functional/docker_support.lua")
local run = support.run

local CONFIG = { Image = "bb:1", Cmd = { "sleep", "3600" } }
local HOST_CONFIG = { NetworkMode = "none" }

local function group_spec(id, size, logical_ids)
  return json.encode({
    ID = id,
    Properties = {
      Allocation = { Size = size, LogicalIDs = logical_ids },
      Instance = { Plugin = "instance-docker", Properties = { Config = CONFIG, HostConfig = HOST_CONFIG } },
      Flavor = { Plugin = "flavor-vanilla", Properties = {} },
    },
  })
end

-- Running containers of group id, as the engine lists them: {ID12 = name}.
local function running(e, id)
  local filters = json.encode({ label = { "infrakit.group=" .. id }, status = { "running" } })
  local status, list = docker.api(e, "GET", "/containers/json?filters=" .. filters:gsub("[^%w]", function(c)
    return string.format("%%%02X", c:byte())
  end))
  assert.are.equal(200, status)
  local out, n = {}, 0
  for _, c in ipairs(list) do
    out[c.Id:sub(1, 12)] = c.Names[1]:sub(2)
    n = n + 1
  end
  return out, n
end

local steady_at = support.steady_at

describe("instance-docker against a real dockerd", function()
  local e, d, skip

  before_each(function()
    local ok, why = docker.available()
    if not ok then
      skip = why
      return
    end
    skip = nil
    e = docker.start_engine({ extra = { "--live-restore" } })
    docker.import_busybox(e, "bb:1")
  end)

  after_each(function()
    if d then
      pcall(d.stop)
      pcall(d.cleanup)
      d = nil
    end
    if e then
      e.cleanup()
      e = nil
    end
  end)

  local function start_daemon()
    d = support.start_group_daemon(nil, { "--docker-host", e.host, "--docker-stop-grace", "1s" })
    return d.home
  end

  it("provisions, describes, labels and destroys a container through `infrakit instance`", function()
    if skip then return pending(skip) end
    local home = start_daemon()
    local spec = json.encode({
      Properties = { Config = CONFIG, HostConfig = HOST_CONFIG, Tags = { tier = "web" } },
      Tags = { ["infrakit.group"] = "pets" },
      LogicalID = "pet-1",
      Init = "echo ready > /init.out",
    })
    local r = run(home, { "instance", "provision", "--plugin", "instance-docker", "-" }, { stdin = spec })
    assert.are.equal(0, r.status, r.stderr)
    local id = r.stdout:match("^(%x+)%s*$")
    assert.are.equal(12, #id)

    -- The engine has it: named after the LogicalID, labels merged, running, Init ran.
    local status, c = docker.api(e, "GET", "/containers/" .. id .. "/json")
    assert.are.equal(200, status)
    assert.are.equal("/pet-1", c.Name)
    assert.is_true(c.State.Running)
    assert.are.same({ ["infrakit.group"] = "pets", tier = "web" }, c.Config.Labels)
    assert.are.equal("none", c.HostConfig.NetworkMode)
    assert.matches("ready", docker.cli(e, "exec pet-1 cat /init.out").stdout)

    r = run(home, { "instance", "describe", "--json", "--plugin", "instance-docker", "--tag", "infrakit.group=pets" })
    assert.are.equal(0, r.status, r.stderr)
    local descs = json.decode(r.stdout)
    assert.are.equal(1, #descs)
    assert.are.equal(id, descs[1].ID)
    assert.are.equal("pet-1", descs[1].LogicalID)

    -- Label: the engine cannot relabel; the driver keeps the tag and describe shows it.
    r = run(home, { "instance", "label", "--plugin", "instance-docker", id, "infrakit.config.hash=bootstrap" })
    assert.are.equal(0, r.status, r.stderr)
    r = run(home, { "instance", "describe", "--json", "--plugin", "instance-docker", "--tag",
      "infrakit.config.hash=bootstrap" })
    descs = json.decode(r.stdout)
    assert.are.equal(1, #descs)
    assert.are.equal("bootstrap", descs[1].Tags["infrakit.config.hash"])
    assert.are.equal("pets", descs[1].Tags["infrakit.group"])

    r = run(home, { "instance", "destroy", "--plugin", "instance-docker", id })
    assert.are.equal(0, r.status, r.stderr)
    assert.are.equal(404, (docker.api(e, "GET", "/containers/" .. id .. "/json")))
    r = run(home, { "instance", "destroy", "--plugin", "instance-docker", id })
    assert.are.equal(1, r.status)
    assert.matches("No such container: " .. id, r.stderr, 1, true)
  end)

  it("says plainly that a missing image cannot be pulled without a registry, and an Init that fails", function()
    if skip then return pending(skip) end
    local home = start_daemon()
    local spec = json.encode({ Properties = { Config = { Image = "bb:2", Cmd = { "sleep", "1" } } } })
    local r = run(home, { "instance", "provision", "--plugin", "instance-docker", "-" }, { stdin = spec })
    assert.are.equal(1, r.status)
    assert.matches("image bb:2 is not on the engine and could not be pulled: ", r.stderr, 1, true)

    spec = json.encode({ Properties = { Config = CONFIG, HostConfig = HOST_CONFIG }, Init = "echo broken >&2; exit 7" })
    r = run(home, { "instance", "provision", "--plugin", "instance-docker", "-" }, { stdin = spec })
    assert.are.equal(1, r.status)
    assert.matches("Init exited with status 7 in container %x+; removed it: broken", r.stderr)
    local _, n = running(e, "")
    assert.are.equal(0, n)
  end)

  it("heals a `docker kill`ed member of a group from the engine's events, not the 60 s poll", function()
    if skip then return pending(skip) end
    local home = start_daemon()
    local r = run(home, { "group", "commit", "-" }, { stdin = group_spec("dk", 3) })
    assert.are.equal(0, r.status, r.stderr)
    support.wait_group(home, "dk", steady_at(3), 30)
    local before, n = running(e, "dk")
    assert.are.equal(3, n)
    local victim = next(before)
    assert.are.equal(204, (docker.api(e, "POST", "/containers/" .. victim .. "/kill")))
    local t0 = infrakit.now()
    local after
    for _ = 1, 200 do
      after, n = running(e, "dk")
      if n == 3 and not after[victim] then break end
      infrakit.sleep(0.05)
    end
    assert.are.equal(3, n)
    assert.is_nil(after[victim])
    assert.is_true(infrakit.now() - t0 < 10, "healed by events, well before the 60 s poll")
    support.wait_group(home, "dk", steady_at(3), 10)
  end)

  it("brings a killed pet back under its name (its dead predecessor is removed to free it)", function()
    if skip then return pending(skip) end
    local home = start_daemon()
    local r = run(home, { "group", "commit", "-" }, { stdin = group_spec("pets", nil, { "pet-a", "pet-b" }) })
    assert.are.equal(0, r.status, r.stderr)
    support.wait_group(home, "pets", steady_at(2), 30)
    local before = running(e, "pets")
    local victim
    for id, name in pairs(before) do if name == "pet-a" then victim = id end end
    assert.is_not_nil(victim)
    assert.are.equal(204, (docker.api(e, "POST", "/containers/" .. victim .. "/kill")))
    local after, n
    for _ = 1, 200 do
      after, n = running(e, "pets")
      if n == 2 and not after[victim] then break end
      infrakit.sleep(0.05)
    end
    assert.are.equal(2, n)
    local names = {}
    for _, name in pairs(after) do names[name] = true end
    assert.are.same({ ["pet-a"] = true, ["pet-b"] = true }, names)
  end)

  it("follows the engine through a crash and restart: re-adopts the running containers, events again", function()
    if skip then return pending(skip) end
    local home = start_daemon()
    local r = run(home, { "group", "commit", "-" }, { stdin = group_spec("rs", 2) })
    assert.are.equal(0, r.status, r.stderr)
    support.wait_group(home, "rs", steady_at(2), 30)
    local before = running(e, "rs")

    -- SIGKILL the engine; its containers live on (--live-restore) and the
    -- restarted engine takes them back. The driver reconnects its stream.
    e.kill9()
    infrakit.sleep(0.5)
    e.start()
    local st = support.wait_group(home, "rs", steady_at(2), 30)
    local ids = {}
    for _, inst in ipairs(st.Instances) do ids[inst.ID] = true end
    for id in pairs(before) do assert.is_true(ids[id], "kept " .. id) end

    -- Events flow again: a kill is healed at once.
    local victim = next(before)
    assert.are.equal(204, (docker.api(e, "POST", "/containers/" .. victim .. "/kill")))
    local after, n
    for _ = 1, 200 do
      after, n = running(e, "rs")
      if n == 2 and not after[victim] then break end
      infrakit.sleep(0.05)
    end
    assert.are.equal(2, n)
    assert.is_nil(after[victim])
  end)
end)
