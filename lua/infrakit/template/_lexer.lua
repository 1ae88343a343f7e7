-- infrakit.template._lexer: splits template text into tokens, following Go's
-- text/template/parse/lex.go: text, delimiters (with "{{- " and " -}}" trim
-- markers), comments, and inside actions: spaces, | ( ) := = , strings
-- ("..." with Go escapes, `raw`), char constants ('a'), numbers, keywords,
-- identifiers, .Field, $var and dot.
--
-- lex(text, ldelim, rdelim) returns a list of tokens { t = type, v = value,
-- p = byte offset } ending with { t = "eof" }, or nil, message, offset.
-- Token types: text ld rd space pipe lp rp decl assign comma string char
-- number bool nil ident field var dot kw (v = the keyword) eof.
local fmt = require "infrakit.template._fmt"

local M = {}

local byte, sub, find = string.byte, string.sub, string.find

local keywords = {
  block = true, ["break"] = true, continue = true, define = true, ["else"] = true, ["end"] = true,
  ["if"] = true, range = true, template = true, with = true,
}

local function is_space(c) return c == 32 or c == 9 or c == 13 or c == 10 end
local function is_alnum(c)
  return c and (c == 95 or (c >= 48 and c <= 57) or (c >= 65 and c <= 90) or (c >= 97 and c <= 122) or c >= 128)
end

-- Error raised inside the lexer: caught by lex().
local function fail(msg, pos) error({ lex = true, msg = msg, pos = pos }, 0) end

local simple_escapes = {
  a = "\a", b = "\b", f = "\f", n = "\n", r = "\r", t = "\t", v = "\v",
  ["\\"] = "\\", ['"'] = '"', ["'"] = "'",
}

-- Decodes the body of a quoted string or char constant (Go's
-- strconv.Unquote rules); pos is for errors.
local function unescape(s, quote, pos)
  if not find(s, "\\", 1, true) then return s end
  local out, i, n = {}, 1, #s
  while i <= n do
    local c = sub(s, i, i)
    if c ~= "\\" then
      out[#out + 1] = c
      i = i + 1
    else
      local e = sub(s, i + 1, i + 1)
      if simple_escapes[e] and (e ~= "'" or quote == "'") and (e ~= '"' or quote == '"') then
        out[#out + 1] = simple_escapes[e]
        i = i + 2
      elseif e == "x" and sub(s, i + 2, i + 3):match("^%x%x$") then
        out[#out + 1] = string.char(tonumber(sub(s, i + 2, i + 3), 16))
        i = i + 4
      elseif e:match("^[0-7]$") and sub(s, i + 1, i + 3):match("^[0-7][0-7][0-7]$") then
        local v = tonumber(sub(s, i + 1, i + 3), 8)
        if v > 255 then fail("invalid syntax in quoted string", pos) end
        out[#out + 1] = string.char(v)
        i = i + 4
      elseif e == "u" and sub(s, i + 2, i + 5):match("^%x%x%x%x$") then
        out[#out + 1] = fmt.utf8(tonumber(sub(s, i + 2, i + 5), 16))
        i = i + 6
      elseif e == "U" and sub(s, i + 2, i + 9):match("^%x%x%x%x%x%x%x%x$") then
        out[#out + 1] = fmt.utf8(tonumber(sub(s, i + 2, i + 9), 16))
        i = i + 10
      else
        fail("invalid syntax in quoted string", pos)
      end
    end
  end
  return table.concat(out)
end

-- The position of the quote q (a byte) that closes the literal opened at
-- i, skipping backslash escapes; fails naming what when the line or the
-- text ends first.
local function closing_quote(text, i, q, what)
  local j = i + 1
  while true do
    local d = byte(text, j)
    if not d or d == 10 then fail("unterminated " .. what, i) end
    if d == 92 then j = j + 2 elseif d == q then return j else j = j + 1 end
  end
end

-- The bases of Go's prefixed integer literals (0x1F, 0o17, 0b101).
local PREFIX_BASE = { ["0x"] = 16, ["0o"] = 8, ["0b"] = 2 }

-- Go number literal text to a Lua number, or nil.
local function parse_number(text)
  local s = text:gsub("_", "")
  local sign = 1
  if s:sub(1, 1) == "-" then sign, s = -1, s:sub(2) elseif s:sub(1, 1) == "+" then s = s:sub(2) end
  local v
  local base = PREFIX_BASE[s:sub(1, 2):lower()]
  if base and not (base == 16 and s:find("[pP.]")) then
    v = tonumber(s:sub(3), base)
  elseif s:match("^0[0-7]+$") then
    v = tonumber(s, 8)
  elseif s:match("^%d*%.?%d*[eE]?[-+]?%d*$") then
    v = tonumber(s)
  end
  return v and sign * v
end
M.parse_number = parse_number

--- Tokenizes text; see the header.
---@param text string
---@param ldelim string|nil  default "{{"
---@param rdelim string|nil  default "}}"
---@return table|nil tokens, string? message, number? offset
function M.lex(text, ldelim, rdelim)
  ldelim, rdelim = ldelim or "{{", rdelim or "}}"
  local toks, nt = {}, 0
  local function emit(t, v, p)
    nt = nt + 1
    toks[nt] = { t = t, v = v, p = p }
  end
  local ld, rd = #ldelim, #rdelim
  local pos, n = 1, #text
  local trim_next = false -- trim leading space of the next text (after " -}}")

  -- Inside an action from i (just after the delimiter and any trim
  -- marker); returns the position after the closing delimiter.
  local function action(i, start)
    local depth = 0
    while true do
      -- At a right delimiter, with or without trim marker?
      if is_space(byte(text, i) or 0) and byte(text, i + 1) == 45 and sub(text, i + 2, i + 1 + rd) == rdelim then
        emit("rd", nil, i) -- " -}}" trims the space after it
        if depth > 0 then fail("unclosed left paren", start) end
        trim_next = true
        return i + 2 + rd
      end
      if sub(text, i, i + rd - 1) == rdelim then
        if depth > 0 then fail("unclosed left paren", start) end
        emit("rd", nil, i)
        return i + rd
      end
      local c = byte(text, i)
      if not c then fail("unclosed action", start) end
      if is_space(c) then
        local j = i
        while is_space(byte(text, j + 1) or 0) do j = j + 1 end
        -- leave the last space for a " -}}" that follows
        if byte(text, j + 1) == 45 and sub(text, j + 2, j + 1 + rd) == rdelim then
          if j > i then emit("space", nil, i) end
          i = j
        else
          emit("space", nil, i)
          i = j + 1
        end
      elseif c == 124 then -- |
        emit("pipe", nil, i)
        i = i + 1
      elseif c == 40 then -- (
        depth = depth + 1
        emit("lp", nil, i)
        i = i + 1
      elseif c == 41 then -- )
        depth = depth - 1
        if depth < 0 then fail("unexpected right paren", i) end
        emit("rp", nil, i)
        i = i + 1
      elseif c == 58 then -- :
        if byte(text, i + 1) ~= 61 then fail("expected :=", i) end
        emit("decl", nil, i)
        i = i + 2
      elseif c == 61 then -- =
        emit("assign", nil, i)
        i = i + 1
      elseif c == 44 then -- ,
        emit("comma", nil, i)
        i = i + 1
      elseif c == 34 then -- "
        local j = closing_quote(text, i, 34, "quoted string")
        emit("string", unescape(sub(text, i + 1, j - 1), '"', i), i)
        i = j + 1
      elseif c == 96 then -- `
        local j = find(text, "`", i + 1, true)
        if not j then fail("unterminated raw quoted string", i) end
        emit("string", (sub(text, i + 1, j - 1):gsub("\r", "")), i)
        i = j + 1
      elseif c == 39 then -- '
        local j = closing_quote(text, i, 39, "character constant")
        local s = unescape(sub(text, i + 1, j - 1), "'", i)
        local b1 = byte(s, 1)
        if not b1 then fail("empty character constant", i) end
        local cp = b1
        if b1 >= 0xC0 then -- decode one UTF-8 sequence
          local len = b1 >= 0xF0 and 4 or b1 >= 0xE0 and 3 or 2
          cp = b1 % (2 ^ (7 - len))
          for k = 2, len do cp = cp * 64 + (byte(s, k) or 128) % 64 end
          if #s ~= len then fail("malformed character constant", i) end
        elseif #s ~= 1 then
          fail("malformed character constant", i)
        end
        emit("number", cp, i)
        i = j + 1
      elseif c == 36 then -- $
        local j = i + 1
        while is_alnum(byte(text, j)) do j = j + 1 end
        emit("var", sub(text, i, j - 1), i)
        i = j
      elseif c == 46 then -- .
        local d = byte(text, i + 1)
        if d and d >= 48 and d <= 57 then
          local num = text:match("^%.[%d_]*[eE]?[-+]?[%d_]*", i)
          local v = parse_number(num)
          if not v or is_alnum(byte(text, i + #num)) then fail("bad number syntax: " .. num, i) end
          emit("number", v, i)
          i = i + #num
        elseif is_alnum(d) then
          local j = i + 1
          while is_alnum(byte(text, j)) do j = j + 1 end
          emit("field", sub(text, i + 1, j - 1), i)
          i = j
        else
          emit("dot", nil, i)
          i = i + 1
        end
      elseif (c >= 48 and c <= 57) or ((c == 43 or c == 45) and (byte(text, i + 1) or 0) >= 48
          and (byte(text, i + 1) or 0) <= 57) then
        local num = text:match("^[-+]?0[xX][%x_]+", i) or text:match("^[-+]?0[oObB][%d_]+", i)
          or text:match("^[-+]?[%d_]*%.?[%d_]*", i)
        local rest = text:match("^[eE][-+]?[%d_]+", i + #num)
        if rest and not num:find("^[-+]?0[xX]") then num = num .. rest end
        local v = parse_number(num)
        if not v or is_alnum(byte(text, i + #num)) then
          fail("bad number syntax: " .. (text:match("^[-+]?[%w_.]+", i) or num), i)
        end
        emit("number", v, i)
        i = i + #num
      elseif is_alnum(c) then
        local j = i
        while is_alnum(byte(text, j)) do j = j + 1 end
        local word = sub(text, i, j - 1)
        if keywords[word] then
          emit("kw", word, i)
        elseif word == "true" or word == "false" then
          emit("bool", word == "true", i)
        elseif word == "nil" then
          emit("nil", nil, i)
        else
          emit("ident", word, i)
        end
        i = j
      else
        fail(("unexpected %q in %s"):format(string.char(c), depth > 0 and "operand" or "command"), i)
      end
    end
  end

  local ok, err = pcall(function()
    while pos <= n do
      local s = find(text, ldelim, pos, true)
      local chunk = sub(text, pos, (s or n + 1) - 1)
      local tpos = pos
      if trim_next then
        local lead = chunk:match("^[ \t\r\n]*")
        chunk, tpos = sub(chunk, #lead + 1), tpos + #lead
        trim_next = false
      end
      local i
      if s then
        i = s + ld
        -- "{{- " trims the space before it
        if byte(text, i) == 45 and is_space(byte(text, i + 1) or 0) then
          chunk = chunk:gsub("[ \t\r\n]+$", "")
          i = i + 2
        end
      end
      if chunk ~= "" then emit("text", chunk, tpos) end
      if not s then break end
      -- a comment: {{/* ... */}}, possibly with trim markers
      if sub(text, i, i + 1) == "/*" then
        local e = find(text, "*/", i + 2, true)
        if not e then fail("unclosed comment", s) end
        local after = e + 2
        if sub(text, after, after + rd - 1) == rdelim then
          pos = after + rd
        elseif is_space(byte(text, after) or 0) and byte(text, after + 1) == 45
            and sub(text, after + 2, after + 1 + rd) == rdelim then
          pos = after + 2 + rd
          trim_next = true
        else
          fail("comment ends before closing delimiter", s)
        end
      else
        emit("ld", nil, s)
        pos = action(i, s)
      end
    end
    emit("eof", nil, n + 1)
  end)
  if not ok then
    if type(err) == "table" and err.lex then return nil, err.msg, err.pos end
    error(err, 0)
  end
  return toks
end

return M
