-- infrakit play: parameters, help, errors, and the quickstart playbook end
-- to end (real daemon, real processes, real ports).
local infrakit = require "infrakit"
local support = dofile("spec/functional/support.lua")
local run, sh = support.run, support.sh

local book = [[
return {
  description = "Says what it was given.",
  params = {
    { name = "size", type = "int", default = 3, help = "how many" },
    { name = "keep", type = "bool", default = false },
    { name = "mode", type = "string", allowed = { "fast", "safe" }, default = "safe" },
    { name = "ratio", type = "number" },
    { name = "tags", type = "list" },
    { name = "owner", type = "string", required = true, help = "who asks" },
  },
  run = function(p, args)
    local infrakit = require "infrakit"
    print(string.format("size=%d keep=%s mode=%s ratio=%s tags=%s owner=%s args=%s same=%s", p.size,
      tostring(p.keep), p.mode, tostring(p.ratio), table.concat(p.tags or {}, "+"), p.owner,
      table.concat(args, " "), tostring(infrakit.params == p)))
    if p.mode == "fast" and p.size > 10 then error("too fast for " .. p.size) end
    return p.size == 7 and 3 or 0
  end,
}
]]

describe("infrakit play", function()
  local dir
  setup(function()
    dir = support.mktemp()
    local f = io.open(dir .. "/book.lua", "w")
    f:write(book)
    f:close()
    f = io.open(dir .. "/broken.lua", "w")
    f:write("return {\n  run = function()\n    local x = = 1\n  end,\n}\n")
    f:close()
    sh("mkdir -p " .. dir .. "/asdir && cp " .. dir .. "/book.lua " .. dir .. "/asdir/playbook.lua")
  end)
  teardown(function() sh("rm -rf " .. dir) end)

  it("passes typed parameters and the arguments after --", function()
    local r = run(dir, { "play", dir .. "/book.lua", "--size", "5", "--keep", "--mode=fast", "--ratio", "0.5",
      "--tags", "a,b", "--tags", "c", "--owner", "me", "--", "x", "--y" })
    assert.are.equal(0, r.status, r.stderr)
    assert.are.equal("size=5 keep=true mode=fast ratio=0.5 tags=a+b+c owner=me args=x --y same=true\n", r.stdout)
    -- Defaults, a directory holding playbook.lua, --no-BOOL, the run's return as exit status.
    r = run(dir, { "play", dir .. "/asdir", "--owner", "you", "--no-keep", "--size", "7" })
    assert.are.equal(3, r.status, r.stderr)
    assert.are.equal("size=7 keep=false mode=safe ratio=nil tags= owner=you args= same=true\n", r.stdout)
  end)

  it("has infrakit.template without a require, as docs/playbooks.md shows", function()
    local f = io.open(dir .. "/tpl.lua", "w")
    f:write([[
return {
  run = function()
    local infrakit = require "infrakit"
    print(assert(infrakit.template.render("hello {{ .name }}", { name = "world" })))
    assert(infrakit.template == require("infrakit.template"))
    return 0
  end,
}
]])
    f:close()
    local r = run(dir, { "play", dir .. "/tpl.lua" })
    assert.are.equal(0, r.status, r.stderr)
    assert.are.equal("hello world\n", r.stdout)
  end)

  it("lists the parameters with --help, without running", function()
    local r = run(dir, { "play", dir .. "/book.lua", "--help" })
    assert.are.equal(0, r.status, r.stderr)
    assert.matches("Says what it was given.", r.stdout, 1, true)
    assert.matches("  --size INT             how many (default 3)\n", r.stdout, 1, true)
    assert.matches("  --mode STRING          (default safe; one of fast, safe)\n", r.stdout, 1, true)
    assert.matches("  --owner STRING         who asks (required)\n", r.stdout, 1, true)
    assert.matches("  --ratio NUMBER\n", r.stdout, 1, true)
    assert.is_nil(r.stdout:find("size=", 1, true))
    -- The help format of every command: a Usage line first, the global options last.
    assert.matches("^Usage: infrakit play %[%-%-refresh%] %[%-%-json%] ", r.stdout)
    assert.matches("\nGlobal options %(any command%):\n.*  %-h, %-%-help +show this help\n$", r.stdout)
  end)

  it("refuses bad parameters before running, naming them (exit 2)", function()
    local cases = {
      { { "--owner", "me", "--bogus", "1" }, "unknown parameter --bogus (known: --size, --keep, --mode" },
      { { "--owner", "me", "--size", "x" }, '--size: "x" is not a whole number' },
      { { "--owner", "me", "--size", "1.5" }, '--size: "1.5" is not a whole number' },
      { { "--owner", "me", "--ratio", "lots" }, '--ratio: "lots" is not a number' },
      { { "--owner", "me", "--mode", "slow" }, "--mode: slow is not one of fast, safe" },
      { { "--owner", "me", "--size" }, "--size: missing its value" },
      { {}, "--owner is required: who asks" },
    }
    for _, c in ipairs(cases) do
      local argv = { "play", dir .. "/book.lua" }
      for _, a in ipairs(c[1]) do argv[#argv + 1] = a end
      local r = run(dir, argv)
      assert.are.equal(2, r.status, table.concat(c[1], " "))
      assert.matches(c[2], r.stderr, 1, true)
      assert.are.equal("", r.stdout)
    end
  end)

  it("reports a broken playbook with its file and line, and a failing one with its error", function()
    local r = run(dir, { "play", dir .. "/broken.lua" })
    assert.are.equal(1, r.status)
    assert.matches("broken.lua:3:", r.stderr, 1, true)
    r = run(dir, { "play", dir .. "/book.lua", "--owner", "me", "--mode", "fast", "--size", "11" })
    assert.are.equal(1, r.status)
    assert.matches("book.lua:16: too fast for 11", r.stderr, 1, true)
    assert.matches("stack traceback:", r.stderr, 1, true)
    r = run(dir, { "play", "no-such-playbook" })
    assert.are.equal(2, r.status)
    assert.matches('no playbook "no-such-playbook"', r.stderr, 1, true)
    r = run(dir, { "play" })
    assert.are.equal(2, r.status)
  end)

  it("runs a playbook from the registry offline, and from a URL, with the cache as fallback", function()
    local home = support.mktemp()
    local port = "28391"
    local url = "http://127.0.0.1:" .. port .. "/book.lua"
    -- A local HTTP server serving the playbook: infrakit serve answers every path with its text.
    local server = infrakit.spawn(function()
      return infrakit.exec({ support.bin, "serve", "--listen", "127.0.0.1:" .. port, "--text", book })
    end)
    for _ = 1, 100 do
      if infrakit.http.get(url, { timeout = 1 }) then break end
      infrakit.sleep(0.02)
    end
    local r = run(home, { "playbook", "add", "web", url })
    assert.are.equal(0, r.status, r.stderr)
    assert.are.equal("added web from " .. url .. ": Says what it was given.\n", r.stdout)
    r = run(home, { "play", url, "--owner", "url" })
    assert.are.equal(0, r.status, r.stderr)
    r = run(home, { "playbook", "ls" })
    assert.matches("web%s+%d%d%d%d%-%d%d%-%d%dT[%d:]+Z%s+http://127%.0%.0%.1:" .. port .. "/book%.lua%s+Says what", r.stdout)
    -- The built-in playbooks are listed too.
    assert.matches("\nquickstart%s+built%-in%s+%(in the binary%)%s+A self%-healing group", r.stdout)
    assert.matches("\nfile%-cluster%s+built%-in", r.stdout)
    -- The server goes away: the cache still runs, and says so when asked to refresh.
    server:cancel()
    server:wait()
    r = run(home, { "play", "web", "--owner", "offline" })
    assert.are.equal(0, r.status, r.stderr)
    assert.matches("owner=offline", r.stdout, 1, true)
    r = run(home, { "play", "--refresh", "web", "--owner", "x" })
    assert.are.equal(0, r.status, r.stderr)
    assert.matches("refresh failed: fetch " .. url, r.stderr, 1, true)
    assert.matches("the cached copy", r.stderr, 1, true)
    r = run(home, { "play", url, "--owner", "x" })
    assert.are.equal(0, r.status, r.stderr)
    assert.matches("using the cached copy", r.stderr, 1, true)
    r = run(home, { "play", "http://127.0.0.1:" .. port .. "/never-fetched.lua" })
    assert.are.equal(2, r.status)
    assert.matches("and no cached copy", r.stderr, 1, true)
    r = run(home, { "playbook", "update", "web" })
    assert.are.equal(1, r.status)
    assert.matches("the cached copy from", r.stderr, 1, true)
    -- Bad input to the registry.
    r = run(home, { "playbook", "add", "bad name", url })
    assert.are.equal(1, r.status)
    assert.matches("want letters, digits", r.stderr, 1, true)
    r = run(home, { "playbook", "add", "broken", dir .. "/broken.lua" })
    assert.are.equal(1, r.status)
    assert.matches("broken.lua:3:", r.stderr, 1, true)
    -- ls --json: the same rows, for machines.
    r = run(home, { "playbook", "ls", "--json" })
    assert.are.equal(0, r.status, r.stderr)
    local rows = assert(infrakit.json.decode(r.stdout))
    assert.are.same({ Name = "web", Source = url, Description = "Says what it was given.", Builtin = false,
      CachedAt = rows[1].CachedAt }, rows[1])
    assert.matches("^%d%d%d%d%-%d%d%-%d%dT[%d:]+Z$", rows[1].CachedAt)
    local builtin = {}
    for _, row in ipairs(rows) do builtin[row.Name] = row.Builtin end
    assert.are.same({ web = false, quickstart = true, ["file-cluster"] = true, swarm = true, immutable = true,
      autoscale = true }, builtin)
    -- rm --help is the subcommand's help, not a playbook named --help.
    r = run(home, { "playbook", "rm", "--help" })
    assert.are.equal(0, r.status, r.stderr)
    assert.matches("^Usage: infrakit playbook rm NAME\n", r.stdout)
    r = run(home, { "playbook", "ls" })
    assert.matches("\nweb ", r.stdout, 1, true)
    -- A missing or extra argument is a usage error (exit 2) that runs nothing.
    r = run(home, { "playbook", "rm" })
    assert.are.same({ 2, "" }, { r.status, r.stdout })
    assert.matches("infrakit playbook rm: want NAME", r.stderr, 1, true)
    r = run(home, { "playbook", "rm", "web", "extra" })
    assert.are.equal(2, r.status)
    assert.matches('unexpected argument "extra"', r.stderr, 1, true)
    r = run(home, { "playbook", "rm", "web" })
    assert.are.equal(0, r.status, r.stderr)
    r = run(home, { "playbook", "rm", "web" })
    assert.are.equal(1, r.status)
    assert.matches('no playbook "web" in the registry', r.stderr, 1, true)
    sh("rm -rf " .. home)
  end)

  it("on Ctrl-C cancels the playbook's waits, runs its interrupt handler, and exits 130", function()
    local f = io.open(dir .. "/ctrlc.lua", "w")
    f:write(string.format([[
local infrakit = require "infrakit"
return { run = function()
  infrakit.on_interrupt(function()
    infrakit.sleep(0.05) -- a handler may wait (destroy a group, stop a daemon)
    local m = io.open(%q, "w") m:write("cleaned") m:close()
  end)
  infrakit.print("started")
  infrakit.sleep(60)
  infrakit.print("never")
end }
]], dir .. "/marker"))
    f:close()
    local r = sh(string.format("%s play %s > %s/out 2>&1 & pid=$!; sleep 0.5; kill -INT $pid; wait $pid; echo rc=$?",
      support.bin, dir .. "/ctrlc.lua", dir))
    assert.are.equal("rc=130\n", r.stdout)
    local out = io.open(dir .. "/out"):read("*a")
    assert.matches("started", out, 1, true)
    assert.matches("interrupted: " .. dir .. "/ctrlc.lua stopped here; cleaning up", out, 1, true)
    assert.is_nil(out:find("never", 1, true))
    assert.are.equal("cleaned", io.open(dir .. "/marker"):read("*a"))
  end)

  it("caches the templates a remote playbook includes, for offline runs", function()
    local home = support.mktemp()
    local pport, tport = "28393", "28394"
    local remote = [[
local infrakit = require "infrakit"
return { run = function()
  -- The template ships beside the playbook: resolved against its source.
  local url = infrakit.template.resolve(infrakit.playbook_source, "greeting.tmpl")
  url = url:gsub("]] .. pport .. [[", "]] .. tport .. [[")
  print(assert(require("infrakit.template").render_url(url, { name = "offline" })))
end }
]]
    local function serve(port, text)
      return infrakit.spawn(function()
        return infrakit.exec({ support.bin, "serve", "--listen", "127.0.0.1:" .. port, "--text", text })
      end)
    end
    local ps, ts = serve(pport, remote), serve(tport, "hello {{ .name }}")
    local purl = "http://127.0.0.1:" .. pport .. "/pb/playbook.lua"
    for _ = 1, 100 do
      if infrakit.http.get(purl, { timeout = 1 }) and infrakit.http.get("http://127.0.0.1:" .. tport .. "/", { timeout = 1 })
      then break end
      infrakit.sleep(0.02)
    end
    assert.are.equal(0, run(home, { "playbook", "add", "greet", purl }).status)
    local r = run(home, { "play", "greet" })
    assert.are.equal(0, r.status, r.stderr)
    assert.are.equal("hello offline\n", r.stdout)
    ps:cancel()
    ts:cancel()
    ps:wait()
    ts:wait()
    r = run(home, { "play", "greet" })
    assert.are.equal(0, r.status, r.stderr)
    assert.are.equal("hello offline\n", r.stdout)
    assert.matches("using the cached copy of a template", r.stderr, 1, true)
    sh("rm -rf " .. home)
  end)

  it("prints JSON lines with --json", function()
    local r = run(dir, { "play", "--json", dir .. "/book.lua", "--owner", "me" })
    assert.are.equal(0, r.status, r.stderr)
    -- print() in the playbook is Lua's; infrakit.print would be an event line.
    local f = io.open(dir .. "/say.lua", "w")
    f:write('return { run = function() require("infrakit").print("hi %d", 42) end }')
    f:close()
    r = run(dir, { "play", "--json", dir .. "/say.lua" })
    assert.are.equal(0, r.status, r.stderr)
    local ev = infrakit.json.decode(r.stdout)
    assert.are.equal("print", ev.event)
    assert.are.equal("hi 42", ev.text)
  end)

  it("runs the file-cluster playbook: pets on the file driver with the zookeeper flavor", function()
    local r = run(dir, { "play", "file-cluster", "--members", "10.9.0.1,10.9.0.2" })
    assert.are.equal(0, r.status, r.stderr .. r.stdout)
    for _, want in ipairs({ "member 10.9.0.1", "myid 1", "member 10.9.0.2", "myid 2",
      "server.1=10.9.0.1:2888:3888", "server.2=10.9.0.2:2888:3888", "torn down", "INFRAKIT_HOME=" .. dir .. "\n" }) do
      assert.matches(want, r.stdout, 1, true)
    end
  end)

  it("runs the quickstart end to end: create, scale, heal a SIGKILL, roll out, tear down", function()
    local r = run(dir, { "play", "quickstart", "--port", "28180" }, { env = { INFRAKIT_LOG_LEVEL = "warn" } })
    assert.are.equal(0, r.status, r.stderr .. r.stdout)
    for _, want in ipairs({ "started a daemon", "all 3 answer:", "web 28180, v1", "5 servers answer",
      "with SIGKILL", "healed in", "rolling out v2", "all 5 on v2:", "web 28184, v2",
      "torn down: group destroyed, daemon stopped", "done" }) do
      assert.matches(want, r.stdout, 1, true)
    end
    -- Nothing left behind: no daemon, no server.
    assert.are.equal(1, infrakit.exec({ "pgrep", "-f", "serve --listen 127.0.0.1:2818" }).status)
  end)

  it("quickstart --keep uses the exported INFRAKIT_HOME, and its stop hint stops everything", function()
    local home = support.mktemp()
    local r = run(home, { "play", "quickstart", "--keep", "--size", "1", "--grow", "2", "--port", "28190" },
      { env = { INFRAKIT_LOG_LEVEL = "warn" } })
    assert.are.equal(0, r.status, r.stderr .. r.stdout)
    assert.matches("quickstart, INFRAKIT_HOME=" .. home .. "\n", r.stdout, 1, true)
    assert.is_true(support.exists(home .. "/plugins/group"))
    assert.is_truthy(infrakit.http.get("http://127.0.0.1:28191/", { timeout = 2 }))
    local stop = r.stdout:match("\n%[[^%]]*%]%s+stop everything: ([^\n]+)")
    assert.is_not_nil(stop, r.stdout)
    local s = assert(infrakit.exec({ "sh", "-c", stop }, { env = { PATH = os.getenv("PATH") }, timeout = 60 }))
    assert.are.equal(0, s.status, stop .. "\n" .. s.stdout .. s.stderr)
    -- Nothing left: no daemon, no server, no port held.
    assert.is_false(support.exists(home .. "/plugins/group"))
    assert.are.equal(1, infrakit.exec({ "pgrep", "-f", "serve --listen 127.0.0.1:2819" }).status)
    assert.is_nil(infrakit.http.get("http://127.0.0.1:28190/", { timeout = 2 }))
    sh("rm -rf " .. home)
  end)

  it("quickstart reports the heal (kill to replacement answering) apart from the health wait", function()
    local r = run(dir, { "play", "quickstart", "--size", "1", "--grow", "2", "--port", "28195" },
      { env = { INFRAKIT_LOG_LEVEL = "warn" } })
    assert.are.equal(0, r.status, r.stderr .. r.stdout)
    assert.matches("healed in %d+ ms: process%-%d+ answers on port 2819%d %(provisioned after %d+ ms%)\n", r.stdout)
    assert.matches("group web healthy again %d+ ms later %(MinHealthySeconds 0%.3%)\n", r.stdout)
  end)
end)
