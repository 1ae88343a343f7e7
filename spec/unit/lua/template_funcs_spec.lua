-- infrakit.template: every built-in function (Go's, InfraKit's, Sprig's),
-- and the JMESPath and YAML subsets behind q and yamlDecode/yamlEncode.
local infrakit = require "infrakit"
local template = require "infrakit.template"
local helper = dofile("spec/unit/lua/spec_helper.lua")

local null = infrakit.json.null

local function render(text, ctx, opts)
  local out, err, code = template.render(text, ctx, opts)
  if out == nil then error(("%s (%s)"):format(tostring(err), tostring(code)), 2) end
  return out
end

local ctx = {
  s = "Hello", n = 42, f = 2.5, t = true, z = 0, e = "", null = null,
  l = setmetatable({ "a", "b", "c" }, infrakit.json.array_mt),
  nums = { 3, 1, 2 },
  m = { x = 1, y = "two", ["k-dash"] = "dashed" },
  people = {
    { name = "ann", age = 31, tags = { "a", "b" } },
    { name = "bob", age = 25, tags = { "c" } },
    { name = "cy", age = 40, tags = {} },
  },
  fn = function() return "called" end,
}

-- { function, template, expected } (context above). Every built-in function
-- appears as the first element of at least one case.
local cases = {
  -- Go builtins
  { "and", "{{ and 1 2 }} {{ and 1 0 2 }} {{ and .e (index .l 9) }}", "2 0 " },
  { "or", "{{ or 0 .e .s }} {{ or 0 .e }}", "Hello " },
  { "not", "{{ not .t }} {{ not .e }} {{ not .l }}", "false true false" },
  { "len", "{{ len .s }} {{ len .l }} {{ len .m }}", "5 3 3" },
  { "index", '{{ index .l 1 }} {{ index .m "k-dash" }} {{ index .people 0 "tags" 1 }} {{ index .s 0 }}', "b dashed b 72" },
  { "slice", "{{ slice .l 1 }} {{ slice .l 0 2 }} {{ slice .s 1 3 }}", "[b c] [a b] el" },
  { "print", '{{ print 1 2 "a" "b" 3 }}', "1 2ab3" },
  { "printf", '{{ printf "%s|%d|%5.2f|%-3d|%03d|%q|%v|%t|%x|%X|%o|%b|%c|%e|%g|%%|%T" "s" 42 3.14159 7 5 "q\\"" .l true 255 255 8 5 65 1500.0 0.5 "x" }}',
    's|42| 3.14|7  |005|"q\\""|[a b c]|true|ff|FF|10|101|A|1.500000e+03|0.5|%|string' },
  { "printf", '{{ printf "%d %s" 1 }}|{{ printf "%d" 1 2 }}|{{ printf "%d" "x" }}|{{ printf "%d" 1.5 }}',
    "1 %!s(MISSING)|1%!(EXTRA float64=2)|%!d(string=x)|%!d(float64=1.5)" },
  { "println", '{{ println 1 "a" }}', "1 a\n" },
  { "eq", '{{ eq 1 1 }} {{ eq .s "x" "Hello" }} {{ eq .missing "x" }} {{ eq .t true }}', "true true false true" },
  { "ne", '{{ ne 1 2 }} {{ ne "a" "a" }}', "true false" },
  { "lt", '{{ lt 1 2 }} {{ lt "b" "a" }}', "true false" },
  { "le", "{{ le 2 2 }} {{ le 3 2 }}", "true false" },
  { "gt", "{{ gt 3 2 }} {{ gt 2 2 }}", "true false" },
  { "ge", "{{ ge 2 2 }} {{ ge 1 2 }}", "true false" },
  { "html", '{{ html "<a href=\'x\'>&\\"" }}', "&lt;a href=&#39;x&#39;&gt;&amp;&#34;" },
  { "js", '{{ js "it\'s \\"<b>\\" & a=b\\n" }}', "it\\'s \\\"\\u003Cb\\u003E\\\" \\u0026 a\\u003Db\\u000A" },
  { "urlquery", '{{ urlquery "a b&c=d/é" }}', "a+b%26c%3Dd%2F%C3%A9" },
  { "call", "{{ call .fn }}", "called" },

  -- InfraKit's
  { "q", '{{ q "people[?age > `30`].name" . | join "," }}', "ann,cy" },
  { "jsonEncode", "{{ jsonEncode .m }}", '{\n  "k-dash": "dashed",\n  "x": 1,\n  "y": "two"\n}' },
  { "jsonEncodeIndent", '{{ jsonEncodeIndent ">" "\\t" (list 1 2) }}', "[\n>\t1,\n>\t2\n>]" },
  { "jsonDecode", '{{ $v := jsonDecode "{\\"a\\":[1,2],\\"b\\":null}" }}{{ index $v.a 1 }} {{ $v.b }} {{ len $v.a }}', "2 <nil> 2" },
  { "yamlEncode", '{{ yamlEncode (dict "b" (list 1 "true") "a" "x: y") }}', 'a: "x: y"\nb:\n- 1\n- "true"\n' },
  { "yamlDecode", '{{ $v := yamlDecode "a: 1\\nb: [x, z]\\n" }}{{ $v.a }} {{ index $v.b 1 }}', "1 z" },
  { "lines", '{{ range lines "a\\nb\\n" }}[{{ . }}]{{ end }}', "[a][b][]" },
  { "index_of", '{{ index_of "b" .l }} {{ index_of "z" .l }} {{ index_of 2 (list "1" "2") }} {{ index_of 2 (list "1" "2") true }}', "1 -1 1 -1" },
  { "indexOf", '{{ indexOf "c" .l }}', "2" },
  { "iniDecode", '{{ $i := iniDecode "a = 1\\n[s]\\n; c\\nk = v w\\n" }}{{ index $i "" "a" }} {{ $i.s.k }}', "1 v w" },
  { "escape", '{{ escape "{{ x }}" }}', "\\{\\{ x \\}\\}" },
  { "unescape", '{{ "{{ x }}" | escape | unescape }}', "{{ x }}" },
  { "loop", "{{ range $i, $_ := loop 3 }}{{ $i }}{{ end }} {{ len (loop 2) }}", "012 2" },
  { "var", '{{ var "a" 1 }}{{ var "a" }} {{ .s | var "b" }}{{ var "b" }} {{ var "unset" }}', "1 Hello <no value>" },

  -- Sprig: strings
  { "cat", '{{ cat "a" 1 .missing true }}', "a 1 true" },
  { "split", '{{ $p := split "," "a,b,c" }}{{ $p._0 }}{{ $p._2 }} {{ len $p }}', "ac 3" },
  { "splitList", '{{ splitList "," "a,,b" }} {{ len (splitList "" "héy") }}', "[a  b] 3" },
  { "join", '{{ join "-" .l }} {{ join "," (list 1 2.5 true) }}', "a-b-c 1,2.5,true" },
  { "trim", '{{ trim "  x y \\n" }}', "x y" },
  { "trimAll", '{{ trimAll "$-" "$-x$y-$" }}', "x$y" },
  { "trimPrefix", '{{ trimPrefix "ab" "abc" }} {{ trimPrefix "z" "abc" }}', "c abc" },
  { "trimSuffix", '{{ trimSuffix ".tpl" "a.tpl" }}', "a" },
  { "upper", "{{ upper .s }}", "HELLO" },
  { "lower", "{{ lower .s }}", "hello" },
  { "title", '{{ title "hello wide-world foo_bar" }}', "Hello Wide-World Foo_bar" },
  { "untitle", '{{ untitle "Hello World" }}', "hello world" },
  { "replace", '{{ replace "a" "o" "banana" }}', "bonono" },
  { "repeat", '{{ repeat 3 "ab" }}', "ababab" },
  { "contains", '{{ contains "ell" .s }} {{ contains "x" .s }}', "true false" },
  { "hasPrefix", '{{ hasPrefix "He" .s }}', "true" },
  { "hasSuffix", '{{ hasSuffix "lo" .s }} {{ hasSuffix "x" .s }}', "true false" },
  { "quote", '{{ quote "a\\"b" 1 }}', '"a\\"b" "1"' },
  { "squote", '{{ squote "a" 1 }}', "'a' '1'" },
  { "indent", '{{ indent 2 "a\\nb" }}', "  a\n  b" },
  { "nindent", '{{ nindent 2 "a" }}', "\n  a" },
  { "nospace", '{{ nospace " a b\\tc " }}', "abc" },
  { "trunc", '{{ trunc 3 "abcdef" }} {{ trunc -2 "abcdef" }}', "abc ef" },
  { "substr", '{{ substr 1 3 "abcdef" }}', "bc" },
  { "abbrev", '{{ abbrev 6 "abcdefghij" }}', "abc..." },

  -- Sprig: defaults and logic
  { "default", '{{ default "d" .missing }} {{ default "d" .e }} {{ default "d" .z }} {{ default "d" .s }} {{ .missing | default "p" }}', "d d d Hello p" },
  { "empty", "{{ empty .e }} {{ empty .z }} {{ empty .l }} {{ empty .null }} {{ empty .missing }}", "true true false true true" },
  { "coalesce", '{{ coalesce .missing .e .z "x" }}', "x" },
  { "ternary", '{{ ternary "y" "n" .t }} {{ ternary "y" "n" .e }}', "y n" },

  -- Sprig: lists
  { "list", '{{ list 1 "a" .t }}', "[1 a true]" },
  { "tuple", "{{ tuple 1 2 | len }}", "2" },
  { "first", "{{ first .l }}", "a" },
  { "last", "{{ last .l }}", "c" },
  { "rest", "{{ rest .l }}", "[b c]" },
  { "initial", "{{ initial .l }}", "[a b]" },
  { "uniq", "{{ uniq (list 1 2 1 3 3) }}", "[1 2 3]" },
  { "compact", '{{ compact (list 1 "" 0 "a") }}', "[1 a]" },
  { "without", '{{ without .l "b" }}', "[a c]" },
  { "has", '{{ has "b" .l }} {{ has "z" .l }}', "true false" },
  { "append", '{{ append .l "d" }} {{ len .l }}', "[a b c d] 3" },
  { "push", '{{ push (list) 1 }}', "[1]" },
  { "prepend", '{{ prepend .l "z" }}', "[z a b c]" },
  { "reverse", "{{ reverse .l }}", "[c b a]" },
  { "sortAlpha", '{{ sortAlpha (list "b" "c" "a") }}', "[a b c]" },
  { "until", "{{ until 3 }}", "[0 1 2]" },
  { "untilStep", "{{ untilStep 0 10 4 }}", "[0 4 8]" },
  { "seq", "{{ seq 3 }}|{{ seq 2 4 }}|{{ seq 0 5 10 }}|{{ seq 3 1 }}", "1 2 3|2 3 4|0 5 10|3 2 1" },

  -- Sprig: maps
  { "dict", '{{ $d := dict "a" 1 "b" "x" }}{{ $d.a }}{{ $d.b }} {{ dict "k" | toJson }}', '1x {"k":""}' },
  { "keys", "{{ keys .m }}", "[k-dash x y]" },
  { "values", '{{ values (dict "b" 2 "a" 1) }}', "[1 2]" },
  { "hasKey", '{{ hasKey .m "x" }} {{ hasKey .m "z" }}', "true false" },
  { "pluck", '{{ pluck "a" (dict "a" 1) (dict "b" 2) (dict "a" 3) }}', "[1 3]" },
  { "set", '{{ $d := dict }}{{ $_ := set $d "k" "v" }}{{ $d.k }}', "v" },
  { "unset", '{{ $d := dict "a" 1 "b" 2 }}{{ unset $d "a" | keys }}', "[b]" },
  { "get", '{{ get .m "y" }}|{{ get .m "nope" }}', "two|" },
  { "merge", '{{ merge (dict "a" 1) (dict "a" 2 "b" 3) | toJson }}', '{"a":1,"b":3}' },

  -- Sprig: numbers
  { "add", "{{ add 1 2 3 }} {{ add .f 1 }}", "6 3" },
  { "add1", "{{ add1 .n }}", "43" },
  { "sub", "{{ sub 10 .n }}", "-32" },
  { "mul", "{{ mul 2 3 4 }}", "24" },
  { "div", "{{ div 7 2 }} {{ div -7 2 }}", "3 -3" },
  { "mod", "{{ mod 7 3 }} {{ mod -7 3 }}", "1 -1" },
  { "max", "{{ max 1 5 3 }}", "5" },
  { "min", "{{ min 4 2 8 }}", "2" },
  { "int", '{{ int "12" }} {{ int 3.9 }} {{ int "0x1f" }} {{ int "x" }}', "12 3 31 0" },
  { "int64", '{{ int64 "-5" }}', "-5" },
  { "float64", '{{ float64 "2.5" }} {{ float64 3 }}', "2.5 3" },
  { "atoi", '{{ atoi "17" }}', "17" },

  -- Sprig: conversion and encoding
  { "toString", "{{ toString .n | printf \"%q\" }} {{ toString .l }}", '"42" [a b c]' },
  { "toStrings", "{{ toStrings (list 1 2) | toJson }}", '["1","2"]' },
  { "toJson", '{{ toJson .m }} {{ toJson "<&>" }}', '{"k-dash":"dashed","x":1,"y":"two"} "\\u003c\\u0026\\u003e"' },
  { "toPrettyJson", "{{ toPrettyJson (list 1) }}", "[\n  1\n]" },
  { "b64enc", '{{ b64enc "hello world" }}', "aGVsbG8gd29ybGQ=" },
  { "b64dec", '{{ b64dec "aGVsbG8gd29ybGQ=" }}|{{ b64dec "!!" }}', "hello world|illegal base64 data at input byte 0" },
  { "sha256sum", '{{ sha256sum "" }}', "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855" },
  { "typeOf", '{{ typeOf 1 }} {{ typeOf "s" }} {{ typeOf .l }} {{ typeOf .m }} {{ typeOf .null }}',
    "float64 string []interface {} map[string]interface {} <nil>" },
  { "kindOf", "{{ kindOf .l }} {{ kindOf .m }} {{ kindOf .t }}", "slice map bool" },

  -- Sprig: time (UTC where the output depends on the zone)
  { "dateInZone", '{{ dateInZone "2006-01-02T15:04:05Z07:00 Mon Jan _2 3PM .000" 1500000000.5 "UTC" }}',
    "2017-07-14T02:40:00Z Fri Jul 14 2AM .500" },
  { "htmlDate", "{{ htmlDate 86400 | len }}", "10" },
}

describe("infrakit.template functions", function()
  helper.track_refs()

  for i, c in ipairs(cases) do
    it(("%s (case %d): %s"):format(c[1], i, c[2]), function()
      assert.are.equal(c[3], render(c[2], ctx))
    end)
  end

  it("env and expandenv read the environment", function()
    assert.are.equal(os.getenv("PATH"), render('{{ env "PATH" }}'))
    assert.are.equal("", render('{{ env "INFRAKIT_NO_SUCH_VARIABLE" }}'))
    assert.are.equal("p=" .. os.getenv("PATH"), render('{{ expandenv "p=$PATH" }}'))
  end)

  it("now, date and unixtime give the current time", function()
    local year = os.date("%Y")
    assert.are.equal(year, render('{{ now | date "2006" }}'))
    assert.are.equal(os.date("%Y-%m-%d", 0), render('{{ date "2006-01-02" 0 }}'))
    local t = tonumber(render("{{ unixtime }}"))
    assert.is_true(math.abs(t - os.time()) <= 2)
    assert.matches("^%d%d%d%d%-%d%d%-%d%d %d%d:%d%d:%d%d", render("{{ now }}"))
  end)

  it("echo writes its arguments to stderr and renders nothing", function()
    local seen = {}
    local out = template.render('a{{ echo "x" 1 }}b', nil, { stderr = function(s) seen[#seen + 1] = s end })
    assert.are.equal("ab", out)
    assert.are.same({ "x 1\n" }, seen)
  end)

  it("fetch, raw, include and source read str:// URLs", function()
    assert.are.equal("{{ x }}", render('{{ fetch "str://{{ x }}" }}'))
    assert.are.equal("raw", render('{{ raw "str://raw" }}'))
    assert.are.equal("[Hello]", render('{{ include "str://[{{ .s }}]" }}', ctx))
    assert.are.equal("[42]", render('{{ source "str://[{{ . }}]" .n }}', ctx))
  end)

  it("has a case for every built-in function", function()
    local covered = {
      env = true, expandenv = true, now = true, date = true, unixtime = true, echo = true,
      fetch = true, raw = true, include = true, source = true,
    }
    for _, c in ipairs(cases) do covered[c[1]] = true end
    local missing = {}
    for _, name in ipairs(template.function_names()) do
      if not covered[name] then missing[#missing + 1] = name end
    end
    assert.are.same({}, missing)
  end)

  it("opts.funcs adds functions and overrides built-in ones", function()
    local out = render('{{ SPEC.Name }} {{ upper "x" }} {{ twice 4 }}', nil, { funcs = {
      SPEC = function() return { Name = "web" } end,
      upper = function(s) return "UP:" .. s end,
      twice = function(n) return n * 2 end,
    } })
    assert.are.equal("web UP:x 8", out)
  end)

  it("a function's error names the function", function()
    local out, err, code = template.render('{{ index .l 7 }}', ctx)
    assert.is_nil(out)
    assert.are.equal("EINVAL", code)
    assert.matches("error calling index: index out of range: 7", err, 1, true)
  end)
end)

describe("infrakit.template q (JMESPath)", function()
  local data = {
    a = { b = { c = "deep" } },
    list = { 10, 20, 30, 40 },
    people = ctx.people,
    obj = { x = { v = 1 }, y = { v = 2 } },
    nested = { { 1, 2 }, { 3 }, 4 },
    ["with space"] = "quoted",
  }
  local qcases = {
    { "a.b.c", "deep" },
    { '"with space"', "quoted" },
    { "list[1]", "20" },
    { "list[-1]", "40" },
    { "list[1:3]", "[20 30]" },
    { "list[::2]", "[10 30]" },
    { "list[::-1]", "[40 30 20 10]" },
    { "people[*].name", "[ann bob cy]" },
    { "obj.*.v", "[1 2]" },
    { "nested[]", "[1 2 3 4]" },
    { "people[?name=='bob'].age", "[25]" },
    { "people[?name!='bob'].name", "[ann cy]" },
    { "people[?age < `30`].name", "[bob]" },
    { "people[?age > `30` && name != 'cy'].name", "[ann]" },
    { "people[?age < `26` || name == 'cy'].name", "[bob cy]" },
    { "people[?!(age > `30`)].name", "[bob]" },
    { "people[*].name | [0]", "ann" },
    { "people[0].[name, age]", "[ann 31]" },
    { "people[0].{n: name, t: tags}", "map[n:ann t:[a b]]" },
    { "length(people)", "3" },
    { "keys(obj)", "[x y]" },
    { "values(a.b)", "[deep]" },
    { "sort(list)", "[10 20 30 40]" },
    { "join('-', people[*].name)", "ann-bob-cy" },
    { "contains(people[*].name, 'cy')", "true" },
    { "people[?contains(tags, 'c')].name", "[bob]" },
    { "max(list)", "40" },
    { "sort_by(people, &age)[0].name", "bob" },
    { "map(&name, people)", "[ann bob cy]" },
    { "people[?length(tags) == `0`].name", "[cy]" },
    { "missing", "<nil>" },
    { "`[1, 2]`", "[1 2]" },
    { "to_string(list[0])", "10" },
    { "starts_with(a.b.c, 'de')", "true" },
    { "@.a.b.c", "deep" },
  }
  for _, c in ipairs(qcases) do
    it(c[1] .. " -> " .. c[2], function()
      assert.are.equal(c[2], render("{{ q .expr .data }}", { expr = c[1], data = data }))
    end)
  end

  it("a bad expression is a template error naming the column", function()
    local out, err, code = template.render("{{ q \"people[?\" . }}", data)
    assert.is_nil(out)
    assert.are.equal("EINVAL", code)
    assert.matches("error calling q: SyntaxError", err, 1, true)
  end)
end)

describe("infrakit.template YAML subset", function()
  local yaml = require "infrakit.yaml"
  local tjson = require "infrakit.json.go"

  local decode_cases = {
    { "a: 1\nb: x\n", '{"a":1,"b":"x"}' },
    { "- a\n- b: 1\n  c: [1, 2]\n-   - x\n    - z\n", '["a",{"b":1,"c":[1,2]},["x","z"]]' },
    { "y: n\n", '{"true":false}' }, -- yaml.v2 (YAML 1.1) reads y and n as booleans
    { "k:\n- 1\n- 2\nm:\n  k: ~\n", '{"k":[1,2],"m":{"k":null}}' },
    { "s: 'it''s'\nd: \"a\\tb\\u00e9\"\n", '{"d":"a\\tbé","s":"it\'s"}' },
    { "t: yes\nf: Off\nu: null\ne:\nv: 1.5\nh: 0x10\no: 0o17\n", '{"e":null,"f":false,"h":16,"o":15,"t":true,"u":null,"v":1.5}' },
    { "lit: |\n  a\n   b\nnext: 1\n", '{"lit":"a\\n b\\n","next":1}' },
    { "fold: >-\n  a\n  b\n\n  c\n", '{"fold":"a b\\nc"}' },
    { "# comment\n---\nurl: http://x:80/y # note\n...\n", '{"url":"http://x:80/y"}' },
    { "flow: {a: [1, {b: c}], d: 'e'}\n", '{"flow":{"a":[1,{"b":"c"}],"d":"e"}}' },
    { "multi: [a,\n  b]\n", '{"multi":["a","b"]}' },
  }
  for _, c in ipairs(decode_cases) do
    it("decodes " .. c[1]:gsub("\n", "\\n"), function()
      local v, err = yaml.decode(c[1])
      assert.is_nil(err)
      assert.are.equal(c[2], tjson.encode(v))
    end)
  end

  it("encodes as yaml.v2 does and reads its own output back", function()
    local v = { b = { 1, "2", true }, a = { x = "needs: quotes", y = "" }, c = {}, d = "plain text", e = null }
    local text = yaml.encode(v)
    assert.are.equal('a:\n  x: "needs: quotes"\n  "y": ""\nb:\n- 1\n- "2"\n- true\nc: {}\nd: plain text\ne: null\n', text)
    assert.are.equal(tjson.encode(v), tjson.encode((yaml.decode(text))))
  end)

  it("reports what it does not read with the line", function()
    local v, err = yaml.decode("a: &anchor 1\n")
    assert.is_nil(v)
    assert.matches("^yaml: line 1: anchors and aliases are not supported", err)
    v, err = yaml.decode("a: [1, 2\n")
    assert.is_nil(v)
    assert.matches("^yaml: line 1:", err)
  end)
end)
