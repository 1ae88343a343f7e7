-- Lua instance providers in a real daemon: events (a provider's
-- watch(notify)) heal a group at once, and reloading a changed file
-- (infrakit plugin reload, SIGHUP) swaps the code of a running daemon. The
-- daemon's poll is 60 s, so healing here comes from the provider's events.
local infrakit = require "infrakit"
local json = infrakit.json
local support = dofile("spec/functional/support.lua")
local run, sh = support.run, support.sh

local EXAMPLE = "docs/examples/providers/jsondir.lua"

local function group(size)
  return json.encode({ ID = "jd", Properties = {
    Allocation = { Size = size },
    Instance = { Plugin = "jsondir", Properties = { Note = "v1" } },
    Flavor = { Plugin = "flavor-vanilla", Properties = {} },
  } })
end

local function steady_at(n)
  return function(st)
    return st.Phase == "steady" and #st.InFlight == 0 and st.Summary.Current == n and #st.Instances == n
  end
end

describe("a Lua instance provider", function()
  local d, home
  before_each(function()
    home = support.mktemp()
    sh("mkdir -p " .. home .. "/providers && cp " .. EXAMPLE .. " " .. home .. "/providers/jsondir.lua")
    d = support.start_group_daemon(home)
  end)
  after_each(function()
    run(home, { "group", "destroy", "jd" })
    d.stop()
    d.cleanup()
  end)

  it("reports an instance gone, and the group heals it long before the poll", function()
    local r = run(home, { "group", "commit", "-" }, { stdin = group(2) })
    assert.are.equal(0, r.status, r.stderr)
    local st = support.wait_group(home, "jd", steady_at(2), 20)
    local victim = st.Instances[1].ID
    assert.is_truthy(support.exists(home .. "/jsondir/" .. victim .. ".json"))
    -- The instance vanishes behind the controller's back (as a VM deleted
    -- in a cloud console would); only the provider's watch can tell.
    sh("rm " .. home .. "/jsondir/" .. victim .. ".json")
    st = support.wait_group(home, "jd", function(s)
      if not steady_at(2)(s) then return false end
      for _, i in ipairs(s.Instances) do if i.ID == victim then return false end end
      return true
    end, 20)
    assert.are.equal(2, #st.Instances)
    local events = io.open(home .. "/events.jsonl"):read("*a")
    assert.is_truthy(events:find('"event":"instance-lost","instance":"' .. victim .. '"', 1, true))
  end)
end)
