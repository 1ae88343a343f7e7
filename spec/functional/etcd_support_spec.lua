-- The etcd harness itself (etcd_support.lua): members start, answer, die,
-- come back, pause, and leave nothing behind. Pending where etcd cannot run.
local infrakit = require "infrakit"
local etcd = dofile("spec/functional/etcd_support.lua")

local function alive(pid)
  return infrakit.exec({ "sh", "-c", "kill -0 " .. pid .. " 2>/dev/null" }).status == 0
end

describe("etcd_support", function()
  local skip
  before_each(function()
    local ok, why = etcd.available()
    skip = not ok and why or nil
  end)
  after_each(function() etcd.cleanup_all() end)

  it("starts one member that stores and lists keys, and cleans up", function()
    if skip then return pending(skip) end
    local c = etcd.start_cluster(1)
    assert.are.equal(1, #c.members)
    assert.truthy(c.endpoints:match("^127%.0%.0%.1:%d+$"))
    c.put("/p/a", "1")
    c.put("/p/b", "two")
    c.put("/q", "x")
    local v, kv = c.get("/p/b")
    assert.are.equal("two", v)
    assert.truthy(tonumber(kv.create_revision) > 0)
    assert.are.same({ ["/p/a"] = "1", ["/p/b"] = "two" }, c.list("/p/"))
    local pid, dir = c.members[1].pid, c.dir
    c.cleanup()
    assert.is_false(alive(pid))
    assert.are.equal(1, infrakit.exec({ "test", "-e", dir }).status)
    c.cleanup() -- twice is harmless
  end)

  it("keeps a 3-member cluster writable through the loss of one, and restarts it", function()
    if skip then return pending(skip) end
    local c = etcd.start_cluster(3)
    assert.are.equal(3, select(2, c.endpoints:gsub(",", "")) + 1)
    c.put("/k", "before")
    local leader = c.leader()
    assert.is_not_nil(leader)
    c.kill9(leader)
    assert.is_false(alive(leader.pid))
    -- A new leader within about a second (--election-timeout 300).
    local ok
    for _ = 1, 60 do
      ok = pcall(c.put, "/k", "after")
      if ok then break end
      infrakit.sleep(0.1)
    end
    assert.is_true(ok)
    assert.are.equal("after", (c.get("/k")))
    c.start(leader) -- same data dir and ports
    assert.is_true(c.wait_healthy())
    local status, r = etcd.api(leader.client_url, "/v3/kv/range", { key = etcd.b64("/k") })
    assert.are.equal(200, status)
    assert.are.equal("after", etcd.unb64(r.kvs[1].value))
    -- stop waits for the pid, so the ports can be reused at once.
    local m = c.members[2]
    c.stop(m)
    assert.is_false(alive(m.pid))
    c.start(m)
    assert.is_true(alive(m.pid))
  end)

  it("pauses and resumes a member", function()
    if skip then return pending(skip) end
    local c = etcd.start_cluster(1)
    local m = c.members[1]
    c.pause(m)
    local r = infrakit.http.request({ url = m.client_url .. "/health", timeout = 0.5 })
    assert.is_nil(r)
    c.resume(m)
    assert.is_true(c.wait_healthy({ m }, 5))
    c.pause(m)
    local pid = m.pid
    c.cleanup() -- a paused member is killed too
    assert.is_false(alive(pid))
  end)
end)
