-- infrakit.template.access: what a template rendered under a policy (the
-- daemon's, from --template-env/-dir/-schemes) may read of the machine:
-- environment variables, local files, URL schemes.
local infrakit = require "infrakit"
local template = require "infrakit.template"
local access = require "infrakit.template.access"
local helper = dofile("spec/unit/lua/spec_helper.lua")

local function sh(cmd) return assert(infrakit.exec({ "sh", "-c", cmd })) end

local function write(path, text)
  local f = assert(io.open(path, "wb"))
  f:write(text)
  f:close()
end

describe("infrakit.template access policy", function()
  helper.track_refs()
  local dir, policy

  before_each(function()
    dir = (sh("mktemp -d /tmp/ik-access-XXXXXX").stdout:gsub("%s+$", ""))
    sh("mkdir -p " .. dir .. "/ok/sub " .. dir .. "/secret")
    write(dir .. "/ok/main.tpl", 'main[{{ include "sub/a.tpl" }}]')
    write(dir .. "/ok/sub/a.tpl", "a")
    write(dir .. "/ok/up.tpl", '{{ include "../secret/s.txt" }}')
    write(dir .. "/ok/env.lua", 'return function(ctx, f) return f.env("HOME") end')
    write(dir .. "/ok/inc.lua", 'return function(ctx, f) return f.include("file:///etc/hostname") end')
    write(dir .. "/secret/s.txt", "s3cr3t")
    sh("ln -s " .. dir .. "/secret/s.txt " .. dir .. "/ok/link.txt")
    policy = access.new({ env = { "IK_ACCESS_OK", "IK_PFX_*" }, dirs = { dir .. "/ok" }, schemes = { "https" } })
  end)

  after_each(function()
    sh("rm -rf " .. dir)
    access.default = nil
  end)

  -- { what, template text (or url = ...), expected text | { err = pattern } }
  local cases = {
    { "env of an allowed name", '{{ env "IK_ACCESS_OK" }}', "" },
    { "env of an allowed prefix", '{{ env "IK_PFX_A" }}', "" },
    { "env of another name", '{{ env "HOME" }}',
      { err = 'error calling env: env "HOME": .*environment variable HOME .*%-%-template%-env HOME' } },
    { "expandenv of another name", '{{ expandenv "x${HOME}" }}',
      { err = 'error calling expandenv: expandenv "HOME": .*%-%-template%-env HOME' } },
    { "include of /proc/self/environ", '{{ include "file:///proc/self/environ" }}',
      { err = "error calling include: file:///proc/self/environ: .*local files only .*%-%-template%-dir DIR" } },
    { "fetch of a file outside", '{{ fetch "file:///etc/hostname" }}',
      { err = "error calling fetch: file:///etc/hostname: .*%-%-template%-dir" } },
    { "source of a plain path outside", '{{ source "/etc/hostname" }}', { err = "error calling source: /etc/hostname: " } },
    { "template of a path outside", '{{ template "/etc/hostname" }}', { err = "/etc/hostname: .*%-%-template%-dir" } },
    { "unix:// when not allowed", '{{ fetch "unix://group/info/api.json" }}',
      { err = "unix://group/info/api.json: .*may not fetch unix:// URLs %(allowed schemes: https; "
        .. "allow it with: infrakit daemon %-%-template%-schemes https,unix%)" } },
    { "http:// when only https is allowed", '{{ fetch "http://127.0.0.1:1/x" }}', { err = "may not fetch http://" } },
    { "str:// always", '{{ include "str://{{ 1 }}" }}', "1" },
  }

  for _, c in ipairs(cases) do
    it(c[1], function()
      local out, err, code = template.render(c[2], nil, { access = policy })
      if type(c[3]) == "string" then
        assert.are.equal(c[3], out, err)
      else
        assert.is_nil(out)
        assert.matches(c[3].err, err)
        assert.are.equal("EACCES", code)
      end
    end)
  end

  it("reads files inside an allowed directory, includes relative to them too", function()
    assert.are.equal("main[a]", template.render_url("file://" .. dir .. "/ok/main.tpl", nil, { access = policy }))
    assert.are.equal("main[a]", template.render_url(dir .. "/ok/main.tpl", nil, { access = policy }))
  end)

  it("refuses ../ out of an allowed directory and links leading out of it", function()
    local out, err, code = template.render_url(dir .. "/ok/up.tpl", nil, { access = policy })
    assert.is_nil(out)
    assert.matches("error calling include: " .. dir:gsub("%p", "%%%0") .. "/secret/s.txt: ", err)
    assert.are.equal("EACCES", code)
    out, err, code = template.render('{{ fetch "' .. dir .. '/ok/link.txt" }}', nil, { access = policy })
    assert.is_nil(out)
    assert.matches("link.txt: templates rendered by the daemon may read local files only", err)
    assert.are.equal("EACCES", code)
    assert.not_matches("s3cr3t", err)
  end)

  it("refuses the top-level URL itself", function()
    local out, err, code = template.render_url("file:///proc/self/environ", nil, { access = policy })
    assert.is_nil(out)
    assert.matches("^file:///proc/self/environ: templates rendered by the daemon", err)
    assert.are.equal("EACCES", code)
  end)

  it("applies to a Lua template's funcs (f.env, f.include)", function()
    local out, err, code = template.render_url(dir .. "/ok/env.lua", nil, { access = policy })
    assert.is_nil(out)
    assert.matches('env "HOME": .*%-%-template%-env HOME', err)
    assert.are.equal("EACCES", code)
    out, err, code = template.render_url(dir .. "/ok/inc.lua", nil, { access = policy })
    assert.is_nil(out)
    assert.matches("file:///etc/hostname: .*%-%-template%-dir", err)
    assert.are.equal("EACCES", code)
  end)

  it("with no directories, names none in the message", function()
    local _, err = template.render('{{ fetch "/etc/hostname" }}', nil, { access = access.new() })
    assert.matches("allowed %(none; allow one with", err)
  end)

  it("the process default applies when a render passes no access; false lifts it", function()
    assert.are.equal(os.getenv("HOME"), template.render('{{ env "HOME" }}'))
    access.configure({ schemes = { "http", "https" } })
    local out, err, code = template.render('{{ env "HOME" }}')
    assert.is_nil(out)
    assert.matches("%-%-template%-env HOME", err)
    assert.are.equal("EACCES", code)
    out = template.render_url("file://" .. dir .. "/ok/sub/a.tpl")
    assert.is_nil(out)
    assert.are.equal(os.getenv("HOME"), template.render('{{ env "HOME" }}', nil, { access = false }))
  end)

  it("rejects an access option that is not a policy", function()
    assert.has_error(function() template.render("x", nil, { access = { env = { "HOME" } } }) end,
      "infrakit.template.render: opts.access must be a policy from infrakit.template.access.new, or false")
  end)
end)
