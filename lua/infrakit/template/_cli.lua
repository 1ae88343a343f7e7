-- infrakit.template._cli: `infrakit template FILE|URL [--var k=v]...
-- [--json-context FILE]`. The C command parses the command line and calls
-- run(opts) inside a task (rendering may yield on http sources), then exits
-- with its result: 0 rendered, 1 the template failed.
local template = require "infrakit.template"
local tjson = require "infrakit.json.go"

local cli = {}

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

--- Runs the command with the options `infrakit template` parsed (in C,
--- core/cli/cmd_template.c, which also prints --help and usage errors):
--- { source = FILE|URL|"-", vars = { NAME = "VALUE" }, json_context = FILE,
--- missing_key = "error"|"default", delims = { LEFT, RIGHT } }. io_ (for
--- tests): { stdout = fn(s), stderr = fn(s), stdin = fn() -> s }.
--- Returns the exit status. Yields while an http source is fetched.
---@param o table
---@param io_ table|nil
---@return integer status
function cli.run(o, io_)
  io_ = io_ or {}
  local stdout = io_.stdout or function(s) io.stdout:write(s) end
  local has_core, core = pcall(require, "infrakit._core")
  local redact = has_core and core.log_redact or tostring -- errors may name a URL with its credentials
  local stderr = io_.stderr or function(s) io.stderr:write(redact(s)) end
  local read_stdin = io_.stdin or function() return io.stdin:read("*a") end
  if type(o) ~= "table" or type(o.source) ~= "string" then
    error("infrakit.template._cli.run: want a table with a source", 2)
  end
  local source, context_file = o.source, o.json_context
  local vars, opts = {}, { missing_key = o.missing_key, delims = o.delims }
  for k, v in pairs(o.vars or {}) do vars[k] = typed(v) end

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
