-- infrakit._sandbox: run Lua that arrives from outside — inside a spec, in a
-- fetched template — with an allow-list of functions, as redis does for
-- its scripts. Flavor files on disk and playbooks are the user's own
-- programs and are not sandboxed.
--
--   local sandbox = require "infrakit._sandbox"
--   local env = sandbox.env({ name = "web" })            -- fresh globals
--   local fn, err = sandbox.load(code, "=template", env) -- text only
--   local ok, a, b = pcall(fn, ...)
--   local a, b = sandbox.run(code, "=template", { name = "web" }, ...)
--
-- What sandboxed code gets (everything else is absent):
--   assert error ipairs next pairs pcall select tonumber tostring type
--   unpack xpcall _VERSION, _G (the sandbox's own globals),
--   getmetatable/setmetatable limited to the metatables the code set itself,
--   string (a copy, without dump), table (a copy), math (a copy, without
--   randomseed), bit (a copy), os.time/date/clock/difftime (a new table),
--   coroutine (see below), and the entries of `extra`.
-- Absent: io, os.execute/exit/getenv/remove/rename/tmpname/setlocale,
-- package, require, module, debug, jit, ffi, load, loadstring, loadfile,
-- dofile, string.dump, getfenv, setfenv, rawget, rawset, rawequal,
-- collectgarbage, gcinfo, newproxy, print.
--
-- Shared state. Every table above is a fresh copy per environment, so
-- code can change its own `string.format` or `math.pi` without touching
-- the host or another sandbox. Strings share one metatable in Lua, and
-- ("").name reaches its __index: requiring this module points that
-- __index at a copy of the string library without `dump` (lookups of names
-- added to `string` later fall through to it), so ("").dump is nil for
-- everyone — method syntax on dump never made sense. getmetatable("") is
-- nil inside the sandbox.
--
-- Coroutines. create, wrap, resume, status, yield, running and
-- isyieldable work on coroutines the code created itself (in this
-- environment). A yield outside such a coroutine raises instead of
-- suspending the host's task under the host's feet, and resume refuses
-- threads it did not create. The watchdog's hook is global in LuaJIT, so it
-- reaches code running in these coroutines too.
--
-- Limits (core/lua/limits.c, docs/security.md "Lua limits"): every call
-- into sandboxed code goes through sandbox.call, which applies a run-time
-- limit (--sandbox-timeout) and a memory budget (--sandbox-memory), yields
-- the task to the loop every few milliseconds, and hands errors back as
-- plain values. string.find/match/gmatch/gsub are a matcher the limits can
-- stop (core/lua/pattern.c). Tables passed in `extra` are shared with the
-- caller, not copied.
local sandbox = {}

-- --- the string metatable ------------------------------------------------

-- Pattern matching that the watchdog and the sandbox's run-time limit can
-- stop (core/lua/pattern.c; same semantics): LuaJIT's own matcher is one C
-- call that nothing interrupts. Sandboxed code gets these in `string`, and
-- method calls (s:find(...)) reach them through the string metatable.
local PATTERN = require("infrakit._core").pattern

do
  local string_mt = getmetatable("")
  if type(string_mt) == "table" and string_mt.__index == string then
    local index = {}
    for k, v in pairs(string) do
      if k ~= "dump" then index[k] = PATTERN[k] or v end
    end
    setmetatable(index, {
      __index = function(_, k)
        if k ~= "dump" then return PATTERN[k] or string[k] end
      end,
    })
    string_mt.__index = index
  end
end

-- --- building an environment ---------------------------------------------

-- The base functions, captured when this module loads.
local BASE = {}
for _, name in ipairs {
  "assert", "error", "ipairs", "next", "pairs", "pcall", "select", "tonumber",
  "tostring", "type", "unpack", "xpcall", "_VERSION",
} do
  BASE[name] = _G[name]
end

local function copy_lib(lib, without)
  local out = {}
  for k, v in pairs(lib) do
    if not (without and without[k]) then out[k] = v end
  end
  return out
end

-- Real functions kept private (the sandbox cannot reach these upvalues).
local real_getmetatable, real_setmetatable = getmetatable, setmetatable
local raw_getmetatable = debug.getmetatable
local co_create, co_resume, co_yield, co_running, co_status =
  coroutine.create, coroutine.resume, coroutine.yield, coroutine.running, coroutine.status

-- getmetatable/setmetatable that only see and replace metatables this
-- environment set: host metatables (the string metatable, the JSON array
-- metatable on tables passed in) stay out of reach.
local function metatable_functions()
  local mine = real_setmetatable({}, { __mode = "k" })
  local function getmt(v)
    if type(v) ~= "table" then return nil end
    local mt = raw_getmetatable(v)
    if mt == nil or not mine[mt] then return nil end
    return real_getmetatable(v) -- honours __metatable
  end
  local function setmt(t, mt)
    if type(t) ~= "table" then
      error("bad argument #1 to 'setmetatable' (table expected, got " .. type(t) .. ")", 2)
    end
    if mt ~= nil and type(mt) ~= "table" then
      error("bad argument #2 to 'setmetatable' (nil or table expected)", 2)
    end
    local old = raw_getmetatable(t)
    if old ~= nil and not mine[old] then
      error("cannot change a metatable this code did not set", 2)
    end
    real_setmetatable(t, mt)
    if mt ~= nil then mine[mt] = true end
    return t
  end
  return getmt, setmt
end

-- A coroutine library limited to the coroutines this environment made.
local function coroutine_library()
  local mine = real_setmetatable({}, { __mode = "k" })
  local lib = {}
  function lib.create(f)
    if type(f) ~= "function" then
      error("bad argument #1 to 'create' (function expected)", 2)
    end
    local co = co_create(f)
    mine[co] = true
    return co
  end
  function lib.resume(co, ...)
    if type(co) ~= "thread" or not mine[co] then
      error("bad argument #1 to 'resume' (a coroutine created by this code expected)", 2)
    end
    return co_resume(co, ...)
  end
  function lib.status(co)
    if type(co) ~= "thread" or not mine[co] then
      error("bad argument #1 to 'status' (a coroutine created by this code expected)", 2)
    end
    return co_status(co)
  end
  function lib.running()
    local co = co_running()
    if co ~= nil and mine[co] then return co end
    return nil
  end
  function lib.isyieldable()
    local co = co_running()
    return co ~= nil and mine[co] == true
  end
  function lib.yield(...)
    local co = co_running()
    if co == nil or not mine[co] then
      error("attempt to yield from outside a coroutine", 2)
    end
    return co_yield(...)
  end
  local function pass(ok, ...)
    if ok then return ... end
    error((...), 0)
  end
  function lib.wrap(f)
    local co = lib.create(f)
    return function(...) return pass(co_resume(co, ...)) end
  end
  return lib
end

--- A fresh global environment for sandboxed code: the allow-list above
--- plus the entries of extra (copied in as they are; tables in extra are
--- shared with the caller). Each call builds new copies of string, table,
--- math, os, bit and coroutine.
---@param extra table|nil name -> value
---@return table env
function sandbox.env(extra)
  if extra ~= nil and type(extra) ~= "table" then
    error("infrakit._sandbox.env: extra must be a table, got " .. type(extra), 2)
  end
  local env = {}
  for name, value in pairs(BASE) do env[name] = value end
  env.string = copy_lib(string, { dump = true })
  for name, fn in pairs(PATTERN) do env.string[name] = fn end
  env.table = copy_lib(table)
  env.math = copy_lib(math, { randomseed = true })
  if type(bit) == "table" then env.bit = copy_lib(bit) end
  env.os = { time = os.time, date = os.date, clock = os.clock, difftime = os.difftime }
  env.coroutine = coroutine_library()
  env.getmetatable, env.setmetatable = metatable_functions()
  env._G = env
  if extra then
    for k, v in pairs(extra) do env[k] = v end
  end
  return env
end

local core = require "infrakit._core"
local sandbox_enter, sandbox_leave = core.sandbox_enter, core.sandbox_leave
local raw_pcall, rawget, tostring, type = pcall, rawget, tostring, type

-- An error of sandboxed code as a plain value the host can read safely:
-- a string, or a new { msg =, code = } table of strings (the template
-- engine's errors). Runs inside the sandbox's limits: an error object's
-- __index or __tostring is sandboxed code too, and is only reached here,
-- never by the host.
local function plain_error(e)
  local t = type(e)
  if t == "string" then return e end
  if t == "number" or t == "boolean" or t == "nil" then return tostring(e) end
  if t == "table" then
    local msg, code = rawget(e, "msg"), rawget(e, "code")
    if type(msg) == "string" then return { msg = msg, code = type(code) == "string" and code or nil } end
  end
  local ok, s = raw_pcall(tostring, e)
  if ok and type(s) == "string" then return s end
  return "(error object is a " .. t .. " value)"
end

local function settle(ok, ...)
  if ok then return true, ... end
  return false, plain_error((...))
end

--- Calls fn (sandboxed code: a chunk from sandbox.load, or a function such
--- code returned) with the arguments, inside the sandbox's limits: its run
--- time (--sandbox-timeout) and memory (--sandbox-memory), yielding the
--- task to the loop now and then. Returns true, results... or false and a
--- plain error (a string, or a { msg =, code = } table of strings); past a
--- limit the whole call fails with the limit's error (it cannot be caught).
---@param fn function
---@return boolean ok
function sandbox.call(fn, ...)
  sandbox_enter()
  return sandbox_leave(settle(raw_pcall(fn, ...)))
end

local function finish(ok, ...)
  if ok then return ... end
  error((...), 0)
end

--- Compiles code (Lua source text; bytecode is refused) as a function whose
--- globals are env (default: a new sandbox.env()). The returned function
--- runs the chunk under pcall and re-raises its error as an ordinary error
--- (so an out-of-memory inside it is not fatal to the host).
--- Returns the function, or nil, message, "EINVAL".
---@param code string
---@param chunkname string|nil as for load: "=name" or "@file"; default "=sandbox"
---@param env table|nil
---@return function|nil fn
---@return string|nil err
---@return string|nil code
function sandbox.load(code, chunkname, env)
  if type(code) ~= "string" then
    error("infrakit._sandbox.load: code must be a string, got " .. type(code), 2)
  end
  if chunkname ~= nil and type(chunkname) ~= "string" then
    error("infrakit._sandbox.load: chunkname must be a string", 2)
  end
  if env ~= nil and type(env) ~= "table" then
    error("infrakit._sandbox.load: env must be a table, got " .. type(env), 2)
  end
  if code:byte(1) == 27 or code:find("^\239\187\191\27") then
    return nil, "infrakit._sandbox.load: refusing a binary (bytecode) chunk", "EINVAL"
  end
  local chunk, err = load(code, chunkname or "=sandbox", "t", env or sandbox.env())
  if not chunk then return nil, err, "EINVAL" end
  return function(...)
    return finish(sandbox.call(chunk, ...))
  end
end

local function run_results(ok, ...)
  if ok then return ... end
  local e = ...
  return nil, type(e) == "table" and e.msg or e, "ELUA"
end

--- Loads code in a new sandbox.env(extra) and runs it with the arguments.
--- Returns what the code returns; nil, message, "EINVAL" if it does not
--- compile; nil, message, "ELUA" if it raises. May yield if a function in
--- extra yields.
---@param code string
---@param chunkname string|nil
---@param extra table|nil
---@return any ...
function sandbox.run(code, chunkname, extra, ...)
  local fn, err, ecode = sandbox.load(code, chunkname, sandbox.env(extra))
  if not fn then return nil, err, ecode end
  return run_results(sandbox.call(fn, ...))
end

return sandbox
