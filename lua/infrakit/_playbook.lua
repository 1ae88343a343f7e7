--- infrakit._playbook: what `infrakit play` runs (docs/playbooks.md).
--
-- A playbook is a Lua file returning a table:
--
--   return {
--     description = "one line for --help and listings",
--     params = {
--       { name = "size", type = "int", default = 3, help = "instances to start" },
--       { name = "keep", type = "bool", default = false, help = "leave everything running" },
--       { name = "mode", type = "string", allowed = { "fast", "safe" }, required = true },
--     },
--     run = function(params, args) ... end,   -- a task: it may yield
--   }
--
-- Types: string, int, number, bool, list (comma-separated, or the flag
-- repeated). Parameters are checked - unknown, missing, mistyped, not
-- allowed - before anything runs, and every error names the parameter.
local core = require "infrakit._core"

-- Write to stderr through the redactor: an error may name a URL with its
-- credentials, or repeat a secret.
local function eprint(...)
  local parts = { ... }
  for i = 1, select("#", ...) do parts[i] = tostring(parts[i]) end
  io.stderr:write(core.log_redact(table.concat(parts)))
end

local playbook = {}

local TYPES = { string = true, int = true, number = true, bool = true, list = true }

-- The source tree's playbooks directory, beside lua/, when the Lua modules
-- come from a source directory (INFRAKIT_LUA_DIR); nil otherwise.
local function playbooks_dir()
  if not core.lua_dir then return nil end
  local parent = core.lua_dir:gsub("/+$", ""):match("^(.*)/[^/]+$") or "."
  return parent .. "/playbooks"
end

local function exists(path)
  local f = io.open(path, "r")
  if f then f:close() end
  return f ~= nil
end

-- A built-in playbook (compiled into the binary) is named "builtin:NAME".
local BUILTIN = "builtin:"

--- Where target's playbook file is: a URL (fetched and cached), a file,
--- a directory holding playbook.lua, a name in the registry, or the name
--- of a built-in playbook (playbooks/ of the source tree when
--- INFRAKIT_LUA_DIR is set, else the copy compiled into the binary).
--- Returns path, note (something to tell the user, such as "using the
--- cached copy") | nil, message.
function playbook.resolve(target, opts)
  opts = opts or {}
  local registry = require "infrakit._registry"
  if target:match("^https?://") then return registry.for_url(target, opts.refresh) end
  if target:sub(-4) == ".lua" and exists(target) then return target end
  if exists(target .. "/playbook.lua") then return target .. "/playbook.lua" end
  if not target:find("/", 1, true) then
    local path, note = registry.for_name(target, opts.refresh)
    if path then return path, note end
    local dir = playbooks_dir()
    if dir and exists(dir .. "/" .. target .. "/playbook.lua") then return dir .. "/" .. target .. "/playbook.lua" end
    if core.embedded("playbooks/" .. target) then return BUILTIN .. target end
    return nil, string.format("no playbook %q: not a file, not in the registry (%s), not a built-in playbook",
      target, registry.dir())
  end
  return nil, string.format("no playbook %q: no such file", target)
end

local function check_value(decl, v, where)
  local t = decl.type
  if t == "string" and type(v) ~= "string" then return nil, where .. ": want a string" end
  if t == "int" and (type(v) ~= "number" or v ~= math.floor(v)) then return nil, where .. ": want a whole number" end
  if t == "number" and type(v) ~= "number" then return nil, where .. ": want a number" end
  if t == "bool" and type(v) ~= "boolean" then return nil, where .. ": want true or false" end
  if t == "list" and type(v) ~= "table" then return nil, where .. ": want a list" end
  if decl.allowed and t ~= "list" then
    local ok = false
    for _, a in ipairs(decl.allowed) do ok = ok or a == v end
    if not ok then
      local names = {}
      for i, a in ipairs(decl.allowed) do names[i] = tostring(a) end
      return nil, string.format("%s: %s is not one of %s", where, tostring(v), table.concat(names, ", "))
    end
  end
  return v
end

--- Load and check a playbook file. Returns the table, or nil and an
--- error naming the file (and line, for a syntax error).
function playbook.load(path)
  local chunk, err
  if path:sub(1, #BUILTIN) == BUILTIN then
    chunk = core.embedded("playbooks/" .. path:sub(#BUILTIN + 1))
    if not chunk then return nil, path .. ": no such built-in playbook" end
  else
    chunk, err = loadfile(path)
    if not chunk then return nil, err end
  end
  local ok, book = pcall(chunk)
  if not ok then return nil, string.format("%s: %s", path, tostring(book)) end
  if type(book) ~= "table" or type(book.run) ~= "function" then
    return nil, path .. ": a playbook returns a table with a run function (docs/playbooks.md)"
  end
  book.params = book.params or {}
  local seen = {}
  for i, d in ipairs(book.params) do
    local where = string.format("%s: params[%d]", path, i)
    if type(d) ~= "table" or type(d.name) ~= "string" or not d.name:match("^[%a][%w_-]*$") then
      return nil, where .. ".name: want a name like \"size\""
    end
    where = string.format("%s: parameter %s", path, d.name)
    if seen[d.name] then return nil, where .. ": declared twice" end
    seen[d.name] = true
    d.type = d.type or "string"
    if not TYPES[d.type] then
      return nil, where .. ".type: " .. tostring(d.type) .. " is not string, int, number, bool or list"
    end
    if d.default ~= nil then
      local okv, e = check_value(d, d.default, where .. ".default")
      if okv == nil then return nil, e end
    end
  end
  book.path = path
  return book
end

local function convert(decl, text, flag)
  local t = decl.type
  if t == "int" then
    local n = tonumber(text)
    if not n or n ~= math.floor(n) then return nil, string.format("%s: %q is not a whole number", flag, text) end
    return n
  elseif t == "number" then
    local n = tonumber(text)
    if not n then return nil, string.format("%s: %q is not a number", flag, text) end
    return n
  elseif t == "bool" then
    if text == "true" or text == "yes" or text == "1" then return true end
    if text == "false" or text == "no" or text == "0" then return false end
    return nil, string.format("%s: %q is not true or false", flag, text)
  end
  return text
end

--- Parameters from argv ({"--size", "5", "--keep", "--", "extra"}).
--- Returns params, args (after "--"); or nil and an error naming the
--- parameter.
function playbook.parse(book, argv)
  local by_name, params, args = {}, {}, {}
  for _, d in ipairs(book.params) do by_name[d.name] = d end
  local i = 1
  while i <= #argv do
    local a = argv[i]
    if a == "--" then
      for j = i + 1, #argv do args[#args + 1] = argv[j] end
      break
    end
    local name, value = a:match("^%-%-([^=]+)=(.*)$")
    name = name or a:match("^%-%-(.+)$")
    if not name then
      args[#args + 1] = a
    else
      local neg = false
      local d = by_name[name]
      if not d and name:sub(1, 3) == "no-" and by_name[name:sub(4)] and by_name[name:sub(4)].type == "bool" then
        d, neg = by_name[name:sub(4)], true
      end
      if not d then
        local known = {}
        for _, x in ipairs(book.params) do known[#known + 1] = "--" .. x.name end
        return nil, string.format("unknown parameter --%s (%s)", name,
          #known > 0 and ("known: " .. table.concat(known, ", ")) or "this playbook takes none")
      end
      local flag = "--" .. d.name
      if d.type == "bool" and value == nil then
        params[d.name] = not neg
      else
        if value == nil then
          i = i + 1
          value = argv[i]
          if value == nil then return nil, flag .. ": missing its value" end
        end
        if d.type == "list" then
          local list = params[d.name] or {}
          for item in value:gmatch("[^,]+") do list[#list + 1] = item end
          params[d.name] = list
        else
          local v, err = convert(d, value, flag)
          if v == nil then return nil, err end
          local okv, e = check_value(d, v, flag)
          if okv == nil then return nil, e end
          params[d.name] = v
        end
      end
    end
    i = i + 1
  end
  for _, d in ipairs(book.params) do
    if params[d.name] == nil then
      if d.required then return nil, string.format("--%s is required%s", d.name, d.help and (": " .. d.help) or "") end
      params[d.name] = d.default
    end
    if d.type == "list" and d.allowed and params[d.name] then
      for _, item in ipairs(params[d.name]) do
        local okv, e = check_value({ type = "string", allowed = d.allowed }, item, "--" .. d.name)
        if okv == nil then return nil, e end
      end
    end
  end
  return params, args
end

--- The help text of a playbook: its description and parameters.
function playbook.help(book, target)
  local out = { string.format("Usage: infrakit play [--refresh] [--json] %s [--PARAM VALUE ...] [-- ARGS]", target), "",
    book.description or ("The playbook " .. target .. "."), "" }
  if #book.params == 0 then
    out[#out + 1] = "Parameters: none"
  else
    out[#out + 1] = "Parameters:"
    for _, d in ipairs(book.params) do
      local flag = "--" .. d.name .. (d.type == "bool" and "" or (" " .. d.type:upper()))
      local extra = {}
      if d.required then extra[#extra + 1] = "required" end
      if d.default ~= nil then
        local default = type(d.default) == "table" and table.concat(d.default, ",") or tostring(d.default)
        extra[#extra + 1] = "default " .. default
      end
      if d.allowed then
        local names = {}
        for i, a in ipairs(d.allowed) do names[i] = tostring(a) end
        extra[#extra + 1] = "one of " .. table.concat(names, ", ")
      end
      local text = d.help or ""
      if #extra > 0 then text = text .. (text ~= "" and " " or "") .. "(" .. table.concat(extra, "; ") .. ")" end
      out[#out + 1] = (string.format("  %-22s %s", flag, text):gsub("%s+$", ""))
    end
  end
  return table.concat(out, "\n") .. "\n"
end

--- `infrakit play TARGET [--PARAM VALUE ...] [-- ARGS]` with the runner's
--- options the C command parsed (core/cli/cmd_play.c): { target = s,
--- refresh = bool, json = bool, help = bool }; ... are the arguments after
--- TARGET. With help, prints the playbook's help (the C command adds the
--- global options). Returns the exit status (0 ok, 1 the playbook failed,
--- 2 bad usage).
function playbook.main(o, ...)
  local argv = { ... }
  local function usage(msg)
    eprint("infrakit play: ", msg, "\nRun 'infrakit play --help' for usage.\n")
    return 2
  end
  local target = o.target
  local runner = { refresh = o.refresh, json = o.json }
  if runner.json then require("infrakit._progress").set_json(true) end
  local path, err = playbook.resolve(target, runner)
  if not path then return usage(err) end
  if err then eprint("infrakit play: ", err, "\n") end
  local book
  book, err = playbook.load(path)
  if not book then
    eprint("infrakit play: ", err, "\n")
    return 1
  end
  if o.help then
    io.stdout:write(playbook.help(book, target))
    return 0
  end
  local params, args = playbook.parse(book, argv)
  if not params then return usage(args) end
  local infrakit = require "infrakit"
  infrakit.params = params
  -- Where the playbook came from (a URL, or its path), to find the
  -- templates it ships with: sources.resolve(infrakit.playbook_source, "x.tmpl").
  local entry = not target:find("/", 1, true) and require("infrakit._registry").get(target)
  infrakit.playbook_source = target:match("^https?://") and target or (entry and entry.source) or path
  require("infrakit.template._sources").offline = require("infrakit._registry").dir() .. "/.cache"
  require("infrakit._progress").reset()
  -- Ctrl-C: say so, then the playbook's own handler (infrakit.on_interrupt).
  local user_handler
  local on_interrupt = infrakit.on_interrupt
  infrakit.on_interrupt = function(fn) user_handler = fn end
  on_interrupt(function()
    local progress = require "infrakit._progress"
    progress.done()
    progress.print("interrupted: %s stopped here%s", target, user_handler and "; cleaning up" or "")
    if user_handler then user_handler() end
  end)
  local ok, res = xpcall(function() return book.run(params, args) end, function(e)
    e = tostring(e)
    return e:find("stack traceback:", 1, true) and e or debug.traceback(e, 2)
  end)
  require("infrakit._progress").done()
  if not ok then
    eprint("infrakit play: ", target, " failed: ", tostring(res), "\n")
    return 1
  end
  return type(res) == "number" and res or 0
end

--- The playbooks `infrakit playbook ls` lists: the registry's, then the
--- built-in ones (in the binary) unless a registry entry has their name.
--- Each is {Name, CachedAt, Source, Description, Builtin}.
function playbook.listing()
  local registry = require "infrakit._registry"
  local rows, named = {}, {}
  for _, e in ipairs(registry.list()) do
    named[e.name] = true
    rows[#rows + 1] = { Name = e.name, CachedAt = e.cached_at, Source = e.source, Description = e.description or "",
      Builtin = false }
  end
  for _, name in ipairs(core.embedded_names("playbooks/")) do
    if not named[name] then
      local book = playbook.load(BUILTIN .. name)
      rows[#rows + 1] = { Name = name, Description = book and book.description or "", Builtin = true }
    end
  end
  return rows
end

--- `infrakit playbook add|ls|rm|update` with the options the C command
--- parsed (core/cli/cmd_playbook.c, which also prints --help and usage
--- errors): { sub = "add"|"ls"|"rm"|"update", args = { ... }, json = bool }.
--- Returns the exit status.
function playbook.registry_main(o)
  local registry = require "infrakit._registry"
  local sub, argv = o.sub, o.args or {}
  local function fail(msg)
    eprint("infrakit playbook ", sub, ": ", msg, "\n")
    return 1
  end
  if sub == "add" then
    local book, err = registry.add(argv[1], argv[2])
    if not book then return fail(err) end
    print(string.format("added %s from %s%s", argv[1], argv[2], book.description and (": " .. book.description) or ""))
    return 0
  elseif sub == "ls" then
    local rows = playbook.listing()
    if o.json then
      local json = require "infrakit.json"
      setmetatable(rows, json.array_mt)
      print(json.encode(rows))
      return 0
    end
    print(string.format("%-20s %-20s %-45s %s", "NAME", "CACHED", "SOURCE", "DESCRIPTION"))
    for _, e in ipairs(rows) do
      if e.Builtin then
        print(string.format("%-20s %-20s %-45s %s", e.Name, "built-in", "(in the binary)", e.Description))
      else
        print(string.format("%-20s %-20s %-45s %s", e.Name, e.CachedAt or "-", e.Source or "-", e.Description))
      end
    end
    return 0
  elseif sub == "rm" then
    local ok, err = registry.remove(argv[1])
    if not ok then return fail(err) end
    print("removed " .. argv[1])
    return 0
  elseif sub == "update" then
    local names = {}
    if argv[1] then names[1] = argv[1] else
      for _, e in ipairs(registry.list()) do names[#names + 1] = e.name end
    end
    local failed = 0
    for _, name in ipairs(names) do
      local ok, err = registry.update(name)
      if ok then print("updated " .. name) else
        failed = failed + 1
        eprint("infrakit playbook update: ", name, ": ", tostring(err), "\n")
      end
    end
    return failed > 0 and 1 or 0
  end
  error("infrakit._playbook.registry_main: unknown subcommand " .. tostring(sub), 2)
end

return playbook
