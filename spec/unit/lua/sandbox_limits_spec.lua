-- Limits of sandboxed Lua (a spec's or a fetched template's code): its
-- errors are read inside the sandbox, it has a memory budget and a
-- run-time limit, and while it runs the other tasks keep running.
local infrakit = require "infrakit"
local core = require "infrakit._core"
local helper = dofile("spec/unit/lua/spec_helper.lua")
local sandbox = require "infrakit._sandbox"
local template = require "infrakit.template"

local function write(path, text)
  local f = assert(io.open(path, "w"))
  f:write(text)
  f:close()
end

describe("limits of sandboxed Lua", function()
  helper.track_refs()
  local saved_limits, saved_timeout, dir
  before_each(function()
    saved_limits = { core.sandbox_limits() }
    saved_timeout = infrakit.debug.timeout()
    infrakit.debug.timeout(2)
    dir = assert(infrakit.exec("mktemp -d /tmp/ik-sandbox-XXXXXX")).stdout:gsub("%s+$", "")
  end)
  after_each(function()
    core.sandbox_limits(saved_limits[1], saved_limits[2])
    infrakit.debug.timeout(saved_timeout)
    infrakit.exec({ "rm", "-rf", dir })
  end)

  -- Renders the Lua template `code` in its own task; returns wait()'s results.
  local function render(code)
    write(dir .. "/t.lua", code)
    return infrakit.spawn(function()
      return template.render_url("file://" .. dir .. "/t.lua", nil)
    end):wait()
  end

  it("reads a template's error object inside the sandbox, never from the host", function()
    -- The host used to read out.msg itself: this __index ran unbounded.
    local out, msg, code = render([[return function()
      error(setmetatable({}, { __index = function() while true do end end }))
    end]])
    assert.is_nil(out)
    assert.matches("^template file://.-/t%.lua: ", msg)
    assert.are.equal("EINVAL", code)
    -- A { msg =, code = } error keeps its message and code.
    out, msg, code = render([[return function() error({ msg = "no such host", code = "ENOENT" }) end]])
    assert.is_nil(out)
    assert.matches("t%.lua: no such host$", msg)
    assert.are.equal("ENOENT", code)
  end)

  it("fails a call over the memory budget, and gives the memory back", function()
    core.sandbox_limits(nil, 32)
    local out, msg = render([[return function() return "made " .. #string.rep("y", 2^30) end]])
    assert.is_nil(out)
    assert.matches("^sandbox: Lua code from a spec or template used more than 32 MiB", msg)
    -- Many small allocations are counted too.
    out, msg = render([[return function()
      local t = {}
      for i = 1, 1e7 do t[i] = ("x"):rep(1024) .. i end
    end]])
    assert.is_nil(out)
    assert.matches("more than 32 MiB", msg)
    -- A pcall inside cannot keep it going.
    local r = { infrakit.spawn(function()
      return sandbox.run([[
        local t = {}
        while true do pcall(function() t[#t + 1] = ("x"):rep(2^20) .. #t end) end
      ]], "=test")
    end):wait() }
    assert.is_nil(r[1])
    assert.matches("more than 32 MiB", r[2])
    collectgarbage()
    assert.is_true(collectgarbage("count") < 64 * 1024, "the heap stayed big")
    -- The runtime carries on.
    assert.are.equal("ok", render([[return function() return "ok" end]]))
  end)

  it("stops a looping template after --sandbox-timeout while other tasks keep running", function()
    core.sandbox_limits(0.3)
    local ticks = 0
    local ticker = infrakit.spawn(function()
      while true do
        infrakit.sleep(0.01)
        ticks = ticks + 1
      end
    end)
    local out, msg, code = render([[return function()
      xpcall(function() while true do end end, function() while true do end end)
    end]])
    ticker:cancel()
    assert.is_nil(out)
    assert.matches("^sandbox: Lua code from a spec or template ran for more than 0.3 s", msg)
    assert.are.equal("ETIMEDOUT", code)
    assert.is_true(ticks > 0, "no other task ran while the template looped")
  end)

  it("bounds pattern matching that cannot be interrupted", function()
    core.sandbox_limits(0.3)
    -- The limit may strike while the template loads too (a sanitizer build
    -- on a loaded machine): the message then names the template first.
    local out, msg = render([[return function() return tostring(("a"):rep(3000):find(".-.-.-b")) end]])
    assert.is_nil(out)
    assert.matches("sandbox: Lua code from a spec or template ran for more than", msg, 1, true)
    out, msg = render([[return function() return tostring(string.match(("a"):rep(3000), ".-.-.-b")) end]])
    assert.is_nil(out)
    assert.matches("sandbox: Lua code from a spec or template ran for more than", msg, 1, true)
    -- Ordinary patterns work as before.
    assert.are.equal("web-1|web", render([[return function()
      local s = ("  web-1  "):match("^%s*(.-)%s*$")
      return s .. "|" .. s:gsub("%-%d+$", "")
    end]]))
  end)

  it("matches exactly as LuaJIT's string functions do", function()
    local P = core.pattern
    local cases = {
      { "hello world", "o w" }, { "hello world", "l+" }, { "hello", "^h(.-)o$" }, { "a.b", ".", 1, true },
      { "key = value", "^(%w+)%s*=%s*(%w+)$" }, { "THE (quick) fox", "%((%a+)%)" }, { "f(a(b)c)d", "%b()" },
      { "THE quick", "%f[%a]%a+" }, { "abcabc", "()b()" }, { "aaa", "a-", 2 }, { "x", "" }, { "abc", "c", -1 },
      { "  trim  ", "^%s*(.-)%s*$" }, { "a,b,,c", "([^,]*)" }, { "10.0.0.1", "^(%d+)%.(%d+)%.(%d+)%.(%d+)$" },
      { "hello", "l", 10 }, { "hello hello", "(h)(e)llo %1%2" },
    }
    for _, c in ipairs(cases) do
      assert.are.same({ string.find(unpack(c, 1, 4)) }, { P.find(unpack(c, 1, 4)) })
      assert.are.same({ string.match(unpack(c, 1, 3)) }, { P.match(unpack(c, 1, 3)) })
      local a, b = {}, {}
      for x, y in string.gmatch(c[1], c[2]) do a[#a + 1] = { x, y } end
      for x, y in P.gmatch(c[1], c[2]) do b[#b + 1] = { x, y } end
      assert.are.same(a, b)
    end
    local subs = {
      { "hello world", "o", "0" }, { "hello world", "(%w+)", "<%1>" }, { "abc", "%w", "%0%0" }, { "abc", "", "-" },
      { "$name is $age", "%$(%w+)", { name = "ann", age = 7 } }, { "abc", "b", function() return nil end },
      { "a b c", "%s", "_", 1 }, { "50%", "%%", "%%%%" }, { "x=1, y=2", "(%w+)=(%w+)", "%2=%1" },
      { "hello", "l", function(l) return l:upper() end },
    }
    for _, c in ipairs(subs) do
      assert.are.same({ string.gsub(unpack(c, 1, 4)) }, { P.gsub(unpack(c, 1, 4)) })
    end
    assert.has_error(function() P.find("a", "[a") end)
    assert.has_error(function() P.gsub("a", "a", true) end)
  end)
end)
