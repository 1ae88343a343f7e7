-- infrakit.template._value: how templates see JSON-shaped Lua data, the way
-- Go's text/template sees interface{} values decoded by encoding/json.
--
--   nil          a missing value (Go's invalid reflect.Value): prints "<no value>"
--   json.null    JSON null (a nil interface{}): prints "<nil>"
--   table        a list when it carries infrakit.json.array_mt or has t[1],
--                else a map; an empty table without the metatable is both
--                (ranges as empty, is falsy, encodes as {})
-- Pure functions; nothing here yields.
local json = require("infrakit.json")
local null = json.null

local M = { null = null }

-- The metatable marking JSON arrays (infrakit.json.array_mt).
local array_mt = json.array_mt
M.array_mt = array_mt

--- Marks t (or a new table) as a list and returns it.
---@param t table|nil
---@return table
function M.list(t)
  return setmetatable(t or {}, array_mt)
end

--- True if v is a list (see the header); an empty plain table counts.
---@param v any
---@return boolean
function M.is_list(v)
  if type(v) ~= "table" then return false end
  if getmetatable(v) == array_mt or v[1] ~= nil then return true end
  return next(v) == nil
end

--- True if v is a map (a table that is not a non-empty list); an empty
--- plain table counts.
---@param v any
---@return boolean
function M.is_map(v)
  if type(v) ~= "table" or getmetatable(v) == array_mt then return false end
  if v[1] ~= nil then return false end
  local mt = getmetatable(v)
  return mt == nil or not mt.__template_kind
end

-- Compares keys the way Go sorts map keys: numbers before strings, each
-- in their natural order.
local function key_less(a, b)
  local ta, tb = type(a), type(b)
  if ta == tb and (ta == "number" or ta == "string") then return a < b end
  if ta == "number" then return true end
  if tb == "number" then return false end
  return tostring(a) < tostring(b)
end
M.key_less = key_less

--- The keys of map t, sorted as Go sorts map keys.
---@param t table
---@return table
function M.sorted_keys(t)
  local keys, n = {}, 0
  for k in pairs(t) do
    n = n + 1
    keys[n] = k
  end
  table.sort(keys, key_less)
  return keys
end

--- Go's truth: false, 0, "", nil, JSON null and empty lists and maps are
--- false; everything else is true.
---@param v any
---@return boolean
function M.truth(v)
  if v == nil or v == false or v == null or v == 0 or v == "" then return false end
  if type(v) == "table" then
    local mt = getmetatable(v)
    if mt and mt.__template_kind then return true end
    return next(v) ~= nil
  end
  return true
end

--- The number of elements: bytes of a string, entries of a list or map.
--- nil if v has no length.
---@param v any
---@return number|nil
function M.len(v)
  local t = type(v)
  if t == "string" then return #v end
  if t ~= "table" then return nil end
  if getmetatable(v) == array_mt or v[1] ~= nil then return #v end
  local n = 0
  for _ in pairs(v) do n = n + 1 end
  return n
end

--- Go's type name for a value, for error messages.
---@param v any
---@return string
function M.type_name(v)
  local t = type(v)
  if v == nil or v == null then return "<nil>" end
  if t == "number" then return "float64" end
  if t == "boolean" then return "bool" end
  if t == "string" then return "string" end
  if t == "table" then
    local mt = getmetatable(v)
    if mt and mt.__template_kind then return mt.__template_kind end
    if M.is_list(v) and (getmetatable(v) == array_mt or v[1] ~= nil) then return "[]interface {}" end
    return "map[string]interface {}"
  end
  return t
end

--- Deep equality of JSON-shaped values (Go's reflect.DeepEqual on them).
---@param a any
---@param b any
---@return boolean
function M.equal(a, b)
  if a == b then return true end
  if type(a) ~= "table" or type(b) ~= "table" then return false end
  for k, v in pairs(a) do
    if not M.equal(v, b[k]) then return false end
  end
  for k in pairs(b) do
    if a[k] == nil then return false end
  end
  return true
end

--- A shallow copy (lists stay lists).
---@param t table
---@return table
function M.copy(t)
  local c = {}
  for k, v in pairs(t) do c[k] = v end
  return setmetatable(c, getmetatable(t))
end

--- A deep copy of a JSON-shaped value (what InfraKit's include does to
--- the context through a JSON round trip).
---@param v any
---@return any
function M.deep_copy(v)
  if type(v) ~= "table" then return v end
  local mt = getmetatable(v)
  if mt and mt.__template_kind then return v end
  local c = {}
  for k, x in pairs(v) do c[k] = M.deep_copy(x) end
  return setmetatable(c, mt)
end

return M
