local infrakit = require "infrakit"
local helper = dofile("spec/unit/lua/spec_helper.lua")

local sandbox = require "infrakit._sandbox"
local bin = os.getenv("IK_BIN") or "./infrakit"

-- Runs code in a fresh sandbox; returns what sandbox.run returns, packed.
local function pack(...)
  return { n = select("#", ...), ... }
end
local function run(code, extra, ...)
  return pack(sandbox.run(code, "=test", extra, ...))
end

-- Asserts that code failed in the sandbox (raised, or did not compile),
-- and returns the message.
local function refused(code, extra)
  local r = { sandbox.run(code, "=test", extra) }
  assert.is_nil(r[1], "the sandboxed code succeeded: " .. code)
  assert.is_string(r[2])
  assert.is_truthy(r[3] == "ELUA" or r[3] == "EINVAL")
  return r[2]
end

describe("infrakit._sandbox", function()
  helper.track_refs()

  describe("keeps out", function()
    -- Every name that must not be reachable as a global.
    local absent = {
      "io", "package", "require", "module", "debug", "jit", "ffi", "load", "loadstring", "loadfile", "dofile",
      "getfenv", "setfenv", "rawget", "rawset", "rawequal", "collectgarbage", "gcinfo", "newproxy", "print",
    }
    for _, name in ipairs(absent) do
      it("the global " .. name, function()
        local r = run("return " .. name)
        assert.are.equal(1, r.n)
        assert.is_nil(r[1])
      end)
    end

    for _, name in ipairs { "execute", "exit", "getenv", "remove", "rename", "tmpname", "setlocale" } do
      it("os." .. name, function()
        assert.is_nil(run("return os." .. name)[1])
        assert.matches("attempt to call field '" .. name .. "'", refused("return os." .. name .. "()"), 1, true)
      end)
    end

    it("io.open", function()
      assert.matches("attempt to index global 'io'", refused("return io.open('/etc/passwd')"), 1, true)
    end)

    it("os.execute running a program", function()
      local path = os.tmpname()
      os.remove(path)
      refused("os.execute('touch " .. path .. "')")
      assert.is_nil(io.open(path))
    end)

    it("require 'ffi'", function()
      assert.matches("attempt to call global 'require'", refused("local ffi = require 'ffi' return ffi.C"), 1, true)
    end)

    it("require 'os' and 'io'", function()
      refused("return require('os').execute")
      refused("return require('io').open")
    end)

    it("package.loaded", function()
      assert.matches("attempt to index global 'package'", refused("return package.loaded.io"), 1, true)
    end)

    it("debug.getregistry", function()
      assert.matches("attempt to index global 'debug'", refused("return debug.getregistry()"), 1, true)
    end)

    it("bytecode given to sandbox.load, real or crafted", function()
      local real = string.dump(function() return os.execute end)
      for _, code in ipairs { real, "\27LJ\2\0\0", "\239\187\191" .. real } do
        local fn, err, code_ = sandbox.load(code, "=bytecode")
        assert.is_nil(fn)
        assert.is_string(err)
        assert.are.equal("EINVAL", code_)
      end
    end)

    it("bytecode loaded from inside the sandbox (load, loadstring)", function()
      refused([[return load("\27LJ\2\0\0")]])
      refused([[return loadstring("return 1")]])
    end)

    it("getfenv(0) and getfenv(1) reaching the host's globals", function()
      refused("return getfenv(0).io")
      refused("return getfenv(1).os.execute")
      refused("return getfenv(print)")
      -- _G is the sandbox's own table.
      local r = run("return _G, _G.io, _G.os.execute")
      assert.are_not.equal(_G, r[1])
      assert.is_nil(r[2])
      assert.is_nil(r[3])
    end)

    it("setfenv on a host function", function()
      local function host_fn() return type(os) end
      refused("setfenv(f, {})", { f = host_fn })
      refused("setfenv(1, {}) return 1")
      assert.are.equal("table", host_fn())
    end)

    it("string.dump and ('').dump", function()
      local r = run("return string.dump, ('').dump, ('x').dump, type(string.rep)")
      assert.is_nil(r[1])
      assert.is_nil(r[2])
      assert.is_nil(r[3])
      assert.are.equal("function", r[4])
      refused("return ('').dump(function() end)")
      -- The host keeps string.dump (it is its own program).
      assert.are.equal("function", type(string.dump))
    end)

    it("a huge ('').rep: out of memory is an ordinary error, not the host's fatal one", function()
      local msg = refused("return ('xx'):rep(2^30)")
      assert.matches("not enough memory", msg, 1, true)
      -- Called directly (not through sandbox.run) in a task of a child
      -- process: the task fails with a message; the process does not abort.
      local script = [[
        local sandbox = require "infrakit._sandbox"
        local fn = assert(sandbox.load("return ('xx'):rep(2^30)", "=big"))
        local t = require("infrakit").spawn(fn)
        local r, err, code = t:wait()
        print(r, err, code)
      ]]
      local r = assert(infrakit.exec({ bin, "lua", "-e", script }, { timeout = 60 }))
      assert.are.equal(0, r.status)
      assert.matches("nil\t.-not enough memory\tELUA", r.stdout)
    end)

    it("getmetatable('') and changing the string metatable", function()
      assert.is_nil(run("return getmetatable('')")[1])
      refused("getmetatable('').__index.upper = function() return 'pwned' end")
      refused("local s = '' s.upper = function() return 'pwned' end")
      assert.are.equal("X", ("x"):upper())
    end)

    it("changing string.format, table.concat, math.floor or os.time for the host or the next sandbox", function()
      assert.are.same({ n = 0 }, run([[
        string.format = function() return "pwned" end
        string.rep = nil
        table.concat = function() return "pwned" end
        math.floor = nil
        os.time = nil
        coroutine.wrap = nil
      ]]))
      assert.are.equal("1", string.format("%d", 1))
      assert.are.equal("a,b", table.concat({ "a", "b" }, ","))
      assert.are.equal(1, math.floor(1.5))
      assert.is_function(os.time)
      assert.is_function(coroutine.wrap)
      local r = run([[return string.format("%d", 2), table.concat({"a","b"}, "-"), math.floor(2.5), type(os.time), ("y"):rep(2)]])
      assert.are.same({ n = 5, "2", "a-b", 2, "function", "yy" }, r)
    end)

    it("method calls reaching a string library the sandbox replaced in its copy", function()
      -- ("x"):upper() uses the shared string metatable, never the sandbox's copy,
      -- and the sandbox cannot change it.
      local r = run([[string.upper = function() return "pwned" end return ("x"):upper()]])
      assert.are.equal("X", r[1])
      assert.are.equal("X", string.upper("x"))
    end)

    it("rawset(_G, ...) and globals set by the sandbox", function()
      refused("rawset(_G, 'sandbox_escape', true)")
      run("sandbox_escape = true; _G.sandbox_escape2 = true")
      assert.is_nil(rawget(_G, "sandbox_escape"))
      assert.is_nil(rawget(_G, "sandbox_escape2"))
    end)

    it("collectgarbage('stop')", function()
      refused("collectgarbage('stop')")
      assert.is_nil(run("return gcinfo")[1])
    end)

    it("math.randomseed (the PRNG is shared with the host)", function()
      assert.is_nil(run("return math.randomseed")[1])
      assert.is_number(run("return math.random()")[1])
    end)

    it("the metatables of tables passed in", function()
      local mt = { __index = function() return "host" end }
      local shared = setmetatable({}, mt)
      assert.is_nil(run("return getmetatable(t)", { t = shared })[1])
      assert.matches("did not set", refused("setmetatable(t, nil)", { t = shared }), 1, true)
      assert.are.equal(mt, getmetatable(shared))
    end)

    it("coroutine tricks: no host thread, no yield across the host, no resume of host threads", function()
      -- running() at the top level does not hand out the host's task.
      assert.is_nil(run("return coroutine.running()")[1])
      assert.is_false(run("return coroutine.isyieldable()")[1])
      -- A yield outside the sandbox's own coroutines raises instead of suspending the task.
      assert.matches("attempt to yield from outside a coroutine", refused("coroutine.yield(1)"), 1, true)
      local r = run("return pcall(coroutine.yield, 1)")
      assert.is_false(r[1])
      assert.matches("attempt to yield from outside a coroutine", r[2], 1, true)
      -- Threads it did not create are refused.
      local host_thread = coroutine.create(function() return os.execute end)
      assert.matches("created by this code", refused("return coroutine.resume(t)", { t = host_thread }), 1, true)
      assert.matches("created by this code", refused("return coroutine.status(t)", { t = host_thread }), 1, true)
      assert.are.equal("suspended", coroutine.status(host_thread))
      -- Code running inside its own coroutines is still sandboxed.
      r = run([[
        return coroutine.wrap(function() return getfenv, require, io, debug, _G == _G, coroutine.running() ~= nil end)()
      ]])
      assert.are.same({ n = 6, nil, nil, nil, nil, true, true }, r)
      -- Another sandbox's coroutine is not this one's.
      local env1, env2 = sandbox.env(), sandbox.env()
      local co = assert(sandbox.load("return coroutine.create(function() end)", "=a", env1))()
      local ok, err = pcall(assert(sandbox.load("return coroutine.resume(...)", "=b", env2)), co)
      assert.is_false(ok)
      assert.matches("created by this code", err, 1, true)
    end)

    it("a runaway loop inside a sandbox coroutine: the watchdog still stops it", function()
      local script = [[
        local sandbox = require "infrakit._sandbox"
        return sandbox.run("coroutine.wrap(function() local i = 0 while true do i = i + 1 end end)()")
      ]]
      local r = assert(infrakit.exec({ bin, "--lua-timeout", "0.2", "lua", "-e", script }, { timeout = 60 }))
      assert.are.equal(1, r.status)
      assert.matches("watchdog", r.stderr, 1, true)
    end)
  end)

  describe("lets ordinary code run", function()
    it("string methods, string.format, table, math, bit, os.time/date", function()
      local r = run([[
        local parts = {}
        for w in ("a b c"):gmatch("%a") do parts[#parts + 1] = w:upper() end
        return ("x"):upper(), string.format("%05.1f|%s", 3.14159, "y"), table.concat(parts, ","),
          math.max(1, 5, 3), math.floor(2.7), bit.band(12, 10), type(os.time()), os.date("!%Y", 0),
          select("#", unpack({1, 2, 3})), tostring(12), tonumber("0x10")
      ]])
      assert.are.same({ n = 11, "X", "003.1|y", "A,B,C", 5, 2, 8, "number", "1970", 3, "12", 16 }, r)
    end)

    it("pcall, error and xpcall", function()
      local r = run([[
        local ok, err = pcall(error, { code = 7 })
        local ok2, err2 = xpcall(function() error("deep", 0) end, function(m) return "handled " .. m end)
        local ok3, err3 = pcall(function() local t = nil; return t.x end)
        return ok, err.code, ok2, err2, ok3, type(err3)
      ]])
      assert.are.same({ n = 6, false, 7, false, "handled deep", false, "string" }, r)
    end)

    it("its own metatables, __metatable included", function()
      local r = run([[
        local Point = {}
        Point.__index = Point
        function Point.new(x, y) return setmetatable({ x = x, y = y }, Point) end
        function Point:sum() return self.x + self.y end
        local p = Point.new(2, 3)
        local locked = setmetatable({}, { __metatable = "locked" })
        return p:sum(), getmetatable(p) == Point, getmetatable(locked), pcall(setmetatable, locked, {})
      ]])
      assert.are.equal(5, r[1])
      assert.is_true(r[2])
      assert.are.equal("locked", r[3])
      assert.is_false(r[4])
    end)

    it("coroutines of its own: generators with yield and resume", function()
      local r = run([[
        local gen = coroutine.wrap(function() for i = 1, 3 do coroutine.yield(i * 10) end end)
        local co = coroutine.create(function(a) local b = coroutine.yield(a + 1) return b * 2 end)
        local _, x = coroutine.resume(co, 1)
        local _, y = coroutine.resume(co, 5)
        return gen(), gen(), gen(), x, y, coroutine.status(co)
      ]])
      assert.are.same({ n = 6, 10, 20, 30, 2, 10, "dead" }, r)
    end)

    it("extra entries, arguments, and yielding functions passed in", function()
      local r = run("local a, b = ... sleep(0) return greeting .. ' ' .. a .. b", { greeting = "hello", sleep = infrakit.sleep },
        "wor", "ld")
      assert.are.same({ n = 1, "hello world" }, r)
    end)

    it("reports a syntax error as EINVAL and a raised error as ELUA, with the chunk name", function()
      assert.are.same({ nil, "test:1: unexpected symbol near ')'", "EINVAL" }, { sandbox.run("return )", "=test") })
      assert.are.same({ nil, "test:1: boom", "ELUA" }, { sandbox.run("error('boom')", "=test") })
    end)

    it("sandbox.load compiles with a given environment, reused across calls", function()
      local env = sandbox.env({ counter = 0 })
      local fn = assert(sandbox.load("counter = counter + 1 return counter", "=count", env))
      assert.are.equal(1, fn())
      assert.are.equal(2, fn())
      assert.are.equal(2, env.counter)
      local ok, err = pcall(assert(sandbox.load("error('x', 0)", "=e", env)))
      assert.is_false(ok)
      assert.are.equal("x", err)
    end)

    it("gives each environment its own copies", function()
      local a, b = sandbox.env(), sandbox.env()
      assert.are_not.equal(a.string, b.string)
      assert.are_not.equal(string, a.string)
      assert.are_not.equal(table, a.table)
      assert.are_not.equal(math, a.math)
      assert.are_not.equal(os, a.os)
      assert.are_not.equal(coroutine, a.coroutine)
      assert.are.equal(a, a._G)
    end)
  end)

  it("raises on misuse", function()
    assert.has_error(function() sandbox.load(42) end, "infrakit._sandbox.load: code must be a string, got number")
    assert.has_error(function() sandbox.load("x", nil, "env") end, "infrakit._sandbox.load: env must be a table, got string")
    assert.has_error(function() sandbox.env("x") end, "infrakit._sandbox.env: extra must be a table, got string")
  end)
end)
