-- infrakit.template._funcs.sprig: the Sprig (v2) functions InfraKit
-- templates use, with Sprig's argument order and results.
--
-- Strings: cat split splitList join trim trimAll trimPrefix trimSuffix
--   upper lower title untitle replace repeat contains hasPrefix hasSuffix
--   quote squote indent nindent nospace trunc substr abbrev
-- Defaults and logic: default empty coalesce ternary
-- Lists and maps: list first last rest initial uniq compact without has
--   append push prepend reverse sortAlpha until untilStep seq dict keys
--   values hasKey pluck set unset get merge
-- Numbers: add add1 sub mul div mod max min int int64 float64 atoi
-- Conversion and encoding: toString toStrings toJson toPrettyJson b64enc
--   b64dec sha256sum typeOf kindOf
-- Environment and time: env expandenv now date htmlDate dateInZone
-- Not provided: regex functions (they need RE2; Lua patterns differ),
-- crypto beyond sha256sum, semver, uuid and random functions.
local value = require "infrakit.template._value"
local fmt = require "infrakit.template._fmt"
local args = require "infrakit.template._funcs.args"
local tjson = require "infrakit.json.go"
local codec = require "infrakit._codec"
local timefmt = require "infrakit.template._timefmt"

local null, list, truth = value.null, value.list, value.truth
local str, strval, toint = args.str, args.strval, args.toint
local select, concat = select, table.concat

local F = {}

-- Plain find / replace helpers ---------------------------------------------

local function plain_find(s, sub, init) return s:find(sub, init or 1, true) end

-- strings.Split(s, sep): sep "" splits into UTF-8 characters.
local function split(s, sep)
  local out = {}
  if sep == "" then
    for ch in s:gmatch("[%z\1-\127\194-\244][\128-\191]*") do out[#out + 1] = ch end
    return out
  end
  local i = 1
  while true do
    local a, b = plain_find(s, sep, i)
    if not a then
      out[#out + 1] = s:sub(i)
      return out
    end
    out[#out + 1] = s:sub(i, a - 1)
    i = b + 1
  end
end

local function replace_all(s, old, new)
  if old == "" then
    local parts = split(s, "")
    return new .. concat(parts, new) .. (#parts > 0 and new or "")
  end
  return concat(split(s, old), new)
end

-- Sprig's strslice: a list's elements as strings (nil skipped), or the
-- value itself as one string.
local function strslice(v)
  if value.is_list(v) then
    local out = {}
    for _, x in ipairs(v) do
      if x ~= null then out[#out + 1] = strval(x) end
    end
    return out
  end
  if v == nil or v == null then return {} end
  return { strval(v) }
end

-- Strings --------------------------------------------------------------------

function F.cat(...)
  local out = {}
  for i = 1, select("#", ...) do
    local v = select(i, ...)
    if v ~= nil and v ~= null then out[#out + 1] = fmt.value(v) end
  end
  return concat(out, " ")
end

function F.split(sep, s)
  local parts = split(str(s), str(sep))
  local out = {}
  for i, p in ipairs(parts) do out["_" .. (i - 1)] = p end
  return out
end

function F.splitList(sep, s) return list(split(str(s), str(sep))) end

function F.join(sep, v) return concat(strslice(v), str(sep)) end

function F.trim(s) return (str(s):gsub("^%s+", ""):gsub("%s+$", "")) end

local function cutset_class(cutset)
  return "[" .. cutset:gsub("[%]%[%^%-%%]", "%%%0") .. "]"
end

function F.trimAll(cutset, s)
  cutset, s = str(cutset), str(s)
  if cutset == "" then return s end
  local cls = cutset_class(cutset)
  return (s:gsub("^" .. cls .. "+", ""):gsub(cls .. "+$", ""))
end

function F.trimPrefix(prefix, s)
  prefix, s = str(prefix), str(s)
  if s:sub(1, #prefix) == prefix then return s:sub(#prefix + 1) end
  return s
end

function F.trimSuffix(suffix, s)
  suffix, s = str(suffix), str(s)
  if suffix ~= "" and s:sub(-#suffix) == suffix then return s:sub(1, #s - #suffix) end
  return s
end

function F.upper(s) return str(s):upper() end
function F.lower(s) return str(s):lower() end

-- strings.Title: the first letter of each word upper-cased (letters,
-- digits and _ make up words).
function F.title(s) return (str(s):gsub("%f[%w_]%a", string.upper)) end

function F.untitle(s) return (str(s):gsub("%f[%w_]%a", string.lower)) end

function F.replace(old, new, src) return replace_all(str(src), str(old), str(new)) end

F["repeat"] = function(count, s)
  count = args.int(count, "repeat")
  if count < 0 then error("strings: negative Repeat count", 0) end
  return string.rep(str(s), count)
end

function F.contains(substr, s) return plain_find(str(s), str(substr)) ~= nil end
function F.hasPrefix(prefix, s)
  prefix = str(prefix)
  return str(s):sub(1, #prefix) == prefix
end
function F.hasSuffix(suffix, s)
  suffix, s = str(suffix), str(s)
  return suffix == "" or s:sub(-#suffix) == suffix
end

function F.quote(...)
  local out = {}
  for i = 1, select("#", ...) do
    local v = select(i, ...)
    if v ~= nil and v ~= null then out[#out + 1] = fmt.quote(strval(v)) end
  end
  return concat(out, " ")
end

function F.squote(...)
  local out = {}
  for i = 1, select("#", ...) do
    local v = select(i, ...)
    if v ~= nil and v ~= null then out[#out + 1] = "'" .. strval(v) .. "'" end
  end
  return concat(out, " ")
end

function F.indent(spaces, s)
  local pad = string.rep(" ", args.int(spaces, "indent"))
  return pad .. replace_all(str(s), "\n", "\n" .. pad)
end

function F.nindent(spaces, s) return "\n" .. F.indent(spaces, s) end

function F.nospace(s) return (str(s):gsub("%s+", "")) end

function F.trunc(n, s)
  n, s = args.int(n, "trunc"), str(s)
  if n < 0 then
    if #s + n < 0 then return s end
    return s:sub(#s + n + 1)
  end
  return s:sub(1, n)
end

function F.substr(start, stop, s)
  start, stop, s = args.int(start, "substr"), args.int(stop, "substr"), str(s)
  if start < 0 then return s:sub(1, stop) end
  if stop < 0 or stop > #s then return s:sub(start + 1) end
  return s:sub(start + 1, stop)
end

function F.abbrev(width, s)
  width, s = args.int(width, "abbrev"), str(s)
  if width < 4 or #s <= width then return s end
  return s:sub(1, width - 3) .. "..."
end

-- Defaults and logic ------------------------------------------------------------

function F.empty(v) return not truth(v) end

function F.default(d, ...)
  if select("#", ...) == 0 then return d end
  local given = (...)
  if not truth(given) then return d end
  return given
end

function F.coalesce(...)
  for i = 1, select("#", ...) do
    local v = select(i, ...)
    if truth(v) then return v end
  end
  return nil
end

function F.ternary(vt, vf, cond)
  if truth(cond) then return vt end
  return vf
end

-- Lists -----------------------------------------------------------------------

function F.list(...)
  local out = {}
  for i = 1, select("#", ...) do
    local v = select(i, ...)
    if v == nil then v = null end
    out[i] = v
  end
  return list(out)
end
F.tuple = F.list

function F.first(l)
  l = args.list(l, "first")
  return l[1]
end

function F.last(l)
  l = args.list(l, "last")
  return l[#l]
end

local function sub_list(l, from, to)
  local out = {}
  for i = from, to do out[#out + 1] = l[i] end
  return list(out)
end

function F.rest(l)
  l = args.list(l, "rest")
  return sub_list(l, 2, #l)
end

function F.initial(l)
  l = args.list(l, "initial")
  return sub_list(l, 1, #l - 1)
end

function F.uniq(l)
  l = args.list(l, "uniq")
  local out = {}
  for _, v in ipairs(l) do
    local dup = false
    for _, u in ipairs(out) do
      if value.equal(u, v) then
        dup = true
        break
      end
    end
    if not dup then out[#out + 1] = v end
  end
  return list(out)
end

function F.compact(l)
  local out = {}
  for _, v in ipairs(args.list(l, "compact")) do
    if truth(v) then out[#out + 1] = v end
  end
  return list(out)
end

function F.without(l, ...)
  local out = {}
  local n = select("#", ...)
  for _, v in ipairs(args.list(l, "without")) do
    local drop = false
    for i = 1, n do
      if value.equal(v, (select(i, ...))) then drop = true end
    end
    if not drop then out[#out + 1] = v end
  end
  return list(out)
end

function F.has(needle, l)
  for _, v in ipairs(args.list(l, "has")) do
    if value.equal(v, needle) then return true end
  end
  return false
end

function F.append(l, v)
  l = args.list(l, "append")
  local out = sub_list(l, 1, #l)
  out[#out + 1] = v == nil and null or v
  return out
end
F.push = F.append

function F.prepend(l, v)
  l = args.list(l, "prepend")
  local out = list({ v == nil and null or v })
  for _, x in ipairs(l) do out[#out + 1] = x end
  return out
end

function F.reverse(l)
  l = args.list(l, "reverse")
  local out = {}
  for i = #l, 1, -1 do out[#out + 1] = l[i] end
  return list(out)
end

function F.sortAlpha(l)
  local out = strslice(l)
  table.sort(out)
  return list(out)
end

function F.untilStep(start, stop, step)
  start, stop, step = args.int(start, "untilStep"), args.int(stop, "untilStep"), args.int(step, "untilStep")
  local out = {}
  if step == 0 or (step > 0 and start >= stop) or (step < 0 and start <= stop) then return list(out) end
  local i = start
  while (step > 0 and i < stop) or (step < 0 and i > stop) do
    out[#out + 1] = i
    i = i + step
  end
  return list(out)
end

F["until"] = function(n)
  n = args.int(n, "until")
  return F.untilStep(0, n, n < 0 and -1 or 1)
end

-- seq as the shell's: seq LAST, seq FIRST LAST, seq FIRST STEP LAST; a
-- string of numbers separated by spaces.
function F.seq(...)
  local n = select("#", ...)
  local a = {}
  for i = 1, n do a[i] = args.int((select(i, ...)), "seq") end
  local first, step, last = 1, 1, nil
  if n == 1 then
    last = a[1]
  elseif n == 2 then
    first, last = a[1], a[2]
    step = first <= last and 1 or -1
  elseif n == 3 then
    first, step, last = a[1], a[2], a[3]
  else
    error("seq: expected 1 to 3 arguments", 0)
  end
  local out = {}
  if step == 0 then return "" end
  local i = first
  while (step > 0 and i <= last) or (step < 0 and i >= last) do
    out[#out + 1] = tostring(i)
    i = i + step
  end
  return concat(out, " ")
end

-- Maps ------------------------------------------------------------------------

function F.dict(...)
  local d, n = {}, select("#", ...)
  for i = 1, n, 2 do
    local k = strval((select(i, ...)))
    local v = ""
    if i + 1 <= n then
      v = select(i + 1, ...)
      if v == nil then v = null end
    end
    d[k] = v
  end
  return d
end

function F.keys(...)
  local out = {}
  for i = 1, select("#", ...) do
    local d = select(i, ...)
    for _, k in ipairs(value.sorted_keys(args.map(d, "keys"))) do out[#out + 1] = k end
  end
  return list(out)
end

function F.values(d)
  local out = {}
  d = args.map(d, "values")
  for _, k in ipairs(value.sorted_keys(d)) do out[#out + 1] = d[k] end
  return list(out)
end

function F.hasKey(d, k) return args.map(d, "hasKey")[str(k)] ~= nil end

function F.pluck(name, ...)
  name = str(name)
  local out = {}
  for i = 1, select("#", ...) do
    local d = select(i, ...)
    local v = type(d) == "table" and d[name] or nil
    if v ~= nil then out[#out + 1] = v end
  end
  return list(out)
end

function F.set(d, k, v)
  args.map(d, "set")[str(k)] = v == nil and null or v
  return d
end

function F.unset(d, k)
  args.map(d, "unset")[str(k)] = nil
  return d
end

function F.get(d, k)
  local v = args.map(d, "get")[str(k)]
  if v == nil then return "" end
  return v
end

-- merge dst src...: keys of each src missing in dst are copied (deeply).
local function merge_into(dst, src)
  for k, v in pairs(src) do
    if dst[k] == nil then
      dst[k] = v
    elseif value.is_map(dst[k]) and value.is_map(v) then
      merge_into(dst[k], v)
    end
  end
end

function F.merge(dst, ...)
  dst = args.map(dst, "merge")
  for i = 1, select("#", ...) do merge_into(dst, args.map((select(i, ...)), "merge")) end
  return dst
end

-- Numbers (Sprig works in int64: results are integers) --------------------------

function F.add(...)
  local sum = 0
  for i = 1, select("#", ...) do sum = sum + toint((select(i, ...))) end
  return sum
end

function F.add1(v) return toint(v) + 1 end
function F.sub(a, b) return toint(a) - toint(b) end

function F.mul(a, ...)
  local p = toint(a)
  for i = 1, select("#", ...) do p = p * toint((select(i, ...))) end
  return p
end

local function trunc_div(a, b)
  local q = a / b
  return q >= 0 and math.floor(q) or math.ceil(q)
end

function F.div(a, b)
  a, b = toint(a), toint(b)
  if b == 0 then error("runtime error: integer divide by zero", 0) end
  return trunc_div(a, b)
end

function F.mod(a, b)
  a, b = toint(a), toint(b)
  if b == 0 then error("runtime error: integer divide by zero", 0) end
  return a - trunc_div(a, b) * b
end

function F.max(a, ...)
  local m = toint(a)
  for i = 1, select("#", ...) do m = math.max(m, toint((select(i, ...)))) end
  return m
end

function F.min(a, ...)
  local m = toint(a)
  for i = 1, select("#", ...) do m = math.min(m, toint((select(i, ...)))) end
  return m
end

F.int = toint
F.int64 = toint
F.float64 = args.tofloat
function F.atoi(s) return toint(str(s)) end

-- Conversion and encoding --------------------------------------------------------

F.toString = strval

function F.toStrings(l) return list(strslice(l)) end

function F.toJson(v)
  local ok, out = pcall(tjson.encode, v)
  return ok and out or ""
end

function F.toPrettyJson(v)
  local ok, out = pcall(tjson.encode, v, "", "  ")
  return ok and out or ""
end

function F.b64enc(s) return codec.b64encode(str(s)) end

function F.b64dec(s)
  local out, err = codec.b64decode(str(s))
  return out or err
end

function F.sha256sum(s) return codec.sha256_hex(str(s)) end

function F.typeOf(v) return value.type_name(v) end

function F.kindOf(v)
  local t = type(v)
  if t == "number" then return "float64" end
  if t == "boolean" then return "bool" end
  if t == "string" then return "string" end
  if t == "table" then
    if timefmt.is_time(v) then return "struct" end
    return value.is_map(v) and next(v) ~= nil and "map" or (value.is_list(v) and "slice" or "map")
  end
  return "invalid"
end

-- Environment and time -----------------------------------------------------------

-- env and expandenv read only the variables the render's access policy
-- allows (infrakit.template.access); they are bound to the render.
local access = require "infrakit.template.access"
local S = {}

local function getenv(st, fname, name)
  local ok, why = access.env_allowed(st.shared.cache.access, fname, name)
  if not ok then error({ msg = why, code = "EACCES" }, 0) end
  return os.getenv(name) or ""
end

function S.env(st)
  return function(name) return getenv(st, "env", str(name)) end
end

function S.expandenv(st)
  return function(s)
    return (str(s):gsub("%$(%b{})", function(n) return getenv(st, "expandenv", n:sub(2, -2)) end)
      :gsub("%$([%a_][%w_]*)", function(n) return getenv(st, "expandenv", n) end))
  end
end

local function clock()
  local ok, infrakit = pcall(require, "infrakit")
  if ok and type(infrakit.now) == "function" then return infrakit.now() end
  return os.time()
end

function F.now() return timefmt.new(clock()) end

-- A time argument: a time value or seconds since the epoch.
local function time_arg(t)
  if timefmt.is_time(t) then return t end
  if type(t) == "number" then return timefmt.new(t) end
  if t == nil or t == null then return timefmt.new(clock()) end
  error(("date: expected a time, got %s"):format(value.type_name(t)), 0)
end

function F.date(layout, t) return timefmt.format(time_arg(t), str(layout)) end
function F.htmlDate(t) return timefmt.format(time_arg(t), "2006-01-02") end

function F.dateInZone(layout, t, zone)
  zone = str(zone)
  if zone ~= "UTC" and zone ~= "" then error(("dateInZone: only UTC is supported, got %q"):format(zone), 0) end
  t = time_arg(t)
  return timefmt.format(timefmt.new(t.sec, true), str(layout))
end

return { funcs = F, stateful = S, split = split }
