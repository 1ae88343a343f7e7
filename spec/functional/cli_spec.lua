-- The built binary, driven as a user drives it.
local infrakit = require "infrakit"
local json = infrakit.json

local bin = os.getenv("IK_BIN") or "./infrakit"

local function run(args, opts)
  local argv = { bin }
  for _, a in ipairs(args) do argv[#argv + 1] = a end
  return assert(infrakit.exec(argv, opts or {}))
end

describe("infrakit version", function()
  it("prints the version and the libraries it runs on", function()
    local r = run { "version" }
    assert.are.equal(0, r.status)
    assert.matches("^infrakit %S+\n", r.stdout)
    for _, lib in ipairs { "luajit", "libuv", "curl", "openssl", "jansson" } do
      assert.matches("\n  " .. lib .. " +%S", r.stdout)
    end
  end)

  it("--json prints a machine-readable object", function()
    local r = run { "version", "--json" }
    assert.are.equal(0, r.status)
    local v = assert(json.decode(r.stdout))
    assert.is_string(v.version)
    assert.matches("^LuaJIT 2%.1", v.luajit)
    assert.is_string(v.libuv)
  end)
end)

describe("infrakit help", function()
  it("lists every command with a summary", function()
    local r = run { "help" }
    assert.are.equal(0, r.status)
    for _, cmd in ipairs { "help", "version", "lua" } do
      assert.matches("\n  " .. cmd .. " +%S", r.stdout)
    end
  end)

  -- Every variable a getenv in core/ or providers/ or an os.getenv in
  -- lua/ reads, with one line. PWD is the shell's (a relative path made
  -- absolute), and the template function `env` reads any name the
  -- template gives (in the daemon, those --template-env allows).
  it("names every environment variable the binary reads, one line each", function()
    local top = os.getenv("IK_TOP") or "."
    local r = assert(infrakit.exec({ "grep", "-rhoE", [[getenv\(\s*"[A-Za-z_]+"]], top .. "/core", top .. "/providers",
      top .. "/lua" }))
    local help = run({ "help" }).stdout
    local env = help:match("\nEnvironment:\n(.-)\n\n")
    assert.is_not_nil(env, help)
    local seen = 0
    for name in r.stdout:gmatch('"([%w_]+)"') do
      if name ~= "PWD" then
        seen = seen + 1
        assert.matches("%f[%w_]" .. name .. "%f[^%w_]", env)
      end
    end
    assert.is_true(seen > 5)
    assert.matches("\n  INFRAKIT_HOME +%S[^\n]+%(default ~/%.infrakit%)\n", "\n" .. env .. "\n")
  end)

  for _, cmd in ipairs { "help", "version", "lua" } do
    it("'" .. cmd .. " --help' and 'help " .. cmd .. "' show the command's usage", function()
      local a = run { cmd, "--help" }
      local b = run { "help", cmd }
      assert.are.equal(0, a.status)
      assert.are.equal(0, b.status)
      assert.matches("^Usage: infrakit " .. cmd, a.stdout)
      assert.are.equal(a.stdout, b.stdout)
    end)
  end
end)

-- Every command and subcommand, from the command table (through the bash
-- completion it generates): --help exits 0, starts with a Usage line, and
-- lists every option the command takes (the hidden --help-options prints
-- the options ik_optparse accepts for it).
describe("--help on every command and subcommand", function()
  local completion = run({ "help", "--completion", "bash" }).stdout
  local commands = {}
  for name in assert(completion:match('%-eq 1 %]; then\n%s+COMPREPLY=%(%$%(compgen %-W "([^"]+)"')):gmatch("[%w-]+") do
    commands[#commands + 1] = name
  end
  local subs = {}
  for cmd, words in completion:gmatch('\n%s+([%w-]+)%) COMPREPLY=%(%$%(compgen %-W "([^"]+)"') do
    if cmd ~= "help" then
      subs[cmd] = {}
      for w in words:gmatch("[%w-]+") do
        if w ~= "--help" then subs[cmd][#subs[cmd] + 1] = w end
      end
    end
  end

  local function check(argv)
    local name = table.concat(argv, " ")
    local help = argv
    help[#help + 1] = "--help"
    local r = run(help)
    assert.are.equal(0, r.status, name .. ": " .. r.stderr)
    assert.matches("^Usage: infrakit " .. name:gsub("%-", "%%-") .. "[ \n]", r.stdout)
    assert.matches("\nGlobal options %(any command%):\n", r.stdout)
    help[#help] = "--help-options"
    local o = run(help)
    assert.are.equal(0, o.status, name .. ": " .. o.stderr)
    for line in o.stdout:gmatch("[^\n]+") do
      local short, long = line:match("^%-(%a) (%-%-[%w-]+)$")
      long = long or line
      assert.matches("%f[%w-]" .. long:gsub("%-", "%%-") .. "%f[^%w-]", r.stdout, nil, false)
      if short then assert.matches("%-" .. short .. ", " .. long:gsub("%-", "%%-"), r.stdout) end
    end
    return o.stdout
  end

  it("finds the commands and subcommands", function()
    assert.is_true(#commands >= 13)
    assert.are.same({ "add", "ls", "rm", "update" }, subs.playbook)
    assert.is_not_nil(subs.group)
  end)

  it("--help of each command and each subcommand", function()
    local seen = 0
    for _, cmd in ipairs(commands) do
      if cmd:sub(1, 1) ~= "-" then
        if subs[cmd] then
          local r = run { cmd, "--help" }
          assert.are.equal(0, r.status, cmd)
          assert.matches("^Usage: infrakit " .. cmd .. " ", r.stdout)
          for _, sub in ipairs(subs[cmd]) do
            check { cmd, sub }
            seen = seen + 1
          end
        else
          check { cmd }
          seen = seen + 1
        end
      end
    end
    assert.is_true(seen > 30, tostring(seen))
  end)

  it("the three commands once parsed in Lua list their options too", function()
    assert.matches("%-%-missing%-key", check { "template" })
    assert.matches("%-%-json", check { "playbook", "ls" })
    assert.matches("%-%-refresh", check { "play" })
  end)
end)

describe("usage errors exit 2 with a message that names the problem", function()
  local cases = {
    { args = { "frobnicate" }, says = 'unknown command "frobnicate"' },
    { args = { "versoin" }, says = 'did you mean "version"' },
    { args = { "version", "--jsn" }, says = "unknown flag --jsn (did you mean --json?)" },
    { args = { "lua" }, says = "missing FILE" },
    { args = { "lua", "--timeout" }, says = "needs a value" },
    { args = { "--log-level", "loud", "version" }, says = 'unknown level "loud"' },
    { args = { "--lua-timeout", "-3", "lua", "-e", "" }, says = "want a number of seconds > 0" },
    { args = { "help", "nope" }, says = 'unknown command "nope"' },
  }
  for _, c in ipairs(cases) do
    it(table.concat(c.args, " "), function()
      local r = run(c.args)
      assert.are.equal(2, r.status)
      assert.matches(c.says, r.stderr, 1, true)
      assert.matches("Run 'infrakit", r.stderr, 1, true)
    end)
  end

  it("a bad INFRAKIT_LOG_LEVEL is named", function()
    local r = run({ "version" }, { env = { INFRAKIT_LOG_LEVEL = "chatty" } })
    assert.are.equal(2, r.status)
    assert.matches("INFRAKIT_LOG_LEVEL", r.stderr, 1, true)
  end)
end)

describe("infrakit lua", function()
  local dir
  before_each(function() dir = assert(infrakit.exec({ "mktemp", "-d" })).stdout:gsub("\n", "") end)
  after_each(function() infrakit.exec({ "rm", "-rf", dir }) end)

  local function write(name, text)
    local f = assert(io.open(dir .. "/" .. name, "w"))
    f:write(text)
    f:close()
    return dir .. "/" .. name
  end

  it("runs -e code with the infrakit module bound", function()
    local r = run { "lua", "-e", 'print(type(require("infrakit").now()))' }
    assert.are.equal(0, r.status)
    assert.are.equal("number\n", r.stdout)
  end)

  it("passes arguments as arg and as ...", function()
    local f = write("args.lua", 'print(arg[0], arg[1], arg[2], select("#", ...), ...)')
    local r = run { "lua", f, "one", "two" }
    assert.are.equal(f .. "\tone\ttwo\t2\tone\ttwo\n", r.stdout)
  end)

  it("reads the script from stdin with FILE -", function()
    local r = run({ "lua", "-" }, { stdin = 'io.write("from stdin")' })
    assert.are.equal("from stdin", r.stdout)
  end)

  local exits = {
    { code = "return 7", status = 7 },
    { code = "return", status = 0 },
    { code = "return true", status = 0 },
    { code = "return 300", status = 255 },
    { code = "return false", status = 1 },
    { code = 'return nil, "could not reach the daemon"', status = 1, says = "could not reach the daemon" },
    { code = 'error("boom")', status = 1, says = "boom" },
    { code = "return nil, 42", status = 1, says = "infrakit lua: 42" },
    { code = 'error(setmetatable({}, { __tostring = function() return "custom" end }))',
      status = 1, says = "infrakit lua: custom" },
    { code = "error({ code = 1 })", status = 1, says = "(error object is a table value)" },
  }
  for _, e in ipairs(exits) do
    it("exit status " .. e.status .. " for `" .. e.code .. "`", function()
      local r = run { "lua", "-e", e.code }
      assert.are.equal(e.status, r.status)
      if e.says then assert.matches(e.says, r.stderr, 1, true) end
    end)
  end

  it("a bad INFRAKIT_LUA_TIMEOUT is a usage error naming the variable", function()
    local r = run({ "lua", "-e", "return" }, { env = { INFRAKIT_LUA_TIMEOUT = "abc", PATH = "/usr/bin:/bin" } })
    assert.are.equal(2, r.status)
    assert.matches('INFRAKIT_LUA_TIMEOUT: Lua timeout "abc": want a number of seconds > 0', r.stderr, 1, true)
  end)

  it("shows the traceback of an error", function()
    local f = write("fail.lua", "local function inner() error('deep') end\nlocal function outer() inner() end\nouter()\n")
    local r = run { "lua", f }
    assert.are.equal(1, r.status)
    assert.matches("fail.lua:1: deep", r.stderr, 1, true)
    assert.matches("stack traceback:", r.stderr, 1, true)
    assert.matches("in function 'outer'", r.stderr, 1, true)
  end)

  it("reports a syntax error with file and line, running nothing", function()
    local f = write("syntax.lua", "print('ran')\nlocal x = = 1\n")
    local r = run { "lua", f }
    assert.are.equal(1, r.status)
    assert.matches("syntax.lua:2:", r.stderr, 1, true)
    assert.are.equal("", r.stdout)
  end)

  it("reports a missing file", function()
    local r = run { "lua", dir .. "/nope.lua" }
    assert.are.equal(1, r.status)
    assert.matches("nope.lua", r.stderr, 1, true)
  end)

  it("stops a runaway script with the watchdog and says how to raise the limit", function()
    local r = run { "--lua-timeout", "0.2", "lua", "-e", "while true do end" }
    assert.are.equal(1, r.status)
    assert.matches("watchdog: Lua code ran for more than 0.2 s", r.stderr, 1, true)
    assert.matches("--lua-timeout", r.stderr, 1, true)
  end)

  it("detects a deadlock instead of hanging", function()
    local r = run { "lua", "-e", [[
      local infrakit = require "infrakit"
      local a, b
      b = infrakit.spawn(function() infrakit.sleep(0) return a:wait() end)
      a = infrakit.spawn(function() return b:wait() end)
      return a:wait()
    ]] }
    assert.are.equal(1, r.status)
    assert.matches("deadlock", r.stderr, 1, true)
  end)

  for _, sig in ipairs { { name = "INT", status = 130 }, { name = "TERM", status = 143 } } do
    it("SIG" .. sig.name .. " cancels the script, kills what it started, exits " .. sig.status, function()
      local marker = "1234." .. sig.status
      local f = write("wait.lua", ([[
        local infrakit = require "infrakit"
        io.stdout:write("ready\n") io.stdout:flush()
        infrakit.exec({ "sleep", "%s" })
      ]]):format(marker))
      local r = assert(infrakit.exec({ "/bin/sh", "-c", ([[
        "$BIN" lua "$F" > "$D/out" 2>&1 &
        pid=$!
        for i in $(seq 100); do grep -q ready "$D/out" 2>/dev/null && break; sleep 0.05; done
        sleep 0.1
        kill -%s $pid
        wait $pid
        echo "status=$?"
        sleep 0.2
        pgrep -f "slee[p] %s" >/dev/null && echo "child survived" || echo "child gone"
      ]]):format(sig.name, marker) }, { env = { BIN = bin, F = f, D = dir }, timeout = 20 }))
      assert.matches("status=" .. sig.status, r.stdout, 1, true)
      assert.matches("child gone", r.stdout, 1, true)
    end)
  end

  it("--log-file writes logs there, created 0600", function()
    local log = dir .. "/ik.log"
    local r = run { "--log-file", log, "lua", "-e", 'require("infrakit").log.warn("to the file")' }
    assert.are.equal(0, r.status)
    assert.are.equal("", r.stderr)
    local f = assert(io.open(log))
    assert.matches('level=warn mod=lua msg="to the file"', f:read("*a"), 1, true)
    f:close()
    local mode = assert(infrakit.exec({ "stat", "-c", "%a", log })).stdout
    assert.are.equal("600\n", mode)
  end)
end)

describe("the hello playbook (make demo)", function()
  it("runs to completion and heals its crashed worker", function()
    local r = run { "lua", "docs/examples/hello.lua", "4" }
    assert.are.equal(0, r.status, r.stderr)
    assert.matches("starting 4 workers", r.stdout, 1, true)
    assert.matches("worker-2 failed: ", r.stdout, 1, true)
    assert.matches("worker-2 done (replacement)", r.stdout, 1, true)
    assert.matches("all 4 workers accounted for; 0 unhealed failures", r.stdout, 1, true)
  end)
end)

describe("infrakit template", function()
  it("renders a template with --var to stdout", function()
    local r = run { "template", "--var", "name=web", 'str://hello {{ var "name" | upper }}' }
    assert.are.equal(0, r.status, r.stderr)
    assert.are.equal("hello WEB", r.stdout)
  end)

  it("names the template, line and column of an error (exit 1)", function()
    local r = run { "template", "str://line one\n{{ nope }}" }
    assert.are.equal(1, r.status)
    assert.matches(":2:%d+: function \"nope\" not defined", r.stderr)
  end)

  it("--help prints the command's help", function()
    local r = run { "template", "--help" }
    assert.are.equal(0, r.status)
    assert.matches("^Usage: infrakit template", r.stdout)
  end)

  it("--help lists every option the command takes", function()
    local r = run { "template", "--help" }
    for _, flag in ipairs { "--var", "--json-context", "--missing-key", "--delims" } do
      assert.matches("\n  " .. flag:gsub("%-", "%%-") .. " ", r.stdout)
    end
  end)

  it("takes its options before or after the template", function()
    local r = run({ "template", "str://<< .a >> {{ x }}", "--delims", "<<,>>", "--json-context", "-" }, { stdin = '{"a":1}' })
    assert.are.same({ 0, "1 {{ x }}", "" }, { r.status, r.stdout, r.stderr })
    r = run { "template", "--missing-key=error", "str://{{ .a }}" }
    assert.are.equal(1, r.status)
    assert.matches('nil data; no entry for key "a"', r.stderr, 1, true)
  end)

  local usage_cases = {
    { {}, "missing the template FILE or URL" },
    { { "--bogus", "x" }, "unknown flag --bogus" },
    { { "a", "b" }, 'unexpected argument "b"' },
    { { "a", "--var" }, "flag --var needs a value" },
    { { "a", "--var", "novalue" }, '--var "novalue": expected NAME=VALUE' },
    { { "a", "--json-context" }, "flag --json-context needs a value" },
    { { "a", "--missing-key", "maybe" }, '--missing-key must be "error" or "default"' },
    { { "a", "--delims", "x" }, "--delims needs LEFT,RIGHT" },
    { { "-", "--json-context", "-" }, "the template and the context cannot both come from stdin" },
  }
  for _, c in ipairs(usage_cases) do
    it("exits 2 on bad usage: " .. c[2], function()
      local args = { "template" }
      for _, a in ipairs(c[1]) do args[#args + 1] = a end
      local r = run(args)
      assert.are.same({ 2, "", "infrakit template: " .. c[2] .. "\nRun 'infrakit template --help' for usage.\n" },
        { r.status, r.stdout, r.stderr })
    end)
  end
end)

-- instance, flavor, group and plan share one way to parse --plugin/--json,
-- take their argument, reach a plugin and report a failure: each says the
-- same thing, in its own name, with no plugin running.
describe("plugin client commands with no plugin running", function()
  local home
  before_each(function() home = assert(infrakit.exec({ "mktemp", "-d" })).stdout:gsub("\n", "") end)
  after_each(function() infrakit.exec({ "rm", "-rf", home }) end)

  local function usage(cmd, says)
    return "infrakit " .. cmd .. ": " .. says .. "\nRun 'infrakit " .. cmd .. " --help' for usage.\n"
  end
  local function not_found(cmd, plugin, hint)
    return function(h)
      return "infrakit " .. cmd .. ": plugin " .. plugin .. ": not found in " .. h .. "/plugins (no socket " .. plugin
        .. ", no " .. plugin .. ".listen); is it running?" .. (hint or "") .. "\n"
    end
  end
  local spec = '{"ID": "w", "Properties": {"Allocation": {"Size": 1}, "Instance": {"Plugin": "nope"},'
    .. ' "Flavor": {"Plugin": "f"}}}'
  local start_group = " Start one with 'infrakit daemon' (or 'infrakit plugin start group')."
  local cases = {
    { { "flavor", "validate", "x" }, 2, usage("flavor validate", "--plugin NAME is required (see 'infrakit plugin ls')") },
    { { "flavor", "drain", "-p", "f" }, 2, usage("flavor drain", "missing FILE (or - to read standard input)") },
    { { "flavor", "healthy", "-p", "f", "a", "b" }, 2, usage("flavor healthy", 'unexpected argument "b"') },
    { { "flavor", "prepare", "-p", "f", "-" }, 1, not_found("flavor prepare", "f"), stdin = "{}" },
    { { "flavor", "validate", "-p", "f", "-" }, 1,
      "infrakit flavor validate: -: want an object of the request's fields (Properties, ...)\n", stdin = "[1]" },
    { { "instance", "describe", "x" }, 2, usage("instance describe", 'unexpected argument "x"') },
    { { "instance", "describe" }, 2, usage("instance describe", "--plugin NAME is required (see 'infrakit plugin ls')") },
    { { "instance", "validate", "-p", "i" }, 2, usage("instance validate", "missing FILE (or - to read standard input)") },
    { { "instance", "provision", "-p", "i", "-" }, 1, not_found("instance provision", "i"), stdin = "{}" },
    { { "instance", "label", "-p", "i", "id", "a=b" }, 1, not_found("instance label", "i") },
    -- Without --plugin, destroy says so once, not once per ID.
    { { "instance", "destroy", "a", "b" }, 2,
      usage("instance destroy", "--plugin NAME is required (see 'infrakit plugin ls')") },
    { { "group", "describe" }, 2, usage("group describe", "missing the group ID") },
    { { "group", "free", "a", "b" }, 2, usage("group free", 'unexpected argument "b"') },
    { { "group", "commit", "-" }, 1, not_found("group commit", "group", start_group), stdin = spec },
    { { "group", "scale", "w", "3" }, 1, not_found("group scale", "group", start_group) },
    { { "group", "destroy", "-p", "g", "w" }, 1, not_found("group destroy", "g") },
    { { "group", "ls" }, 1, not_found("group ls", "group", start_group) },
    { { "plan", "-" }, 1, not_found("plan", "nope"), stdin = spec },
    { { "plan", "-" }, 1, "infrakit plan: stdin:1:1: invalid JSON: unexpected token near end of file\n", stdin = "" },
  }
  for _, c in ipairs(cases) do
    it(table.concat(c[1], " ") .. " exits " .. c[2], function()
      local r = run(c[1], { env = { INFRAKIT_HOME = home }, stdin = c.stdin })
      local want = type(c[3]) == "function" and c[3](home) or c[3]
      assert.are.same({ c[2], "", want }, { r.status, r.stdout, r.stderr })
    end)
  end
end)
