-- flavor-swarm in a real `infrakit daemon`: its two types on one socket,
-- and Prepare / Healthy / Drain against a real dockerd (started by
-- docker_support.lua in a temporary directory; pending where none can
-- start).
local infrakit = require "infrakit"
local support = dofile("spec/functional/support.lua")
local docker = dofile("spec/functional/docker_support.lua")
local json = infrakit.json

local function write(path, value)
  local f = assert(io.open(path, "w"))
  f:write(type(value) == "string" and value or json.encode(value))
  f:close()
  return path
end

-- `infrakit flavor VERB --plugin PLUGIN FILE` with request as FILE.
local function flavor(d, verb, plugin, request)
  local file = write(d.home .. "/request.json", request)
  return support.run(d.home, { "flavor", verb, "--plugin", plugin, file })
end

describe("flavor-swarm in the daemon", function()
  local d
  setup(function() d = support.start_daemon() end)
  teardown(function()
    d.stop()
    d.cleanup()
  end)

  local P = { Docker = { Host = "unix:///nonexistent/docker.sock" } }

  it("serves manager and worker on one socket, picked by Type", function()
    local sock = d.plugins .. "/flavor-swarm"
    local hello = assert(infrakit.rpc.call(sock, "Handshake.Hello", {}))
    assert.are.same({ ["Flavor/0.1.1"] = { { Name = "manager", ProxyFor = "" }, { Name = "worker", ProxyFor = "" } } },
      hello.Objects)
    local two = { Properties = P, Allocation = { LogicalIDs = { "10.0.0.1", "10.0.0.2" } } }
    two.Type = "manager"
    local r, err = infrakit.rpc.call(sock, "Flavor.Validate", two)
    assert.is_nil(r)
    assert.matches("must have odd number for quorum", err, 1, true)
    two.Type = "worker"
    r, err = infrakit.rpc.call(sock, "Flavor.Validate", two)
    assert.are.equal(nil, err)
    assert.are.same({ Type = "worker", OK = true }, r)
    for _, t in ipairs { "", "nope" } do
      two.Type = t
      r, err = infrakit.rpc.call(sock, "Flavor.Validate", two)
      assert.is_nil(r)
      assert.matches("no-plugin:" .. t, err, 1, true)
    end
  end)

  it("reads an InitScriptTemplateURL only as the daemon's --template-* flags allow", function()
    local r = flavor(d, "validate", "flavor-swarm/worker", {
      Properties = { Docker = P.Docker, InitScriptTemplateURL = "file:///etc/hostname" }, Allocation = { Size = 1 },
    })
    assert.are.equal(1, r.status)
    assert.matches("InitScriptTemplateURL file:///etc/hostname: ", r.stderr, 1, true)
    assert.matches("--template-dir", r.stderr, 1, true)
  end)

  it("is found by a group spec's Flavor.Plugin flavor-swarm/manager", function()
    local spec = {
      ID = "managers",
      Properties = {
        Allocation = { LogicalIDs = { "10.0.0.1", "10.0.0.2" } },
        Instance = { Plugin = "instance-file", Properties = {} },
        Flavor = { Plugin = "flavor-swarm/manager", Properties = P },
      },
    }
    local r = support.run(d.home, { "group", "commit", "--pretend", write(d.home .. "/g.json", spec) })
    assert.are_not.equal(0, r.status)
    assert.matches("must have odd number for quorum", r.stderr, 1, true)
  end)

  it("prepares the bootstrap manager when its engine does not exist yet", function()
    local r = flavor(d, "prepare", "flavor-swarm/manager", {
      Properties = { Docker = P.Docker, SwarmJoinIP = "10.0.0.1" },
      Allocation = { LogicalIDs = { "10.0.0.1" } },
      Spec = { Properties = json.null, Tags = { ["infrakit.group"] = "managers" }, Init = "", LogicalID = "10.0.0.1" },
      Index = { Group = "managers", Sequence = 0 },
    })
    assert.are.equal(0, r.status, r.stderr)
    local spec = json.decode(r.stdout)
    assert.matches("docker swarm init --advertise-addr 10.0.0.1\n", spec.Init, 1, true)
    assert.are.equal("?", spec.Tags["infrakit.cluster.id"])
    assert.are.equal("swarm::?::manager", spec.Tags.infrakit_link_context)
  end)

  it("fails a worker whose engine cannot be reached, naming the host", function()
    local r = flavor(d, "prepare", "flavor-swarm/worker", {
      Properties = P, Allocation = { Size = 1 }, Spec = { LogicalID = json.null }, Index = { Group = "w", Sequence = 1 },
    })
    assert.are.equal(1, r.status)
    assert.matches("Docker.Host unix:///nonexistent/docker.sock", r.stderr, 1, true)
  end)
end)

describe("flavor-swarm against a real engine", function()
  local d, engines = nil, {}
  local LINK = "swarmspeclink001"
  -- Loopback addresses of this run's own (127.0.0.x is the swarm
  -- playbook's), so that a run beside another swarm does not collide.
  local NET = ("127.77.%d."):format(math.random(1, 250))
  local MANAGER, WORKER = NET .. "1", NET .. "2"

  local function start_engine(opts)
    local e = docker.start_engine(opts)
    engines[#engines + 1] = e
    return e
  end

  after_each(function()
    for i = #engines, 1, -1 do engines[i].cleanup() end
    engines = {}
    if d then
      d.stop()
      d.cleanup()
      d = nil
    end
  end)

  -- One engine, labelled with LINK, that is the only manager of a new swarm.
  local function swarm_of_one()
    local e = start_engine({ extra = { "--label", "infrakit_link=" .. LINK } })
    local r = docker.cli(e, ("swarm init --advertise-addr %s --listen-addr %s:2377"):format(MANAGER, MANAGER))
    assert(r.status == 0, r.stdout)
    d = support.start_daemon()
    return e
  end

  local function cli_out(e, args)
    local r = docker.cli(e, args)
    assert(r.status == 0, r.stdout)
    return (r.stdout:gsub("%s+$", ""))
  end

  it("prepares managers and workers with the swarm's real tokens and ID", function()
    local ok, why = docker.available()
    if not ok then return pending(why) end
    local e = swarm_of_one()
    local cluster = cli_out(e, "info --format '{{.Swarm.Cluster.ID}}'")
    local props = { Docker = { Host = e.host }, SwarmJoinIP = MANAGER, EngineLabels = { tier = "test" } }

    local r = flavor(d, "prepare", "flavor-swarm/worker", {
      Properties = props, Allocation = { Size = 2 }, Spec = { LogicalID = json.null, Tags = json.null },
      Index = { Group = "workers", Sequence = 2 },
    })
    assert.are.equal(0, r.status, r.stderr)
    local spec = json.decode(r.stdout)
    assert.matches("\ndocker swarm join --token " .. cli_out(e, "swarm join-token -q worker") .. " " .. MANAGER .. ":2377\n",
      spec.Init, 1, true)
    assert.matches('"tier=test",\n  "infrakit_link=' .. spec.Tags.infrakit_link .. '"', spec.Init, 1, true)
    assert.are.equal(cluster, spec.Tags["infrakit.cluster.id"])
    assert.are.equal("swarm::" .. cluster .. "::worker", spec.Tags.infrakit_link_context)

    -- The manager at SwarmJoinIP joins too: the swarm is initialised.
    r = flavor(d, "prepare", "flavor-swarm/manager", {
      Properties = props, Allocation = { LogicalIDs = { MANAGER } }, Spec = { LogicalID = MANAGER },
      Index = { Group = "managers", Sequence = 0 },
    })
    assert.are.equal(0, r.status, r.stderr)
    spec = json.decode(r.stdout)
    assert.matches("docker swarm join --token " .. cli_out(e, "swarm join-token -q manager") .. " " .. MANAGER .. ":2377\n",
      spec.Init, 1, true)
    assert.is_nil(spec.Init:find("swarm init", 1, true))
  end)

  it("finds the engine's node by its infrakit_link label for Healthy", function()
    local ok, why = docker.available()
    if not ok then return pending(why) end
    local e = swarm_of_one()
    local props = { Docker = { Host = e.host } }
    local function health(link)
      local r = flavor(d, "healthy", "flavor-swarm/manager",
        { Properties = props, Instance = { ID = "m1", Tags = { infrakit_link = link } } })
      assert.are.equal(0, r.status, r.stderr)
      return (r.stdout:gsub("%s+$", ""))
    end
    assert.are.equal("healthy", health(LINK))
    assert.are.equal("unknown", health("nosuchlink000000"))
    local r = flavor(d, "healthy", "flavor-swarm/worker", { Properties = props, Instance = { ID = "m1", Tags = {} } })
    assert.are.equal("unhealthy", (r.stdout:gsub("%s+$", "")))
  end)

  it("drains a worker: its node leaves the swarm", function()
    local ok, why = docker.available()
    if not ok then return pending(why) end
    local e = swarm_of_one()
    -- A second engine, joined as a worker with a link label of its own.
    local w = start_engine({ extra = { "--label", "infrakit_link=workerlink000001" } })
    local token = cli_out(e, "swarm join-token -q worker")
    local jr = docker.cli(w, ("swarm join --advertise-addr %s --listen-addr %s:2377 --token %s %s:2377")
      :format(WORKER, WORKER, token, MANAGER))
    assert(jr.status == 0, jr.stdout)
    local props = { Docker = { Host = e.host } }
    local instance = { ID = "w1", Tags = { infrakit_link = "workerlink000001" } }
    local nodes = cli_out(e, "node ls -q")
    assert.are.equal(2, select(2, nodes:gsub("%S+", "")))

    -- The engine refuses to remove a manager: the error comes back.
    local r = flavor(d, "drain", "flavor-swarm/worker",
      { Properties = props, Instance = { ID = "m1", Tags = { infrakit_link = LINK } } })
    assert.are.equal(1, r.status)
    assert.matches("Docker.Host " .. e.host .. ": DELETE /v1.41/nodes/", r.stderr, 1, true)

    r = flavor(d, "drain", "flavor-swarm/worker", { Properties = props, Instance = instance })
    assert.are.equal(0, r.status, r.stderr)
    assert.are.equal(cli_out(e, "info --format '{{.Swarm.NodeID}}'"), cli_out(e, "node ls -q"))
    -- Gone: draining again finds no node and does nothing.
    r = flavor(d, "drain", "flavor-swarm/worker", { Properties = props, Instance = instance })
    assert.are.equal(0, r.status, r.stderr)
    assert.are.equal("unknown", (flavor(d, "healthy", "flavor-swarm/worker",
      { Properties = props, Instance = instance }).stdout:gsub("%s+$", "")))
  end)
end)
