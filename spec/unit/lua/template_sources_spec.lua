-- infrakit.template sources: plain paths, file://, str://, relative
-- include/source/fetch/template, Lua templates, the per-render cache, and
-- http:// and unix:// against a real `infrakit daemon`.
local infrakit = require "infrakit"
local template = require "infrakit.template"
local helper = dofile("spec/unit/lua/spec_helper.lua")

local bin = os.getenv("IK_BIN") or "./infrakit"

local function sh(cmd) return assert(infrakit.exec({ "sh", "-c", cmd })) end

local function write(path, text)
  local f = assert(io.open(path, "wb"))
  f:write(text)
  f:close()
end

describe("infrakit.template sources", function()
  helper.track_refs()
  local dir

  before_each(function()
    dir = (sh("mktemp -d /tmp/ik-template-XXXXXX").stdout:gsub("%s+$", ""))
    sh("mkdir -p " .. dir .. "/lib/deep " .. dir .. "/other")
    write(dir .. "/main.tpl", 'main[{{ include "lib/a.tpl" . }}]')
    write(dir .. "/lib/a.tpl", 'a({{ . }}){{ include "deep/b.tpl" }}{{ include "../other/c.tpl" }}')
    write(dir .. "/lib/deep/b.tpl", "b")
    write(dir .. "/other/c.tpl", "c")
  end)

  after_each(function() sh("rm -rf " .. dir) end)

  it("renders a plain path with includes relative to each including template", function()
    assert.are.equal("main[a(x)bc]", template.render_url(dir .. "/main.tpl", "x"))
  end)

  it("renders file:// URLs, file://localhost too", function()
    assert.are.equal("main[a(1)bc]", template.render_url("file://" .. dir .. "/main.tpl", 1))
    assert.are.equal("main[a(2)bc]", template.render_url("file://localhost" .. dir .. "/main.tpl", 2))
  end)

  it("resolves a relative URL against opts.base", function()
    assert.are.equal("c", template.render_url("../other/c.tpl", nil, { base = "file://" .. dir .. "/lib/a.tpl" }))
    assert.are.equal("b", template.render_url("deep/b.tpl", nil, { base = dir .. "/lib/x" }))
  end)

  it("str:// is the template text itself", function()
    assert.are.equal("hi 3", template.render_url("str://hi {{ . }}", 3))
    assert.are.equal("[in]", template.render("[{{ include `str://{{ . }}` `in` }}]"))
  end)

  it("resolves include, source and fetch against opts.url when rendering text", function()
    local out = template.render('{{ fetch "lib/deep/b.tpl" }}{{ source "other/c.tpl" }}', nil, { url = dir .. "/x.tpl" })
    assert.are.equal("bc", out)
  end)

  it("source shares the globals, include forks them", function()
    write(dir .. "/set.tpl", '{{ var "g" "set" }}')
    local text = '{{ var "g" "orig" }}{{ include "set.tpl" }}{{ var "g" }} {{ source "set.tpl" }}{{ var "g" }}'
    assert.are.equal("orig set", template.render(text, nil, { url = dir .. "/x.tpl" }))
  end)

  it("include and source default to the caller's context, or take one", function()
    write(dir .. "/dot.tpl", "{{ .k }}")
    local out = template.render('{{ include "dot.tpl" }} {{ source "dot.tpl" }} {{ include "dot.tpl" (dict "k" "mine") }}',
      { k = "v" }, { url = dir .. "/x.tpl" })
    assert.are.equal("v v mine", out)
  end)

  it("include works on a copy of the context", function()
    write(dir .. "/mut.tpl", '{{ $_ := set . "k" "changed" }}{{ .k }}')
    local ctx = { k = "v" }
    assert.are.equal("changed v", template.render('{{ include "mut.tpl" }} {{ .k }}', ctx, { url = dir .. "/x.tpl" }))
    assert.are.equal("v", ctx.k)
  end)

  it("{{ template }} of a path that is not a defined template renders that file", function()
    assert.are.equal("[c]", template.render('[{{ template "other/c.tpl" . }}]', nil, { url = dir .. "/x.tpl" }))
  end)

  it("keeps the delimiters for included templates", function()
    write(dir .. "/d.tpl", "<< . >>")
    assert.are.equal("5", template.render('<< include "d.tpl" 5 >>', nil, { url = dir .. "/x.tpl", delims = { "<<", ">>" } }))
  end)

  it("caches each source for the length of one render", function()
    write(dir .. "/f.txt", "one")
    local function rewrite()
      write(dir .. "/f.txt", "two")
      return ""
    end
    local t = assert(template.parse('{{ fetch "f.txt" }}{{ rewrite }}{{ fetch "f.txt" }}{{ include "f.txt" }}', { url = dir .. "/x" }))
    assert.are.equal("oneoneone", t:render(nil, { funcs = { rewrite = rewrite } }))
    assert.are.equal("twotwotwo", t:render(nil, { funcs = { rewrite = rewrite } }))
  end)

  it("renders a .lua file as a Lua template in the sandbox", function()
    write(dir .. "/t.lua", [[
      return function(ctx, f)
        return f.upper(ctx.name) .. " " .. f.include("lib/deep/b.tpl") .. " " .. tostring(io) .. " " .. f.SPEC().x
      end]])
    local out = template.render_url(dir .. "/t.lua", { name = "web" }, { funcs = { SPEC = function() return { x = 1 } end } })
    assert.are.equal("WEB b nil 1", out)
    -- included from a Go template too
    assert.are.equal("[WEB b nil 2]", template.render('[{{ include "t.lua" . }}]', { name = "web" },
      { url = dir .. "/x.tpl", funcs = { SPEC = function() return { x = 2 } end } }))
  end)

  it("reports a Lua template that fails or returns no text", function()
    write(dir .. "/bad.lua", "return function() error('broken', 0) end")
    write(dir .. "/num.lua", "return function() return 42 end")
    write(dir .. "/syntax.lua", "return function(")
    local out, err, code = template.render_url(dir .. "/bad.lua")
    assert.is_nil(out)
    assert.are.same({ "template " .. dir .. "/bad.lua: broken", "EINVAL" }, { err, code })
    out, err = template.render_url(dir .. "/num.lua")
    assert.is_nil(out)
    assert.are.equal("template " .. dir .. "/num.lua: returned a number, not a string", err)
    out, err, code = template.render_url(dir .. "/syntax.lua")
    assert.is_nil(out)
    assert.are.equal("EINVAL", code)
    assert.matches("syntax.lua", err, 1, true)
  end)

  it("returns the file's code when a source cannot be read", function()
    local out, err, code = template.render_url(dir .. "/nope.tpl")
    assert.is_nil(out)
    assert.are.equal("open " .. dir .. "/nope.tpl: no such file or directory", err)
    assert.are.equal("ENOENT", code)
    out, err, code = template.render_url("file://" .. dir .. "/lib")
    assert.is_nil(out)
    assert.are.same({ "open " .. dir .. "/lib: is a directory", "EISDIR" }, { err, code })
    out, err, code = template.render_url("ftp://host/x")
    assert.is_nil(out)
    assert.are.same({ "unsupported url: ftp://host/x", "EINVAL" }, { err, code })
  end)
end)

describe("infrakit.template over HTTP", function()
  local support = dofile("spec/functional/support.lua")
  local d, base

  setup(function()
    d = support.start_daemon(nil, { "--listen", "127.0.0.1:0", "--insecure" })
    base = io.open(d.plugins .. "/instance-file.listen"):read("*a"):gsub("%s+$", ""):gsub("^tcp://", "http://")
  end)

  teardown(function()
    d.stop()
    d.cleanup()
  end)

  it("renders an http:// URL (the daemon's /info/functions.json is valid template text)", function()
    assert.are.equal('{"builtin":[]}', template.render_url(base .. "/info/functions.json"))
  end)

  it("fetches and includes over http, relative to an http template URL", function()
    local out = template.render('{{ include "functions.json" }} {{ fetch "api.json" | jsonDecode | q "Implements[0].Name" }}',
      nil, { url = base .. "/info/x.tpl" })
    assert.are.equal('{"builtin":[]} Instance', out)
  end)

  it("an HTTP error keeps its code", function()
    local out, err, code = template.render_url(base .. "/nope.tpl")
    assert.is_nil(out)
    assert.are.equal("EHTTP", code)
    assert.are.equal("GET " .. base .. "/nope.tpl: HTTP 404", err)
    out, err, code = template.render('{{ include "' .. base .. '/nope" }}', nil, { name = "t" })
    assert.is_nil(out)
    assert.are.equal("EHTTP", code)
    assert.matches("^template t:1:4: error calling include: GET .*: HTTP 404$", err)
  end)

  it("reads unix://PLUGIN/path through the plugin's socket", function()
    local r = assert(infrakit.exec({ bin, "lua", "-e",
      'local out, err = require("infrakit.template").render_url("unix://instance-file/info/functions.json") ' ..
      'io.write(tostring(out or err))' }, { env = { INFRAKIT_PLUGINS_DIR = d.plugins } }))
    assert.are.equal('{"builtin":[]}', r.stdout)
  end)
end)

describe("infrakit.template.builtin and load_url", function()
  it("returns the text of a template built into the binary, byte for byte", function()
    local f = assert(io.open("templates/swarm/worker.sh.tmpl", "rb"))
    local want = f:read("*a")
    f:close()
    assert.are.equal(want, template.builtin("templates/swarm/worker.sh.tmpl"))
  end)

  it("knows only files of templates/", function()
    for _, name in ipairs { "templates/swarm/nope.tmpl", "infrakit.json", "playbooks/quickstart", "templates/../x" } do
      local text, err, code = template.builtin(name)
      assert.is_nil(text)
      assert.are.equal("ENOENT", code)
      assert.matches(name, err, 1, true)
    end
  end)

  it("load_url parses without rendering; t:render renders later", function()
    local t = assert(template.load_url("str://{{ F 2 }}"))
    assert.are.equal("4", t:render(nil, { funcs = { F = function(n) return n * 2 end } }))
    local none, err, code = template.load_url("str://{{ if }}")
    assert.is_nil(none)
    assert.are.equal("EINVAL", code)
    assert.is_string(err)
    none, err, code = template.load_url("/nonexistent/t.tmpl")
    assert.is_nil(none)
    assert.are.equal("ENOENT", code)
    assert.matches("/nonexistent/t.tmpl", err, 1, true)
  end)
end)
