-- A real Docker swarm on this machine (slow, bounded: well under 3 min):
-- flavor-swarm's machine mode (templates/swarm/machine-*.sh.tmpl) on
-- instance-process, through two groups of a real daemon.
--  1. 1 manager + 2 workers form a swarm; a SIGKILLed worker dockerd is
--     healed (its node removed, a new one Ready); an EngineLabels change
--     rolls through the workers, each new node Ready before an old one goes.
--  2. `infrakit play swarm --managers 1 --workers 1` runs end to end.
-- Both tear down and check that no dockerd, containerd, shim, container,
-- mount or address lock is left. Pending (with the reason) where dockerd
-- cannot run.
local infrakit = require "infrakit"
local support = dofile("spec/functional/support.lua")
local sm = require "infrakit.swarm_machine"
local docker = dofile("spec/functional/docker_support.lua")

local function available()
  local ok, why = docker.available()
  if not ok then pending(why) end
  return ok
end

local function ids(rows, pred)
  local out = {}
  for _, r in ipairs(rows) do
    if pred(r) then out[#out + 1] = r.id end
  end
  table.sort(out)
  return out
end

local function workers(r) return r.role == "worker" end

describe("swarm machine mode #slow", function()
  local c, d

  after_each(function()
    if not c then return end
    -- The node scripts clean up after themselves: nothing is left for
    -- cleanup() to reap, and nothing after it.
    local left, errors = c:teardown(d and d.home)
    if d then d.stop(); d.cleanup() end
    local after = c:leftovers()
    c, d = nil, nil
    assert.are.same({}, errors)
    assert.are.same({}, left)
    assert.are.same({}, after)
  end)

  it("forms 1 manager + 2 workers through two groups, heals a SIGKILLed worker and rolls engine labels", function()
    if not available() then return end
    -- Addresses of its own (127.0.2.x): a swarm played on this machine meanwhile keeps 127.0.0.x.
    c = assert(sm.new({ managers = 1, prefix = "127.0.2" }))
    d = support.start_daemon(nil, { "--template-dir", c.templates, "--poll", "1s" })
    infrakit.group.use(d.home .. "/plugins/group")

    -- The manager first (its own engine creates the swarm), then the workers.
    assert(infrakit.group.commit(c:managers_spec({ rev = "1" })))
    assert(c:wait_nodes(function(r) return sm.count(r, "ready") == 1 end, 60))
    assert(infrakit.group.commit(c:workers_spec(2, { rev = "1" })))
    local rows = assert(c:wait_nodes(function(r) return #r == 3 and sm.count(r, "ready") == 3 end, 60))
    assert(infrakit.group.wait(sm.managers_group, { timeout = 30 }))
    assert(infrakit.group.wait(sm.workers_group, { timeout = 30 }))
    -- One manager (the leader, on its logical ID's address), two workers on
    -- claimed addresses, every engine labelled by the flavor.
    assert.are.equal("127.0.2.11", rows[1].addr)
    assert.is_true(rows[1].leader)
    local addrs = { rows[2].addr, rows[3].addr }
    table.sort(addrs)
    assert.are.same({ "127.0.2.21", "127.0.2.22" }, addrs)
    for _, r in ipairs(rows) do
      assert.are.equal("1", r.labels.rev)
      assert.is_truthy(r.labels.infrakit_link)
    end
    -- Each worker instance's link tag names one of the nodes.
    local links = {}
    for _, r in ipairs(rows) do links[r.labels.infrakit_link] = true end
    for _, inst in ipairs(assert(infrakit.group.instances(sm.workers_group))) do
      assert.is_true(links[inst.Tags.infrakit_link] or false, "no node for instance " .. inst.ID)
    end

    -- Heal: the victim's node is removed (by its exiting script), a new one joins.
    local victim = rows[3]
    assert.are.equal(0, infrakit.exec({ "kill", "-KILL", tostring(assert(c:dockerd_pid(victim.addr))) }).status)
    rows = assert(c:wait_nodes(function(r)
      return #r == 3 and sm.count(r, "ready") == 3 and #ids(r, function(x) return x.id == victim.id end) == 0
    end, 60))
    assert.are.equal(2, #ids(rows, workers))
    assert(infrakit.group.wait(sm.workers_group, { timeout = 30 }))

    -- Roll rev=2 through the workers: every old worker node is gone, every
    -- worker is new, Ready, labelled rev=2; the manager is untouched.
    local old = ids(rows, workers)
    local manager = rows[1].id
    assert(infrakit.group.commit(c:workers_spec(2, { rev = "2" })))
    rows = assert(c:wait_nodes(function(r)
      return #r == 3 and sm.count(r, function(x) return workers(x) and x.labels.rev == "2" and x.state == "ready" end) == 2
    end, 90))
    assert(infrakit.group.wait(sm.workers_group, { timeout = 30 }))
    for _, id in ipairs(old) do
      assert.are.same({}, ids(rows, function(x) return x.id == id end))
    end
    assert.are.equal(manager, rows[1].id)
    assert.are.equal("1", rows[1].labels.rev)
  end)

  it("infrakit play swarm --managers 1 --workers 1 runs end to end and leaves nothing", function()
    if not available() then return end
    local home = support.mktemp()
    local r = assert(infrakit.exec({ support.bin, "play", "swarm", "--managers", "1", "--workers", "1", "--home", home,
      "--timeout", "60", "--prefix", "127.0.2" }, { env = support.env(home), timeout = 170 }))
    support.sh("rm -rf " .. home)
    local out = r.stdout .. r.stderr
    assert.are.equal(0, r.status, out)
    for _, want in ipairs({ "all 2 nodes Ready", "1/1 tasks running", "healed in", "workers rolled",
      "skipping the managers' roll", "torn down", "done" }) do
      assert.is_truthy(out:find(want, 1, true), "no \"" .. want .. "\" in:\n" .. out)
    end
    assert.is_falsy(out:find("reaped what the nodes left", 1, true), out)
    local root = out:match("nodes under (/tmp/ik%-swarm%-%w+)")
    assert.is_truthy(root, out)
    assert.are.equal("", support.sh("pgrep -af " .. root .. "/ | grep -v -e pgrep -e ' sh -c ' || true").stdout)
    assert.are.equal("", support.sh("grep -F " .. root .. " /proc/self/mountinfo || true").stdout)
    assert.is_false(support.exists(root))
  end)
end)

describe("infrakit play swarm refusals", function()
  it("refuses, on one line and with exit 2, what cannot work, before anything is made", function()
    local home = support.mktemp()
    local before = support.sh("ls -d /tmp/ik-swarm-* 2>/dev/null | sort").stdout
    local ok = sm.available()
    for _, case in ipairs({
      { { "--managers", "2" }, "--managers: want an odd number from 1 to 9, not 2" },
      { { "--workers", "0" }, "--workers: want at least 1" },
      { { "--prefix", "10.1.1" }, "--prefix: want the first three parts of a loopback address (127.X.Y), not 10.1.1" },
    }) do
      local argv = { support.bin, "play", "swarm", "--home", home }
      for _, a in ipairs(case[1]) do argv[#argv + 1] = a end
      local r = assert(infrakit.exec(argv, { env = support.env(home), timeout = 60 }))
      assert.are.equal(2, r.status, r.stderr)
      -- Where no engine can run, that is said first.
      local want = ok and case[2] or "cannot run a swarm here: "
      assert.are.equal(1, select(2, r.stderr:gsub("\n", "")), r.stderr)
      assert.matches("infrakit play swarm: " .. want, r.stderr, 1, true)
    end
    assert.are.equal(before, support.sh("ls -d /tmp/ik-swarm-* 2>/dev/null | sort").stdout)
    assert.are.equal("", support.sh("ls -A " .. home).stdout)
    support.sh("rm -rf " .. home)
  end)
end)
