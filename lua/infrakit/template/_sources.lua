-- infrakit.template._sources: where template text comes from.
--
-- URLs (InfraKit's, reference §6.2):
--   str://TEXT           the rest is the text itself
--   file:///abs/path     a file (file://localhost/abs/path too)
--   PATH                 a plain path, absolute or relative to the current
--                        directory, kept as it is (not made a file:// URL)
--   http://…, https://…  GET through infrakit.http (yields); must be 2xx
--   unix://NAME/path     GET /path over the plugin socket NAME in the
--                        plugins directory ($INFRAKIT_PLUGINS_DIR, else
--                        $INFRAKIT_HOME/plugins, else ~/.infrakit/plugins)
-- A reference without "://" is relative to the template that names it:
-- the directory of its URL joined with the reference, cleaned (an absolute
-- path replaces the base's path, keeping its scheme and host). A str://
-- template's base is the current directory.
local M = {}

-- Cleans a slash-separated path (like Go's path.Clean): drops "." and
-- empty segments, resolves "..". Keeps it absolute or relative.
local function clean(path)
  local abs = path:sub(1, 1) == "/"
  local parts = {}
  for seg in path:gmatch("[^/]+") do
    if seg == ".." then
      if #parts > 0 and parts[#parts] ~= ".." then
        parts[#parts] = nil
      elseif not abs then
        parts[#parts + 1] = ".."
      end
    elseif seg ~= "." then
      parts[#parts + 1] = seg
    end
  end
  local s = table.concat(parts, "/")
  if abs then return "/" .. s end
  return s == "" and "." or s
end
M.clean = clean

local function dir(path)
  local d = path:match("^(.*)/[^/]*$")
  if d == nil then return "." end
  return d == "" and "/" or d
end

local function join(base_path, ref)
  if ref:sub(1, 1) == "/" then return clean(ref) end
  return clean(dir(base_path) .. "/" .. ref)
end

--- Splits a URL into scheme, authority and path ("" path as "/"); nil for
--- a plain path.
---@param url string
---@return string|nil scheme, string|nil authority, string|nil path
function M.split(url)
  local scheme, rest = url:match("^(%a[%w+.-]*)://(.*)$")
  if not scheme then return nil end
  scheme = scheme:lower()
  if scheme == "str" then return scheme, "", rest end
  local authority, path = rest:match("^([^/]*)(.*)$")
  path = path:gsub("[?#].*$", "")
  if path == "" then path = "/" end
  return scheme, authority, path
end

--- Resolves ref against the URL of the template naming it (base may be
--- nil). See the header.
---@param base string|nil
---@param ref string
---@return string
function M.resolve(base, ref)
  if type(ref) ~= "string" then error("infrakit.template: a URL must be a string, got " .. type(ref), 2) end
  if ref:find("://", 1, true) then return ref end
  if base == nil or base == "" or base:sub(1, 6) == "str://" then return clean(ref) end
  local scheme, authority, path = M.split(base)
  if not scheme then return join(base, ref) end
  return scheme .. "://" .. authority .. join(path, ref)
end

--- The directory holding plugin sockets.
---@return string
function M.plugins_dir()
  local d = os.getenv("INFRAKIT_PLUGINS_DIR")
  if d and d ~= "" then return d end
  local home = os.getenv("INFRAKIT_HOME")
  if home and home ~= "" then return home .. "/plugins" end
  return (os.getenv("HOME") or "") .. "/.infrakit/plugins"
end

local errno_codes = { [2] = "ENOENT", [13] = "EACCES", [21] = "EISDIR", [20] = "ENOTDIR", [40] = "ELOOP" }

local function read_file(path)
  local f, err, errno = io.open(path, "rb")
  local text
  if f then
    text, err, errno = f:read("*a")
    f:close()
  end
  if text then return text end
  local why = tostring(err):gsub("^.-: ", ""):lower()
  return nil, ("open %s: %s"):format(path, why), errno_codes[errno] or "EIO"
end

local function http_get(url, opts)
  local http = require("infrakit").http
  return http.get(url, opts)
end

--- A directory where texts fetched over http(s) are kept, and read back
--- when their URL does not answer (nil: no such cache). `infrakit play`
--- sets it to $INFRAKIT_HOME/playbooks/.cache, so a remote playbook and
--- the templates it includes run offline once they have run online.
M.offline = nil

local function offline_path(url)
  return M.offline .. "/" .. url:gsub("[^%w._-]", "_"):sub(1, 180)
end

local function keep(url, text)
  require("infrakit").exec({ "mkdir", "-p", "-m", "0700", M.offline })
  local path = offline_path(url)
  local f = io.open(path .. ".tmp", "wb")
  if not f then return end
  f:write(text)
  f:close()
  os.rename(path .. ".tmp", path)
end

local function http_get_offline(url, opts)
  local text, err, code = http_get(url, opts)
  if not M.offline then return text, err, code end
  if text then
    keep(url, text)
    return text
  end
  local f = io.open(offline_path(url), "rb")
  if not f then return nil, err, code end
  local cached = f:read("*a")
  f:close()
  require("infrakit").log.warn("using the cached copy of a template whose URL does not answer",
    { url = url, error = tostring(err) })
  return cached
end

--- The text at an absolute URL (see the header). Yields for http(s) and
--- unix. Returns the text, or nil, message, code: "ENOENT", "EACCES", ...
--- for files, infrakit.http's codes ("EHTTP", "ECONNREFUSED", ...),
--- "EINVAL" for an unsupported scheme.
---@param url string
---@param headers table|nil  extra HTTP headers { Name = "value" }
---@return string|nil text, string? message, string? code
function M.fetch(url, headers)
  local scheme, authority, path = M.split(url)
  if not scheme then return read_file(url) end
  if scheme == "str" then return path end
  if scheme == "file" then
    if authority ~= "" and authority ~= "localhost" then
      return nil, ("unsupported url: %s (file URLs name no host)"):format(url), "EINVAL"
    end
    return read_file(path)
  end
  if scheme == "http" or scheme == "https" then
    return http_get_offline(url, { headers = headers })
  end
  if scheme == "unix" then
    local socket = M.plugins_dir() .. "/" .. authority
    local text, err, code = http_get("http://" .. authority .. path, { headers = headers, unix_socket = socket })
    if not text and err then err = err:gsub("http://" .. authority:gsub("%p", "%%%0"), "unix://" .. authority, 1) end
    return text, err, code
  end
  return nil, "unsupported url: " .. url, "EINVAL"
end

--- A per-render cache of fetched texts and parsed templates, with the
--- render's access policy (infrakit.template.access; nil: full access).
---@param access table|nil
---@return table
function M.new_cache(access)
  return { texts = {}, parsed = {}, access = access }
end

--- fetch() through cache (a table from new_cache, or nil), refused with
--- "EACCES" when the cache's access policy does not allow url.
---@param cache table|nil
---@param url string
---@param headers table|nil
---@return string|nil text, string? message, string? code
function M.fetch_cached(cache, url, headers)
  if cache and cache.access then
    local ok, err, code = require("infrakit.template.access").url_allowed(cache.access, url)
    if not ok then return nil, err, code end
  end
  if cache then
    local text = cache.texts[url]
    if text then return text end
  end
  local text, err, code = M.fetch(url, headers)
  if text and cache then cache.texts[url] = text end
  return text, err, code
end

return M
