-- infrakit.template._cli: what `infrakit template` runs with the options
-- the C command parsed, driven through run(opts, io) with captured stdout
-- and stderr. The command line itself (its --help, its usage errors) is
-- tested against the binary in spec/functional/cli_spec.lua.
local template_cli = require "infrakit.template._cli"
local helper = dofile("spec/unit/lua/spec_helper.lua")

local function run(opts, stdin)
  local out, err = {}, {}
  local status = template_cli.run(opts, {
    stdout = function(s) out[#out + 1] = s end,
    stderr = function(s) err[#err + 1] = s end,
    stdin = function() return stdin end,
  })
  return status, table.concat(out), table.concat(err)
end

describe("infrakit template (cli.run)", function()
  helper.track_refs()

  local fixtures = "spec/fixtures/templates/misc/"

  it("renders a file to stdout", function()
    local status, out, err = run({ source = fixtures .. "zone.tpl", json_context = fixtures .. "zone-context.json" })
    assert.are.same({ 0, "# first instance i-9 is in zone q", "" }, { status, out, err })
  end)

  it("types --var values as InfraKit does", function()
    local status, out = run({ source = 'str://{{ var "n" | printf "%T" }} {{ var "b" | printf "%T" }} {{ var "s" }} {{ var "e" }}',
      vars = { n = "3", b = "true", s = "a=b", e = "" } })
    assert.are.equal(0, status)
    assert.are.equal("float64 bool a=b ", out)
  end)

  it("reads the template or the context from stdin", function()
    assert.are.same({ 0, "7", "" }, { run({ source = "-" }, "{{ 3 | add 4 }}") })
    assert.are.same({ 0, "x", "" }, { run({ source = "str://{{ .k }}", json_context = "-" }, '{"k":"x"}') })
  end)

  it("takes --delims and --missing-key", function()
    assert.are.same({ 0, "1 {{ x }}", "" },
      { run({ source = "str://<< .a >> {{ x }}", delims = { "<<", ">>" }, json_context = "-" }, '{"a":1}') })
    local status, _, err = run({ source = "str://{{ .a }}", missing_key = "error" })
    assert.are.equal(1, status)
    assert.matches('infrakit template: template str://{{ .a }}:1:4: nil data; no entry for key "a"', err, 1, true)
  end)

  it("exits 1 with the error when rendering fails", function()
    local status, out, err = run({ source = "str://{{ nope }}" })
    assert.are.same({ 1, "", 'infrakit template: template str://{{ nope }}:1:4: function "nope" not defined\n' },
      { status, out, err })
    status, out, err = run({ source = "/nonexistent.tpl" })
    assert.are.same({ 1, "", "infrakit template: open /nonexistent.tpl: no such file or directory\n" }, { status, out, err })
    status, out, err = run({ source = "str://x", json_context = "-" }, "{bad")
    assert.are.equal("", out)
    assert.are.equal(1, status)
    assert.matches("^infrakit template: %-: invalid JSON: ", err)
  end)

  it("raises on a call without a source (misuse)", function()
    assert.has_error(function() template_cli.run({}) end)
  end)
end)
