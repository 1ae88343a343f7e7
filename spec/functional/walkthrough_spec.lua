-- The docs' walkthroughs, run as a user would type them: a doc whose
-- commands fail is a bug.
local infrakit = require "infrakit"
local support = dofile("spec/functional/support.lua")

local top = os.getenv("IK_TOP") or "."

-- The first ```sh block after heading in the doc at path.
local function block(path, heading, lang)
  local f = assert(io.open(top .. "/" .. path))
  local text = f:read("*a")
  f:close()
  local at = assert(text:find("\n" .. heading .. "\n", 1, true), path .. ": no heading " .. heading)
  lang = lang or "sh"
  return (assert(text:match("```" .. lang .. "\n(.-)```", at), path .. ": no " .. lang .. " block after " .. heading))
end

-- Run script with sh -e from the top of the tree, ./infrakit being the
-- binary under test. Returns the exec result.
local function run_block(script, env)
  script = script:gsub("%./infrakit", (support.bin:gsub("%%", "%%%%")))
  -- Whatever happens, stop the daemon the block started in the home it made.
  script = "trap '\"$IK_BIN\" plugin stop group >/dev/null 2>&1 || true' EXIT\n" .. script
  env = env or {}
  env.PATH = os.getenv("PATH")
  env.IK_BIN = support.bin
  return assert(infrakit.exec({ "sh", "-ex", "-c", script }, { cwd = top, env = env, timeout = 120 }))
end

describe("docs/writing-a-flavor.md", function()
  it("'Use it with a daemon' works as written: the hostname flavor prepares both pets", function()
    local r = run_block(block("docs/writing-a-flavor.md", "### Use it with a daemon"))
    assert.are.equal(0, r.status, r.stdout .. r.stderr)
    assert.matches("hostname=web-10-0-0-1", r.stdout, 1, true)
    assert.matches("hostname=web-10-0-0-2", r.stdout, 1, true)
    assert.matches("group web: destroyed", r.stdout, 1, true)
  end)

  it("a commit naming a flavor that is installed but not served says how to start it", function()
    local home = support.mktemp()
    support.sh("mkdir -p " .. home .. "/flavors && cp " .. top .. "/docs/examples/flavors/hostname.lua " .. home
      .. "/flavors/")
    local started = support.run(home, { "plugin", "start", "group", "instance-file" })
    assert.are.equal(0, started.status, started.stderr)
    local r = support.run(home, { "group", "commit", top .. "/docs/examples/groups/hostname.json" })
    support.run(home, { "plugin", "stop", "group" })
    support.sh("rm -rf " .. home)
    assert.are.equal(1, r.status)
    assert.matches("plugin hostname: not found", r.stderr, 1, true)
    assert.matches("Start it with 'infrakit plugin start hostname'", r.stderr, 1, true)
  end)
end)

describe("docs/playbooks.md", function()
  it("the playbook of 'Writing one' leaves nothing running without --keep, and its daemon with --keep", function()
    local home = support.mktemp()
    local f = assert(io.open(home .. "/book.lua", "w"))
    f:write(block("docs/playbooks.md", "## Writing one", "lua"))
    f:close()
    local r = support.run(home, { "play", home .. "/book.lua", "--size", "2" })
    assert.are.equal(0, r.status, r.stdout .. r.stderr)
    assert.matches("2 sleepers up", r.stdout, 1, true)
    local left = support.exists(home .. "/plugins/group")
    if left then support.run(home, { "plugin", "stop", "group" }) end
    assert.is_false(left, "the daemon the playbook started is still running")

    r = support.run(home, { "play", home .. "/book.lua", "--size", "1", "--keep" })
    assert.are.equal(0, r.status, r.stdout .. r.stderr)
    left = support.exists(home .. "/plugins/group")
    support.run(home, { "group", "destroy", "sleepers" })
    support.run(home, { "plugin", "stop", "group" })
    support.sh("rm -rf " .. home)
    assert.is_true(left, "--keep: the daemon is left running")
  end)
end)
