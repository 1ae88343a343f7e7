-- infrakit plugin ls|start|stop (reload: provider_spec.lua), infrakit instance ..., and
-- infrakit.rpc.call: our client side talking to real daemons, as a user
-- (or a script) would. The daemons are separate processes, so every call
-- goes through the remote adapter (core/net/client/remote_instance.c).
local infrakit = require "infrakit"
local json = infrakit.json
local support = dofile("spec/functional/support.lua")
local run, sh, exists = support.run, support.sh, support.exists

-- Run a Lua snippet with `infrakit lua -e` against home; returns its stdout.
local function lua(home, code)
  local r = run(home, { "lua", "-e", code })
  assert.are.equal(0, r.status, r.stderr)
  return r.stdout
end

describe("infrakit plugin", function()
  local home
  before_each(function() home = support.mktemp() end)
  after_each(function()
    run(home, { "plugin", "stop", "instance-file" })
    sh("rm -rf " .. home)
  end)

  it("ls says when there are no plugins", function()
    local r = run(home, { "plugin", "ls" })
    assert.are.equal(0, r.status)
    assert.matches("No plugins in " .. home .. "/plugins", r.stdout, 1, true)
    r = run(home, { "plugin", "ls", "--json" })
    assert.are.equal("[]\n", r.stdout)
  end)

  it("start runs a background daemon; ls shows it; stop stops it", function()
    local r = run(home, { "plugin", "start", "instance-file" })
    assert.are.equal(0, r.status, r.stderr)
    local pid = r.stdout:match("^started instance%-file %(pid (%d+), socket ")
    assert.is_not_nil(pid, r.stdout)
    assert.is_true(exists(home .. "/logs/instance-file.log"))

    r = run(home, { "plugin", "ls" })
    assert.are.equal(0, r.status)
    assert.matches("NAME +INTERFACES +PID +STATUS +ADDRESS\n", r.stdout)
    assert.matches("instance%-file +Instance/0%.6%.1 +" .. pid .. " +ok +" .. home:gsub("%p", "%%%0") .. "/plugins/instance%-file\n", r.stdout)

    local list = json.decode(run(home, { "plugin", "ls", "--json" }).stdout)
    assert.are.equal(1, #list)
    assert.are.equal("instance-file", list[1].Name)
    assert.are.equal(tonumber(pid), list[1].Pid)
    assert.are.equal("ok", list[1].Status)
    assert.is_true(list[1].Alive)
    assert.are.equal(".", list[1].Interfaces["Instance/0.6.1"][1].Name)

    r = run(home, { "plugin", "start", "instance-file" })
    assert.are.equal(0, r.status)
    assert.are.equal("instance-file is already running (pid " .. pid .. ")\n", r.stdout)

    r = run(home, { "plugin", "stop", "instance-file" })
    assert.are.equal(0, r.status, r.stderr)
    assert.are.equal("stopped instance-file (pid " .. pid .. ")\n", r.stdout)
    assert.is_false(exists(home .. "/plugins/instance-file"))
    assert.is_false(exists(home .. "/plugins/instance-file.pid"))
    -- Gone, or a zombie waiting for a reaper (its parent, `plugin start`, exited).
    assert.are.equal("gone\n", sh("test ! -e /proc/" .. pid .. " || grep -q ') Z' /proc/" .. pid .. "/stat && echo gone").stdout)
  end)

  it("stop of a plugin that is not running is an error", function()
    local r = run(home, { "plugin", "stop", "instance-file" })
    assert.are.equal(1, r.status)
    assert.matches("instance%-file is not running", r.stderr)
  end)

  it("ls reports a stale socket and stop removes it", function()
    local d = support.start_daemon(home)
    sh("kill -KILL " .. io.open(d.plugins .. "/instance-file.pid"):read("*a"))
    d.task:wait()
    local r = run(home, { "plugin", "ls" })
    assert.matches("instance%-file +%- +%d+ +stale ", r.stdout)
    r = run(home, { "plugin", "stop", "instance-file" })
    assert.are.equal(0, r.status)
    assert.are.equal("instance-file was not running; removed its stale files\n", r.stdout)
    assert.is_false(exists(d.socket))
  end)

  it("stop finds the real process even when the pid file lies", function()
    local d = support.start_daemon(home)
    local pid = io.open(d.plugins .. "/instance-file.pid"):read("*a")
    local f = io.open(d.plugins .. "/instance-file.pid", "w")
    f:write("1")
    f:close()
    local r = run(home, { "plugin", "stop", "instance-file" })
    assert.are.equal(0, r.status, r.stderr)
    -- The daemon hosts the built-in flavors and the group controller too:
    -- stopping it stops them.
    assert.are.equal("stopped instance-file (pid " .. pid .. "); it also served flavor-combo, flavor-http, "
      .. "flavor-swarm, flavor-vanilla, flavor-zookeeper, group, instance-docker, instance-process, instance-qemu\n", r.stdout)
    assert.are.equal(0, d.task:wait().status)
  end)

  it("refuses unknown plugin names and subcommands with a suggestion (exit 2)", function()
    local r = run(home, { "plugin", "start", "instance-fil" })
    assert.are.equal(2, r.status)
    assert.matches("instance%-fil: no such plugin %(did you mean instance%-file%?%)", r.stderr)
    r = run(home, { "plugin", "sotp" })
    assert.are.equal(2, r.status)
    assert.matches('unknown subcommand "sotp" %(did you mean "stop"%?%)', r.stderr)
    r = run(home, { "plugin" })
    assert.are.equal(2, r.status)
    assert.matches("missing subcommand %(ls, start, stop, reload%)", r.stderr)
    r = run(home, { "plugin", "stop", "--timeout", "soon", "x" })
    assert.are.equal(2, r.status)
    assert.matches('%-%-timeout "soon": want seconds', r.stderr)
  end)

  it("a daemon that cannot start is reported with its log", function()
    -- A regular file where the socket goes: the daemon refuses it.
    sh("mkdir -p " .. home .. "/plugins && touch " .. home .. "/plugins/instance-file")
    local r = run(home, { "plugin", "start", "instance-file" })
    assert.are.equal(1, r.status)
    assert.matches("instance%-file did not start %(daemon exited with status 1%); its log", r.stderr)
    assert.matches("exists and is not a socket", r.stderr)
    sh("rm " .. home .. "/plugins/instance-file")
  end)
end)

describe("infrakit instance, against a daemon in another process", function()
  local home
  setup(function()
    home = support.mktemp()
    local r = run(home, { "plugin", "start", "instance-file" })
    assert.are.equal(0, r.status, r.stderr)
  end)
  teardown(function()
    run(home, { "plugin", "stop", "instance-file" })
    sh("rm -rf " .. home)
  end)

  it("provisions from stdin and from a file, describes, labels, destroys", function()
    local r = run(home, { "instance", "provision", "--plugin", "instance-file", "-" },
      { stdin = '{"Tags": {"tier": "web"}, "LogicalID": "web-1", "Properties": {"Note": "v1"}}' })
    assert.are.equal(0, r.status, r.stderr)
    local id1 = r.stdout:match("^(instance%-%d+)\n$")
    assert.is_not_nil(id1, r.stdout)

    local spec = home .. "/spec.json"
    local f = io.open(spec, "w")
    f:write('{"Tags": {"tier": "db"}}')
    f:close()
    r = run(home, { "instance", "provision", "-p", "instance-file", "--json", spec })
    assert.are.equal(0, r.status, r.stderr)
    local id2 = json.decode(r.stdout).ID
    assert.matches("^instance%-%d+$", id2)

    r = run(home, { "instance", "describe", "-p", "instance-file", "--tag", "tier=web" })
    assert.are.equal(0, r.status, r.stderr)
    assert.matches("^ID +LOGICAL +TAGS\n" .. id1:gsub("%p", "%%%0") .. " +web%-1 +tier=web\n$", r.stdout)

    r = run(home, { "instance", "label", "-p", "instance-file", id1, "env=prod", "owner=ops" })
    assert.are.equal(0, r.status, r.stderr)
    assert.are.equal("labelled " .. id1 .. "\n", r.stdout)

    local list = json.decode(run(home, { "instance", "describe", "-p", "instance-file", "--json", "--properties",
      "-t", "env=prod" }).stdout)
    assert.are.equal(1, #list)
    assert.are.equal(id1, list[1].ID)
    assert.are.equal("ops", list[1].Tags.owner)
    assert.are.equal("v1", list[1].Properties.Properties.Note)

    r = run(home, { "instance", "destroy", "-p", "instance-file", id1, "instance-0", id2 })
    assert.are.equal(1, r.status) -- one of three failed; the others were destroyed
    assert.are.equal("destroyed " .. id1 .. "\ndestroyed " .. id2 .. "\n", r.stdout)
    assert.matches("instance%-0: No such file or directory", r.stderr)
    assert.are.equal("[]\n", run(home, { "instance", "describe", "-p", "instance-file", "--json" }).stdout)
  end)

  it("validate prints valid, or the plugin's error", function()
    local r = run(home, { "instance", "validate", "-p", "instance-file", "-" }, { stdin = '{"Note": "x"}' })
    assert.are.equal(0, r.status, r.stderr)
    assert.are.equal("valid\n", r.stdout)
  end)

  it("bad input: names the flag, the file and the place", function()
    local r = run(home, { "instance", "describe" })
    assert.are.equal(2, r.status)
    assert.matches("%-%-plugin NAME is required", r.stderr)
    r = run(home, { "instance", "provision", "-p", "instance-file" })
    assert.are.equal(2, r.status)
    assert.matches("missing FILE %(or %- to read standard input%)", r.stderr)
    r = run(home, { "instance", "provision", "-p", "instance-file", "-" }, { stdin = '{"Tags": ' })
    assert.are.equal(1, r.status)
    assert.matches("stdin:1:%d+: invalid JSON", r.stderr)
    r = run(home, { "instance", "provision", "-p", "instance-file", "-" }, { stdin = '[1]' })
    assert.are.equal(1, r.status)
    assert.matches("want an instance spec object", r.stderr)
    r = run(home, { "instance", "describe", "-p", "instance-file", "--tag", "novalue" })
    assert.are.equal(2, r.status)
    assert.matches('%-%-tag "novalue": want KEY=VALUE', r.stderr)
    r = run(home, { "instance", "destroy", "-p", "instance-file", "--reason", "boredom", "x" })
    assert.are.equal(2, r.status)
    assert.matches("want terminate or rolling_update", r.stderr)
  end)

  it("a plugin that is not there is a clear error (exit 1)", function()
    local r = run(home, { "instance", "describe", "-p", "instance-nope" })
    assert.are.equal(1, r.status)
    assert.matches("plugin instance%-nope: not found in " .. home:gsub("%p", "%%%0") .. "/plugins", r.stderr)
  end)

  it("a typed name sends the type, and the plugin's error comes back", function()
    local r = run(home, { "instance", "describe", "-p", "instance-file/ec2" })
    assert.are.equal(1, r.status)
    assert.matches("no%-plugin:ec2", r.stderr)
  end)

  it("reaches a plugin through a NAME.listen file over TCP", function()
    local other = support.mktemp()
    local d = support.start_daemon(nil, { "--listen", "127.0.0.1:0", "--insecure" })
    local url = io.open(d.plugins .. "/instance-file.listen"):read("*a")
    sh("mkdir -p " .. other .. "/plugins && printf '%s' '" .. url .. "' > " .. other .. "/plugins/far.listen")
    local r = run(other, { "instance", "provision", "-p", "far", "-" }, { stdin = '{"Tags": {"via": "tcp"}}' })
    assert.are.equal(0, r.status, r.stderr)
    r = run(other, { "plugin", "ls" })
    assert.matches("far +Instance/0%.6%.1 +%- +ok +tcp://127%.0%.0%.1:%d+", r.stdout)
    r = run(d.home, { "instance", "describe", "-p", "instance-file", "-t", "via=tcp", "--json" })
    assert.are.equal(1, #json.decode(r.stdout))
    d.stop()
    d.cleanup()
    sh("rm -rf " .. other)
  end)
end)

describe("infrakit.rpc.call", function()
  local home
  setup(function()
    home = support.mktemp()
    assert.are.equal(0, run(home, { "plugin", "start", "instance-file" }).status)
  end)
  teardown(function()
    run(home, { "plugin", "stop", "instance-file" })
    sh("rm -rf " .. home)
  end)

  it("calls a plugin by name and yields until the result is in", function()
    local out = lua(home, [[
      local ik = require "infrakit"
      local r = assert(ik.rpc.call("instance-file", "Instance.Provision", { Spec = { Tags = { by = "lua" } } }))
      local d = assert(ik.rpc.call("instance-file", "Instance.DescribeInstances", { Tags = { by = "lua" } }))
      print(r.Type == "" and r.ID == d.Descriptions[1].ID and #d.Descriptions)
      local h = assert(ik.rpc.call("instance-file", "Handshake.Hello"))
      print(h.Objects["Instance/0.6.1"][1].Name)
    ]])
    assert.are.equal("1\n.\n", out)
  end)

  it("several tasks call concurrently", function()
    local out = lua(home, [[
      local ik = require "infrakit"
      local tasks = {}
      for i = 1, 20 do
        tasks[i] = ik.spawn(function()
          return ik.rpc.call("instance-file", "Instance.Validate", { Properties = { n = i } }).OK
        end)
      end
      local results, failed = ik.wait_all(tasks)
      print(failed, results[20][1])
    ]])
    assert.are.equal("0\ttrue\n", out)
  end)

  it("returns nil, message, code on failures", function()
    local out = lua(home, [[
      local ik = require "infrakit"
      print(select(3, ik.rpc.call("instance-file", "Instance.Nope")))
      print(select(3, ik.rpc.call("instance-nope", "Instance.Validate")))
      print(select(3, ik.rpc.call("instance-file", "Instance.Destroy", { Instance = "instance-0" })))
      print(select(3, ik.rpc.call("instance-file", "Instance.Provision", { Spec = 3 })))
      print((select(2, ik.rpc.call("instance-file/gce", "Instance.Validate"))))
      print(select(3, ik.rpc.call("/nonexistent/socket", "Instance.Validate")))
    ]])
    assert.are.equal("ENOTFOUND\nENOTFOUND\nEDRIVER\nEINVAL\nno-plugin:gce\nENOENT\n", out)
  end)

  it("raises on misuse", function()
    local out = lua(home, [[
      local ik = require "infrakit"
      print(select(2, pcall(ik.rpc.call, nil, "Instance.Validate")))
      print(select(2, pcall(ik.rpc.call, "instance-file", "Validate")))
      print(select(2, pcall(ik.rpc.call, "instance-file", "Instance.Validate", "x")))
      print(select(2, pcall(ik.rpc.call, "instance-file", "Instance.Validate", {}, { timeout = -1 })))
    ]])
    assert.matches("plugin must be a plugin name or address\n", out)
    assert.matches('method must be "Service.Method", got Validate\n', out)
    assert.matches("params must be a table, got string\n", out)
    assert.matches("opts.timeout must be a number of seconds >= 0\n", out)
  end)
end)
