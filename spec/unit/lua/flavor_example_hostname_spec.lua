-- The example flavor of docs/writing-a-flavor.md, loaded from the docs so
-- that the documented code is the tested code.
local infrakit = require "infrakit"
local helper = dofile("spec/unit/lua/spec_helper.lua")
local json = infrakit.json
local null = json.null

local flavor = dofile("docs/examples/flavors/hostname.lua")

-- A spec as the host passes it (JSON decoded: nulls are json.null).
local function spec_of(t)
  local s = assert(json.decode([[{"Properties":{"Note":"v1"},"Tags":{"infrakit.group":"web"},"Init":"","LogicalID":null,"Attachments":null}]]))
  for k, v in pairs(t or {}) do s[k] = v end
  return s
end

describe("docs/examples/flavors/hostname.lua", function()
  helper.track_refs()

  it("is the code docs/writing-a-flavor.md shows", function()
    local function read(path)
      local f = assert(io.open(path, "rb"))
      local text = f:read("*a")
      f:close()
      return text
    end
    local doc = read("docs/writing-a-flavor.md")
    local listing = doc:match("```lua\n(%-%- hostname: .-\n)```")
    assert.is_string(listing, "no listing of hostname.lua in the doc")
    assert.are.equal(read("docs/examples/flavors/hostname.lua"), listing)
  end)

  it("has the four functions of the flavor contract", function()
    for _, name in ipairs { "validate", "prepare", "healthy", "drain" } do
      assert.is_function(flavor[name])
    end
  end)

  it("validate accepts a pet group and refuses cattle, bad prefixes and bad IDs", function()
    local pets = { Size = 0, LogicalIDs = { "10.0.0.1", "10.0.0.2" } }
    assert.is_true(flavor.validate({ Prefix = "web" }, pets))
    assert.is_true(flavor.validate(null, pets))
    local cases = {
      { { Prefix = "web" }, { Size = 3, LogicalIDs = null }, "the hostname flavor needs Allocation.LogicalIDs" },
      { { Prefix = "Web_1" }, pets, [[Prefix "Web_1" is not a host name label (a-z, 0-9 and '-')]] },
      { { Prefix = "web", Domain = 7 }, pets, "Domain must be a string" },
      { { Prefix = "web" }, { LogicalIDs = { "10.0.0.1", "." } }, [[LogicalID "." does not make a valid host name]] },
    }
    for _, c in ipairs(cases) do
      local ok, err = flavor.validate(c[1], c[2])
      assert.is_nil(ok)
      assert.are.equal(c[3], err)
    end
  end)

  it("prepare appends a hostnamectl line to Init and tags the instance", function()
    local out = assert(flavor.prepare({ Prefix = "web" }, spec_of { LogicalID = "10.0.0.1" },
      { LogicalIDs = { "10.0.0.1" } }, { Group = "web", Sequence = 1 }))
    assert.are.equal("hostnamectl set-hostname web-10-0-0-1", out.Init)
    assert.are.same({ ["infrakit.group"] = "web", hostname = "web-10-0-0-1" }, out.Tags)
    -- What the host will send back as the Flavor.Prepare result.
    assert.are.same(assert(json.decode([[{"Properties":{"Note":"v1"},"Tags":{"infrakit.group":"web","hostname":"web-10-0-0-1"},"Init":"hostnamectl set-hostname web-10-0-0-1","LogicalID":"10.0.0.1","Attachments":null}]])),
      assert(json.decode(json.encode(out))))
  end)

  it("prepare keeps an existing Init, adds the domain, and copes with null Tags", function()
    local out = assert(flavor.prepare({ Domain = "example.com" },
      spec_of { LogicalID = "DB.1", Init = "#!/bin/sh", Tags = null }, {}, {}))
    assert.are.equal("#!/bin/sh\nhostnamectl set-hostname node-db-1.example.com", out.Init)
    assert.are.same({ hostname = "node-db-1" }, out.Tags)
  end)

  it("prepare refuses an instance without a LogicalID", function()
    local out, err = flavor.prepare({}, spec_of {}, { Size = 1 }, {})
    assert.is_nil(out)
    assert.are.equal("the hostname flavor needs a LogicalID for every instance", err)
  end)

  it("healthy looks for the tag, drain succeeds", function()
    assert.are.equal("healthy", flavor.healthy(null, { ID = "i-1", LogicalID = "10.0.0.1", Tags = { hostname = "node-10-0-0-1" } }))
    assert.are.equal("unknown", flavor.healthy(null, { ID = "i-2", LogicalID = null, Tags = {} }))
    assert.is_true(flavor.drain(null, { ID = "i-1", LogicalID = "10.0.0.1", Tags = { hostname = "node-10-0-0-1" } }))
  end)
end)
