local infrakit = require "infrakit"
local helper = dofile("spec/unit/lua/spec_helper.lua")
local json = infrakit.json

describe("infrakit.json", function()
  helper.track_refs()

  it("round-trips InfraKit-shaped documents", function()
    local doc = { ID = "workers", Properties = { Allocation = { Size = 3 }, Tags = { ["infrakit.group"] = "workers" } } }
    assert.are.same(doc, json.decode(json.encode(doc)))
  end)

  it("decodes null to json.null", function()
    local v = assert(json.decode('{"LogicalID":null}'))
    assert.are.equal(json.null, v.LogicalID)
  end)

  it("returns nil, message, EINVAL for bad input", function()
    local v, msg, code = json.decode("{not json")
    assert.is_nil(v)
    assert.are.equal("EINVAL", code)
    assert.matches("^invalid JSON", msg)
  end)

  it("names a decode error by 1-based line and column", function()
    local cases = {
      { '{\n"ID": x\n}', "invalid JSON: Expected value but found invalid token at line 2, column 7" },
      { '{"ID": x}', "invalid JSON: Expected value but found invalid token at line 1, column 8" },
      { '{\n"ID": 1,\n', "invalid JSON: Expected object key string but found T_END at line 3, column 1" },
    }
    for _, c in ipairs(cases) do
      local v, msg = json.decode(c[1])
      assert.is_nil(v)
      assert.are.equal(c[2], msg)
    end
  end)

  it("raises on values JSON cannot hold", function()
    assert.has_error(function() json.encode({ f = print }) end)
    assert.has_error(function() json.decode(42) end, "infrakit.json.decode: expected a string, got number")
  end)
end)

describe("infrakit.log", function()
  local function capture(fn)
    -- Run a child infrakit with its log on stderr, capture it.
    local bin = os.getenv("IK_BIN") or "./infrakit"
    local r = assert(infrakit.exec({ bin, "lua", "-e", fn }, { env = { INFRAKIT_LOG_LEVEL = "debug" } }))
    return r.stderr
  end

  it("writes key=value lines with sorted fields", function()
    local out = capture([[require("infrakit").log.info("hello world", { b = 2, a = "x y", ok = true })]])
    assert.matches('level=info mod=lua msg="hello world" a="x y" b=2 ok=true', out, 1, true)
  end)

  it("uses the mod field as the module column", function()
    local out = capture([[require("infrakit").log.warn("w", { mod = "flavor" })]])
    assert.matches("level=warn mod=flavor msg=w", out, 1, true)
  end)

  it("redacts secret-looking keys and registered secrets", function()
    local out = capture([[
      local log = require("infrakit").log
      log.secret("s3cr3t-value")
      log.info("token is s3cr3t-value", { password = "hunter2", api_token = "abc", note = "has s3cr3t-value inside" })
    ]])
    assert.is_nil(out:find("hunter2", 1, true))
    assert.is_nil(out:find("s3cr3t-value", 1, true))
    assert.matches("password=[REDACTED]", out, 1, true)
    assert.matches("api_token=[REDACTED]", out, 1, true)
    assert.matches('note="has [REDACTED] inside"', out, 1, true)
  end)

  it("masks URL credentials in the log, and redact() masks what a script prints", function()
    local out = capture([[
      local infrakit = require("infrakit")
      infrakit.log.warn("fetch https://bob:url-pw-1@h.example/x?token=q-tok-1&v=2: refused")
      io.stderr:write(infrakit.log.redact("plain https://bob:url-pw-2@h/?sig=q-sig-2\n"))
    ]])
    assert.matches('msg="fetch https://bob:[REDACTED]@h.example/x?token=[REDACTED]&v=2: refused"', out, 1, true)
    assert.matches("plain https://bob:[REDACTED]@h/?sig=[REDACTED]\n", out, 1, true)
  end)

  it("masks the secrets of a spec given to group.commit in this process too", function()
    local out = capture([[
      local infrakit = require("infrakit")
      infrakit.group.use("/nonexistent/group.sock")
      infrakit.group.commit({ ID = "db", Properties = { Instance = { Properties = {
        Env = { DB_PASSWORD = "spec-pw-1" }, Secrets = { "marked-2" }, Note = "not-secret-3" } } } })
      infrakit.log.info("spec-pw-1 marked-2 not-secret-3")
    ]])
    assert.matches('msg="[REDACTED] [REDACTED] not-secret-3"', out, 1, true)
  end)

  it("rejects an unknown level", function()
    assert.has_error(function() infrakit.log.enabled("loud") end)
    assert.is_true(infrakit.log.enabled("error"))
  end)
end)
