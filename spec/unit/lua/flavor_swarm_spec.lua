-- The swarm flavor (lua/infrakit/flavors/swarm.lua) against Engine API
-- answers recorded from a real dockerd 20.10 (spec/fixtures/swarm/, made by
-- spec/fixtures/swarm/record.lua): the Docker client module's transport is
-- replaced by one serving them, so the flavor and infrakit.docker run as
-- in the daemon. The Init scripts expected are InfraKit's default templates
-- rendered by Go's text/template for the same swarm state, byte for byte.
local infrakit = require "infrakit"
local helper = dofile("spec/unit/lua/spec_helper.lua")
local json = infrakit.json
local null = json.null

local docker = require "infrakit.docker"
local swarm = require "infrakit.flavors.swarm"

local function fixture(name)
  local f = assert(io.open("spec/fixtures/swarm/" .. name .. ".json"))
  local t = json.decode(f:read("*a"))
  f:close()
  return t
end

local UNINIT = fixture("uninitialized")
local INIT = fixture("initialized")
local NODE_ID = INIT["GET /v1.41/info"].body.Swarm.NodeID
local NODE = INIT["GET /v1.41/nodes/" .. NODE_ID].body
local SWARM = INIT["GET /v1.41/swarm"].body
local TOKENS = SWARM.JoinTokens
local LINK = "recordedlink0001"
local LIST_KEY
for k in pairs(INIT) do
  if k:find("^GET /v1%.41/nodes%?filters=") then LIST_KEY = k end
end

local SOCK = "/run/test-engine.sock"
local HOST = "unix://" .. SOCK

-- The transport: answers from hosts[socket] (a table of "METHOD /path" ->
-- { status, body }; false = the engine does not answer), recording every
-- call as "METHOD /path [socket]".
local calls
local function serve(hosts)
  calls = {}
  docker.transport = function(req)
    local path = req.url:match("^https?://[^/]+(/.*)$")
    local key = req.method .. " " .. path
    calls[#calls + 1] = { key = key, sock = req.unix_socket, body = req.body and json.decode(req.body) }
    local answers = hosts[req.unix_socket or req.url:match("^https?://([^/]+)")]
    if not answers then
      return nil, "GET " .. req.url .. " (unix socket " .. tostring(req.unix_socket) .. "): cannot connect: connection refused",
        "ECONNREFUSED"
    end
    local a = answers[key]
    if a == nil then return { status = 404, body = '{"message":"page not found"}' } end
    return { status = a.status, body = type(a.body) == "string" and a.body or json.encode(a.body) }
  end
end

local function keys_called()
  local out = {}
  for i, c in ipairs(calls) do out[i] = c.key end
  return out
end

local real_transport, real_now, real_random = docker.transport, swarm.now, swarm.random_value
local NOW = 1796644800 -- 2026-12-07T12:00:00Z
local CREATED = "2026-12-07T12:00:00Z"
local VALUE = "abcdefgh01234567"

local function copy(t) return json.decode(json.encode(t)) end

describe("infrakit.docker", function()
  after_each(function() docker.transport = real_transport end)

  it("maps unix:// to the socket and tcp:// to http, or https with the TLS files", function()
    local sent
    docker.transport = function(req)
      sent = req
      return { status = 200, body = "{}" }
    end
    local cases = {
      { "unix:///run/d.sock", nil, "http://docker/v1.41/info", "/run/d.sock", nil },
      { "tcp://10.0.0.1:2375", nil, "http://10.0.0.1:2375/v1.41/info", nil, nil },
      { "tcp://10.0.0.1:2376", { CAFile = "ca.pem", CertFile = "c.pem", KeyFile = "k.pem" },
        "https://10.0.0.1:2376/v1.41/info", nil, { ca = "ca.pem", cert = "c.pem", key = "k.pem" } },
      { "tcp://10.0.0.1:2376", { InsecureSkipVerify = true }, "https://10.0.0.1:2376/v1.41/info", nil, { insecure = true } },
      { nil, nil, "http://docker/v1.41/info", "/var/run/docker.sock", nil },
    }
    for _, c in ipairs(cases) do
      local client = assert(docker.client(c[1], c[2]))
      assert.are.same({}, client:info())
      assert.are.equal(c[3], sent.url)
      assert.are.equal(c[4], sent.unix_socket)
      assert.are.same(c[5], sent.tls)
    end
  end)

  it("bounds each call: 30 s by default, opts.timeout when given; the flavor's 10 s", function()
    local timeouts = {}
    docker.transport = function(req)
      timeouts[#timeouts + 1] = req.timeout
      return { status = 200, body = "[]" }
    end
    assert(docker.client("unix:///run/d.sock"):info())
    assert(docker.client("unix:///run/d.sock", nil, { timeout = 2 }):info())
    swarm.worker.healthy({ Docker = { Host = "unix:///run/d.sock" } }, { ID = "i", Tags = { infrakit_link = "x" } })
    assert.are.same({ 30, 2, 10 }, timeouts)
  end)

  it("refuses a host that is not unix:// or tcp://, naming it", function()
    for _, h in ipairs { "http://x:1", "unix://relative", "/run/d.sock", "tcp://" } do
      local c, err, code = docker.client(h)
      assert.is_nil(c)
      assert.are.equal("EINVAL", code)
      assert.matches(("Docker.Host %q"):format(h), err, 1, true)
    end
  end)
end)

describe("flavor-swarm", function()
  helper.track_refs()
  before_each(function()
    swarm.now = function() return NOW end
    swarm.random_value = function() return VALUE end
  end)
  after_each(function()
    docker.transport, swarm.now, swarm.random_value = real_transport, real_now, real_random
  end)

  describe("Validate", function()
    local D = { Host = HOST }
    local cases = {
      { "no Properties", "worker", nil, { Size = 1 }, "missing config" },
      { "no Docker connect info", "worker", { SwarmJoinIP = "10.0.0.1" }, { Size = 1 }, "no docker connect info: Properties.Docker" },
      { "TLS alone (the default host)", "worker", { Docker = { TLS = { CAFile = "ca.pem" } } }, { Size = 1 }, nil },
      { "a host that is not unix:// or tcp://", "worker", { Docker = { Host = "http://x" } }, { Size = 1 }, 'Docker.Host "http://x": want unix:///path' },
      { "a list of hosts", "worker", { Docker = { Host = { HOST, "tcp://127.0.0.12:2375" } } }, { Size = 1 }, nil },
      { "a list with a number", "worker", { Docker = { Host = { HOST, 5 } } }, { Size = 1 }, "Docker.Host[2]: want a host URL" },
      { "Host neither string nor list", "worker", { Docker = { Host = true } }, { Size = 1 }, "Docker.Host: want a host URL or a list of them, got bool" },
      { "Docker not an object", "worker", { Docker = "x" }, { Size = 1 }, "Docker: want an object" },
      { "a bad EngineLabels type", "worker", { Docker = D, EngineLabels = { "a" } }, { Size = 1 }, "json: cannot unmarshal array into Go struct field Spec.EngineLabels of type map[string]string" },
      { "a LogicalID twice", "worker", { Docker = D }, { LogicalIDs = { "a", "b", "a" } }, "Allocation.LogicalIDs: LogicalID a specified more than once" },
      { "an attachment for an unknown LogicalID", "manager", { Docker = D, Attachments = { z = { { ID = "v", Type = "ebs" } } } },
        { LogicalIDs = { "a" } }, "Attachments: LogicalID z used for an attachment but is not in group LogicalIDs" },
      { "attachments for a member and for *", "manager", { Docker = D, Attachments = { a = { { ID = "v1", Type = "ebs" } }, ["*"] = { { ID = "v2", Type = "ebs" } } } },
        { LogicalIDs = { "a" } }, nil },
      { "an attachment without Type", "manager", { Docker = D, Attachments = { a = { { ID = "v1" } } } },
        { LogicalIDs = { "a" } }, 'Attachments["a"][1]: no attachment type' },
      { "an attachment ID twice", "manager", { Docker = D, Attachments = { a = { { ID = "v1", Type = "ebs" } }, ["*"] = { { ID = "v1", Type = "ebs" } } } },
        { LogicalIDs = { "a" } }, "Attachment v1 specified more than once" },
      { "managers: no LogicalIDs", "manager", { Docker = D }, { Size = 3 }, "must have odd number for quorum: Allocation.LogicalIDs has 0" },
      { "managers: two", "manager", { Docker = D }, { LogicalIDs = { "a", "b" } }, "must have odd number for quorum: Allocation.LogicalIDs has 2" },
      { "managers: three", "manager", { Docker = D }, { LogicalIDs = { "a", "b", "c" } }, nil },
      { "workers: cattle", "worker", { Docker = D }, { Size = 4 }, nil },
      { "a template that parses", "worker", { Docker = D, InitScriptTemplateURL = "str://join {{ SWARM_CLUSTER_ID }}" }, { Size = 1 }, nil },
      { "a template that does not parse", "worker", { Docker = D, InitScriptTemplateURL = "str://{{ if }}" }, { Size = 1 }, "InitScriptTemplateURL str://{{ if }}: " },
      { "a template that cannot be read", "worker", { Docker = D, InitScriptTemplateURL = "file:///nonexistent/t.tmpl" }, { Size = 1 }, "InitScriptTemplateURL file:///nonexistent/t.tmpl: " },
    }
    for _, c in ipairs(cases) do
      it(c[1], function()
        serve({})
        local ok, err = swarm[c[2]].validate(c[3], c[4])
        if c[5] == nil then
          assert.are.equal(nil, err)
          assert.is_true(ok)
        else
          assert.is_nil(ok)
          assert.is_truthy(err:find(c[5], 1, true), err)
        end
        assert.are.same({}, calls) -- Validate never calls the engine
      end)
    end
  end)

  describe("Prepare", function()
    local LABELS_JSON = '[\n  "infrakit_link=' .. VALUE .. '",\n  "infrakit_link_context=%s",\n  "infrakit_link_created='
      .. CREATED .. '"\n]'
    local function head(labels)
      return "\n#!/bin/sh\nset -o errexit\nset -o nounset\nset -o xtrace\n\nmkdir -p /etc/docker\n"
        .. "cat << EOF > /etc/docker/daemon.json\n{\n  \"labels\": " .. labels .. "\n}\nEOF\n\n"
    end
    local function manager_script(labels, tail)
      return head(labels) .. "\nkill -s HUP $(cat /var/run/docker.pid)\nsleep 5\n\n" .. tail .. "\n"
    end
    local BOOTSTRAP = "\n\n  \n  docker swarm init --advertise-addr 127.0.0.11\n\n"
      .. "  # Tell Docker to listen on port 4243 for remote API access. This is optional.\n"
      .. "  echo DOCKER_OPTS=\"\\\"-H tcp://0.0.0.0:4243 -H unix:///var/run/docker.sock\\\"\" >> /etc/default/docker\n\n"
      .. "  # Restart Docker to let port listening take effect.\n  service docker restart\n\n"
    local JOIN = "\n\n  \n  docker swarm join --token " .. TOKENS.Manager .. " 127.0.0.11:2377\n\n"
    local function worker_script(labels)
      return head(labels) .. "# Tell engine to reload labels\nkill -s HUP $(cat /var/run/docker.pid)\n\nsleep 5\n\n"
        .. "docker swarm join --token " .. TOKENS.Worker .. " 127.0.0.11:2377\n\n"
    end
    local function props(extra)
      local p = { SwarmJoinIP = "127.0.0.11", Docker = { Host = HOST } }
      for k, v in pairs(extra or {}) do p[k] = v end
      return p
    end
    local MANAGERS = { LogicalIDs = { "127.0.0.11", "127.0.0.12", "127.0.0.13" } }
    local function pet(id)
      return { Properties = { Cmd = "dockerd" }, Tags = { ["infrakit.group"] = "managers" }, Init = "old", LogicalID = id,
        Attachments = null }
    end
    local STATE_CALLS = { "GET /v1.41/info", "GET /v1.41/nodes/" .. NODE_ID, "GET /v1.41/swarm" }

    it("bootstraps the swarm: the manager at SwarmJoinIP, the engine in no swarm", function()
      serve({ [SOCK] = UNINIT })
      local spec = pet("127.0.0.11")
      local out, err = swarm.manager.prepare(props(), spec, MANAGERS, { Group = "managers", Sequence = 0 })
      assert.are.equal(nil, err)
      assert.are.equal(manager_script(LABELS_JSON:format("swarm::?::manager"), BOOTSTRAP), out.Init)
      assert.are.same({
        ["infrakit.group"] = "managers", ["infrakit.cluster.id"] = "?", infrakit_link = VALUE,
        infrakit_link_context = "swarm::?::manager", infrakit_link_created = CREATED,
      }, out.Tags)
      assert.are.same({ Cmd = "dockerd" }, out.Properties)
      assert.are.equal("127.0.0.11", out.LogicalID)
      assert.are.equal(null, out.Attachments)
      assert.are.equal("old", spec.Init) -- the input is not changed
      assert.are.same({ "GET /v1.41/info", "GET /v1.41/nodes/" }, keys_called())
    end)

    it("joins a manager to the swarm, with the Manager token and the engine labels first", function()
      serve({ [SOCK] = INIT })
      local out, err = swarm.manager.prepare(props({ EngineLabels = { zone = "b", role = "m" } }), pet("127.0.0.12"),
        MANAGERS, { Group = "managers", Sequence = 1 })
      assert.are.equal(nil, err)
      local ctx = "swarm::" .. SWARM.ID .. "::manager"
      local labels = '[\n  "role=m",\n  "zone=b",\n  "infrakit_link=' .. VALUE .. '",\n  "infrakit_link_context=' .. ctx
        .. '",\n  "infrakit_link_created=' .. CREATED .. '"\n]'
      assert.are.equal(manager_script(labels, JOIN), out.Init)
      assert.are.equal(SWARM.ID, out.Tags["infrakit.cluster.id"])
      assert.are.equal(ctx, out.Tags.infrakit_link_context)
      assert.are.same(STATE_CALLS, keys_called())
    end)

    it("keeps the join tokens out of the logs", function()
      serve({ [SOCK] = INIT })
      assert(swarm.worker.prepare(props(), { LogicalID = null }, { Size = 1 }, { Group = "w", Sequence = 1 }))
      local text = "tokens " .. TOKENS.Worker .. " " .. TOKENS.Manager
      assert.are.equal("tokens [REDACTED] [REDACTED]", infrakit.log.redact(text))
    end)

    it("joins the manager at SwarmJoinIP when the swarm exists (a replacement)", function()
      serve({ [SOCK] = INIT })
      local out = assert(swarm.manager.prepare(props(), pet("127.0.0.11"), MANAGERS, { Group = "managers", Sequence = 0 }))
      assert.are.equal(manager_script(LABELS_JSON:format("swarm::" .. SWARM.ID .. "::manager"), JOIN), out.Init)
    end)

    it("joins a worker with the Worker token", function()
      serve({ [SOCK] = INIT })
      local spec = { Properties = null, Tags = null, Init = "", LogicalID = null, Attachments = null }
      local out, err = swarm.worker.prepare(props(), spec, { Size = 3 }, { Group = "workers", Sequence = 3 })
      assert.are.equal(nil, err)
      assert.are.equal(worker_script(LABELS_JSON:format("swarm::" .. SWARM.ID .. "::worker")), out.Init)
      assert.are.same({
        ["infrakit.cluster.id"] = SWARM.ID, infrakit_link = VALUE,
        infrakit_link_context = "swarm::" .. SWARM.ID .. "::worker", infrakit_link_created = CREATED,
      }, out.Tags)
    end)

    it("fails a worker when the engine is in no swarm (no token), as InfraKit", function()
      serve({ [SOCK] = UNINIT })
      local out, err = swarm.worker.prepare(props(), { LogicalID = null }, { Size = 1 }, { Group = "w", Sequence = 1 })
      assert.is_nil(out)
      assert.matches("error calling SWARM_JOIN_TOKENS: cannot prepare: no swarm status", err, 1, true)
    end)

    it("bootstraps when no engine answers (machine mode): SWARM_INITIALIZED false", function()
      serve({})
      local out, err = swarm.manager.prepare(props(), pet("127.0.0.11"), MANAGERS, { Group = "managers", Sequence = 0 })
      assert.are.equal(nil, err)
      assert.are.equal(manager_script(LABELS_JSON:format("swarm::?::manager"), BOOTSTRAP), out.Init)
      assert.are.equal("?", out.Tags["infrakit.cluster.id"])
    end)

    it("fails any other instance when no engine answers, naming the host", function()
      serve({})
      local out, err = swarm.manager.prepare(props(), pet("127.0.0.12"), MANAGERS, { Group = "managers", Sequence = 1 })
      assert.is_nil(out)
      assert.matches("cannot read the swarm's state: Docker.Host " .. HOST .. ": ", err, 1, true)
      out, err = swarm.worker.prepare(props(), { LogicalID = null }, { Size = 1 }, { Group = "w", Sequence = 1 })
      assert.is_nil(out)
      assert.matches("Docker.Host " .. HOST, err, 1, true)
    end)

    it("tries a list of hosts in order until one answers as a manager", function()
      local down, fresh, manager = "/run/down.sock", "/run/fresh.sock", "/run/manager.sock"
      serve({ [fresh] = UNINIT, [manager] = INIT })
      local p = props({ Docker = { Host = { "unix://" .. down, "unix://" .. fresh, "unix://" .. manager } } })
      local out = assert(swarm.worker.prepare(p, { LogicalID = null }, { Size = 1 }, { Group = "w", Sequence = 1 }))
      assert.are.equal(worker_script(LABELS_JSON:format("swarm::" .. SWARM.ID .. "::worker")), out.Init)
      local socks = {}
      for i, c in ipairs(calls) do socks[i] = c.sock end
      assert.are.same({ down, fresh, fresh, manager, manager, manager }, socks)
    end)

    it("uses the first host that answered when none is a manager", function()
      serve({ ["/run/fresh.sock"] = UNINIT })
      local p = props({ Docker = { Host = { "unix:///run/down.sock", "unix:///run/fresh.sock" } } })
      local out = assert(swarm.manager.prepare(p, pet("127.0.0.11"), MANAGERS, { Group = "managers", Sequence = 0 }))
      assert.are.equal(manager_script(LABELS_JSON:format("swarm::?::manager"), BOOTSTRAP), out.Init)
    end)

    it("adds the attachments of the LogicalID, then those of *", function()
      serve({ [SOCK] = INIT })
      local p = props({ Attachments = {
        ["127.0.0.12"] = { { ID = "vol-12", Type = "ebs" } }, ["127.0.0.13"] = { { ID = "vol-13", Type = "ebs" } },
        ["*"] = { { ID = "shared", Type = "nfs" } },
      } })
      local spec = pet("127.0.0.12")
      spec.Attachments = { { ID = "boot", Type = "disk" } }
      local out = assert(swarm.manager.prepare(p, spec, MANAGERS, { Group = "managers", Sequence = 1 }))
      assert.are.same({ { ID = "boot", Type = "disk" }, { ID = "vol-12", Type = "ebs" }, { ID = "shared", Type = "nfs" } },
        out.Attachments)
    end)

    it("renders InitScriptTemplateURL instead, with the same functions", function()
      serve({ [SOCK] = INIT })
      local url = "str://{{ SWARM_CLUSTER_ID }} {{ SWARM_JOIN_TOKENS.Worker }} {{ SWARM_MANAGER_ADDR }} "
        .. "{{ SWARM_INITIALIZED }} {{ INSTANCE_LOGICAL_ID }} {{ SPEC.SwarmJoinIP }} {{ ALLOCATIONS.Size }} "
        .. "{{ INDEX.Group }}/{{ INDEX.Sequence }} {{ len INFRAKIT_LABELS }}"
      local out, err = swarm.worker.prepare(props({ InitScriptTemplateURL = url }), { LogicalID = null }, { Size = 2 },
        { Group = "workers", Sequence = 7 })
      assert.are.equal(nil, err)
      assert.are.equal(("%s %s 127.0.0.11:2377 true  127.0.0.11 2 workers/7 3"):format(SWARM.ID, TOKENS.Worker), out.Init)
    end)

    it("reports a template error naming InitScriptTemplateURL", function()
      serve({ [SOCK] = UNINIT })
      local out, err = swarm.worker.prepare(props({ InitScriptTemplateURL = "str://{{ SWARM_MANAGER_ADDR }}" }),
        { LogicalID = null }, { Size = 1 }, { Group = "w", Sequence = 1 })
      assert.is_nil(out)
      assert.matches("InitScriptTemplateURL str://{{ SWARM_MANAGER_ADDR }}: ", err, 1, true)
      assert.matches("cannot prepare: no node info", err, 1, true)
    end)

    it("makes a new random link each time", function()
      swarm.random_value = real_random
      serve({ [SOCK] = INIT })
      local a = assert(swarm.worker.prepare(props(), { LogicalID = null }, { Size = 1 }, { Group = "w", Sequence = 1 }))
      local b = assert(swarm.worker.prepare(props(), { LogicalID = null }, { Size = 1 }, { Group = "w", Sequence = 1 }))
      assert.matches("^[a-z0-9]+$", a.Tags.infrakit_link)
      assert.are.equal(16, #a.Tags.infrakit_link)
      assert.are_not.equal(a.Tags.infrakit_link, b.Tags.infrakit_link)
    end)
  end)

  describe("Healthy", function()
    local P = { Docker = { Host = HOST } }
    local INSTANCE = { ID = "i-1", LogicalID = null, Tags = { infrakit_link = LINK } }
    -- The recorded node list, changed by f.
    local function with_nodes(f)
      local answers = copy(INIT)
      local list = answers[LIST_KEY].body
      f(list)
      return answers
    end
    local cases = {
      { "the recorded node: a ready, reachable manager", function() end, "healthy" },
      { "no node yet", function(l) l[1] = nil end, "unknown" },
      { "a node that is down", function(l) l[1].Status.State = "down" end, "unhealthy" },
      { "a manager that is unreachable", function(l) l[1].ManagerStatus.Reachability = "unreachable" end, "unhealthy" },
      { "a manager without ManagerStatus", function(l) l[1].ManagerStatus = nil end, "unhealthy" },
      { "a ready worker", function(l) l[1].Spec.Role = "worker"; l[1].ManagerStatus = nil end, "healthy" },
      { "two nodes with the link (a warning)", function(l) l[2] = copy(l[1]); l[2].Status.State = "down" end, "healthy" },
    }
    for _, c in ipairs(cases) do
      it(c[1] .. ": " .. c[3], function()
        serve({ [SOCK] = with_nodes(c[2]) })
        assert.are.equal(c[3], swarm.worker.healthy(P, INSTANCE))
        assert.are.equal(c[3], swarm.manager.healthy(P, INSTANCE))
        assert.are.equal(LIST_KEY, calls[#calls].key)
      end)
    end

    it("asks one host directly: a single call per check", function()
      serve({ [SOCK] = INIT })
      assert.are.equal("healthy", swarm.worker.healthy(P, INSTANCE))
      assert.are.same({ LIST_KEY }, keys_called())
    end)

    it("asks the first manager of a list of hosts", function()
      serve({ ["/run/fresh.sock"] = UNINIT, [SOCK] = INIT })
      local p = { Docker = { Host = { "unix:///run/down.sock", "unix:///run/fresh.sock", HOST } } }
      assert.are.equal("healthy", swarm.worker.healthy(p, INSTANCE))
      assert.are.equal(SOCK, calls[#calls].sock)
      assert.are.equal(LIST_KEY, calls[#calls].key)
    end)

    it("filters the nodes on the infrakit_link label", function()
      serve({ [SOCK] = INIT })
      swarm.worker.healthy(P, INSTANCE)
      local filters = calls[#calls].key:match("filters=(.*)$"):gsub("%%(%x%x)", function(h) return string.char(tonumber(h, 16)) end)
      assert.are.same({ label = { ["infrakit_link=" .. LINK] = true } }, json.decode(filters))
    end)

    it("is unhealthy without a link tag, asking nothing", function()
      serve({ [SOCK] = INIT })
      assert.are.equal("unhealthy", swarm.worker.healthy(P, { ID = "i-2", Tags = { ["infrakit.group"] = "w" } }))
      assert.are.same({}, calls)
    end)

    it("fails when the engine does not answer, naming the host", function()
      serve({})
      local h, err = swarm.worker.healthy(P, INSTANCE)
      assert.is_nil(h)
      assert.matches("Docker.Host " .. HOST, err, 1, true)
    end)

    it("fails without Properties", function()
      local h, err = swarm.worker.healthy(nil, INSTANCE)
      assert.is_nil(h)
      assert.matches("missing config", err, 1, true)
    end)
  end)

  describe("Drain", function()
    local P = { Docker = { Host = HOST } }
    local INSTANCE = { ID = "i-1", LogicalID = "127.0.0.12", Tags = { infrakit_link = LINK } }
    local function answers(f)
      local a = copy(INIT)
      if f then f(a) end
      a["POST /v1.41/nodes/" .. NODE_ID .. "/update?version=" .. NODE.Version.Index] = { status = 200, body = "" }
      a["DELETE /v1.41/nodes/" .. NODE_ID .. "?force=true"] = { status = 200, body = "" }
      return a
    end

    it("demotes a manager: the node's spec with Role worker, at its version", function()
      serve({ [SOCK] = answers() })
      assert.is_true(swarm.manager.drain(P, INSTANCE))
      local last = calls[#calls]
      assert.are.equal("POST /v1.41/nodes/" .. NODE_ID .. "/update?version=" .. NODE.Version.Index, last.key)
      local want = copy(NODE.Spec)
      want.Role = "worker"
      assert.are.same(want, last.body)
      assert.are.equal("GET /v1.41/nodes/" .. NODE_ID, calls[#calls - 1].key)
    end)

    it("leaves a manager's node that is a worker already", function()
      serve({ [SOCK] = answers(function(a) a["GET /v1.41/nodes/" .. NODE_ID].body.Spec.Role = "worker" end) })
      assert.is_true(swarm.manager.drain(P, INSTANCE))
      assert.are.equal("GET /v1.41/nodes/" .. NODE_ID, calls[#calls].key)
    end)

    it("removes a worker's node, with force", function()
      serve({ [SOCK] = answers() })
      assert.is_true(swarm.worker.drain(P, INSTANCE))
      assert.are.equal("DELETE /v1.41/nodes/" .. NODE_ID .. "?force=true", calls[#calls].key)
    end)

    it("does nothing when no node has the link", function()
      serve({ [SOCK] = answers(function(a) a[LIST_KEY].body = json.decode("[]") end) })
      assert.is_true(swarm.worker.drain(P, INSTANCE))
      assert.is_true(swarm.manager.drain(P, INSTANCE))
      for _, c in ipairs(calls) do assert.are.equal("GET", c.key:sub(1, 3)) end
    end)

    it("refuses when several nodes have the link", function()
      serve({ [SOCK] = answers(function(a) local l = a[LIST_KEY].body; l[2] = copy(l[1]); l[2].ID = "other" end) })
      local ok, err = swarm.worker.drain(P, INSTANCE)
      assert.is_nil(ok)
      assert.are.equal("Expected at most one node with label " .. LINK .. ", but found " .. NODE_ID .. ", other", err)
    end)

    it("refuses an instance without a link tag", function()
      serve({ [SOCK] = answers() })
      local ok, err = swarm.worker.drain(P, { ID = "i-9", Tags = {} })
      assert.is_nil(ok)
      assert.are.equal("Unable to drain i-9 without an association tag", err)
    end)

    it("reports the engine's refusal", function()
      local a = answers()
      a["DELETE /v1.41/nodes/" .. NODE_ID .. "?force=true"] = { status = 500, body = { message = "rpc error: node is busy" } }
      serve({ [SOCK] = a })
      local ok, err = swarm.worker.drain(P, INSTANCE)
      assert.is_nil(ok)
      assert.are.equal("Docker.Host " .. HOST .. ": DELETE /v1.41/nodes/" .. NODE_ID .. ": HTTP 500: rpc error: node is busy", err)
    end)
  end)
end)
