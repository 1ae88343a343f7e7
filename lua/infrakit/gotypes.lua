-- infrakit.gotypes: read InfraKit's JSON shapes in Lua the way Go's
-- encoding/json reads them, for the built-in flavors (and any flavor that
-- wants InfraKit's exact behaviour).
--
-- Values arrive as plain tables (JSON null is infrakit.json.null; arrays
-- from the host carry the metatable "infrakit.json.array_mt"). Go's rules
-- kept here (reference §11):
--   * field names match case-insensitively ("init" fills Init), an exact
--     match winning; unknown fields are ignored;
--   * null (or absent) leaves a field at its zero value: "" for a string,
--     false for a bool, nil for a slice or map;
--   * a value of the wrong JSON type is an error naming the Go type:
--     `json: cannot unmarshal string into Go struct field Spec.Init of type []string`.
-- Pure functions; nothing here yields.
local json = require "infrakit.json"

local null = json.null

local M = { null = null }

--- True for nil and JSON null.
---@param v any
---@return boolean
function M.is_null(v)
  return v == nil or v == null
end

-- The metatable the host puts on JSON arrays (infrakit.json.array_mt),
-- which also makes an empty table cross into C as [] rather than {}.
local ARRAY_MT = json.array_mt

--- A new empty list that stays a JSON array ([]) when it crosses into C.
---@return table
function M.list()
  return setmetatable({}, ARRAY_MT)
end

--- The JSON kind of a Lua value: "null", "string", "number", "bool",
--- "array", "object", or "empty" for an empty table that does not say
--- which (Lua cannot tell {} from []; either is accepted where either is
--- expected). Other Lua types give their type() name.
---@param v any
---@return string
function M.kind(v)
  if v == nil or v == null then return "null" end
  local t = type(v)
  if t == "string" or t == "number" then return t end
  if t == "boolean" then return "bool" end
  if t ~= "table" then return t end
  if getmetatable(v) == ARRAY_MT then return "array" end
  if next(v) == nil then return "empty" end
  local n = 0
  for k in pairs(v) do
    if type(k) ~= "number" or k < 1 or k % 1 ~= 0 then return "object" end
    n = n + 1
  end
  return n == #v and "array" or "object"
end

-- Lower-cased keys, computed once per string (field lookups run on every
-- plugin call).
local lowered = setmetatable({}, {
  __mode = "k",
  __index = function(t, k)
    local l = k:lower()
    t[k] = l
    return l
  end,
})

--- obj[name], matching the key case-insensitively when there is no exact
--- match (Go's decoder does). nil if obj is not a table.
---@param obj any
---@param name string
---@return any
function M.field(obj, name)
  if type(obj) ~= "table" then return nil end
  local v = obj[name]
  if v ~= nil then return v end
  local lower = lowered[name]
  for k, val in pairs(obj) do
    if type(k) == "string" and lowered[k] == lower then return val end
  end
  return nil
end

local function mismatch(kind, where, gotype)
  if kind == "empty" then kind = "object" end
  return ("json: cannot unmarshal %s into %s of type %s"):format(kind, where, gotype)
end

local bad_field -- defined below

-- Decoders by Go type: (value, where) -> decoded or nil, err.
-- where is "Go struct field Spec.Init" or "Go value".
local decoders = {}

decoders["string"] = function(v, where)
  local k = M.kind(v)
  if k == "null" then return "" end
  if k ~= "string" then return nil, mismatch(k, where, "string") end
  return v
end

decoders["bool"] = function(v, where)
  local k = M.kind(v)
  if k == "null" then return false end
  if k ~= "bool" then return nil, mismatch(k, where, "bool") end
  return v
end

-- Go's int: a whole JSON number (a fraction is Go's "number 1.5" error).
decoders["int"] = function(v, where)
  local k = M.kind(v)
  if k == "null" then return 0 end
  if k ~= "number" then return nil, mismatch(k, where, "int") end
  if v % 1 ~= 0 or v ~= v then return nil, mismatch("number " .. tostring(v), where, "int") end
  return v
end

decoders["float64"] = function(v, where)
  local k = M.kind(v)
  if k == "null" then return 0 end
  if k ~= "number" then return nil, mismatch(k, where, "float64") end
  return v
end

decoders["any"] = function(v)
  return v
end

decoders["[]string"] = function(v, where)
  local k = M.kind(v)
  if k == "null" then return nil end
  if k ~= "array" and k ~= "empty" then return nil, mismatch(k, where, "[]string") end
  -- Checked in place, not copied: decoding runs on every plugin call.
  for i = 1, #v do
    local e = v[i]
    if type(e) ~= "string" then
      local s, err = decoders["string"](e, where)
      if s == nil then return nil, err end
      v[i] = s
    end
  end
  return v
end

decoders["map[string]string"] = function(v, where)
  local k = M.kind(v)
  if k == "null" then return nil end
  if k ~= "object" and k ~= "empty" then return nil, mismatch(k, where, "map[string]string") end
  for key, val in pairs(v) do
    if type(val) ~= "string" then
      local s, err = decoders["string"](val, where)
      if s == nil then return nil, err end
      v[key] = s -- null reads as "" (assigning an existing key is safe in pairs)
    end
  end
  return v
end

local ATTACHMENT = { { "ID", "string" }, { "Type", "string" } }

decoders["[]instance.Attachment"] = function(v, where)
  local k = M.kind(v)
  if k == "null" then return nil end
  if k ~= "array" and k ~= "empty" then return nil, mismatch(k, where, "[]instance.Attachment") end
  local out = {}
  for i = 1, #v do
    local a, err = M.decode_struct(v[i], "instance.Attachment", ATTACHMENT)
    if a == nil then return nil, err end
    out[i] = a
  end
  return out
end

decoders["map[string][]instance.Attachment"] = function(v, where)
  local k = M.kind(v)
  if k == "null" then return nil end
  if k ~= "object" and k ~= "empty" then return nil, mismatch(k, where, "map[string][]instance.Attachment") end
  local out = {}
  for key, list in pairs(v) do
    local atts, err = decoders["[]instance.Attachment"](list, where)
    if atts == nil and err then return nil, err end
    out[key] = atts
  end
  return out
end

-- "Go struct field Spec.Init" for each typename and field, built once.
local where_of = setmetatable({}, {
  __index = function(t, typename)
    local short = typename:match("([^.]+)$")
    local names = setmetatable({}, {
      __index = function(n, name)
        local w = "Go struct field " .. short .. "." .. name
        n[name] = w
        return w
      end,
    })
    t[typename] = names
    return names
  end,
})

--- The Go type names decode_struct supports, sorted.
---@return string[]
function M.types()
  local names = {}
  for name in pairs(decoders) do names[#names + 1] = name end
  table.sort(names)
  return names
end

-- A field list entry decode_struct cannot use: a bug in the caller, so
-- raise (at the caller of decode_struct), naming the field, the type and
-- what is supported.
bad_field = function(typename, i, name, gotype)
  if type(name) ~= "string" or type(gotype) ~= "string" then
    error(("infrakit.gotypes.decode_struct: field %d of %s must be { \"Name\", \"gotype\" } (two strings)")
      :format(i, typename), 3)
  end
  error(("infrakit.gotypes.decode_struct: field %s of %s has type %q, which infrakit.gotypes does not support"
    .. " (supported: %s)"):format(name, typename, gotype, table.concat(M.types(), ", ")), 3)
end

--- Decodes v into a Go struct described by fields, a list of
--- { "Name", "gotype" } with gotype one of "string", "bool", "int",
--- "float64", "any",
--- "[]string", "map[string]string", "[]instance.Attachment",
--- "map[string][]instance.Attachment". typename is
--- the Go type for messages ("vanilla.Spec"). Returns a table with every
--- field at its decoded or zero value (nil for slices and maps), or nil and
--- Go's message. null decodes to the zero struct, as in Go.
---@param v any
---@param typename string
---@param fields table
---@return table|nil decoded
---@return string|nil err
function M.decode_struct(v, typename, fields)
  if type(fields) ~= "table" then
    error(("infrakit.gotypes.decode_struct: fields must be a list of { \"Name\", \"gotype\" }, got %s")
      :format(type(fields)), 2)
  end
  local k = M.kind(v)
  local out = {}
  if k ~= "null" and k ~= "object" and k ~= "empty" then
    return nil, mismatch(k, "Go value", typename)
  end
  local wheres = where_of[typename]
  for i, f in ipairs(fields) do
    local name, gotype = f[1], f[2]
    local decode = decoders[gotype]
    if decode == nil then bad_field(typename, i, name, gotype) end
    local raw = nil
    if k ~= "null" then raw = M.field(v, name) end
    local val, err = decode(raw, wheres[name])
    if val == nil and err then return nil, err end
    out[name] = val
  end
  return out
end

--- A deep copy of a JSON-shaped value. Tables are copied (keeping their
--- metatable, so arrays stay arrays); other values are returned as is.
---@param v any
---@return any
function M.copy(v)
  if type(v) ~= "table" then return v end
  local out = {}
  for k, val in pairs(v) do out[k] = M.copy(val) end
  return setmetatable(out, getmetatable(v))
end

return M
