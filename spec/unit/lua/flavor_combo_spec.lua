local infrakit = require "infrakit"
local helper = dofile("spec/unit/lua/spec_helper.lua")
local json = infrakit.json
local null = json.null

local combo = require "infrakit.flavors.combo"
local vanilla = require "infrakit.flavors.vanilla"

local function spec_of(t)
  local s = { Properties = null, Tags = null, Init = "", LogicalID = null, Attachments = null }
  for k, v in pairs(t or {}) do s[k] = v end
  return s
end

-- A child flavor handle as infrakit.flavor.get returns it: methods called
-- with ":", which may yield. Records every call in log.
local function handle(name, log, impl)
  local h = {}
  for _, method in ipairs { "validate", "prepare", "healthy", "drain" } do
    h[method] = function(self, ...)
      assert(self == h, "called with ':'")
      infrakit.sleep(0) -- a remote child waits for its answer
      log[#log + 1] = { name = name, method = method, args = { ... } }
      local fn = impl[method]
      if fn then return fn(...) end
      if method == "healthy" then return "healthy" end
      if method == "prepare" then return (select(2, ...)) end
      return true
    end
  end
  return h
end

-- A handle that runs a Lua flavor module, like the host would.
local function module_handle(mod)
  return {
    validate = function(_, ...) return mod.validate(...) end,
    prepare = function(_, ...) return mod.prepare(...) end,
    healthy = function(_, ...) return mod.healthy(...) end,
    drain = function(_, ...) return mod.drain(...) end,
  }
end

describe("flavor combo", function()
  helper.track_refs()

  local log, children, gets
  before_each(function()
    log, children, gets = {}, {}, 0
    infrakit.flavor = {
      get = function(name)
        gets = gets + 1
        infrakit.sleep(0)
        local h = children[name]
        if not h then return nil, "no flavor plugin " .. name, "ENOTFOUND" end
        return h
      end,
    }
  end)
  after_each(function()
    infrakit.flavor = nil
  end)

  describe("prepare", function()
    it("gives each child a clone of the incoming spec and merges tags, Init and attachments in order", function()
      children.a = handle("a", log, {
        prepare = function(props, spec)
          spec.Tags.shared = "a"
          spec.Tags.a = props.v
          spec.Init = "init-a"
          spec.Attachments[#spec.Attachments + 1] = { ID = "att-a", Type = "ebs" }
          spec.Properties.mutated = true
          return spec
        end,
      })
      children.b = handle("b", log, {
        prepare = function(props, spec)
          -- b sees the incoming spec, not a's changes.
          assert.are.same({ group = "g" }, spec.Tags)
          assert.are.equal("incoming", spec.Init)
          assert.are.same({ { ID = "att-0", Type = "nic" } }, spec.Attachments)
          assert.is_nil(spec.Properties.mutated)
          spec.Tags.shared = "b"
          spec.Init = ""
          return spec
        end,
      })
      local incoming = spec_of { Tags = { group = "g" }, Init = "incoming", LogicalID = "10.0.0.1",
        Properties = { Note = "v1" }, Attachments = { { ID = "att-0", Type = "nic" } } }
      local props = { { Plugin = "a", Properties = { v = "1" } }, { Plugin = "b", Properties = null } }
      local out = assert(combo.prepare(props, incoming, { Size = 2 }, { Group = "g", Sequence = 2 }))
      assert.are.same({
        Properties = { Note = "v1" },
        Tags = { group = "g", shared = "b", a = "1" },
        Init = "incoming\ninit-a",
        LogicalID = "10.0.0.1",
        -- Each child's output carries the incoming attachment too, and InfraKit
        -- appends all of them: att-0 (incoming), att-0 + att-a (a), att-0 (b).
        Attachments = { { ID = "att-0", Type = "nic" }, { ID = "att-0", Type = "nic" }, { ID = "att-a", Type = "ebs" },
          { ID = "att-0", Type = "nic" } },
      }, out)
      -- The incoming spec is untouched.
      assert.are.same({ group = "g" }, incoming.Tags)
      assert.are.same({ Note = "v1" }, incoming.Properties)
      -- Children were called in order with their own Properties, the allocation and the index.
      assert.are.same({ "a", "b" }, { log[1].name, log[2].name })
      assert.are.same({ v = "1" }, log[1].args[1])
      assert.are.equal(null, log[2].args[1])
      assert.are.same({ Size = 2 }, log[1].args[3])
      assert.are.same({ Group = "g", Sequence = 2 }, log[2].args[4])
    end)

    it("repeats the incoming Init for a vanilla child, as InfraKit does", function()
      children["flavor-vanilla"] = module_handle(vanilla)
      local props = {
        { Plugin = "flavor-vanilla", Properties = { Init = { "echo one" }, Tags = { t = "1" } } },
        { Plugin = "flavor-vanilla", Properties = { Init = { "echo two" } } },
      }
      local out = assert(combo.prepare(props, spec_of { Init = "boot" }, { Size = 1 }, { Group = "g", Sequence = 1 }))
      assert.are.equal("boot\nboot\necho one\nboot\necho two", out.Init)
      assert.are.same({ t = "1" }, out.Tags)
    end)

    it("answers {} tags and an empty attachment list, not null, like InfraKit's cloneSpec", function()
      local out = assert(combo.prepare({}, spec_of {}, { Size = 1 }, {}))
      assert.are.same({}, out.Tags)
      assert.are.same({}, out.Attachments)
      assert.are.equal(null, out.LogicalID)
      assert.are.equal("", out.Init)
      assert.are.equal(0, #log)
    end)

    it("fails with the first failing child's message and stops there", function()
      children.a = handle("a", log, { prepare = function() return nil, "a is broken", "EDRIVER" end })
      children.b = handle("b", log, {})
      local out, err, code = combo.prepare({ { Plugin = "a" }, { Plugin = "b" } }, spec_of {}, { Size = 1 }, {})
      assert.is_nil(out)
      assert.are.equal("a is broken", err)
      assert.are.equal("EDRIVER", code)
      assert.are.equal(1, #log)
    end)

    it("turns a child's raised error into a failure", function()
      children.a = handle("a", log, { prepare = function() error("kaboom", 0) end })
      local out, err, code = combo.prepare({ { Plugin = "a" } }, spec_of {}, { Size = 1 }, {})
      assert.is_nil(out)
      assert.are.equal("kaboom", err)
      assert.are.equal("ELUA", code)
    end)

    it("fails on an unknown child plugin", function()
      local out, err, code = combo.prepare({ { Plugin = "nope" } }, spec_of {}, { Size = 1 }, {})
      assert.is_nil(out)
      assert.are.equal("no flavor plugin nope", err)
      assert.are.equal("ENOTFOUND", code)
    end)
  end)

  describe("healthy", function()
    it("is the first answer that is not healthy, and stops asking there", function()
      local cases = {
        { { "healthy", "healthy" }, "healthy", 2 },
        { { "healthy", "unknown", "unhealthy" }, "unknown", 2 },
        { { "unhealthy", "unknown" }, "unhealthy", 1 },
        { {}, "healthy", 0 },
      }
      for _, c in ipairs(cases) do
        log, children = {}, {}
        local props = {}
        for i, answer in ipairs(c[1]) do
          local name = "f" .. i
          children[name] = handle(name, log, { healthy = function() return answer end })
          props[i] = { Plugin = name, Properties = { n = i } }
        end
        local instance = { ID = "i-1", LogicalID = null, Tags = {} }
        assert.are.equal(c[2], combo.healthy(props, instance))
        assert.are.equal(c[3], #log)
        if #log > 0 then
          assert.are.same({ n = 1 }, log[1].args[1])
          assert.are.equal(instance, log[1].args[2])
        end
      end
    end)

    it("fails with a child's failure or lookup failure", function()
      children.a = handle("a", log, { healthy = function() return nil, "cannot reach docker", "ECONNREFUSED" end })
      assert.are.same({ nil, "cannot reach docker", "ECONNREFUSED" },
        { combo.healthy({ { Plugin = "a" }, { Plugin = "b" } }, { ID = "i" }) })
      assert.are.same({ nil, "no flavor plugin b", "ENOTFOUND" },
        { combo.healthy({ { Plugin = "b" } }, { ID = "i" }) })
    end)
  end)

  describe("drain", function()
    it("drains through every child even when some fail, joining the failures with ', '", function()
      children.a = handle("a", log, { drain = function() return nil, "a failed" end })
      children.b = handle("b", log, {})
      children.c = handle("c", log, { drain = function() error("c raised", 0) end })
      local props = { { Plugin = "a" }, { Plugin = "missing" }, { Plugin = "b" }, { Plugin = "c" } }
      local ok, err, code = combo.drain(props, { ID = "i-1" })
      assert.is_nil(ok)
      assert.are.equal("a failed, no flavor plugin missing, c raised", err)
      assert.are.equal("EDRIVER", code)
      assert.are.same({ "a", "b", "c" }, { log[1].name, log[2].name, log[3].name })
    end)

    it("succeeds when every child does", function()
      children.a = handle("a", log, {})
      assert.is_true(combo.drain({ { Plugin = "a" }, { Plugin = "a" } }, { ID = "i-1" }))
      assert.are.equal(2, #log)
    end)
  end)

  describe("validate", function()
    it("checks that Properties is a list of {Plugin, Properties}", function()
      local cases = {
        { { Plugin = "a" }, "json: cannot unmarshal object into Go value of type combo.Spec" },
        { "flavor-vanilla", "json: cannot unmarshal string into Go value of type combo.Spec" },
        { { "flavor-vanilla" }, "json: cannot unmarshal string into Go value of type types.FlavorPlugin" },
        { { { Plugin = 3 } }, "json: cannot unmarshal number into Go struct field FlavorPlugin.Plugin of type string" },
      }
      for _, c in ipairs(cases) do
        for _, fn in ipairs { combo.validate, combo.healthy, combo.drain } do
          local ok, err, code = fn(c[1], { Size = 1 })
          assert.is_nil(ok)
          assert.are.equal(c[2], err)
          assert.are.equal("EINVAL", code)
        end
      end
    end)

    it("accepts an empty or null list without asking anyone", function()
      assert.is_true(combo.validate(null, { Size = 1 }))
      assert.is_true(combo.validate({}, { Size = 1 }))
      assert.are.equal(0, gets)
    end)

    it("also validates each child with its Properties and the allocation (our addition)", function()
      children.a = handle("a", log, {})
      children.b = handle("b", log, { validate = function(p) return nil, "bad Init: " .. tostring(p.Init), "EINVAL" end })
      local alloc = { LogicalIDs = { "x" } }
      assert.is_true(combo.validate({ { Plugin = "a", Properties = { k = 1 } } }, alloc))
      assert.are.same({ { k = 1 }, alloc }, log[1].args)
      assert.are.same({ nil, "b: bad Init: 7", "EINVAL" },
        { combo.validate({ { plugin = "a" }, { Plugin = "b", Properties = { Init = 7 } } }, alloc) })
      assert.are.same({ nil, "missing: no flavor plugin missing", "ENOTFOUND" },
        { combo.validate({ { Plugin = "missing" } }, alloc) })
      children.c = handle("c", log, { validate = function() return nil, "c: validate: says no", "EDRIVER" end })
      assert.are.same({ nil, "c: validate: says no", "EDRIVER" }, { combo.validate({ { Plugin = "c" } }, alloc) })
      assert.are.same({ nil, "flavor 2 of the combo has no Plugin", "EINVAL" },
        { combo.validate({ { Plugin = "a" }, { Properties = {} } }, alloc) })
    end)

    it("validates real vanilla children", function()
      children["flavor-vanilla"] = module_handle(vanilla)
      local bad = { Init = { "a" }, InitScriptTemplateURL = "file:///x" }
      local ok, err = combo.validate({ { Plugin = "flavor-vanilla", Properties = bad } }, { Size = 1 })
      assert.is_nil(ok)
      assert.are.equal('flavor-vanilla: Either "Init" or "InitScriptTemplateURL" can be specified but not both', err)
    end)
  end)

  it("looks infrakit.flavor up at call time and says so when the host has not installed it", function()
    infrakit.flavor = nil
    local ok, err, code = combo.prepare({ { Plugin = "a" } }, spec_of {}, { Size = 1 }, {})
    assert.is_nil(ok)
    assert.are.equal("child flavors are not available (infrakit.flavor is not installed)", err)
    assert.are.equal("ENOTSUP", code)
    infrakit.flavor = { get = function() return module_handle(vanilla) end }
    assert.are.equal("x", assert(combo.prepare({ { Plugin = "v", Properties = { Init = { "x" } } } },
      spec_of {}, { Size = 1 }, {})).Init)
  end)
end)
