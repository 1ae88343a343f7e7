-- infrakit.jmespath: JMESPath (jmespath.org) for the template
-- function q, following the specification's grammar and the reference
-- implementation's evaluation (projections, flatten, filters, pipes).
--
-- Supported: identifiers (plain and "quoted"), subexpressions a.b, index
-- [n] (negative from the end), slices [a:b:c], list wildcard [*], object
-- wildcard .*, flatten [], filters [?expr] with == != < <= > >= && || !
-- and parentheses, current node @, literals `json` and 'raw', pipes |,
-- multiselect lists [a, b] and hashes {k: a}, expression references &expr,
-- and the functions abs avg ceil contains ends_with floor join keys length
-- map max max_by merge min min_by not_null reverse sort sort_by
-- starts_with sum to_array to_number to_string type values.
--
-- compile(text) returns an expression or nil, message; search(expr, data)
-- returns the result (nil for JMESPath null) and raises (error(msg, 0)) on
-- a function given wrong arguments. Pure functions; nothing here yields.
local value = require "infrakit.template._value"
local tjson = require "infrakit.json.go"

local null, list = value.null, value.list

local M = {}

-- Lexer ---------------------------------------------------------------------

local function lex(s)
  local toks, i, n = {}, 1, #s
  local function emit(t, v, p) toks[#toks + 1] = { t = t, v = v, p = p } end
  while i <= n do
    local c = s:sub(i, i)
    if c:match("%s") then
      i = i + 1
    elseif c:match("[%a_]") then
      local id = s:match("^[%a_][%w_]*", i)
      emit("unquoted_identifier", id, i)
      i = i + #id
    elseif c == "-" or c:match("%d") then
      local num = s:match("^-?%d+", i)
      if not num then error({ msg = "unknown token '-'", p = i }, 0) end
      emit("number", tonumber(num), i)
      i = i + #num
    elseif c == "." then emit("dot", nil, i); i = i + 1
    elseif c == "*" then emit("star", nil, i); i = i + 1
    elseif c == "]" then emit("rbracket", nil, i); i = i + 1
    elseif c == "," then emit("comma", nil, i); i = i + 1
    elseif c == ":" then emit("colon", nil, i); i = i + 1
    elseif c == "@" then emit("current", nil, i); i = i + 1
    elseif c == "(" then emit("lparen", nil, i); i = i + 1
    elseif c == ")" then emit("rparen", nil, i); i = i + 1
    elseif c == "{" then emit("lbrace", nil, i); i = i + 1
    elseif c == "}" then emit("rbrace", nil, i); i = i + 1
    elseif c == "[" then
      local d = s:sub(i + 1, i + 1)
      if d == "?" then emit("filter", nil, i); i = i + 2
      elseif d == "]" then emit("flatten", nil, i); i = i + 2
      else emit("lbracket", nil, i); i = i + 1 end
    elseif c == "|" then
      if s:sub(i + 1, i + 1) == "|" then emit("or", nil, i); i = i + 2 else emit("pipe", nil, i); i = i + 1 end
    elseif c == "&" then
      if s:sub(i + 1, i + 1) == "&" then emit("and", nil, i); i = i + 2 else emit("expref", nil, i); i = i + 1 end
    elseif c == "!" then
      if s:sub(i + 1, i + 1) == "=" then emit("ne", nil, i); i = i + 2 else emit("not", nil, i); i = i + 1 end
    elseif c == "<" or c == ">" then
      if s:sub(i + 1, i + 1) == "=" then
        emit(c == "<" and "lte" or "gte", nil, i); i = i + 2
      else
        emit(c == "<" and "lt" or "gt", nil, i); i = i + 1
      end
    elseif c == "=" then
      if s:sub(i + 1, i + 1) ~= "=" then error({ msg = "unknown token '='", p = i }, 0) end
      emit("eq", nil, i); i = i + 2
    elseif c == '"' then
      local j = i + 1
      while j <= n and s:sub(j, j) ~= '"' do j = j + (s:sub(j, j) == "\\" and 2 or 1) end
      if j > n then error({ msg = "unclosed quoted identifier", p = i }, 0) end
      local ok, id = pcall(tjson.decode, s:sub(i, j))
      if not ok then error({ msg = "invalid quoted identifier", p = i }, 0) end
      emit("quoted_identifier", id, i)
      i = j + 1
    elseif c == "'" then
      local j = i + 1
      while j <= n and s:sub(j, j) ~= "'" do j = j + (s:sub(j, j) == "\\" and 2 or 1) end
      if j > n then error({ msg = "unclosed raw string literal", p = i }, 0) end
      emit("literal", (s:sub(i + 1, j - 1):gsub("\\'", "'")), i)
      i = j + 1
    elseif c == "`" then
      local j = i + 1
      while j <= n and s:sub(j, j) ~= "`" do j = j + (s:sub(j, j) == "\\" and 2 or 1) end
      if j > n then error({ msg = "unclosed JSON literal", p = i }, 0) end
      local text = s:sub(i + 1, j - 1):gsub("\\`", "`")
      local ok, v = pcall(tjson.decode, text)
      if not ok then
        -- legacy: an unquoted literal is a string
        ok, v = pcall(tjson.decode, tjson.quote((text:gsub("^%s+", ""):gsub("%s+$", ""))))
        if not ok then error({ msg = "invalid JSON literal", p = i }, 0) end
      end
      emit("literal", v, i)
      i = j + 1
    else
      error({ msg = ("unknown token %q"):format(c), p = i }, 0)
    end
  end
  emit("eof", nil, n + 1)
  return toks
end

-- Parser (Pratt, as the reference implementation) ---------------------------

local BP = {
  eof = 0, unquoted_identifier = 0, quoted_identifier = 0, literal = 0, rbracket = 0, rparen = 0,
  comma = 0, rbrace = 0, number = 0, current = 0, expref = 0, colon = 0,
  pipe = 1, ["or"] = 2, ["and"] = 3, eq = 5, gt = 5, lt = 5, gte = 5, lte = 5, ne = 5,
  flatten = 9, star = 20, filter = 21, dot = 40, ["not"] = 45, lbrace = 50, lbracket = 55, lparen = 60,
}
local PROJECTION_STOP = 10

local P = {}
P.__index = P

function P:cur() return self.toks[self.i].t end
function P:look(k) return self.toks[self.i + (k or 0)] end
function P:advance() self.i = self.i + 1 end
function P:fail(msg, tok)
  tok = tok or self:look()
  error({ msg = msg, p = tok.p }, 0)
end
function P:match(t)
  if self:cur() ~= t then self:fail(("expected %s, got %s"):format(t, self:cur())) end
  self:advance()
end

local function node(t, children, v) return { t = t, c = children or {}, v = v } end
local IDENTITY = node("identity")

function P:expression(bp)
  bp = bp or 0
  local tok = self:look()
  self:advance()
  local nud = self["nud_" .. tok.t]
  if not nud then self:fail(("unexpected token %s"):format(tok.t), tok) end
  local left = nud(self, tok)
  while bp < (BP[self:cur()] or 0) do
    local t = self:cur()
    local led = self["led_" .. t]
    if not led then self:fail(("unexpected token %s"):format(t)) end
    self:advance()
    left = led(self, left)
  end
  return left
end

function P:nud_literal(tok) return node("literal", nil, tok.v) end
function P:nud_unquoted_identifier(tok) return node("field", nil, tok.v) end
function P:nud_quoted_identifier(tok)
  if self:cur() == "lparen" then self:fail("quoted identifier not allowed for function names") end
  return node("field", nil, tok.v)
end
function P:nud_star()
  local right = IDENTITY
  if self:cur() ~= "rbracket" then right = self:projection_rhs(BP.star) end
  return node("value_projection", { IDENTITY, right })
end
function P:nud_filter() return self:led_filter(IDENTITY) end
function P:nud_lbrace() return self:multi_select_hash() end
function P:nud_lparen()
  local e = self:expression()
  self:match("rparen")
  return e
end
function P:nud_flatten()
  local left = node("flatten", { IDENTITY })
  return node("projection", { left, self:projection_rhs(BP.flatten) })
end
function P:nud_not() return node("not", { self:expression(BP["not"]) }) end
function P:nud_lbracket()
  local t = self:cur()
  if t == "number" or t == "colon" then
    return self:project_if_slice(IDENTITY, self:index_expression())
  elseif t == "star" and self:look(1).t == "rbracket" then
    self:advance()
    self:advance()
    return node("projection", { IDENTITY, self:projection_rhs(BP.star) })
  end
  return self:multi_select_list()
end
function P:nud_current() return node("current") end
function P:nud_expref() return node("expref", { self:expression(BP.expref) }) end

function P:index_expression()
  if self:look(0).t == "colon" or self:look(1).t == "colon" then return self:slice_expression() end
  local n = self:look().v
  self:match("number")
  self:match("rbracket")
  return node("index", nil, n)
end

function P:slice_expression()
  local parts, idx = {}, 1
  while self:cur() ~= "rbracket" and idx <= 3 do
    local t = self:cur()
    if t == "colon" then
      idx = idx + 1
      if idx > 3 then self:fail("too many colons in slice") end
      self:advance()
    elseif t == "number" then
      parts[idx] = self:look().v
      self:advance()
    else
      self:fail("unexpected token in slice: " .. t)
    end
  end
  self:match("rbracket")
  return node("slice", nil, { parts[1], parts[2], parts[3] })
end

function P:project_if_slice(left, right)
  local ie = node("index_expression", { left, right })
  if right.t == "slice" then return node("projection", { ie, self:projection_rhs(BP.star) }) end
  return ie
end

function P:led_dot(left)
  if self:cur() ~= "star" then
    local right = self:dot_rhs(BP.dot)
    if left.t == "subexpression" then
      left.c[#left.c + 1] = right
      return left
    end
    return node("subexpression", { left, right })
  end
  self:advance()
  return node("value_projection", { left, self:projection_rhs(BP.dot) })
end
function P:led_pipe(left) return node("pipe", { left, self:expression(BP.pipe) }) end
P["led_or"] = function(self, left) return node("or", { left, self:expression(BP["or"]) }) end
P["led_and"] = function(self, left) return node("and", { left, self:expression(BP["and"]) }) end
function P:led_lparen(left)
  if left.t ~= "field" then self:fail("invalid function name") end
  local argv = {}
  while self:cur() ~= "rparen" do
    argv[#argv + 1] = self:expression()
    if self:cur() == "comma" then self:match("comma") end
  end
  self:match("rparen")
  return node("function", argv, left.v)
end
function P:led_filter(left)
  local cond = self:expression(0)
  self:match("rbracket")
  local right = IDENTITY
  if self:cur() ~= "flatten" then right = self:projection_rhs(BP.filter) end
  return node("filter_projection", { left, right, cond })
end
for _, op in ipairs { "eq", "ne", "lt", "lte", "gt", "gte" } do
  P["led_" .. op] = function(self, left) return node("comparator", { left, self:expression(BP[op]) }, op) end
end
function P:led_flatten(left)
  return node("projection", { node("flatten", { left }), self:projection_rhs(BP.flatten) })
end
function P:led_lbracket(left)
  local t = self:cur()
  if t == "number" or t == "colon" then
    local right = self:index_expression()
    if left.t == "index_expression" then
      left.c[#left.c + 1] = right
      return left
    end
    return self:project_if_slice(left, right)
  end
  self:match("star")
  self:match("rbracket")
  return node("projection", { left, self:projection_rhs(BP.star) })
end

function P:multi_select_list()
  local exprs = {}
  while true do
    exprs[#exprs + 1] = self:expression()
    if self:cur() == "rbracket" then break end
    self:match("comma")
  end
  self:match("rbracket")
  return node("multi_select_list", exprs)
end

function P:multi_select_hash()
  local pairs_ = {}
  while true do
    local key = self:look()
    if key.t ~= "quoted_identifier" and key.t ~= "unquoted_identifier" then
      self:fail("expected an identifier as a multiselect hash key", key)
    end
    self:advance()
    self:match("colon")
    pairs_[#pairs_ + 1] = { key = key.v, node = self:expression(0) }
    if self:cur() == "comma" then
      self:match("comma")
    elseif self:cur() == "rbrace" then
      self:match("rbrace")
      break
    else
      self:fail("expected , or } in multiselect hash")
    end
  end
  return node("multi_select_hash", nil, pairs_)
end

function P:projection_rhs(bp)
  local t = self:cur()
  if (BP[t] or 0) < PROJECTION_STOP then return IDENTITY end
  if t == "lbracket" or t == "filter" then return self:expression(bp) end
  if t == "dot" then
    self:match("dot")
    return self:dot_rhs(bp)
  end
  self:fail("syntax error: unexpected " .. t .. " after a projection")
end

function P:dot_rhs(bp)
  local t = self:cur()
  if t == "quoted_identifier" or t == "unquoted_identifier" or t == "star" then return self:expression(bp) end
  if t == "lbracket" then
    self:match("lbracket")
    return self:multi_select_list()
  end
  if t == "lbrace" then
    self:match("lbrace")
    return self:multi_select_hash()
  end
  self:fail("syntax error: expected an identifier, [ or { after .")
end

--- Compiles a JMESPath expression. Returns it, or nil and a message
--- naming the column: `SyntaxError: ... (column 4 of "a[?")`.
---@param text string
---@return table|nil expr, string? message
function M.compile(text)
  local ok, res = pcall(function()
    local p = setmetatable({ toks = lex(text), i = 1 }, P)
    local ast = p:expression(0)
    if p:cur() ~= "eof" then p:fail("unexpected token " .. p:cur()) end
    return ast
  end)
  if ok then return res end
  if type(res) == "table" then
    return nil, ("SyntaxError: %s (column %d of %q)"):format(res.msg, res.p, text)
  end
  error(res, 0)
end

-- Evaluation -----------------------------------------------------------------

local function is_null(v) return v == nil or v == null end
local function is_array(v)
  return type(v) == "table" and (getmetatable(v) == value.array_mt or v[1] ~= nil or next(v) == nil)
end
local function is_object(v)
  return type(v) == "table" and getmetatable(v) ~= value.array_mt and v[1] == nil
    and not (getmetatable(v) and getmetatable(v).__template_kind)
end

local function is_false(v)
  return v == nil or v == null or v == false or v == "" or (type(v) == "table" and next(v) == nil)
end

local function jtype(v)
  local t = type(v)
  if is_null(v) then return "null" end
  if t == "string" or t == "number" or t == "boolean" then return t end
  if t == "table" then
    if getmetatable(v) == value.array_mt or v[1] ~= nil then return "array" end
    if next(v) == nil then return "array" end -- an empty table: either; call it an array
    return "object"
  end
  return t
end

local eval

local function compare(op, a, b)
  if op == "eq" then return value.equal(is_null(a) and null or a, is_null(b) and null or b) end
  if op == "ne" then return not value.equal(is_null(a) and null or a, is_null(b) and null or b) end
  if type(a) ~= "number" or type(b) ~= "number" then return nil end
  if op == "lt" then return a < b end
  if op == "lte" then return a <= b end
  if op == "gt" then return a > b end
  return a >= b
end

-- A projection: rhs evaluated on each of items (those for which filter,
-- when given, is true), the null results dropped.
local function project(items, rhs, filter)
  local out = {}
  for _, e in ipairs(items) do
    if not filter or not is_false(eval(filter, e)) then
      local r = eval(rhs, e)
      if not is_null(r) then out[#out + 1] = r end
    end
  end
  return list(out)
end

local functions = {}

local function call_function(name, argv, nargs)
  local f = functions[name]
  if not f then error(("unknown function: %s()"):format(name), 0) end
  return f(argv, nargs)
end

function eval(n, v)
  local t = n.t
  if t == "field" then
    if type(v) == "table" and is_object(v) then return v[n.v] end
    return nil
  elseif t == "subexpression" or t == "index_expression" or t == "pipe" then
    for _, child in ipairs(n.c) do v = eval(child, v) end
    return v
  elseif t == "identity" or t == "current" then
    return v
  elseif t == "literal" then
    return n.v
  elseif t == "index" then
    if not is_array(v) then return nil end
    local i = n.v
    if i < 0 then i = #v + i end
    return v[i + 1]
  elseif t == "slice" then
    if not is_array(v) then return nil end
    local start, stop, step = n.v[1], n.v[2], n.v[3] or 1
    if step == 0 then error("invalid value: slice step cannot be 0", 0) end
    local len = #v
    local function cap(x, default)
      if x == nil then return default end
      if x < 0 then
        x = x + len
        if x < 0 then x = step < 0 and -1 or 0 end
      elseif x >= len then
        x = step < 0 and len - 1 or len
      end
      return x
    end
    start = cap(start, step < 0 and len - 1 or 0)
    stop = cap(stop, step < 0 and -1 or len)
    local out = {}
    local i = start
    while (step > 0 and i < stop) or (step < 0 and i > stop) do
      out[#out + 1] = v[i + 1]
      i = i + step
    end
    return list(out)
  elseif t == "projection" then
    local base = eval(n.c[1], v)
    if not is_array(base) then return nil end
    return project(base, n.c[2])
  elseif t == "value_projection" then
    local base = eval(n.c[1], v)
    if not is_object(base) then return nil end
    local values = {}
    for i, k in ipairs(value.sorted_keys(base)) do values[i] = base[k] end
    return project(values, n.c[2])
  elseif t == "filter_projection" then
    local base = eval(n.c[1], v)
    if not is_array(base) then return nil end
    return project(base, n.c[2], n.c[3])
  elseif t == "flatten" then
    local base = eval(n.c[1], v)
    if not is_array(base) then return nil end
    local out = {}
    for _, e in ipairs(base) do
      if is_array(e) and type(e) == "table" then
        for _, x in ipairs(e) do out[#out + 1] = x end
      else
        out[#out + 1] = e
      end
    end
    return list(out)
  elseif t == "comparator" then
    return compare(n.v, eval(n.c[1], v), eval(n.c[2], v))
  elseif t == "or" then
    local r = eval(n.c[1], v)
    if is_false(r) then r = eval(n.c[2], v) end
    return r
  elseif t == "and" then
    local r = eval(n.c[1], v)
    if is_false(r) then return r end
    return eval(n.c[2], v)
  elseif t == "not" then
    return is_false(eval(n.c[1], v))
  elseif t == "multi_select_list" then
    if is_null(v) then return nil end
    local out = {}
    for i, child in ipairs(n.c) do
      local r = eval(child, v)
      out[i] = r == nil and null or r
    end
    return list(out)
  elseif t == "multi_select_hash" then
    if is_null(v) then return nil end
    local out = {}
    for _, kv in ipairs(n.v) do
      local r = eval(kv.node, v)
      out[kv.key] = r == nil and null or r
    end
    return out
  elseif t == "expref" then
    return { expref = n.c[1] }
  elseif t == "function" then
    local argv, nargs = {}, #n.c
    for i, child in ipairs(n.c) do
      if child.t == "expref" then argv[i] = { expref = child.c[1] } else argv[i] = eval(child, v) end
    end
    return call_function(n.v, argv, nargs)
  end
  error("jmespath: unknown node " .. tostring(t), 0)
end

--- Evaluates a compiled expression against data.
---@param expr table
---@param data any
---@return any
function M.search(expr, data)
  return eval(expr, data)
end

-- Functions -------------------------------------------------------------------

local function want(name, argv, nargs, types)
  if nargs ~= #types and not types.variadic then
    error(("invalid arity: %s() takes %d argument(s), got %d"):format(name, #types, nargs), 0)
  end
  for i, ty in ipairs(types) do
    local jt = type(argv[i]) == "table" and argv[i].expref and "expref" or jtype(argv[i])
    local ok = false
    for alt in ty:gmatch("[^|]+") do
      if alt == "any" or alt == jt then ok = true end
      if alt == "array" and jt == "object" and next(argv[i]) == nil then ok = true end
    end
    if not ok then
      error(("invalid type for argument %d of %s(): expected %s, got %s"):format(i, name, ty, jt), 0)
    end
  end
end

local function fn(name, types, impl)
  functions[name] = function(argv, nargs)
    want(name, argv, nargs, types)
    return impl(argv, nargs)
  end
end

local function sort_values(arr, keyf)
  local items = {}
  local kind
  for i, e in ipairs(arr) do
    local k = keyf and keyf(e) or e
    local jt = jtype(k)
    if jt ~= "number" and jt ~= "string" then error("invalid type: sort needs numbers or strings", 0) end
    kind = kind or jt
    if jt ~= kind then error("invalid type: sort needs elements of one type", 0) end
    items[i] = { k = k, v = e, i = i }
  end
  table.sort(items, function(a, b)
    if a.k == b.k then return a.i < b.i end
    return a.k < b.k
  end)
  local out = {}
  for i, it in ipairs(items) do out[i] = it.v end
  return list(out)
end

local function by(argv)
  local expr = argv[2].expref
  return function(e) return eval(expr, e) end
end

fn("abs", { "number" }, function(a) return math.abs(a[1]) end)
fn("avg", { "array" }, function(a)
  if #a[1] == 0 then return nil end
  local s = 0
  for _, x in ipairs(a[1]) do
    if type(x) ~= "number" then error("invalid type: avg() needs an array of numbers", 0) end
    s = s + x
  end
  return s / #a[1]
end)
fn("ceil", { "number" }, function(a) return math.ceil(a[1]) end)
fn("floor", { "number" }, function(a) return math.floor(a[1]) end)
fn("contains", { "array|string", "any" }, function(a)
  if type(a[1]) == "string" then
    return type(a[2]) == "string" and a[1]:find(a[2], 1, true) ~= nil
  end
  for _, x in ipairs(a[1]) do if value.equal(x, a[2]) then return true end end
  return false
end)
fn("ends_with", { "string", "string" }, function(a) return a[2] == "" or a[1]:sub(-#a[2]) == a[2] end)
fn("starts_with", { "string", "string" }, function(a) return a[1]:sub(1, #a[2]) == a[2] end)
fn("join", { "string", "array" }, function(a)
  for _, x in ipairs(a[2]) do
    if type(x) ~= "string" then error("invalid type: join() needs an array of strings", 0) end
  end
  return table.concat(a[2], a[1])
end)
fn("keys", { "object" }, function(a) return list(value.sorted_keys(a[1])) end)
fn("values", { "object" }, function(a)
  local out = {}
  for _, k in ipairs(value.sorted_keys(a[1])) do out[#out + 1] = a[1][k] end
  return list(out)
end)
fn("length", { "string|array|object" }, function(a) return value.len(a[1]) end)
fn("map", { "expref", "array" }, function(a)
  local out = {}
  for i, e in ipairs(a[2]) do
    local r = eval(a[1].expref, e)
    out[i] = r == nil and null or r
  end
  return list(out)
end)
local function extreme(a, keyf, better)
  local best, bestk
  for _, e in ipairs(a[1]) do
    local k = keyf and keyf(e) or e
    if type(k) ~= "number" and type(k) ~= "string" then error("invalid type: max/min need numbers or strings", 0) end
    if bestk == nil or better(k, bestk) then best, bestk = e, k end
  end
  return best
end
fn("max", { "array" }, function(a) return extreme(a, nil, function(x, y) return x > y end) end)
fn("min", { "array" }, function(a) return extreme(a, nil, function(x, y) return x < y end) end)
fn("max_by", { "array", "expref" }, function(a) return extreme(a, by(a), function(x, y) return x > y end) end)
fn("min_by", { "array", "expref" }, function(a) return extreme(a, by(a), function(x, y) return x < y end) end)
fn("merge", { "object", variadic = true }, function(a, n)
  local out = {}
  for i = 1, n do
    if not is_object(a[i]) then error("invalid type: merge() needs objects", 0) end
    for k, x in pairs(a[i]) do out[k] = x end
  end
  return out
end)
fn("not_null", { "any", variadic = true }, function(a, n)
  for i = 1, n do if not is_null(a[i]) then return a[i] end end
  return nil
end)
fn("reverse", { "string|array" }, function(a)
  if type(a[1]) == "string" then return a[1]:reverse() end
  local out = {}
  for i = #a[1], 1, -1 do out[#out + 1] = a[1][i] end
  return list(out)
end)
fn("sort", { "array" }, function(a) return sort_values(a[1]) end)
fn("sort_by", { "array", "expref" }, function(a) return sort_values(a[1], by(a)) end)
fn("sum", { "array" }, function(a)
  local s = 0
  for _, x in ipairs(a[1]) do
    if type(x) ~= "number" then error("invalid type: sum() needs an array of numbers", 0) end
    s = s + x
  end
  return s
end)
fn("to_array", { "any" }, function(a)
  if jtype(a[1]) == "array" then return a[1] end
  return list({ a[1] == nil and null or a[1] })
end)
fn("to_number", { "any" }, function(a)
  if type(a[1]) == "number" then return a[1] end
  if type(a[1]) == "string" then return tonumber(a[1]) end
  return nil
end)
fn("to_string", { "any" }, function(a)
  if type(a[1]) == "string" then return a[1] end
  return tjson.encode(a[1] == nil and null or a[1])
end)
fn("type", { "any" }, function(a)
  local jt = jtype(a[1])
  return jt
end)

return M
