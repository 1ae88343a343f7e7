-- Lua flavors and instance providers hosted by a real daemon: a user's
-- files in $INFRAKIT_HOME/flavors and providers served by name on
-- InfraKit's wire, used from the CLI and from Lua; a broken file, a
-- runaway loop, a flavor calling another one hosted in the same daemon.
local infrakit = require "infrakit"
local json = infrakit.json
local support = dofile("spec/functional/support.lua")
local run, sh = support.run, support.sh

local function write(path, text)
  local f = assert(io.open(path, "w"))
  f:write(text)
  f:close()
end

local hello = [[
local ik = require "infrakit"
return {
  validate = function(props, alloc)
    if props and props.bad then return nil, "bad is set" end
    return true
  end,
  prepare = function(props, spec, alloc, index)
    ik.sleep(0) -- flavors may wait
    spec.Init = "echo " .. (props.word or "hello") .. " " .. index.Sequence
    spec.Tags = spec.Tags or {}
    spec.Tags.flavor = "hello"
    return spec
  end,
  healthy = function(props, inst)
    if inst.ID == "spin" then while true do end end
    if inst.ID == "boom" then error("exploded on purpose") end
    return inst.ID == "bad" and "unhealthy" or "healthy"
  end,
}
]]

-- A flavor that asks another one, hosted in the same daemon, first.
local outer = [[
local ik = require "infrakit"
return {
  validate = function() return true end,
  prepare = function(props, spec, alloc, index)
    local inner = assert(ik.flavor.get("hello"))
    local s, err = inner:prepare({ word = "inner" }, spec, alloc, index)
    if not s then return nil, err end
    s.Tags.outer = "yes"
    return s
  end,
}
]]

local memory = [[
local store, n = {}, 0
return {
  provision = function(spec)
    n = n + 1
    local id = "mem-" .. n
    store[id] = { ID = id, LogicalID = spec.LogicalID, Tags = spec.Tags or {} }
    return id
  end,
  destroy = function(id) if not store[id] then return nil, "no instance " .. id end store[id] = nil return true end,
  describe = function(tags)
    local out = {}
    for _, d in pairs(store) do
      local match = true
      for k, v in pairs(tags) do if d.Tags[k] ~= v then match = false end end
      if match then out[#out + 1] = d end
    end
    return out
  end,
}
]]

-- A provider that refuses every provision, in the words a user would write.
local refuser = [[
return {
  provision = function(spec) return nil, "provision refused: no capacity" end,
  destroy = function(id) return true end,
  describe = function(tags) return {} end,
}
]]

describe("Lua plugins in the daemon", function()
  local home, d
  setup(function()
    home = support.mktemp()
    sh("mkdir -p " .. home .. "/flavors " .. home .. "/providers")
    write(home .. "/flavors/hello.lua", hello)
    write(home .. "/flavors/outer.lua", outer)
    write(home .. "/flavors/broken.lua", "return {\n  validate = function(\n")
    write(home .. "/providers/memory.lua", memory)
    write(home .. "/providers/refuser.lua", refuser)
    -- --template-dir: the vanilla spec below renders templates from home
    d = support.start_daemon(home, { "--lua-timeout", "0.5", "--log-file", home .. "/daemon.log",
      "--template-dir", home })
  end)
  teardown(function()
    d.stop()
    d.cleanup()
  end)

  local function prepare_doc(word)
    return json.encode({ Properties = { word = word }, Spec = { Tags = { tier = "web" } },
      Allocation = { Size = 2 }, Index = { Group = "g", Sequence = 2 } })
  end

  it("serves a user flavor by its file name, on InfraKit's wire", function()
    local r = run(home, { "flavor", "prepare", "--plugin", "hello", "-" }, { stdin = prepare_doc("hi") })
    assert.are.equal(0, r.status, r.stderr)
    local spec = json.decode(r.stdout)
    assert.are.equal("echo hi 2", spec.Init)
    assert.are.same({ tier = "web", flavor = "hello" }, spec.Tags)
    assert.are.equal(json.null, spec.LogicalID)
    r = run(home, { "plugin", "ls" })
    assert.matches("hello +Flavor/0%.1%.1 ", r.stdout)
    assert.matches("memory +Instance/0%.6%.1 ", r.stdout)
  end)

  it("validate, healthy and drain answer as the flavor says (drain defaults to nothing)", function()
    local r = run(home, { "flavor", "validate", "-p", "hello", "-" }, { stdin = '{"Properties": {"bad": true}}' })
    assert.are.equal(1, r.status)
    assert.are.equal("infrakit flavor validate: bad is set\n", r.stderr)
    r = run(home, { "flavor", "healthy", "-p", "hello", "-" }, { stdin = '{"Instance": {"ID": "bad"}}' })
    assert.are.equal("unhealthy\n", r.stdout)
    r = run(home, { "flavor", "drain", "-p", "hello", "-" }, { stdin = '{"Instance": {"ID": "x"}}' })
    assert.are.equal("drained\n", r.stdout)
  end)

  it("a raised error is a one-line message; the traceback goes to the log", function()
    local r = run(home, { "flavor", "healthy", "-p", "hello", "-" }, { stdin = '{"Instance": {"ID": "boom"}}' })
    assert.are.equal(1, r.status)
    assert.matches("exploded on purpose", r.stderr)
    assert.are.equal(1, select(2, r.stderr:gsub("\n", "")))
    assert.matches("traceback", io.open(home .. "/daemon.log"):read("*a"))
  end)

  it("stops a runaway flavor with the watchdog and keeps answering", function()
    local r = run(home, { "flavor", "healthy", "-p", "hello", "-" }, { stdin = '{"Instance": {"ID": "spin"}}' })
    assert.are.equal(1, r.status)
    assert.matches("Lua code ran for more than", r.stderr)
    r = run(home, { "flavor", "healthy", "-p", "hello", "-" }, { stdin = '{"Instance": {"ID": "ok"}}' })
    assert.are.equal("healthy\n", r.stdout)
  end)

  it("reports a broken file with its line and serves the rest", function()
    local log = io.open(home .. "/daemon.log"):read("*a")
    assert.matches("not serving a plugin that failed to load", log)
    assert.matches("broken%.lua:3:", log)
    assert.is_false(support.exists(home .. "/plugins/broken"))
  end)

  it("resolves a flavor's flavor.get to the one hosted in the same daemon", function()
    local r = run(home, { "flavor", "prepare", "-p", "outer", "-" }, { stdin = prepare_doc("x") })
    assert.are.equal(0, r.status, r.stderr)
    local spec = json.decode(r.stdout)
    assert.are.equal("echo inner 2", spec.Init)
    assert.are.equal("yes", spec.Tags.outer)
    assert.are.equal("hello", spec.Tags.flavor)
  end)

  it("flavor-combo composes the built-in flavors hosted in the same daemon", function()
    local doc = json.encode({
      Properties = {
        { Plugin = "flavor-vanilla", Properties = { Init = { "echo one" }, Tags = { a = "1" } } },
        { Plugin = "hello", Properties = { word = "two" } },
      },
      Spec = { Tags = { tier = "web" }, Init = "" },
      Allocation = { Size = 1 }, Index = { Group = "g", Sequence = 1 },
    })
    local r = run(home, { "flavor", "prepare", "-p", "flavor-combo", "-" }, { stdin = doc })
    assert.are.equal(0, r.status, r.stderr)
    local spec = json.decode(r.stdout)
    assert.are.equal("echo one\necho two 1", spec.Init)
    assert.are.same({ tier = "web", a = "1", flavor = "hello" }, spec.Tags)
    -- Go writes map keys sorted.
    assert.matches('"Tags": {%s*"a": "1",%s*"flavor": "hello",%s*"tier": "web"%s*}', r.stdout)
  end)

  it("flavor-vanilla renders InitScriptTemplateURL with the template engine", function()
    write(home .. "/init.tpl", '#!/bin/sh\n{{/* a comment */}}echo {{ INSTANCE_LOGICAL_ID }} of {{ (INDEX).Group }}\n'
      .. '{{ range $i, $t := (SPEC).Extra }}extra {{ $i }}={{ $t | upper }}\n{{ end }}')
    local doc = json.encode({
      Properties = { InitScriptTemplateURL = "file://" .. home .. "/init.tpl", Extra = { "a", "b" } },
      Spec = { Tags = {}, Init = "", LogicalID = "db-1" },
      Allocation = { LogicalIDs = { "db-1" } }, Index = { Group = "dbs", Sequence = 0 },
    })
    local r = run(home, { "flavor", "prepare", "-p", "flavor-vanilla", "-" }, { stdin = doc })
    assert.are.equal(0, r.status, r.stderr)
    assert.are.equal("#!/bin/sh\necho db-1 of dbs\nextra 0=A\nextra 1=B\n", json.decode(r.stdout).Init)
    -- A template error names the file, line and column.
    write(home .. "/bad.tpl", "line one\n{{ nope }}\n")
    doc = json.encode({ Properties = { InitScriptTemplateURL = "file://" .. home .. "/bad.tpl" },
      Allocation = { Size = 1 } })
    r = run(home, { "flavor", "validate", "-p", "flavor-vanilla", "-" }, { stdin = doc })
    assert.are.equal(1, r.status)
    assert.matches("bad%.tpl:2:%d+: function \"nope\" not defined", r.stderr)
  end)

  it("serves a Lua instance provider to the instance CLI", function()
    local r = run(home, { "instance", "provision", "-p", "memory", "-" }, { stdin = '{"Tags": {"t": "1"}, "LogicalID": "a"}' })
    assert.are.equal("mem-1\n", r.stdout, r.stderr)
    r = run(home, { "instance", "describe", "-p", "memory", "--json" })
    local list = json.decode(r.stdout)
    assert.are.equal(1, #list)
    assert.are.equal("a", list[1].LogicalID)
    r = run(home, { "instance", "destroy", "-p", "memory", "mem-9" })
    assert.are.equal(1, r.status)
    assert.are.equal("infrakit instance destroy: no instance mem-9\n", r.stderr)
  end)

  it("infrakit.flavor.get and infrakit.instance.get work from a script", function()
    local r = run(home, { "lua", "-e", [[
      local ik = require "infrakit"
      local f = assert(ik.flavor.get("hello"))
      local spec = assert(f:prepare({ word = "lua" }, { Tags = {} }, { Size = 1 }, { Group = "g", Sequence = 1 }))
      print(spec.Init, f:healthy({}, { ID = "x" }), tostring(f))
      local i = assert(ik.instance.get("instance-file"))
      local id = assert(i:provision({ Tags = { by = "script" } }))
      local list = assert(i:describe({ by = "script" }, false))
      print(#list, list[1].ID == id, i:destroy(id))
      -- A provider passes the context its destroy got straight on.
      local id2 = assert(i:provision({ Tags = { by = "script" } }))
      print(i:destroy(id2, { Reason = "rolling_update" }), #assert(i:describe({ by = "script" }, false)))
      print(select(3, ik.flavor.get("nope")))
    ]] })
    assert.are.equal(0, r.status, r.stderr)
    assert.are.equal("echo lua 1\thealthy\tflavor plugin hello\n1\ttrue\ttrue\ntrue\t0\nENOTFOUND\n", r.stdout)
  end)

  -- One prefix per layer, added once: the controller says what it called
  -- on which plugin, the plugin's message follows as it wrote it - for a
  -- Lua provider hosted here and for one reached over the wire (another
  -- daemon's, through a socket in plugins/).
  it("a refused provision reads 'provision (PLUGIN): MESSAGE', hosted or remote", function()
    local other = support.mktemp()
    sh("mkdir -p " .. other .. "/providers")
    write(other .. "/providers/refuser.lua", refuser)
    local d2 = support.start_daemon(other)
    sh("ln -s " .. other .. "/plugins/refuser " .. home .. "/plugins/far-refuser")
    local function group(id, plugin)
      return json.encode({ ID = id, Properties = { Allocation = { Size = 1 },
        Instance = { Plugin = plugin, Properties = {} }, Flavor = { Plugin = "flavor-vanilla", Properties = {} } } })
    end
    local ok, err = pcall(function()
      for id, plugin in pairs({ near = "refuser", far = "far-refuser" }) do
        local r = run(home, { "group", "commit", "-" }, { stdin = group(id, plugin) })
        assert.are.equal(0, r.status, r.stderr)
        local st = support.wait_group(home, id, function(s) return #s.Failures > 0 end)
        assert.are.equal("provision (" .. plugin .. "): provision refused: no capacity", st.Failures[1].Error)
        r = run(home, { "group", "describe", id })
        assert.matches("provision: %d+ attempts?, last error: provision %(" .. plugin:gsub("%-", "%%-")
          .. "%): provision refused: no capacity\n", r.stdout)
        run(home, { "group", "destroy", id })
      end
    end)
    d2.stop()
    d2.cleanup()
    assert(ok, err)
  end)
end)
