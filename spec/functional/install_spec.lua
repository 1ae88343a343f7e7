-- The binary is self-contained: the Lua modules and the built-in playbooks
-- are compiled into it (core/lua/runtime.c has the lookup order), so a
-- copy anywhere works with nothing on disk, and `make install` installs
-- the binary, its man page and shell completions.
local infrakit = require "infrakit"

local bin = os.getenv("IK_BIN") or "./infrakit"
local top = os.getenv("IK_TOP") or "."

local function sh(script, env)
  return assert(infrakit.exec({ "/bin/sh", "-ec", script }, { env = env, timeout = 300 }))
end

local function mktemp() return (sh("mktemp -d /tmp/ik-install-XXXXXX").stdout:gsub("\n", "")) end

-- The commands `infrakit help` lists.
local function command_names(binary)
  local out = sh('"$B" help', { B = binary }).stdout
  local names = {}
  for line in out:match("Commands:\n(.-)\n\n"):gmatch("[^\n]+") do names[#names + 1] = line:match("^  (%S+)") end
  assert(#names > 5, out)
  return names
end

describe("a copied infrakit binary", function()
  local dir, home, work
  before_each(function()
    dir, home, work = mktemp(), mktemp(), mktemp()
    sh('cp "$BIN" "$D/infrakit"', { BIN = bin, D = dir })
  end)
  after_each(function() sh('rm -rf "$D" "$H" "$W"', { D = dir, H = home, W = work }) end)

  -- Nothing but the binary: an empty directory, HOME and cwd elsewhere,
  -- no INFRAKIT_* or LUA_* variable.
  local function run(cmd)
    return sh('cd "$W" && env -i PATH=/usr/bin:/bin HOME="$H" ' .. cmd, { D = dir, H = home, W = work })
  end

  it("loads the infrakit modules it carries", function()
    local r = run([["$D/infrakit" lua -e 'local ik = require "infrakit"; print(type(ik.spawn), ik.lua_dir,
      type(require("infrakit.template").render), type(require("infrakit.flavors.vanilla")))']])
    assert.are.equal("function\tnil\tfunction\ttable\n", r.stdout)
    assert.are.equal("", r.stderr)
  end)

  it("renders a template", function()
    local r = run([[printf '{{ var "name" | upper }} {{ add 1 2 }}\n' > t.tmpl && "$D/infrakit" template --var name=web t.tmpl]])
    assert.are.equal("WEB 3\n", r.stdout)
  end)

  it("runs its built-in playbooks", function()
    local r = run([["$D/infrakit" play quickstart --help]])
    assert.matches("--size", r.stdout, 1, true)
    r = run([["$D/infrakit" play file-cluster --help]])
    assert.matches("Usage:", r.stdout, 1, true)
  end)

  it("keeps file and line in errors from embedded modules", function()
    local r = assert(infrakit.exec({ dir .. "/infrakit", "lua", "-e",
      'require("infrakit._playbook").load(nil)' }, { cwd = work }))
    assert.are.equal(1, r.status)
    assert.matches("lua/infrakit/_playbook.lua:%d+:", r.stderr)
  end)

  it("INFRAKIT_LUA_DIR puts a source directory first, the embedded copy still behind it", function()
    sh([[mkdir -p "$W/lua/infrakit" && echo 'return { from = "disk" }' > "$W/lua/infrakit/json.lua"]], { W = work })
    local r = run([[INFRAKIT_LUA_DIR="$W/lua" "$D/infrakit" lua -e 'print(require("infrakit.json").from,
      type(require("infrakit.template").render), require("infrakit").lua_dir)']])
    assert.are.equal("disk\tfunction\t" .. work .. "/lua\n", r.stdout)
  end)
end)

describe("make install", function()
  local dest
  before_each(function() dest = mktemp() end)
  after_each(function() sh('rm -rf "$D"', { D = dest }) end)

  it("installs the binary, a man page and bash and zsh completions naming every command", function()
    local r = assert(infrakit.exec({ "make", "--no-print-directory", "-C", top, "install",
      "DESTDIR=" .. dest, "PREFIX=/usr" }, { timeout = 600 }))
    assert.are.equal(0, r.status, r.stdout .. r.stderr)
    local installed = dest .. "/usr/bin/infrakit"
    local home = mktemp()
    local q = sh('cd / && env -i PATH=/usr/bin:/bin HOME="$H" "$B" play quickstart --help; rm -rf "$H"',
      { B = installed, H = home })
    assert.matches("--size", q.stdout, 1, true)
    local files = {
      man = dest .. "/usr/share/man/man1/infrakit.1",
      bash = dest .. "/usr/share/bash-completion/completions/infrakit",
      zsh = dest .. "/usr/share/zsh/site-functions/_infrakit",
    }
    local text = {}
    for kind, path in pairs(files) do
      local f = io.open(path)
      assert.is_not_nil(f, kind .. ": " .. path .. " not installed")
      text[kind] = f:read("*a")
      f:close()
    end
    assert.matches('^%.TH INFRAKIT 1', text.man)
    assert.matches("INFRAKIT_HOME", text.man, 1, true)
    for _, name in ipairs(command_names(installed)) do
      assert.matches("infrakit " .. name, text.man, 1, true)
      assert.matches("%f[%w]" .. name .. "%f[^%w]", text.bash)
      assert.matches("%f[%w]" .. name .. "%f[^%w]", text.zsh)
    end
    assert.matches("complete %-o filenames %-F _infrakit infrakit", text.bash)
    assert.matches("^#compdef infrakit", text.zsh)
    -- The shells accept them.
    assert.are.equal(0, sh('bash -n "$F"', { F = files.bash }).status)
  end)
end)
