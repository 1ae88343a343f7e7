-- infrakit.template._funcs.builtin: Go text/template's predefined functions:
-- and or not len index slice print printf println eq ne lt le gt ge html
-- js urlquery call. (In templates `and` and `or` are compiled inline and
-- short-circuit, as in Go 1.18+; these are for Lua callers.)
local value = require "infrakit.template._value"
local fmt = require "infrakit.template._fmt"
local args = require "infrakit.template._funcs.args"

local null, truth, type_name = value.null, value.truth, value.type_name
local format, byte, select = string.format, string.byte, select

local F = {}

function F.and_(...)
  local n = select("#", ...)
  local v
  for i = 1, n do
    v = select(i, ...)
    if not truth(v) then return v end
  end
  return v
end
F["and"], F.and_ = F.and_, nil

F["or"] = function(...)
  local n = select("#", ...)
  local v
  for i = 1, n do
    v = select(i, ...)
    if truth(v) then return v end
  end
  return v
end

F["not"] = function(v) return not truth(v) end

function F.len(v)
  local n = value.len(v)
  if n then return n end
  if v == nil then error("len of nil pointer", 0) end
  error(("len of type %s"):format(type_name(v)), 0)
end

-- One step of index: item[key] with Go's rules (0-based lists).
local function index1(item, key)
  if type(item) == "string" then
    local i = args.int(key, "index")
    if i < 0 or i >= #item then error(("index out of range: %d"):format(i), 0) end
    return byte(item, i + 1)
  end
  if type(item) ~= "table" then
    if item == nil then error("index of untyped nil", 0) end
    if item == null then error("index of nil pointer", 0) end
    error(("can't index item of type %s"):format(type_name(item)), 0)
  end
  local mt = getmetatable(item)
  if mt == value.array_mt or item[1] ~= nil then
    if type(key) ~= "number" then
      error(("cannot index slice/array with type %s"):format(type_name(key)), 0)
    end
    local i = key >= 0 and math.floor(key) or math.ceil(key)
    if i < 0 or i >= #item then error(("index out of range: %d"):format(i), 0) end
    return item[i + 1]
  end
  if key == nil or key == null then error("value is nil; should be of type string", 0) end
  local v = item[key]
  if v == nil and type(key) == "number" then v = item[fmt.number(key)] end
  return v
end

function F.index(item, ...)
  for i = 1, select("#", ...) do item = index1(item, (select(i, ...))) end
  return item
end

function F.slice(item, ...)
  local n = select("#", ...)
  if n > 3 then error(("too many slice indexes: %d"):format(n), 0) end
  local len
  if type(item) == "string" then
    len = #item
    if n == 3 then error("cannot 3-index slice a string", 0) end
  elseif value.is_list(item) then
    len = #item
  elseif item == nil then
    error("slice of untyped nil", 0)
  else
    error(("can't slice item of type %s"):format(type_name(item)), 0)
  end
  local lo = n >= 1 and args.int((select(1, ...)), "slice") or 0
  local hi = n >= 2 and args.int((select(2, ...)), "slice") or len
  if lo < 0 or hi < lo or hi > len then error(("index out of range: %d"):format(hi > len and hi or lo), 0) end
  if type(item) == "string" then return item:sub(lo + 1, hi) end
  local out = {}
  for i = lo + 1, hi do out[#out + 1] = item[i] end
  return value.list(out)
end

F.print = fmt.sprint
F.println = fmt.sprintln
function F.printf(f, ...) return fmt.sprintf(args.str(f), ...) end

-- Go's comparison kinds; nil (and null) are "invalid", tables are not
-- comparable.
local function kind(v)
  local t = type(v)
  if t == "number" or t == "string" or t == "boolean" then return t end
  if v == nil or v == null then return "invalid" end
  return "other"
end

function F.eq(a, ...)
  local n = select("#", ...)
  if n == 0 then error("missing argument for comparison", 0) end
  local ka = kind(a)
  for i = 1, n do
    local b = select(i, ...)
    local kb = kind(b)
    if ka ~= kb then
      if ka ~= "invalid" and kb ~= "invalid" then error("incompatible types for comparison", 0) end
    elseif ka == "other" then
      error(("non-comparable type %s: %s"):format(fmt.value(a), type_name(a)), 0)
    elseif ka == "invalid" or a == b then
      return true
    end
  end
  return false
end

function F.ne(a, b) return not F.eq(a, b) end

local function less(a, b)
  local ka, kb = kind(a), kind(b)
  if ka ~= kb then error("incompatible types for comparison", 0) end
  if ka ~= "number" and ka ~= "string" then error("invalid type for comparison", 0) end
  return a < b
end

function F.lt(a, b) return less(a, b) end
function F.le(a, b) return less(a, b) or F.eq(a, b) end
function F.gt(a, b) return not (less(a, b) or F.eq(a, b)) end
function F.ge(a, b) return not less(a, b) end

local html_esc = {
  ["<"] = "&lt;", [">"] = "&gt;", ["&"] = "&amp;", ["'"] = "&#39;", ['"'] = "&#34;", ["\0"] = "\239\191\189",
}

-- The text of the arguments as Go's evalArgs gives it: the only string
-- argument as it is, else fmt.Sprint of them all.
local function arg_text(...)
  if select("#", ...) == 1 and type((...)) == "string" then return (...) end
  return fmt.sprint(...)
end

function F.html(...)
  return (arg_text(...):gsub("[<>&'\"%z]", html_esc))
end

local js_esc = {
  ["\\"] = "\\\\", ["'"] = "\\'", ['"'] = '\\"', ["<"] = "\\u003C", [">"] = "\\u003E",
  ["&"] = "\\u0026", ["="] = "\\u003D",
}

function F.js(...)
  return (arg_text(...):gsub("[%c\\'\"<>&=]", function(c)
    return js_esc[c] or format("\\u%04X", byte(c))
  end))
end

function F.urlquery(...)
  return (arg_text(...):gsub("[^%w%-_%.~ ]", function(c) return format("%%%02X", byte(c)) end):gsub(" ", "+"))
end

function F.call(fn, ...)
  if type(fn) ~= "function" then
    error(("non-function of type %s"):format(fn == nil and "<nil>" or type_name(fn)), 0)
  end
  return fn(...)
end

return { funcs = F }
