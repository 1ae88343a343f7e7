-- infrakit.template._funcs.infrakit: InfraKit's template functions
-- (reference §6.1, pkg/template/funcs.go DefaultFuncs).
--
-- Pure: q, jsonEncode, jsonEncodeIndent, jsonDecode, yamlEncode,
--   yamlDecode, lines, index_of/indexOf, iniDecode, escape, unescape,
--   unixtime, loop.
-- Bound to the render (stateful): fetch/raw, source, include, var, echo.
-- fetch, source and include yield when the URL is http(s) or unix.
--
-- Differences from InfraKit: `unescape` undoes `escape` (InfraKit binds it
-- to escape by mistake); `var` of an unset name is nil ("<no value>"), as
-- InfraKit's single-pass rendering gives (there is no multi-pass mode);
-- hclDecode is not provided.
local value = require "infrakit.template._value"
local fmt = require "infrakit.template._fmt"
local args = require "infrakit.template._funcs.args"
local tjson = require "infrakit.json.go"
local yaml = require "infrakit.yaml"
local jmespath = require "infrakit.jmespath"
local sources = require "infrakit.template._sources"
local runtime = require "infrakit.template._runtime"

local null, list = value.null, value.list
local str, select = args.str, select

local F = {}

-- Compiled JMESPath expressions, by text (weak: recompiled after a GC).
local queries = setmetatable({}, { __mode = "v" })

function F.q(expr, obj)
  expr = str(expr)
  local q = queries[expr]
  if not q then
    local err
    q, err = jmespath.compile(expr)
    if not q then error(err, 0) end
    queries[expr] = q
  end
  local r = jmespath.search(q, obj)
  if r == nil then return null end
  return r
end

function F.jsonEncode(o) return tjson.encode(o, "", "  ") end
function F.jsonEncodeIndent(prefix, indent, o) return tjson.encode(o, str(prefix), str(indent)) end

local function text_arg(s)
  if type(s) ~= "string" then error("not-supported-value-type", 0) end
  return s
end

function F.jsonDecode(s) return tjson.decode(text_arg(s)) end

function F.yamlEncode(o) return yaml.encode(o) end

function F.yamlDecode(s)
  local v, err = yaml.decode(text_arg(s))
  if err then error(err, 0) end
  if v == nil then return null end
  return v
end

function F.unixtime()
  local ok, infrakit = pcall(require, "infrakit")
  local now = ok and type(infrakit.now) == "function" and infrakit.now() or os.time()
  return math.floor(now)
end

function F.lines(s)
  return list(require("infrakit.template._funcs.sprig").split(text_arg(s), "\n"))
end

-- index_of X LIST [strict]: the index of X by deep equality, or (unless
-- strict) by equal %v text; -1 if absent or LIST is not a list.
function F.index_of(x, l, strict)
  if not value.is_list(l) then return -1 end
  local xs = fmt.value(x)
  for i, v in ipairs(l) do
    if value.equal(x, v) then return i - 1 end
    if not strict and fmt.value(v) == xs then return i - 1 end
  end
  return -1
end
F.indexOf = F.index_of

-- INI (vaughan0/go-ini): "[section]" lines, "key = value" lines, ";" and
-- "#" comments; keys before any section go in the section "".
function F.iniDecode(s)
  s = str(s)
  local out, section, n = {}, "", 0
  for line in (s .. "\n"):gmatch("([^\n]*)\n") do
    n = n + 1
    line = line:match("^%s*(.-)%s*$")
    local c = line:sub(1, 1)
    if line ~= "" and c ~= ";" and c ~= "#" then
      local k, v = line:match("^([^=]+)=(.*)$")
      if k then
        out[section] = out[section] or {}
        out[section][k:match("^%s*(.-)%s*$")] = v:match("^%s*(.-)%s*$")
      else
        local name = line:match("^%[(.*)%]$")
        if not name then error(("invalid INI syntax on line %d: %s"):format(n, line), 0) end
        section = name:match("^%s*(.-)%s*$")
        out[section] = out[section] or {}
      end
    end
  end
  return out
end

-- escape keeps {{ and }} from being read as actions by a later pass;
-- unescape undoes it.
function F.escape(s) return (str(s):gsub("{{", "\\{\\{"):gsub("}}", "\\}\\}")) end
function F.unescape(s) return (str(s):gsub("\\{\\{", "{{"):gsub("\\}\\}", "}}")) end

-- loop N: N empty items to range over (Go's make([]struct{}, N)).
local Empty = setmetatable({}, {
  __template_kind = "struct {}", __tostring = function() return "{}" end,
  __template_json = function() return "{}" end, __newindex = function() error("loop items are read-only", 2) end,
})

function F.loop(n)
  n = args.int(n, "loop")
  local out = {}
  for i = 1, n do out[i] = Empty end
  return list(out)
end

-- Stateful functions: factories taking the render state S ---------------------

-- InfraKit's headersAndContext: string arguments "k=v" are HTTP headers,
-- the other argument is the context.
local function headers_and_context(...)
  local headers, ctx, has_ctx
  for i = 1, select("#", ...) do
    local v = select(i, ...)
    local eq = type(v) == "string" and v:find("=", 1, true)
    if eq and eq > 1 then
      headers = headers or {}
      headers[v:sub(1, eq - 1)] = v:sub(eq + 1)
    else
      ctx, has_ctx = v, true
    end
  end
  return headers, ctx, has_ctx
end

local S = {}

function S.fetch(st)
  return function(url, ...)
    local headers = headers_and_context(...)
    local abs = sources.resolve(st.url, str(url))
    local text, err, code = sources.fetch_cached(st.shared.cache, abs, headers)
    if not text then runtime.raise(err, code) end
    return text
  end
end
S.raw = S.fetch

function S.source(st)
  return function(url, ...)
    local headers, ctx, has_ctx = headers_and_context(...)
    if not has_ctx or ctx == nil then ctx = st.ctx end
    return st.render_ref(st, str(url), ctx, "source", headers)
  end
end

function S.include(st)
  return function(url, ...)
    local headers, ctx, has_ctx = headers_and_context(...)
    if not has_ctx or ctx == nil then ctx = value.deep_copy(st.ctx) end
    return st.render_ref(st, str(url), ctx, "include", headers)
  end
end

function S.var(st)
  return function(name, ...)
    name = str(name)
    local n = select("#", ...)
    if n == 0 then return st.vars[name] end
    local v = select(n, ...)
    if v == nil then v = null end
    st.vars[name] = v
    return ""
  end
end

function S.echo(st)
  return function(...)
    st.shared.stderr(fmt.sprintln(...))
    return ""
  end
end

return { funcs = F, stateful = S }
