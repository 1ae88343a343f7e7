-- infrakit.template._parser: tokens to a parse tree, following Go's
-- text/template/parse/parse.go (same grammar, same checks, same messages
-- where Go has one).
--
-- parse(tokens, name) returns { templates = { [name] = list, ... },
-- order = { names in definition order }, nvars = count } or nil, message,
-- offset. Nodes are tables with a kind `k` and a byte offset `p`:
--   list     { items }
--   text     { text }
--   action   { pipe }
--   if/with  { pipe, list, else_list }
--   range    { pipe, list, else_list, id }       id numbers its loop (continue)
--   template { name, pipe? }
--   break/continue { id }                        the enclosing range's id
--   pipe     { decl = { var nodes }, assign, cmds }
--   cmd      { args }
--   field    { idents }          .A.B
--   var      { name, id, idents } $x.A ($ has id 0); id numbers the declaration
--   chain    { node, idents }    (pipeline).A
--   dot, nil, bool { v }, number { v }, string { v }, ident { name }
local M = {}

local Parser = {}
Parser.__index = Parser

local function fail(msg, pos) error({ parse = true, msg = msg, pos = pos }, 0) end

-- How deep blocks ({{if}}, {{range}}, {{else if}} chains...) and
-- parenthesised pipelines may nest, together. Go allows 10000 levels of
-- parentheses; here the parser and the compiler recurse in Lua, whose stack
-- overflows at a few thousand levels (found by spec/fuzz/fuzz_template.c),
-- and generated code nested beyond ~200 levels does not compile anyway.
local MAX_DEPTH = 1000
M.MAX_DEPTH = MAX_DEPTH

function Parser:enter(pos)
  self.depth = self.depth + 1
  if self.depth > MAX_DEPTH then fail(("nested more than %d levels deep"):format(MAX_DEPTH), pos) end
end

local describe = {
  text = "text", ld = "left delim", rd = "right delim", space = "space", pipe = "|", lp = "(",
  rp = ")", decl = ":=", assign = "=", comma = ",", string = "string", number = "number",
  bool = "bool", ["nil"] = "nil", ident = "identifier", field = "field", var = "variable",
  dot = ".", eof = "EOF",
}

local function tok_desc(tok)
  if tok.t == "kw" then return "<" .. tok.v .. ">" end
  if tok.t == "ident" or tok.t == "var" then return tok.v end
  if tok.t == "field" then return "." .. tok.v end
  if tok.t == "string" then return ("%q"):format(tok.v) end
  if tok.t == "number" or tok.t == "bool" then return tostring(tok.v) end
  return describe[tok.t] or tok.t
end

function Parser:next()
  local tok = self.toks[self.i]
  self.i = self.i + 1
  return tok
end

function Parser:backup(n) self.i = self.i - (n or 1) end

function Parser:peek() return self.toks[self.i] end

function Parser:next_non_space()
  local tok = self:next()
  while tok.t == "space" do tok = self:next() end
  return tok
end

function Parser:peek_non_space()
  local i = self.i
  while self.toks[i].t == "space" do i = i + 1 end
  return self.toks[i]
end

function Parser:unexpected(tok, context)
  if tok.t == "eof" then fail("unexpected EOF in " .. context, tok.p) end
  fail(("unexpected %s in %s"):format(tok_desc(tok), context), tok.p)
end

function Parser:expect(t, context)
  local tok = self:next_non_space()
  if tok.t ~= t then self:unexpected(tok, context) end
  return tok
end

-- Variables in scope: a stack of { name, id }.
function Parser:declare(name)
  self.nvars = self.nvars + 1
  self.vars[#self.vars + 1] = { name = name, id = self.nvars }
  return self.nvars
end

function Parser:lookup(name, pos)
  for i = #self.vars, 1, -1 do
    if self.vars[i].name == name then return self.vars[i].id end
  end
  fail(("undefined variable %q"):format(name), pos)
end

function Parser:pop_vars(n)
  for i = #self.vars, n + 1, -1 do self.vars[i] = nil end
end

-- term: one operand without field chain.
function Parser:term()
  local tok = self:next_non_space()
  local t = tok.t
  if t == "ident" then
    self.funcs_used[#self.funcs_used + 1] = { name = tok.v, p = tok.p }
    return { k = "ident", name = tok.v, p = tok.p }
  elseif t == "dot" then
    return { k = "dot", p = tok.p }
  elseif t == "nil" then
    return { k = "nil", p = tok.p }
  elseif t == "var" then
    return { k = "var", name = tok.v, id = self:lookup(tok.v, tok.p), idents = {}, p = tok.p }
  elseif t == "field" then
    return { k = "field", idents = { tok.v }, p = tok.p }
  elseif t == "bool" then
    return { k = "bool", v = tok.v, p = tok.p }
  elseif t == "number" then
    return { k = "number", v = tok.v, p = tok.p }
  elseif t == "string" then
    return { k = "string", v = tok.v, p = tok.p }
  elseif t == "lp" then
    local pipe = self:pipeline("parenthesized pipeline", "rp")
    pipe.p = tok.p
    return pipe
  end
  self:backup()
  return nil
end

-- operand: a term followed by .Field chain.
function Parser:operand()
  local node = self:term()
  if not node then return nil end
  if self:peek().t == "field" then
    local idents = {}
    while self:peek().t == "field" do idents[#idents + 1] = self:next().v end
    local k = node.k
    if k == "field" or k == "var" then
      for _, id in ipairs(idents) do node.idents[#node.idents + 1] = id end
    elseif k == "bool" or k == "string" or k == "number" or k == "nil" or k == "dot" then
      fail(("unexpected . after term %q"):format(k == "dot" and "." or tostring(node.v)), node.p)
    else
      node = { k = "chain", node = node, idents = idents, p = node.p }
    end
  end
  return node
end

function Parser:command()
  local cmd = { k = "cmd", args = {}, p = self:peek_non_space().p }
  while true do
    self:peek_non_space()
    local operand = self:operand()
    if operand then cmd.args[#cmd.args + 1] = operand end
    local tok = self:next()
    if tok.t == "rd" or tok.t == "rp" then
      self:backup()
      break
    elseif tok.t == "pipe" then
      break
    elseif tok.t ~= "space" then -- a space: on to the next operand
      self:unexpected(tok, "operand")
    end
  end
  if #cmd.args == 0 then fail("empty command", cmd.p) end
  return cmd
end

local operand_start = {
  bool = true, number = true, dot = true, field = true, ident = true, ["nil"] = true,
  string = true, var = true, lp = true,
}

function Parser:pipeline(context, stop)
  local pipe = { k = "pipe", decl = {}, cmds = {}, p = self:peek_non_space().p }
  self:enter(pipe.p)
  -- declarations or assignments: $x := ..., $x = ..., $i, $v := ...
  while self:peek_non_space().t == "var" do
    local save = self.i
    local v = self:next_non_space()
    local after = self:peek_non_space()
    if after.t == "decl" or after.t == "assign" then
      self:next_non_space()
      pipe.assign = after.t == "assign"
      pipe.decl[#pipe.decl + 1] = { k = "var", name = v.v, idents = {}, p = v.p }
      break
    elseif after.t == "comma" then
      self:next_non_space()
      pipe.decl[#pipe.decl + 1] = { k = "var", name = v.v, idents = {}, p = v.p }
      if context == "range" and #pipe.decl < 2 then
        local nx = self:peek_non_space().t
        if nx ~= "var" and nx ~= "rd" and nx ~= "rp" then fail("range can only initialize variables", v.p) end
      else
        fail("too many declarations in " .. context, v.p)
      end
    else
      self.i = save
      break
    end
  end
  if #pipe.decl > 0 and self.toks[self.i - 1].t ~= "decl" and self.toks[self.i - 1].t ~= "assign" then
    -- "$i, $v" not followed by := or =
    local tok = self:peek_non_space()
    fail(("unexpected %s in %s"):format(tok_desc(tok), context), tok.p)
  end
  while true do
    local tok = self:next_non_space()
    if tok.t == stop then
      if #pipe.cmds == 0 then fail("missing value for " .. context, pipe.p) end
      for i = 2, #pipe.cmds do
        local k = pipe.cmds[i].args[1].k
        if k == "bool" or k == "dot" or k == "nil" or k == "number" or k == "string" then
          fail(("non executable command in pipeline stage %d"):format(i), pipe.cmds[i].p)
        end
      end
      break
    elseif operand_start[tok.t] then
      self:backup()
      pipe.cmds[#pipe.cmds + 1] = self:command()
    else
      self:unexpected(tok, context)
    end
  end
  -- the declared names come into scope after the pipeline is evaluated
  for _, v in ipairs(pipe.decl) do
    if pipe.assign then v.id = self:lookup(v.name, v.p) else v.id = self:declare(v.name) end
  end
  self.depth = self.depth - 1
  return pipe
end

-- itemList: nodes up to {{end}} or {{else}}; returns the list and the
-- terminating node. Variables declared in the list go out of scope at its end.
function Parser:item_list(context)
  local list = { k = "list", items = {}, p = self:peek_non_space().p }
  local nvars = #self.vars
  while self:peek_non_space().t ~= "eof" do
    local node = self:text_or_action()
    if node.k == "end" or node.k == "else" then
      self:pop_vars(nvars)
      return list, node
    end
    list.items[#list.items + 1] = node
  end
  fail("unexpected EOF in " .. (context or "template"), self:peek().p)
end

function Parser:control(context)
  local nvars = #self.vars
  self:enter(self:peek().p)
  local pipe = self:pipeline(context, "rd")
  local node = { k = context, pipe = pipe, p = pipe.p }
  if context == "range" then
    self.nranges = self.nranges + 1
    node.id = self.nranges
    self.ranges[#self.ranges + 1] = node.id
  end
  local list, next = self:item_list(context)
  if context == "range" then self.ranges[#self.ranges] = nil end
  node.list = list
  if next.k == "else" then
    local nt = self:peek()
    if nt.t == "kw" and ((context == "if" and nt.v == "if") or (context == "with" and nt.v == "with")) then
      self:next()
      node.else_list = { k = "list", items = { self:control(context) }, p = next.p }
    else
      -- a range's variables are not set when its else branch runs
      if context == "range" then self:pop_vars(nvars) end
      local else_list, next2 = self:item_list(context)
      if next2.k ~= "end" then fail("expected end; found {{else}}", next2.p) end
      node.else_list = else_list
    end
  end
  self:pop_vars(nvars)
  self.depth = self.depth - 1
  return node
end

function Parser:template_name(tok, context)
  if tok.t ~= "string" then self:unexpected(tok, context) end
  return tok.v
end

function Parser:action()
  local tok = self:next_non_space()
  if tok.t == "kw" then
    local kw = tok.v
    if kw == "if" or kw == "range" or kw == "with" then
      return self:control(kw)
    elseif kw == "end" then
      self:expect("rd", "end")
      return { k = "end", p = tok.p }
    elseif kw == "else" then
      local nt = self:peek_non_space()
      if nt.t == "kw" and (nt.v == "if" or nt.v == "with") then
        self:next_non_space()
        self:backup()
        return { k = "else", p = tok.p }
      end
      self:expect("rd", "else")
      return { k = "else", p = tok.p }
    elseif kw == "break" or kw == "continue" then
      if #self.ranges == 0 then fail(("{{%s}} outside {{range}}"):format(kw), tok.p) end
      self:expect("rd", kw)
      return { k = kw, id = self.ranges[#self.ranges], p = tok.p }
    elseif kw == "template" then
      local name = self:template_name(self:next_non_space(), "template clause")
      local node = { k = "template", name = name, p = tok.p }
      if self:next_non_space().t ~= "rd" then
        self:backup()
        node.pipe = self:pipeline("template clause", "rd")
      end
      return node
    elseif kw == "block" then
      local name = self:template_name(self:next_non_space(), "block clause")
      local pipe = self:pipeline("block clause", "rd")
      local saved_vars, saved_ranges = self.vars, self.ranges
      self.vars, self.ranges = { { name = "$", id = 0 } }, {}
      local body, next = self:item_list("block clause")
      self.vars, self.ranges = saved_vars, saved_ranges
      if next.k ~= "end" then fail("unexpected {{else}} in block clause", next.p) end
      self:add(name, body, tok.p)
      return { k = "template", name = name, pipe = pipe, p = tok.p }
    elseif kw == "define" then
      fail("unexpected <define> in command", tok.p)
    end
  end
  self:backup()
  return { k = "action", pipe = self:pipeline("command", "rd"), p = tok.p }
end

function Parser:text_or_action()
  local tok = self:next_non_space()
  if tok.t == "text" then return { k = "text", text = tok.v, p = tok.p } end
  if tok.t == "ld" then return self:action() end
  self:unexpected(tok, "input")
end

-- Adds a named template; Go refuses two non-empty definitions of a name.
local function is_empty(list)
  for _, node in ipairs(list.items) do
    if node.k ~= "text" or node.text:find("%S") then return false end
  end
  return true
end

function Parser:add(name, list, pos)
  local old = self.templates[name]
  if old and not is_empty(old) and not is_empty(list) then
    fail(("template: multiple definition of template %q"):format(name), pos)
  end
  if not old then self.order[#self.order + 1] = name end
  if not old or not is_empty(list) then self.templates[name] = list end
end

function Parser:definition(pos)
  local tok = self:next_non_space()
  local name = self:template_name(tok, "define clause")
  self:expect("rd", "define clause")
  local saved = self.vars
  self.vars = { { name = "$", id = 0 } }
  local body, next = self:item_list("define clause")
  self.vars = saved
  if next.k ~= "end" then fail("unexpected {{else}} in define clause", next.p) end
  self:add(name, body, pos)
end

--- Parses tokens from the lexer into templates; see the header.
---@param toks table
---@param name string   the name of the top-level template
---@return table|nil tree, string? message, number? offset
function M.parse(toks, name)
  local self = setmetatable({
    toks = toks, i = 1, vars = { { name = "$", id = 0 } }, nvars = 0, ranges = {}, nranges = 0,
    templates = {}, order = {}, funcs_used = {}, depth = 0,
  }, Parser)
  local ok, err = pcall(function()
    local list = { k = "list", items = {}, p = 1 }
    while self:peek().t ~= "eof" do
      local tok = self:peek()
      local defined = false
      if tok.t == "ld" then
        self:next()
        local kw = self:next_non_space()
        if kw.t == "kw" and kw.v == "define" then
          self:definition(tok.p)
          defined = true
        else
          self.i = self.i - 1
          while self.toks[self.i].t ~= "ld" do self.i = self.i - 1 end
        end
      end
      if not defined then
        local node = self:text_or_action()
        if node.k == "end" or node.k == "else" then fail(("unexpected {{%s}}"):format(node.k), node.p) end
        list.items[#list.items + 1] = node
      end
    end
    -- the top-level text: a template of its own unless it is only
    -- definitions and space
    if not (self.templates[name] and is_empty(list)) then self:add(name, list, 1) end
  end)
  if not ok then
    if type(err) == "table" and err.parse then return nil, err.msg, err.pos end
    error(err, 0)
  end
  return { templates = self.templates, order = self.order, nvars = self.nvars, funcs_used = self.funcs_used }
end

return M
