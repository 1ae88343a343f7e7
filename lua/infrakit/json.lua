-- infrakit.json: JSON through lua-cjson.
--
--   json.encode(value)  -> string. Raises on values JSON cannot hold
--                          (functions, userdata, sparse arrays): misuse.
--   json.decode(string) -> value, or nil, message, "EINVAL" on bad input:
--                          data from outside is an expected failure.
--   json.null           -> the value JSON null decodes to (and encodes from).
local cjson = require("cjson").new()

cjson.decode_invalid_numbers(false)
cjson.encode_invalid_numbers(false)

local json = { null = cjson.null }

-- The metatable marking a table as a JSON array when values cross into C
-- (plugin calls): decoded arrays carry it, and setmetatable({}, json.array_mt)
-- is an empty array rather than an empty object. Made once, in C
-- (core/lua/json_lua.c); every Lua module takes it from here.
json.array_mt = require("infrakit._json").array_mt

---@param value any
---@return string
function json.encode(value)
  local ok, out = pcall(cjson.encode, value)
  if not ok then
    error("infrakit.json.encode: " .. tostring(out), 2)
  end
  return out
end

---@param text string
---@return any|nil value, string? message, string? code
function json.decode(text)
  if type(text) ~= "string" then
    error("infrakit.json.decode: expected a string, got " .. type(text), 2)
  end
  local ok, value = pcall(cjson.decode, text)
  if not ok then
    local msg = tostring(value):gsub("^.-: ", "")
    -- cjson names a 1-based byte offset; say line and column, as editors do.
    local pos = tonumber(msg:match(" at character (%d+)$"))
    if pos then
      local before = text:sub(1, pos - 1)
      local _, newlines = before:gsub("\n", "")
      local col = pos - ((before:match(".*()\n") or 0))
      msg = msg:gsub(" at character %d+$", (" at line %d, column %d"):format(newlines + 1, col))
    end
    return nil, "invalid JSON: " .. msg, "EINVAL"
  end
  return value
end

return json
