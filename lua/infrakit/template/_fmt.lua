-- infrakit.template._fmt: Go's fmt for template values: %v printing,
-- Sprint/Sprintln, Sprintf with the common verbs, strconv.Quote.
--
-- One divergence, because Lua has one number type: an integral number
-- prints as an integer ("1000000"), where Go prints a JSON-decoded
-- float64 with %v as "1e+06". Other numbers print as Go's %v does
-- (shortest representation, exponent when < 1e-4 or >= 1e21).
-- Pure functions; nothing here yields.
local value = require "infrakit.template._value"

local null, array_mt = value.null, value.array_mt
local format, byte, char, concat = string.format, string.byte, string.char, table.concat
local floor, huge = math.floor, math.huge

local M = {}

-- Shortest decimal digits that read back as n (n finite, non-zero):
-- returns the digits (no dot) and the decimal exponent of the first one.
local function shortest(n)
  local s
  for p = 1, 17 do
    s = format("%." .. (p - 1) .. "e", n)
    if tonumber(s) == n then break end
  end
  local sign, int, frac, exp = s:match("^(-?)(%d)%.?(%d*)e([-+]%d+)$")
  local digits = (int .. frac):gsub("0+$", "")
  if digits == "" then digits = "0" end
  return sign, digits, tonumber(exp)
end

-- Digits and exponent as Go's %e ("1.5e+07", at least two exponent digits).
local function exp_form(sign, digits, exp)
  local m = digits:sub(1, 1)
  if #digits > 1 then m = m .. "." .. digits:sub(2) end
  local es = exp < 0 and "-" or "+"
  exp = math.abs(exp)
  return sign .. m .. "e" .. es .. (exp < 10 and "0" .. exp or tostring(exp))
end

-- Digits and exponent in plain decimal notation.
local function plain_form(sign, digits, exp)
  local nd = #digits
  if exp < 0 then
    return sign .. "0." .. string.rep("0", -exp - 1) .. digits
  elseif exp + 1 >= nd then
    return sign .. digits .. string.rep("0", exp + 1 - nd)
  end
  return sign .. digits:sub(1, exp + 1) .. "." .. digits:sub(exp + 2)
end

--- A number as %v prints it (see the header for integers).
---@param n number
---@return string
function M.number(n)
  if n ~= n then return "NaN" end
  if n == huge then return "+Inf" end
  if n == -huge then return "-Inf" end
  if n == floor(n) and n > -1e21 and n < 1e21 then
    if n > -2^53 and n < 2^53 then return format("%d", n) end
    return format("%.0f", n)
  end
  local sign, digits, exp = shortest(n)
  if exp < -4 or exp >= 21 then return exp_form(sign, digits, exp) end
  return plain_form(sign, digits, exp)
end

local value_of

-- %v of a table: Go prints slices as [a b] and maps as map[k:v] (sorted).
local function table_value(t)
  local mt = getmetatable(t)
  if mt and mt.__tostring then return tostring(t) end
  if mt == array_mt or t[1] ~= nil then
    local parts = {}
    for i = 1, #t do parts[i] = value_of(t[i]) end
    return "[" .. concat(parts, " ") .. "]"
  end
  local keys = value.sorted_keys(t)
  for i, k in ipairs(keys) do keys[i] = value_of(k) .. ":" .. value_of(t[k]) end
  return "map[" .. concat(keys, " ") .. "]"
end

--- Any value as Go's %v prints it; nil and JSON null are "<nil>".
---@param v any
---@return string
function value_of(v)
  local t = type(v)
  if t == "string" then return v end
  if t == "number" then return M.number(v) end
  if t == "boolean" then return v and "true" or "false" end
  if v == nil or v == null then return "<nil>" end
  if t == "table" then return table_value(v) end
  return tostring(v)
end
M.value = value_of

--- What an action {{ x }} prints: %v, and "<no value>" for a missing value.
---@param v any
---@return string
function M.print(v)
  if type(v) == "string" then return v end
  if v == nil then return "<no value>" end
  return value_of(v)
end

--- fmt.Sprint: operands as %v, a space between two operands when neither
--- is a string.
---@return string
function M.sprint(...)
  local n = select("#", ...)
  local out, prev_string = {}, true
  for i = 1, n do
    local v = select(i, ...)
    local is_string = type(v) == "string"
    if i > 1 and not is_string and not prev_string then out[#out + 1] = " " end
    out[#out + 1] = value_of(v)
    prev_string = is_string
  end
  return concat(out)
end

--- fmt.Sprintln: operands as %v separated by spaces, then a newline.
---@return string
function M.sprintln(...)
  local out = {}
  for i = 1, select("#", ...) do out[i] = value_of((select(i, ...))) end
  return concat(out, " ") .. "\n"
end

-- strconv.Quote, byte-wise: printable ASCII and valid UTF-8 stay, the
-- rest is escaped as Go does.
local quote_esc = {
  [7] = "\\a", [8] = "\\b", [12] = "\\f", [10] = "\\n", [13] = "\\r", [9] = "\\t", [11] = "\\v",
  [92] = "\\\\", [34] = '\\"',
}

--- strconv.Quote(s).
---@param s string
---@param q string|nil  the quote character (default '"')
---@return string
function M.quote(s, q)
  q = q or '"'
  local out, i, n = {}, 1, #s
  while i <= n do
    local c = byte(s, i)
    local len = c < 0x80 and 1 or c >= 0xF0 and 4 or c >= 0xE0 and 3 or c >= 0xC2 and 2 or 0
    if len > 1 and i + len - 1 <= n and not s:sub(i + 1, i + len - 1):find("[^\128-\191]") then
      out[#out + 1] = s:sub(i, i + len - 1)
      i = i + len
    else
      if c == byte(q) then
        out[#out + 1] = "\\" .. q
      elseif quote_esc[c] and (c ~= 34 or q == '"') then
        out[#out + 1] = quote_esc[c]
      elseif c < 32 or c == 127 or c >= 128 then
        out[#out + 1] = format("\\x%02x", c)
      else
        out[#out + 1] = char(c)
      end
      i = i + 1
    end
  end
  return q .. concat(out) .. q
end

-- UTF-8 encoding of a code point.
function M.utf8(cp)
  if cp < 0x80 then return char(cp) end
  if cp < 0x800 then return char(0xC0 + floor(cp / 64), 0x80 + cp % 64) end
  if cp < 0x10000 then
    return char(0xE0 + floor(cp / 4096), 0x80 + floor(cp / 64) % 64, 0x80 + cp % 64)
  end
  return char(0xF0 + floor(cp / 262144), 0x80 + floor(cp / 4096) % 64, 0x80 + floor(cp / 64) % 64, 0x80 + cp % 64)
end

-- Pads s to width with spaces (or zeros after any sign), as the flags say.
local function pad(s, flags, width, numeric)
  if not width or #s >= width then return s end
  if flags:find("-", 1, true) then return s .. string.rep(" ", width - #s) end
  if numeric and flags:find("0", 1, true) then
    local sign, rest = s:match("^([-+ ]?)(.*)$")
    return sign .. string.rep("0", width - #s) .. rest
  end
  return string.rep(" ", width - #s) .. s
end

local function bad_verb(verb, v)
  return "%!" .. verb .. "(" .. value.type_name(v) .. "=" .. value_of(v) .. ")"
end

-- An integer in base b (2, 8, 16), lower or upper case digits.
local function to_base(n, b, upper)
  local neg = n < 0
  n = math.abs(n)
  local digits = upper and "0123456789ABCDEF" or "0123456789abcdef"
  local out = {}
  repeat
    local d = n % b
    out[#out + 1] = digits:sub(d + 1, d + 1)
    n = (n - d) / b
  until n == 0
  return (neg and "-" or "") .. string.reverse(concat(out))
end

local function sign_flags(s, n, flags)
  if n >= 0 then
    if flags:find("+", 1, true) then return "+" .. s end
    if flags:find(" ", 1, true) then return " " .. s end
  end
  return s
end

-- One verb applied to one value; returns the text and whether it is numeric.
local function format_one(verb, flags, prec, v)
  local t = type(v)
  if verb == "v" then
    if t == "number" then return sign_flags(M.number(v), v, flags), true end
    return value_of(v)
  elseif verb == "s" then
    local s = value_of(v)
    if prec then s = s:sub(1, prec) end
    return s
  elseif verb == "q" then
    if t == "number" and v == floor(v) then return M.quote(M.utf8(v), "'") end
    if flags:find("#", 1, true) and t == "string" and not v:find("`", 1, true) then return "`" .. v .. "`" end
    return M.quote(value_of(v))
  elseif verb == "d" then
    if t ~= "number" or v ~= floor(v) then return bad_verb(verb, v) end
    return sign_flags(M.number(v), v, flags), true
  elseif verb == "t" then
    if t ~= "boolean" then return bad_verb(verb, v) end
    return tostring(v)
  elseif verb == "f" or verb == "F" or verb == "e" or verb == "E" or verb == "g" or verb == "G" then
    if t ~= "number" then return bad_verb(verb, v) end
    local s
    if (verb == "g" or verb == "G") and not prec then
      s = M.number(v)
      if verb == "G" then s = s:upper() end
    else
      s = format("%." .. (prec or 6) .. (verb == "F" and "f" or verb), v)
    end
    return sign_flags(s, v, flags), true
  elseif verb == "x" or verb == "X" or verb == "o" or verb == "b" then
    local base = (verb == "o" and 8) or (verb == "b" and 2) or 16
    if t == "number" and v == floor(v) then
      local s = to_base(v, base, verb == "X")
      if flags:find("#", 1, true) then
        s = (verb == "o" and "0" or verb == "b" and "0b" or verb == "X" and "0X" or "0x") .. s
      end
      return sign_flags(s, v, flags), true
    elseif t == "string" and base == 16 then
      return (v:gsub(".", function(c) return format(verb == "X" and "%02X" or "%02x", byte(c)) end))
    end
    return bad_verb(verb, v)
  elseif verb == "c" then
    if t ~= "number" then return bad_verb(verb, v) end
    return M.utf8(v)
  elseif verb == "T" then
    return value.type_name(v)
  elseif verb == "U" then
    if t ~= "number" then return bad_verb(verb, v) end
    return format("U+%04X", v)
  end
  return bad_verb(verb, v)
end

-- A width or precision at f[i]: "*" takes the next operand as it is,
-- digits give their number, neither gives default. Returns it, the next i
-- and the next operand's index.
local function read_count(f, i, args, argi, default)
  if f:sub(i, i) == "*" then return args[argi], i + 1, argi + 1 end
  local digits = f:match("^%d*", i)
  return tonumber(digits) or default, i + #digits, argi
end

--- fmt.Sprintf with the verbs v s q d t f F e E g G x X o b c U T and %%,
--- flags "+- #0", width and precision (digits or *). Missing operands
--- print "%!d(MISSING)", extra ones "%!(EXTRA type=value)" as in Go.
---@param f string
---@return string
function M.sprintf(f, ...)
  local args, nargs = { ... }, select("#", ...)
  local out, argi, i, n = {}, 1, 1, #f
  while i <= n do
    local pct = f:find("%", i, true)
    if not pct then
      out[#out + 1] = f:sub(i)
      break
    end
    if pct > i then out[#out + 1] = f:sub(i, pct - 1) end
    i = pct + 1
    local flags = f:match("^[-+# 0]*", i)
    i = i + #flags
    local width, prec
    width, i, argi = read_count(f, i, args, argi, nil)
    if f:sub(i, i) == "." then prec, i, argi = read_count(f, i + 1, args, argi, 0) end
    local verb = f:sub(i, i)
    i = i + 1
    if verb == "%" then
      out[#out + 1] = "%"
    elseif verb == "" then
      out[#out + 1] = "%!(NOVERB)"
    elseif argi > nargs then
      out[#out + 1] = "%!" .. verb .. "(MISSING)"
    else
      local s, numeric = format_one(verb, flags, prec, args[argi])
      argi = argi + 1
      out[#out + 1] = pad(s, flags, type(width) == "number" and width or nil, numeric)
    end
  end
  if argi <= nargs then
    local extra = {}
    for j = argi, nargs do extra[#extra + 1] = value.type_name(args[j]) .. "=" .. value_of(args[j]) end
    out[#out + 1] = "%!(EXTRA " .. concat(extra, ", ") .. ")"
  end
  return concat(out)
end

return M
