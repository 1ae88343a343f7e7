--- infrakit.daemon: make sure a daemon serves this $INFRAKIT_HOME.
local core = require "infrakit._core"
local rpc = require "infrakit.rpc"

local daemon = {}

-- The plugins a playbook's daemon hosts: the controller, the built-in
-- instance plugins and flavors.
daemon.plugins = { "group", "instance-process", "instance-file", "flavor-vanilla", "flavor-combo",
  "flavor-zookeeper" }

local function group_socket(home)
  return home and (home .. "/plugins/group") or "group"
end

--- Connect to the daemon of opts.home (default: $INFRAKIT_HOME, else
--- ~/.infrakit), or start one in the background (its log in
--- HOME/logs/group.log). Returns {started = bool}, or nil, message.
--- With opts.home, infrakit.group talks to that daemon from now on.
--- opts.env: more environment for a daemon started here (e.g.
--- INFRAKIT_TEMPLATE_DIR); a daemon already running keeps its own.
--- A daemon started here outlives the caller (its own session): nothing
--- stops it but daemon.stop (or `infrakit plugin stop group`). Yields.
---@param opts? {home?: string, timeout?: number, plugins?: string[], env?: table<string, string>}
---@return {started: boolean}|nil result, string? message
function daemon.ensure(opts)
  opts = opts or {}
  local home = opts.home
  local sock = group_socket(home)
  require("infrakit.group").use(sock)
  if rpc.call(sock, "Handshake.Hello", nil, { timeout = 1 }) then return { started = false } end
  local argv = { "/proc/self/exe", "plugin", "start", "--timeout", tostring(opts.timeout or 15) }
  for _, p in ipairs(opts.plugins or daemon.plugins) do argv[#argv + 1] = p end
  local env = {}
  for k, v in pairs(opts.env or {}) do env[k] = v end
  if home then env.INFRAKIT_HOME = home end
  local r, err = core.exec(argv, { env = env, timeout = (opts.timeout or 15) + 5 })
  if not r then return nil, "starting the daemon: " .. tostring(err) end
  if r.status ~= 0 then
    local why = r.stderr ~= "" and r.stderr:gsub("%s+$", "") or ("exit status " .. r.status)
    return nil, "starting the daemon: " .. why
  end
  return { started = true }
end

--- Stop the daemon serving the group plugin of opts.home (or the default
--- home): SIGTERM, and wait for it to go. Its groups' instances are not
--- destroyed (processes of instance-process keep running). Yields.
---@param opts? {home?: string}
---@return true|nil ok, string? message
function daemon.stop(opts)
  opts = opts or {}
  local r, err = core.exec({ "/proc/self/exe", "plugin", "stop", "group" },
    { env = opts.home and { INFRAKIT_HOME = opts.home } or nil, timeout = 30 })
  if not r then return nil, err end
  if r.status ~= 0 then return nil, r.stderr:gsub("%s+$", "") end
  return true
end

return daemon
