-- infrakit.template: Go text/template syntax and semantics (actions,
-- pipelines, variables, control structures, definitions, trim markers,
-- literals, truth, missing keys, delimiters), parsed once and rendered
-- many times.
local infrakit = require "infrakit"
local template = require "infrakit.template"
local helper = dofile("spec/unit/lua/spec_helper.lua")

local null, array_mt = infrakit.json.null, infrakit.json.array_mt

local function render(text, ctx, opts)
  local out, err, code = template.render(text, ctx, opts)
  if out == nil then error(("%s (%s)"):format(tostring(err), tostring(code)), 2) end
  return out
end

local ctx = {
  Name = "web", Size = 3, Ratio = 0.5, On = true, Off = false, Zero = 0, Empty = "", Null = null,
  List = { "a", "b", "c" }, EmptyList = setmetatable({}, array_mt), EmptyMap = {},
  Map = { zeta = 26, alpha = 1, mid = 13 },
  Nested = { Inner = { Value = "deep" }, Items = { { Name = "x" }, { Name = "y" } } },
}

-- { name, template, expected }
local cases = {
  -- text and actions
  { "plain text passes through", "no actions\nhere", "no actions\nhere" },
  { "fields and nested fields", "{{ .Name }}/{{ .Nested.Inner.Value }}", "web/deep" },
  { "dot is the context", "{{ . }}", "42", 42 },
  { "numbers print as Go prints them", "{{ .Size }} {{ .Ratio }} {{ 1e3 }} {{ 0.000001 }} {{ -7 }}", "3 0.5 1000 1e-06 -7" },
  { "booleans, lists and maps print as %v", "{{ .On }} {{ .List }} {{ .Map }}", "true [a b c] map[alpha:1 mid:13 zeta:26]" },
  { "a missing key renders <no value>, null <nil>", "{{ .Nope }} {{ .Null }} {{ .Nope.Deeper }}", "<no value> <nil> <no value>" },
  { "a field of a function's result", '{{ (dict "k" "v").k }} {{ (index .Nested.Items 1).Name }}', "v y" },

  -- literals
  { "string escapes", [[{{ "a\tb\n\"q\" \x41\101\u00e9\U0001F600" }}]], "a\tb\n\"q\" AAé😀" },
  { "raw strings keep backslashes and span lines", "{{ `a\\n\nb` }}", "a\\n\nb" },
  { "number forms", "{{ 0x1F }} {{ 017 }} {{ 0o17 }} {{ 0b101 }} {{ 1_000 }} {{ 'a' }} {{ '\\n' }} {{ .5 }} {{ +3 }}",
    "31 15 15 5 1000 97 10 0.5 3" },
  { "true, false and nil", "{{ true }} {{ false }} {{ print nil }}", "true false <nil>" },

  -- pipelines and calls
  { "pipelines pass the value as the last argument", '{{ .Name | printf "%s-%s" "x" | upper }}', "X-WEB" },
  { "parenthesized pipelines", '{{ printf "%d" (len (slice .List 1)) }}', "2" },
  { "a function without arguments as an operand", "{{ list | len }}", "0" },
  { "an identifier followed by fields", '{{ (dict "a" (dict "b" 2)).a.b }}', "2" },

  -- variables
  { "declare and use", "{{ $x := .Name }}{{ $x }}{{ $x }}", "webweb" },
  { "assign changes the variable", "{{ $x := 1 }}{{ $x = 2 }}{{ $x }}", "2" },
  { "assignment inside range reaches the outer variable", "{{ $last := \"\" }}{{ range .List }}{{ $last = . }}{{ end }}{{ $last }}", "c" },
  { "$ is the root inside range and with", "{{ range .List }}{{ $.Name }}{{ end }}{{ with .Nested }}{{ $.Size }}{{ end }}", "webwebweb3" },
  { "variable fields", "{{ $n := .Nested }}{{ $n.Inner.Value }}", "deep" },
  { "a variable declared in a block ends at its end", "{{ $x := 1 }}{{ if true }}{{ $x := 2 }}{{ $x }}{{ end }}{{ $x }}", "21" },

  -- if / else if / else
  { "if", "{{ if .On }}yes{{ end }}{{ if .Off }}no{{ end }}", "yes" },
  { "else if chains", "{{ range .List }}{{ if eq . \"a\" }}A{{ else if eq . \"b\" }}B{{ else }}?{{ end }}{{ end }}", "AB?" },
  { "if with a declaration", "{{ if $n := len .List }}{{ $n }} items{{ end }}", "3 items" },

  -- truth
  { "Go's truth: empty values are false",
    "{{ if .Empty }}1{{ end }}{{ if .Zero }}2{{ end }}{{ if .Off }}3{{ end }}{{ if .Null }}4{{ end }}{{ if .Nope }}5{{ end }}"
      .. "{{ if .EmptyList }}6{{ end }}{{ if .EmptyMap }}7{{ end }}{{ if .List }}8{{ end }}{{ if .Map }}9{{ end }}{{ if 0.5 }}10{{ end }}",
    "8910" },

  -- range
  { "range over a list", "{{ range .List }}[{{ . }}]{{ end }}", "[a][b][c]" },
  { "range with index and element", "{{ range $i, $e := .List }}{{ $i }}{{ $e }} {{ end }}", "0a 1b 2c " },
  { "range with one variable gets the element", "{{ range $e := .List }}{{ $e }}{{ end }}", "abc" },
  { "range over a map in sorted key order", "{{ range $k, $v := .Map }}{{ $k }}={{ $v }};{{ end }}", "alpha=1;mid=13;zeta=26;" },
  { "range over a map's values", "{{ range .Map }}{{ . }},{{ end }}", "1,13,26," },
  { "range else for empty collections", "{{ range .EmptyList }}x{{ else }}empty{{ end }} {{ range .Nope }}x{{ else }}none{{ end }}", "empty none" },
  { "range over an integer", "{{ range 3 }}{{ . }}{{ end }}", "012" },
  { "break and continue", "{{ range $i, $e := .List }}{{ if eq $i 1 }}{{ continue }}{{ end }}{{ if eq $i 2 }}{{ break }}{{ end }}{{ $e }}{{ end }}", "a" },
  { "nested ranges keep their own dot", "{{ range .Nested.Items }}{{ $n := .Name }}{{ range $.List }}{{ $n }}{{ . }}{{ end }} {{ end }}", "xaxbxc yaybyc " },

  -- with
  { "with sets dot", "{{ with .Nested.Inner }}{{ .Value }}{{ end }}", "deep" },
  { "with else", "{{ with .Nope }}x{{ else }}{{ .Name }}{{ end }}", "web" },
  { "else with", "{{ with .Nope }}x{{ else with .Name }}{{ . }}{{ end }}", "web" },
  { "with a declaration", "{{ with $v := .Size }}{{ $v }}{{ . }}{{ end }}", "33" },

  -- define / template / block
  { "define and template", '{{ define "item" }}<{{ . }}>{{ end }}{{ range .List }}{{ template "item" . }}{{ end }}', "<a><b><c>" },
  { "template without data has nil dot", '{{ define "t" }}[{{ . }}]{{ end }}{{ template "t" }}', "[<no value>]" },
  { "templates call templates, recursively", '{{ define "count" }}{{ if gt . 0 }}{{ . }}{{ template "count" sub . 1 }}{{ end }}{{ end }}{{ template "count" 3 }}', "321" },
  { "block defines and runs", '{{ block "b" .Name }}[{{ . }}]{{ end }}', "[web]" },
  { "an empty define does not replace a body", '{{ define "b" }}body{{ end }}{{ define "b" }} {{ end }}{{ template "b" }}', "body" },
  { "$ inside a defined template is its data", '{{ define "t" }}{{ $ }}{{ end }}{{ template "t" "x" }}', "x" },

  -- comments and trim markers
  { "comments render nothing", "a{{/* a comment\nover lines */}}b", "ab" },
  { "trim markers trim all white space on their side", "a  \n\t{{- .Name -}}  \n  b", "awebb" },
  { "a trim marker needs a space", "{{ 3 -}} {{- -3 }}", "3-3" },
  { "trimmed comments", "a {{- /* c */ -}} b", "ab" },
  { "only the marked side is trimmed", "a {{- .Size }} b {{ .Size -}} c", "a3 b 3c" },

  -- and / or short-circuit
  { "and stops at the first false value", "{{ and .Nope (index .Nope 3) }}", "<no value>" },
  { "or stops at the first true value", "{{ or .Name (index .Nope 3) }}", "web" },
}

describe("infrakit.template syntax", function()
  helper.track_refs()

  for _, c in ipairs(cases) do
    it(c[1], function()
      local data = ctx
      if c[4] ~= nil then data = c[4] end
      assert.are.equal(c[3], render(c[2], data))
    end)
  end

  it("custom delimiters", function()
    assert.are.equal("web {{ .Name }}", render("[[ .Name ]] {{ .Name }}", ctx, { delims = { "[[", "]]" } }))
    assert.are.equal("x", render("<%- .X -%>", { X = "x" }, { delims = { "<%", "%>" } }))
  end)

  it('missing_key "error" makes a missing key an error', function()
    local out, err, code = template.render("{{ .Name }} {{ .Nope }}", ctx, { missing_key = "error" })
    assert.is_nil(out)
    assert.are.equal("EINVAL", code)
    assert.matches(':1:16: map has no entry for key "Nope"$', err)
    assert.are.equal("web", render("{{ .Name }}", ctx, { missing_key = "error" }))
  end)

  it("parses once and renders many times with different data", function()
    local t = assert(template.parse("{{ range . }}{{ . }},{{ end }}"))
    assert.are.equal("1,2,", t:render({ 1, 2 }))
    assert.are.equal("x,", t:render({ "x" }))
    assert.are.equal("", t:render(nil))
  end)

  it("var values do not leak from one render to the next", function()
    local t = assert(template.parse('{{ var "n" }}{{ var "n" 1 }}'))
    assert.are.equal("<no value>", t:render(nil))
    assert.are.equal("<no value>", t:render(nil))
    assert.are.equal("7", t:render(nil, { vars = { n = 7 } }))
  end)

  it("renders concurrently from several tasks", function()
    local t = assert(template.parse('{{ . }}:{{ include "str://{{ . }}" . }}'))
    local tasks = {}
    for i = 1, 5 do
      tasks[i] = infrakit.spawn(function() return t:render(i) end)
    end
    for i, task in ipairs(tasks) do assert.are.equal(i .. ":" .. i, task:wait()) end
  end)

  it("a function stored in the data is called with arguments, or through call", function()
    local data = { greet = function(who) return "hi " .. who end }
    assert.are.equal("hi x hi y", render('{{ .greet "x" }} {{ call .greet "y" }}', data))
  end)

  it("keeps the generated Lua source for inspection", function()
    local t = assert(template.parse("{{ .a }}"))
    assert.matches("field%(dot, \"a\"", t.source)
  end)
end)
