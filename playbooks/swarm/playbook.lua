-- swarm: a real Docker swarm on this machine, managed by two groups
-- (flavor-swarm in machine mode on instance-process): stand it up, run a
-- service, heal a killed worker, roll engine labels through the workers,
-- replace the managers without losing quorum, tear down. Needs root,
-- docker.io and busybox-static (make deps). See README.md beside this file.
local infrakit = require "infrakit"
local sm = require "infrakit.swarm_machine"
local say = infrakit.print

local function check(ok, err, ...)
  if not ok then error(err, 2) end
  return ok, err, ...
end

local function show(lines, indent)
  for line in (type(lines) == "table" and table.concat(lines, "\n") or lines):gmatch("[^\n]+") do
    say("%s%s", indent or "  ", line)
  end
end

local SERVICE = "sleepers"

return {
  description = "A real Docker swarm on this machine (machine mode): form, deploy, heal, roll labels, "
    .. "replace managers.",
  params = {
    { name = "managers", type = "int", default = 3,
      help = "manager nodes (odd; their addresses 127.0.0.11, .12, ...)" },
    { name = "workers", type = "int", default = 3, help = "worker nodes (each claims a free 127.0.0.21-254)" },
    { name = "prefix", type = "string", default = "127.0.0",
      help = "the nodes' loopback addresses are PREFIX.N (another swarm on this machine needs another)" },
    { name = "home", type = "string", help = "INFRAKIT_HOME for the daemon (default: a new temporary one)" },
    { name = "timeout", type = "int", default = 120, help = "seconds each step may take" },
    { name = "keep", type = "bool", default = false, help = "leave the swarm, its groups and the daemon running" },
  },
  run = function(p)
    -- Refusals before anything starts: a message and exit status 2.
    local ok_here, why = sm.available()
    if not ok_here or p.workers < 1 then
      io.stderr:write("infrakit play swarm: ", ok_here and "--workers: want at least 1" or
        ("cannot run a swarm here: " .. why), "\n")
      return 2
    end
    local c, cerr = sm.new({ managers = p.managers, prefix = p.prefix })
    if not c then
      io.stderr:write("infrakit play swarm: --", cerr, "\n")
      return 2
    end
    local home, temp_home = p.home, false
    if not home or home == "" then
      home = check(infrakit.exec({ "mktemp", "-d", "/tmp/infrakit-swarm-XXXXXX" })).stdout:gsub("%s+$", "")
      temp_home = true
    end
    say("infrakit %s swarm: %d managers, %d workers; INFRAKIT_HOME=%s, nodes under %s", infrakit.version,
      p.managers, p.workers, home, c.root)

    -- A 1 s poll: a new node is seen Ready (flavor Healthy) within a second.
    local env = c:daemon_env()
    env.INFRAKIT_GROUP_POLL_INTERVAL = "1s"
    local d, derr = infrakit.daemon.ensure({ home = home, plugins = sm.plugins, env = env })
    if not d then
      c:cleanup()
      if temp_home then infrakit.exec({ "rm", "-rf", home }) end
      error(derr, 0)
    end
    say(d.started and "started a daemon (group controller, instance-process, flavor-swarm)" or
      "using the running daemon (it must serve flavor-swarm and allow --template-dir %s)", c.templates)

    local torn = false
    local function teardown()
      if torn then return end
      torn = true
      local ik = "INFRAKIT_HOME=" .. home .. " " .. infrakit.executable
      if p.keep then
        say("keeping everything (--keep). Look: docker -H %s node ls", c.hosts[1])
        say("stop everything: %s group destroy %s && %s group destroy %s%s && rm -rf %s%s", ik, sm.workers_group, ik,
          sm.managers_group, d.started and (" && " .. ik .. " plugin stop group") or "", c.root,
          temp_home and (" " .. home) or "")
        return
      end
      say("tearing down: destroying the groups (each node stops its dockerd, leaves the swarm, cleans up)")
      local left, errors = c:teardown(home)
      for _, e in ipairs(errors) do say("destroy %s", e) end
      if #left > 0 then
        say("reaped what the nodes left:")
        show(left, "  ")
      end
      if d.started then infrakit.daemon.stop({ home = home }) end
      if temp_home then infrakit.exec({ "rm", "-rf", home }) end
      say("torn down: no dockerd, containerd, shim, container, mount or address lock left%s",
        d.started and "; daemon stopped" or "")
    end
    infrakit.on_interrupt(teardown)

    local function wait_nodes(done)
      return check(c:wait_nodes(done, p.timeout, function(_, s) infrakit.progress("swarm: %s", s) end))
    end
    local function node_ls()
      show(check(c:docker("node ls")))
    end

    local ok, err = xpcall(function()
      -- 1. Form. The managers first: the bootstrap manager (127.0.0.11,
      -- SwarmJoinIP) finds no engine and initialises the swarm; the others
      -- join it (their Prepare fails until it answers; the controller
      -- retries). The workers once the swarm has a manager to join.
      local total = p.managers + p.workers
      local t0 = infrakit.clock()
      say("committing %s: pets %s", sm.managers_group, table.concat(c.addrs, ", "))
      check(infrakit.group.commit(c:managers_spec({ role = "manager", rev = "1" })))
      wait_nodes(function(r) return sm.count(r, "ready") >= 1 end)
      say("swarm initialised by %s after %.1f s; committing %s: %d cattle", c.addrs[1], infrakit.clock() - t0,
        sm.workers_group, p.workers)
      check(infrakit.group.commit(c:workers_spec(p.workers, { role = "worker", rev = "1" })))
      local rows = wait_nodes(function(r)
        return sm.count(r, "ready") == total and #r == total
          and sm.count(r, function(x) return x.role == "manager" and x.reachability == "reachable" end) == p.managers
      end)
      say("all %d nodes Ready in %.1f s (%s)", total, infrakit.clock() - t0, sm.summary(rows))
      check(infrakit.group.wait(sm.managers_group, { timeout = p.timeout }))
      check(infrakit.group.wait(sm.workers_group, { timeout = p.timeout }))
      node_ls()
      show(sm.table(rows, { "rev" }))

      -- 2. A service on the workers, from bb:1 (imported on every engine
      -- before it joined: no registry). No network: --bridge=none engines
      -- give tasks only lo (ingress and overlays do not work on one kernel).
      say("deploying service %s: %d replicated `sleep` tasks from bb:1, on workers, no network", SERVICE, p.workers)
      check(c:docker(("service create -d --name %s --replicas %d --constraint node.role==worker "
        .. "--stop-grace-period 1s bb:1 sleep 86400"):format(SERVICE, p.workers)))
      local deadline = infrakit.clock() + p.timeout
      repeat
        infrakit.sleep(0.3)
        local ps = c:docker(("service ps %s --filter desired-state=running --format '{{.CurrentState}}'")
          :format(SERVICE))
        local running = 0
        for line in (ps or ""):gmatch("[^\n]+") do
          if line:match("^Running") then running = running + 1 end
        end
        infrakit.progress("service %s: %d/%d tasks running", SERVICE, running, p.workers)
        check(infrakit.clock() < deadline, "the service's tasks did not all start")
      until running == p.workers
      show(check(c:docker("service ps " .. SERVICE .. " --format 'table {{.Name}}\t{{.Image}}\t{{.CurrentState}}'")))

      -- 3. Heal: SIGKILL one worker's dockerd. Its node script sees dockerd
      -- die, removes the node through a manager (node rm --force: so no
      -- Down node lingers), reaps and exits; the group replaces the
      -- instance; the new engine joins.
      local victim
      for _, r in ipairs(rows) do
        if r.role == "worker" then victim = r end
      end
      local pid = check(c:dockerd_pid(victim.addr), "no pid for " .. victim.addr)
      say("killing worker %s's dockerd (pid %d, node %s) with SIGKILL", victim.addr, pid, victim.id)
      local killed = infrakit.clock()
      check(infrakit.exec({ "kill", "-KILL", tostring(pid) }))
      rows = wait_nodes(function(r)
        local gone = true
        for _, x in ipairs(r) do
          if x.id == victim.id then gone = false end
        end
        return gone and #r == total and sm.count(r, "ready") == total
      end)
      say("healed in %.1f s: node %s removed, a new worker Ready (%s)", infrakit.clock() - killed, victim.id,
        sm.summary(rows))
      node_ls()

      -- 4. Roll new engine labels through the workers: one new worker at a
      -- time, each gated on the swarm reporting it Ready (flavor-swarm's
      -- Healthy), then an old one drained (node rm) and destroyed.
      say("rolling EngineLabels rev=2 through the workers, one at a time")
      check(infrakit.group.commit(c:workers_spec(p.workers, { role = "worker", rev = "2" })))
      local seen = {}
      rows = wait_nodes(function(r)
        for _, x in ipairs(r) do
          if x.role == "worker" and x.labels.rev == "2" and x.state == "ready" and not seen[x.id] then
            seen[x.id] = true
            say("  new worker %s (%s) Ready with rev=2", x.addr, x.id)
          end
        end
        return sm.count(r, function(x) return x.role == "worker" and x.labels.rev == "2" and x.state == "ready" end)
          == p.workers and #r == total
      end)
      check(infrakit.group.wait(sm.workers_group, { timeout = p.timeout }))
      say("workers rolled: %s", sm.summary(rows))
      show(sm.table(rows, { "rev" }))

      -- 5. Replace the managers one at a time (new labels: a new config):
      -- each is demoted (Drain), destroyed, and comes back on its address;
      -- quorum and a leader are checked on every change.
      if p.managers < 3 then
        say("skipping the managers' roll: with %d manager the swarm would lose its only copy of its state", p.managers)
      else
        local quorum = math.floor(p.managers / 2) + 1
        say("replacing the %d managers one at a time (quorum %d)", p.managers, quorum)
        check(infrakit.group.commit(c:managers_spec({ role = "manager", rev = "2" })))
        -- Watched on every poll: the fewest reachable managers, and the
        -- longest time the swarm had no leader (or did not answer at all).
        local lowest, last_line, leaderless_since, longest = p.managers, nil, nil, 0
        local function leaderless(yes)
          local now = infrakit.clock()
          if leaderless_since then longest = math.max(longest, now - leaderless_since) end
          leaderless_since = yes and (leaderless_since or now) or nil
        end
        check(c:wait_nodes(function(r)
          local reachable = sm.count(r, function(x) return x.role == "manager" and x.reachability == "reachable" end)
          if reachable < lowest then lowest = reachable end
          leaderless(sm.count(r, function(x) return x.leader end) == 0)
          local line = sm.summary(r)
          if line ~= last_line then
            say("  %s", line)
            last_line = line
          end
          return sm.count(r, function(x)
            return x.role == "manager" and x.labels.rev == "2" and x.reachability == "reachable"
          end) == p.managers
        end, p.timeout, function(r) if not r then leaderless(true) end end))
        check(infrakit.group.wait(sm.managers_group, { timeout = p.timeout }))
        check(lowest >= quorum, ("quorum lost: only %d of %d managers reachable at one point (docs/swarm.md, "
          .. "Known limits)"):format(lowest, p.managers))
        say("managers replaced: never fewer than %d of %d reachable (quorum %d); longest without a leader %.1f s",
          lowest, p.managers, quorum, longest)
        node_ls()
      end
      show(check(c:docker("service ps " .. SERVICE .. " --filter desired-state=running --format "
        .. "'table {{.Name}}\t{{.Image}}\t{{.CurrentState}}'")))
    end, debug.traceback)
    teardown()
    if not ok then error(err, 0) end
    say("done")
  end,
}
