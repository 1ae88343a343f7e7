-- Machine mode without dockerd: the machine templates rendered by the real
-- flavor-swarm against Engine API answers recorded from a real dockerd
-- (spec/fixtures/swarm), infrakit.swarm_machine's group specs and node
-- summaries, and the address claim of templates/swarm/machine.sh.tmpl
-- (mkdir lock, owner pid + start time, stale locks reclaimed).
local infrakit = require "infrakit"
local json = infrakit.json
local docker = require "infrakit.docker"
local swarm = require "infrakit.flavors.swarm"
local sm = require "infrakit.swarm_machine"

local LIB = "templates/swarm/machine.sh.tmpl"

local function sh(cmd)
  return assert(infrakit.exec({ "sh", "-c", cmd }, { timeout = 30 }))
end

local function tmpdir()
  return (sh("mktemp -d /tmp/ik-sm-spec-XXXXXX").stdout:gsub("%s+$", ""))
end

-- A recorded Engine API conversation: "METHOD /path" -> { status, body }.
local function fixture(name)
  return json.decode(assert(sh("cat spec/fixtures/swarm/" .. name .. ".json").stdout))
end

describe("machine templates rendered by flavor-swarm", function()
  local real_transport = docker.transport
  local INIT = fixture("initialized")
  local SWARM = INIT["GET /v1.41/swarm"].body
  local c, root

  -- Every engine answers as the recorded manager, or none answers.
  local function serve(answers)
    docker.transport = function(req)
      if not answers then return nil, "cannot connect: no such file or directory", "ENOENT" end
      local a = answers[req.method .. " " .. req.url:match("^https?://[^/]+(/.*)$")]
      if a == nil then return { status = 404, body = '{"message":"page not found"}' } end
      return { status = a.status, body = type(a.body) == "string" and a.body or json.encode(a.body) }
    end
  end

  before_each(function()
    root = tmpdir()
    c = assert(sm.new({ root = root, managers = 3 }))
  end)
  after_each(function()
    docker.transport = real_transport
    sh("rm -rf " .. root)
  end)

  local function prepare(role, spec, labels)
    local s = role == "manager" and c:managers_spec(labels) or c:workers_spec(2, labels)
    local p = s.Properties
    return swarm[role].prepare(p.Flavor.Properties, spec, p.Allocation, { Group = s.ID, Sequence = 0 })
  end

  it("makes the bootstrap manager init the swarm when no engine answers", function()
    serve(nil)
    local out = assert(prepare("manager", { LogicalID = "127.0.0.11", Tags = {} }, { rev = "1" }))
    assert.matches("\nMACHINE_ROLE=manager\nMACHINE_ADDR='127.0.0.11'\n\nMACHINE_INIT=true\nMACHINE_LABELS=", out.Init, 1,
      true)
    assert.is_falsy(out.Init:find("MACHINE_TOKEN='", 1, true))
    -- The labels: EngineLabels, then the link's, as a JSON list of k=v.
    local labels = json.decode(out.Init:match("<<'IK_SWARM_LABELS'\n(.-)\nIK_SWARM_LABELS"))
    assert.are.equal("rev=1", labels[1])
    assert.matches("^infrakit_link=", labels[2])
    assert.are.equal("infrakit_link=" .. out.Tags.infrakit_link, labels[2])
    -- The library is included, and the script ends by running it.
    assert.is_truthy(out.Init:find("\nmachine_main() {", 1, true))
    assert.matches("\nmachine_main\n$", out.Init)
  end)

  it("makes the other managers and the workers join with their role's token", function()
    serve(INIT)
    local m = assert(prepare("manager", { LogicalID = "127.0.0.12", Tags = {} }, { rev = "1" }))
    assert.matches("MACHINE_INIT=false\nMACHINE_JOIN_ADDR='" .. INIT["GET /v1.41/nodes/" ..
      INIT["GET /v1.41/info"].body.Swarm.NodeID].body.ManagerStatus.Addr .. "'\nMACHINE_TOKEN='" ..
      SWARM.JoinTokens.Manager .. "'\n", m.Init, 1, true)
    local w = assert(prepare("worker", { Tags = {} }, { rev = "1" }))
    assert.matches("MACHINE_ROLE=worker\nMACHINE_ADDR=\nMACHINE_INIT=false\n", w.Init, 1, true)
    assert.matches("MACHINE_TOKEN='" .. SWARM.JoinTokens.Worker .. "'\n", w.Init, 1, true)
    -- The token reaches the engine in a request body on stdin, never on a
    -- command line (ps shows those): no `docker swarm join --token`.
    local at = w.Init:find("--token", 1, true)
    assert.is_nil(at, at and w.Init:sub(at - 80, at + 40))
    assert.is_truthy(w.Init:find('"JoinToken":"%s"', 1, true))
  end)

  it("fails to prepare a joining node while there is no swarm, instead of starting one that would die", function()
    serve(fixture("uninitialized"))
    local out, err = prepare("worker", { Tags = {} }, {})
    assert.is_nil(out)
    assert.matches("SWARM_", err, 1, true)
    out, err = prepare("manager", { LogicalID = "127.0.0.13", Tags = {} }, {})
    assert.is_nil(out)
    assert.matches("SWARM_", err, 1, true)
  end)
end)

describe("infrakit.swarm_machine", function()
  it("builds the two groups: pets on their addresses, every manager's socket in Docker.Host", function()
    local root = tmpdir()
    local c = assert(sm.new({ root = root, managers = 3 }))
    local m = c:managers_spec({ rev = "2" }).Properties
    assert.are.same({ "127.0.0.11", "127.0.0.12", "127.0.0.13" }, m.Allocation.LogicalIDs)
    assert.are.same({ "unix://" .. root .. "/127.0.0.11/docker.sock", "unix://" .. root .. "/127.0.0.12/docker.sock",
      "unix://" .. root .. "/127.0.0.13/docker.sock" }, m.Flavor.Properties.Docker.Host)
    assert.are.equal("127.0.0.11", m.Flavor.Properties.SwarmJoinIP)
    assert.are.equal("flavor-swarm/manager", m.Flavor.Plugin)
    assert.are.equal("file://" .. root .. "/templates/machine-manager.sh.tmpl", m.Flavor.Properties.InitScriptTemplateURL)
    assert.are.same({ MaxSurge = 0, MaxUnavailable = 1, MaxParallel = 1 }, m.Updating)
    assert.are.same({ IK_SWARM_ROOT = root, IK_SWARM_WORKER_RANGE = "21-254", IK_SWARM_PREFIX = "127.0.0" },
      m.Instance.Properties.Env)
    -- Another prefix: another set of addresses.
    local other = assert(sm.new({ root = root, managers = 1, prefix = "127.0.2" }))
    assert.are.same({ "127.0.2.11" }, other:managers_spec().Properties.Allocation.LogicalIDs)
    local bad, err = sm.new({ root = root, prefix = "10.0.0" })
    assert.is_nil(bad)
    assert.are.equal("prefix: want the first three parts of a loopback address (127.X.Y), not 10.0.0", err)
    local w = c:workers_spec(4, { rev = "2" }).Properties
    assert.are.same({ Size = 4 }, w.Allocation)
    assert.are.equal("flavor-swarm/worker", w.Flavor.Plugin)
    -- The templates the daemon renders are written where it may read them.
    for _, name in ipairs(sm.templates) do
      assert.are.equal(0, sh("test -s " .. root .. "/templates/" .. name).status, name)
    end
    assert.are.same({ INFRAKIT_TEMPLATE_DIR = root .. "/templates" }, c:daemon_env())
    sh("rm -rf " .. root)
  end)

  it("refuses an even or out-of-range number of managers", function()
    for _, n in ipairs({ 0, 2, 4, 11 }) do
      local c, err = sm.new({ root = "/nonexistent", managers = n })
      assert.is_nil(c)
      assert.are.equal("managers: want an odd number from 1 to 9, not " .. n, err)
    end
  end)

  it("summarises and tabulates nodes", function()
    local rows = {
      { id = "a", addr = "127.0.0.11", role = "manager", state = "ready", leader = true, reachability = "reachable",
        labels = { rev = "1" } },
      { id = "b", addr = "127.0.0.12", role = "manager", state = "down", leader = false, reachability = "unreachable",
        labels = {} },
      { id = "c", addr = "127.0.0.21", role = "worker", state = "ready", leader = false, reachability = "",
        labels = { rev = "2" } },
    }
    assert.are.equal("1/2 managers reachable (leader 127.0.0.11), 1/1 workers ready", sm.summary(rows))
    assert.are.equal(2, sm.count(rows, "ready"))
    assert.are.equal(1, sm.count(rows, function(r) return r.labels.rev == "2" end))
    local t = sm.table(rows, { "rev" })
    assert.are.equal(4, #t)
    assert.matches("^127%.0%.0%.11 +a +manager +ready +leader +rev=1$", t[2])
    assert.matches("^127%.0%.0%.12 +b +manager +down +unreachable +rev=%-$", t[3])
  end)
end)

describe("machine.sh.tmpl address claim", function()
  local root
  before_each(function() root = tmpdir() end)
  after_each(function() sh("rm -rf " .. root) end)

  -- Runs shell code with the library sourced; returns the exec result.
  local function lib(code, env)
    local prefix = ""
    for k, v in pairs(env or {}) do prefix = prefix .. k .. "='" .. v .. "' " end
    return sh(prefix .. "sh -c '. " .. LIB .. " && " .. code:gsub("'", "'\\''") .. "'")
  end
  local function own(addr, owner)
    sh("mkdir -p " .. root .. "/" .. addr .. " && echo '" .. owner .. "' > " .. root .. "/" .. addr .. "/owner")
  end
  local function live_owner() -- pid 1 and its real start time: alive
    return "1 " .. lib("machine_starttime 1").stdout:gsub("%s+$", "")
  end

  it("claims a free address with mkdir and records the owner's pid and start time", function()
    local r = lib("machine_claim 127.0.0.11 " .. root .. " && cat " .. root .. "/127.0.0.11/owner && echo $$ $(machine_starttime $$)")
    assert.are.equal(0, r.status)
    local owner, me = r.stdout:match("^([^\n]+)\n([^\n]+)\n$")
    assert.are.equal(me, owner)
  end)

  it("does not take an address whose owner is alive", function()
    own("127.0.0.11", live_owner())
    assert.are_not.equal(0, lib("machine_claim 127.0.0.11 " .. root).status)
    assert.are.equal(live_owner(), sh("cat " .. root .. "/127.0.0.11/owner").stdout:gsub("%s+$", ""))
  end)

  it("reclaims a stale address: the owner is gone, or its pid was reused (another start time)", function()
    local dead = sh("sh -c 'echo $$'").stdout:gsub("%s+$", "")
    for _, owner in ipairs({ dead .. " 12345", "1 999999999999" }) do
      own("127.0.0.11", owner)
      sh("touch " .. root .. "/127.0.0.11/leftover")
      local r = lib("machine_claim 127.0.0.11 " .. root .. " && cat " .. root .. "/127.0.0.11/owner && echo $$")
      assert.are.equal(0, r.status, r.stdout)
      assert.matches("reaping stale", r.stdout, 1, true)
      assert.are.equal(1, sh("test -e " .. root .. "/127.0.0.11/leftover").status) -- reaped
      assert.are.equal(1, sh("test -e " .. root .. "/127.0.0.11.reclaim").status)  -- second lock released
      sh("rm -rf " .. root .. "/127.0.0.11")
    end
  end)

  it("gives a worker the first free address of IK_SWARM_WORKER_RANGE, and none when all are held", function()
    own("127.0.0.21", live_owner())
    local r = lib("machine_claim_worker " .. root .. " && echo $MACHINE_ADDR", { IK_SWARM_WORKER_RANGE = "21-23" })
    assert.are.equal("127.0.0.22\n", r.stdout)
    r = lib("machine_claim_worker " .. root .. " && echo $MACHINE_ADDR",
      { IK_SWARM_WORKER_RANGE = "21-23", IK_SWARM_PREFIX = "127.0.5" })
    assert.are.equal("127.0.5.21\n", r.stdout)
    -- (that claimer has exited: 22 is stale now, so it would be reclaimed)
    own("127.0.0.22", live_owner())
    own("127.0.0.23", live_owner())
    r = lib("machine_claim_worker " .. root, { IK_SWARM_WORKER_RANGE = "21-23" })
    assert.are.equal(1, r.status)
  end)
end)
