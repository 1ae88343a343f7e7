-- infrakit.template._compiler: parse tree to Lua source, loaded once.
--
-- Why generate source rather than build closures: each template becomes
-- one plain Lua function whose Go variables are Lua locals, whose range is
-- a numeric for loop, whose text is string constants appended to a local
-- buffer, and whose calls go straight to the function table. LuaJIT traces
-- and compiles that like hand-written code; a tree of closures would pay
-- an indirect call per node on every render and defeat the tracer at every
-- node boundary. Parsing and compiling happen once per template; renders
-- only run the generated function.
--
-- The generated chunk runs with an environment that refuses every global
-- (it reaches the runtime only through R), is called with the runtime
-- table R (see runtime.lua) and returns { [name] = function(S, dot) -> string } for every template
-- of the set. S is the render state: S.F the function table, S.pos the
-- index of the call being made (for error messages).
local M = {}

local format, byte, concat = string.format, string.byte, table.concat

-- A Lua string literal for s (control bytes, quotes and backslashes escaped).
local function lua_string(s)
  return '"' .. s:gsub('[%c"\\]', function(c) return format("\\%03d", byte(c)) end) .. '"'
end

local function lua_number(v)
  if v ~= v then return "(0/0)" end
  if v == math.huge then return "(1/0)" end
  if v == -math.huge then return "(-1/0)" end
  if v == math.floor(v) and math.abs(v) < 2^53 then return format("%d", v) end
  return format("%.17g", v)
end

local C = {}
C.__index = C

function C:emit(line)
  local out = self.out
  out[#out + 1] = string.rep("  ", self.depth) .. line
end

function C:tmp()
  self.ntmp = self.ntmp + 1
  return "t" .. self.ntmp
end

-- Registers a source position (and the function called there) and returns
-- its index, which the generated code passes on for error messages.
function C:pos(p, name)
  local positions = self.positions
  positions[#positions + 1] = { p = p, name = name }
  return #positions
end

local function var_name(id) return id == 0 and "root" or ("v" .. id) end

function C:fields(expr, idents, p)
  local f = self.strict and "fieldx" or "field"
  for _, id in ipairs(idents) do
    expr = format("%s(%s, %s, %d)", f, expr, lua_string(id), self:pos(p, id))
  end
  return expr
end

-- An argument: returns a Lua expression (statements it needs are emitted).
function C:arg(node)
  local k = node.k
  if k == "dot" then return "dot" end
  if k == "nil" then return "nil" end
  if k == "bool" then return node.v and "true" or "false" end
  if k == "number" then return lua_number(node.v) end
  if k == "string" then return lua_string(node.v) end
  if k == "field" then return self:fields("dot", node.idents, node.p) end
  if k == "var" then return self:fields(var_name(node.id), node.idents, node.p) end
  if k == "chain" then return self:fields(self:arg(node.node), node.idents, node.p) end
  if k == "pipe" then return self:pipe_value(node) end
  if k == "ident" then return self:call(node, {}, nil) end
  error("compiler: unexpected node " .. tostring(k))
end

-- A call of function node.name with argument nodes args (and a piped value).
function C:call(fn, args, final)
  local name = fn.name
  if name == "and" or name == "or" then return self:and_or(fn, args, final) end
  self.used[#self.used + 1] = { name = name, p = fn.p }
  local vals = {}
  for i, a in ipairs(args) do vals[i] = self:arg(a) end
  if final then vals[#vals + 1] = final end
  local t = self:tmp()
  self:emit(format("S.pos = %d", self:pos(fn.p, name)))
  self:emit(format("local %s = F[%s](%s)", t, lua_string(name), concat(vals, ", ")))
  return t
end

-- Go's and/or: short-circuit, return the deciding operand.
function C:and_or(fn, args, final)
  local name = fn.name
  local t = self:tmp()
  local operands = {}
  for i, a in ipairs(args) do operands[i] = a end
  if final then operands[#operands + 1] = { k = "lua", expr = final } end
  if #operands == 0 then
    self:emit(format("S.pos = %d", self:pos(fn.p, name)))
    self:emit(format('R.raise("wrong number of args for %s: want at least 1 got 0", nil, %d)', name,
      self:pos(fn.p, name)))
    return "nil"
  end
  local function value(node)
    if node.k == "lua" then return node.expr end
    return self:arg(node)
  end
  self:emit(format("local %s = %s", t, value(operands[1])))
  local closes = 0
  for i = 2, #operands do
    self:emit(format(name == "and" and "if truth(%s) then" or "if not truth(%s) then", t))
    self.depth = self.depth + 1
    closes = closes + 1
    self:emit(format("%s = %s", t, value(operands[i])))
  end
  for _ = 1, closes do
    self.depth = self.depth - 1
    self:emit("end")
  end
  return t
end

-- One command of a pipeline, with the previous stage's value (or nil).
function C:command(cmd, final)
  local first = cmd.args[1]
  local rest = {}
  for i = 2, #cmd.args do rest[#rest + 1] = cmd.args[i] end
  if first.k == "ident" then return self:call(first, rest, final) end
  if #rest > 0 or final then
    -- a method call: .Obj.Method args (a function stored in the data)
    local recv, idents
    if first.k == "field" then
      recv, idents = "dot", first.idents
    elseif first.k == "var" and #first.idents > 0 then
      recv, idents = var_name(first.id), first.idents
    elseif first.k == "chain" then
      recv, idents = self:arg(first.node), first.idents
    else
      local what = first.k == "var" and first.name or first.k
      error({ parse = true, msg = ("can't give argument to non-function %s"):format(what), pos = first.p }, 0)
    end
    local prefix = {}
    for i = 1, #idents - 1 do prefix[i] = idents[i] end
    local obj = self:fields(recv, prefix, first.p)
    local vals = {}
    for i, a in ipairs(rest) do vals[i] = self:arg(a) end
    if final then vals[#vals + 1] = final end
    local name = idents[#idents]
    local t = self:tmp()
    self:emit(format("S.pos = %d", self:pos(first.p, name)))
    self:emit(format("local %s = method(%s, %s, %d, %s)", t, obj, lua_string(name), self:pos(first.p, name),
      concat(vals, ", ")))
    return t
  end
  if first.k == "nil" then
    error({ parse = true, msg = "nil is not a command", pos = first.p }, 0)
  end
  return self:arg(first)
end

-- The value of a pipeline, ignoring its declarations.
function C:pipe_value(pipe)
  local v
  for _, cmd in ipairs(pipe.cmds) do v = self:command(cmd, v) end
  return v
end

-- Compiles a pipeline whose value is assigned to Lua variable target, in a
-- do-block so temporaries do not pile up as locals.
function C:pipe_into(pipe, target)
  self:emit("do")
  self.depth = self.depth + 1
  self:emit(format("%s = %s", target, self:pipe_value(pipe)))
  self.depth = self.depth - 1
  self:emit("end")
end

-- A pipeline with its declarations ($x := / $x =); returns the Lua name
-- holding its value.
function C:pipe_decl(pipe)
  local d = pipe.decl[1]
  if not d then
    local t = self:tmp()
    self:emit("local " .. t)
    self:pipe_into(pipe, t)
    return t
  end
  local name = var_name(d.id)
  if not pipe.assign then self:emit("local " .. name) end
  self:pipe_into(pipe, name)
  return name
end

function C:list(list)
  for _, node in ipairs(list.items) do self:node(node) end
end

function C:block(list)
  self.depth = self.depth + 1
  self:list(list)
  self.depth = self.depth - 1
end

function C:node(node)
  local k = node.k
  if k == "text" then
    self:emit(format("n = n + 1; b[n] = %s", lua_string(node.text)))
  elseif k == "action" then
    if #node.pipe.decl > 0 then
      self:pipe_decl(node.pipe)
    else
      self:emit("do")
      self.depth = self.depth + 1
      self:emit(format("n = n + 1; b[n] = out(%s)", self:pipe_value(node.pipe)))
      self.depth = self.depth - 1
      self:emit("end")
    end
  elseif k == "if" or k == "with" then
    self:emit("do")
    self.depth = self.depth + 1
    local v = self:pipe_decl(node.pipe)
    self:emit(format("if truth(%s) then", v))
    if k == "with" then self:emit(format("  local dot = %s", v)) end
    self:block(node.list)
    if node.else_list then
      self:emit("else")
      self:block(node.else_list)
    end
    self:emit("end")
    self.depth = self.depth - 1
    self:emit("end")
  elseif k == "range" then
    local pipe = node.pipe
    self:emit("do")
    self.depth = self.depth + 1
    local c = self:tmp()
    self:emit("local " .. c)
    self:pipe_into(pipe, c)
    local ks, cnt = self:tmp(), self:tmp()
    self:emit(format("local %s, %s, %s = range(%s, %d)", ks, cnt, c, c, self:pos(pipe.p, "range")))
    self:emit(format("if %s == 0 then", cnt))
    if node.else_list then self:block(node.else_list) end
    self:emit("else")
    self.depth = self.depth + 1
    local i = self:tmp()
    self:emit(format("for %s = 1, %s do", i, cnt))
    self.depth = self.depth + 1
    self:emit("local key, dot")
    self:emit(format("if %s then key = %s[%s]; dot = %s[key] else key = %s - 1; dot = %s[%s] end",
      ks, ks, i, c, i, c, i))
    local decl = pipe.decl
    if #decl == 1 then
      self:emit(format("%s%s = dot", pipe.assign and "" or "local ", var_name(decl[1].id)))
    elseif #decl == 2 then
      self:emit(format("%s%s, %s = key, dot", pipe.assign and "" or "local ", var_name(decl[1].id),
        var_name(decl[2].id)))
    end
    self:emit("do")
    self:block(node.list)
    self:emit("end")
    self:emit(format("::continue%d::", node.id))
    self.depth = self.depth - 1
    self:emit("end")
    self.depth = self.depth - 1
    self:emit("end")
    self.depth = self.depth - 1
    self:emit("end")
  elseif k == "break" then
    self:emit("do break end")
  elseif k == "continue" then
    self:emit(format("goto continue%d", node.id))
  elseif k == "template" then
    self:emit("do")
    self.depth = self.depth + 1
    local data = node.pipe and self:pipe_value(node.pipe) or "nil"
    self:emit(format("n = n + 1; b[n] = call_template(S, %s, %s, %d)", lua_string(node.name), data,
      self:pos(node.p, "template")))
    self.depth = self.depth - 1
    self:emit("end")
  else
    error("compiler: unexpected node " .. tostring(k))
  end
end

--- Compiles a parse tree (parser.parse) to Lua source.
--- opts.strict: missing map keys are errors (MissingKey "error").
--- Returns source, positions (index -> { p = offset, name = function })
--- and used (list of { name, p } of the functions called), or raises a
--- { parse = true, msg, pos } error for what Go rejects at execution but
--- we can see now (arguments given to a non-function).
---@param tree table
---@param opts table|nil
---@return string source, table positions, table used
function M.compile(tree, opts)
  local self = setmetatable({
    out = {}, depth = 0, ntmp = 0, positions = {}, used = {}, strict = opts and opts.strict,
  }, C)
  self:emit("local R = ...")
  self:emit("local truth, field, fieldx, out, range = R.truth, R.field, R.field_strict, R.print, R.range")
  self:emit("local method, call_template, concat = R.method, R.call_template, R.concat")
  self:emit("local T = {}")
  for _, name in ipairs(tree.order) do
    self:emit(format("T[%s] = function(S, dot)", lua_string(name)))
    self.depth = 1
    self:emit("local F, root, b, n = S.F, dot, {}, 0")
    self:list(tree.templates[name])
    self:emit("return concat(b, \"\", 1, n)")
    self.depth = 0
    self:emit("end")
  end
  self:emit("return T")
  return concat(self.out, "\n"), self.positions, self.used
end

return M
