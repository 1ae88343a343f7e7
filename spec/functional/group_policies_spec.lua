-- Rollout and health policies against a real daemon: the file driver,
-- the vanilla flavor, and a Lua flavor whose health an instance's marker
-- file decides. The poll is 60 s unless a case says otherwise.
local infrakit = require "infrakit"
local json = infrakit.json
local support = dofile("spec/functional/support.lua")
local run, sh = support.run, support.sh
local start, status, wait_for = support.start_group_daemon, support.group_status, support.wait_group

local function spec(id, size, note, updating, flavor)
  return json.encode({ ID = id, Properties = {
    Allocation = { Size = size },
    Instance = { Plugin = "instance-file", Properties = { Note = note } },
    Flavor = flavor or { Plugin = "flavor-vanilla", Properties = { Init = { "echo " .. note } } },
    Updating = updating,
  } })
end

local function steady(n, hash)
  return function(st)
    return st.Phase == "steady" and #st.InFlight == 0 and st.Summary.Available == n and #st.Instances == n
        and (hash == nil or st.GoodHash == hash)
  end
end

describe("group policies", function()
  local d, home
  after_each(function()
    if d then
      d.stop()
      d.cleanup()
      d = nil
    end
  end)

  it("a file deleted by hand is replaced without waiting for the poll", function()
    d = start()
    home = d.home
    assert.are.equal(0, run(home, { "group", "commit", "-" }, { stdin = spec("web", 3, "v1") }).status)
    local st = wait_for(home, "web", steady(3))
    os.remove(home .. "/instance-file/" .. st.Instances[2].ID)
    st = wait_for(home, "web", function(s)
      return steady(3)(s) and s.Instances[1].ID ~= nil and not (function()
        for _, i in ipairs(s.Instances) do if i.ID == st.Instances[2].ID then return true end end
      end)()
    end, 3)
    assert.are.equal(3, #st.Instances)
  end)

  it("a canary rollout pauses until promoted, then finishes", function()
    d = start()
    home = d.home
    assert.are.equal(0, run(home, { "group", "commit", "-" }, { stdin = spec("web", 4, "v1") }).status)
    wait_for(home, "web", steady(4))
    local r = run(home, { "group", "commit", "-" }, { stdin = spec("web", 4, "v2", { Canary = 1 }) })
    assert.are.equal(0, r.status, r.stderr)
    local st = wait_for(home, "web", function(s) return s.Phase == "canary-paused" end)
    assert.matches("infrakit group promote web", st.Summary.Reason, 1, true)
    local new = 0
    for _, i in ipairs(st.Instances) do if i.ConfigHash == st.ConfigHash then new = new + 1 end end
    assert.are.equal(1, new)
    r = run(home, { "group", "promote", "web" })
    assert.are.equal(0, r.status, r.stderr)
    st = wait_for(home, "web", steady(4, st.ConfigHash))
    for _, i in ipairs(st.Instances) do assert.are.equal(st.ConfigHash, i.ConfigHash) end
    -- Nothing left to promote.
    r = run(home, { "group", "promote", "web" })
    assert.are.equal(1, r.status)
    assert.matches("no canary rollout waiting", r.stderr)
  end)

  it("group pause holds a rollout across a restart; group resume finishes it; refusals say why", function()
    d = start()
    home = d.home
    assert.are.equal(0, run(home, { "group", "commit", "-" }, { stdin = spec("web", 3, "v1") }).status)
    wait_for(home, "web", steady(3))
    -- Refused: not paused, unknown group.
    local r = run(home, { "group", "resume", "web" })
    assert.are.equal(1, r.status)
    assert.matches("group web is not paused (phase steady): nothing to resume", r.stderr, 1, true)
    r = run(home, { "group", "pause", "nope" })
    assert.are.equal(1, r.status)
    assert.matches("Group 'nope' is not being watched", r.stderr, 1, true)
    -- A canary rollout, paused once its canary is in: promoting does not move it.
    r = run(home, { "group", "commit", "-" }, { stdin = spec("web", 3, "v2", { Canary = 1 }) })
    assert.are.equal(0, r.status, r.stderr)
    wait_for(home, "web", function(s) return s.Phase == "canary-paused" and #s.InFlight == 0 end)
    r = run(home, { "group", "pause", "web" })
    assert.are.equal(0, r.status, r.stderr)
    assert.are.equal("group web: paused; no new replacement starts until 'infrakit group resume'\n", r.stdout)
    r = run(home, { "group", "pause", "--json", "web" })
    assert.are.equal(1, r.status)
    assert.matches("group web is already paused", r.stderr, 1, true)
    local paused = wait_for(home, "web", function(s) return s.Phase == "paused" end)
    assert.is_true(paused.Paused)
    assert.matches("infrakit group resume web", paused.Summary.Reason, 1, true)
    assert.are.equal(0, run(home, { "group", "promote", "web" }).status)
    -- watch --until-steady stops at once on a paused group (exit 4).
    r = run(home, { "group", "watch", "--until-steady", "--timeout", "20s", "web" })
    assert.are.equal(4, r.status, r.stdout .. r.stderr)
    assert.matches("group web is paused", r.stderr, 1, true)
    -- The pause is stored: a daemon killed and started again is still paused.
    local st
    local pid = io.open(home .. "/plugins/group.pid"):read("*a")
    sh("kill -KILL " .. pid)
    d.task:wait()
    d = start(home)
    wait_for(home, "web", function(s) return s.Phase == "paused" end)
    infrakit.sleep(1.5)
    st = status(home, "web")
    assert.are.equal("paused", st.Phase)
    local new = 0
    for _, i in ipairs(st.Instances) do if i.ConfigHash == st.ConfigHash then new = new + 1 end end
    assert.are.equal(1, new) -- the canary only: nothing replaced while paused
    r = run(home, { "group", "resume", "web" })
    assert.are.equal(0, r.status, r.stderr)
    st = wait_for(home, "web", steady(3, st.ConfigHash))
    for _, i in ipairs(st.Instances) do assert.are.equal(st.ConfigHash, i.ConfigHash) end
    assert.is_false(st.Paused)
    -- The events: infrakit events --kind.
    r = run(home, { "events", "--group", "web", "--kind", "rollout-paused" })
    assert.are.equal(0, r.status, r.stderr)
    assert.matches("rollout-paused", r.stdout, 1, true)
    r = run(home, { "events", "--group", "web", "--kind", "rollout-resumed" })
    assert.matches("rollout-resumed", r.stdout, 1, true)
  end)

  it("MaxSurge 0 / MaxUnavailable 1 never runs more instances than the size", function()
    d = start()
    home = d.home
    assert.are.equal(0, run(home, { "group", "commit", "-" }, { stdin = spec("web", 3, "v1") }).status)
    wait_for(home, "web", steady(3))
    assert.are.equal(0, run(home, { "group", "commit", "-" },
      { stdin = spec("web", 3, "v2", { MaxSurge = 0, MaxUnavailable = 1 }) }).status)
    local target = status(home, "web").ConfigHash
    local most = 0
    for _ = 1, 500 do
      local n = tonumber(sh("ls " .. home .. "/instance-file | wc -l").stdout)
      if n > most then most = n end
      local st = status(home, "web")
      if st and steady(3, target)(st) then break end
    end
    assert.is_true(most <= 3, most .. " instances at once")
    assert.are.equal(target, status(home, "web").GoodHash)
  end)

  it("an instance its flavor calls unhealthy is replaced after UnhealthyTimeout", function()
    home = support.mktemp()
    sh("mkdir -p " .. home .. "/flavors")
    -- Healthy unless a marker file named after the instance exists.
    local f = io.open(home .. "/flavors/marked.lua", "w")
    f:write(string.format([[
return {
  validate = function() return true end,
  prepare = function(props, spec) return spec end,
  healthy = function(props, inst)
    local m = io.open(%q .. "/sick-" .. inst.ID)
    if m then m:close() return "unhealthy" end
    return "healthy"
  end,
}
]], home))
    f:close()
    d = start(home, { "--poll", "100ms" })
    local s = json.decode(spec("web", 3, "v1", nil, { Plugin = "marked", Properties = {} }))
    s.Properties.Health = { UnhealthyTimeout = "200ms" }
    assert.are.equal(0, run(home, { "group", "commit", "-" }, { stdin = json.encode(s) }).status)
    local st = wait_for(home, "web", steady(3))
    local sick = st.Instances[1].ID
    sh("touch " .. home .. "/sick-" .. sick)
    st = wait_for(home, "web", function(x)
      if not steady(3)(x) then return false end
      for _, i in ipairs(x.Instances) do if i.ID == sick then return false end end
      return true
    end)
    assert.are.equal(3, #st.Instances)
    local events = io.open(home .. "/events.jsonl"):read("*a")
    assert.is_truthy(events:find('"event":"destroyed-instance","instance":"' .. sick .. '"', 1, true))
  end)

  it("a rollout whose new instances are unhealthy rolls back with AutoRollback", function()
    home = support.mktemp()
    support.versioned_flavor(home) -- "bad" instances are unhealthy
    d = start(home, { "--poll", "100ms" })
    local function versioned(v)
      return spec("web", 3, "v1", { AutoRollback = true }, { Plugin = "versioned", Properties = { Version = v } })
    end
    assert.are.equal(0, run(home, { "group", "commit", "-" }, { stdin = versioned("good") }).status)
    local good = wait_for(home, "web", steady(3)).ConfigHash
    assert.are.equal(0, run(home, { "group", "commit", "-" }, { stdin = versioned("bad") }).status)
    local st = wait_for(home, "web", function(x)
      if x.TargetHash ~= good or x.Failure == "" or #x.InFlight > 0 or #x.Instances ~= 3 then return false end
      for _, i in ipairs(x.Instances) do if i.ConfigHash ~= good or i.Health ~= "healthy" then return false end end
      return true
    end)
    assert.are_not.equal(good, st.ConfigHash) -- the spec is still the bad one; the target went back
    assert.are.equal("blocked", st.Phase)
    assert.matches("rolled back", st.Summary.Reason)
    local events = io.open(home .. "/events.jsonl"):read("*a")
    assert.is_truthy(events:find('"event":"rollout-failed"', 1, true))
  end)

  it("a spec naming a plugin that does not exist is refused at commit", function()
    d = start()
    home = d.home
    local bad = spec("web", 1, "v1"):gsub("instance%-file", "instance-nowhere")
    local r = run(home, { "group", "commit", "-" }, { stdin = bad })
    assert.are.equal(1, r.status)
    assert.matches("instance%-nowhere", r.stderr)
    r = run(home, { "group", "ls" })
    assert.are.equal(0, r.status, r.stderr)
    assert.is_nil(r.stdout:find("web", 1, true))
  end)
end)
