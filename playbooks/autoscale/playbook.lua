-- autoscale: a group of small HTTP servers that grows under load and
-- shrinks back when the load stops, decided by the built-in
-- target-utilisation policy (docs/autoscaling.md). Each server is
-- `infrakit serve --report`, which writes its requests per second where the
-- autoscaler reads them; this playbook is the load. See README.md beside
-- this file. Bounded: about 30 s, at most `--timeout` seconds.
local infrakit = require "infrakit"
local json = infrakit.json
local say = infrakit.print

local function check(ok, err, ...)
  if not ok then error(err, 2) end
  return ok, err, ...
end

local function spec(p, metrics)
  return {
    ID = "web",
    Properties = {
      Allocation = { Size = 1 },
      Instance = {
        Plugin = "instance-process",
        Properties = {
          Cmd = { "/bin/sh", "-c", 'exec "$IK" serve --listen 127.0.0.1:0 --report "$METRICS/$INFRAKIT_INSTANCE_ID" '
            .. '--text "web $INFRAKIT_INSTANCE_ID"' },
          Env = { IK = infrakit.executable, METRICS = metrics, INFRAKIT_LOG_LEVEL = "warn" },
          StopTimeout = "2s",
        },
      },
      Flavor = { Plugin = "flavor-vanilla", Properties = {} },
      Scaling = {
        Policy = "target-utilisation", Target = p.target, Min = 1, Max = p.max,
        Interval = "1s", CooldownUp = "2s", CooldownDown = "2s", ScaleInAfter = 2,
      },
    },
  }
end

-- The servers' ports, from their reports (HOME/metrics/web/INSTANCE-ID).
local function ports(metrics)
  local list = {}
  local r = infrakit.exec({ "ls", metrics })
  for id in (r and r.stdout or ""):gmatch("[^\n]+") do
    local f = io.open(metrics .. "/" .. id)
    local doc = f and json.decode(f:read("*a") or "")
    if f then f:close() end
    if type(doc) == "table" and doc.port then list[#list + 1] = doc.port end
  end
  return list
end

-- Print each "autoscaled" event of events.jsonl as it is appended.
local function watch_decisions(home, state)
  local seen = 0
  while not state.done do
    local f = io.open(home .. "/events.jsonl")
    if f then
      local n = 0
      for line in f:lines() do
        n = n + 1
        if n > seen then
          local e = json.decode(line)
          if e and e.event == "autoscaled" then
            state.size = e.to
            say("  decision: %s %d -> %d (%s)", e.group, e.from, e.to, e.reason)
          elseif e and e.event == "autoscale-failed" then
            say("  policy failed: %s", e.error)
          end
        end
      end
      seen = n
      f:close()
    end
    infrakit.sleep(0.2)
  end
end

return {
  description = "An autoscaled group of local HTTP servers: load it, watch it grow, stop, watch it shrink.",
  params = {
    { name = "rate", type = "int", default = 40, help = "requests per second while loading" },
    { name = "target", type = "int", default = 10, help = "requests per second per server the policy aims at" },
    { name = "max", type = "int", default = 5, help = "the group's Max" },
    { name = "port", type = "int", default = 0, help = "the daemon's --listen port (0: any), for the dashboard" },
    { name = "timeout", type = "int", default = 85, help = "give up after this many seconds" },
  },
  run = function(p)
    local t0 = infrakit.clock()
    local deadline = t0 + p.timeout
    local home = check(infrakit.exec({ "mktemp", "-d", "/tmp/infrakit-autoscale-XXXXXX" })).stdout:gsub("%s+$", "")
    local metrics = home .. "/metrics/web"
    check(infrakit.exec({ "mkdir", "-p", metrics, home .. "/logs" }))
    say("infrakit %s autoscale, INFRAKIT_HOME=%s", infrakit.version, home)

    -- A daemon of our own, listening on TCP for the dashboard.
    local r = check(infrakit.exec({ "sh", "-c", 'nohup "$IK" daemon --listen "127.0.0.1:$PORT" --insecure '
      .. '--plugin group --plugin instance-process --plugin flavor-vanilla >"$H/logs/daemon.log" 2>&1 &' },
      { env = { IK = infrakit.executable, PORT = tostring(p.port), H = home, INFRAKIT_HOME = home } }))
    check(r.status == 0, "starting the daemon failed")
    local sock = home .. "/plugins/group"
    infrakit.group.use(sock)
    local up
    for _ = 1, 500 do
      up = infrakit.rpc.call(sock, "Handshake.Hello", nil, { timeout = 1 })
      if up then break end
      infrakit.sleep(0.02)
    end
    local state = { done = false }
    local function teardown()
      state.done = true
      local ok, err = infrakit.group.destroy("web", { timeout = 30 })
      if not ok and not tostring(err):find("not being watched", 1, true) then say("destroy: %s", err) end
      infrakit.daemon.stop({ home = home })
      infrakit.exec({ "rm", "-rf", home })
      say("torn down: group destroyed, daemon stopped")
    end
    infrakit.on_interrupt(teardown)
    if not up then
      local log = io.open(home .. "/logs/daemon.log")
      if log then say("%s", log:read("*a")) log:close() end
      teardown()
      error("the daemon did not start; see its log above", 0)
    end
    local f = io.open(home .. "/plugins/group.listen")
    local url = f and f:read("*a"):gsub("%s+$", "")
    if f then f:close() end
    local port = url and url:match(":(%d+)$")
    say("dashboard: http://127.0.0.1:%s/ui", port or "?")

    local ok, err = xpcall(function()
      local s = spec(p, metrics)
      say("committing group web: 1 server, Scaling %s Target %d req/s per server, Min 1, Max %d",
        s.Properties.Scaling.Policy, p.target, p.max)
      check(infrakit.group.commit(s))
      check(infrakit.group.wait("web", { timeout = 30 }))
      infrakit.spawn(watch_decisions, home, state)

      -- Load: p.rate requests per second, round robin over the servers.
      local want = math.min(p.max, math.ceil(p.rate / p.target))
      say("loading: %d requests/s (the policy wants %d servers)", p.rate, want)
      local list, refreshed, sent, reached = ports(metrics), infrakit.clock(), 0, nil
      local start = infrakit.clock()
      while infrakit.clock() < deadline do
        local now = infrakit.clock()
        if now - refreshed > 0.5 then list, refreshed = ports(metrics), now end
        if #list > 0 and sent < (now - start) * p.rate then -- on schedule, whatever each request takes
          infrakit.http.get("http://127.0.0.1:" .. list[sent % #list + 1] .. "/", { timeout = 1 })
          sent = sent + 1
        else
          infrakit.sleep(0.005)
        end
        if (state.size or 1) >= want and not reached then reached = now end
        if reached and now - reached > 3 then break end
      end
      check(reached, ("the group did not reach %d servers in time"):format(want))
      say("%d servers carry the load (%d requests sent); stopping the load", #ports(metrics), sent)

      -- No load: the group shrinks back, one server at a time.
      while infrakit.clock() < deadline and (state.size or 1) > 1 do infrakit.sleep(0.2) end
      check((state.size or 1) == 1, "the group did not shrink back in time")
      check(infrakit.group.wait("web", { timeout = math.max(1, deadline - infrakit.clock()) }))
      say("back to 1 server after %.0f s", infrakit.clock() - t0)
    end, debug.traceback)
    teardown()
    if not ok then error(err, 0) end
    say("done")
  end,
}
