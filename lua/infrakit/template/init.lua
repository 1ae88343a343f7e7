-- infrakit.template: InfraKit's template dialect (Go text/template syntax,
-- InfraKit's and the common Sprig functions), parsed once and compiled to
-- Lua functions. See docs/lua-api.md, section infrakit.template.
--
--   local template = require "infrakit.template"
--   local t, err, code = template.parse(text, { name =, url =, delims =, missing_key = })
--   local out, err, code = t:render(context, { vars =, funcs = })       -- may yield
--   local out, err, code = template.render(text, context, opts)        -- parse + render
--   local out, err, code = template.render_url(url, context, opts)     -- fetch (yields) + parse + render
--   local t, err, code = template.load_url(url, opts)                  -- fetch (yields) + parse
--   local text, err, code = template.builtin("templates/swarm/manager.sh.tmpl") -- shipped in the binary
--
-- Failures return nil, message, code: "EINVAL" for template errors (the
-- message names the template, line and column), the file or HTTP code
-- when a fetch fails. Misuse (arguments of the wrong type) raises.
local lexer = require "infrakit.template._lexer"
local parser = require "infrakit.template._parser"
local compiler = require "infrakit.template._compiler"
local runtime = require "infrakit.template._runtime"
local sources = require "infrakit.template.sources"
local value = require "infrakit.template._value"
local access = require "infrakit.template.access"
local core = require "infrakit.core"

local template = {}

local Template = {}
Template.__index = Template

-- The functions every template sees, in InfraKit's override order: Go's
-- builtins, then Sprig, then InfraKit's own. Functions that need the
-- render (include, var, ...) are factories taking the render state.
local static_funcs, stateful_funcs = {}, {}
do
  for _, mod in ipairs { "builtin", "sprig", "infrakit" } do
    local m = require("infrakit.template._funcs." .. mod)
    for name, f in pairs(m.funcs) do static_funcs[name] = f end
    for name, f in pairs(m.stateful or {}) do
      static_funcs[name] = nil
      stateful_funcs[name] = f
    end
  end
end

--- The names of all built-in template functions, sorted.
---@return string[]
function template.function_names()
  local names = {}
  for name in pairs(static_funcs) do names[#names + 1] = name end
  for name in pairs(stateful_funcs) do names[#names + 1] = name end
  table.sort(names)
  return names
end

-- Line and column (1-based, in bytes) of byte offset p of text.
local function line_col(text, p)
  local line, last = 1, 0
  local i = text:find("\n", 1, true)
  while i and i < p do
    line, last = line + 1, i
    i = text:find("\n", i + 1, true)
  end
  return line, p - last
end

local function located(tpl, p, msg)
  local line, col = line_col(tpl.text, p or 1)
  return ("template %s:%d:%d: %s"):format(tpl.name, line, col, msg)
end

-- The name of a template given as text with no name or URL.
local function default_name(text)
  local first = text:match("^[^\n]*")
  if #first > 40 or #first < #text then first = first:sub(1, 40) .. "..." end
  return "str://" .. first
end

-- The environment of generated code: it uses no globals, so any access is
-- a bug in the compiler, reported as one.
local NO_GLOBALS = setmetatable({}, {
  __index = function(_, k)
    error("infrakit.template: internal error: generated code read global " .. tostring(k), 2)
  end,
  __newindex = function(_, k)
    error("infrakit.template: internal error: generated code set global " .. tostring(k), 2)
  end,
})

local MISSING_KEY = { default = true, invalid = true, zero = true, error = true }

local function check_parse_opts(opts, fname)
  if opts == nil then return {} end
  if type(opts) ~= "table" then error(fname .. ": opts must be a table, got " .. type(opts), 3) end
  for _, k in ipairs { "name", "url" } do
    if opts[k] ~= nil and type(opts[k]) ~= "string" then error(("%s: opts.%s must be a string"):format(fname, k), 3) end
  end
  local d = opts.delims
  if d ~= nil and (type(d) ~= "table" or type(d[1]) ~= "string" or type(d[2]) ~= "string"
      or d[1] == "" or d[2] == "") then
    error(fname .. ": opts.delims must be { left, right }, two non-empty strings", 3)
  end
  if opts.missing_key ~= nil and not MISSING_KEY[opts.missing_key] then
    error(fname .. ': opts.missing_key must be "default" or "error"', 3)
  end
  return opts
end

local function parse(text, opts)
  local name = opts.name or opts.url or default_name(text)
  local tpl = setmetatable({
    name = name, url = opts.url, text = text, delims = opts.delims, missing_key = opts.missing_key,
  }, Template)
  local ld, rd = nil, nil
  if opts.delims then ld, rd = opts.delims[1], opts.delims[2] end
  local toks, msg, off = lexer.lex(text, ld, rd)
  if not toks then return nil, located(tpl, off, msg), "EINVAL" end
  local tree
  tree, msg, off = parser.parse(toks, name)
  if not tree then return nil, located(tpl, off, msg), "EINVAL" end
  local ok, src, positions, used = pcall(compiler.compile, tree, { strict = opts.missing_key == "error" })
  if not ok then
    if type(src) == "table" and src.parse then return nil, located(tpl, src.pos, src.msg), "EINVAL" end
    error(src, 0)
  end
  local chunk, lerr = loadstring(src, "=template " .. name)
  if not chunk then return nil, ("template %s: cannot compile: %s"):format(name, lerr), "EINVAL" end
  setfenv(chunk, NO_GLOBALS)
  -- the functions it calls, once each, with the place of the first call
  local seen, funcs_used = {}, {}
  for _, u in ipairs(used) do
    if not seen[u.name] then
      seen[u.name] = true
      funcs_used[#funcs_used + 1] = u
    end
  end
  tpl.fns, tpl.positions, tpl.used, tpl.source = chunk(runtime), positions, funcs_used, src
  tpl.main = name
  return tpl
end

--- Parses template text. opts: name (used in messages; default the URL,
--- else "str://" and the first line), url (the base for relative include,
--- source and fetch), delims ({ "{{", "}}" }), missing_key ("default":
--- a missing map key renders "<no value>"; "error": it is an error).
--- Returns the template, or nil, message, "EINVAL" on a syntax error.
---@param text string
---@param opts table|nil
---@return table|nil template, string? message, string? code
function template.parse(text, opts)
  if type(text) ~= "string" then error("infrakit.template.parse: text must be a string, got " .. type(text), 2) end
  return parse(text, check_parse_opts(opts, "infrakit.template.parse"))
end

-- Render state and function table -------------------------------------------

local function check_render_opts(opts, fname)
  if opts == nil then return {} end
  if type(opts) ~= "table" then error(fname .. ": opts must be a table, got " .. type(opts), 3) end
  if opts.vars ~= nil and type(opts.vars) ~= "table" then error(fname .. ": opts.vars must be a table", 3) end
  if opts.funcs ~= nil then
    if type(opts.funcs) ~= "table" then error(fname .. ": opts.funcs must be a table", 3) end
    for k, f in pairs(opts.funcs) do
      if type(k) ~= "string" or type(f) ~= "function" then
        error(("%s: opts.funcs.%s must be a function"):format(fname, tostring(k)), 3)
      end
    end
  end
  if opts.base ~= nil and type(opts.base) ~= "string" then error(fname .. ": opts.base must be a string", 3) end
  if opts.stderr ~= nil and type(opts.stderr) ~= "function" then
    error(fname .. ": opts.stderr must be a function", 3)
  end
  if opts.access ~= nil and opts.access ~= false and (type(opts.access) ~= "table" or not opts.access.policy) then
    error(fname .. ": opts.access must be a policy from infrakit.template.access.new, or false", 3)
  end
  return opts
end

local function copy(t)
  local c = {}
  for k, v in pairs(t or {}) do c[k] = v end
  return c
end

local function make_funcs(S)
  local user = S.shared.user
  return setmetatable({}, {
    __index = function(F, name)
      local f = user and user[name]
      if f == nil then
        local factory = stateful_funcs[name]
        if factory then f = factory(S) else f = static_funcs[name] end
      end
      if f ~= nil then rawset(F, name, f) end
      return f
    end,
  })
end

local render_ref

-- A render state: tpl about to run with data ctx. mode: nil (a top-level
-- render), "include" (globals forked from parent) or "source" (shared).
local function new_state(tpl, ctx, opts, parent, mode)
  local shared, vars
  if parent then
    shared = parent.shared
    vars = mode == "source" and parent.vars or copy(parent.vars)
  else
    shared = {
      cache = opts.cache or sources.new_cache(access.resolve(opts.access)), user = opts.funcs, nesting = 0,
      stderr = opts.stderr or function(s) io.stderr:write(s) end,
    }
    vars = copy(opts.vars)
  end
  local S = { tmpls = tpl.fns, tpl = tpl, pos = 0, depth = 0, vars = vars, shared = shared, ctx = ctx, url = tpl.url }
  S.F = make_funcs(S)
  S.render_ref = render_ref
  return S
end

-- Runs tpl in state S. Returns the text or nil, message, code.
local function execute(tpl, S, ctx)
  if tpl.lua then return tpl:run(S, ctx) end
  local F = S.F
  for _, u in ipairs(tpl.used) do
    if F[u.name] == nil then return nil, located(tpl, u.p, ("function %q not defined"):format(u.name)), "EINVAL" end
  end
  local ok, out = pcall(tpl.fns[tpl.main], S, ctx)
  if ok then return out end
  local e = out
  if type(e) == "table" and type(e.msg) == "string" then -- ours, or { msg =, code = } from a function
    local code = type(e.code) == "string" and e.code or "EINVAL"
    if runtime.is_error(e) and e.at then return nil, located(tpl, tpl.positions[e.at].p, e.msg), code end
    local pos = tpl.positions[S.pos] or { p = 1, name = "?" }
    return nil, located(tpl, pos.p, ("error calling %s: %s"):format(pos.name, e.msg)), code
  end
  local pos = tpl.positions[S.pos] or { p = 1, name = "?" }
  return nil, located(tpl, pos.p, ("error calling %s: %s"):format(pos.name, tostring(e))), "EINVAL"
end

--- Renders the template with context (any value; JSON-shaped tables,
--- json.null for null). opts: vars (initial values of `var`), funcs
--- (functions added to or overriding the built-in ones). May yield (when
--- the template fetches over HTTP). Returns the text, or nil, message,
--- code.
---@param context any
---@param opts table|nil
---@return string|nil text, string? message, string? code
function Template:render(context, opts)
  if getmetatable(self) ~= Template then error("infrakit.template: call render as t:render(context, opts)", 2) end
  opts = check_render_opts(opts, "infrakit.template.render")
  return execute(self, new_state(self, context, opts), context)
end

--- Parses and renders text; opts as for parse and render together.
---@param text string
---@param context any
---@param opts table|nil
---@return string|nil text, string? message, string? code
function template.render(text, context, opts)
  if type(text) ~= "string" then error("infrakit.template.render: text must be a string, got " .. type(text), 2) end
  local popts = check_parse_opts(opts, "infrakit.template.render")
  opts = check_render_opts(opts, "infrakit.template.render")
  local tpl, err, code = parse(text, popts)
  if not tpl then return nil, err, code end
  return execute(tpl, new_state(tpl, context, opts), context)
end

-- Plain Lua templates ---------------------------------------------------------

local LuaTemplate = {}
LuaTemplate.__index = LuaTemplate

-- A URL whose path ends in .lua is a Lua chunk returning
-- function(context, funcs) -> string, run in the sandbox.
local function is_lua_url(url)
  if url:sub(1, 6) == "str://" then return false end
  local _, _, path = sources.split(url)
  return (path or url):find("%.lua$") ~= nil
end

local function load_lua(text, url)
  local sandbox = require "infrakit.sandbox"
  local chunk, err = sandbox.load(text, "=" .. url)
  if not chunk then return nil, ("template %s: %s"):format(url, err), "EINVAL" end
  local ok, fn = pcall(chunk) -- errors come out of the sandbox as plain values
  if not ok then
    return nil, ("template %s: %s"):format(url, type(fn) == "table" and fn.msg or tostring(fn)), "EINVAL"
  end
  if type(fn) ~= "function" then
    return nil, ("template %s: a Lua template must return a function(context, funcs), got %s")
      :format(url, type(fn)), "EINVAL"
  end
  return setmetatable({ lua = true, name = url, url = url, fn = fn }, LuaTemplate)
end

-- self.fn is sandboxed code: sandbox.call runs it within the sandbox's
-- limits and hands back its error as a plain string or { msg =, code = }
-- of strings, so nothing here reaches into an object the template made.
function LuaTemplate:run(S, ctx)
  local ok, out = require("infrakit.sandbox").call(self.fn, ctx, S.F)
  if not ok then
    if type(out) == "table" and type(out.msg) == "string" then
      return nil, ("template %s: %s"):format(self.name, out.msg), type(out.code) == "string" and out.code or "EINVAL"
    end
    return nil, ("template %s: %s"):format(self.name, tostring(out)), "EINVAL"
  end
  if type(out) ~= "string" then
    return nil, ("template %s: returned a %s, not a string"):format(self.name, type(out)), "EINVAL"
  end
  return out
end

function LuaTemplate:render(context, opts)
  opts = check_render_opts(opts, "infrakit.template.render")
  return self:run(new_state({ url = self.url }, context, opts), context)
end

-- Loading by URL ---------------------------------------------------------------

-- Fetches (yields) and parses the template at absolute url, through the
-- render's cache. popts: delims, missing_key, headers.
local function load_url(url, cache, popts)
  local key = url .. "\0" .. (popts.delims and (popts.delims[1] .. "\0" .. popts.delims[2]) or "")
    .. "\0" .. (popts.missing_key or "")
  local tpl = cache.parsed[key]
  if tpl then return tpl end
  local text, err, code = sources.fetch_cached(cache, url, popts.headers)
  if not text then return nil, err, code end
  if is_lua_url(url) then
    tpl, err, code = load_lua(text, url)
  else
    local purl = url:sub(1, 6) ~= "str://" and url or nil
    tpl, err, code = parse(text, {
      url = purl, name = purl or default_name(text), delims = popts.delims, missing_key = popts.missing_key,
    })
  end
  if not tpl then return nil, err, code end
  cache.parsed[key] = tpl
  return tpl
end

local MAX_NESTING = 100

--- Renders the template at ref (relative to the template of S) with data
--- ctx, in a child state: "include" forks the globals, "source" shares
--- them. Used by include/source/template; raises template errors.
function render_ref(S, ref, ctx, mode, headers)
  local url = sources.resolve(S.url, ref)
  local parent = S.tpl
  local child, err, code = load_url(url, S.shared.cache, {
    delims = parent.delims, missing_key = parent.missing_key, headers = headers,
  })
  if not child then runtime.raise(err, code) end
  local shared = S.shared
  if shared.nesting >= MAX_NESTING then
    runtime.raise(("templates nested more than %d deep (does %s include itself?)"):format(MAX_NESTING, url))
  end
  shared.nesting = shared.nesting + 1
  local out
  out, err, code = execute(child, new_state(child, ctx, nil, S, mode), ctx)
  shared.nesting = shared.nesting - 1
  if not out then runtime.raise(err, code) end
  return out
end

--- Fetches the template at url (resolved against opts.base, else the
--- current directory; yields for http), parses it and renders it. A URL
--- ending in .lua is a Lua template. opts as for render, plus base.
---@param url string
---@param context any
---@param opts table|nil
---@return string|nil text, string? message, string? code
function template.render_url(url, context, opts)
  if type(url) ~= "string" then error("infrakit.template.render_url: url must be a string, got " .. type(url), 2) end
  local popts = check_parse_opts(opts, "infrakit.template.render_url")
  opts = check_render_opts(opts, "infrakit.template.render_url")
  local abs = sources.resolve(opts.base, url)
  local cache = sources.new_cache(access.resolve(opts.access))
  local tpl, err, code = load_url(abs, cache, { delims = popts.delims, missing_key = popts.missing_key })
  if not tpl then return nil, err, code end
  local ropts = copy(opts)
  ropts.cache = cache
  return execute(tpl, new_state(tpl, context, ropts), context)
end

--- Fetches and parses the template at url (resolved against opts.base,
--- else the current directory; yields for http) without rendering it, to
--- check it or to render it later with t:render. opts: base, delims,
--- missing_key, access. Returns the template, or nil, message, code.
---@param url string
---@param opts table|nil
---@return table|nil template, string? message, string? code
function template.load_url(url, opts)
  if type(url) ~= "string" then error("infrakit.template.load_url: url must be a string, got " .. type(url), 2) end
  local popts = check_parse_opts(opts, "infrakit.template.load_url")
  opts = check_render_opts(opts, "infrakit.template.load_url")
  local cache = sources.new_cache(access.resolve(opts.access))
  return load_url(sources.resolve(opts.base, url), cache, { delims = popts.delims, missing_key = popts.missing_key })
end

--- The text of a template built into the binary from the source tree's
--- templates/ directory ("templates/swarm/manager.sh.tmpl"), or nil,
--- message, "ENOENT".
---@param name string
---@return string|nil text, string? message, string? code
function template.builtin(name)
  if type(name) ~= "string" then error("infrakit.template.builtin: name must be a string, got " .. type(name), 2) end
  local chunk = name:sub(1, 10) == "templates/" and core.embedded(name) or nil
  if not chunk then return nil, name .. ": no such template built into this binary", "ENOENT" end
  return chunk()
end

template.access = access
template.null = value.null
template.list = value.list

return template
