-- infrakit.yaml: the YAML InfraKit templates read and write
-- (yamlEncode/yamlDecode; InfraKit goes through ghodss/yaml and yaml.v2).
--
-- encode writes what yaml.v2 writes for JSON-shaped data: block maps with
-- sorted keys, block lists (not indented under a map key), {} and [] for
-- empty ones, strings quoted ("...") when they would read back as another
-- type or contain special characters (newlines are escaped, not written
-- as block scalars).
--
-- decode parses with LibYAML (core/lua/bind_yaml.c; yaml.v2 is a Go port
-- of it, so syntax and messages are the same) and resolves plain scalars
-- as yaml.v2 (YAML 1.1) does: null ~ true false yes no on off y n (any
-- case as yaml.v2), integers (decimal, 0x, 0o, 0b, leading 0 octal),
-- floats, .inf, .nan. Refused with an error: anchors and aliases (&a, *a),
-- tags other than !!str, merge keys (<<), multiple documents, complex keys.
-- Maps decode to tables, lists to tables with the array metatable, null
-- to json.null. Pure functions; nothing here yields.
local value = require "infrakit.template._value"
local fmt = require "infrakit.template._fmt"
local native = require "infrakit._yaml"

local null, list = value.null, value.list
local concat, format = table.concat, string.format

local M = {}

-- Encoding ------------------------------------------------------------------

local RESERVED = {}
for _, w in ipairs { "y", "Y", "yes", "Yes", "YES", "n", "N", "no", "No", "NO", "true", "True", "TRUE",
  "false", "False", "FALSE", "on", "On", "ON", "off", "Off", "OFF", "null", "Null", "NULL", "~",
  ".inf", ".Inf", ".INF", "-.inf", "-.Inf", "-.INF", "+.inf", ".nan", ".NaN", ".NAN", "<<", "=" } do
  RESERVED[w] = true
end

local function looks_numeric(s)
  local t = s:gsub("_", "")
  return tonumber(t) ~= nil or t:match("^[-+]?0[oObB]%d+$") ~= nil or t:match("^[-+]?%.%d") ~= nil
end

local function needs_quotes(s)
  if s == "" or RESERVED[s] or looks_numeric(s) then return true end
  if s:find("^[%s]") or s:find("[%s]$") then return true end
  if s:find("^[-?:,%[%]{}#&*!|>'\"%%@`]") then return true end
  if s:find(": ", 1, true) or s:find(" #", 1, true) or s:sub(-1) == ":" then return true end
  if s:find("[%c\127]") then return true end
  return false
end

local dq_esc = { ['"'] = '\\"', ["\\"] = "\\\\", ["\n"] = "\\n", ["\t"] = "\\t", ["\r"] = "\\r", ["\0"] = "\\0" }

local function dquote(s)
  return '"' .. s:gsub('[%c"\\\127]', function(c) return dq_esc[c] or format("\\x%02X", c:byte()) end) .. '"'
end

local function scalar(v)
  local t = type(v)
  if v == nil or v == null then return "null" end
  if t == "boolean" then return v and "true" or "false" end
  if t == "number" then
    if v ~= v then return ".nan" end
    if v == math.huge then return ".inf" end
    if v == -math.huge then return "-.inf" end
    return fmt.number(v)
  end
  if t == "string" then return needs_quotes(v) and dquote(v) or v end
  return dquote(fmt.value(v))
end

local function is_list(t) return getmetatable(t) == value.array_mt or t[1] ~= nil end
local function is_coll(v)
  local mt = type(v) == "table" and getmetatable(v)
  return type(v) == "table" and not (mt and mt.__template_kind)
end

local encode_node

local function key_text(k)
  if type(k) == "string" then return scalar(k) end
  return scalar(k)
end

-- Lines for a non-empty map at indentation pad.
local function encode_map(t, pad, out)
  for _, k in ipairs(value.sorted_keys(t)) do
    local v = t[k]
    local head = pad .. key_text(k) .. ":"
    if is_coll(v) and next(v) ~= nil then
      out[#out + 1] = head
      if is_list(v) then encode_node(v, pad, out) else encode_node(v, pad .. "  ", out) end
    else
      out[#out + 1] = head .. " " .. (is_coll(v) and (is_list(v) and "[]" or "{}") or scalar(v))
    end
  end
end

-- Lines for a non-empty list at indentation pad.
local function encode_list(t, pad, out)
  for _, v in ipairs(t) do
    if is_coll(v) and next(v) ~= nil then
      local sub = {}
      encode_node(v, pad .. "  ", sub)
      sub[1] = pad .. "- " .. sub[1]:sub(#pad + 3)
      for _, line in ipairs(sub) do out[#out + 1] = line end
    else
      out[#out + 1] = pad .. "- " .. (is_coll(v) and (is_list(v) and "[]" or "{}") or scalar(v))
    end
  end
end

function encode_node(v, pad, out)
  if is_list(v) then encode_list(v, pad, out) else encode_map(v, pad, out) end
end

--- YAML text for v, ending in a newline (yaml.v2's Marshal). Raises on
--- functions.
---@param v any
---@return string
function M.encode(v)
  if type(v) == "function" then error("cannot marshal a function to YAML", 0) end
  if not is_coll(v) then return scalar(v) .. "\n" end
  if next(v) == nil then return (is_list(v) and "[]" or "{}") .. "\n" end
  local out = {}
  encode_node(v, "", out)
  return concat(out, "\n") .. "\n"
end

-- Decoding ------------------------------------------------------------------
-- LibYAML parses (infrakit._yaml, the parser yaml.v2 itself is a port of);
-- this side gives the events yaml.v2's meaning: plain scalars resolved as
-- YAML 1.1 does, maps and lists as tables.

local function fail(lineno, msg) error(("yaml: line %d: %s"):format(lineno, msg), 0) end

local BOOLS = {
  y = true, Y = true, yes = true, Yes = true, YES = true, ["true"] = true, True = true, TRUE = true,
  on = true, On = true, ON = true,
  n = false, N = false, no = false, No = false, NO = false, ["false"] = false, False = false, FALSE = false,
  off = false, Off = false, OFF = false,
}

-- Integers with a base prefix: pattern (sign, digits), base.
local RADIX = { { "^([-+]?)0[xX](%x+)$", 16 }, { "^([-+]?)0o([0-7]+)$", 8 }, { "^([-+]?)0b([01]+)$", 2 } }

-- Resolves a plain scalar to a value.
local function resolve(s)
  if s == "" or s == "~" or s == "null" or s == "Null" or s == "NULL" then return null end
  local b = BOOLS[s]
  if b ~= nil then return b end
  local t = s:gsub("_", "")
  if t:match("^[-+]?%d+$") then
    if t:match("^[-+]?0%d+$") then return tonumber((t:gsub("^([-+]?)0", "%1")), 8) or s end
    return tonumber(t)
  end
  for _, r in ipairs(RADIX) do
    local sign, digits = t:match(r[1])
    if sign then
      local n = tonumber(digits, r[2])
      return sign == "-" and -n or n
    end
  end
  if t:match("^[-+]?%d*%.?%d+[eE]?[-+]?%d*$") or t:match("^[-+]?%d+%.%d*$") then
    local n = tonumber(t)
    if n then return n end
  end
  if t:match("^[-+]?%.[iI][nN][fF]$") then return t:sub(1, 1) == "-" and -math.huge or math.huge end
  if t:match("^%.[nN][aA][nN]$") then return 0 / 0 end
  return s
end

local function key_string(k)
  if type(k) == "string" then return k end
  if k == null then return "null" end
  return fmt.value(k)
end

local TAG_STR = "tag:yaml.org,2002:str"

-- The node starting at events[i]; returns its value and the index after it.
local function node(events, i)
  local e = events[i]
  if e.anchor or e.kind == "alias" then fail(e.line, "anchors and aliases are not supported") end
  if e.kind == "scalar" then
    if e.tag and e.tag ~= TAG_STR and e.tag ~= "!" then fail(e.line, "tags are not supported") end
    if e.plain and not e.tag then return resolve(e.value), i + 1 end
    return e.value, i + 1
  end
  if e.kind == "seq" then
    local out = list()
    i = i + 1
    while events[i].kind ~= "end" do
      out[#out + 1], i = node(events, i)
    end
    return out, i + 1
  end
  -- a map
  local out = {}
  i = i + 1
  while events[i].kind ~= "end" do
    local ke = events[i]
    if ke.kind ~= "scalar" then fail(ke.line, "complex keys are not supported") end
    if ke.plain and ke.value == "<<" then fail(ke.line, "merge keys (<<) are not supported") end
    local k
    k, i = node(events, i)
    out[key_string(k)], i = node(events, i)
  end
  return out, i + 1
end

--- Decodes YAML text as yaml.v2 reads it into interface{} (JSON-shaped:
--- map keys become strings). Returns the value (nil for an empty
--- document), or nil and a message "yaml: line N: ...". Anchors and
--- aliases, tags other than !!str, merge keys and multiple documents are
--- refused with such a message.
---@param text string
---@return any value, string? message
function M.decode(text)
  local events, err = native.events(text)
  if not events then return nil, err end
  local docs = 0
  for _, e in ipairs(events) do
    if e.kind == "doc" then
      docs = docs + 1
      if docs > 1 then return nil, ("yaml: line %d: multiple documents are not supported"):format(e.line) end
    end
  end
  -- no document, or an empty one ("---" alone): nil, as the old reader
  if docs == 0 or (events[2].kind == "scalar" and events[2].plain and events[2].value == "") then return nil end
  local ok, v = pcall(node, events, 2)
  if not ok then
    if type(v) == "string" then return nil, v end
    error(v, 0)
  end
  return v
end

return M
