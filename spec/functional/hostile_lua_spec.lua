-- Hostile Lua against a real daemon and the CLI: a
-- template whose xpcall handler loops, an error object that allocates
-- without end, a template that never returns; the daemon keeps serving,
-- fails those calls with a clear message, and stops on SIGTERM.
local infrakit = require "infrakit"
local json = infrakit.json
local support = dofile("spec/functional/support.lua")
local run = support.run

local function write(path, text)
  local f = assert(io.open(path, "w"))
  f:write(text)
  f:close()
end

local XPCALL = "xpcall(function() while true do end end, function() while true do end end)"

-- The Flavor.Prepare document of flavor-vanilla rendering home/NAME.
local function prepare_doc(home, name)
  return json.encode({
    Properties = { InitScriptTemplateURL = "file://" .. home .. "/" .. name },
    Spec = { Tags = {}, Init = "", LogicalID = "db-1" },
    Allocation = { LogicalIDs = { "db-1" } }, Index = { Group = "dbs", Sequence = 0 },
  })
end

local function hello(d)
  return infrakit.rpc.call(d.plugins .. "/flavor-vanilla", "Handshake.Hello", nil, { timeout = 2 })
end

describe("hostile Lua", function()
  it("infrakit lua: an xpcall whose handler loops stops at the limit", function()
    local r = assert(infrakit.exec({ support.bin, "lua", "--timeout", "1", "-e", XPCALL }, { timeout = 30 }))
    assert.are_not.equal(0, r.status)
    assert.matches("watchdog: Lua code ran for more than 1 s", r.stderr)
  end)

  describe("a daemon rendering templates from specs", function()
    local d
    before_each(function()
      -- The templates are files in the daemon's home: the operator allows it.
      local home = support.mktemp()
      d = support.start_daemon(home, { "--lua-timeout", "60", "--sandbox-timeout", "1", "--sandbox-memory", "64",
        "--template-dir", home })
    end)
    after_each(function()
      if d then
        d.stop()
        d.cleanup()
      end
    end)

    it("fails a template whose xpcall handler loops, answering meanwhile, and stops on SIGTERM", function()
      write(d.home .. "/spin.lua", "return function() " .. XPCALL .. " end")
      local call = infrakit.spawn(function()
        return run(d.home, { "flavor", "prepare", "-p", "flavor-vanilla", "-" }, { stdin = prepare_doc(d.home, "spin.lua") })
      end)
      infrakit.sleep(0.2)
      for _ = 1, 3 do
        assert.is_table(hello(d), "the daemon did not answer while the template looped")
        infrakit.sleep(0.1)
      end
      local r = call:wait()
      assert.are.equal(1, r.status)
      assert.matches("sandbox: Lua code from a spec or template ran for more than 1 s", r.stderr)
      assert.is_table(hello(d))
      local pid = io.open(d.plugins .. "/flavor-vanilla.pid"):read("*a")
      support.sh("kill -TERM " .. pid)
      local ended = d.task:wait()
      assert.is_table(ended, "the daemon did not stop on SIGTERM")
      d.cleanup()
      d = nil
    end)

    it("fails a template whose error object allocates without end, and keeps serving", function()
      write(d.home .. "/oom.lua", [[return function()
        error(setmetatable({}, { __index = function()
          local t = {}
          for i = 1, 64 do t[i] = string.rep("y", 2^30) end
        end }))
      end]])
      local r = run(d.home, { "flavor", "prepare", "-p", "flavor-vanilla", "-" }, { stdin = prepare_doc(d.home, "oom.lua") })
      assert.are.equal(1, r.status)
      assert.matches("template file://.-oom%.lua", r.stderr)
      write(d.home .. "/big.lua", [[return function() return string.rep("y", 2^30) end]])
      r = run(d.home, { "flavor", "prepare", "-p", "flavor-vanilla", "-" }, { stdin = prepare_doc(d.home, "big.lua") })
      assert.are.equal(1, r.status)
      assert.matches("used more than 64 MiB", r.stderr)
      assert.is_table(hello(d))
      write(d.home .. "/ok.lua", [[return function(ctx, f) return "echo " .. f.INSTANCE_LOGICAL_ID() end]])
      r = run(d.home, { "flavor", "prepare", "-p", "flavor-vanilla", "-" }, { stdin = prepare_doc(d.home, "ok.lua") })
      assert.are.equal(0, r.status, r.stderr)
      assert.are.equal("echo db-1", json.decode(r.stdout).Init)
    end)
  end)

  it("a daemon stuck in a trusted flavor's loop stops on SIGTERM", function()
    local home = support.mktemp()
    support.sh("mkdir -p " .. home .. "/flavors")
    write(home .. "/flavors/spin.lua", [[return {
      validate = function() return true end,
      prepare = function() while true do end end,
      healthy = function() return "healthy" end,
    }]])
    local d = support.start_daemon(home, { "--lua-timeout", "100" })
    local call = infrakit.spawn(function()
      return infrakit.exec({ support.bin, "flavor", "prepare", "-p", "spin", "-" },
        { env = support.env(home), stdin = prepare_doc(home, "x"), timeout = 30 })
    end)
    infrakit.sleep(0.3)
    local pid = io.open(d.plugins .. "/instance-file.pid"):read("*a")
    support.sh("kill -TERM " .. pid)
    local ended = d.task:wait()
    call:wait()
    d.cleanup()
    assert.is_table(ended, "the daemon did not stop on SIGTERM")
  end)
end)
