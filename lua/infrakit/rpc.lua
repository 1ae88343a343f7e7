-- infrakit.rpc: JSON-RPC calls to any plugin on InfraKit's wire
-- (docs/plugins.md). The C half is core.rpc_call (core/lua/bind_rpc.c).
local core = require "infrakit._core"
local json = require "infrakit.json"

local rpc = {}

-- Services whose objects are picked by the request's Type field, and those
-- picked by its Name field (reference §1.4-1.5).
local typed = { Instance = true, Flavor = true }
local keyed = { Group = true, Metadata = true, Updatable = true, Controller = true }

--- Calls method on plugin and yields until the answer arrives.
--- plugin: "name" or "name/type" (a socket in the plugins directory), or an
--- address (socket path, tcp://HOST:PORT, http://...). The "/type" part is
--- sent the way InfraKit's clients send it: as params.Type for Instance and
--- Flavor methods, the whole name as params.Name for Group, Metadata,
--- Updatable and Controller methods, unless params already has that field.
--- opts: { timeout = seconds }.
--- Returns the result table, or nil, message, code.
---@param plugin string a plugin name ("name" or "name/type") or an address
---@param method string "Service.Method"
---@param params table|nil
---@param opts {timeout?: number}|nil
---@return table|nil result, string? message, string? code
function rpc.call(plugin, method, params, opts)
  if type(plugin) ~= "string" or plugin == "" then
    error("infrakit.rpc.call: plugin must be a plugin name or address", 2)
  end
  if type(method) ~= "string" or not method:match("^[%w_]+%.[%w_]+$") then
    error("infrakit.rpc.call: method must be \"Service.Method\", got " .. tostring(method), 2)
  end
  if params ~= nil and type(params) ~= "table" then
    error("infrakit.rpc.call: params must be a table, got " .. type(params), 2)
  end
  if opts ~= nil and type(opts) ~= "table" then
    error("infrakit.rpc.call: opts must be a table, got " .. type(opts), 2)
  end
  local timeout = opts and opts.timeout or 0
  if type(timeout) ~= "number" or timeout < 0 then
    error("infrakit.rpc.call: opts.timeout must be a number of seconds >= 0", 2)
  end
  local is_address = plugin:sub(1, 1) == "/" or plugin:find("://", 1, true)
  local lookup, sub = plugin, nil
  if not is_address then lookup, sub = plugin:match("^([^/]+)/(.*)$") end
  if not lookup then lookup = plugin end
  local p = {}
  for k, v in pairs(params or {}) do p[k] = v end
  local service = method:match("^([%w_]+)%.")
  if typed[service] and p.Type == nil then p.Type = sub or "" end
  if keyed[service] and p.Name == nil then p.Name = plugin end
  local text = next(p) ~= nil and json.encode(p) or "{}"
  local result, err, code = core.rpc_call(lookup, method, text, math.ceil(timeout * 1000))
  if not result then return nil, err, code end
  return json.decode(result)
end

return rpc
