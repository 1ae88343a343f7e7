-- infrakit.template: errors name the template, line and column; parse
-- errors come from parse, execution errors from render; both return nil,
-- message, code; misuse raises.
local template = require "infrakit.template"
local helper = dofile("spec/unit/lua/spec_helper.lua")

-- The message of a failed parse, the error expected.
local function parse_error(text, opts)
  local t, err, code = template.parse(text, opts)
  assert.is_nil(t)
  assert.are.equal("EINVAL", code)
  return err
end

-- The message of a failed render (parse must succeed).
local function render_error(text, ctx, opts)
  local t = assert(template.parse(text, opts))
  local out, err, code = t:render(ctx, opts)
  assert.is_nil(out)
  return err, code
end

describe("infrakit.template errors", function()
  helper.track_refs()

  local parse_cases = {
    { "line1\nx {{ .a ", "t:2:3: unclosed action" },
    { "{{ if .x }}a", "t:1:13: unexpected EOF in if" },
    { "a\n\n{{ end }}", "t:3:4: unexpected {{end}}" },
    { "{{ else }}", "t:1:4: unexpected {{else}}" },
    { "a\nb {{ $x }}", 't:2:6: undefined variable "$x"' },
    { "{{ .x | 3 }}", "t:1:9: non executable command in pipeline stage 2" },
    { '{{ "open }}', "t:1:4: unterminated quoted string" },
    { "{{ 3x }}", "t:1:4: bad number syntax: 3x" },
    { "{{ range $a, $b, $c := . }}{{ end }}", "t:1:14: too many declarations in range" },
    { '{{ define "a" }}x{{ end }}{{ define "a" }}y{{ end }}', 't:1:27: template: multiple definition of template "a"' },
    { '{{ block "b" . }}x{{ end }}{{ define "b" }}y{{ end }}', 't:1:28: template: multiple definition of template "b"' },
    { "{{ break }}", "t:1:4: {{break}} outside {{range}}" },
    { "a {{/* never closed", "t:1:3: unclosed comment" },
    { "{{ nil }}", "t:1:4: nil is not a command" },
    { "{{ 1 2 }}", "t:1:4: can't give argument to non-function number" },
    { "{{ $x := 1 }}{{ $x 2 }}", "t:1:17: can't give argument to non-function $x" },
    { "{{ if }}{{ end }}", "t:1:7: missing value for if" },
    { "{{ ) }}", "t:1:4: unexpected right paren" },
    { "{{ (1 }}", "t:1:1: unclosed left paren" },
    { "{{ .a.b c. }}", "t:1:10: unexpected . in operand" },
    { '{{ template . }}', "t:1:13: unexpected . in template clause" },
    { "{{ define \"x\" }}{{ else }}{{ end }}", "t:1:20: unexpected {{else}} in define clause" },
  }
  for _, c in ipairs(parse_cases) do
    it("parse: " .. c[2], function()
      assert.are.equal("template " .. c[2], parse_error(c[1], { name = "t" }))
    end)
  end

  it("a function not defined is reported at the call, before anything runs", function()
    local err, code = render_error("line1\nline2\n  {{ .a | nope 1 }}", { a = 1 }, { url = "str://x" })
    assert.are.equal('template str://x:3:11: function "nope" not defined', err)
    assert.are.equal("EINVAL", code)
  end)

  it("a function that opts.funcs adds is defined", function()
    local t = assert(template.parse("{{ nope }}"))
    assert.are.equal("ok", t:render(nil, { funcs = { nope = function() return "ok" end } }))
  end)

  local exec_cases = {
    { "a\n{{ index .l 3 }}", { l = { 1 } }, "t:2:4: error calling index: index out of range: 3" },
    { "{{ .s.x }}", { s = "str" }, "t:1:4: can't evaluate field x in type string" },
    { "{{ .l.x }}", { l = { 1 } }, "t:1:4: can't evaluate field x in type []interface {}" },
    { "{{ .n.x }}", { n = require("infrakit").json.null }, "t:1:4: nil pointer evaluating interface {}.x" },
    { '{{ template "nope" }}', nil, 't:1:4: template "nope" not defined' },
    { "{{ range .s }}{{ end }}", { s = "str" }, "t:1:10: range can't iterate over str" },
    { "{{ upper .missing }}", {}, "t:1:4: error calling upper: invalid value; expected string" },
    { "{{ len 3 }}", nil, "t:1:4: error calling len: len of type float64" },
    { "{{ lt 1 \"a\" }}", nil, "t:1:4: error calling lt: incompatible types for comparison" },
    { "{{ jsonDecode \"{bad\" }}", nil, "t:1:4: error calling jsonDecode: invalid character 'b' looking for beginning of object key string" },
    { '{{ define "r" }}{{ template "r" }}{{ end }}{{ template "r" }}', nil, "t:1:20: exceeded maximum template depth (1000)" },
    { "{{ .m.k 1 }}", { m = { k = "v" } }, "t:1:4: k is not a method but has arguments" },
    { '{{ $x := 1 }}\n  {{ $x | printf "%d" | nope2 }}', nil, 't:2:25: function "nope2" not defined' },
  }
  for _, c in ipairs(exec_cases) do
    it("render: " .. c[3], function()
      local err, code = render_error(c[1], c[2], { name = "t" })
      assert.are.equal("template " .. c[3], err)
      assert.are.equal("EINVAL", code)
    end)
  end

  it("an error raised by a user function is placed at its call", function()
    local err, code = render_error("x\n {{ boom 1 }}", nil, {
      name = "t", funcs = { boom = function() error("kaboom", 0) end },
    })
    assert.are.equal("template t:2:5: error calling boom: kaboom", err)
    assert.are.equal("EINVAL", code)
  end)

  it("a function raising { msg =, code = } chooses the code", function()
    local err, code = render_error("{{ zone }}", nil, {
      name = "t", funcs = { zone = function() error({ msg = "no zone file", code = "ENOENT" }) end },
    })
    assert.are.same({ "template t:1:4: error calling zone: no zone file", "ENOENT" }, { err, code })
  end)

  it("an error in an included template names both templates", function()
    local err, code = render_error('a\n{{ include "str://ok\\n{{ .x.y }}" . }}', { x = "s" }, { name = "outer" })
    assert.are.equal('template outer:2:4: error calling include: template str://ok...:2:4: can\'t evaluate field y in type string', err)
    assert.are.equal("EINVAL", code)
  end)

  it("a missing source keeps its code", function()
    local err, code = render_error('{{ include "/nonexistent/x.tpl" }}', nil, { name = "t" })
    assert.are.equal("template t:1:4: error calling include: open /nonexistent/x.tpl: no such file or directory", err)
    assert.are.equal("ENOENT", code)
  end)

  it("a template including itself stops", function()
    local dir = os.tmpname()
    os.remove(dir)
    local f = assert(io.open(dir, "w"))
    f:write('{{ include "' .. dir .. '" }}')
    f:close()
    local out, err, code = template.render_url(dir)
    os.remove(dir)
    assert.is_nil(out)
    assert.are.equal("EINVAL", code)
    assert.matches("templates nested more than 100 deep", err, 1, true)
  end)

  -- Found by spec/fuzz/fuzz_template.c: a few thousand levels of nesting
  -- overflowed the Lua stack in the parser (and the compiler), and parse
  -- raised "stack overflow" instead of returning an error.
  it("refuses nesting deeper than 1000 levels instead of raising", function()
    local cases = {
      { ("{{if 1}}"):rep(5000) .. ("{{end}}"):rep(5000), "t:1:7998: nested more than 1000 levels deep" },
      { "{{" .. ("("):rep(20000) .. "1" .. (")"):rep(20000) .. "}}", "t:1:1003: nested more than 1000 levels deep" },
      { "{{if 0}}" .. ("{{else if 0}}"):rep(5000) .. "{{end}}", "t:1:12993: nested more than 1000 levels deep" },
      { ("{{range .}}{{with .}}"):rep(3000) .. ("{{end}}{{end}}"):rep(3000), "nested more than 1000 levels deep" },
    }
    for _, c in ipairs(cases) do
      assert.matches(c[2], parse_error(c[1], { name = "t" }), 1, true)
    end
    assert.are.equal("1", template.render("{{" .. ("("):rep(900) .. "1" .. (")"):rep(900) .. "}}"))
  end)

  it("names a template by opts.name, else opts.url, else its first line", function()
    assert.matches("^template my%-name:1:4:", parse_error("{{ end }}", { name = "my-name", url = "file:///x" }))
    assert.matches("^template file:///x:1:4:", parse_error("a\n{{ end }}", { url = "file:///x" }):gsub(":2:", ":1:"))
    assert.matches("^template str://{{ end }}:1:4:", parse_error("{{ end }}"))
    assert.matches("^template str://first line%.%.%.:2:4:", parse_error("first line\n{{ end }}"))
    local long = string.rep("x", 50) .. "{{ end }}"
    assert.matches("^template str://" .. string.rep("x", 40) .. "%.%.%.:1:54:", parse_error(long))
  end)

  it("raises on misuse", function()
    assert.has_error(function() template.parse(42) end, "infrakit.template.parse: text must be a string, got number")
    assert.has_error(function() template.parse("x", 5) end, "infrakit.template.parse: opts must be a table, got number")
    assert.has_error(function() template.parse("x", { delims = { "{{" } }) end,
      "infrakit.template.parse: opts.delims must be { left, right }, two non-empty strings")
    assert.has_error(function() template.parse("x", { missing_key = "zap" }) end,
      'infrakit.template.parse: opts.missing_key must be "default" or "error"')
    local t = assert(template.parse("x"))
    assert.has_error(function() t:render(nil, { funcs = { f = 1 } }) end,
      "infrakit.template.render: opts.funcs.f must be a function")
    assert.has_error(function() t:render(nil, { vars = "x" }) end, "infrakit.template.render: opts.vars must be a table")
    assert.has_error(function() t.render(nil) end, "infrakit.template: call render as t:render(context, opts)")
    assert.has_error(function() template.render(nil) end, "infrakit.template.render: text must be a string, got nil")
    assert.has_error(function() template.render_url(1) end, "infrakit.template.render_url: url must be a string, got number")
  end)
end)
