-- infrakit.yaml: the YAML InfraKit templates read and write
-- (yamlEncode/yamlDecode; InfraKit goes through ghodss/yaml and yaml.v2).
--
-- encode writes what yaml.v2 writes for JSON-shaped data: block maps with
-- sorted keys, block lists (not indented under a map key), {} and [] for
-- empty ones, strings quoted ("...") when they would read back as another
-- type or contain special characters (newlines are escaped, not written
-- as block scalars).
--
-- decode reads a subset of YAML 1.1:
--   block maps and lists (nested by indentation, "- key: v" items),
--   plain, 'single' and "double" quoted scalars (one line each; a plain
--   scalar may continue on more-indented lines, folded with spaces),
--   block scalars | and > with the - and + chomping indicators,
--   flow lists [a, b] and maps {a: b} (nested, may span lines),
--   comments, a leading "---" and a final "...",
--   null ~ true false yes no on off (any case as yaml.v2), integers
--   (decimal, 0x, 0o, 0b, leading 0 octal), floats, .inf, .nan.
-- Not supported: anchors and aliases (&a, *a), tags (!!str), multiple
-- documents, complex keys (? ), multi-line quoted scalars. They give an
-- error or read as plain text.
-- Maps decode to tables, lists to tables with the array metatable, null
-- to json.null. Pure functions; nothing here yields.
local value = require "infrakit.template.value"
local fmt = require "infrakit.template.fmt"

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

local function fail(lineno, msg) error(("yaml: line %d: %s"):format(lineno, msg), 0) end

local BOOLS = {
  y = true, Y = true, yes = true, Yes = true, YES = true, ["true"] = true, True = true, TRUE = true,
  on = true, On = true, ON = true,
  n = false, N = false, no = false, No = false, NO = false, ["false"] = false, False = false, FALSE = false,
  off = false, Off = false, OFF = false,
}

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
  if t:match("^[-+]?0[xX]%x+$") then
    local neg = t:sub(1, 1) == "-"
    local n = tonumber(t:gsub("^[-+]?0[xX]", ""), 16)
    return neg and -n or n
  end
  if t:match("^[-+]?0o[0-7]+$") then
    local neg = t:sub(1, 1) == "-"
    local n = tonumber(t:gsub("^[-+]?0o", ""), 8)
    return neg and -n or n
  end
  if t:match("^[-+]?0b[01]+$") then
    local neg = t:sub(1, 1) == "-"
    local n = tonumber(t:gsub("^[-+]?0b", ""), 2)
    return neg and -n or n
  end
  if t:match("^[-+]?%d*%.?%d+[eE]?[-+]?%d*$") or t:match("^[-+]?%d+%.%d*$") then
    local n = tonumber(t)
    if n then return n end
  end
  if t:match("^[-+]?%.[iI][nN][fF]$") then return t:sub(1, 1) == "-" and -math.huge or math.huge end
  if t:match("^%.[nN][aA][nN]$") then return 0 / 0 end
  return s
end

local dq_unesc = {
  n = "\n", t = "\t", r = "\r", ["0"] = "\0", ['"'] = '"', ["\\"] = "\\", ["/"] = "/", a = "\a",
  b = "\b", e = "\27", f = "\f", v = "\v", [" "] = " ", N = "\194\133", _ = "\194\160",
}

-- A double-quoted scalar starting at s[i]; returns the string and the
-- index after the closing quote.
local function read_dquoted(s, i, lineno)
  local out, j = {}, i + 1
  while true do
    local c = s:sub(j, j)
    if c == "" then fail(lineno, "found unterminated quoted scalar") end
    if c == '"' then return concat(out), j + 1 end
    if c == "\\" then
      local e = s:sub(j + 1, j + 1)
      if dq_unesc[e] then
        out[#out + 1] = dq_unesc[e]
        j = j + 2
      elseif e == "x" or e == "u" or e == "U" then
        local len = e == "x" and 2 or e == "u" and 4 or 8
        local hex = s:sub(j + 2, j + 1 + len)
        if not hex:match("^%x+$") or #hex ~= len then fail(lineno, "invalid escape in quoted scalar") end
        out[#out + 1] = fmt.utf8(tonumber(hex, 16))
        j = j + 2 + len
      else
        fail(lineno, "found unknown escape character while parsing a quoted scalar")
      end
    else
      out[#out + 1] = c
      j = j + 1
    end
  end
end

local function read_squoted(s, i, lineno)
  local out, j = {}, i + 1
  while true do
    local c = s:sub(j, j)
    if c == "" then fail(lineno, "found unterminated quoted scalar") end
    if c == "'" then
      if s:sub(j + 1, j + 1) == "'" then
        out[#out + 1] = "'"
        j = j + 2
      else
        return concat(out), j + 1
      end
    else
      out[#out + 1] = c
      j = j + 1
    end
  end
end

-- Removes a trailing comment (" #...") outside quotes.
local function strip_comment(s)
  local i, n = 1, #s
  local q
  while i <= n do
    local c = s:sub(i, i)
    if q then
      if c == "\\" and q == '"' then
        i = i + 1
      elseif c == q then
        q = nil
      end
    elseif c == '"' or c == "'" then
      if i == 1 or s:sub(i - 1, i - 1):match("[%s,%[{:]") then q = c end
    elseif c == "#" and (i == 1 or s:sub(i - 1, i - 1):match("%s")) then
      return (s:sub(1, i - 1):gsub("%s+$", ""))
    end
    i = i + 1
  end
  return (s:gsub("%s+$", ""))
end

-- Flow collections --------------------------------------------------------

local flow_value

local function skip_ws(s, i) return s:find("[^%s]", i) or #s + 1 end

local function flow_plain(s, i, in_key)
  local j = i
  local n = #s
  while j <= n do
    local c = s:sub(j, j)
    if c == "," or c == "]" or c == "}" then break end
    if c == ":" and (j == n or s:sub(j + 1, j + 1):match("[%s,%]}]")) then break end
    if c == "#" and s:sub(j - 1, j - 1):match("%s") then break end
    j = j + 1
  end
  local text = s:sub(i, j - 1):gsub("%s+$", "")
  return text, j
end

function flow_value(s, i, lineno)
  i = skip_ws(s, i)
  local c = s:sub(i, i)
  if c == "[" then
    local out = list({})
    i = skip_ws(s, i + 1)
    if s:sub(i, i) == "]" then return out, i + 1 end
    while true do
      local v
      v, i = flow_value(s, i, lineno)
      i = skip_ws(s, i)
      if s:sub(i, i) == ":" then -- a single-pair map inside a list
        local val
        val, i = flow_value(s, i + 1, lineno)
        v = { [type(v) == "string" and v or fmt.value(v)] = val }
        i = skip_ws(s, i)
      end
      out[#out + 1] = v
      local d = s:sub(i, i)
      if d == "]" then return out, i + 1 end
      if d ~= "," then fail(lineno, "did not find expected ',' or ']'") end
      i = skip_ws(s, i + 1)
      if s:sub(i, i) == "]" then return out, i + 1 end
    end
  elseif c == "{" then
    local out = {}
    i = skip_ws(s, i + 1)
    if s:sub(i, i) == "}" then return out, i + 1 end
    while true do
      local k
      k, i = flow_value(s, i, lineno)
      i = skip_ws(s, i)
      local v = null
      if s:sub(i, i) == ":" then
        v, i = flow_value(s, i + 1, lineno)
        i = skip_ws(s, i)
      end
      out[type(k) == "string" and k or fmt.value(k)] = v
      local d = s:sub(i, i)
      if d == "}" then return out, i + 1 end
      if d ~= "," then fail(lineno, "did not find expected ',' or '}'") end
      i = skip_ws(s, i + 1)
      if s:sub(i, i) == "}" then return out, i + 1 end
    end
  elseif c == '"' then
    return read_dquoted(s, i, lineno)
  elseif c == "'" then
    return read_squoted(s, i, lineno)
  end
  local text, j = flow_plain(s, i)
  return resolve(text), j
end

-- Block structure -----------------------------------------------------------

local D = {}
D.__index = D

-- The next line with content at or after self.i (skipping blanks and
-- comments); nil at the end.
function D:peek()
  local lines = self.lines
  while self.i <= #lines do
    local l = lines[self.i]
    if l.text ~= "" and l.text:sub(1, 1) ~= "#" then return l end
    self.i = self.i + 1
  end
  return nil
end

-- Where a "key:" ends in text (outside quotes), or nil if the line is not
-- a map entry. Returns the key and the rest after ":".
local function split_key(text, lineno)
  local c = text:sub(1, 1)
  local key, j
  if c == '"' then
    key, j = read_dquoted(text, 1, lineno)
  elseif c == "'" then
    key, j = read_squoted(text, 1, lineno)
  elseif c == "[" or c == "{" then
    return nil
  else
    local k = 1
    while true do
      k = text:find(":", k, true)
      if not k then return nil end
      local after = text:sub(k + 1, k + 1)
      if after == "" or after:match("%s") then break end
      k = k + 1
    end
    key, j = text:sub(1, k - 1):gsub("%s+$", ""), k
    if key:find(" #", 1, true) then return nil end
    if key == "" then return nil end
    if key == "<<" then fail(lineno, "merge keys (<<) are not supported") end
    return resolve(key), strip_comment(text:sub(j + 1)):gsub("^%s+", "")
  end
  local rest = text:sub(j)
  local colon = rest:match("^%s*:()")
  if not colon then return nil end
  local after = rest:sub(colon, colon)
  if after ~= "" and not after:match("%s") then return nil end
  return key, strip_comment(rest:sub(colon)):gsub("^%s+", "")
end

local function key_string(k)
  if type(k) == "string" then return k end
  if k == null then return "null" end
  return fmt.value(k)
end

-- A block scalar (| or >) whose header is hdr, body lines more indented
-- than parent.
function D:block_scalar(hdr, parent, lineno)
  local style, rest = hdr:sub(1, 1), strip_comment(hdr:sub(2))
  if not rest:match("^[-+]?%d?[-+]?$") then fail(lineno, "invalid block scalar header") end
  local chomp = rest:match("[-+]") or ""
  local explicit = rest:match("%d")
  local lines, raw = {}, self.raw
  local indent = explicit and parent + tonumber(explicit) or nil
  local j = self.i
  while j <= #raw do
    local r = raw[j]
    if r:match("^%s*$") then
      lines[#lines + 1] = ""
    else
      local sp = #r:match("^ *")
      if not indent then indent = sp end
      if sp < indent or sp <= parent then break end
      lines[#lines + 1] = r:sub(indent + 1)
    end
    j = j + 1
  end
  -- trailing blank lines belong to the scalar only when chomping is "+"
  local trailing = 0
  while #lines > 0 and lines[#lines] == "" do
    lines[#lines] = nil
    trailing = trailing + 1
  end
  self.i = j - trailing
  if #lines == 0 then return "" end
  local text
  if style == "|" then
    text = concat(lines, "\n")
  else
    -- folding: one line break between two text lines becomes a space;
    -- blank lines stay line breaks; more-indented lines keep theirs
    local folded, k = {}, 1
    while k <= #lines do
      local l = lines[k]
      folded[#folded + 1] = l
      if k < #lines then
        local blanks = 0
        while lines[k + 1 + blanks] == "" do blanks = blanks + 1 end
        if blanks > 0 then
          folded[#folded + 1] = string.rep("\n", blanks)
          k = k + blanks
        elseif l:match("^%s") or lines[k + 1]:match("^%s") then
          folded[#folded + 1] = "\n"
        else
          folded[#folded + 1] = " "
        end
      end
      k = k + 1
    end
    text = concat(folded)
  end
  if chomp == "-" then return text end
  if chomp == "+" then return text .. "\n" .. string.rep("\n", trailing) end
  return text .. "\n"
end

-- A scalar or flow value written after "key:" or "- " (text is the rest of
-- the line), possibly continuing on following lines more indented than
-- parent.
function D:inline(text, parent, lineno)
  local c = text:sub(1, 1)
  if c == "|" or c == ">" then return self:block_scalar(text, parent, lineno) end
  if c == "&" or c == "*" then fail(lineno, "anchors and aliases are not supported") end
  if c == "!" then fail(lineno, "tags are not supported") end
  if c == "[" or c == "{" then
    -- join following lines until the brackets balance
    local s = text
    local ok, v, j = pcall(flow_value, s, 1, lineno)
    while not ok and self:peek() do
      local l = self:peek()
      s = s .. " " .. strip_comment(l.text)
      self.i = self.i + 1
      ok, v, j = pcall(flow_value, s, 1, lineno)
    end
    if not ok then error(v, 0) end
    if skip_ws(s, j) <= #s then fail(lineno, "did not find expected <document start>") end
    return v
  end
  if c == '"' then
    local v, j = read_dquoted(text, 1, lineno)
    if strip_comment(text:sub(j)) ~= "" then fail(lineno, "did not find expected key") end
    return v
  end
  if c == "'" then
    local v, j = read_squoted(text, 1, lineno)
    if strip_comment(text:sub(j)) ~= "" then fail(lineno, "did not find expected key") end
    return v
  end
  text = strip_comment(text)
  -- a plain scalar may continue on more-indented lines
  local parts = { text }
  while true do
    local l = self:peek()
    if not l or l.indent <= parent or split_key(l.text, l.lineno) or l.text:match("^%-%s") or l.text == "-" then
      break
    end
    parts[#parts + 1] = strip_comment(l.text)
    self.i = self.i + 1
  end
  if #parts > 1 then return concat(parts, " ") end
  return resolve(text)
end

function D:node(indent)
  local l = self:peek()
  if not l or l.indent < indent then return null end
  if l.text:match("^%-%s") or l.text == "-" then return self:seq(l.indent) end
  local k = split_key(l.text, l.lineno)
  if k ~= nil then return self:map(l.indent) end
  self.i = self.i + 1
  return self:inline(l.text, l.indent - 1, l.lineno)
end

function D:seq(indent)
  local out = list({})
  while true do
    local l = self:peek()
    if not l or l.indent ~= indent or not (l.text:match("^%-%s") or l.text == "-") then break end
    local rest = l.text:sub(2):match("^%s*(.*)$")
    if rest == "" or rest:sub(1, 1) == "#" then
      self.i = self.i + 1
      local nx = self:peek()
      if nx and nx.indent > indent then out[#out + 1] = self:node(nx.indent) else out[#out + 1] = null end
    else
      -- the rest of the line is a node at a deeper indentation
      l.indent = indent + #l.text - #rest
      l.text = rest
      if rest:match("^%-%s") or rest == "-" or split_key(rest, l.lineno) ~= nil then
        out[#out + 1] = self:node(l.indent)
      else
        self.i = self.i + 1
        out[#out + 1] = self:inline(rest, indent, l.lineno)
      end
    end
  end
  return out
end

function D:map(indent)
  local out = {}
  while true do
    local l = self:peek()
    if not l or l.indent ~= indent then
      if l and l.indent > indent then fail(l.lineno, "mapping values are not allowed in this context") end
      break
    end
    local k, rest = split_key(l.text, l.lineno)
    if k == nil then
      if l.text:match("^%-%s") or l.text == "-" then break end
      fail(l.lineno, "could not find expected ':'")
    end
    self.i = self.i + 1
    local v
    if rest == "" then
      local nx = self:peek()
      if nx and nx.indent > indent then
        v = self:node(nx.indent)
      elseif nx and nx.indent == indent and (nx.text:match("^%-%s") or nx.text == "-") then
        v = self:seq(indent)
      else
        v = null
      end
    else
      v = self:inline(rest, indent, l.lineno)
    end
    out[key_string(k)] = v
  end
  return out
end

--- Decodes YAML text (the subset in the header). Returns the value (nil
--- for an empty document), or nil and a message "yaml: line N: ...".
---@param text string
---@return any value, string? message
function M.decode(text)
  local raw, lines = {}, {}
  local n = 0
  for line in (text:gsub("\r\n", "\n") .. "\n"):gmatch("([^\n]*)\n") do
    n = n + 1
    raw[n] = line
  end
  local first = 1
  while raw[first] and (raw[first]:match("^%s*$") or raw[first]:match("^%s*#") or raw[first]:match("^%%")) do
    first = first + 1
  end
  local start = 1
  if raw[first] and raw[first]:match("^%-%-%-%s*$") then start = first + 1 end
  if raw[first] and raw[first]:match("^%-%-%- ") then
    raw[first] = raw[first]:sub(5)
    start = first
  end
  local stop = n
  for i = start, n do
    if raw[i]:match("^%.%.%.%s*$") then stop = i - 1 break end
    if raw[i]:match("^%-%-%-") and i > start then
      return nil, ("yaml: line %d: multiple documents are not supported"):format(i)
    end
  end
  local kept = {}
  for i = 1, n do
    if i >= start and i <= stop then
      local line = raw[i]
      if line:match("^ *\t") then
        return nil, ("yaml: line %d: found character that cannot start any token"):format(i)
      end
      local sp = #line:match("^ *")
      lines[#lines + 1] = { indent = sp, text = (line:sub(sp + 1):gsub("%s+$", "")), lineno = i }
      kept[#kept + 1] = line
    end
  end
  -- raw lines aligned with lines[] for block scalars
  local self = setmetatable({ lines = lines, raw = kept, i = 1 }, D)
  local ok, v = pcall(function()
    local l = self:peek()
    if not l then return nil end
    local result = self:node(l.indent)
    local rest = self:peek()
    if rest then fail(rest.lineno, "did not find expected <document start>") end
    return result
  end)
  if not ok then
    if type(v) == "string" then return nil, v end
    error(v, 0)
  end
  return v
end

return M
