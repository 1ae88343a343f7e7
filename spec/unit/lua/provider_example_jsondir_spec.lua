-- The example instance provider of docs/writing-a-provider.md, loaded from
-- the docs so that the documented code is the tested code. Every function
-- of the contract is driven here as the host calls it;
-- spec/functional/provider_spec.lua runs it in a real daemon.
local infrakit = require "infrakit"
local helper = dofile("spec/unit/lua/spec_helper.lua")
local json = infrakit.json
local null = json.null

local PATH = "docs/examples/providers/jsondir.lua"
local sleep = infrakit.sleep

local function read(path)
  local f = assert(io.open(path, "rb"))
  local text = f:read("*a")
  f:close()
  return text
end

-- A spec as the host passes it (JSON decoded: nulls are json.null).
local function spec_of(t)
  local s = assert(json.decode([[{"Properties":{"Note":"v1"},"Tags":{"infrakit.group":"web"},"Init":"","LogicalID":null,"Attachments":null}]]))
  for k, v in pairs(t or {}) do s[k] = v end
  return s
end

describe("docs/examples/providers/jsondir.lua", function()
  helper.track_refs()
  local provider, dir

  before_each(function()
    provider = dofile(PATH)
    dir = assert(infrakit.exec({ "mktemp", "-d", "/tmp/ik-jsondir-XXXXXX" })).stdout:gsub("%s+$", "")
    provider.dir = dir .. "/instances"
    provider.interval = 0.01
  end)
  after_each(function()
    infrakit.sleep = sleep -- the watch test wraps it
    assert(infrakit.exec({ "rm", "-rf", dir }))
  end)

  it("is the code docs/writing-a-provider.md shows", function()
    local listing = read("docs/writing-a-provider.md"):match("```lua\n(%-%- jsondir: .-\n)```")
    assert.is_string(listing, "no listing of jsondir.lua in the doc")
    assert.are.equal(read(PATH), listing)
  end)

  it("validates Properties", function()
    assert.is_true(provider.validate({ Note = "x" }))
    assert.is_true(provider.validate(null))
    local ok, err, code = provider.validate("nope")
    assert.is_nil(ok)
    assert.are.equal("jsondir: Properties must be an object", err)
    assert.are.equal("EINVAL", code)
  end)

  it("provisions, labels, describes and destroys", function()
    assert.are.same({}, provider.describe({}, false)) -- no directory yet
    local a = assert(provider.provision(spec_of({ LogicalID = "10.0.0.1" })))
    local b = assert(provider.provision(spec_of({ Tags = { ["infrakit.group"] = "db" } })))
    assert.matches("^jd%-%x+%-%x+%-4%x+%-%x+%-%x+$", a)
    assert.are_not.equal(a, b)

    assert.is_true(provider.label(a, { owner = "me" }))
    local web = provider.describe({ ["infrakit.group"] = "web" }, false)
    assert.are.equal(1, #web)
    assert.are.equal(a, web[1].ID)
    assert.are.equal("10.0.0.1", web[1].LogicalID)
    assert.are.same({ ["infrakit.group"] = "web", owner = "me" }, web[1].Tags)
    assert.is_nil(web[1].Properties)
    local with = provider.describe({ owner = "me" }, true)
    assert.are.same({ Note = "v1" }, with[1].Properties)
    assert.are.equal(2, #provider.describe({}, false))

    assert.is_true(provider.destroy(a, { Reason = "terminate" }))
    local ok, err, code = provider.destroy(a, { Reason = "terminate" })
    assert.is_nil(ok)
    assert.matches("^jsondir: destroy " .. a:gsub("%-", "%%-"), err)
    assert.are.equal("ENOTFOUND", code)
    local none, _, why = provider.label("../etc/passwd", {})
    assert.is_nil(none)
    assert.are.equal("ENOTFOUND", why)
    assert.are.equal(1, #provider.describe({}, false))
  end)

  it("watch reports instances that vanish or appear behind its back", function()
    local a = assert(provider.provision(spec_of()))
    -- Count the watcher's naps (its interval is a number nothing else
    -- sleeps): after the first one it has looked at the directory once.
    provider.interval = 0.013
    local naps = 0
    infrakit.sleep = function(s)
      if s == 0.013 then naps = naps + 1 end
      return sleep(s)
    end
    local seen = {}
    local watcher = infrakit.spawn(provider.watch, function(id)
      seen[#seen + 1] = id
      return true
    end)
    local function wait_until(pred)
      for _ = 1, 500 do
        if pred() then return end
        sleep(0.01)
      end
    end
    wait_until(function() return naps >= 1 end)
    assert.are.same({}, seen) -- a was there from the start: nothing to say
    assert(os.remove(provider.dir .. "/" .. a .. ".json"))
    wait_until(function() return #seen >= 1 end)
    assert.are.same({ a }, seen)
    local b = assert(provider.provision(spec_of()))
    wait_until(function() return #seen >= 2 end)
    assert.are.same({ a, b }, seen)
    watcher:cancel()
  end)
end)
