local infrakit = require "infrakit"
local helper = dofile("spec/unit/lua/spec_helper.lua")

describe("infrakit.exec", function()
  helper.track_refs()

  it("captures stdout, stderr and the exit status", function()
    local r = assert(infrakit.exec({ "/bin/sh", "-c", "echo out; echo err >&2; exit 3" }))
    assert.are.equal("out\n", r.stdout)
    assert.are.equal("err\n", r.stderr)
    assert.are.equal(3, r.status)
    assert.is_nil(r.signal)
    assert.is_false(r.truncated)
    assert.is_number(r.elapsed)
  end)

  it("runs a string through /bin/sh -c", function()
    local r = assert(infrakit.exec("printf '%s' \"$((6 * 7))\""))
    assert.are.equal("42", r.stdout)
  end)

  it("finds programs in PATH and passes arguments verbatim", function()
    local r = assert(infrakit.exec({ "printf", "%s|", "a b", "$HOME", "" }))
    assert.are.equal("a b|$HOME||", r.stdout)
  end)

  it("feeds stdin", function()
    local r = assert(infrakit.exec({ "cat" }, { stdin = "line 1\nline 2\n" }))
    assert.are.equal("line 1\nline 2\n", r.stdout)
  end)

  it("merges env over the inherited environment", function()
    local r = assert(infrakit.exec("echo \"$IK_A-$IK_B-${HOME:+home}\"", { env = { IK_A = "x", IK_B = 7 } }))
    assert.are.equal("x-7-home\n", r.stdout)
  end)

  it("clear_env starts from an empty environment", function()
    local r = assert(infrakit.exec({ "/usr/bin/env" }, { clear_env = true, env = { ONLY = "1" } }))
    assert.are.equal("ONLY=1\n", r.stdout)
  end)

  it("runs in cwd", function()
    local r = assert(infrakit.exec({ "pwd" }, { cwd = "/tmp" }))
    assert.are.equal("/tmp\n", r.stdout)
  end)

  it("returns nil, msg, ENOENT for a missing program", function()
    local r, msg, code = infrakit.exec({ "/nonexistent/program" })
    assert.is_nil(r)
    assert.are.equal("ENOENT", code)
    assert.matches("/nonexistent/program", msg, 1, true)
  end)

  it("kills the process group on timeout and returns ETIMEDOUT with the partial result", function()
    local r, msg, code, partial = infrakit.exec("echo started; sleep 30; echo finished", { timeout = 0.2 })
    assert.is_nil(r)
    assert.are.equal("ETIMEDOUT", code)
    assert.matches("timed out", msg)
    assert.are.equal("started\n", partial.stdout)
    assert.are.equal(9, partial.signal)
  end)

  it("reports death by signal", function()
    local r = assert(infrakit.exec("kill -TERM $$"))
    assert.are.equal(15, r.signal)
    assert.are.equal(128 + 15, r.status)
  end)

  it("truncates output beyond max_output and says so", function()
    local r = assert(infrakit.exec("head -c 100000 /dev/zero", { max_output = 1000 }))
    assert.are.equal(1000, #r.stdout)
    assert.is_true(r.truncated)
  end)

  it("delivers large output whole", function()
    local r = assert(infrakit.exec("head -c 1000000 /dev/zero | tr '\\0' x"))
    assert.are.equal(1000000, #r.stdout)
  end)

  it("raises on misuse, naming the bad field", function()
    assert.has_error(function() infrakit.exec({}) end, "infrakit.exec: argv must not be empty")
    assert.has_error(function() infrakit.exec(42) end)
    assert.has_error(function() infrakit.exec({ "true" }, { timeout = -1 }) end,
      "infrakit.exec: opts.timeout must be a number of seconds > 0")
    assert.has_error(function() infrakit.exec({ "true" }, { cwd = 5 }) end, "infrakit.exec: opts.cwd must be a string")
    assert.has_error(function() infrakit.exec({ "true" }, { env = { ["A=B"] = "x" } }) end)
    assert.has_error(function() infrakit.exec({ "true", {} }) end, "infrakit.exec: argv[2] must be a string")
  end)

  it("runs 1,000 tasks that each sleep and exec without blocking each other", function()
    local waiting, most = 0, 0
    local tasks = {}
    for i = 1, 1000 do
      tasks[i] = infrakit.spawn(function()
        waiting = waiting + 1
        if waiting > most then most = waiting end
        infrakit.sleep(0.01)
        local r = assert(infrakit.exec({ "/bin/echo", tostring(i) }))
        waiting = waiting - 1
        return tonumber(r.stdout)
      end)
    end
    local results, failed = infrakit.wait_all(tasks)
    assert.are.equal(0, failed)
    local sum = 0
    for i = 1, 1000 do
      assert.are.equal(i, results[i][1])
      sum = sum + results[i][1]
    end
    assert.are.equal(500500, sum)
    -- Every task was suspended at the same time: nothing blocked the loop.
    assert.are.equal(1000, most)
  end)
end)
