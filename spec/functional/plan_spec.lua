-- infrakit plan: a group spec against the instances its plugin reports,
-- planned without acting (the daemon's instance-file, in another process).
local infrakit = require "infrakit"
local json = infrakit.json
local support = dofile("spec/functional/support.lua")
local run, sh = support.run, support.sh

-- The "cattle" group of wire-examples.md: its config hash is recorded.
local spec = json.encode({
  ID = "cattle",
  Properties = {
    Allocation = { Size = 2 },
    Instance = { Plugin = "instance-file", Properties = { Note = "v1" } },
    Flavor = { Plugin = "flavor-vanilla", Properties = { Init = { "echo hello" }, Tags = { tier = "web" } } },
  },
})

describe("infrakit plan", function()
  local home
  setup(function()
    home = support.mktemp()
    assert.are.equal(0, run(home, { "plugin", "start", "instance-file" }).status)
  end)
  teardown(function()
    run(home, { "plugin", "stop", "instance-file" })
    sh("rm -rf " .. home)
  end)

  it("plans provisions for an empty group, with InfraKit's config hash", function()
    local r = run(home, { "plan", "-" }, { stdin = spec })
    assert.are.equal(0, r.status, r.stderr)
    assert.are.equal("group cattle (config rsfonnrfmaykaiytaj26ud5ixjk7m4rd): scaling 0/2\n"
      .. "  provision hash=rsfonnrfmaykaiytaj26ud5ixjk7m4rd (0 of 2 instances)\n"
      .. "  provision hash=rsfonnrfmaykaiytaj26ud5ixjk7m4rd (0 of 2 instances)\n", r.stdout)
  end)

  it("sees the group's instances and plans a rolling update for an old config", function()
    for _ = 1, 2 do
      assert.are.equal(0, run(home, { "instance", "provision", "-p", "instance-file", "-" },
        { stdin = '{"Tags": {"infrakit.group": "cattle", "infrakit.config.hash": "old"}}' }).status)
    end
    -- Another group's instance is never counted.
    run(home, { "instance", "provision", "-p", "instance-file", "-" }, { stdin = '{"Tags": {"infrakit.group": "other"}}' })
    local r = run(home, { "plan", "--json", "-" }, { stdin = spec })
    assert.are.equal(0, r.status, r.stderr)
    local plan = json.decode(r.stdout)
    assert.are.equal("rolling", plan.Summary.Phase)
    assert.are.equal(2, plan.Summary.Desired)
    assert.are.equal(1, #plan.Actions) -- MaxSurge 1: one new instance first
    assert.are.equal("provision", plan.Actions[1].Kind)
    assert.matches("rolling update: surge", plan.Actions[1].Text)
  end)

  it("names a JSON error by 1-based line and column, at the start of the bad token", function()
    local cases = {
      { '{\n"ID": x\n}\n', "stdin:2:7: invalid JSON: invalid token near 'x'" },
      { '{\n  "ID": "a"\n  "Properties": {}\n}', "stdin:3:3: invalid JSON: '}' expected near '\"Properties\"'" },
      { '{\n"ID": "a",\n', "stdin:3:1: invalid JSON: string or '}' expected near end of file" },
      { '{"ID": "a"', "stdin:1:11: invalid JSON: '}' expected near end of file" },
      { "", "stdin:1:1: invalid JSON: unexpected token near end of file" },
    }
    for _, c in ipairs(cases) do
      for _, cmd in ipairs({ { "plan", "-" }, { "group", "commit", "-" } }) do
        local r = run(home, cmd, { stdin = c[1] })
        assert.are.equal(1, r.status)
        assert.are.equal("infrakit " .. table.concat(cmd, " "):gsub(" %-$", "") .. ": " .. c[2] .. "\n", r.stderr)
      end
    end
  end)

  it("refuses a bad spec naming the field, and a plugin that is not there", function()
    local r = run(home, { "plan", "-" }, { stdin = '{"ID": "x", "Properties": {"Allocation": {"Size": -1}}}' })
    assert.are.equal(1, r.status)
    assert.matches("Properties%.Allocation%.Size: want a non%-negative integer", r.stderr)
    r = run(home, { "plan", "-" }, { stdin = (spec:gsub('"instance%-file"', '"instance-nope"')) })
    assert.are.equal(1, r.status)
    assert.matches("plugin instance%-nope: not found", r.stderr)
    r = run(home, { "plan" })
    assert.are.equal(2, r.status)
  end)
end)
