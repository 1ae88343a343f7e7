-- infrakit.template.cli: `infrakit template FILE|URL [--var k=v]...
-- [--json-context FILE]`. The C command calls main(args) inside a task
-- (rendering may yield on http sources) and exits with its result:
-- 0 rendered, 1 the template failed, 2 bad command line.
local template = require "infrakit.template"
local tjson = require "infrakit.json.go"

local cli = {}

cli.usage = "Usage: infrakit template [options] FILE|URL|-"

cli.help = cli.usage .. [[


Render a template to stdout: InfraKit's template dialect (Go text/template
syntax) with InfraKit's functions (include, source, fetch, var, q,
jsonEncode, yamlDecode, ...) and the common Sprig ones (default, split,
dict, toJson, ...).

FILE is a path (relative includes resolve against its directory); URL is
file://, http://, https://, unix://PLUGIN/path or str://TEXT (the text
itself); - reads the template from stdin. A path or URL ending in .lua is a
Lua template: a chunk returning function(context, funcs) -> string.

Options:
  --var NAME=VALUE        set a template global, read with {{ var "NAME" }};
                          repeat for more. Integers, true and false are
                          typed; anything else is a string
  --json-context FILE     the template's context (its ".") from a JSON file;
                          - reads stdin. Without it the context is empty
  --missing-key error     a missing map key is an error instead of
                          rendering "<no value>"
  --delims LEFT,RIGHT     action delimiters instead of {{ and }}
  -h, --help              show this help

Exit status: 0 rendered, 1 the template or its sources failed, 2 bad usage.

Examples:
  infrakit template init.sh.tpl --var cluster=prod --var size=3
  infrakit template https://example.com/init.tpl --json-context spec.json
  infrakit template 'str://{{ now | htmlDate }} {{ env "USER" | upper }}'
]]

-- "7" -> 7, "true" -> true, others as they are (InfraKit's --var typing).
local function typed(v)
  if v == "true" then return true end
  if v == "false" then return false end
  if v:match("^-?%d+$") then return tonumber(v) end
  return v
end

local function read_file(path, read_stdin)
  if path == "-" then return read_stdin() end
  local f, err = io.open(path, "rb")
  if not f then return nil, err end
  local text = f:read("*a")
  f:close()
  if not text then return nil, path .. ": cannot read" end
  return text
end

--- Runs the command. args: the arguments after "template". io (for
--- tests): { stdout = fn(s), stderr = fn(s), stdin = fn() -> s }.
--- Returns the exit status. Yields while an http source is fetched.
---@param args string[]
---@param io_ table|nil
---@return integer status
function cli.main(args, io_)
  io_ = io_ or {}
  local stdout = io_.stdout or function(s) io.stdout:write(s) end
  local has_core, core = pcall(require, "infrakit.core")
  local redact = has_core and core.log_redact or tostring -- errors may name a URL with its credentials
  local stderr = io_.stderr or function(s) io.stderr:write(redact(s)) end
  local read_stdin = io_.stdin or function() return io.stdin:read("*a") end
  local function usage_error(msg)
    stderr("infrakit template: " .. msg .. "\n" .. cli.usage .. "\nRun 'infrakit template --help' for more.\n")
    return 2
  end
  if type(args) ~= "table" then error("infrakit.template.cli.main: args must be a list of strings", 2) end

  local vars, source, context_file, opts = {}, nil, nil, {}
  local i = 1
  while i <= #args do
    local a = args[i]
    local name, inline = a:match("^(%-%-[%w-]+)=(.*)$")
    name = name or a
    local function take()
      if inline then return inline end
      i = i + 1
      return args[i]
    end
    if name == "-h" or name == "--help" then
      stdout(cli.help)
      return 0
    elseif name == "--var" then
      local kv = take()
      if not kv then return usage_error("--var needs NAME=VALUE") end
      local k, v = kv:match("^([^=]+)=(.*)$")
      if not k then return usage_error(("--var %q: expected NAME=VALUE"):format(kv)) end
      vars[k] = typed(v)
    elseif name == "--json-context" then
      context_file = take()
      if not context_file then return usage_error("--json-context needs a file") end
    elseif name == "--missing-key" then
      local v = take()
      if v ~= "error" and v ~= "default" then return usage_error('--missing-key must be "error" or "default"') end
      opts.missing_key = v
    elseif name == "--delims" then
      local v = take()
      local l, r = (v or ""):match("^([^,]+),([^,]+)$")
      if not l then return usage_error("--delims needs LEFT,RIGHT") end
      opts.delims = { l, r }
    elseif a ~= "-" and a:sub(1, 1) == "-" then
      return usage_error(("unknown option %q"):format(a))
    elseif source then
      return usage_error(("unexpected argument %q"):format(a))
    else
      source = a
    end
    i = i + 1
  end
  if not source then return usage_error("missing the template FILE or URL") end
  if source == "-" and context_file == "-" then
    return usage_error("the template and the context cannot both come from stdin")
  end

  local context
  if context_file then
    local text, err = read_file(context_file, read_stdin)
    if not text then
      stderr("infrakit template: " .. tostring(err) .. "\n")
      return 1
    end
    local ok, v = pcall(tjson.decode, text)
    if not ok then
      stderr(("infrakit template: %s: invalid JSON: %s\n"):format(context_file, v))
      return 1
    end
    context = v
  end

  opts.vars = vars
  local out, err
  if source == "-" then
    opts.name = "stdin"
    out, err = template.render(read_stdin() or "", context, opts)
  else
    out, err = template.render_url(source, context, opts)
  end
  if not out then
    stderr("infrakit template: " .. tostring(err) .. "\n")
    return 1
  end
  stdout(out)
  return 0
end

return cli
