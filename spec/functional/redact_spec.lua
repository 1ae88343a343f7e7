-- Secrets stay out of every output: a spec's password, repeated by a
-- failing plugin's error, and the credentials of a URL in that error, are
-- masked in the event log, group describe (text and JSON), the daemon's
-- log and the CLI's errors.
local infrakit = require "infrakit"
local json = infrakit.json
local support = dofile("spec/functional/support.lua")
local run, sh = support.run, support.sh

-- A Lua instance provider that refuses every provision, repeating what it
-- was given, as careless plugins do.
local leaky = [[
return {
  provision = function(spec)
    local p = spec.Properties
    return nil, "login refused for " .. p.User .. " with " .. p.DBPassword .. " at " .. p.Endpoint
  end,
  destroy = function() return true end,
  describe = function() return {} end,
}
]]

local PASSWORD = "hunter2-Pa55word"
local URL_PW, URL_TOKEN = "pw-in-the-url", "tok-in-the-query"

local function spec()
  return json.encode({
    ID = "db",
    Properties = {
      Allocation = { Size = 1 },
      Instance = { Plugin = "leaky", Properties = {
        User = "admin", DBPassword = PASSWORD,
        Endpoint = "https://admin:" .. URL_PW .. "@db.example.com:5432/app?token=" .. URL_TOKEN .. "&region=eu",
      } },
      Flavor = { Plugin = "flavor-vanilla", Properties = {} },
    },
  })
end

local function assert_clean(what, text)
  for _, s in ipairs({ PASSWORD, URL_PW, URL_TOKEN }) do
    assert.is_nil(text:find(s, 1, true), what .. " leaks " .. s .. ":\n" .. text)
  end
end

describe("secrets", function()
  local d, home
  setup(function()
    home = support.mktemp()
    sh("mkdir -p " .. home .. "/providers")
    local f = assert(io.open(home .. "/providers/leaky.lua", "w"))
    f:write(leaky)
    f:close()
    d = support.start_group_daemon(home, { "--log-file", home .. "/daemon.log" })
  end)
  teardown(function()
    run(home, { "group", "destroy", "db" })
    d.stop()
    d.cleanup()
  end)

  it("never reach the event log, describe, the daemon's log or the CLI", function()
    local r = run(home, { "group", "commit", "-" }, { stdin = spec() })
    assert.are.equal(0, r.status, r.stderr)
    local st = support.wait_group(home, "db", function(s) return #s.Failures > 0 end)
    local err = st.Failures[1].Error
    -- The rest of the message is kept: only the secrets are masked.
    assert.matches("login refused for admin with %[REDACTED%] at https://admin:%[REDACTED%]@db%.example%.com:5432/app%?token=%[REDACTED%]&region=eu", err)
    local desc = run(home, { "group", "describe", "db" })
    assert.are.equal(0, desc.status, desc.stderr)
    assert.matches("login refused for admin with %[REDACTED%]", desc.stdout)
    assert_clean("group describe", desc.stdout)
    assert_clean("group describe --json", run(home, { "group", "describe", "--json", "db" }).stdout)
    local events = io.open(home .. "/events.jsonl"):read("*a")
    assert.matches('"event":"action%-failed"', events)
    assert_clean("events.jsonl", events)
    -- The plugin's error straight to a client, and in the CLI's output.
    local inst = json.encode(json.decode(spec()).Properties.Instance)
    r = run(home, { "instance", "provision", "-p", "leaky", "-" },
      { stdin = json.encode({ Properties = json.decode(inst).Properties }) })
    assert.are.equal(1, r.status)
    assert.matches("login refused for admin with %[REDACTED%]", r.stderr)
    assert_clean("the CLI's error", r.stderr)
    local log = io.open(home .. "/daemon.log"):read("*a")
    assert.matches("REDACTED", log)
    assert_clean("the daemon's log", log)
  end)
end)
