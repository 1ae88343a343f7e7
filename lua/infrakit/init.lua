-- The `infrakit` module: what Lua playbooks, flavors and scripts see.
--
-- Functions that wait yield the calling task and let the loop run; they are
-- marked "Yields." below and must be called from a task (a script run by
-- `infrakit lua`, a playbook, or a function started with infrakit.spawn).
-- Expected failures return nil, message, code; misuse raises.
local core = require "infrakit._core"

--- The module; infrakit.template and infrakit.gotypes load on first use.
---@class infrakit
---@field version string infrakit's version
---@field lua_dir string|nil $INFRAKIT_LUA_DIR, when the modules come from a source directory
---@field template infrakit.template
---@field gotypes infrakit.gotypes
---@field image infrakit.image
local infrakit = {
  version = core.version,
  lua_dir = core.lua_dir,
}

--- Seconds since the epoch, wall clock, sub-millisecond precision.
---@type fun(): number
infrakit.now = core.now

--- Monotonic seconds, for measuring durations.
---@type fun(): number
infrakit.clock = core.clock

--- Yields for at least `seconds` (>= 0). sleep(0) lets other ready tasks
--- and I/O run, then continues.
---@type fun(seconds: number)
infrakit.sleep = core.sleep

--- Runs a program. Yields. See docs/lua-api.md for argv and opts.
--- Returns {status=, signal=, stdout=, stderr=, elapsed=, truncated=},
--- or nil, msg, code ("ENOENT", "ETIMEDOUT", ...).
---@alias infrakit.exec.opts {env?: table<string,string>, clear_env?: boolean, cwd?: string, stdin?: string,
---  timeout?: number, max_output?: integer}
---@type fun(argv: string|string[], opts?: infrakit.exec.opts): table|nil, string?, string?
infrakit.exec = core.exec

--- Starts fn(...) in a new task and returns its handle at once.
--- handle:wait() yields until it ends and returns its results (or nil,
--- msg, code if it raised or was cancelled); handle:cancel();
--- handle:status() is "ready", "running", "waiting", "done", "failed" or
--- "canceled".
---@type fun(fn: function, ...): userdata
infrakit.spawn = core.spawn

--- A unique ID: a version 4 UUID ("1b4e28ba-2fa1-41d2-883f-0016d3cca427")
--- from the kernel's random source, unique across processes and restarts.
--- Does not yield.
---@type fun(): string
infrakit.uid = core.uid

--- JSON through lua-cjson: encode, decode, null, array_mt.
---@module "infrakit.json"
infrakit.json = require "infrakit.json"

--- Structured logs: debug, info, warn, error, enabled, secret, redact.
---@module "infrakit.log"
infrakit.log = require "infrakit.log"

--- JSON-RPC calls to plugins: infrakit.rpc.call(plugin, method, params, opts).
--- Yields. See docs/lua-api.md.
---@module "infrakit.rpc"
infrakit.rpc = require "infrakit.rpc"

--- HTTP requests through the loop: infrakit.http.request(req), .get(url, opts).
--- Yields. See docs/lua-api.md.
---@module "infrakit.http"
infrakit.http = require "infrakit.http"

--- Flavor plugins by name (hosted in this daemon, else in the plugins
--- directory): infrakit.flavor.get(name) → handle with validate, prepare,
--- healthy, drain (each yields), or nil, msg, code. See docs/lua-api.md.
---@type {get: fun(name: string): userdata|nil, string?, string?}
infrakit.flavor = { get = core.flavor_get }

--- Instance plugins by name: infrakit.instance.get(name) → handle with
--- validate, provision, label, destroy, describe (each yields).
---@type {get: fun(name: string): userdata|nil, string?, string?}
infrakit.instance = { get = core.instance_get }

--- The daemon's group controller: commit, describe, scale, wait, watch...
--- (each yields). See docs/lua-api.md and docs/playbooks.md.
---@module "infrakit.group"
infrakit.group = require "infrakit.group"

--- Make sure a daemon serves this $INFRAKIT_HOME: infrakit.daemon.ensure{}.
---@module "infrakit.daemon"
infrakit.daemon = require "infrakit.daemon"

local progress = require "infrakit._progress"

--- What a playbook tells its user: infrakit.print(fmt, ...) prints a
--- timestamped line (string.format's fmt).
---@type fun(fmt: string, ...)
infrakit.print = progress.print

--- infrakit.progress(fmt, ...) shows the state of a long wait (redrawn in
--- place on a terminal); .update(fmt, ...) is the same, .done() ends it.
---@type {update: fun(fmt: string, ...), done: fun()}|fun(fmt: string, ...)
infrakit.progress = setmetatable({ update = progress.update, done = progress.done },
  { __call = function(_, ...) return progress.update(...) end })

--- The path of the infrakit binary running this code.
---@type string
infrakit.executable = core.exe()

--- On SIGINT/SIGTERM (Ctrl-C) every task is cancelled, then fn() runs as a
--- task of its own - it may yield (destroy a group, stop a daemon) - and
--- the program exits (130 for SIGINT). A second Ctrl-C exits at once.
--- Under `infrakit lua` and `infrakit play`.
---@param fn fun()|nil
function infrakit.on_interrupt(fn) core.interrupt_handler = fn end

--- The parameters `infrakit play` parsed for the running playbook.
---@type table
infrakit.params = {}

local task_mt = debug.getregistry()["infrakit.task"]
local function is_task(v)
  return type(v) == "userdata" and getmetatable(v) == task_mt
end

--- Waits for every task in the list. Yields.
--- Returns a list with one entry per task, in order:
---   { ok = true, n = <count>, <results...> }  or
---   { ok = false, err = <message>, code = <code> }
--- and the number of tasks that failed.
---@param tasks userdata[] handles from infrakit.spawn
---@return table[] results one per task
---@return integer failed
function infrakit.wait_all(tasks)
  if type(tasks) ~= "table" then
    error("infrakit.wait_all: expected a list of tasks, got " .. type(tasks), 2)
  end
  for i, task in ipairs(tasks) do
    if not is_task(task) then
      error(("infrakit.wait_all: element %d is a %s, expected a task from infrakit.spawn")
        :format(i, type(task)), 2)
    end
  end
  local results, failed = {}, 0
  for i, task in ipairs(tasks) do
    local r = { n = 0 }
    local function keep(...)
      r.n = select("#", ...)
      for j = 1, r.n do r[j] = (select(j, ...)) end
    end
    keep(task:wait())
    if task:status() == "done" then
      r.ok = true
    else
      r = { ok = false, err = r[2], code = r[3] }
      failed = failed + 1
    end
    results[i] = r
  end
  return results, failed
end

--- Debugging counters used by the test suite.
---@alias infrakit.debug {refs: fun(): integer, live_tasks: fun(): integer,
---  timeout: fun(seconds?: number): number, current: fun(): integer|nil}
---@type infrakit.debug
infrakit.debug = {
  refs = core.refs,             -- registry references held by the runtime
  live_tasks = core.live_tasks, -- tasks not yet finished
  timeout = core.timeout,       -- get/set the watchdog limit (seconds)
  current = core.current,       -- id of the running task, or nil
}

--- Modules loaded on first use, so scripts that never render a template
--- do not pay for loading the template engine: infrakit.template (the
--- same table as require "infrakit.template"), infrakit.gotypes and
--- infrakit.image (VM images for the qemu driver, docs/qemu.md).
local lazy = { template = "infrakit.template", gotypes = "infrakit.gotypes", image = "infrakit.image" }
setmetatable(infrakit, {
  __index = function(t, k)
    local name = lazy[k]
    if name == nil then return nil end
    local mod = require(name)
    rawset(t, k, mod)
    return mod
  end,
})

return infrakit
