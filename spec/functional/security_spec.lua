-- What a client that can reach a daemon may not do (docs/security.md):
-- the TCP listener speaks TLS and wants a client certificate from the
-- operator's CA (plain TCP only with --insecure, on loopback); it answers
-- only requests whose Host names it; instance-process writes its output
-- only inside its state directory. Certificates are made here, with the
-- openssl CLI, in a temporary directory.
local infrakit = require "infrakit"
local json = infrakit.json
local support = dofile("spec/functional/support.lua")
local run, sh = support.run, support.sh

local hello = [['{"jsonrpc":"2.0","method":"Handshake.Hello","params":{},"id":1}']]

-- A CA, a server certificate for 127.0.0.1/localhost and a client
-- certificate it signed; a second CA with a client certificate of its own.
local function make_certs(dir)
  local key = "-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes"
  local function ca(name)
    return ("openssl req -x509 %s -keyout %s.key -out %s.pem -days 2 -subj /CN=%s"):format(key, name, name, name)
  end
  local function signed(name, by, ext)
    return table.concat({
      ("openssl req %s -keyout %s.key -out %s.csr -subj /CN=%s"):format(key, name, name, name),
      ("printf '%s\\n' > %s.ext"):format(ext, name),
      ("openssl x509 -req -in %s.csr -CA %s.pem -CAkey %s.key -CAcreateserial -out %s.pem -days 2 -extfile %s.ext")
        :format(name, by, by, name, name),
    }, " && ")
  end
  local r = sh(table.concat({
    "set -e", "cd " .. dir, ca("ca"), ca("otherca"),
    signed("server", "ca", "subjectAltName=IP:127.0.0.1,DNS:localhost"),
    signed("client", "ca", "extendedKeyUsage=clientAuth"),
    signed("stranger", "otherca", "extendedKeyUsage=clientAuth"),
  }, "\n") .. " 2>&1")
  assert.are.equal(0, r.status, r.stdout)
end

local function tls_env(dir, who)
  return { INFRAKIT_TLS_CERT = who and (dir .. "/" .. who .. ".pem") or nil,
           INFRAKIT_TLS_KEY = who and (dir .. "/" .. who .. ".key") or nil,
           INFRAKIT_TLS_CA = dir .. "/ca.pem" }
end

describe("daemon --listen", function()
  it("without TLS flags or --insecure is refused, naming the flags", function()
    local r = run("/tmp/ik-never", { "daemon", "--listen", "127.0.0.1:0" })
    assert.are.equal(2, r.status)
    assert.matches("--tls-cert FILE --tls-key FILE --tls-client-ca FILE", r.stderr, 1, true)
    assert.matches("--insecure", r.stderr, 1, true)
    r = run("/tmp/ik-never", { "daemon", "--listen", "127.0.0.1:0", "--tls-cert", "x.pem" })
    assert.are.equal(2, r.status)
    assert.matches("--tls-key is missing", r.stderr, 1, true)
  end)

  it("--insecure on an address other than loopback is refused", function()
    for _, addr in ipairs({ "0.0.0.0:0", "10.1.2.3:0", "[::]:0" }) do
      local r = run("/tmp/ik-never", { "daemon", "--listen", addr, "--insecure" })
      assert.are.equal(2, r.status, addr)
      assert.matches("--insecure serves plain TCP on a loopback address only", r.stderr, 1, true)
    end
    sh("rm -rf /tmp/ik-never")
  end)

  it("a certificate file that does not load is named", function()
    local r = run("/tmp/ik-never", { "daemon", "-p", "instance-file", "--listen", "127.0.0.1:0",
      "--tls-cert", "/nonexistent/s.pem", "--tls-key", "/nonexistent/s.key", "--tls-client-ca", "/nonexistent/ca.pem" })
    assert.are.equal(2, r.status)
    assert.matches("--tls-cert /nonexistent/s.pem", r.stderr, 1, true)
    sh("rm -rf /tmp/ik-never")
  end)
end)

describe("a TLS listener", function()
  local certs, d, other
  setup(function()
    certs = support.mktemp()
    make_certs(certs)
    d = support.start_daemon(nil, { "--listen", "127.0.0.1:0", "--tls-cert", certs .. "/server.pem",
      "--tls-key", certs .. "/server.key", "--tls-client-ca", certs .. "/ca.pem" })
    other = support.mktemp()
    local url = io.open(d.plugins .. "/instance-file.listen"):read("*a")
    assert.matches("^https://127%.0%.0%.1:%d+$", url)
    sh("mkdir -p " .. other .. "/plugins && printf '%s' '" .. url .. "' > " .. other .. "/plugins/far.listen")
  end)
  teardown(function()
    d.stop()
    d.cleanup()
    sh("rm -rf " .. other .. " " .. certs)
  end)

  it("refuses a client without a certificate", function()
    local r = run(other, { "instance", "provision", "-p", "far", "-" },
      { stdin = '{"Tags": {"via": "nocert"}}', env = tls_env(certs, nil) })
    assert.are.equal(1, r.status)
    assert.matches("set INFRAKIT_TLS_CERT, INFRAKIT_TLS_KEY and INFRAKIT_TLS_CA", r.stderr, 1, true)
    local url = io.open(d.plugins .. "/instance-file.listen"):read("*a")
    r = sh("curl -sS --cacert " .. certs .. "/ca.pem -H 'Content-Type: application/json' -d " .. hello .. " " .. url .. "/ 2>&1")
    assert.are_not.equal(0, r.status)
    assert.not_matches("Instance/0.6.1", r.stdout, 1, true)
  end)

  it("refuses a client whose certificate another CA signed", function()
    local r = run(other, { "instance", "provision", "-p", "far", "-" },
      { stdin = '{"Tags": {"via": "stranger"}}', env = tls_env(certs, "stranger") })
    assert.are.equal(1, r.status)
    assert.matches("https://127.0.0.1:%d+/: .*SSL", r.stderr)
    r = run(d.home, { "instance", "describe", "-p", "instance-file", "--json" })
    assert.are.same({}, json.decode(r.stdout)) -- nothing was provisioned
  end)

  it("serves a client with a certificate from its CA: Hello and a real call", function()
    local env = tls_env(certs, "client")
    local r = run(other, { "plugin", "ls" }, { env = env })
    assert.matches("far +Instance/0%.6%.1 +%- +ok +https://127%.0%.0%.1:%d+", r.stdout)
    r = run(other, { "instance", "provision", "-p", "far", "-" }, { stdin = '{"Tags": {"via": "tls"}}', env = env })
    assert.are.equal(0, r.status, r.stderr)
    r = run(d.home, { "instance", "describe", "-p", "instance-file", "-t", "via=tls", "--json" })
    assert.are.equal(1, #json.decode(r.stdout))
  end)

  it("infrakit.rpc reaches it with the certificate from the environment", function()
    local url = io.open(d.plugins .. "/instance-file.listen"):read("*a")
    local code = "local infrakit = require 'infrakit' local r, err = infrakit.rpc.call('" .. url .. "', 'Handshake.Hello', {}) print(r and infrakit.json.encode(r) or err)"
    local r = run(other, { "lua", "-e", code }, { env = tls_env(certs, "client") })
    assert.is_table(json.decode(r.stdout).Objects["Instance/0.6.1"], r.stdout)
    r = run(other, { "lua", "-e", code }, { env = tls_env(certs, nil) })
    assert.matches("set INFRAKIT_TLS_CERT", r.stdout, 1, true)
  end)

  it("infrakit.http.request presents a client certificate and checks the server's with tls = {}", function()
    local url = io.open(d.plugins .. "/instance-file.listen"):read("*a") .. "/"
    local body = '{"jsonrpc":"2.0","method":"Handshake.Hello","params":{},"id":1}'
    local function post(tls)
      return infrakit.http.request({ method = "POST", url = url, body = body, tls = tls, timeout = 10,
        headers = { ["Content-Type"] = "application/json" } })
    end
    local cert, key, ca = certs .. "/client.pem", certs .. "/client.key", certs .. "/ca.pem"
    local r, err = post({ cert = cert, key = key, ca = ca })
    assert.are.equal(nil, err)
    assert.are.equal(200, r.status)
    assert.matches("Instance/0.6.1", r.body, 1, true)
    -- no client certificate: the listener refuses at the handshake
    r, err = post({ ca = ca })
    assert.is_nil(r)
    assert.is_string(err)
    -- the server's certificate is not from a CA the system trusts ...
    r, err = post({ cert = cert, key = key })
    assert.is_nil(r)
    assert.is_string(err)
    -- ... unless verification is off (Docker's InsecureSkipVerify)
    r, err = post({ cert = cert, key = key, insecure = true })
    assert.are.equal(nil, err)
    assert.are.equal(200, r.status)
  end)

  it("refuses a Host header that names another server, even with a certificate", function()
    local url = io.open(d.plugins .. "/instance-file.listen"):read("*a")
    local curl = "curl -sS -o - -w '%{http_code}' --cacert " .. certs .. "/ca.pem --cert " .. certs .. "/client.pem --key "
      .. certs .. "/client.key -H 'Content-Type: application/json' -d " .. hello .. " "
    local r = sh(curl .. "-H 'Host: evil.example' " .. url .. "/")
    assert.matches('Host "evil.example" is not this server\'s address', r.stdout, 1, true)
    assert.matches("421$", r.stdout)
    r = sh(curl .. url .. "/")
    assert.matches("Instance/0.6.1", r.stdout, 1, true)
  end)
end)

describe("an --insecure listener", function()
  it("is plain TCP on loopback and still checks Host", function()
    local d = support.start_daemon(nil, { "--listen", "127.0.0.1:0", "--insecure", "-p", "instance-file" })
    local url = io.open(d.plugins .. "/instance-file.listen"):read("*a"):gsub("^tcp://", "http://")
    local curl = "curl -sS -o - -w '%{http_code}' -H 'Content-Type: application/json' -d " .. hello .. " "
    local r = sh(curl .. "-H 'Host: rebind.attacker.example' " .. url .. "/")
    assert.matches("421$", r.stdout)
    r = sh(curl .. "-H 'Host: localhost:" .. url:match(":(%d+)$") .. "' " .. url .. "/")
    assert.matches("Instance/0.6.1", r.stdout, 1, true)
    d.stop()
    d.cleanup()
  end)
end)

describe("instance-process output paths", function()
  it("stay inside the instance's state directory", function()
    local d = support.start_daemon(nil, { "-p", "instance-file", "-p", "instance-process" })
    for _, case in ipairs({
      { "Stdout", "../../x", '".." is not allowed' },
      { "Stderr", "/tmp/ik-spec-escape", "absolute paths are not allowed" },
    }) do
      local spec = json.encode({ Properties = { Cmd = { "sh", "-c", "id" }, [case[1]] = case[2] } })
      local r = run(d.home, { "instance", "provision", "-p", "instance-process", "-" }, { stdin = spec })
      assert.are.equal(1, r.status)
      assert.matches("Properties." .. case[1] .. ' "' .. case[2] .. '": ' .. case[3], r.stderr, 1, true)
    end
    assert.is_false(support.exists("/tmp/ik-spec-escape"))
    local r = run(d.home, { "instance", "describe", "-p", "instance-process", "--json" })
    assert.are.same({}, json.decode(r.stdout))
    d.stop()
    d.cleanup()
  end)
end)

-- A swarm join token in a machine node's Init (templates/swarm/machine*)
-- must not be readable by every local user through ps.
describe("instance-process scripts", function()
  it("keep Init and a Cmd string off the command line: sh reads them from a 0600 file", function()
    local d = support.start_daemon(nil, { "-p", "instance-file", "-p", "instance-process" })
    finally(function() -- instance processes outlive their daemon: kill what a failure left
      pcall(d.stop)
      for f in sh("ls " .. d.home .. "/instance-process/*.json 2>/dev/null; true").stdout:gmatch("%S+") do
        local pid = json.decode(io.open(f):read("*a")).Pid
        if pid and pid > 0 then sh("kill -KILL -" .. pid .. " 2>/dev/null; true") end
      end
      d.cleanup()
    end)
    local secret = "SWMTKN-1-spec" .. tostring(math.random(1e9))
    local specs = {
      { Init = "TOKEN=" .. secret .. "\necho joined\nsleep 60" },
      { Properties = { Cmd = "TOKEN=" .. secret .. "; sleep 60" } },
    }
    local pdir = d.home .. "/instance-process"
    local ids = {}
    for _, spec in ipairs(specs) do
      local r = run(d.home, { "instance", "provision", "-p", "instance-process", "-" }, { stdin = json.encode(spec) })
      assert.are.equal(0, r.status, r.stderr)
      local id = r.stdout:gsub("%s+$", "")
      ids[#ids + 1] = id
      assert.are.equal("600", sh("stat -c %a " .. pdir .. "/" .. id .. ".sh").stdout:gsub("%s+$", ""))
    end
    assert.truthy(support.wait_for(pdir .. "/" .. ids[1] .. ".log"))
    -- Every process on the machine: none has the secret in its argv.
    local seen = 0
    for _, id in ipairs(ids) do
      local pid = json.decode(io.open(pdir .. "/" .. id .. ".json"):read("*a")).Pid
      assert.is_true(pid > 0)
      local cmdline = io.open("/proc/" .. pid .. "/cmdline"):read("*a")
      assert.are.equal("/bin/sh\0" .. pdir .. "/" .. id .. ".sh\0", cmdline)
      seen = seen + 1
    end
    assert.are.equal(2, seen)
    local all = sh("cat /proc/[0-9]*/cmdline 2>/dev/null | tr '\\0' ' '").stdout
    assert.is_nil(all:find(secret, 1, true), "the secret is in some process's argv")
    -- The scripts go with their instances.
    for _, id in ipairs(ids) do
      assert.are.equal(0, run(d.home, { "instance", "destroy", "-p", "instance-process", id }).status)
      assert.is_false(support.exists(pdir .. "/" .. id .. ".sh"))
    end
  end)
end)
