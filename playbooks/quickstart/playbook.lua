-- quickstart: a self-healing group of small HTTP servers on this machine,
-- with nothing to install (the process driver; `infrakit serve` is the
-- workload). `make demo` runs it. See README.md beside this file.
local infrakit = require "infrakit"
local say = infrakit.print

local function check(ok, err, ...)
  if not ok then error(err, 2) end
  return ok, err, ...
end

-- The group spec: pets whose logical IDs are their ports, so each server
-- keeps its port when it is replaced.
local function spec(ports, version)
  local ids = {}
  for i, p in ipairs(ports) do ids[i] = tostring(p) end
  return {
    ID = "web",
    Properties = {
      Allocation = { LogicalIDs = ids },
      Instance = {
        Plugin = "instance-process",
        Properties = {
          Cmd = { "/bin/sh", "-c", 'exec "$IK" serve --listen "127.0.0.1:$INFRAKIT_LOGICAL_ID" '
            .. '--text "web $INFRAKIT_LOGICAL_ID, ' .. version .. ', pid $$"' },
          Env = { IK = infrakit.executable, INFRAKIT_LOG_LEVEL = "warn" },
          StopTimeout = "2s",
        },
      },
      Flavor = { Plugin = "flavor-vanilla", Properties = {} },
      -- One at a time, each healthy for a moment before the next (so the
      -- rollout can be watched).
      Updating = { MaxSurge = 0, MaxUnavailable = 1, MinHealthySeconds = 0.3 },
    },
  }
end

local function ports_from(base, n)
  local list = {}
  for i = 1, n do list[i] = base + i - 1 end
  return list
end

-- Ask every server; returns how many answered, and prints their answers.
local function probe(ports, quiet)
  local ok = 0
  for _, port in ipairs(ports) do
    local body = infrakit.http.get("http://127.0.0.1:" .. port .. "/", { timeout = 2 })
    if body then
      ok = ok + 1
      if not quiet then say("  %s", (body:gsub("%s+$", ""))) end
    elseif not quiet then
      say("  127.0.0.1:%d does not answer", port)
    end
  end
  return ok
end

-- Servers take a moment to listen after their process starts.
local function answering(ports)
  for _ = 1, 500 do
    if probe(ports, true) == #ports then return true end
    infrakit.sleep(0.01)
  end
  return false
end

return {
  description = "A self-healing group of local HTTP servers: create, scale, heal, roll out, tear down.",
  params = {
    { name = "size", type = "int", default = 3, help = "servers to start" },
    { name = "grow", type = "int", default = 5, help = "servers after scaling up" },
    { name = "port", type = "int", default = 18080, help = "the first server's port" },
    { name = "home", type = "string",
      help = "INFRAKIT_HOME for the daemon (default: $INFRAKIT_HOME if set, else a new temporary one)" },
    { name = "keep", type = "bool", default = false, help = "leave the group and the daemon running" },
  },
  run = function(p)
    local home = p.home
    if not home or home == "" then home = os.getenv("INFRAKIT_HOME") end
    if home == "" then home = nil end
    local temp = false
    if not home then
      home = check(infrakit.exec({ "mktemp", "-d", "/tmp/infrakit-quickstart-XXXXXX" })).stdout:gsub("%s+$", "")
      temp = true
    end
    say("infrakit %s quickstart, INFRAKIT_HOME=%s", infrakit.version, home)

    local d = check(infrakit.daemon.ensure({ home = home }))
    say(d.started and "started a daemon (group controller, instance-process, flavors)" or "using the running daemon")

    local function teardown()
      if p.keep then
        -- Destroying the group stops its servers and frees their ports
        -- (they outlive the daemon); then the daemon, if this run started it.
        local ik = "INFRAKIT_HOME=" .. home .. " " .. infrakit.executable
        say("keeping everything (--keep); look with: %s group describe web", ik)
        say("stop everything: %s group destroy web%s%s", ik,
          d.started and (" && " .. ik .. " plugin stop group") or "", temp and (" && rm -rf " .. home) or "")
        return
      end
      local ok, err = infrakit.group.destroy("web")
      if not ok and not tostring(err):find("not being watched", 1, true) then say("destroy: %s", err) end
      if d.started then infrakit.daemon.stop({ home = home }) end
      if temp then infrakit.exec({ "rm", "-rf", home }) end
      say("torn down: group destroyed%s", d.started and ", daemon stopped" or "")
    end

    -- Ctrl-C: the same teardown, so nothing is left half-made.
    infrakit.on_interrupt(teardown)

    local ok, err = xpcall(function()
      -- 1. Create.
      local ports = ports_from(p.port, p.size)
      say("committing group web: %d servers on ports %d-%d", p.size, ports[1], ports[#ports])
      check(infrakit.group.commit(spec(ports, "v1")))
      check(infrakit.group.wait("web", { timeout = 30 }))
      check(answering(ports), "the servers did not answer")
      say("all %d answer:", #ports)
      probe(ports)

      -- 2. Scale.
      ports = ports_from(p.port, p.grow)
      say("scaling to %d", p.grow)
      check(infrakit.group.commit(spec(ports, "v1")))
      check(infrakit.group.wait("web", { timeout = 30 }))
      check(answering(ports), "the servers did not answer")
      say("%d servers answer", #ports)

      -- 3. Heal: kill one with SIGKILL.
      local r = check(infrakit.rpc.call(home .. "/plugins/instance-process", "Instance.DescribeInstances",
        { Tags = { ["infrakit.group"] = "web" }, Properties = true }))
      local victim = r.Descriptions[1]
      say("killing %s (port %s, pid %d) with SIGKILL", victim.ID, victim.LogicalID, victim.Properties.Pid)
      local killed_at = infrakit.clock()
      check(infrakit.exec({ "kill", "-KILL", tostring(victim.Properties.Pid) }))
      -- The heal: from the kill until a new server holds the port and answers.
      local replacement, provisioned_at
      repeat
        infrakit.sleep(0.005)
        r = check(infrakit.rpc.call(home .. "/plugins/instance-process", "Instance.DescribeInstances",
          { Tags = { ["infrakit.group"] = "web" } }))
        for _, i in ipairs(r.Descriptions) do
          if i.LogicalID == victim.LogicalID and i.ID ~= victim.ID then replacement = i end
        end
        check(replacement or infrakit.clock() - killed_at < 30, "no replacement after 30 s")
      until replacement
      provisioned_at = infrakit.clock()
      check(answering({ tonumber(victim.LogicalID) }), "the replacement did not answer")
      local healed_at = infrakit.clock()
      say("healed in %.0f ms: %s answers on port %s (provisioned after %.0f ms)", (healed_at - killed_at) * 1000,
        replacement.ID, victim.LogicalID, (provisioned_at - killed_at) * 1000)
      -- The group is steady again once the new server has been healthy
      -- for MinHealthySeconds.
      check(infrakit.group.wait("web", { timeout = 30 }))
      check(answering(ports), "the servers did not answer after healing")
      say("group web healthy again %.0f ms later (MinHealthySeconds %s)", (infrakit.clock() - healed_at) * 1000,
        tostring(spec(ports, "v1").Properties.Updating.MinHealthySeconds))

      -- 4. Roll out a new config, one server at a time.
      say("rolling out v2 (one at a time: MaxSurge 0, MaxUnavailable 1)")
      check(infrakit.group.commit(spec(ports, "v2")))
      check(infrakit.group.wait("web", { timeout = 60 }))
      check(answering(ports), "the servers did not answer after the rollout")
      say("all %d on v2:", #ports)
      probe(ports)
    end, debug.traceback)
    teardown()
    if not ok then error(err, 0) end
    say("done")
  end,
}
