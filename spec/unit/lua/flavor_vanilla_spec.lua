local infrakit = require "infrakit"
local helper = dofile("spec/unit/lua/spec_helper.lua")
local json = infrakit.json
local null = json.null

local vanilla = require "infrakit.flavors.vanilla"

-- Recorded from InfraKit's flavor-vanilla (shared/reference/wire-examples.md):
-- the params of each request and the result of its response, verbatim.
local WIRE = {
  {
    name = "Flavor.Prepare (group controller, cattle)",
    method = "prepare",
    params = [[{"Type":"","Properties":{"Init":["echo hello"],"Tags":{"tier":"web"}},"Spec":{"Properties":{"Note":"v1"},"Tags":{"infrakit.config.hash":"rsfonnrfmaykaiytaj26ud5ixjk7m4rd","infrakit.group":"cattle"},"Init":"","LogicalID":null,"Attachments":null},"Allocation":{"Size":2,"LogicalIDs":null},"Index":{"Group":"cattle","Sequence":2}}]],
    result = [[{"Type":"","Spec":{"Properties":{"Note":"v1"},"Tags":{"infrakit.config.hash":"rsfonnrfmaykaiytaj26ud5ixjk7m4rd","infrakit.group":"cattle","tier":"web"},"Init":"echo hello","LogicalID":null,"Attachments":null}}]],
  },
  {
    name = "Flavor.Prepare (< > & in Init, null Tags)",
    method = "prepare",
    params = [[{"Type":"","Properties":{"Init":["a && b > c <d>"]},"Spec":{"Properties":null,"Tags":null,"Init":"","LogicalID":null,"Attachments":null},"Allocation":{"Size":1},"Index":{"Group":"g","Sequence":0}}]],
    result = [[{"Type":"","Spec":{"Properties":null,"Tags":null,"Init":"a \u0026\u0026 b \u003e c \u003cd\u003e","LogicalID":null,"Attachments":null}}]],
  },
  {
    name = "Flavor.Validate",
    method = "validate",
    params = [[{"Type":"","Properties":{"Init":["echo hello"],"Tags":{"tier":"web"}},"Allocation":{"Size":2,"LogicalIDs":null}}]],
    result = [[{"Type":"","OK":true}]],
  },
  {
    name = "Flavor.Healthy",
    method = "healthy",
    params = [[{"Type":"","Properties":{"Init":["echo hello"],"Tags":{"tier":"web"}},"Instance":{"ID":"instance-699540940445105669","LogicalID":null,"Tags":{"infrakit.config.hash":"rsfonnrfmaykaiytaj26ud5ixjk7m4rd","infrakit.group":"cattle","tier":"web"},"Properties":{"Properties":{"Note":"v1"},"Tags":{"infrakit.config.hash":"rsfonnrfmaykaiytaj26ud5ixjk7m4rd","infrakit.group":"cattle","tier":"web"},"Init":"echo hello","LogicalID":null,"Attachments":null}}}]],
    result = [[{"Type":"","Health":1}]],
  },
  {
    name = "Flavor.Drain",
    method = "drain",
    params = [[{"Type":"","Properties":{"Init":["echo hello"],"Tags":{"tier":"web"}},"Instance":{"ID":"instance-1474293218154031030","LogicalID":null,"Tags":{"infrakit.config.hash":"rsfonnrfmaykaiytaj26ud5ixjk7m4rd","infrakit.group":"cattle","tier":"web"},"Properties":{"Properties":{"Note":"v1"},"Tags":{"infrakit.config.hash":"rsfonnrfmaykaiytaj26ud5ixjk7m4rd","infrakit.group":"cattle","tier":"web"},"Init":"echo hello","LogicalID":null,"Attachments":null}}}]],
    result = [[{"Type":"","OK":true}]],
  },
}

-- Calls the flavor the way the host does and shapes the answer as the
-- Flavor.* result InfraKit sends.
local HEALTH = { unknown = 0, healthy = 1, unhealthy = 2 }
local function answer(method, p)
  if method == "prepare" then
    local spec = assert(vanilla.prepare(p.Properties, p.Spec, p.Allocation, p.Index))
    return { Type = p.Type, Spec = spec }
  elseif method == "validate" then
    return { Type = p.Type, OK = assert(vanilla.validate(p.Properties, p.Allocation)) }
  elseif method == "healthy" then
    return { Type = p.Type, Health = HEALTH[assert(vanilla.healthy(p.Properties, p.Instance))] }
  else
    return { Type = p.Type, OK = assert(vanilla.drain(p.Properties, p.Instance)) }
  end
end

local function spec_of(t)
  local s = { Properties = null, Tags = null, Init = "", LogicalID = null, Attachments = null }
  for k, v in pairs(t or {}) do s[k] = v end
  return s
end

-- Runs fn with require("infrakit.template") resolving to fake (or, with
-- fake == false, failing as if the module were not installed).
local function with_template(fake, fn)
  local saved_loaded, saved_loaders = package.loaded["infrakit.template"], package.loaders
  package.loaded["infrakit.template"] = nil
  if fake then
    package.loaded["infrakit.template"] = fake
  else
    package.loaders = { function(name) return "\n\tno module " .. name .. " in this test" end }
  end
  local ok, err = pcall(fn)
  package.loaded["infrakit.template"] = saved_loaded
  package.loaders = saved_loaders
  if not ok then error(err, 0) end
end

describe("flavor vanilla", function()
  helper.track_refs()

  describe("answers as InfraKit's flavor-vanilla did on the wire", function()
    for _, case in ipairs(WIRE) do
      it(case.name, function()
        local params = assert(json.decode(case.params))
        local got = json.encode(answer(case.method, params))
        assert.are.same(assert(json.decode(case.result)), assert(json.decode(got)))
      end)
    end

    it("keeps < > & in Init byte for byte", function()
      local p = assert(json.decode(WIRE[2].params))
      local spec = assert(vanilla.prepare(p.Properties, p.Spec, p.Allocation, p.Index))
      assert.are.equal("a && b > c <d>", spec.Init)
    end)
  end)

  describe("prepare", function()
    it("joins the spec's Init and the Init lines with newlines", function()
      local cases = {
        { spec = "", lines = { "a", "b" }, want = "a\nb" },
        { spec = "first", lines = { "a", "b" }, want = "first\na\nb" },
        { spec = "first", lines = {}, want = "first" },
        { spec = "first\n", lines = { "a" }, want = "first\n\na" },
        { spec = "", lines = {}, want = "" },
        { spec = null, lines = { "a" }, want = "a" },
      }
      for _, c in ipairs(cases) do
        local out = assert(vanilla.prepare({ Init = c.lines }, spec_of { Init = c.spec }, { Size = 1 }, { Group = "g", Sequence = 1 }))
        assert.are.equal(c.want, out.Init)
      end
    end)

    it("merges tags over the spec's tags without changing the spec passed in", function()
      local spec = spec_of { Tags = { a = "spec", b = "spec" } }
      local out = assert(vanilla.prepare({ Tags = { b = "flavor", c = "flavor" } }, spec, { Size = 1 }, {}))
      assert.are.same({ a = "spec", b = "flavor", c = "flavor" }, out.Tags)
      assert.are.same({ a = "spec", b = "spec" }, spec.Tags)
      assert.are.equal("", spec.Init)
    end)

    it("creates Tags on a spec that had none only when there are tags to add", function()
      local out = assert(vanilla.prepare({ Tags = { t = "1" } }, spec_of {}, { Size = 1 }, {}))
      assert.are.same({ t = "1" }, out.Tags)
      out = assert(vanilla.prepare({ Tags = {} }, spec_of {}, { Size = 1 }, {}))
      assert.are.equal(null, out.Tags)
    end)

    it("appends attachments, normalised to {ID, Type}", function()
      local spec = spec_of { Attachments = { { ID = "vol-0", Type = "ebs" } } }
      local out = assert(vanilla.prepare({ Attachments = { { ID = "vol-1", Type = "ebs" }, { id = "eth1" } } }, spec, { Size = 1 }, {}))
      assert.are.same({ { ID = "vol-0", Type = "ebs" }, { ID = "vol-1", Type = "ebs" }, { ID = "eth1", Type = "" } },
        out.Attachments)
      assert.are.equal(1, #spec.Attachments)
      out = assert(vanilla.prepare({ Init = { "x" } }, spec_of {}, { Size = 1 }, {}))
      assert.are.equal(null, out.Attachments)
    end)

    it("passes everything else through: Properties, LogicalID, unknown keys", function()
      local spec = spec_of { Properties = { Note = "v1" }, LogicalID = "10.0.0.1", Extra = 42 }
      local out = assert(vanilla.prepare(null, spec, { LogicalIDs = { "10.0.0.1" } }, { Group = "g", Sequence = 1 }))
      assert.are.same({ Properties = { Note = "v1" }, Tags = null, Init = "", LogicalID = "10.0.0.1",
        Attachments = null, Extra = 42 }, out)
    end)

    it("treats nil and null Properties as empty, and matches field names case-insensitively", function()
      assert.are.equal("s", assert(vanilla.prepare(nil, spec_of { Init = "s" }, {}, {})).Init)
      local out = assert(vanilla.prepare({ init = { "x" }, TAGS = { k = "v" } }, spec_of {}, {}, {}))
      assert.are.equal("x", out.Init)
      assert.are.same({ k = "v" }, out.Tags)
    end)

    it("fails with Go's message on Properties of the wrong shape", function()
      local cases = {
        { { Init = "echo hi" }, "json: cannot unmarshal string into Go struct field Spec.Init of type []string" },
        { { Init = { 1 } }, "json: cannot unmarshal number into Go struct field Spec.Init of type string" },
        { { Tags = { "a" } }, "json: cannot unmarshal array into Go struct field Spec.Tags of type map[string]string" },
        { { Tags = { k = true } }, "json: cannot unmarshal bool into Go struct field Spec.Tags of type string" },
        { { Attachments = { "vol" } }, "json: cannot unmarshal string into Go value of type instance.Attachment" },
        { { "echo" }, "json: cannot unmarshal array into Go value of type vanilla.Spec" },
        { "echo", "json: cannot unmarshal string into Go value of type vanilla.Spec" },
      }
      for _, c in ipairs(cases) do
        local out, err, code = vanilla.prepare(c[1], spec_of {}, { Size = 1 }, {})
        assert.is_nil(out)
        assert.are.equal(c[2], err)
        assert.are.equal("EINVAL", code)
        local ok, verr = vanilla.validate(c[1], { Size = 1 })
        assert.is_nil(ok)
        assert.are.equal(c[2], verr)
      end
    end)
  end)

  describe("validate", function()
    it("accepts empty, null and ordinary Properties", function()
      assert.is_true(vanilla.validate(nil, { Size = 1 }))
      assert.is_true(vanilla.validate(null, { Size = 1 }))
      assert.is_true(vanilla.validate({}, { Size = 1 }))
      assert.is_true(vanilla.validate({ Init = { "a" }, Tags = { t = "1" }, Attachments = {} }, { LogicalIDs = { "a" } }))
    end)

    it("refuses Init together with InitScriptTemplateURL", function()
      local ok, err, code = vanilla.validate({ Init = { "a" }, InitScriptTemplateURL = "file:///x" }, { Size = 1 })
      assert.is_nil(ok)
      assert.are.equal('Either "Init" or "InitScriptTemplateURL" can be specified but not both', err)
      assert.are.equal("EINVAL", code)
      -- An empty Init list does not count.
      with_template({ render_url = function() return "" end }, function()
        assert.is_true(vanilla.validate({ Init = {}, InitScriptTemplateURL = "file:///x" }, { Size = 1 }))
      end)
    end)
  end)

  describe("healthy and drain", function()
    it("are always healthy and a no-op", function()
      assert.are.equal("healthy", vanilla.healthy(nil, { ID = "i-1", LogicalID = null, Tags = {} }))
      assert.is_true(vanilla.drain(nil, { ID = "i-1", LogicalID = null, Tags = {} }))
    end)
  end)

  describe("InitScriptTemplateURL", function()
    local calls, fake
    before_each(function()
      calls = {}
      fake = {
        render_url = function(url, context, opts)
          infrakit.sleep(0) -- the real engine yields while fetching
          calls[#calls + 1] = { url = url, context = context, opts = opts }
          if url == "file:///broken.tpl" then return nil, "template: broken.tpl:1: unexpected }}", "EINVAL" end
          local f = opts.funcs
          return ("hostname %s-%s size=%s seq=%s group=%s"):format(f.SPEC().Prefix or "?", f.INSTANCE_LOGICAL_ID(),
            tostring(f.ALLOCATIONS().Size), tostring(f.INDEX().Sequence), f.INDEX().Group)
        end,
      }
    end)

    it("prepare renders the template (yielding) and appends it to the spec's Init", function()
      with_template(fake, function()
        local props = { InitScriptTemplateURL = "file:///init.tpl", Prefix = "web", Tags = { t = "1" } }
        local out = assert(vanilla.prepare(props, spec_of { Init = "set -e", LogicalID = "10.0.0.1" },
          { Size = 3 }, { Group = "workers", Sequence = 3 }))
        assert.are.equal("set -e\nhostname web-10.0.0.1 size=3 seq=3 group=workers", out.Init)
        assert.are.same({ t = "1" }, out.Tags)
        assert.are.equal(1, #calls)
        assert.are.equal("file:///init.tpl", calls[1].url)
        assert.is_nil(calls[1].context) -- InfraKit renders with a nil context
      end)
    end)

    it("wins over Init lines in prepare, as in InfraKit", function()
      with_template(fake, function()
        local out = assert(vanilla.prepare({ InitScriptTemplateURL = "file:///init.tpl", Init = { "ignored" } },
          spec_of {}, { Size = 1 }, { Group = "g", Sequence = 1 }))
        assert.are.equal("hostname ?- size=1 seq=1 group=g", out.Init)
      end)
    end)

    it("validate renders it once, with no instance yet", function()
      with_template(fake, function()
        assert.is_true(vanilla.validate({ InitScriptTemplateURL = "file:///init.tpl" }, { Size = 2 }))
        assert.are.equal(1, #calls)
      end)
    end)

    it("passes the engine's failure through", function()
      with_template(fake, function()
        local props = { InitScriptTemplateURL = "file:///broken.tpl" }
        for _, r in ipairs {
          { vanilla.validate(props, { Size = 1 }) },
          { vanilla.prepare(props, spec_of {}, { Size = 1 }, {}) },
        } do
          assert.is_nil(r[1])
          assert.are.equal("template: broken.tpl:1: unexpected }}", r[2])
          assert.are.equal("EINVAL", r[3])
        end
      end)
    end)

    it("fails clearly when the template engine is not installed", function()
      with_template(false, function()
        local props = { InitScriptTemplateURL = "file:///init.tpl" }
        for _, r in ipairs {
          { vanilla.validate(props, { Size = 1 }) },
          { vanilla.prepare(props, spec_of {}, { Size = 1 }, {}) },
        } do
          assert.is_nil(r[1])
          assert.matches("templates are not available", r[2], 1, true)
          assert.are.equal("ENOTSUP", r[3])
        end
        -- Plain Init needs no engine.
        assert.are.equal("a", assert(vanilla.prepare({ Init = { "a" } }, spec_of {}, { Size = 1 }, {})).Init)
      end)
    end)
  end)
end)
