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

function json.encode(value)
  local ok, out = pcall(cjson.encode, value)
  if not ok then
    error("infrakit.json.encode: " .. tostring(out), 2)
  end
  return out
end

function json.decode(text)
  if type(text) ~= "string" then
    error("infrakit.json.decode: expected a string, got " .. type(text), 2)
  end
  local ok, value = pcall(cjson.decode, text)
  if not ok then
    return nil, "invalid JSON: " .. tostring(value):gsub("^.-: ", ""), "EINVAL"
  end
  return value
end

return json
