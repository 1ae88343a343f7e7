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

local steady_at = support.steady_at

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

-- A flavor that tags what it prepares with its version; with Properties
-- {slow = true} it first writes <home>/started and waits half a second.
local function versioned(home, v)
  return ([[
local infrakit = require "infrakit"
return {
  validate = function() return true end,
  prepare = function(props, spec)
    if type(props) == "table" and props.slow then
      local f = assert(io.open(%q, "w"))
      f:close()
      infrakit.sleep(0.5)
    end
    spec.Tags = type(spec.Tags) == "table" and spec.Tags or {}
    spec.Tags.version = %q
    return spec
  end,
}
]]):format(home .. "/started", v)
end

describe("reloading Lua plugins", function()
  local d, home, file, stopped
  local function write(text)
    local f = assert(io.open(file, "w"))
    f:write(text)
    f:close()
  end
  -- The version the running daemon's "ver" flavor prepares with.
  local function version(props)
    local r, err = infrakit.rpc.call(home .. "/plugins/ver", "Flavor.Prepare",
      { Properties = props or {}, Spec = { Tags = {} }, Allocation = { Size = 1 }, Index = { Group = "g", Sequence = 0 } },
      { timeout = 10 })
    assert(r, err)
    return r.Spec.Tags.version
  end
  before_each(function()
    home = support.mktemp()
    sh("mkdir -p " .. home .. "/flavors")
    file = home .. "/flavors/ver.lua"
    write(versioned(home, "v1"))
    stopped = false
    d = support.start_daemon(home)
    assert(support.wait_for(home .. "/plugins/ver"))
  end)
  after_each(function()
    if not stopped then d.stop() end
    d.cleanup()
  end)

  it("plugin reload picks up a changed flavor; calls in flight finish on the old one", function()
    assert.are.equal("v1", version())
    -- A call in flight on v1 ...
    local slow = infrakit.spawn(version, { slow = true })
    for _ = 1, 500 do
      if support.exists(home .. "/started") then break end
      infrakit.sleep(0.01)
    end
    assert.is_truthy(support.exists(home .. "/started"))
    -- ... while the file changes and is reloaded.
    write(versioned(home, "v2"))
    local r = run(home, { "plugin", "reload", "ver" })
    assert.are.equal(0, r.status, r.stderr)
    assert.are.equal("reloaded ver (" .. file .. ")\n", r.stdout)
    assert.are.equal("v2", version())
    assert.are.equal("v1", slow:wait())
    -- The reload method is ours: Hello shows only the Flavor interface.
    local hello = assert(infrakit.rpc.call(home .. "/plugins/ver", "Handshake.Hello"))
    assert.are.same({ "Flavor/0.1.1" }, (function()
      local keys = {}
      for k in pairs(hello.Objects) do keys[#keys + 1] = k end
      return keys
    end)())
  end)

  it("keeps the old version when the file is broken, and says why", function()
    write("return {\n  validate = function(\n")
    local r = run(home, { "plugin", "reload", "ver" })
    assert.are.equal(1, r.status)
    assert.matches("infrakit plugin reload: ver: not reloaded, the previous version keeps serving: " .. file:gsub("%p", "%%%0")
      .. ":3:", r.stderr)
    assert.are.equal("v1", version())
    -- Not a Lua file: refused, naming what can be reloaded.
    r = run(home, { "plugin", "reload", "flavor-vanilla" })
    assert.are.equal(1, r.status)
    assert.matches("flavor-vanilla cannot be reloaded: only Lua flavors and providers", r.stderr, 1, true)
    -- The daemon's log says why too.
    local out = d.stop()
    stopped = true
    assert.matches('msg="reload failed; the previous version keeps serving" plugin=ver', out.stderr, 1, true)
    assert.matches(file .. ":3:", out.stderr, 1, true)
  end)

  it("reloads changed files on SIGHUP, and serves new ones", function()
    write(versioned(home, "v3"))
    local f = assert(io.open(home .. "/flavors/added.lua", "w"))
    f:write("return { validate = function() return true end, prepare = function(p, s) return s end }\n")
    f:close()
    sh("kill -HUP " .. io.open(home .. "/plugins/instance-file.pid"):read("*a"))
    local v
    for _ = 1, 500 do
      v = version()
      if v == "v3" then break end
      infrakit.sleep(0.01)
    end
    assert.are.equal("v3", v)
    assert.is_truthy(support.wait_for(home .. "/plugins/added"))
    assert.is_truthy(infrakit.rpc.call(home .. "/plugins/added", "Handshake.Hello"))
  end)

  it("has --help", function()
    local r = run(home, { "plugin", "reload", "--help" })
    assert.are.equal(0, r.status)
    assert.matches("infrakit plugin reload [--timeout SECS] NAME...", r.stdout, 1, true)
    assert.matches("Plugin.Reload", r.stdout, 1, true)
    assert.matches("SIGHUP", r.stdout, 1, true)
  end)
end)
