-- infrakit.template.cli: `infrakit template FILE|URL [--var k=v]...
-- [--json-context FILE]`, driven through main(args, io) with captured
-- stdout and stderr.
local template_cli = require "infrakit.template.cli"
local helper = dofile("spec/unit/lua/spec_helper.lua")

local function run(args, stdin)
  local out, err = {}, {}
  local status = template_cli.main(args, {
    stdout = function(s) out[#out + 1] = s end,
    stderr = function(s) err[#err + 1] = s end,
    stdin = function() return stdin end,
  })
  return status, table.concat(out), table.concat(err)
end

describe("infrakit template (cli.main)", function()
  helper.track_refs()

  local fixtures = "spec/fixtures/templates/misc/"

  it("renders a file to stdout", function()
    local status, out, err = run({ fixtures .. "zone.tpl", "--json-context", fixtures .. "zone-context.json" })
    assert.are.same({ 0, "# first instance i-9 is in zone q", "" }, { status, out, err })
  end)

  it("types --var values as InfraKit does", function()
    local status, out = run({ 'str://{{ var "n" | printf "%T" }} {{ var "b" | printf "%T" }} {{ var "s" }} {{ var "e" }}',
      "--var", "n=3", "--var=b=true", "--var", "s=a=b", "--var", "e=" })
    assert.are.equal(0, status)
    assert.are.equal("float64 bool a=b ", out)
  end)

  it("reads the template or the context from stdin", function()
    assert.are.same({ 0, "7", "" }, { run({ "-" }, "{{ 3 | add 4 }}") })
    assert.are.same({ 0, "x", "" }, { run({ "str://{{ .k }}", "--json-context", "-" }, '{"k":"x"}') })
  end)

  it("takes --delims and --missing-key", function()
    assert.are.same({ 0, "1 {{ x }}", "" }, { run({ "str://<< .a >> {{ x }}", "--delims", "<<,>>", "--json-context", "-" }, '{"a":1}') })
    local status, _, err = run({ "str://{{ .a }}", "--missing-key", "error" })
    assert.are.equal(1, status)
    assert.matches('infrakit template: template str://{{ .a }}:1:4: nil data; no entry for key "a"', err, 1, true)
  end)

  it("prints help", function()
    local status, out = run({ "--help" })
    assert.are.equal(0, status)
    assert.are.equal(template_cli.help, out)
    assert.matches("^Usage: infrakit template %[options%] FILE|URL|%-\n", template_cli.help)
  end)

  it("exits 1 with the error when rendering fails", function()
    local status, out, err = run({ "str://{{ nope }}" })
    assert.are.same({ 1, "", 'infrakit template: template str://{{ nope }}:1:4: function "nope" not defined\n' },
      { status, out, err })
    status, out, err = run({ "/nonexistent.tpl" })
    assert.are.same({ 1, "", "infrakit template: open /nonexistent.tpl: no such file or directory\n" }, { status, out, err })
    status, out, err = run({ "str://x", "--json-context", "-" }, "{bad")
    assert.are.equal("", out)
    assert.are.equal(1, status)
    assert.matches("^infrakit template: %-: invalid JSON: ", err)
  end)

  local usage_cases = {
    { {}, "missing the template FILE or URL" },
    { { "--bogus", "x" }, 'unknown option "--bogus"' },
    { { "a", "b" }, 'unexpected argument "b"' },
    { { "a", "--var" }, "--var needs NAME=VALUE" },
    { { "a", "--var", "novalue" }, '--var "novalue": expected NAME=VALUE' },
    { { "a", "--json-context" }, "--json-context needs a file" },
    { { "a", "--missing-key", "maybe" }, '--missing-key must be "error" or "default"' },
    { { "a", "--delims", "x" }, "--delims needs LEFT,RIGHT" },
    { { "-", "--json-context", "-" }, "the template and the context cannot both come from stdin" },
  }
  for _, c in ipairs(usage_cases) do
    it("exits 2 on bad usage: " .. c[2], function()
      local status, out, err = run(c[1])
      assert.are.equal(2, status)
      assert.are.equal("", out)
      assert.are.equal("infrakit template: " .. c[2] .. "\n" .. template_cli.usage
        .. "\nRun 'infrakit template --help' for more.\n", err)
    end)
  end
end)
