-- infrakit.template.access: what a template may read of the machine that
-- renders it.
--
-- A template named by a spec (vanilla's InitScriptTemplateURL, and every
-- template it includes) is data from whoever may commit a spec, yet the
-- daemon renders it with the daemon's environment and files within reach,
-- and the result lands in an instance's Init. So renders run under an
-- access policy:
--
--   env      names of environment variables `env` and `expandenv` may read
--            (a name ending in "*" is a prefix: "APP_*")
--   dirs     absolute directories whose files `include`, `source`, `fetch`,
--            `template` and the top-level URL may read (file:// URLs and
--            plain paths); symbolic links are resolved before the check
--   schemes  the network schemes that may be fetched: http, https, unix
--   str:// texts are always allowed (they carry no access).
--
-- A render gets its policy from opts.access: a policy table (from
-- access.new), false (full access: the user's own templates), or nil: the
-- process's default, access.default. That default is nil (full access) in
-- `infrakit template`, `infrakit play` and `infrakit lua`; `infrakit
-- daemon` sets it from --template-env, --template-dir and
-- --template-schemes (access.configure), so every template the daemon
-- renders is restricted unless trusted code passes access = false.
--
-- A denied access raises/returns an error naming the resource and the flag
-- that would allow it, with code "EACCES".
local M = {}

--- The policy of renders that pass no opts.access (nil: full access).
M.default = nil

local function set_of(list, what)
  local set = {}
  for _, v in ipairs(list or {}) do
    if type(v) ~= "string" then error(("infrakit.template.access: %s must be strings"):format(what), 3) end
    set[v] = true
  end
  return set
end

-- realpath(3) through the FFI, or nil when unavailable or failing.
local realpath
do
  local ok, ffi = pcall(require, "ffi")
  if ok then
    -- one declaration per cdef: another module may have declared either
    pcall(ffi.cdef, "char *realpath(const char *path, char *resolved_path);")
    pcall(ffi.cdef, "void free(void *ptr);")
    realpath = function(path)
      local p = ffi.C.realpath(path, nil)
      if p == nil then return nil end
      local s = ffi.string(p)
      ffi.C.free(p)
      return s
    end
  else
    realpath = function() return nil end
  end
end
M.realpath = realpath

--- A policy from { env = {names}, dirs = {paths}, schemes = {names} }
--- (every field optional: nothing allowed). Directories are resolved
--- (realpath) when they exist.
---@param opts table|nil
---@return table policy
function M.new(opts)
  opts = opts or {}
  if type(opts) ~= "table" then error("infrakit.template.access.new: opts must be a table", 2) end
  local p = { env = {}, prefixes = {}, dirs = {}, schemes = set_of(opts.schemes, "schemes"), policy = true }
  for name in pairs(set_of(opts.env, "env")) do
    if name:sub(-1) == "*" then p.prefixes[#p.prefixes + 1] = name:sub(1, -2) else p.env[name] = true end
  end
  for _, d in ipairs(opts.dirs or {}) do
    if type(d) ~= "string" or d:sub(1, 1) ~= "/" then
      error("infrakit.template.access: dirs must be absolute paths", 2)
    end
    local r = realpath(d) or d
    p.dirs[#p.dirs + 1] = (r:gsub("/+$", ""))
  end
  return p
end

--- Sets access.default from the daemon's flags (see new).
---@param opts table
function M.configure(opts)
  M.default = M.new(opts)
end

--- The policy of a render: opts_access as given to render (nil: the
--- default; false: none).
function M.resolve(opts_access)
  if opts_access == nil then return M.default end
  if opts_access == false then return nil end
  if type(opts_access) ~= "table" or not opts_access.policy then
    error("infrakit.template: opts.access must be a policy from infrakit.template.access.new, or false", 3)
  end
  return opts_access
end

local function list_or_none(t)
  if #t == 0 then return "none" end
  return table.concat(t, ", ")
end

local function sorted_keys(set)
  local out = {}
  for k in pairs(set) do out[#out + 1] = k end
  table.sort(out)
  return out
end

--- May policy read environment variable name? Returns true, or nil and
--- the message for fname (the template function).
function M.env_allowed(policy, fname, name)
  if policy == nil or policy.env[name] then return true end
  for _, prefix in ipairs(policy.prefixes) do
    if name:sub(1, #prefix) == prefix then return true end
  end
  return nil, ("%s %q: templates rendered by the daemon may not read its environment variable %s "
    .. "(allow it with: infrakit daemon --template-env %s)"):format(fname, name, name, name)
end

local function clean(path)
  return require("infrakit.template._sources").clean(path)
end

local function inside(path, dirs)
  for _, d in ipairs(dirs) do
    if d == "/" or path == d or path:sub(1, #d + 1) == d .. "/" then return true end
  end
  return false
end

-- The absolute, cleaned form of a plain path (relative to the current
-- directory).
local function absolute(path)
  if path:sub(1, 1) == "/" then return clean(path) end
  local cwd = realpath(".") or os.getenv("PWD") or "/"
  return clean(cwd .. "/" .. path)
end

--- May policy read url (absolute, as sources.resolve gives)? Returns true,
--- or nil, message, "EACCES".
function M.url_allowed(policy, url)
  if policy == nil then return true end
  local sources = require "infrakit.template._sources"
  local scheme, _, path = sources.split(url)
  if scheme == "str" then return true end
  if scheme == nil or scheme == "file" then
    local lexical = absolute(scheme and path or url)
    local real = realpath(lexical)
    -- both the path as written and where its links lead must be inside
    if inside(lexical, policy.dirs) and (real == nil or inside(real, policy.dirs)) then return true end
    return nil, ("%s: templates rendered by the daemon may read local files only in the directories "
      .. "the operator allowed (%s; allow one with: infrakit daemon --template-dir DIR)")
      :format(url, list_or_none(policy.dirs)), "EACCES"
  end
  if policy.schemes[scheme] then return true end
  local allowed = sorted_keys(policy.schemes)
  local want = sorted_keys(policy.schemes)
  want[#want + 1] = scheme
  return nil, ("%s: templates rendered by the daemon may not fetch %s:// URLs (allowed schemes: %s; "
    .. "allow it with: infrakit daemon --template-schemes %s)")
    :format(url, scheme, list_or_none(allowed), table.concat(want, ",")), "EACCES"
end

return M
