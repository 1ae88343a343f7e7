-- infrakit.json.go: JSON as Go's encoding/json writes and reads it,
-- for jsonEncode, toJson and friends.
--
-- encode: map keys sorted; <, >, & escaped as \u003c \u003e \u0026 (Go's
-- default HTML-safe escaping), U+2028/2029 escaped, invalid UTF-8 replaced
-- by U+FFFD; numbers as Go writes a float64 (integers plain); indentation
-- as json.MarshalIndent(v, prefix, indent). An empty table is {} unless it
-- carries the array metatable.
-- decode: arrays carry the array metatable (so [] stays a list), null is
-- json.null. Pure functions; nothing here yields.
local value = require "infrakit.template._value"
local fmt = require "infrakit.template._fmt"

local native = require "infrakit._json"

local null, array_mt = value.null, value.array_mt
local concat, sub = table.concat, string.sub

local M = {}

--- A JSON string literal for s, escaped as Go does (base/json.c's
--- ik_json_format_string, the one copy of the rule).
---@param s string
---@return string
M.quote = native.go_quote

local function is_array(t)
  return getmetatable(t) == array_mt or t[1] ~= nil
end

local encode

local function encode_table(t, prefix, indent, depth, seen)
  if seen[t] then error("json: unsupported value: encountered a cycle", 0) end
  local mt = getmetatable(t)
  if mt and mt.__template_json then return mt.__template_json(t) end
  seen[t] = true
  local nl, pad, inner = "", "", ""
  if indent then
    nl = "\n" .. prefix
    pad = string.rep(indent, depth)
    inner = string.rep(indent, depth + 1)
  end
  local parts = {}
  local open, close
  if is_array(t) then
    open, close = "[", "]"
    for i = 1, #t do parts[i] = encode(t[i], prefix, indent, depth + 1, seen) end
  else
    open, close = "{", "}"
    local keys = value.sorted_keys(t)
    local sep = indent and ": " or ":"
    for i, k in ipairs(keys) do
      local ks = type(k) == "string" and k or fmt.value(k)
      parts[i] = M.quote(ks) .. sep .. encode(t[k], prefix, indent, depth + 1, seen)
    end
  end
  seen[t] = nil
  if #parts == 0 then return open .. close end
  if not indent then return open .. concat(parts, ",") .. close end
  return open .. nl .. inner .. concat(parts, "," .. nl .. inner) .. nl .. pad .. close
end

function encode(v, prefix, indent, depth, seen)
  local t = type(v)
  if t == "string" then return M.quote(v) end
  if t == "number" then
    if v ~= v or v == math.huge or v == -math.huge then
      error("json: unsupported value: " .. fmt.number(v), 0)
    end
    -- -0 stays "0", as the Lua encoder always wrote it (Go writes "-0").
    if v == 0 then return "0" end
    return native.go_number(v)
  end
  if t == "boolean" then return v and "true" or "false" end
  if v == nil or v == null then return "null" end
  if t == "table" then return encode_table(v, prefix, indent, depth, seen) end
  error("json: unsupported type: " .. t, 0)
end

--- Encodes v; with indent, as json.MarshalIndent(v, prefix, indent).
--- Raises (error(msg, 0)) on functions, cycles, NaN and infinities.
---@param v any
---@param prefix string|nil
---@param indent string|nil
---@return string
function M.encode(v, prefix, indent)
  return encode(v, prefix or "", indent, 0, {})
end

-- Decoding ------------------------------------------------------------------

local decode_value

local function skip(s, i)
  return s:find("[^ \t\r\n]", i) or #s + 1
end

local function fail(s, i, what)
  if i > #s then error("unexpected end of JSON input", 0) end
  error(("invalid character %s %s"):format(
    i > #s and "end of input" or ("'" .. sub(s, i, i) .. "'"), what or "looking for beginning of value"), 0)
end

local escapes = { b = "\b", f = "\f", n = "\n", r = "\r", t = "\t", ['"'] = '"', ["\\"] = "\\", ["/"] = "/" }

local function decode_string(s, i)
  local out, j = {}, i + 1
  while true do
    local k = s:find('["\\%c]', j)
    if not k then error("unexpected end of JSON input", 0) end
    out[#out + 1] = sub(s, j, k - 1)
    local c = sub(s, k, k)
    if c == '"' then return concat(out), k + 1 end
    if c ~= "\\" then fail(s, k, "in string literal") end
    local e = sub(s, k + 1, k + 1)
    if escapes[e] then
      out[#out + 1] = escapes[e]
      j = k + 2
    elseif e == "u" then
      local hex = sub(s, k + 2, k + 5)
      if not hex:match("^%x%x%x%x$") then fail(s, k + 2, "in \\u hexadecimal character escape") end
      local cp = tonumber(hex, 16)
      j = k + 6
      if cp >= 0xD800 and cp < 0xDC00 and sub(s, j, j + 1) == "\\u" then
        local lo = tonumber(sub(s, j + 2, j + 5), 16)
        if lo and lo >= 0xDC00 and lo < 0xE000 then
          cp = 0x10000 + (cp - 0xD800) * 1024 + (lo - 0xDC00)
          j = j + 6
        end
      end
      if cp >= 0xD800 and cp < 0xE000 then cp = 0xFFFD end
      out[#out + 1] = fmt.utf8(cp)
    else
      fail(s, k + 1, "in string escape code")
    end
  end
end

function decode_value(s, i)
  i = skip(s, i)
  local c = sub(s, i, i)
  if c == "{" then
    local obj = {}
    i = skip(s, i + 1)
    if sub(s, i, i) == "}" then return obj, i + 1 end
    while true do
      if sub(s, i, i) ~= '"' then fail(s, i, "looking for beginning of object key string") end
      local k
      k, i = decode_string(s, i)
      i = skip(s, i)
      if sub(s, i, i) ~= ":" then fail(s, i, "after object key") end
      obj[k], i = decode_value(s, i + 1)
      i = skip(s, i)
      local d = sub(s, i, i)
      if d == "}" then return obj, i + 1 end
      if d ~= "," then fail(s, i, "after object key:value pair") end
      i = skip(s, i + 1)
    end
  elseif c == "[" then
    local arr = setmetatable({}, array_mt)
    i = skip(s, i + 1)
    if sub(s, i, i) == "]" then return arr, i + 1 end
    while true do
      arr[#arr + 1], i = decode_value(s, i)
      i = skip(s, i)
      local d = sub(s, i, i)
      if d == "]" then return arr, i + 1 end
      if d ~= "," then fail(s, i, "after array element") end
      i = i + 1
    end
  elseif c == '"' then
    return decode_string(s, i)
  elseif s:find("^true", i) then
    return true, i + 4
  elseif s:find("^false", i) then
    return false, i + 5
  elseif s:find("^null", i) then
    return null, i + 4
  end
  local num = s:match("^-?%d+%.?%d*[eE]?[-+]?%d*", i)
  if num and num:match("^-?%d") and tonumber(num) then
    if num:match("^-?0%d") then fail(s, i + (num:sub(1, 1) == "-" and 2 or 1), "after top-level value") end
    return tonumber(num), i + #num
  end
  if i > #s then error("unexpected end of JSON input", 0) end
  fail(s, i)
end

--- Decodes JSON text; raises (error(msg, 0)) with Go's message on bad input.
---@param s string
---@return any
function M.decode(s)
  local v, i = decode_value(s, 1)
  i = skip(s, i)
  if i <= #s then fail(s, i, "after top-level value") end
  return v
end

return M
