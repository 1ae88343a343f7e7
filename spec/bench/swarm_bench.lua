-- make bench: a real swarm on this machine (flavor-swarm's machine mode on
-- instance-process). Reports, no target yet:
--   form      from the managers' commit (then the workers', once the swarm
--             exists) to every node Ready (3 managers + 3 workers), as
--             `infrakit play swarm` does it
--   heal      from SIGKILL of a worker's dockerd to the replacement node
--             Ready (and the dead one removed)
-- Skipped, saying why, where dockerd cannot run.
local infrakit = require "infrakit"
local support = dofile("spec/functional/support.lua")
local sm = require "infrakit.swarm_machine"
local report = dofile("spec/bench/report.lua")("swarm (3 managers + 3 workers, machine mode)")

local ok, why = sm.available()
if not ok then
  print("swarm: skipped (" .. why .. ")")
  return
end

local c = assert(sm.new({ managers = 3, prefix = "127.0.3" }))
local d = support.start_daemon(nil, { "--template-dir", c.templates, "--poll", "1s" })
infrakit.group.use(d.home .. "/plugins/group")

local result, err = pcall(function()
  local t0 = infrakit.clock()
  assert(infrakit.group.commit(c:managers_spec({ rev = "1" })))
  assert(c:wait_nodes(function(r) return sm.count(r, "ready") >= 1 end, 120))
  assert(infrakit.group.commit(c:workers_spec(3, { rev = "1" })))
  local rows = assert(c:wait_nodes(function(r)
    return #r == 6 and sm.count(r, "ready") == 6
      and sm.count(r, function(x) return x.role == "manager" and x.reachability == "reachable" end) == 3
  end, 180))
  report.info("form: commits -> 6 nodes Ready", infrakit.clock() - t0, "s")

  local victim
  for _, r in ipairs(rows) do
    if r.role == "worker" then victim = r end
  end
  local killed = infrakit.clock()
  infrakit.exec({ "kill", "-KILL", tostring(assert(c:dockerd_pid(victim.addr))) })
  assert(c:wait_nodes(function(r)
    for _, x in ipairs(r) do
      if x.id == victim.id then return false end
    end
    return #r == 6 and sm.count(r, "ready") == 6
  end, 120))
  report.info("heal: worker dockerd SIGKILL -> new node Ready", infrakit.clock() - killed, "s")
end)
local left = c:teardown(d.home)
d.stop()
d.cleanup()
if not result then print("swarm bench failed: " .. tostring(err)) end
if #left > 0 then print("swarm bench: reaped what the nodes left: " .. table.concat(left, "; ")) end
report.print()
