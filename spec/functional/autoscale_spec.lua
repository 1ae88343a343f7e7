-- The autoscaler against a real daemon (docs/autoscaling.md): instance-file
-- instances "report" load by the metrics files the test writes for them
-- (HOME/metrics/GROUP/INSTANCE-ID); the group grows under load and shrinks
-- back when it stops, and every decision is in events.jsonl; and the
-- autoscale playbook end to end. About 25 s in all (the playbook ~13 s;
-- its own --timeout bounds it at 60 s here).
local infrakit = require "infrakit"
local json = infrakit.json
local support = dofile("spec/functional/support.lua")
local run, sh = support.run, support.sh

local function spec(id, scaling)
  return json.encode({ ID = id, Properties = {
    Allocation = { Size = 1 },
    Instance = { Plugin = "instance-file", Properties = { Note = "v1" } },
    Flavor = { Plugin = "flavor-vanilla", Properties = {} },
    Scaling = scaling,
  } })
end

-- Every "autoscaled" (or other named) event of group id in events.jsonl.
local function events(home, id, name)
  local list = {}
  local f = io.open(home .. "/events.jsonl")
  if not f then return list end
  for line in f:lines() do
    local e = json.decode(line)
    if e and e.group == id and e.event == (name or "autoscaled") then list[#list + 1] = e end
  end
  f:close()
  return list
end

local function desired(home, id)
  local st = support.group_status(home, id)
  return st and st.Summary.Desired
end

local function wait_desired(home, id, n, seconds)
  for _ = 1, (seconds or 15) * 20 do
    if desired(home, id) == n then return true end
    infrakit.sleep(0.05)
  end
  error(("%s: desired size never reached %d (now %s); events: %s"):format(id, n, tostring(desired(home, id)),
    json.encode(events(home, id))), 2)
end

describe("autoscaler", function()
  local d, home, load, writer
  after_each(function()
    load = nil
    if writer then writer:wait() end
    writer = nil
    if d then
      d.stop()
      d.cleanup()
      d = nil
    end
  end)

  -- Report `load` (a number, or nil to stop) for every instance, every 50 ms.
  local function start_writer(id)
    sh("mkdir -p " .. home .. "/metrics/" .. id)
    writer = infrakit.spawn(function()
      while load do
        local ids = sh("ls " .. home .. "/instance-file 2>/dev/null || true").stdout
        for iid in ids:gmatch("[^\n]+") do
          local f = io.open(home .. "/metrics/" .. id .. "/" .. iid, "w")
          if f then
            f:write(json.encode({ load = load }))
            f:close()
          end
        end
        infrakit.sleep(0.05)
      end
    end)
  end

  it("grows under load and shrinks back when it stops, logging each decision", function()
    d = support.start_group_daemon()
    home = d.home
    local r = run(home, { "group", "commit", "-" }, { stdin = spec("web", {
      Policy = "target-utilisation", Target = 10, Min = 1, Max = 4, Interval = "200ms",
      CooldownUp = 0, CooldownDown = "300ms", ScaleInAfter = 2 }) })
    assert.are.equal(0, r.status, r.stderr)
    load = 30
    start_writer("web")
    wait_desired(home, "web", 4)
    load = 0
    wait_desired(home, "web", 1, 20)
    support.wait_group(home, "web", support.steady_at(1))

    local ev = events(home, "web")
    local ups, downs = 0, 0
    for _, e in ipairs(ev) do
      assert.are.equal("target-utilisation", e.policy)
      assert.are.equal("number", type(e.from))
      assert.are.equal("number", type(e.to))
      assert.matches("avg load", e.reason)
      if e.action == "up" then ups = ups + 1 else downs = downs + 1 end
      assert.is_true(e.to >= 1 and e.to <= 4)
    end
    assert.is_true(ups >= 1, json.encode(ev))
    assert.is_true(downs >= 1, json.encode(ev))
    -- Scale-in is gradual: one step per decision.
    for _, e in ipairs(ev) do
      if e.action == "down" then assert.are.equal(e.from - 1, e.to) end
    end
    -- A scale, never an update: the controller's own "scaled" event
    -- follows each decision, and no rollout ran after the first commit's.
    assert.are.equal(#ev, #events(home, "web", "scaled"))
    assert.is_true(#events(home, "web", "rollout-done") <= 1)
  end)

  it("runs an inline policy in the sandbox and reports one that fails", function()
    d = support.start_group_daemon(nil, { "--sandbox-timeout", "0.3" })
    home = d.home
    -- A runaway policy is stopped by the sandbox's limit, and the others
    -- are still evaluated.
    local r = run(home, { "group", "commit", "-" }, { stdin = spec("runaway", {
      Policy = { Source = "return function() while true do end end" }, Max = 5, Interval = 0.2 }) })
    assert.are.equal(0, r.status, r.stderr)
    r = run(home, { "group", "commit", "-" }, { stdin = spec("inline", {
      Policy = { Source = "return function(state, params) return params.Want, 'fixed at ' .. params.Want end" },
      Want = 3, Max = 5, Interval = 0.2, Cooldown = 0 }) })
    assert.are.equal(0, r.status, r.stderr)
    wait_desired(home, "inline", 3)
    local ev = events(home, "inline")
    assert.are.equal(1, #ev)
    assert.are.equal("inline", ev[1].policy)
    assert.matches("^fixed at 3; 1 %-> 3$", ev[1].reason)
    -- The groups are evaluated in the store's order (inline before
    -- runaway): the runaway one may be stopped just after.
    local runaway
    for _ = 1, 100 do
      runaway = events(home, "runaway", "autoscale-failed")
      if #runaway > 0 then break end
      infrakit.sleep(0.05)
    end
    assert.are.equal(1, #runaway)
    assert.matches("--sandbox-timeout", runaway[1].error, 1, true)

    -- No io in the sandbox: the policy fails, the size holds, one event says why.
    r = run(home, { "group", "commit", "-" }, { stdin = spec("broken", {
      Policy = { Source = "return function() return io.open('/etc/passwd') end" }, Max = 5, Interval = 0.2 }) })
    assert.are.equal(0, r.status, r.stderr)
    local failed
    for _ = 1, 100 do
      failed = events(home, "broken", "autoscale-failed")
      if #failed > 0 then break end
      infrakit.sleep(0.05)
    end
    assert.are.equal(1, #failed)
    assert.matches("io", failed[1].error)
    infrakit.sleep(0.5) -- more evaluations: still one event, size unchanged
    assert.are.equal(1, #events(home, "broken", "autoscale-failed"))
    assert.are.equal(1, desired(home, "broken"))
  end)

  it("runs a policy file from HOME/policies that fetches its metric over HTTP", function()
    d = support.start_group_daemon()
    home = d.home
    -- The metric source: a server whose every answer is "4".
    local report = home .. "/metric-server.json"
    local server = infrakit.spawn(function()
      return infrakit.exec({ "sh", "-c", 'echo $$ > "$R.pid"; exec "$IK" serve --listen 127.0.0.1:0 --text 4 '
        .. '--report "$R"' }, { env = { IK = support.bin, R = report }, timeout = 60 })
    end)
    local port
    for _ = 1, 200 do
      local f = io.open(report)
      port = f and (json.decode(f:read("*a")) or {}).port
      if f then f:close() end
      if port then break end
      infrakit.sleep(0.02)
    end
    assert.is_not_nil(port, "the metric server did not start")
    sh("mkdir -p " .. home .. "/policies")
    local f = assert(io.open(home .. "/policies/fetch.lua", "w"))
    f:write([[
      return function(state, params)
        local body, err = http.get(params.URL)
        if not body then return nil, err end
        return tonumber(body), "the server says " .. body
      end
    ]])
    f:close()
    local r = run(home, { "group", "commit", "-" }, { stdin = spec("fetched", {
      Policy = "fetch", URL = "http://127.0.0.1:" .. port .. "/", Max = 5, Interval = 0.2 }) })
    assert.are.equal(0, r.status, r.stderr)
    local ok, err = pcall(wait_desired, home, "fetched", 4)
    sh("kill -TERM $(cat " .. report .. ".pid)")
    server:wait()
    assert(ok, err)
    local ev = events(home, "fetched")
    assert.are.equal("fetch", ev[1].policy)
    assert.are.equal("the server says 4; 1 -> 4", ev[1].reason)
  end)

  -- The decision's memory is in the store (configs/groups/ID/scaling): a
  -- restarted daemon waits out the cooldown of the last decision before
  -- its own. About 6 s.
  it("keeps the cooldown across a daemon restart", function()
    d = support.start_group_daemon()
    home = d.home
    local COOLDOWN = 4
    local r = run(home, { "group", "commit", "-" }, { stdin = spec("web", {
      Policy = "target-utilisation", Target = 10, Min = 1, Max = 20, Interval = "200ms",
      Cooldown = COOLDOWN .. "s" }) })
    assert.are.equal(0, r.status, r.stderr)
    load = 30
    start_writer("web")
    wait_desired(home, "web", 3)
    local stored = json.decode(io.open(home .. "/configs/groups/web/scaling.json"):read("*a"))
    assert.are.equal("number", type(stored.LastChange))
    d.stop()
    d = support.start_group_daemon(home)
    wait_desired(home, "web", 9, 15)
    local ev = events(home, "web")
    assert.are.equal(2, #ev, json.encode(ev))
    local gap = support.event_seconds(ev[2]) - support.event_seconds(ev[1])
    assert.is_true(gap >= COOLDOWN - 0.05, ("scaled %.2f s after the last decision, before the cooldown"):format(gap))
  end)

  it("refuses a bad Scaling block at commit, naming the field", function()
    d = support.start_group_daemon()
    home = d.home
    local r = run(home, { "group", "commit", "-" }, { stdin = spec("web", {
      Policy = "target-utilisation", Target = 10, Min = 5, Max = 2 }) })
    assert.are_not.equal(0, r.status)
    assert.matches("Properties.Scaling.Max: want an integer >= Min (5), got 2", r.stderr, 1, true)
    -- The policy is compiled (never run) at commit: inline source, and a
    -- named file that must exist.
    local function refused(policy, want)
      local rr = run(home, { "group", "commit", "-" }, { stdin = spec("web", { Policy = policy, Max = 3 }) })
      assert.are_not.equal(0, rr.status, rr.stdout)
      assert.matches(want, rr.stderr, 1, true)
    end
    refused({ Source = "return function(state) return state.current + end" },
      "Properties.Scaling.Policy.Source: does not compile: inline policy:1: unexpected symbol near 'end'")
    refused("missing", 'Properties.Scaling.Policy: no policy "missing": cannot read ' .. home
      .. "/policies/missing.lua: No such file or directory")
    sh("mkdir -p " .. home .. "/policies")
    local f = assert(io.open(home .. "/policies/broken.lua", "w"))
    f:write("return function(state)\n  return (\nend\n")
    f:close()
    refused("broken", 'Properties.Scaling.Policy: policy "broken" does not compile: ' .. home .. "/policies/broken.lua:3:")
    -- Compiled only: a policy whose top level would fail when run is committed.
    f = assert(io.open(home .. "/policies/runs-badly.lua", "w"))
    f:write("error('run at commit')\n")
    f:close()
    r = run(home, { "group", "commit", "-" }, { stdin = spec("web", { Policy = "runs-badly", Max = 3 }) })
    assert.are.equal(0, r.status, r.stderr)
    r = run(home, { "group", "commit", "-" }, { stdin = spec("web", { Policy = { Source = "return function() return 1 end" }, Max = 3 }) })
    assert.are.equal(0, r.status, r.stderr)
  end)

  it("the autoscale playbook grows the group under load and shrinks it back, then tears down", function()
    local dir = support.mktemp()
    local r = run(dir, { "play", "autoscale", "--timeout", "60", "--max", "3" },
      { env = { INFRAKIT_LOG_LEVEL = "warn" } })
    support.sh("rm -rf " .. dir)
    assert.are.equal(0, r.status, r.stdout .. r.stderr)
    local out = r.stdout
    assert.matches("dashboard: http://127%.0%.0%.1:%d+/ui", out)
    assert.matches("decision: web 1 %-> %d", out)
    assert.matches("decision: web 2 %-> 1 %(avg load 0", out)
    assert.matches("back to 1 server", out)
    assert.matches("torn down: group destroyed, daemon stopped", out)
    -- Nothing left running: its home (and the daemon's socket) is gone.
    local play_home = out:match("INFRAKIT_HOME=(%S+)")
    assert.is_false(support.exists(play_home))
  end)
end)
