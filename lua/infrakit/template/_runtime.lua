-- infrakit.template._runtime: the helpers compiled templates call (field
-- access, truth, range, printing, template calls) and the error object
-- that carries a message, a code and the place it happened.
--
-- Errors inside a render are raised as R.error objects and caught once by
-- the render (init.lua), which adds "template NAME:LINE:COL: ".
--   { msg = "...", code = "EINVAL"|..., at = <position index>|nil }
-- `at` is set by the helpers below, which know where they are; an error a
-- template function raises has no `at` and is placed at the call being made
-- (S.pos), as "error calling NAME: msg".
-- Pure functions; nothing here yields (call_template runs the called
-- template, which may).
local value = require "infrakit.template._value"
local fmt = require "infrakit.template._fmt"

local null, array_mt, type_name = value.null, value.array_mt, value.type_name
local type, getmetatable = type, getmetatable

local R = {}

local Error = {}
Error.__index = Error
Error.__tostring = function(e) return e.msg end
R.Error = Error

--- Raises a template error (caught by the render).
---@param msg string
---@param code string|nil  default "EINVAL"
---@param at number|nil    position index in the compiled template
function R.raise(msg, code, at)
  error(setmetatable({ msg = msg, code = code or "EINVAL", at = at }, Error), 0)
end
local raise = R.raise

--- True if e is a template error object.
function R.is_error(e) return getmetatable(e) == Error end

R.truth = value.truth
R.print = fmt.print
R.concat = table.concat

-- A field of v: a map key (a function stored there is returned, not
-- called: use call, or give it arguments, see method).
local function field(v, key, at)
  if type(v) == "table" then
    local r = v[key]
    if r ~= nil then return r end
    local mt = getmetatable(v)
    if mt == array_mt or v[1] ~= nil or (mt and mt.__template_kind) then
      raise(("can't evaluate field %s in type %s"):format(key, type_name(v)), nil, at)
    end
    return nil
  end
  if v == nil then return nil end
  if v == null then raise(("nil pointer evaluating interface {}.%s"):format(key), nil, at) end
  raise(("can't evaluate field %s in type %s"):format(key, type_name(v)), nil, at)
end
R.field = field

--- field() with MissingKey "error": a missing key is an error.
function R.field_strict(v, key, at)
  if v == nil then raise(("nil data; no entry for key %q"):format(key), nil, at) end
  local r = field(v, key, at)
  if r == nil then raise(("map has no entry for key %q"):format(key), nil, at) end
  return r
end

--- .Obj.Name args...: calls the function stored at obj[name].
function R.method(obj, name, at, ...)
  local f = type(obj) == "table" and obj[name] or nil
  if type(f) == "function" then return f(...) end
  if f ~= nil or value.is_map(obj) then
    raise(("%s is not a method but has arguments"):format(name), nil, at)
  end
  if obj == nil then return nil end
  raise(("can't evaluate field %s in type %s"):format(name, type_name(obj)), nil, at)
end

--- Prepares a range over c: returns keys (sorted, for a map; nil for a
--- list), the number of iterations and the collection to index. A number
--- n ranges over 0..n-1 (Go 1.22); nil and null range over nothing.
function R.range(c, at)
  local t = type(c)
  if t == "table" then
    local mt = getmetatable(c)
    if mt and mt.__template_kind then
      raise(("range can't iterate over %s"):format(fmt.value(c)), nil, at)
    end
    if mt == array_mt or c[1] ~= nil then return nil, #c, c end
    local keys = value.sorted_keys(c)
    return keys, #keys, c
  end
  if c == nil or c == null then return nil, 0, c end
  if t == "number" and c == math.floor(c) then
    local list = {}
    for i = 1, c do list[i] = i - 1 end
    return nil, #list, list
  end
  raise(("range can't iterate over %s"):format(fmt.value(c)), nil, at)
end

local MAX_DEPTH = 1000

--- {{template "name" data}}: runs a template of the same set, or (an
--- extension) renders NAME as a URL relative to this template when no
--- template has that name and it looks like a path.
function R.call_template(S, name, data, at)
  local f = S.tmpls[name]
  if not f then
    if S.render_ref and (name:find("://", 1, true) or name:find("/", 1, true)
        or name:find("%.tpl$") or name:find("%.lua$")) then
      S.pos = at
      return S.render_ref(S, name, data, "source")
    end
    raise(("template %q not defined"):format(name), nil, at)
  end
  local depth = S.depth + 1
  if depth > MAX_DEPTH then raise(("exceeded maximum template depth (%d)"):format(MAX_DEPTH), nil, at) end
  S.depth = depth
  local out = f(S, data)
  S.depth = depth - 1
  return out
end

return R
