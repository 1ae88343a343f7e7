-- infrakit daemon: the wire, checked with a real HTTP client (curl) against
-- the recorded InfraKit exchanges in shared/reference/wire-examples.md.
local infrakit = require "infrakit"
local json = infrakit.json

local support = dofile("spec/functional/support.lua")
local sh, exists, start_daemon = support.sh, support.exists, support.start_daemon

-- curl against the socket; returns status, content type, body.
local function http(d, opts)
  local argv = { "curl", "-s", "-i", "--unix-socket", d.socket, "-X", opts.method or "POST" }
  if opts.ctype ~= false then
    argv[#argv + 1] = "-H"
    argv[#argv + 1] = "Content-Type: " .. (opts.ctype or "application/json")
  end
  if opts.body then
    argv[#argv + 1] = "--data-binary"
    argv[#argv + 1] = "@-"
  end
  argv[#argv + 1] = "http://h" .. (opts.path or "/")
  local r = assert(infrakit.exec(argv, { stdin = opts.body }))
  assert.are.equal(0, r.status, r.stderr)
  local head, body = r.stdout:match("^(.-)\r\n\r\n(.*)$")
  local status = tonumber(head:match("^HTTP/1%.1 (%d+)"))
  local ctype = head:match("\r\n[Cc]ontent%-[Tt]ype: ([^\r\n]*)")
  return status, ctype, body
end

local function rpc(d, body)
  local status, ctype, out = http(d, { body = body })
  assert.are.equal(200, status)
  return out, ctype
end

describe("infrakit daemon", function()
  local d
  setup(function() d = start_daemon() end)
  teardown(function()
    if d then d.stop(); d.cleanup() end
  end)

  it("serves instance-file on a 0600 socket in a 0700 plugins dir, with a pid file", function()
    assert.are.equal("srw-------", sh("stat -c %A " .. d.socket).stdout:sub(1, 10))
    assert.are.equal("drwx------", sh("stat -c %A " .. d.plugins).stdout:sub(1, 10))
    assert.matches("^%d+$", io.open(d.plugins .. "/instance-file.pid"):read("*a"))
  end)

  -- libcurl and its ~28 libraries cost several MiB of RSS: a daemon serving
  -- every built-in (instance-docker, flavor-swarm and flavor-http included)
  -- loads it only when one of them makes its first HTTP call.
  it("serves every built-in without loading libcurl until an HTTP call needs it", function()
    local pid = io.open(d.plugins .. "/instance-file.pid"):read("*a"):gsub("%s+$", "")
    assert.truthy(exists(d.plugins .. "/instance-docker"))
    local maps = io.open("/proc/" .. pid .. "/maps"):read("*a")
    assert.is_nil(maps:find("libcurl", 1, true), "libcurl is mapped at start")
  end)

  -- Recorded exchanges: the body must match byte for byte.
  local exact = {
    { name = "Handshake.Hello (wire-examples: Handshake.Hello @ instance-file)",
      req = '{"jsonrpc":"2.0","method":"Handshake.Hello","params":{},"id":8853847798206877333}',
      res = '{"jsonrpc":"2.0","result":{"Objects":{"Instance/0.6.1":[{"Name":".","ProxyFor":""}]}},"id":8853847798206877333}\n' },
    { name = "Instance.Validate",
      req = '{"jsonrpc":"2.0","method":"Instance.Validate","params":{"Type":"","Properties":{"Note":"v1"}},"id":2158296684322211250}',
      res = '{"jsonrpc":"2.0","result":{"Type":"","OK":true},"id":2158296684322211250}\n' },
    { name = "a uint64 id beyond int64 (Go's random ids) is echoed verbatim",
      req = '{"jsonrpc":"2.0","method":"Handshake.Hello","params":{},"id":18446744073709551615}',
      res = '{"jsonrpc":"2.0","result":{"Objects":{"Instance/0.6.1":[{"Name":".","ProxyFor":""}]}},"id":18446744073709551615}\n' },
    { name = "a big id is echoed in errors too",
      req = '{"jsonrpc":"2.0", "id" : 9223372036854775808, "method":"Instance.Nope","params":{"id":1}}',
      res = '{"jsonrpc":"2.0","error":{"code":-32601,"message":"method not found: Instance.Nope (plugin instance-file)","data":null},"id":9223372036854775808}\n' },
    { name = "a string id is echoed verbatim",
      req = '{"jsonrpc":"2.0","method":"Handshake.Hello","params":{},"id":"abc"}',
      res = '{"jsonrpc":"2.0","result":{"Objects":{"Instance/0.6.1":[{"Name":".","ProxyFor":""}]}},"id":"abc"}\n' },
    { name = "a wrong jsonrpc version is -32600 with the request as data",
      req = '{"jsonrpc":"1.0","method":"Handshake.Hello","params":{},"id":4}',
      res = '{"jsonrpc":"2.0","error":{"code":-32600,"message":"jsonrpc must be 2.0","data":{"jsonrpc":"1.0","method":"Handshake.Hello","params":{},"id":4}},"id":4}\n' },
    { name = "params omitted",
      req = '{"jsonrpc":"2.0","method":"Instance.DescribeInstances","params":{"Tags":{"none":"x"}},"id":2}',
      res = '{"jsonrpc":"2.0","result":{"Type":"","Descriptions":[]},"id":2}\n' },
    { name = "params as an empty array",
      req = '{"jsonrpc":"2.0","method":"Instance.Validate","params":[],"id":3}',
      res = '{"jsonrpc":"2.0","result":{"Type":"","OK":true},"id":3}\n' },
    { name = "an id of null is a notification: empty body",
      req = '{"jsonrpc":"2.0","method":"Instance.Validate","params":{},"id":null}',
      res = "" },
  }
  for _, c in ipairs(exact) do
    it(c.name, function()
      local out, ctype = rpc(d, c.req)
      assert.are.equal(c.res, out)
      if c.res ~= "" then assert.are.equal("application/json", ctype) end
    end)
  end

  it("provisions, labels, describes and destroys like InfraKit's instance-file", function()
    local out = rpc(d, '{"jsonrpc":"2.0","method":"Instance.Provision","params":{"Type":"","Spec":{"Properties":{"Note":"v1"},"Tags":{"infrakit.config.hash":"rsfonnrfmaykaiytaj26ud5ixjk7m4rd","infrakit.group":"cattle","tier":"web"},"Init":"echo hello","LogicalID":null,"Attachments":null}},"id":2456151260601291799}')
    local id = out:match('^{"jsonrpc":"2.0","result":{"Type":"","ID":"(instance%-%d+)"},"id":2456151260601291799}\n$')
    assert.is_not_nil(id, out)
    assert.are.equal('{"jsonrpc":"2.0","result":{"Type":"","OK":true},"id":7}\n',
      rpc(d, '{"jsonrpc":"2.0","method":"Instance.Label","params":{"Type":"","Instance":"' .. id .. '","Labels":{"env":"test"}},"id":7}'))
    out = rpc(d, '{"jsonrpc":"2.0","method":"Instance.DescribeInstances","params":{"Type":"","Tags":{"infrakit.group":"cattle"},"Properties":true},"id":5}')
    local r = json.decode(out).result
    assert.are.equal(1, #r.Descriptions)
    local desc = r.Descriptions[1]
    assert.are.equal(id, desc.ID)
    assert.are.equal("test", desc.Tags.env)
    assert.are.equal("web", desc.Tags.tier)
    assert.are.equal("v1", desc.Properties.Properties.Note)
    assert.are.equal("echo hello", desc.Properties.Init)
    -- Field order as Go writes it.
    assert.matches('^{"jsonrpc":"2.0","result":{"Type":"","Descriptions":%[{"ID":"[^"]+","LogicalID":null,"Tags":{', out)
    assert.are.equal('{"jsonrpc":"2.0","result":{"Type":"","OK":true},"id":7070193702441041163}\n',
      rpc(d, '{"jsonrpc":"2.0","method":"Instance.Destroy","params":{"Type":"","Instance":"' .. id .. '","Context":{"Reason":"terminate"}},"id":7070193702441041163}'))
    out = rpc(d, '{"jsonrpc":"2.0","method":"Instance.DescribeInstances","params":{"Type":"","Tags":{"infrakit.group":"cattle"},"Properties":false},"id":6}')
    assert.are.equal('{"jsonrpc":"2.0","result":{"Type":"","Descriptions":[]},"id":6}\n', out)
  end)

  it("accepts field names in any case, as Go does", function()
    local out = rpc(d, '{"jsonrpc":"2.0","method":"Instance.Provision","params":{"type":"","spec":{"tags":{"case":"lower"}}},"id":1}')
    assert.matches('"ID":"instance%-', out)
    out = rpc(d, '{"jsonrpc":"2.0","method":"Instance.DescribeInstances","params":{"TAGS":{"case":"lower"}},"id":2}')
    assert.are.equal(1, #json.decode(out).result.Descriptions)
  end)

  it("escapes < > & inside strings as Go does", function()
    local out = rpc(d, '{"jsonrpc":"2.0","method":"Instance.Provision","params":{"Spec":{"Init":"a && b > c <d>","Tags":{"esc":"1"}}},"id":1}')
    assert.matches('"ID":"instance%-', out)
    out = rpc(d, '{"jsonrpc":"2.0","method":"Instance.DescribeInstances","params":{"Tags":{"esc":"1"},"Properties":true},"id":2}')
    assert.matches('"Init":"a \\u0026\\u0026 b \\u003e c \\u003cd\\u003e"', out, 1, true)
  end)

  -- JSON-RPC errors: HTTP 200, a JSON-RPC error object, the daemon carries on.
  local errors = {
    { name = "invalid JSON is a -32700 parse error", req = "{not json", code = -32700 },
    { name = "invalid UTF-8 is a -32700 parse error", req = '{"jsonrpc":"2.0","method":"Handshake.Hello","params":{},"id":"\255\254"}', code = -32700 },
    { name = "a truncated body is a -32700 parse error", req = '{"jsonrpc":"2.0","method":"Instance.Valid', code = -32700 },
    { name = "a batch is -32600", req = '[{"jsonrpc":"2.0","method":"Handshake.Hello","params":{},"id":5}]', code = -32600 },
    { name = "an unknown method is -32601", req = '{"jsonrpc":"2.0","method":"Instance.NoSuchMethod","params":{},"id":1}', code = -32601, says = "Instance.NoSuchMethod" },
    { name = "the pre-0.5 Plugin.Implements is -32601", req = '{"jsonrpc":"2.0","method":"Plugin.Implements","params":{},"id":1}', code = -32601 },
    { name = "a missing method is -32600", req = '{"jsonrpc":"2.0","params":{},"id":1}', code = -32600 },
    { name = "params of the wrong type are -32602", req = '{"jsonrpc":"2.0","method":"Instance.Validate","params":"x","id":1}', code = -32602 },
    { name = "a mistyped field is -32602 naming it", req = '{"jsonrpc":"2.0","method":"Instance.DescribeInstances","params":{"Tags":"x"},"id":1}', code = -32602, says = "params.Tags" },
    { name = "a missing required field is -32602 naming it", req = '{"jsonrpc":"2.0","method":"Instance.Destroy","params":{},"id":1}', code = -32602, says = "params.Instance" },
    { name = "an unknown Type is -32000 no-plugin", req = '{"jsonrpc":"2.0","method":"Instance.Validate","params":{"Type":"ec2"},"id":1}', code = -32000, says = "no-plugin:ec2" },
    { name = "a driver error is -32000 with its message", req = '{"jsonrpc":"2.0","method":"Instance.Destroy","params":{"Type":"","Instance":"nope","Context":{"Reason":"terminate"}},"id":6}', code = -32000, says = "instance-file/nope: No such file or directory" },
  }
  for _, c in ipairs(errors) do
    it(c.name, function()
      local out = rpc(d, c.req)
      local r = json.decode(out)
      assert.are.equal("2.0", r.jsonrpc)
      assert.are.equal(c.code, r.error.code)
      assert.is_nil(r.result)
      if c.says then assert.matches(c.says, r.error.message, 1, true) end
      -- Still serving.
      assert.matches('"Instance/0.6.1"', rpc(d, '{"jsonrpc":"2.0","method":"Handshake.Hello","params":{},"id":1}'), 1, true)
    end)
  end

  local http_cases = {
    { name = "GET / is 405", method = "GET", status = 405, says = "rpc: POST method required, received GET" },
    { name = "another path is 404", path = "/rpc", body = "{}", status = 404, says = "404 page not found" },
    { name = "another Content-Type is 415", ctype = "application/x-www-form-urlencoded", body = "x=1", status = 415,
      says = "rpc: unrecognized Content-Type: application/x-www-form-urlencoded" },
    { name = "Content-Type with a charset is accepted", ctype = "application/json; charset=utf-8",
      body = '{"jsonrpc":"2.0","method":"Handshake.Hello","params":{},"id":1}', status = 200, says = "Instance/0.6.1" },
  }
  for _, c in ipairs(http_cases) do
    it(c.name, function()
      local status, _, body = http(d, c)
      assert.are.equal(c.status, status)
      assert.matches(c.says, body, 1, true)
    end)
  end

  it("refuses a body over 8 MiB with 413 and keeps serving", function()
    local f = os.tmpname()
    sh("head -c 9000000 /dev/zero | tr '\\0' ' ' > " .. f)
    local r = sh("curl -s -o /dev/null -w '%{http_code}' --unix-socket " .. d.socket ..
      " -H 'Content-Type: application/json' --data-binary @" .. f .. " http://h/")
    os.remove(f)
    assert.are.equal("413", r.stdout)
    assert.matches('"Instance/0.6.1"', rpc(d, '{"jsonrpc":"2.0","method":"Handshake.Hello","params":{},"id":1}'), 1, true)
  end)

  it("answers several requests on one keep-alive connection, in order", function()
    local argv = { "curl", "-s", "--unix-socket", d.socket, "-H", "Content-Type: application/json" }
    for i = 1, 5 do
      if i > 1 then argv[#argv + 1] = "--next"; argv[#argv + 1] = "--unix-socket"; argv[#argv + 1] = d.socket
        argv[#argv + 1] = "-H"; argv[#argv + 1] = "Content-Type: application/json" end
      argv[#argv + 1] = "-d"
      argv[#argv + 1] = '{"jsonrpc":"2.0","method":"Handshake.Hello","params":{},"id":' .. i .. '}'
      argv[#argv + 1] = "http://h/"
    end
    local r = assert(infrakit.exec(argv))
    local ids = {}
    for id in r.stdout:gmatch('"id":(%d+)}') do ids[#ids + 1] = tonumber(id) end
    assert.are.same({ 1, 2, 3, 4, 5 }, ids)
  end)

  it("/info/api.json describes Instance/0.6.1 and its five methods", function()
    local status, _, body = http(d, { method = "GET", path = "/info/api.json", ctype = false })
    assert.are.equal(200, status)
    local api = json.decode(body)
    assert.are.equal("Instance", api.Implements[1].Name)
    assert.are.equal("0.6.1", api.Implements[1].Version)
    local names = {}
    for _, m in ipairs(api.Interfaces[1].Methods) do names[#names + 1] = m.Request.method end
    assert.are.same({ "Instance.DescribeInstances", "Instance.Destroy", "Instance.Label",
      "Instance.Provision", "Instance.Validate" }, names)
    -- Go's json.Marshal: compact, no trailing newline (the recorded bodies'
    -- lengths, 1227 and 490 bytes, are those of the compact encoding).
    assert.matches('^{"Vendor":null,"Implements":%[{"Name":"Instance","Version":"0.6.1","Sub":""}%],', body)
    assert.are_not.equal("\n", body:sub(-1))
  end)

  it("/info/functions.json answers a JSON object", function()
    local status, _, body = http(d, { method = "GET", path = "/info/functions.json", ctype = false })
    assert.are.equal(200, status)
    assert.is_table(json.decode(body).builtin)
  end)
end)

describe("infrakit daemon sockets", function()
  it("removes its socket and pid file on SIGTERM and exits 0", function()
    local d = start_daemon()
    local r = d.stop()
    assert.are.equal(0, r.status, r.stderr)
    assert.is_false(exists(d.socket))
    assert.is_false(exists(d.plugins .. "/instance-file.pid"))
    d.cleanup()
  end)

  it("refuses to take over a live socket, naming the process", function()
    local d = start_daemon()
    -- Without group: a second daemon hosting it would be refused by the
    -- store's lock first (group_spec.lua).
    local r = assert(infrakit.exec({ support.bin, "daemon", "--plugin", "instance-file" },
      { env = { INFRAKIT_HOME = d.home }, timeout = 10 }))
    assert.are.equal(1, r.status)
    assert.matches("plugin instance%-file is already served at " .. d.socket:gsub("%p", "%%%0") .. " by process %d+", r.stderr)
    -- The first daemon still serves.
    assert.matches('"Instance/0.6.1"', rpc(d, '{"jsonrpc":"2.0","method":"Handshake.Hello","params":{},"id":1}'), 1, true)
    d.stop()
    d.cleanup()
  end)

  it("replaces a stale socket left by a killed daemon", function()
    local d = start_daemon()
    sh("kill -KILL " .. io.open(d.plugins .. "/instance-file.pid"):read("*a"))
    d.task:wait()
    assert.is_true(exists(d.socket)) -- left behind
    local d2 = start_daemon(d.home)
    assert.matches('"Instance/0.6.1"', rpc(d2, '{"jsonrpc":"2.0","method":"Handshake.Hello","params":{},"id":1}'), 1, true)
    local r = d2.stop()
    assert.matches("replacing a stale socket", r.stderr, 1, true)
    d.cleanup()
  end)

  it("--listen also serves on TCP and writes NAME.listen", function()
    local d = start_daemon(nil, { "--listen", "127.0.0.1:0", "--insecure" })
    local url = io.open(d.plugins .. "/instance-file.listen"):read("*a")
    local port = url:match("^tcp://127%.0%.0%.1:(%d+)$")
    assert.is_not_nil(port, url)
    local r = sh("curl -s -H 'Content-Type: application/json' -d '{\"jsonrpc\":\"2.0\",\"method\":\"Handshake.Hello\",\"params\":{},\"id\":1}' http://127.0.0.1:" .. port .. "/")
    assert.matches('"Instance/0.6.1"', r.stdout, 1, true)
    d.stop()
    assert.is_false(exists(d.plugins .. "/instance-file.listen"))
    d.cleanup()
  end)

  it("--listen serves group when --plugin group is given, in any order, else the first built-in", function()
    local cases = {
      { { "-p", "instance-file", "-p", "flavor-vanilla", "-p", "group" }, "group", '"Group/0.1.1"' },
      { { "-p", "group", "-p", "instance-file" }, "group", '"Group/0.1.1"' },
      { { "-p", "flavor-vanilla", "-p", "instance-file" }, "instance-file", '"Instance/0.6.1"' },
    }
    local started = {}
    finally(function()
      for _, d in ipairs(started) do pcall(d.stop); d.cleanup() end
    end)
    for _, c in ipairs(cases) do
      local args = { "--listen", "127.0.0.1:0", "--insecure" }
      for _, a in ipairs(c[1]) do args[#args + 1] = a end
      local d = start_daemon(nil, args)
      started[#started + 1] = d
      local what = table.concat(c[1], " ")
      local listens = sh("cd " .. d.plugins .. " && ls *.listen").stdout
      assert.are.equal(c[2] .. ".listen\n", listens, what)
      local url = io.open(d.plugins .. "/" .. c[2] .. ".listen"):read("*a")
      local port = assert(url:match("^tcp://127%.0%.0%.1:(%d+)$"), url)
      local r = sh("curl -s -H 'Content-Type: application/json' -d '{\"jsonrpc\":\"2.0\",\"method\":\"Handshake.Hello\",\"params\":{},\"id\":1}' http://127.0.0.1:" .. port .. "/")
      assert.matches(c[3], r.stdout, 1, true)
    end
  end)

  it("a bad --listen address is a usage error naming it", function()
    local r = assert(infrakit.exec({ support.bin, "daemon", "--listen", "nowhere", "--insecure" }, { env = { INFRAKIT_HOME = "/tmp/ik-never" } }))
    assert.are.equal(2, r.status)
    assert.matches('listen address "nowhere"', r.stderr, 1, true)
    sh("rm -rf /tmp/ik-never")
  end)

  it("reads InfraKit's INFRAKIT_GROUP_POLL_INTERVAL when --poll is not given; a bad one is a usage error", function()
    local r = assert(infrakit.exec({ support.bin, "daemon", "--plugin", "group" },
      { env = { INFRAKIT_HOME = "/tmp/ik-never", INFRAKIT_GROUP_POLL_INTERVAL = "soon" } }))
    assert.are.equal(2, r.status)
    assert.matches("INFRAKIT_GROUP_POLL_INTERVAL soon: want a duration", r.stderr, 1, true)
    -- --poll wins: the variable is not even read.
    r = assert(infrakit.exec({ support.bin, "daemon", "--plugin", "group", "--poll", "1s", "--bogus" },
      { env = { INFRAKIT_HOME = "/tmp/ik-never", INFRAKIT_GROUP_POLL_INTERVAL = "soon" } }))
    assert.are.equal(2, r.status)
    assert.is_falsy(r.stderr:find("INFRAKIT_GROUP_POLL_INTERVAL", 1, true))
    sh("rm -rf /tmp/ik-never")
  end)
end)
