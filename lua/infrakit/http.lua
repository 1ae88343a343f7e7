-- infrakit.http: HTTP calls through the project's client (libcurl's multi
-- interface on the event loop). The C half is core.http_request
-- (core/lua/bind_http.c).
local core = require "infrakit.core"

local http = {}

--- Sends one HTTP request and yields until the response is in.
--- req: { method = "GET", url = "http://...", headers = { ["Name"] = "value" },
---        body = "...", timeout = seconds, unix_socket = "/path", max_body = bytes,
---        tls = { cert = "file.pem", key = "key.pem", ca = "ca.pem", insecure = false } }
--- (tls: https:// only, every field optional: a client certificate and its
--- key, the CA that must have signed the server's certificate, and
--- insecure = true to accept any server certificate.)
--- Returns { status = 200, body = "...", content_type = "..." | nil } for any
--- HTTP status, or nil, message, code when no answer came ("ECONNREFUSED",
--- "ETIMEDOUT", "EMSGSIZE", "EAI_NONAME", "EINVAL", "EIO").
---@param req table
---@return table|nil response, string? message, string? code
function http.request(req)
  if type(req) ~= "table" then error("infrakit.http.request: expected a table, got " .. type(req), 2) end
  if type(req.url) ~= "string" then error("infrakit.http.request: url must be a string", 2) end
  local method = req.method or "GET"
  if type(method) ~= "string" then error("infrakit.http.request: method must be a string", 2) end
  local headers
  if req.headers ~= nil then
    if type(req.headers) ~= "table" then error("infrakit.http.request: headers must be a table", 2) end
    headers = {}
    for k, v in pairs(req.headers) do
      if type(k) ~= "string" or (type(v) ~= "string" and type(v) ~= "number") then
        error("infrakit.http.request: headers must map names to strings", 2)
      end
      headers[#headers + 1] = k .. ": " .. v
    end
    table.sort(headers)
  end
  if req.body ~= nil and type(req.body) ~= "string" then error("infrakit.http.request: body must be a string", 2) end
  local timeout = req.timeout or 0
  if type(timeout) ~= "number" or timeout < 0 then
    error("infrakit.http.request: timeout must be a number of seconds >= 0", 2)
  end
  local tls = req.tls or {}
  if type(tls) ~= "table" then error("infrakit.http.request: tls must be a table", 2) end
  for _, k in ipairs { "cert", "key", "ca" } do
    if tls[k] ~= nil and type(tls[k]) ~= "string" then
      error("infrakit.http.request: tls." .. k .. " must be a file name", 2)
    end
  end
  local status, body, ctype = core.http_request(method, req.url, headers, req.body, math.ceil(timeout * 1000),
    req.unix_socket, req.max_body or 0, tls.cert, tls.key, tls.ca, tls.insecure == true)
  if not status then return nil, body, ctype end
  return { status = status, body = body, content_type = ctype }
end

--- GET url; yields. Returns the body when the status is 2xx, else nil,
--- "GET url: HTTP <status>", "EHTTP"; transport failures as request().
---@param url string
---@param opts table|nil  { headers=, timeout=, unix_socket= }
---@return string|nil body, string? message, string? code
function http.get(url, opts)
  local req = { method = "GET", url = url }
  for k, v in pairs(opts or {}) do req[k] = v end
  local r, err, code = http.request(req)
  if not r then return nil, err, code end
  if r.status < 200 or r.status > 299 then
    return nil, ("GET %s: HTTP %d"):format(url, r.status), "EHTTP"
  end
  return r.body
end

return http
