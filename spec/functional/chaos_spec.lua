-- Chaos (slow: each case runs a few seconds, bounded).
--  1. The daemon is SIGKILLed at random moments, 10 times, during a rolling
--     update of 200 instances, and started again each time. In the end
--     exactly the desired instances exist, all at the new config, with no
--     duplicates and no orphans.
--  2. The same for pets: one instance per logical ID, never two.
--  3. A Lua instance provider that fails 30% of provisions and destroys
--     (every provision in its first 2 s):
--     the group still converges, and every failure is in `group describe`
--     and in the event log.
local infrakit = require "infrakit"
local json = infrakit.json
local support = dofile("spec/functional/support.lua")
local run, sh = support.run, support.sh
local start, status = support.start_group_daemon, support.group_status

local function wait_steady(home, id, n, target, seconds)
  local st
  for _ = 1, seconds * 50 do
    st = status(home, id)
    if st and st.Phase == "steady" and #st.InFlight == 0 and st.Summary.Available == n
        and (target == nil or st.GoodHash == target) then
      return st
    end
    infrakit.sleep(0.02)
  end
  error(id .. " did not converge; last status: " .. json.encode(st or {}))
end

-- Every instance file: {ID = tags}.
local function instances(home)
  local out = {}
  local ls = sh("ls " .. home .. "/instance-file").stdout
  for id in ls:gmatch("[^\n]+") do
    local f = io.open(home .. "/instance-file/" .. id)
    if f then
      out[id] = json.decode(f:read("*a")).Tags
      f:close()
    end
  end
  return out
end

local function count_events(home, name)
  local text = io.open(home .. "/events.jsonl"):read("*a")
  local _, n = text:gsub('"event":"' .. name .. '"', "")
  return n
end

-- Kill the daemon `times` times at random moments while the rollout runs;
-- returns the live daemon and how many kills landed mid-rollout.
local function kill_repeatedly(d, id, target, times)
  local home, mid = d.home, 0
  for _ = 1, times do
    infrakit.sleep(0.02 + math.random() * 0.1)
    local st = status(home, id)
    if st and st.GoodHash ~= target then mid = mid + 1 end
    local pid = io.open(home .. "/plugins/group.pid"):read("*a")
    sh("kill -KILL " .. pid)
    d.task:wait()
    d = start(home)
  end
  return d, mid
end

describe("chaos #slow", function()
  math.randomseed(os.time())

  it("a 200-instance rollout survives 10 SIGKILLs of the daemon", function()
    local d = start()
    local home = d.home
    local function spec(note)
      return json.encode({ ID = "big", Properties = {
        Allocation = { Size = 200 },
        Instance = { Plugin = "instance-file", Properties = { Note = note } },
        Flavor = { Plugin = "flavor-vanilla", Properties = { Init = { "echo " .. note } } },
        Updating = { MaxSurge = "25%", MinHealthySeconds = 0.15 },
      } })
    end
    assert.are.equal(0, run(home, { "group", "commit", "-" }, { stdin = spec("v1") }).status)
    wait_steady(home, "big", 200, nil, 30)
    assert.are.equal(0, run(home, { "group", "commit", "-" }, { stdin = spec("v2") }).status)
    local target = status(home, "big").ConfigHash
    local mid
    d, mid = kill_repeatedly(d, "big", target, 10)
    assert.is_true(mid >= 1, "no kill landed during the rollout")
    wait_steady(home, "big", 200, target, 60)
    local n = 0
    for id, tags in pairs(instances(home)) do
      n = n + 1
      assert.are.equal("big", tags["infrakit.group"], id .. " is an orphan")
      assert.are.equal(target, tags["infrakit.config.hash"], id .. " has the old config")
    end
    assert.are.equal(200, n)
    -- 200 to create the group, 200 to replace them; a lost record would show as more.
    assert.is_true(count_events(home, "provisioned") <= 400)
    d.stop()
    d.cleanup()
  end)

  it("pets keep one instance per logical ID through SIGKILLs", function()
    local d = start()
    local home = d.home
    local ids = { "db-1", "db-2", "db-3", "db-4", "db-5" }
    local function spec(note)
      return json.encode({ ID = "db", Properties = {
        Allocation = { LogicalIDs = ids },
        Instance = { Plugin = "instance-file", Properties = { Note = note } },
        Flavor = { Plugin = "flavor-vanilla", Properties = {} },
        Updating = { MinHealthySeconds = 0.1 },
      } })
    end
    assert.are.equal(0, run(home, { "group", "commit", "-" }, { stdin = spec("v1") }).status)
    wait_steady(home, "db", 5, nil, 30)
    assert.are.equal(0, run(home, { "group", "commit", "-" }, { stdin = spec("v2") }).status)
    local target = status(home, "db").ConfigHash
    d = kill_repeatedly(d, "db", target, 5)
    wait_steady(home, "db", 5, target, 60)
    local seen = {}
    for id, tags in pairs(instances(home)) do
      assert.are.equal("db", tags["infrakit.group"], id .. " is an orphan")
      assert.are.equal(target, tags["infrakit.config.hash"], id)
      local lid = tags["infrakit.logical_id"]
      assert.is_nil(seen[lid], "two instances for " .. tostring(lid))
      seen[lid] = id
    end
    for _, lid in ipairs(ids) do assert.is_not_nil(seen[lid], lid .. " has no instance") end
    assert.is_true(count_events(home, "provisioned") <= 10)
    d.stop()
    d.cleanup()
  end)

  it("a provider failing 30% of provisions and destroys still converges, every failure shown", function()
    local home = support.mktemp()
    sh("mkdir -p " .. home .. "/providers")
    -- A Lua instance provider over instance-file that fails at random.
    local f = io.open(home .. "/providers/flaky.lua", "w")
    f:write([[
local infrakit = require "infrakit"
local files
local function backend()
  files = files or assert(infrakit.instance.get("instance-file"))
  return files
end
local function unlucky() return math.random() < 0.3 end
-- Every provision fails for the first 2 s, so a failure stays in describe
-- long enough to be seen however slowly the test samples it (a slow build,
-- a loaded machine); then 30% at random.
local started = infrakit.now()
return {
  validate = function() return true end,
  provision = function(spec)
    if infrakit.now() - started < 2 or unlucky() then return nil, "injected provision failure" end
    return backend():provision(spec)
  end,
  label = function(id, labels) return backend():label(id, labels) end,
  destroy = function(id, ctx)
    if unlucky() then return nil, "injected destroy failure" end
    return backend():destroy(id, ctx)
  end,
  describe = function(tags, props) return backend():describe(tags, props) end,
}
]])
    f:close()
    local d = start(home)
    local function spec(size, note)
      return json.encode({ ID = "flaky", Properties = {
        Allocation = { Size = size },
        Instance = { Plugin = "flaky", Properties = { Note = note } },
        Flavor = { Plugin = "flavor-vanilla", Properties = {} },
      } })
    end
    assert.are.equal(0, run(home, { "group", "commit", "-" }, { stdin = spec(20, "v1") }).status)
    -- Failures show up in describe while it works through them.
    local shown = false
    for _ = 1, 500 do
      local st = status(home, "flaky")
      if st and #st.Failures > 0 then
        shown = st.Failures[1].Error:find("injected", 1, true) ~= nil and st.Failures[1].Attempts >= 1
        break
      end
      infrakit.sleep(0.005)
    end
    assert.is_true(shown, "no failure was shown in describe")
    wait_steady(home, "flaky", 20, nil, 60)
    assert.are.equal(0, run(home, { "group", "commit", "-" }, { stdin = spec(10, "v2") }).status)
    local target = status(home, "flaky").ConfigHash
    local st = wait_steady(home, "flaky", 10, target, 60)
    assert.are.equal(0, #st.Failures)
    local n = 0
    for _, tags in pairs(instances(home)) do
      n = n + 1
      assert.are.equal(target, tags["infrakit.config.hash"])
    end
    assert.are.equal(10, n)
    -- Every failure is in the event log, with its message.
    local text = io.open(home .. "/events.jsonl"):read("*a")
    local failed = count_events(home, "action%-failed")
    assert.is_true(failed >= 3, failed .. " failures logged")
    local _, with_msg = text:gsub('"event":"action%-failed"[^\n]*"error":"[^"]*injected', "")
    assert.are.equal(failed, with_msg)
    d.stop()
    d.cleanup()
  end)
end)
