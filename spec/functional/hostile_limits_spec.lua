-- Hostile or careless input: a spec, a plugin or a file left in
-- the daemon's directories must not take the daemon down, make it grow
-- without bound, or make it say what it should not. A real daemon, the CLI
-- and the group socket. Limits, deadlines and IDs here; malformed input and
-- spec templates in hostile_spec.lua.
local infrakit = require "infrakit"
local json = infrakit.json
local support = dofile("spec/functional/support.lua")
local run, sh = support.run, support.sh

local function file_spec(id, alloc)
  return json.encode({ ID = id, Properties = {
    Allocation = alloc,
    Instance = { Plugin = "instance-file", Properties = {} },
    Flavor = { Plugin = "flavor-vanilla", Properties = {} },
  } })
end

describe("a group spec", function()
  local d, home
  setup(function()
    d = support.start_group_daemon(nil, { "--max-group-size", "5000" })
    home = d.home
  end)
  teardown(function()
    d.stop()
    d.cleanup()
  end)

  it("is refused above the size limit, locally and by the daemon, before anything is planned or stored", function()
    local huge = file_spec("big", { Size = 1000000000000 })
    -- Locally (group commit, plan): the default limit, or INFRAKIT_MAX_GROUP_SIZE.
    local r = run(home, { "group", "commit", "-" }, { stdin = huge })
    assert.are.equal(1, r.status)
    assert.matches("Properties%.Allocation%.Size: 1000000000000 is above the limit of 10000 instances per group", r.stderr)
    r = run(home, { "plan", "-" }, { stdin = huge })
    assert.are.equal(1, r.status)
    assert.matches("Properties%.Allocation%.Size: 1000000000000 is above the limit of 10000", r.stderr)
    r = run(home, { "group", "commit", "--pretend", "-" }, { stdin = file_spec("big", { Size = 150 }),
      env = { INFRAKIT_MAX_GROUP_SIZE = "120" } })
    assert.are.equal(1, r.status)
    assert.matches("150 is above the limit of 120 instances", r.stderr)
    -- By the daemon (--max-group-size 5000), whatever the client checked.
    local sock = home .. "/plugins/group"
    for _, alloc in ipairs({ { Size = 5001 }, { Size = 1000000000000 } }) do
      local res, err = infrakit.rpc.call(sock, "Group.CommitGroup",
        { Name = "group", Spec = json.decode(file_spec("big", alloc)), Pretend = true })
      assert.is_nil(res)
      assert.matches("Properties%.Allocation%.Size: %d+ is above the limit of 5000 instances per group", err)
    end
    local ids = {}
    for i = 1, 5001 do ids[i] = "slot-" .. i end
    local res, err = infrakit.rpc.call(sock, "Group.CommitGroup",
      { Name = "group", Spec = json.decode(file_spec("big", { LogicalIDs = ids })) })
    assert.is_nil(res)
    assert.matches("Properties%.Allocation%.LogicalIDs: 5001 is above the limit of 5000", err)
    assert.is_false(support.exists(home .. "/configs/groups/big"))
    -- At the limit it is accepted, and --pretend's Details stay bounded:
    -- what can start now (the window, 4096) and one line for the rest.
    r = run(home, { "group", "commit", "--pretend", "-" }, { stdin = file_spec("big", { Size = 5000 }) })
    assert.are.equal(0, r.status, r.stderr)
    local _, provisions = r.stdout:gsub("\n  provision ", "")
    assert.are.equal(4096, provisions)
    assert.matches("\n  wait in%-flight %(904 more actions wait for room: at most 4096 in flight per group", r.stdout)
    assert.is_false(support.exists(home .. "/configs/groups/big"))
  end)

  it("with a path, a control byte or too long an ID is refused naming the field ID, before any plugin call", function()
    for _, case in ipairs({
      { "../x", "ID: '/' is not allowed" },
      { "a\tb", "ID: byte 0x09 is not allowed" },
      { ("g"):rep(300), "ID: want at most 128 characters, got 300" },
    }) do
      local r = run(home, { "group", "commit", "-" }, { stdin = file_spec(case[1], { Size = 1 }) })
      assert.are.equal(1, r.status)
      assert.are.equal(1, select(2, r.stderr:gsub(case[2], "")), r.stderr)
      local res, err = infrakit.rpc.call(home .. "/plugins/group", "Group.CommitGroup",
        { Name = "group", Spec = json.decode(file_spec(case[1], { Size = 1 })) })
      assert.is_nil(res)
      assert.is_truthy(err:find(case[2], 1, true), err)
      assert.is_falsy(err:find("DescribeInstances", 1, true), err)
    end
  end)
end)

-- A Lua instance provider in $INFRAKIT_HOME/providers/NAME.lua that
-- delegates to instance-file, except where `provision` says otherwise.
local function write_provider(home, name, provision)
  sh("mkdir -p " .. home .. "/providers")
  local f = assert(io.open(home .. "/providers/" .. name .. ".lua", "w"))
  f:write([[
local infrakit = require "infrakit"
local files
local function backend()
  files = files or assert(infrakit.instance.get("instance-file"))
  return files
end
local calls = 0
return {
  validate = function() return true end,
  provision = function(spec)
    calls = calls + 1
]] .. provision .. [[

    return backend():provision(spec)
  end,
  label = function(id, labels) return backend():label(id, labels) end,
  destroy = function(id, ctx) return backend():destroy(id, ctx) end,
  describe = function(tags, props) return backend():describe(tags, props) end,
}
]])
  f:close()
end

local function events(home)
  local f = io.open(home .. "/events.jsonl")
  if not f then return "" end
  local text = f:read("*a")
  f:close()
  return text
end

describe("a provider call that does not answer", function()
  it("fails at the call deadline, is retried, and its late answer is reconciled: no slot held, no double count", function()
    local home = support.mktemp()
    -- The first provision answers only after 3 s (as good as never, with
    -- this plugin's 0.5 s deadline; the others keep the default); the
    -- other provisions answer at once.
    write_provider(home, "slow", "    if calls == 1 then infrakit.sleep(3) end")
    local d = support.start_group_daemon(home, { "--call-timeout", "10m", "--call-timeout", "slow=500ms", "--poll", "1s" })
    local spec = json.encode({ ID = "web", Properties = {
      Allocation = { Size = 2 },
      Instance = { Plugin = "slow", Properties = {} },
      Flavor = { Plugin = "flavor-vanilla", Properties = {} },
    } })
    local r = run(home, { "group", "commit", "-" }, { stdin = spec })
    assert.are.equal(0, r.status, r.stderr)
    local function steady2(st)
      return st.Phase == "steady" and #st.InFlight == 0 and st.Summary.Current == 2 and #st.Instances == 2
    end
    support.wait_group(home, "web", steady2, 20)
    assert.is_truthy(events(home):find("provision (slow): timed out after 0.5 s without an answer", 1, true))
    -- The late instance arrives (3 s), is seen by a describe, and is one
    -- too many: destroyed, once.
    support.wait_group(home, "web", function(st)
      return steady2(st) and events(home):find('"event":"destroyed-instance"', 1, true) ~= nil
    end, 20)
    local _, destroyed = events(home):gsub('"event":"destroyed%-instance"', "")
    assert.are.equal(1, destroyed)
    local files = run(home, { "instance", "describe", "--json", "-p", "instance-file", "--tag", "infrakit.group=web" })
    assert.are.equal(2, #json.decode(files.stdout))
    run(home, { "group", "destroy", "web" })
    d.stop()
    d.cleanup()
  end)
end)

describe("group describe", function()
  it("counts only instances that exist: provisions that keep failing are not current", function()
    local home = support.mktemp()
    write_provider(home, "refuse", '    do return nil, "provision refused" end')
    local d = support.start_group_daemon(home)
    local spec = json.encode({ ID = "web", Properties = {
      Allocation = { Size = 20 },
      Instance = { Plugin = "refuse", Properties = {} },
      Flavor = { Plugin = "flavor-vanilla", Properties = {} },
    } })
    assert.are.equal(0, run(home, { "group", "commit", "-" }, { stdin = spec }).status)
    support.wait_group(home, "web", function(st)
      local f = st.Failures[1]
      return f and f.Attempts >= 2
    end, 20)
    local r = run(home, { "group", "describe", "web" })
    assert.are.equal(0, r.status, r.stderr)
    assert.matches("group web: scaling %(20 desired, 0 current, 0 at the target config, 0 available, 0 unhealthy%)",
      r.stdout)
    assert.matches("provision %(refuse%): provision refused", r.stdout)
    run(home, { "group", "destroy", "web" })
    d.stop()
    d.cleanup()
  end)
end)
