-- Hostile input against a real daemon: bad group specs, raw
-- malformed HTTP and JSON-RPC bytes over the plugin sockets, and spec
-- templates reaching for the daemon's environment and files. Each case
-- checks the refusal and that the daemon keeps serving.
--
-- The suite's other files, one per kind of defence:
--   hostile_lua_spec.lua      the watchdog escape, the memory bomb, a looping
--                             template stalling the daemon
--   hostile_limits_spec.lua   Allocation.Size, a provider call that never
--                             answers, group IDs, describe counts
--   security_spec.lua         the TCP listener: TLS client certificates,
--                             --insecure, Host; process output paths
--   template_access_spec.lua  what a spec's template may read
--   C units                   slowloris (net/test_http_server); leftover
--                             temp files and planted links (providers/file,
--                             engine/test_store_file)
--
-- Covered elsewhere, not repeated here:
--   daemon_spec.lua  JSON-RPC errors through curl: invalid JSON, invalid
--                    UTF-8, truncated body, batch, unknown or missing method,
--                    params of the wrong type, mistyped or missing fields,
--                    unknown Type, driver errors; HTTP 405/404/415; a body
--                    over 8 MiB (413)
--   group_spec.lua   a negative Size and invalid JSON refused by commit,
--                    nothing stored
--   plan_spec.lua    JSON syntax errors placed by line and column
--   flavor_spec.lua  a Lua flavor that loops or raises
--   spec/fuzz/       the HTTP/JSON-RPC server, the group-spec parser and the
--                    template engine under libFuzzer (make test runs them)
local infrakit = require "infrakit"
local json = infrakit.json
local support = dofile("spec/functional/support.lua")
local run, sh = support.run, support.sh

local SECRET = "s3cr3t-" .. tostring(os.time())

local function write(path, text)
  local f = assert(io.open(path, "wb"))
  f:write(text)
  f:close()
end

-- Start `infrakit daemon ARGS...` in a new home with IK_SECRET in its
-- environment (and HOME, as a daemon run by a user has, and extra_env);
-- returns a handle like support.start_daemon's.
local function start(args, extra_env)
  local home = support.mktemp()
  local argv = { support.bin, "daemon", "--poll", "60s" }
  for _, a in ipairs(args or {}) do argv[#argv + 1] = a end
  local d = { home = home, plugins = home .. "/plugins" }
  local env = support.env(home, { IK_SECRET = SECRET, HOME = home })
  for k, v in pairs(extra_env or {}) do env[k] = v end
  d.task = infrakit.spawn(function() return infrakit.exec(argv, { env = env, timeout = 120 }) end)
  for _ = 1, 500 do
    if infrakit.rpc.call(d.plugins .. "/group", "Handshake.Hello", nil, { timeout = 1 }) then break end
    infrakit.sleep(0.01)
  end
  function d.stop()
    support.sh("kill -TERM $(cat " .. d.plugins .. "/group.pid)")
    return d.task:wait()
  end
  function d.cleanup() support.sh("rm -rf " .. home) end
  return d
end

-- Every socket of d still answers Hello.
local function assert_alive(d)
  for _, name in ipairs { "group", "instance-file", "flavor-vanilla" } do
    assert.is_truthy(infrakit.rpc.call(d.plugins .. "/" .. name, "Handshake.Hello", nil, { timeout = 5 }),
      name .. " stopped answering")
  end
end

-- Writes bytes to the unix socket (the server may close it before taking
-- them all), half-closes, returns what the server sent until it closed the
-- connection (or 5 s passed). Raw bytes: neither
-- curl nor infrakit.http would send most of these.
local function raw(socket, bytes)
  local r = assert(infrakit.exec({ "perl", "-MIO::Socket::UNIX", "-e", [[
    $| = 1; $SIG{ALRM} = sub { exit 0 }; $SIG{PIPE} = "IGNORE"; alarm 5;
    my $s = IO::Socket::UNIX->new(Peer => $ARGV[0]) or die "connect: $!";
    local $/; my $d = <STDIN>; print $s $d; shutdown($s, 1);
    while (sysread($s, my $b, 65536)) { print $b }
  ]], socket }, { stdin = bytes, timeout = 30 }))
  assert.are.equal(0, r.status, r.stderr)
  return r.stdout
end

local function post(body)
  return "POST / HTTP/1.1\r\nHost: h\r\nContent-Type: application/json\r\nContent-Length: " .. #body
    .. "\r\n\r\n" .. body
end

-- The JSON-RPC answer in an HTTP response.
local function rpc_answer(resp)
  assert.matches("^HTTP/1%.1 200 OK\r\n", resp)
  return json.decode(resp:match("\r\n\r\n(.*)$"))
end

local function group_spec(id, props)
  local p = {
    Allocation = { Size = 1 },
    Instance = { Plugin = "instance-file", Properties = { Note = "x" } },
    Flavor = { Plugin = "flavor-vanilla", Properties = {} },
  }
  for k, v in pairs(props or {}) do p[k] = v end
  return { ID = id, Properties = p }
end

describe("hostile input", function()
  local d

  setup(function() d = start() end)
  teardown(function()
    d.stop()
    d.cleanup()
  end)

  describe("bad group specs", function()
    -- { what, spec as JSON text, pattern of the error }
    local deep = ("["):rep(100000) .. ("]"):rep(100000)
    local cases = {
      { "ID a number", '{"ID": 5, "Properties": {}}', "ID: want a string" },
      { "Properties a list", '{"ID": "h", "Properties": []}', "Properties: want an object" },
      { "Size a string", { Allocation = { Size = "3" } }, "Allocation%.Size" },
      { "Size a fraction", { Allocation = { Size = 3.5 } }, "Allocation%.Size" },
      { "Size true", { Allocation = { Size = true } }, "Allocation%.Size" },
      { "Size 1e300", '{"ID": "h", "Properties": {"Allocation": {"Size": 1e300}, '
        .. '"Instance": {"Plugin": "instance-file"}, "Flavor": {"Plugin": "flavor-vanilla"}}}', "Allocation%.Size" },
      { "Size above 2^64", '{"ID": "h", "Properties": {"Allocation": {"Size": 18446744073709551616}, '
        .. '"Instance": {"Plugin": "instance-file"}, "Flavor": {"Plugin": "flavor-vanilla"}}}',
        "stdin:1:51: invalid JSON: too big integer" },
      { "LogicalIDs a string", { Allocation = { LogicalIDs = "a" } }, "Allocation%.LogicalIDs" },
      { "LogicalIDs of numbers", { Allocation = { LogicalIDs = { 1, 2 } } }, "Allocation%.LogicalIDs" },
      { "Instance a string", { Instance = "instance-file" }, "Instance" },
      { "Instance.Plugin a number", { Instance = { Plugin = 5 } }, "Instance%.Plugin" },
      { "MaxSurge true", { Updating = { MaxSurge = true } }, "Updating%.MaxSurge" },
      { "MaxParallel 1e20", { Updating = { MaxParallel = 1e20 } }, "Updating%.MaxParallel" },
      { "MinHealthySeconds -1", { Updating = { MinHealthySeconds = -1 } }, "Updating%.MinHealthySeconds" },
      { "DeletePolicy unknown", { Updating = { DeletePolicy = "Sideways" } }, "Updating%.DeletePolicy" },
      { "UnhealthyTimeout a list", { Health = { UnhealthyTimeout = { 1 } } }, "Health%.UnhealthyTimeout" },
      { "nesting 100000 deep", '{"ID": "h", "Properties": {"Allocation": {"Size": 1}, '
        .. '"Instance": {"Plugin": "instance-file", "Properties": ' .. deep .. '}, '
        .. '"Flavor": {"Plugin": "flavor-vanilla"}}}', "depth" },
    }
    for _, c in ipairs(cases) do
      it("refuses " .. c[1] .. ", naming it, and stores nothing", function()
        local text = type(c[2]) == "string" and c[2] or json.encode(group_spec("h", c[2]))
        local r = run(d.home, { "group", "commit", "-" }, { stdin = text })
        assert.are.equal(1, r.status, r.stdout)
        assert.matches(c[3], r.stderr)
        assert.is_false(support.exists(d.home .. "/configs/groups/h"))
        assert_alive(d)
      end)
    end

    it("refuses them over the wire too (Group.CommitGroup), as JSON-RPC errors", function()
      local spec = group_spec("h", { Allocation = { Size = "3" } })
      local a = rpc_answer(raw(d.plugins .. "/group", post(json.encode({
        jsonrpc = "2.0", method = "Group.CommitGroup", params = { Spec = spec, Pretend = false }, id = 1 }))))
      assert.is_nil(a.result)
      assert.matches("Allocation%.Size", a.error.message)
      assert.is_false(support.exists(d.home .. "/configs/groups/h"))
    end)

    it("accepts a deep but legal Properties value (2000 levels) with --pretend", function()
      local props = ("["):rep(1000) .. "1" .. ("]"):rep(1000)
      local text = '{"ID": "h", "Properties": {"Allocation": {"Size": 0}, "Instance": {"Plugin": "instance-file", '
        .. '"Properties": ' .. props .. '}, "Flavor": {"Plugin": "flavor-vanilla"}}}'
      local r = run(d.home, { "group", "commit", "--pretend", "-" }, { stdin = text })
      assert.are.equal(0, r.status, r.stderr)
      assert_alive(d)
    end)
  end)

  describe("malformed HTTP over the socket", function()
    local big = "GET / HTTP/1.1\r\nX-Big: " .. ("a"):rep(200000) .. "\r\n\r\n"
    local cases = {
      { "a garbage request line", "GARBAGE\r\n\r\n" },
      { "NUL bytes", "\0\0\0\0\r\n\r\n" },
      { "a header without a colon", "POST / HTTP/1.1\r\nHost h\r\n\r\n" },
      { "a negative Content-Length", "POST / HTTP/1.1\r\nContent-Length: -5\r\n\r\n" },
      { "two Content-Lengths", "POST / HTTP/1.1\r\nContent-Length: 5\r\nContent-Length: 7\r\n\r\nabcdefg" },
      { "a Content-Length past 2^64", "POST / HTTP/1.1\r\nContent-Type: application/json\r\n"
        .. "Content-Length: 99999999999999999999\r\n\r\n{}" },
      { "a bad chunk size", "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\nContent-Type: application/json\r\n\r\n"
        .. "zz\r\nabc\r\n0\r\n\r\n" },
      { "200 KB of header", big },
    }
    for _, c in ipairs(cases) do
      it("answers " .. c[1] .. " with a 4xx, closes, and keeps serving", function()
        local resp = raw(d.plugins .. "/instance-file", c[2])
        assert.matches("^HTTP/1%.1 4%d%d ", resp)
        assert.matches("\r\nConnection: close\r\n", resp)
        assert_alive(d)
      end)
    end

    it("answers a good request, then refuses the garbage pipelined after it", function()
      local resp = raw(d.plugins .. "/instance-file", "GET /info/api.json HTTP/1.1\r\nHost: h\r\n\r\nBROKEN\r\n\r\n")
      assert.matches("^HTTP/1%.1 200 OK\r\n", resp)
      assert.matches("HTTP/1%.1 400 Bad Request\r\n", resp)
      assert_alive(d)
    end)

    it("drops a connection closed in the middle of a request head or body", function()
      assert.are.equal("", raw(d.plugins .. "/instance-file", "POST / HTTP/1.1\r\nContent-Le"))
      assert.are.equal("", raw(d.plugins .. "/instance-file",
        "POST / HTTP/1.1\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"jsonrpc\""))
      assert_alive(d)
    end)
  end)

  describe("malformed JSON-RPC over the socket", function()
    local deep = '{"jsonrpc":"2.0","method":"Instance.Validate","params":' .. ("["):rep(100000)
      .. ("]"):rep(100000) .. ',"id":1}'
    local cases = {
      { "a method that is a number", '{"jsonrpc":"2.0","method":7,"params":{},"id":1}', -32600, "method must be a string" },
      { "jsonrpc 1.0", '{"jsonrpc":"1.0","method":"Handshake.Hello","params":{},"id":1}', -32600, "jsonrpc must be 2.0" },
      { "an id that is an object", '{"jsonrpc":"2.0","method":"Handshake.Hello","params":{},"id":{"a":1}}', -32600, "id must be" },
      { "a number out of range", '{"jsonrpc":"2.0","method":"Instance.Provision","params":{"Spec":{"Tags":{"a":1e999}}},"id":1}',
        -32700, "overflow" },
      { "a \\u0000 in a string", '{"jsonrpc":"2.0","method":"Instance.Provision","params":{"Spec":{"Tags":{"a":"\\u0000x"}}},"id":1}',
        -32700, "u0000" },
      { "an empty body", "", -32700, "parse error" },
      { "trailing bytes after the object", '{"jsonrpc":"2.0","method":"Handshake.Hello","params":{},"id":1}{"x":1}',
        -32700, "end of file expected" },
      { "100000 levels of nesting", deep, -32700, "maximum parsing depth" },
    }
    for _, c in ipairs(cases) do
      it("answers " .. c[1] .. " with " .. c[3], function()
        local a = rpc_answer(raw(d.plugins .. "/instance-file", post(c[2])))
        assert.are.equal("2.0", a.jsonrpc)
        assert.are.equal(c[3], a.error.code)
        assert.matches(c[4], a.error.message, 1, true)
        assert_alive(d)
      end)
    end

    it("refuses a Lua flavor's arguments nested 2000 deep, and the flavor keeps serving", function()
      local props = ("["):rep(2000) .. "1" .. ("]"):rep(2000)
      local body = '{"jsonrpc":"2.0","method":"Flavor.Prepare","params":{"Type":"","Properties":{},"Spec":{"Properties":'
        .. props .. '},"Allocation":{"Size":1},"Index":{"Group":"g","Sequence":0}},"id":1}'
      local a = rpc_answer(raw(d.plugins .. "/flavor-vanilla", post(body)))
      assert.is_nil(a.result)
      assert.matches("nested too deeply", a.error.message, 1, true)
      assert_alive(d)
    end)
  end)

  -- A spec's template must not read the daemon's secrets.
  describe("spec templates (no --template-* flags)", function()
    local function vanilla(id, url, size_or_ids)
      local alloc = type(size_or_ids) == "table" and { LogicalIDs = size_or_ids } or { Size = size_or_ids or 1 }
      return json.encode(group_spec(id, {
        Allocation = alloc, Flavor = { Plugin = "flavor-vanilla", Properties = { InitScriptTemplateURL = url } },
      }))
    end

    -- Nothing of the secret anywhere the daemon wrote instances.
    local function assert_no_leak()
      local r = sh("grep -rl -e '" .. SECRET .. "' -e \"$(cat /etc/hostname)\" " .. d.home
        .. "/instance-file 2>/dev/null || true")
      assert.are.equal("", r.stdout)
    end

    local cases = {
      { "env HOME", 'str://{{ env "HOME" }}', 'error calling env: env "HOME": .*%-%-template%-env HOME' },
      { "env of a secret", 'str://#!/bin/sh\nexport K={{ env "IK_SECRET" }}', "%-%-template%-env IK_SECRET" },
      { "expandenv", 'str://{{ expandenv "$IK_SECRET" }}', "error calling expandenv: .*%-%-template%-env IK_SECRET" },
      { "include file:///proc/self/environ", 'str://{{ include "file:///proc/self/environ" }}',
        "error calling include: file:///proc/self/environ: .*%-%-template%-dir DIR" },
      { "fetch file:///etc/hostname", 'str://{{ fetch "file:///etc/hostname" }}',
        "error calling fetch: file:///etc/hostname: .*%-%-template%-dir DIR" },
      { "a local file as the template itself", "file:///etc/hostname",
        "InitScriptTemplateURL file:///etc/hostname: templates rendered by the daemon may read local files only" },
      { "a plugin socket", 'str://{{ fetch "unix://group/info/api.json" }}', "%-%-template%-schemes http,https,unix" },
    }
    for i, c in ipairs(cases) do
      it("refuses the commit of a template reading " .. c[1] .. ", naming the flag", function()
        local r = run(d.home, { "group", "commit", "-" }, { stdin = vanilla("t" .. i, c[2]) })
        assert.are.equal(1, r.status, r.stdout)
        assert.matches(c[3], r.stderr)
        assert.not_matches(SECRET, r.stderr, 1, true)
        assert.is_false(support.exists(d.home .. "/configs/groups/t" .. i))
        assert_no_leak()
      end)
    end

    it("refuses a Lua template's f.env and f.include", function()
      local dir = d.home .. "/tpl"
      sh("mkdir -p " .. dir)
      write(dir .. "/env.lua", 'return function(ctx, f) return f.env("IK_SECRET") end')
      local r = run(d.home, { "group", "commit", "-" }, { stdin = vanilla("lua", "file://" .. dir .. "/env.lua") })
      assert.are.equal(1, r.status)
      -- the file itself is outside any allowed directory
      assert.matches("InitScriptTemplateURL file://.*/env%.lua: .*%-%-template%-dir", r.stderr)
      local r2 = run(d.home, { "flavor", "prepare", "-p", "flavor-vanilla", "-" }, { stdin = json.encode({
        Properties = { InitScriptTemplateURL = 'str://{{ include "file:///proc/self/environ" }}' },
        Spec = { Tags = {}, Init = "" }, Allocation = { Size = 1 }, Index = { Group = "g", Sequence = 0 } }) })
      assert.are.equal(1, r2.status)
      assert.matches("file:///proc/self/environ: templates rendered by the daemon", r2.stderr)
      assert.not_matches(SECRET, r2.stdout .. r2.stderr, 1, true)
    end)

    it("refuses it inside flavor-combo too", function()
      local spec = group_spec("combo", { Flavor = { Plugin = "flavor-combo", Properties = {
        { Plugin = "flavor-vanilla", Properties = { Tags = { a = "1" } } },
        { Plugin = "flavor-vanilla", Properties = { InitScriptTemplateURL = 'str://{{ env "IK_SECRET" }}' } },
      } } })
      local r = run(d.home, { "group", "commit", "-" }, { stdin = json.encode(spec) })
      assert.are.equal(1, r.status, r.stdout)
      assert.matches("%-%-template%-env IK_SECRET", r.stderr)
      assert.is_false(support.exists(d.home .. "/configs/groups/combo"))
    end)

    it("fails the provision (not only the commit) when only Prepare reads the secret", function()
      -- Validate renders with INSTANCE_LOGICAL_ID "", so the commit passes;
      -- Prepare of the pet "db-1" reads the variable and must fail.
      local url = 'str://{{ if INSTANCE_LOGICAL_ID }}{{ env "IK_SECRET" }}{{ end }}'
      local r = run(d.home, { "group", "commit", "-" }, { stdin = vanilla("pets", url, { "db-1" }) })
      assert.are.equal(0, r.status, r.stderr)
      local st = support.wait_group(d.home, "pets", function(s)
        return json.encode(s):find("template-env IK_SECRET", 1, true) ~= nil
      end, 20)
      assert.are.equal(0, #st.Instances)
      assert_no_leak()
      run(d.home, { "group", "destroy", "pets" })
    end)
  end)

  describe("spec templates with the allow-list flags", function()
    local d2, dir
    setup(function()
      dir = support.mktemp()
      write(dir .. "/init.tpl", '#!/bin/sh\nexport K={{ env "IK_SECRET" }}\n{{ include "part.tpl" }}')
      write(dir .. "/part.tpl", 'host {{ fetch "file:///etc/hostname" | trim }}')
      d2 = start({ "--template-env", "IK_SECRET,HOME", "--template-dir", dir, "--template-dir", "/etc" })
    end)
    teardown(function()
      run(d2.home, { "group", "destroy", "ok" })
      d2.stop()
      d2.cleanup()
      sh("rm -rf " .. dir)
    end)

    it("renders env, includes and fetches that the flags allow into the instance's Init", function()
      local r = run(d2.home, { "group", "commit", "-" }, { stdin = json.encode(group_spec("ok", {
        Flavor = { Plugin = "flavor-vanilla", Properties = { InitScriptTemplateURL = "file://" .. dir .. "/init.tpl" } },
      })) })
      assert.are.equal(0, r.status, r.stderr)
      support.wait_group(d2.home, "ok", function(s) return #s.Instances == 1 end, 20)
      local out = run(d2.home, { "instance", "describe", "-p", "instance-file", "--json" }).stdout
      local host = sh("cat /etc/hostname").stdout:gsub("%s+$", "")
      local files = sh("cat " .. d2.home .. "/instance-file/*").stdout
      assert.matches("export K=" .. SECRET, files, 1, true)
      assert.matches("host " .. host, files, 1, true)
      assert.are.equal(1, #json.decode(out))
    end)

    it("still refuses what the flags do not name, in a Lua template too", function()
      write(dir .. "/env.lua", 'return function(ctx, f) return f.env("IK_SECRET") .. f.env("PATH") end')
      local r0 = run(d2.home, { "flavor", "validate", "-p", "flavor-vanilla", "-" }, { stdin = json.encode({
        Properties = { InitScriptTemplateURL = "file://" .. dir .. "/env.lua" }, Allocation = { Size = 1 } }) })
      assert.are.equal(1, r0.status)
      assert.matches('env "PATH": .*%-%-template%-env PATH', r0.stderr)
      local r = run(d2.home, { "flavor", "validate", "-p", "flavor-vanilla", "-" }, { stdin = json.encode({
        Properties = { InitScriptTemplateURL = 'str://{{ env "PATH" }}{{ include "file:///proc/self/environ" }}' },
        Allocation = { Size = 1 } }) })
      assert.are.equal(1, r.status)
      assert.matches("%-%-template%-env PATH", r.stderr)
    end)
  end)

  describe("the allow-list flags", function()
    it("are read from INFRAKIT_TEMPLATE_ENV, _DIR and _SCHEMES when not given", function()
      local d3 = start({}, { INFRAKIT_TEMPLATE_ENV = "IK_SECRET", INFRAKIT_TEMPLATE_DIR = "/nonexistent-1:/etc",
        INFRAKIT_TEMPLATE_SCHEMES = "https" })
      -- a directory that does not exist: the daemon refuses to start
      local r = d3.task:wait()
      d3.cleanup()
      assert.are.equal(2, r.status)
      assert.matches("%-%-template%-dir /nonexistent%-1: ", r.stderr)
      d3 = start({}, { INFRAKIT_TEMPLATE_ENV = "IK_SECRET", INFRAKIT_TEMPLATE_DIR = "/etc",
        INFRAKIT_TEMPLATE_SCHEMES = "https" })
      r = run(d3.home, { "flavor", "prepare", "-p", "flavor-vanilla", "-" }, { stdin = json.encode({
        Properties = { InitScriptTemplateURL = 'str://{{ env "IK_SECRET" }} {{ fetch "/etc/hostname" | trim }}' },
        Spec = { Tags = {}, Init = "" }, Allocation = { Size = 1 }, Index = { Group = "g", Sequence = 0 } }) })
      local r2 = run(d3.home, { "flavor", "validate", "-p", "flavor-vanilla", "-" }, { stdin = json.encode({
        Properties = { InitScriptTemplateURL = 'str://{{ fetch "http://127.0.0.1:9/x" }}' }, Allocation = { Size = 1 } }) })
      d3.stop()
      d3.cleanup()
      assert.are.equal(0, r.status, r.stderr)
      assert.are.equal(SECRET .. " " .. sh("cat /etc/hostname").stdout:gsub("%s+$", ""), json.decode(r.stdout).Init)
      assert.are.equal(1, r2.status)
      assert.matches("may not fetch http:// URLs %(allowed schemes: https;", r2.stderr)
    end)

    it("refuse what they cannot mean, before the daemon starts", function()
      local home = support.mktemp()
      local cases = {
        { { "--template-schemes", "https,file" }, "local files are allowed by directory: use %-%-template%-dir DIR" },
        { { "--template-schemes", "ftp" }, "want a comma%-separated list of http, https, unix" },
        { { "--template-dir", home .. "/nope" }, "%-%-template%-dir .*/nope: " },
        { { "--template-env", "A;B" }, "want variable names like HOME" },
      }
      for _, c in ipairs(cases) do
        local args = { "daemon" }
        for _, a in ipairs(c[1]) do args[#args + 1] = a end
        local r = run(home, args)
        assert.are.equal(2, r.status, table.concat(c[1], " "))
        assert.matches(c[2], r.stderr)
      end
      sh("rm -rf " .. home)
    end)
  end)

  describe("templates run by the user", function()
    it("infrakit template reads the environment and local files", function()
      local home = support.mktemp()
      local r = run(home, { "template", "-" }, {
        stdin = '{{ env "IK_SECRET" }} {{ fetch "file:///etc/hostname" | trim }}', env = { IK_SECRET = SECRET } })
      sh("rm -rf " .. home)
      assert.are.equal(0, r.status, r.stderr)
      assert.are.equal(SECRET .. " " .. sh("cat /etc/hostname").stdout:gsub("%s+$", ""), r.stdout)
    end)

    it("infrakit play playbooks too", function()
      local home = support.mktemp()
      write(home .. "/book.lua", [[
        return { run = function()
          local t = require("infrakit").template
          print((assert(t.render('{{ env "IK_SECRET" }}'))))
        end }
      ]])
      local r = run(home, { "play", home .. "/book.lua" }, { env = { IK_SECRET = SECRET } })
      sh("rm -rf " .. home)
      assert.are.equal(0, r.status, r.stderr)
      assert.are.equal(SECRET .. "\n", r.stdout)
    end)
  end)
end)
