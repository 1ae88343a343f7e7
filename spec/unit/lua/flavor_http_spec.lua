-- flavor-http (lua/infrakit/flavors/http.lua): validate's errors, prepare's
-- tag, and healthy against a real HTTP server (`infrakit serve`) reached
-- directly or through an instance's Properties.Ports, plus the answers a
-- booting VM gives (no server: "unknown").
local infrakit = require "infrakit"
local helper = dofile("spec/unit/lua/spec_helper.lua")
local flavor = require "infrakit.flavors.http"

local free_port = helper.free_port

describe("flavor-http", function()
  helper.track_refs()

  describe("validate", function()
    local cases = {
      { nil, true },
      { { Port = 8080, Path = "/health", Expect = "ok", Timeout = 0.5 }, true },
      { { port = 0, path = "" }, true }, -- zero values: the defaults
      { { Port = 70000 }, nil, "Port 70000 is not a TCP port (1-65535)" },
      { { Port = "80" }, nil, "json: cannot unmarshal string into Go struct field Spec.Port of type int" },
      { { Port = 1.5 }, nil, "json: cannot unmarshal number 1.5 into Go struct field Spec.Port of type int" },
      { { Path = "health" }, nil, 'Path "health" must start with /' },
      { { Timeout = -1 }, nil, "Timeout -1 must be positive (seconds)" },
      { { Expect = 3 }, nil, "json: cannot unmarshal number into Go struct field Spec.Expect of type string" },
      { "x", nil, "json: cannot unmarshal string into Go value of type http.Spec" },
    }
    for _, c in ipairs(cases) do
      it((c[3] or "accepts " .. infrakit.json.encode(c[1] or infrakit.json.null)), function()
        local ok, err, code = flavor.validate(c[1], { Size = 1 })
        assert.are.equal(c[2], ok)
        assert.are.equal(c[3], err)
        if c[3] then assert.are.equal("EINVAL", code) end
      end)
    end
  end)

  it("prepare tags the instance with Expect and keeps the rest", function()
    local spec = { Init = "echo hi", Tags = { ["infrakit.group"] = "vms" }, Properties = { Memory = 256 } }
    local out = assert(flavor.prepare({ Expect = "v2" }, spec, { Size = 3 }, { Group = "vms", Sequence = 3 }))
    assert.are.same({ Init = "echo hi", Tags = { ["infrakit.group"] = "vms", ["infrakit.http.expect"] = "v2" },
      Properties = { Memory = 256 } }, out)
    local bare = assert(flavor.prepare(nil, { Init = "", Tags = infrakit.json.null }, { Size = 1 }, {}))
    assert.are.same({ Init = "", Tags = infrakit.json.null }, bare)
  end)

  describe("healthy", function()
    local port, server
    setup(function()
      port = free_port()
      server = infrakit.spawn(function()
        return infrakit.exec({ os.getenv("IK_BIN") or "./infrakit", "serve", "--listen", "127.0.0.1:" .. port, "--text", "v1\n" },
          { timeout = 120 })
      end)
      for _ = 1, 200 do
        if infrakit.http.get("http://127.0.0.1:" .. port .. "/", { timeout = 1 }) then break end
        infrakit.sleep(0.02)
      end
    end)
    teardown(function() server:cancel() end)

    local function instance(ports, tags)
      return { ID = "qemu-1", Tags = tags or {}, Properties = ports and { Ports = ports } or nil }
    end

    it("asks the host port the instance's Ports maps its Port to", function()
      assert.are.equal("healthy", flavor.healthy({ Expect = "v1" }, instance({ ["80"] = port })))
      assert.are.equal("healthy", flavor.healthy({ Port = 8080 }, instance({ ["8080"] = port })))
    end)

    it("asks Port itself when the instance reports no Ports", function()
      assert.are.equal("healthy", flavor.healthy({ Port = port }, instance(nil)))
    end)

    it("judges an instance by the Expect it was tagged with, else the Properties'", function()
      assert.are.equal("unhealthy", flavor.healthy({ Expect = "v2" }, instance({ ["80"] = port })))
      assert.are.equal("healthy", flavor.healthy({ Expect = "v2" },
        instance({ ["80"] = port }, { ["infrakit.http.expect"] = "v1" })))
      assert.are.equal("unhealthy", flavor.healthy({ Expect = "v1" },
        instance({ ["80"] = port }, { ["infrakit.http.expect"] = "v0" })))
    end)

    it("is unknown while nothing answers (booting) or the port is not forwarded yet", function()
      local t0 = infrakit.clock()
      assert.are.equal("unknown", flavor.healthy({ Timeout = 1 }, instance({ ["80"] = free_port() })))
      assert.is_true(infrakit.clock() - t0 < 1)
      assert.are.equal("unknown", flavor.healthy({}, instance({ ["22"] = port })))
    end)

    it("is unhealthy for a status other than 2xx", function()
      local real = infrakit.http.request
      infrakit.http.request = function() return { status = 503, body = "v1" } end
      local h = flavor.healthy({ Expect = "v1" }, instance({ ["80"] = port }))
      infrakit.http.request = real
      assert.are.equal("unhealthy", h)
    end)

    it("fails the call for Properties that do not decode", function()
      local h, err, code = flavor.healthy({ Port = "x" }, instance({ ["80"] = port }))
      assert.is_nil(h)
      assert.matches("cannot unmarshal string", err, 1, true)
      assert.are.equal("EINVAL", code)
    end)
  end)
end)
