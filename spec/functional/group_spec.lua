-- The group controller end to end: a real daemon, real processes
-- (instance-process), the CLI. The daemon's poll is 60 s, so healing here
-- comes from events, never from the resync.
local infrakit = require "infrakit"
local json = infrakit.json
local support = dofile("spec/functional/support.lua")
local run, sh = support.run, support.sh
local start, wait_status = support.start_group_daemon, support.wait_group

local function spec(id, size, note, extra)
  local s = {
    ID = id,
    Properties = {
      Allocation = { Size = size },
      Instance = { Plugin = "instance-process", Properties = { Cmd = { "sleep", "300" }, Env = { NOTE = note } } },
      Flavor = { Plugin = "flavor-vanilla", Properties = {} },
    },
  }
  for k, v in pairs(extra or {}) do s.Properties[k] = v end
  return json.encode(s)
end

-- Poll `infrakit group describe --json ID` until pred(status) or ~10 s.
local function steady_at(n)
  return function(st)
    return st.Phase == "steady" and #st.InFlight == 0 and st.Summary.Current == n and st.GoodHash == st.ConfigHash
        and #st.Instances == n
  end
end

local function pids(home, group)
  local r = run(home, { "instance", "describe", "--json", "--properties", "-p", "instance-process",
    "--tag", "infrakit.group=" .. group })
  assert.are.equal(0, r.status, r.stderr)
  local out = {}
  for _, d in ipairs(json.decode(r.stdout)) do out[d.ID] = d.Properties.Pid end
  return out
end

local function count(t)
  local n = 0
  for _ in pairs(t) do n = n + 1 end
  return n
end

describe("infrakit group", function()
  local d, home
  before_each(function()
    d = start()
    home = d.home
  end)
  after_each(function()
    run(home, { "group", "destroy", "web" })
    d.stop()
    d.cleanup()
  end)

  it("commits a group of processes and heals one killed with SIGKILL at once", function()
    local r = run(home, { "group", "commit", "-" }, { stdin = spec("web", 3, "v1") })
    assert.are.equal(0, r.status, r.stderr)
    assert.matches("^committed web: Managing 3 instances", r.stdout)
    wait_status(home, "web", steady_at(3))
    local before = pids(home, "web")
    assert.are.equal(3, count(before))
    local victim, pid = next(before)
    sh("kill -KILL " .. pid)
    local st = wait_status(home, "web", function(s)
      if not steady_at(3)(s) then return false end
      for _, i in ipairs(s.Instances) do if i.ID == victim then return false end end
      return true
    end)
    assert.are.equal(3, #st.Instances)
    local events = io.open(home .. "/events.jsonl"):read("*a")
    assert.is_truthy(events:find('"event":"instance-lost","instance":"' .. victim .. '"', 1, true))
  end)

  -- Another client destroys a member through the plugin's own socket: the
  -- controller hears it at once (the poll is 60 s; the wait is 10 s) and
  -- replaces it, once - and its own destroys are not counted as losses.
  for _, plugin in ipairs({ "instance-file", "instance-process" }) do
    it("replaces at once a member destroyed through " .. plugin .. "'s API by another client", function()
      local s = json.decode(spec("web", 2, "v1"))
      if plugin == "instance-file" then s.Properties.Instance = { Plugin = "instance-file", Properties = { Note = "v1" } } end
      assert.are.equal(0, run(home, { "group", "commit", "-" }, { stdin = json.encode(s) }).status)
      local st = wait_status(home, "web", steady_at(2))
      local victim = st.Instances[1].ID
      local r = run(home, { "instance", "destroy", "-p", plugin, victim })
      assert.are.equal(0, r.status, r.stderr)
      wait_status(home, "web", function(x)
        if not steady_at(2)(x) then return false end
        for _, i in ipairs(x.Instances) do if i.ID == victim then return false end end
        return true
      end)
      local events = io.open(home .. "/events.jsonl"):read("*a")
      local _, lost = events:gsub('"event":"instance%-lost"', "")
      assert.are.equal(1, lost)
      assert.is_truthy(events:find('"event":"instance-lost","instance":"' .. victim .. '"', 1, true))
      -- Scaling in destroys through the same API: not a loss.
      assert.are.equal(0, run(home, { "group", "scale", "web", "1" }).status)
      wait_status(home, "web", steady_at(1))
      events = io.open(home .. "/events.jsonl"):read("*a")
      _, lost = events:gsub('"event":"instance%-lost"', "")
      assert.are.equal(1, lost)
    end)
  end

  it("resumes after the daemon is killed: same instances, none provisioned twice", function()
    assert.are.equal(0, run(home, { "group", "commit", "-" }, { stdin = spec("web", 3, "v1") }).status)
    wait_status(home, "web", steady_at(3))
    local before = pids(home, "web")
    local pid = io.open(home .. "/plugins/group.pid"):read("*a")
    sh("kill -KILL " .. pid)
    d.task:wait()
    d = start(home)
    local st = wait_status(home, "web", steady_at(3))
    local after = pids(home, "web")
    for id, p in pairs(before) do assert.are.equal(p, after[id]) end
    assert.are.equal(3, #st.Instances)
    local events = io.open(home .. "/events.jsonl"):read("*a")
    local _, provisioned = events:gsub('"event":"provisioned"', "")
    assert.are.equal(3, provisioned)
  end)

  it("keeps its store to itself: a second daemon on it refuses to start, a crash frees it", function()
    assert.are.equal(0, run(home, { "group", "commit", "-" }, { stdin = spec("web", 2, "v1") }).status)
    wait_status(home, "web", steady_at(2))
    local pid = io.open(home .. "/plugins/group.pid"):read("*a"):gsub("%s+$", "")
    -- Same INFRAKIT_HOME, its own plugins dir: nothing else stops it.
    local env = support.env(home, { INFRAKIT_PLUGINS_DIR = home .. "/plugins2" })
    local r, msg = infrakit.exec({ support.bin, "daemon", "--poll", "60s" }, { env = env, timeout = 20 })
    assert.is_truthy(r, msg)
    assert.are.equal(1, r.status)
    assert.are.equal("infrakit daemon: store " .. home .. "/configs is in use by infrakit daemon pid " .. pid
      .. " (lock " .. home .. "/configs/daemon.lock): one daemon per store; stop it, or give this one"
      .. " another INFRAKIT_HOME\n", r.stderr)
    assert.is_false(support.exists(home .. "/plugins2/group"))
    assert.are.equal(pid, (io.open(home .. "/configs/daemon.lock"):read("*a"):gsub("%s+$", "")))
    -- The first one still owns the group, alone.
    wait_status(home, "web", steady_at(2))
    -- kill -9 leaves the lock file; the kernel released the lock with the
    -- process, so a restart takes the store over.
    sh("kill -KILL " .. pid)
    d.task:wait()
    d = start(home)
    wait_status(home, "web", steady_at(2))
    local now = io.open(home .. "/plugins/group.pid"):read("*a"):gsub("%s+$", "")
    assert.are.equal(now, (io.open(home .. "/configs/daemon.lock"):read("*a"):gsub("%s+$", "")))
  end)

  it("rolls out a new config, replaces every instance, and scales without replacing", function()
    assert.are.equal(0, run(home, { "group", "commit", "-" }, { stdin = spec("web", 2, "v1") }).status)
    local first = wait_status(home, "web", steady_at(2))
    local r = run(home, { "group", "commit", "--pretend", "-" }, { stdin = spec("web", 2, "v2") })
    assert.are.equal(0, r.status, r.stderr)
    assert.matches("^would commit web: rolling 0/2", r.stdout)
    assert.are.equal(0, run(home, { "group", "commit", "-" }, { stdin = spec("web", 2, "v2") }).status)
    local st = wait_status(home, "web", steady_at(2))
    assert.are_not.equal(first.ConfigHash, st.ConfigHash)
    for _, i in ipairs(st.Instances) do
      for _, old in ipairs(first.Instances) do assert.are_not.equal(old.ID, i.ID) end
    end
    local before = pids(home, "web")
    r = run(home, { "group", "scale", "web", "4" })
    assert.are.equal(0, r.status, r.stderr)
    assert.are.equal("group web: size set to 4\n", r.stdout)
    wait_status(home, "web", steady_at(4))
    local after = pids(home, "web")
    for id in pairs(before) do assert.is_not_nil(after[id]) end
    r = run(home, { "group", "ls" })
    assert.matches("web%s+steady%s+4%s+4%s+4", r.stdout)
  end)

  it("refuses a bad spec naming the field, and changes nothing", function()
    local bad = spec("web", 2, "v1"):gsub('"Size":2', '"Size":-2')
    local r = run(home, { "group", "commit", "-" }, { stdin = bad })
    assert.are.equal(1, r.status)
    assert.matches("Allocation%.Size", r.stderr)
    r = run(home, { "group", "commit", "-" }, { stdin = "{not json" })
    assert.are.equal(1, r.status)
    assert.matches("stdin:1:%d+: invalid JSON", r.stderr)
    r = run(home, { "group", "describe", "web" })
    assert.are.equal(1, r.status)
    assert.matches("Group 'web' is not being watched", r.stderr)
    assert.is_false(support.exists(home .. "/configs/groups/web"))
  end)

  it("destroys a group with its instances, and frees one leaving them", function()
    assert.are.equal(0, run(home, { "group", "commit", "-" }, { stdin = spec("web", 2, "v1") }).status)
    wait_status(home, "web", steady_at(2))
    local r = run(home, { "group", "free", "web" })
    assert.are.equal(0, r.status, r.stderr)
    assert.are.equal(2, count(pids(home, "web")))
    -- A freed group is unknown: destroy says how to get rid of its instances.
    r = run(home, { "group", "destroy", "web" })
    assert.are.equal(1, r.status)
    assert.matches("Group 'web' is not being watched", r.stderr, 1, true)
    assert.matches("commit its spec again", r.stderr, 1, true)
    assert.are.equal(2, count(pids(home, "web")))
    -- Committed again, it adopts them.
    assert.are.equal(0, run(home, { "group", "commit", "-" }, { stdin = spec("web", 2, "v1") }).status)
    wait_status(home, "web", steady_at(2))
    r = run(home, { "group", "destroy", "web" })
    assert.are.equal(0, r.status, r.stderr)
    assert.are.equal("group web: destroyed, with its instances\n", r.stdout)
    assert.are.equal(0, count(pids(home, "web")))
  end)

  it("watches a group until steady, and lists and describes it for people and scripts", function()
    assert.are.equal(0, run(home, { "group", "commit", "-" }, { stdin = spec("web", 2, "v1") }).status)
    local r = run(home, { "group", "watch", "--until-steady", "--interval", "50", "web" })
    assert.are.equal(0, r.status, r.stderr)
    assert.matches("%d%d:%d%d:%d%d group web: steady 2/2 updated, 2 available, 2 current\n$", r.stdout)
    r = run(home, { "group", "ls", "--json" })
    assert.are.equal(0, r.status, r.stderr)
    local rows = json.decode(r.stdout)
    assert.are.equal("web", rows[1].ID)
    assert.are.equal(2, rows[1].Available)
    r = run(home, { "group", "describe", "web" })
    assert.are.equal(0, r.status, r.stderr)
    assert.matches("^group web: steady %(2 desired, 2 current, 2 at the target config, 2 available, 0 unhealthy%)", r.stdout)
    assert.matches("healthy%s+current", r.stdout)
    r = run(home, { "group", "watch", "nope" })
    assert.are.equal(1, r.status)
    assert.matches("Group 'nope' is not being watched", r.stderr)
    r = run(home, { "group", "scale", "web", "-1" })
    assert.are.equal(2, r.status)
    assert.matches("want a whole number", r.stderr)
  end)

  -- A process that exits at once is a crash loop: describe says how it
  -- ended, how often in a row, and when the next try is; watch shows it.
  it("shows a crash loop: the exit status, how often, the next retry", function()
    local crashing = json.encode({ ID = "web", Properties = {
      Allocation = { Size = 1 },
      Instance = { Plugin = "instance-process", Properties = { Cmd = "sleep 0.2; exit 3" } },
      Flavor = { Plugin = "flavor-vanilla", Properties = {} },
    } })
    assert.are.equal(0, run(home, { "group", "commit", "-" }, { stdin = crashing }).status)
    local st = wait_status(home, "web", function(s)
      return s.CrashLoop ~= nil and s.CrashLoop ~= json.null and s.CrashLoop.Count >= 2
    end)
    assert.matches("^process%-%d+$", st.CrashLoop.Instance)
    assert.are.equal("exited with status 3", st.CrashLoop.Exit)
    assert.is_number(st.CrashLoop.RetryInMs)
    assert.matches("crash loop", st.Summary.Reason)
    assert.matches("exited with status 3", st.Summary.Reason)
    local crash = st.Failures[#st.Failures]
    assert.are.equal("crash-loop", crash.Action)
    assert.matches("exited with status 3", crash.Error)
    local r = run(home, { "group", "describe", "web" })
    assert.are.equal(0, r.status, r.stderr)
    assert.matches("reason: crash loop: ", r.stdout)
    local line = r.stdout:match("\n  crash loop: ([^\n]*)\n")
    assert.matches("^process%-%d+ exited with status 3 [%d.]+ s after it started, %d+ times in a row; ", line)
    assert.is_truthy(line:match("next try in [%d.]+ s$") or line:match("trying again now$"), line)
    -- watch prints the same reason (it runs until stopped: give it a moment)
    local _, _, _, w = infrakit.exec({ support.bin, "group", "watch", "--interval", "50", "web" },
      { env = support.env(home), timeout = 1.5 })
    assert.matches("group web: scaling [^\n]*: crash loop: [^\n]*exited with status 3", w.stdout)
    -- ... and a crash loop is never "steady", even while its latest instance lives
    local _, _, code = infrakit.exec({ support.bin, "group", "watch", "--until-steady", "--interval", "50", "web" },
      { env = support.env(home), timeout = 1.5 })
    assert.are.equal("ETIMEDOUT", code)
    local events = io.open(home .. "/events.jsonl"):read("*a")
    assert.is_truthy(events:find('"exit":"exited with status 3"', 1, true))
  end)

  it("answers InfraKit's Group and Manager calls on its socket", function()
    assert.are.equal(0, run(home, { "group", "commit", "-" }, { stdin = spec("web", 1, "v1") }).status)
    wait_status(home, "web", steady_at(1))
    local sock = home .. "/plugins/group"
    local leader = assert(infrakit.rpc.call(sock, "Manager.IsLeader", {}))
    assert.is_true(leader.Leader)
    local desc = assert(infrakit.rpc.call(sock, "Group.DescribeGroup", { Name = "group", ID = "web" }))
    assert.are.equal(1, #desc.Description.Instances)
    assert.is_true(desc.Description.Converged)
    local size = assert(infrakit.rpc.call(sock, "Group.Size", { Name = "group", ID = "web" }))
    assert.are.equal(1, size.Size)
  end)
end)

-- A user's Lua flavor whose healthy() judges by the instance's Properties
-- and answers "unknown" the first time it is asked about an instance
-- (still booting). The poll is 60 s: the group converges, and rolls out,
-- only because unknown health is asked again soon and the controller
-- describes with properties for a Lua flavor's healthy().
local ready_flavor = [[
local asked = {}
return {
  validate = function() return true end,
  prepare = function(props, spec) return spec end,
  healthy = function(props, inst)
    if not asked[inst.ID] then
      asked[inst.ID] = true
      return "unknown"
    end
    local p = type(inst.Properties) == "table" and inst.Properties.Properties
    if type(p) ~= "table" then return "unknown" end -- no Properties: cannot tell
    return p.Env and p.Env.NOTE == props.want and "healthy" or "unhealthy"
  end,
}
]]

describe("a Lua flavor's health check", function()
  local d, home
  setup(function()
    home = support.mktemp()
    sh("mkdir -p " .. home .. "/flavors")
    local f = assert(io.open(home .. "/flavors/ready.lua", "w"))
    f:write(ready_flavor)
    f:close()
    d = start(home)
  end)
  teardown(function()
    run(home, { "group", "destroy", "web" })
    d.stop()
    d.cleanup()
  end)

  local function ready_spec(note)
    return json.encode({ ID = "web", Properties = {
      Allocation = { Size = 3 },
      Instance = { Plugin = "instance-process", Properties = { Cmd = { "sleep", "300" }, Env = { NOTE = note } } },
      Flavor = { Plugin = "ready", Properties = { want = note } },
    } })
  end

  it("sees the instance's Properties and is asked again soon after 'unknown'", function()
    local r = run(home, { "group", "commit", "-" }, { stdin = ready_spec("v1") })
    assert.are.equal(0, r.status, r.stderr)
    local first = wait_status(home, "web", steady_at(3), 20)
    assert.are.equal(0, run(home, { "group", "commit", "-" }, { stdin = ready_spec("v2") }).status)
    local st = wait_status(home, "web", steady_at(3), 20)
    assert.are_not.equal(first.ConfigHash, st.ConfigHash)
    for _, i in ipairs(st.Instances) do assert.are.equal("healthy", i.Health) end
  end)
end)
