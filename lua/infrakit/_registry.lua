--- infrakit._registry: the playbook registry - named playbooks from a URL
--- or a path, cached under $INFRAKIT_HOME/playbooks/NAME/ so `infrakit play
--- NAME` works offline (docs/playbooks.md, "The registry").
---
---   playbooks/NAME/playbook.lua   the cached copy
---   playbooks/NAME/meta.json      {"Source", "CachedAt", "Description"}
---   playbooks/.urls/KEY.lua       copies of playbooks played by URL
local core = require "infrakit._core"
local json = require "infrakit.json"
local http = require "infrakit.http"

local registry = {}

function registry.home()
  local h = os.getenv("INFRAKIT_HOME")
  if h and h ~= "" then return h end
  return (os.getenv("HOME") or ".") .. "/.infrakit"
end

function registry.dir() return registry.home() .. "/playbooks" end

local function is_url(s) return s:match("^https?://") ~= nil end

local function read(path)
  local f, err = io.open(path, "rb")
  if not f then return nil, err end
  local text = f:read("*a")
  f:close()
  return text
end

local function write(path, text)
  local tmp = path .. ".tmp"
  local f, err = io.open(tmp, "wb")
  if not f then return nil, err end
  f:write(text)
  f:close()
  local ok, rerr = os.rename(tmp, path)
  if not ok then return nil, rerr end
  return true
end

local function mkdir(path)
  local r = core.exec({ "mkdir", "-p", "-m", "0700", path })
  return r and r.status == 0
end

--- The text of a playbook at source (a URL, or a path); nil, message.
function registry.fetch(source)
  if is_url(source) then
    local body, err = http.get(source, { timeout = 15 })
    if not body then return nil, string.format("fetch %s: %s", source, tostring(err)) end
    return body
  end
  local text, err = read(source)
  if not text then return nil, string.format("read %s: %s", source, tostring(err)) end
  return text
end

-- Check that text is a playbook (it loads and returns a table with run).
local function check(text, name)
  local chunk, err = loadstring(text, "=" .. name)
  if not chunk then return nil, err end
  local ok, book = pcall(chunk)
  if not ok then return nil, name .. ": " .. tostring(book) end
  if type(book) ~= "table" or type(book.run) ~= "function" then
    return nil, name .. ": not a playbook (it must return a table with a run function)"
  end
  return book
end

local function valid_name(name)
  return type(name) == "string" and name:match("^[%w][%w._-]*$") ~= nil and #name <= 64
end

local function store(name, source, text, book)
  local dir = registry.dir() .. "/" .. name
  if not mkdir(dir) then return nil, "cannot create " .. dir end
  local ok, err = write(dir .. "/playbook.lua", text)
  if not ok then return nil, err end
  local abs = source
  if not is_url(source) and source:sub(1, 1) ~= "/" then
    local pwd = os.getenv("PWD")
    if pwd then abs = pwd .. "/" .. source end
  end
  return write(dir .. "/meta.json", json.encode({ Source = abs, CachedAt = os.date("!%Y-%m-%dT%H:%M:%SZ"),
    Description = book.description or "" }))
end

--- Register NAME from source, fetching and caching it now.
function registry.add(name, source)
  if not valid_name(name) then
    return nil, string.format("name %q: want letters, digits, '.', '_' or '-'", tostring(name))
  end
  local text, err = registry.fetch(source)
  if not text then return nil, err end
  local book
  book, err = check(text, source)
  if not book then return nil, err end
  local ok, serr = store(name, source, text, book)
  if not ok then return nil, serr end
  return book
end

--- The registered playbook NAME: {name, source, cached_at, description,
--- path}, or nil.
function registry.get(name)
  if not valid_name(name) then return nil end
  local dir = registry.dir() .. "/" .. name
  local meta = read(dir .. "/meta.json")
  if not meta then return nil end
  local m = json.decode(meta) or {}
  return { name = name, source = m.Source, cached_at = m.CachedAt, description = m.Description,
    path = dir .. "/playbook.lua" }
end

--- Every registered playbook, sorted by name.
function registry.list()
  local out = {}
  local r = core.exec({ "ls", "-1", registry.dir() })
  if r and r.status == 0 then
    for name in r.stdout:gmatch("[^\n]+") do
      local e = registry.get(name)
      if e then out[#out + 1] = e end
    end
  end
  table.sort(out, function(a, b) return a.name < b.name end)
  return out
end

function registry.remove(name)
  local e = registry.get(name)
  if not e then return nil, string.format("no playbook %q in the registry (%s)", tostring(name), registry.dir()) end
  local r = core.exec({ "rm", "-rf", registry.dir() .. "/" .. name })
  if not r or r.status ~= 0 then return nil, "cannot remove " .. registry.dir() .. "/" .. name end
  return true
end

--- Fetch NAME's source again. On failure the cached copy stays.
function registry.update(name)
  local e = registry.get(name)
  if not e then return nil, string.format("no playbook %q in the registry (%s)", tostring(name), registry.dir()) end
  local text, err = registry.fetch(e.source)
  if not text then return nil, err .. " (the cached copy from " .. tostring(e.cached_at) .. " is kept)" end
  local book
  book, err = check(text, e.source)
  if not book then return nil, err .. " (the cached copy is kept)" end
  return store(name, e.source, text, book)
end

--- A path to run for a URL: fetched now and cached; when the URL does not
--- answer, the cached copy, with a note. Returns path, note | nil, message.
function registry.for_url(url, refresh)
  local key = url:gsub("[^%w._-]", "_"):sub(1, 150)
  local dir = registry.dir() .. "/.urls"
  local path = dir .. "/" .. key .. ".lua"
  local text, err = registry.fetch(url)
  if text then
    local book, cerr = check(text, url)
    if not book then return nil, cerr end
    if mkdir(dir) then write(path, text) end
    return path
  end
  if read(path) then
    return path, string.format("%s; using the cached copy %s", err, path)
  end
  return nil, err .. " (and no cached copy)"
end

--- A registered playbook to run: its cached path (refetched first with
--- refresh; a failed refetch falls back to the cache, with a note).
function registry.for_name(name, refresh)
  local e = registry.get(name)
  if not e then return nil end
  if refresh then
    local ok, err = registry.update(name)
    if not ok then return e.path, "refresh failed: " .. err end
  end
  return e.path
end

return registry
