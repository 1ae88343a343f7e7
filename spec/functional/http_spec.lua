-- infrakit.http against a real HTTP server: a daemon's plugin socket (unix
-- and TCP), which answers GET /info/api.json, 404 and 405.
local infrakit = require "infrakit"
local support = dofile("spec/functional/support.lua")

describe("infrakit.http", function()
  local d, base
  setup(function()
    d = support.start_daemon(nil, { "--listen", "127.0.0.1:0", "--insecure" })
    base = io.open(d.plugins .. "/instance-file.listen"):read("*a"):gsub("^tcp://", "http://")
  end)
  teardown(function()
    d.stop()
    d.cleanup()
  end)

  it("GETs over TCP and returns status, body and content type", function()
    local r = assert(infrakit.http.request { url = base .. "/info/api.json" })
    assert.are.equal(200, r.status)
    assert.are.equal("application/json", r.content_type)
    assert.are.equal("Instance", infrakit.json.decode(r.body).Implements[1].Name)
  end)

  it("talks to a unix socket", function()
    local r = assert(infrakit.http.request { url = "http://h/info/functions.json", unix_socket = d.socket })
    assert.are.equal(200, r.status)
    assert.are.equal('{"builtin":[]}', r.body)
  end)

  it("POSTs a body with headers", function()
    local r = assert(infrakit.http.request {
      method = "POST", url = base .. "/", headers = { ["Content-Type"] = "application/json" },
      body = '{"jsonrpc":"2.0","method":"Handshake.Hello","params":{},"id":7}',
    })
    assert.are.equal(200, r.status)
    assert.matches('"id":7}', r.body, 1, true)
  end)

  it("an HTTP error status is an answer; get() turns it into nil, msg, EHTTP", function()
    local r = assert(infrakit.http.request { url = base .. "/nope" })
    assert.are.equal(404, r.status)
    local body, err, code = infrakit.http.get(base .. "/nope")
    assert.is_nil(body)
    assert.are.equal("GET " .. base .. "/nope: HTTP 404", err)
    assert.are.equal("EHTTP", code)
  end)

  it("a refused connection, a timeout and a body limit are nil, msg, code", function()
    assert.are.equal("ECONNREFUSED", select(3, infrakit.http.get("http://127.0.0.1:1/")))
    assert.are.equal("EMSGSIZE", select(3, infrakit.http.request { url = base .. "/info/api.json", max_body = 10 }))
    assert.are.equal("EINVAL", select(3, infrakit.http.request { url = "ftp://x/" }))
  end)

  it("raises on misuse", function()
    assert.has_error(function() infrakit.http.request("http://x/") end,
      "infrakit.http.request: expected a table, got string")
    assert.has_error(function() infrakit.http.request { url = "http://x/", headers = { 1 } } end,
      "infrakit.http.request: headers must map names to strings")
    assert.has_error(function() infrakit.http.request { url = "http://x/", timeout = -1 } end,
      "infrakit.http.request: timeout must be a number of seconds >= 0")
  end)
end)
