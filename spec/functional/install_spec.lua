-- `require "infrakit"` must work from an installed prefix as well as from
-- the source tree: the binary finds lua/ beside itself, above itself, or
-- in <prefix>/share/infrakit/lua (the layout `make install` creates).
local infrakit = require "infrakit"

local bin = os.getenv("IK_BIN") or "./infrakit"

local function sh(script, env)
  return assert(infrakit.exec({ "/bin/sh", "-ec", script }, { env = env }))
end

describe("an installed infrakit", function()
  local prefix
  before_each(function()
    prefix = sh("mktemp -d").stdout:gsub("\n", "")
    sh([[
      install -d "$P/bin" "$P/share/infrakit"
      install -m 0755 "$BIN" "$P/bin/infrakit"
      cp -R "$TOP/lua" "$P/share/infrakit/"
    ]], { P = prefix, BIN = bin, TOP = os.getenv("IK_TOP") or "." })
  end)
  after_each(function() sh('rm -rf "$P"', { P = prefix }) end)

  it("loads the infrakit module from <prefix>/share/infrakit/lua, from any directory", function()
    local r = sh([[cd / && "$P/bin/infrakit" lua -e 'local ik = require "infrakit"; print(ik.lua_dir, type(ik.spawn))']],
      { P = prefix })
    assert.are.equal(0, r.status)
    assert.matches("/share/infrakit/lua\tfunction", r.stdout, 1, true)
  end)

  it("INFRAKIT_LUA_DIR overrides the search", function()
    local r = sh([[cd / && "$P/bin/infrakit" lua -e 'print(require("infrakit").lua_dir)']],
      { P = prefix, INFRAKIT_LUA_DIR = prefix .. "/share/infrakit/lua" })
    assert.are.equal(prefix .. "/share/infrakit/lua\n", r.stdout)
  end)

  it("says clearly when the Lua half is missing", function()
    sh('rm -rf "$P/share/infrakit/lua"', { P = prefix })
    local r = assert(infrakit.exec({ prefix .. "/bin/infrakit", "lua", "-e", 'require "infrakit"' }, { cwd = "/" }))
    assert.are.equal(1, r.status)
    assert.matches("module 'infrakit' not found", r.stderr, 1, true)
  end)
end)
