--- infrakit.group: the daemon's group controller, from Lua (docs/lua-api.md).
-- Every function talks Group/0.1.1 (plus our Status and Promote) to the
-- plugin "group" in the plugins directory - or to the socket chosen with
-- group.use(address) - and yields until it answers. Failures are
-- `nil, message, code`, like every call of the infrakit module.
local rpc = require "infrakit.rpc"
local core = require "infrakit._core"

local group = {}

local address = "group"

--- Talk to another group plugin: a name in the plugins directory, or a
--- socket path (infrakit.daemon.ensure{home = ...} sets it).
---@param where string
function group.use(where) address = where end

local function call(method, params, opts)
  params.Name = params.Name or "group"
  return rpc.call(address, "Group." .. method, params, opts and opts.timeout and { timeout = opts.timeout } or nil)
end

--- Commit a group spec (a table in InfraKit's shape: {ID = ..., Properties
--- = {Allocation = ..., Instance = ..., Flavor = ..., Updating = ...}}).
--- Returns the controller's Details text and the group ID.
---@param spec table
---@param opts? {pretend: boolean}
---@return string|nil details, string id_or_err, string? code
function group.commit(spec, opts)
  if type(spec) ~= "table" then error("group.commit: want a spec table, got " .. type(spec), 2) end
  core.log_secrets_of(spec) -- masked in this process's output too, as in the daemon's
  local r, err, code = call("CommitGroup", { Spec = spec, Pretend = opts and opts.pretend or false })
  if not r then return nil, err, code end
  return r.Details, r.ID
end

--- The controller's view of a group (the status document of `infrakit
--- group describe --json`). Yields.
---@param id string the group ID
---@return table|nil status, string? message, string? code
function group.describe(id)
  local r, err, code = call("Status", { ID = id })
  if not r then return nil, err, code end
  return r.Status
end

--- The group's instances as its instance plugin lists them now. Yields.
---@param id string the group ID
---@return table[]|nil instances, string? message, string? code
function group.instances(id)
  local r, err, code = call("DescribeGroup", { ID = id })
  if not r then return nil, err, code end
  return r.Description.Instances or {}
end

--- Set the size of a cattle group (never replaces instances). Yields.
---@param id string the group ID
---@param size integer
---@return true|nil ok, string? message, string? code
function group.scale(id, size)
  local r, err, code = call("SetSize", { ID = id, Size = size })
  if not r then return nil, err, code end
  return true
end

local function simple(method)
  return function(id, opts)
    local r, err, code = call(method, { ID = id }, opts)
    if not r then return nil, err, code end
    return true
  end
end

--- Destroy the group's instances and forget it. Yields. opts.timeout:
--- seconds to wait for the answer (default: the client's, 15 s), for
--- instances that take a while to stop.
---@type fun(id: string, opts?: {timeout?: number}): true|nil, string?, string?
group.destroy = simple("DestroyGroup")
--- Forget the group, leaving its instances. Yields.
---@type fun(id: string, opts?: {timeout?: number}): true|nil, string?, string?
group.free = simple("FreeGroup")
--- Let a canary rollout go on. Yields.
---@type fun(id: string, opts?: {timeout?: number}): true|nil, string?, string?
group.promote = simple("Promote")
--- Pause the group's rollout: no new replacement starts until resume. Yields.
---@type fun(id: string, opts?: {timeout?: number}): true|nil, string?, string?
group.pause = simple("Pause")
--- Let a paused rollout go on. Yields.
---@type fun(id: string, opts?: {timeout?: number}): true|nil, string?, string?
group.resume = simple("Resume")

--- Every group the controller manages, as their specs. Yields.
---@return table[]|nil specs, string? message, string? code
function group.list()
  local r, err, code = call("InspectGroups", { ID = "" })
  if not r then return nil, err, code end
  return r.Groups or {}
end

--- True when the group is at its spec: steady, nothing in flight, the
--- committed config fully rolled out. Does not yield.
---@param status table a status from group.describe
---@return boolean
function group.converged(status)
  return status.Phase == "steady" and #status.InFlight == 0 and status.GoodHash == status.ConfigHash
      and status.Summary.Available == status.Summary.Desired
end

--- Call fn(status) each time the group's phase or progress changes,
--- until fn returns a true value (returned) or opts.timeout seconds pass
--- (nil, "timed out ..."). Yields between looks (opts.interval, 0.1 s).
---@param id string the group ID
---@param fn fun(status: table): any
---@param opts? {timeout?: number, interval?: number}
---@return any|nil done, string? message, string? code
function group.watch(id, fn, opts)
  opts = opts or {}
  local deadline = opts.timeout and core.clock() + opts.timeout
  local interval = opts.interval or 0.1
  local last
  while true do
    local st, err, code = group.describe(id)
    if not st then return nil, err, code end
    local s = st.Summary
    -- Everything a caller may decide on (group.converged included).
    local key = table.concat({ st.Phase, s.Done, s.Total, s.Available, s.Current, s.Desired, #st.InFlight,
      #st.Failures, s.Reason, st.GoodHash, st.TargetHash, st.ConfigHash }, "|")
    if key ~= last then
      last = key
      local done = fn(st)
      if done then return done end
    end
    if deadline and core.clock() >= deadline then
      return nil, string.format("group %s: timed out after %gs (%s %d/%d%s)", id, opts.timeout, st.Phase, s.Done,
        s.Total, s.Reason ~= "" and (": " .. s.Reason) or ""), "ETIMEDOUT"
    end
    core.sleep(interval)
  end
end

--- Wait until the group has converged (opts.timeout seconds, default 60),
--- reporting progress through infrakit.progress. Returns the status.
--- Yields. opts.converged = false stops at the first status.
---@param id string the group ID
---@param opts? {timeout?: number, interval?: number, converged?: boolean}
---@return table|nil status, string? message, string? code
function group.wait(id, opts)
  opts = opts or {}
  local progress = require "infrakit._progress"
  local timeout = opts.timeout or 60
  local st, err, code = group.watch(id, function(s)
    local sum = s.Summary
    progress.update(string.format("group %s: %s %d/%d updated, %d/%d available%s%s", id, s.Phase, sum.Done,
      sum.Total, sum.Available, sum.Desired, #s.Failures > 0 and string.format(", %d failing", #s.Failures) or "",
      sum.Reason ~= "" and (" - " .. sum.Reason) or ""))
    if opts.converged == false or group.converged(s) then return s end
  end, { timeout = timeout, interval = opts.interval })
  progress.done()
  return st, err, code
end

return group
