-- infrakit.docker: a minimal Docker Engine API client for Lua (the calls
-- the swarm flavor and the swarm playbook make), over infrakit.http.
-- Version-pinned paths (/v1.41/...). Every call yields.
--
--   local docker = require "infrakit.docker"
--   local c, err = docker.client("unix:///var/run/docker.sock")   -- or "tcp://10.0.0.1:2376", tls, { timeout = 10 }
--   local info, err, code = c:info()                 -- GET /info
--   local nodes = c:node_list({ label = { "infrakit_link=abc" } })  -- GET /nodes?filters=
--   local node = c:node_inspect(id)                  -- GET /nodes/{id}
--   c:node_update(id, version, spec)                 -- POST /nodes/{id}/update?version=N
--   c:node_remove(id, force)                         -- DELETE /nodes/{id}?force=true
--   local sw = c:swarm_inspect()                     -- GET /swarm
--   local state = c:swarm_state()                    -- info -> node inspect -> swarm inspect
--   local c, state = docker.find_manager(hosts, tls, opts) -- the first host that answers as a manager
--
-- host: "unix:///path/docker.sock", or "tcp://HOST:PORT" (plain HTTP, or
-- HTTPS when tls names files). tls (optional): InfraKit's
-- tlsconfig.Options { CAFile =, CertFile =, KeyFile =, InsecureSkipVerify = }.
--
-- Failures return nil, message, code. The message names the host and the
-- call ("Docker.Host unix:///x.sock: GET /v1.41/info: connection refused").
-- code is the transport's ("ECONNREFUSED", "ENOENT", "ETIMEDOUT", ...) when
-- no answer came — docker.unreachable(code) is true for those — or
-- "EHTTP" when the engine answered with an error status (the message then
-- carries the engine's own message, e.g. "This node is not a swarm
-- manager."), or "EINVAL" for a host that is not a unix:// or tcp:// URL.
local http = require "infrakit.http"
local json = require "infrakit.json"

local docker = { api_version = "v1.41", default_host = "unix:///var/run/docker.sock" }

--- The function each client sends its requests with: infrakit.http.request's
--- contract. Tests replace it to serve recorded Engine API answers.
docker.transport = http.request

--- True when code says the engine gave no answer at all (as opposed to an
--- HTTP error status or a bad host).
---@param code string|nil
---@return boolean
function docker.unreachable(code)
  return code ~= nil and code ~= "EHTTP" and code ~= "EINVAL" and code ~= "EJSON"
end

local Client = {}
Client.__index = Client

local function query_escape(s)
  return (tostring(s):gsub("[^%w%-_%.~]", function(c) return ("%%%02X"):format(c:byte()) end))
end

--- A client for the engine at host (nothing is sent yet). Returns the
--- client, or nil, message, "EINVAL" for a host that is not a unix:// or
--- tcp:// URL.
--- opts: { timeout = seconds } for each call (default 30).
---@param host string|nil default docker.default_host
---@param tls table|nil { CAFile =, CertFile =, KeyFile =, InsecureSkipVerify = }
---@param opts table|nil { timeout = seconds }
---@return table|nil client, string? message, string? code
function docker.client(host, tls, opts)
  if host == nil or host == "" then host = docker.default_host end
  if type(host) ~= "string" then return nil, "Docker.Host must be a string", "EINVAL" end
  local c = { host = host, timeout = opts and opts.timeout or 30 }
  local sock = host:match("^unix://(/.+)$")
  local hostport = host:match("^tcp://([^/]+)/?$")
  if sock then
    c.unix_socket, c.base = sock, "http://docker"
  elseif hostport then
    tls = type(tls) == "table" and tls or {}
    local secure = (tls.CAFile or "") ~= "" or (tls.CertFile or "") ~= "" or (tls.KeyFile or "") ~= ""
      or tls.InsecureSkipVerify == true
    c.base = (secure and "https://" or "http://") .. hostport
    if secure then
      c.tls = {
        ca = tls.CAFile ~= "" and tls.CAFile or nil,
        cert = tls.CertFile ~= "" and tls.CertFile or nil,
        key = tls.KeyFile ~= "" and tls.KeyFile or nil,
        insecure = tls.InsecureSkipVerify == true or nil,
      }
    end
  else
    return nil, ("Docker.Host %q: want unix:///path/to/docker.sock or tcp://HOST:PORT"):format(host), "EINVAL"
  end
  return setmetatable(c, Client)
end

--- One call: method, path under /v1.41, optional body (a table is sent as
--- JSON). Returns the decoded answer (nil for an empty body) for a 2xx
--- status, else nil, message, code (see the header). Yields.
---@param method string
---@param path string
---@param body table|nil
---@return any|nil answer, string? message, string? code
function Client:call(method, path, body)
  local where = ("Docker.Host %s: %s /%s%s"):format(self.host, method, docker.api_version, path:match("^[^?]*"))
  local req = {
    method = method, url = self.base .. "/" .. docker.api_version .. path,
    unix_socket = self.unix_socket, tls = self.tls, timeout = self.timeout,
  }
  if body ~= nil then
    req.body = json.encode(body)
    req.headers = { ["Content-Type"] = "application/json" }
  end
  local r, err, code = docker.transport(req)
  -- The transport's message names the method and URL already.
  if not r then return nil, ("Docker.Host %s: %s"):format(self.host, tostring(err)), code end
  local decoded
  if r.body ~= nil and r.body:match("%S") then
    local ok, v = pcall(json.decode, r.body)
    if ok then decoded = v end
  end
  if r.status < 200 or r.status > 299 then
    local msg = type(decoded) == "table" and type(decoded.message) == "string" and decoded.message
      or (r.body or ""):sub(1, 200)
    return nil, ("%s: HTTP %d: %s"):format(where, r.status, msg), "EHTTP", r.status
  end
  if decoded == nil and r.body ~= nil and r.body:match("%S") then
    return nil, where .. ": the answer is not JSON", "EJSON"
  end
  return decoded
end

--- GET /info (docker info): Swarm.NodeID, Swarm.LocalNodeState,
--- Swarm.ControlAvailable, ...
function Client:info() return self:call("GET", "/info") end

--- GET /nodes, filtered: filters is { label = { "k=v", ... }, role = { "manager" }, ... }.
--- Returns a list of nodes (only a manager answers).
function Client:node_list(filters)
  local path = "/nodes"
  if filters and next(filters) ~= nil then
    local f = {}
    for k, values in pairs(filters) do
      local set = {}
      for _, v in ipairs(values) do set[v] = true end
      f[k] = set
    end
    path = path .. "?filters=" .. query_escape(json.encode(f))
  end
  return self:call("GET", path)
end

--- GET /nodes/{id} (docker node inspect).
function Client:node_inspect(id) return self:call("GET", "/nodes/" .. query_escape(id)) end

--- POST /nodes/{id}/update?version=N with the node's new Spec.
function Client:node_update(id, version, spec)
  local ok, err, code = self:call("POST", ("/nodes/%s/update?version=%d"):format(query_escape(id), version), spec)
  if ok == nil and err then return nil, err, code end
  return true
end

--- DELETE /nodes/{id} (?force=true with force).
function Client:node_remove(id, force)
  local ok, err, code = self:call("DELETE", "/nodes/" .. query_escape(id) .. (force and "?force=true" or ""))
  if ok == nil and err then return nil, err, code end
  return true
end

--- GET /swarm (docker swarm inspect): ID, JoinTokens {Worker, Manager}, ...
function Client:swarm_inspect() return self:call("GET", "/swarm") end

--- The swarm as this engine sees it, read as InfraKit does: info, then the
--- engine's own node, then the swarm. Returns { info =, node =, swarm = }
--- with what could be read (node and swarm nil when the engine is not in
--- a swarm or not a manager), and the first error (message, code) when a
--- step failed. info nil means the engine gave no answer.
---@return table state, string? message, string? code
function Client:swarm_state()
  local state = {}
  local info, err, code = self:info()
  if not info then return state, err, code end
  state.info = info
  local node_id = type(info.Swarm) == "table" and info.Swarm.NodeID or ""
  local node
  node, err, code = self:node_inspect(node_id)
  if not node then return state, err, code end
  state.node = node
  local swarm
  swarm, err, code = self:swarm_inspect()
  if not swarm then return state, err, code end
  state.swarm = swarm
  return state
end

--- Whether an engine's info says it is a swarm manager.
---@param info table|nil
---@return boolean
function docker.is_manager(info)
  return type(info) == "table" and type(info.Swarm) == "table" and info.Swarm.ControlAvailable == true
end

--- The first of hosts (a string, or a list tried in order) whose engine
--- answers as a swarm manager; when none does, the first that answered at
--- all. Returns client, state (as swarm_state, read from that engine), or
--- nil, message, code when no host answered (the message names every
--- host; code is the last transport error) or a host is malformed. opts
--- as for client: a short timeout skips a hung engine sooner.
---@param hosts string|table
---@param tls table|nil
---@param opts table|nil { timeout = seconds }
---@return table|nil client, table|string state_or_message, string? code
function docker.find_manager(hosts, tls, opts)
  if type(hosts) ~= "table" then hosts = { hosts } end
  local first, first_state, failures, last_code = nil, nil, {}, nil
  for _, host in ipairs(hosts) do
    local c, err, code = docker.client(host, tls, opts)
    if not c then return nil, err, code end
    local state
    state, err, code = c:swarm_state()
    if state.info == nil then
      failures[#failures + 1] = err
      last_code = code
    elseif docker.is_manager(state.info) then
      return c, state
    elseif not first then
      first, first_state = c, state
    end
  end
  if first then return first, first_state end
  if #hosts == 0 then return nil, "Docker.Host: no host given", "EINVAL" end
  return nil, table.concat(failures, "; "), last_code
end

return docker
