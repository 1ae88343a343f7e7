-- The http flavor, served as `flavor-http`: an instance is healthy when it
-- answers HTTP - the load balancer's health check, as a flavor. Made for
-- the qemu demo (playbooks/immutable, docs/qemu.md), usable for any
-- instance plugin that reports its forwarded ports.
--
-- Properties (all optional; keys match case-insensitively, as in Go):
--   Port     the instance's port to ask (default 80)
--   Path     the path to GET (default "/")
--   Expect   the body the answer must have (trailing white space ignored);
--            without it any 2xx answer is healthy
--   Host     where to connect (default "127.0.0.1")
--   Timeout  seconds for one check (default 2)
--
-- Which host port: the instance's described Properties.Ports maps the
-- instance's ports to host ports (instance-qemu: {"80": 43125}, user-mode
-- networking forwards); Port is looked up there, else asked as it is.
--
-- Prepare:  tags the instance infrakit.http.expect = Expect (when set), so
--           an instance is judged by what it was built to answer: during a
--           rollout to a new Expect the old instances stay healthy until
--           they are replaced, instead of being remediated all at once.
--           Init, Attachments and everything else pass through.
-- Healthy:  "unknown" while there is no answer (booting: connection refused
--           or reset, timeout) or no port to ask yet; "healthy" for a 2xx
--           answer with the expected body; "unhealthy" for any other answer
--           (a non-2xx status, another body).
-- Validate: Properties decode; Port 1-65535; Path starts with "/"; Timeout > 0.
-- Drain: nothing to do.
local go = require "infrakit.gotypes"
local http = require "infrakit.http"

local flavor = {}

--- The tag prepare sets to the Expect the instance was provisioned with.
flavor.expect_tag = "infrakit.http.expect"

local FIELDS = {
  { "Port", "int" },
  { "Path", "string" },
  { "Expect", "string" },
  { "Host", "string" },
  { "Timeout", "float64" },
}

-- Properties -> the spec with defaults, or nil, message.
local function decode(properties)
  local s, err = go.decode_struct(properties, "http.Spec", FIELDS)
  if not s then return nil, err end
  if s.Port == 0 then s.Port = 80 end
  if s.Path == "" then s.Path = "/" end
  if s.Host == "" then s.Host = "127.0.0.1" end
  if s.Timeout == 0 then s.Timeout = 2 end
  if s.Port < 1 or s.Port > 65535 then return nil, ("Port %d is not a TCP port (1-65535)"):format(s.Port) end
  if s.Path:sub(1, 1) ~= "/" then return nil, ("Path %q must start with /"):format(s.Path) end
  if s.Timeout < 0 then return nil, ("Timeout %g must be positive (seconds)"):format(s.Timeout) end
  return s
end

--- Checks the Properties.
---@param properties table|nil Properties of the group's Flavor block
---@param allocation table|nil {Size=, LogicalIDs=}
---@return true|nil ok
---@return string|nil err
---@return string|nil code
function flavor.validate(properties, allocation)
  local s, err = decode(properties)
  if not s then return nil, err, "EINVAL" end
  return true
end

--- The spec, tagged with the Expect it will be checked against.
---@param properties table|nil
---@param spec table the instance spec
---@param allocation table|nil
---@param index table|nil
---@return table|nil spec
---@return string|nil err
---@return string|nil code
function flavor.prepare(properties, spec, allocation, index)
  local s, err = decode(properties)
  if not s then return nil, err, "EINVAL" end
  if s.Expect ~= "" then
    local tags = type(spec.Tags) == "table" and spec.Tags or {}
    tags[flavor.expect_tag] = s.Expect
    spec.Tags = tags
  end
  return spec
end

-- The host port that reaches the instance's port, from its described
-- Properties.Ports (guest port -> host port), else the port itself; nil
-- when the instance has Ports but not this one (not forwarded yet).
local function host_port(instance, port)
  local props = type(instance) == "table" and instance.Properties
  local ports = type(props) == "table" and props.Ports
  if type(ports) ~= "table" or next(ports) == nil then return port end
  local mapped = ports[tostring(port)] or ports[port]
  return tonumber(mapped)
end

--- "healthy", "unhealthy" or "unknown" (see the header). Yields (HTTP).
---@param properties table|nil
---@param instance table instance.Description, with Properties
---@return string|nil health
---@return string|nil err
---@return string|nil code
function flavor.healthy(properties, instance)
  local s, err = decode(properties)
  if not s then return nil, err, "EINVAL" end
  local port = host_port(instance, s.Port)
  if not port then return "unknown" end
  local tags = type(instance.Tags) == "table" and instance.Tags or {}
  local expect = tags[flavor.expect_tag] or s.Expect
  local r = http.request({ url = ("http://%s:%d%s"):format(s.Host, port, s.Path), timeout = s.Timeout,
    max_body = 1024 * 1024 })
  if not r then return "unknown" end -- no answer yet: booting
  if r.status < 200 or r.status > 299 then return "unhealthy" end
  if expect ~= "" and (r.body:gsub("%s+$", "")) ~= (expect:gsub("%s+$", "")) then return "unhealthy" end
  return "healthy"
end

return flavor
