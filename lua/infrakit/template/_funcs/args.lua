-- infrakit.template._funcs.args: argument conversions shared by the
-- template functions. Conversions are lenient where Go's would fail on a
-- JSON-decoded value (a number where a string or an int is expected is
-- converted) and strict where Go's are (a missing value where a string is
-- expected is an error: "invalid value; expected string").
-- Errors are raised with error(msg, 0); the render places them.
local value = require "infrakit.template._value"
local fmt = require "infrakit.template._fmt"

local null = value.null

local M = {}

--- v as a string: strings as they are, numbers and booleans formatted.
---@param v any
---@return string
function M.str(v)
  local t = type(v)
  if t == "string" then return v end
  if t == "number" then return fmt.number(v) end
  if t == "boolean" then return tostring(v) end
  if v == nil or v == null then error("invalid value; expected string", 0) end
  error(("wrong type for value; expected string; got %s"):format(value.type_name(v)), 0)
end

--- v as a string the way Sprig's strval does (%v of anything; nil is "").
---@param v any
---@return string
function M.strval(v)
  if v == nil or v == null then return "" end
  return fmt.value(v)
end

--- v as an integer (Sprig's toInt64, as cast.ToInt64): numbers truncate,
--- strings parse (0x, 0 prefixes too), booleans are 1/0, others 0.
---@param v any
---@return number
function M.toint(v)
  local t = type(v)
  if t == "number" then
    if v ~= v then return 0 end
    return v >= 0 and math.floor(v) or math.ceil(v)
  end
  if t == "boolean" then return v and 1 or 0 end
  if t == "string" then
    local s = v:match("^%s*(.-)%s*$")
    local neg, body = s:match("^([-+]?)(.*)$")
    local n
    if body:match("^0[xX]%x+$") then
      n = tonumber(body:sub(3), 16)
    elseif body:match("^0[0-7]+$") then
      n = tonumber(body, 8)
    elseif body:match("^%d+$") then
      n = tonumber(body)
    end
    if not n then return 0 end
    return neg == "-" and -n or n
  end
  return 0
end

--- v as a float (cast.ToFloat64): numbers, numeric strings, booleans; else 0.
---@param v any
---@return number
function M.tofloat(v)
  local t = type(v)
  if t == "number" then return v end
  if t == "boolean" then return v and 1 or 0 end
  if t == "string" then return tonumber((v:match("^%s*(.-)%s*$"))) or 0 end
  return 0
end

--- v as an integer where Go wants an int: numbers (truncated) and numeric
--- strings; anything else is an error.
---@param v any
---@param what string|nil  for the message
---@return number
function M.int(v, what)
  if type(v) == "number" then return v >= 0 and math.floor(v) or math.ceil(v) end
  if type(v) == "string" and tonumber(v) then return M.toint(v) end
  error(("%s: expected an integer, got %s"):format(what or "argument", value.type_name(v)), 0)
end

--- v as a list (a table); nil and null are an empty list.
---@param v any
---@param what string|nil
---@return table
function M.list(v, what)
  if v == nil or v == null then return {} end
  if value.is_list(v) then return v end
  error(("%s: expected a list, got %s"):format(what or "argument", value.type_name(v)), 0)
end

--- v as a map (a table that is not a non-empty list).
---@param v any
---@param what string|nil
---@return table
function M.map(v, what)
  if value.is_map(v) then return v end
  error(("%s: expected a map, got %s"):format(what or "argument", value.type_name(v)), 0)
end

return M
