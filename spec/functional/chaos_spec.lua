-- Chaos: the daemon is killed with SIGKILL again and again in the middle
-- of a rolling update of pets, and started again each time. In the end
-- every slot holds exactly one instance at the new config, nothing was
-- provisioned twice for a slot, and nothing is left without its group.
local infrakit = require "infrakit"
local json = infrakit.json
local support = dofile("spec/functional/support.lua")
local run, sh = support.run, support.sh

local ids = { "db-1", "db-2", "db-3", "db-4", "db-5" }

local function spec(note)
  return json.encode({
    ID = "db",
    Properties = {
      Allocation = { LogicalIDs = ids },
      Instance = { Plugin = "instance-file", Properties = { Note = note } },
      Flavor = { Plugin = "flavor-vanilla", Properties = { Init = { "echo " .. note } } },
      Updating = { MinHealthySeconds = 0.04 },
    },
  })
end

local function start(home)
  local d = support.start_daemon(home, { "--poll", "60s" })
  assert.is_true(support.wait_for(d.home .. "/plugins/group"))
  for _ = 1, 300 do
    if infrakit.rpc.call(d.home .. "/plugins/group", "Handshake.Hello", nil, { timeout = 1 }) then break end
    infrakit.sleep(0.01)
  end
  return d
end

local function status(home)
  local r = run(home, { "group", "describe", "--json", "db" })
  return r.status == 0 and json.decode(r.stdout) or nil
end

-- The instance files: {ID = tags}.
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

describe("chaos", function()
  it("a rollout survives the daemon being SIGKILLed again and again", function()
    local d = start()
    local home = d.home
    assert.are.equal(0, run(home, { "group", "commit", "-" }, { stdin = spec("v1") }).status)
    local st
    for _ = 1, 500 do
      st = status(home)
      if st and st.Phase == "steady" and st.Summary.Available == 5 then break end
      infrakit.sleep(0.01)
    end
    assert.are.equal(5, st.Summary.Available)
    assert.are.equal(0, run(home, { "group", "commit", "-" }, { stdin = spec("v2") }).status)
    local target = status(home).ConfigHash
    math.randomseed(os.time())
    for round = 1, 6 do
      infrakit.sleep(0.01 + math.random() * 0.06)
      local pid = io.open(home .. "/plugins/group.pid"):read("*a")
      sh("kill -KILL " .. pid)
      d.task:wait()
      d = start(home)
      assert.is_truthy(round)
    end
    for _ = 1, 1000 do
      st = status(home)
      if st and st.Phase == "steady" and #st.InFlight == 0 and st.GoodHash == target
          and st.Summary.Available == 5 then break end
      infrakit.sleep(0.01)
    end
    assert.are.equal("steady", st.Phase)
    assert.are.equal(target, st.GoodHash)
    -- One instance per slot, at the new config, each with its group.
    local seen = {}
    for id, tags in pairs(instances(home)) do
      assert.are.equal("db", tags["infrakit.group"], id .. " has no group")
      assert.are.equal(target, tags["infrakit.config.hash"], id)
      local lid = tags["infrakit.logical_id"]
      assert.is_nil(seen[lid], "two instances for " .. tostring(lid))
      seen[lid] = id
    end
    for _, lid in ipairs(ids) do assert.is_not_nil(seen[lid], lid .. " has no instance") end
    -- Five to create the group, five to replace them: never more.
    local events = io.open(home .. "/events.jsonl"):read("*a")
    local _, provisioned = events:gsub('"event":"provisioned"', "")
    assert.is_true(provisioned <= 10, provisioned .. " provisions")
    -- And the kills did land mid-rollout: work went on after a resume.
    local resumed_at = events:find('"event":"resumed"', 1, true)
    assert.is_truthy(resumed_at)
    assert.is_truthy(events:find('"event":"provisioned"', resumed_at, true))
    d.stop()
    d.cleanup()
  end)
end)
