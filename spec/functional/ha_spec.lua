-- Several managers on one etcd (docs/ha.md): real etcd members on
-- 127.0.0.1 and 2-3 `infrakit daemon --store etcd://...` with --listen on
-- loopback ports, sharing one instance-file directory (instances every
-- manager reaches). Exactly one leads; a follower forwards changes to it;
-- a killed or paused leader is replaced and nothing is provisioned twice.
-- Pending where etcd cannot start.
local infrakit = require "infrakit"
local json = infrakit.json
local support = dofile("spec/functional/support.lua")
local etcd = dofile("spec/functional/etcd_support.lua")

local TTL = 2 -- seconds: --lease-ttl

local function web(size, note)
  return json.encode({ ID = "web", Properties = {
    Allocation = { Size = size },
    Instance = { Plugin = "instance-file", Properties = { Note = note or "v1" } },
    Flavor = { Plugin = "flavor-vanilla", Properties = {} },
  } })
end

local function free_port()
  local r = support.sh("python3 -c 'import socket; s=socket.socket(); s.bind((\"127.0.0.1\",0)); print(s.getsockname()[1])'")
  return tonumber(r.stdout)
end

-- Start a manager on cluster c sharing dir; returns the support handle
-- plus group (its group socket) and pid.
local function manager(c, dir, ttl)
  local port = free_port()
  local d = support.start_daemon(nil, {
    "--store", "etcd://" .. c.endpoints .. "/ha", "--lease-ttl", (ttl or TTL) .. "s",
    "--listen", "127.0.0.1:" .. port, "--insecure", "--instance-file-dir", dir, "--poll", "1s",
    "-p", "group", "-p", "instance-file", "-p", "flavor-vanilla",
  })
  d.group = d.home .. "/plugins/group"
  d.url = "tcp://127.0.0.1:" .. port
  d.pid = (io.open(d.home .. "/plugins/group.pid"):read("*a"):gsub("%s+$", ""))
  return d
end

local function is_leader(d)
  local r = infrakit.rpc.call(d.group, "Manager.IsLeader", {}, { timeout = 2 })
  return r and r.Leader == true
end

local function location(d)
  local r = infrakit.rpc.call(d.group, "Manager.LeaderLocation", {}, { timeout = 2 })
  return r and r.Location and (r.Location.Scheme .. "://" .. r.Location.Host) or nil
end

-- The one leader among ds once exactly one leads (within seconds), or fail.
local function the_leader(ds, seconds)
  local leaders
  for _ = 1, (seconds or 10) * 10 do
    leaders = {}
    for _, d in ipairs(ds) do if d.alive ~= false and is_leader(d) then leaders[#leaders + 1] = d end end
    if #leaders == 1 then return leaders[1] end
    infrakit.sleep(0.1)
  end
  error("not exactly one leader: " .. #leaders)
end

local function count_instances(dir)
  local r = support.sh("ls " .. dir .. " | grep -c '^instance-' || true")
  return tonumber(r.stdout) or 0
end

-- Wait until dir holds n instances and stays so for a moment; returns the count seen last.
local function settle(dir, n, seconds)
  local seen
  for _ = 1, (seconds or 20) * 10 do
    seen = count_instances(dir)
    if seen == n then
      infrakit.sleep(1.5) -- a second leader would provision within a poll
      seen = count_instances(dir)
      if seen == n then return seen end
    end
    infrakit.sleep(0.1)
  end
  return seen
end

local function commit(d, spec)
  return support.run(d.home, { "group", "commit", "-" }, { stdin = spec })
end

-- Commit web at size n through manager d; dir then holds exactly n instances.
local function apply(d, dir, n)
  local r = commit(d, web(n))
  assert.are.equal(0, r.status, r.stderr)
  assert.are.equal(n, settle(dir, n))
end

describe("several managers on etcd", function()
  local skip, managers, dirs
  before_each(function()
    local ok, why = etcd.available()
    skip = not ok and why or nil
    managers, dirs = {}, {}
  end)
  after_each(function()
    for _, d in ipairs(managers) do
      if d.alive ~= false then
        support.sh("kill -CONT " .. d.pid .. " 2>/dev/null; kill -TERM " .. d.pid .. " 2>/dev/null || true")
        d.task:wait()
      end
      d.cleanup()
    end
    for _, dir in ipairs(dirs) do support.sh("rm -rf " .. dir) end
    etcd.cleanup_all()
  end)

  -- members etcd members and n managers on them; nil and the reason (for
  -- pending) when etcd cannot start here.
  local function setup(n, members, ttl)
    local c, why = etcd.try_start_cluster(members or 1)
    if not c then return nil, why end
    local dir = support.mktemp()
    dirs[#dirs + 1] = dir
    for i = 1, n do managers[i] = manager(c, dir, ttl) end
    return c, dir
  end

  local function followers(leader)
    local out = {}
    for _, d in ipairs(managers) do if d ~= leader and d.alive ~= false then out[#out + 1] = d end end
    return out
  end

  it("elects exactly one leader; every manager names its location", function()
    if skip then return pending(skip) end
    local c, why = setup(3)
    if not c then return pending(why) end
    local leader = the_leader(managers)
    for _, d in ipairs(managers) do
      for _ = 1, 50 do -- a follower learns it from its own campaign
        if location(d) == leader.url then break end
        infrakit.sleep(0.1)
      end
      assert.are.equal(leader.url, location(d))
    end
    for _, d in ipairs(followers(leader)) do assert.is_false(is_leader(d)) end
  end)

  it("forwards a commit sent to a follower to the leader, which applies it; followers read the store", function()
    if skip then return pending(skip) end
    local c, dir = setup(2)
    if not c then return pending(dir) end
    local leader = the_leader(managers)
    local follower = followers(leader)[1]
    local r = commit(follower, web(3))
    assert.are.equal(0, r.status, r.stderr)
    assert.matches("committed web", r.stdout, 1, true)
    assert.are.equal(3, settle(dir, 3))
    -- Inspect from the follower's own store reads; describe relayed from the leader
    local ls = support.run(follower.home, { "group", "ls" })
    assert.are.equal(0, ls.status, ls.stderr)
    assert.matches("web", ls.stdout, 1, true)
    local st = support.wait_group(follower.home, "web", support.steady_at(3))
    assert.are.equal(3, #st.Instances)
    -- a scale through the follower too
    assert.are.equal(0, support.run(follower.home, { "group", "scale", "web", "4" }).status)
    assert.are.equal(4, settle(dir, 4))
  end)

  it("replaces a SIGKILLed leader; the group converges with no duplicates", function()
    if skip then return pending(skip) end
    local c, dir = setup(3)
    if not c then return pending(dir) end
    local leader = the_leader(managers)
    apply(leader, dir, 3)
    support.sh("kill -KILL " .. leader.pid)
    leader.task:wait()
    leader.alive = false
    local t0 = infrakit.clock()
    local new = the_leader(managers, 5 * TTL)
    print(string.format("# new leader after %.2f s (lease TTL %d s)", infrakit.clock() - t0, TTL))
    assert.are_not.equal(leader, new)
    -- it goes on from the store: a change through the other follower
    local other = followers(new)[1]
    apply(other, dir, 5)
    support.wait_group(new.home, "web", support.steady_at(5))
    -- its events are numbered above every number the dead leader used (the
    -- cursor in etcd: docs/observability.md)
    local old_seqs, new_seqs = support.event_seqs(leader.home), support.event_seqs(new.home)
    assert.is_true(#old_seqs > 0 and #new_seqs > 0)
    assert.is_true(new_seqs[1] > old_seqs[#old_seqs], "old " .. json.encode(old_seqs) .. ", new " .. json.encode(new_seqs))
  end)

  it("a pause sent to a follower holds the rollout, and still holds under the next leader", function()
    if skip then return pending(skip) end
    local c, dir = setup(2)
    if not c then return pending(dir) end
    local leader = the_leader(managers)
    local follower = followers(leader)[1]
    apply(leader, dir, 2)
    support.wait_group(leader.home, "web", support.steady_at(2))
    local r = support.run(follower.home, { "group", "pause", "web" }) -- forwarded to the leader
    assert.are.equal(0, r.status, r.stderr)
    r = commit(follower, web(2, "v2"))
    assert.are.equal(0, r.status, r.stderr)
    local st = support.wait_group(follower.home, "web", function(s) return s.Phase == "paused" end)
    local target = st.ConfigHash
    support.sh("kill -KILL " .. leader.pid)
    leader.task:wait()
    leader.alive = false
    local new = the_leader(managers, 5 * TTL)
    assert.are.equal(follower, new)
    st = support.wait_group(new.home, "web", function(s) return s.Phase == "paused" end)
    assert.is_true(st.Paused)
    infrakit.sleep(2) -- two polls: a leader that lost the pause would start replacing
    st = support.group_status(new.home, "web")
    assert.are.equal("paused", st.Phase)
    for _, i in ipairs(st.Instances) do assert.are_not.equal(target, i.ConfigHash) end
    assert.are.equal(0, support.run(new.home, { "group", "resume", "web" }).status)
    st = support.wait_group(new.home, "web", function(s)
      return support.steady_at(2)(s) and s.GoodHash == target
    end)
    for _, i in ipairs(st.Instances) do assert.are.equal(target, i.ConfigHash) end
  end)

  -- Write-ahead intents (docs/ha.md): the leader is SIGKILLed while a
  -- batch of provisions is going out; its successor observes what the
  -- pending intents say before it acts and ends with exactly the desired
  -- pets - each logical ID once, nothing orphaned. About 10 s.
  it("a leader SIGKILLed in the middle of a batch: its successor ends with exactly the desired pets", function()
    if skip then return pending(skip) end
    local c, dir = setup(2)
    if not c then return pending(dir) end
    local leader = the_leader(managers)
    local N = 300
    local ids = {}
    for i = 1, N do ids[i] = string.format("pet-%03d", i) end
    local spec = json.encode({ ID = "web", Properties = {
      Allocation = { LogicalIDs = ids },
      Instance = { Plugin = "instance-file", Properties = { Note = "pets" } },
      Flavor = { Plugin = "flavor-vanilla", Properties = {} },
    } })
    local r = commit(leader, spec)
    assert.are.equal(0, r.status, r.stderr)
    local at_kill = 0
    for _ = 1, 2000 do -- as soon as the batch has begun
      at_kill = count_instances(dir)
      if at_kill > 0 then break end
      infrakit.sleep(0.005)
    end
    support.sh("kill -KILL " .. leader.pid)
    leader.task:wait()
    leader.alive = false
    local left = c.get("ha/groups/web/intents")
    local pending_left = left and #(json.decode(left).Intents or {}) or 0
    print(string.format("# killed with %d of %d instances made, %d intents pending in etcd", at_kill, N, pending_left))
    assert.is_true(at_kill < N, "the batch was over before the kill: make it bigger")
    local new = the_leader(managers, 5 * TTL)
    assert.are.equal(N, settle(dir, N, 60))
    -- each logical ID exactly once, every instance a member of web
    local seen = {}
    for name in support.sh("ls " .. dir).stdout:gmatch("(instance%-[^%s]+)") do
      local f = assert(io.open(dir .. "/" .. name))
      local inst = json.decode(f:read("*a"))
      f:close()
      local lid = inst.Tags["infrakit.logical_id"]
      assert.are.equal("web", inst.Tags["infrakit.group"])
      assert.is_nil(seen[lid], "two instances of " .. tostring(lid))
      seen[lid] = true
    end
    for _, lid in ipairs(ids) do assert.is_true(seen[lid], lid .. " missing") end
    support.wait_group(new.home, "web", support.steady_at(N))
    -- the successor settled what was pending, and cleared it
    local events = io.open(new.home .. "/events.jsonl"):read("*a")
    if pending_left > 0 then assert.matches('"event":"intents%-resolved"', events) end
    for _ = 1, 50 do
      left = c.get("ha/groups/web/intents")
      if left and #json.decode(left).Intents == 0 then break end
      infrakit.sleep(0.1)
    end
    assert.are.equal(0, #json.decode(left).Intents)
  end)

  it("a leader stopped cleanly hands over at once, not after its lease's TTL", function()
    if skip then return pending(skip) end
    local c, dir = setup(2, 1, 30) -- a TTL no spec would wait for
    if not c then return pending(dir) end
    local leader = the_leader(managers)
    apply(leader, dir, 2)
    support.sh("kill -TERM " .. leader.pid)
    leader.task:wait()
    leader.alive = false
    local new = the_leader(managers, 10) -- the lease was revoked: no 30 s wait
    apply(new, dir, 3)
    local events = io.open(leader.home .. "/events.jsonl"):read("*a")
    assert.matches('"reason":"resigned: shutting down"', events, 1, true)
  end)

  it("a paused leader is replaced, steps down when it wakes, and provisions nothing twice", function()
    if skip then return pending(skip) end
    local c, dir = setup(2)
    if not c then return pending(dir) end
    local leader = the_leader(managers)
    local revision = select(2, c.get("ha/leader")).create_revision
    apply(leader, dir, 2)
    support.sh("kill -STOP " .. leader.pid)
    local other = followers(leader)[1]
    for _ = 1, 5 * TTL * 10 do
      if is_leader(other) then break end
      infrakit.sleep(0.1)
    end
    assert.is_true(is_leader(other))
    assert.are_not.equal(revision, select(2, c.get("ha/leader")).create_revision)
    -- the new leader changes the group while the old one sleeps
    apply(other, dir, 3)
    support.sh("kill -CONT " .. leader.pid)
    for _ = 1, 50 do
      if not is_leader(leader) then break end
      infrakit.sleep(0.1)
    end
    assert.is_false(is_leader(leader))
    for _ = 1, 50 do -- it campaigns again, with a new lease, and learns who leads
      if location(leader) == other.url then break end
      infrakit.sleep(0.1)
    end
    assert.are.equal(other.url, location(leader))
    -- its view (size 2) is not acted on: still 3, none destroyed, none doubled
    assert.are.equal(3, settle(dir, 3))
    local events = io.open(leader.home .. "/events.jsonl"):read("*a")
    assert.matches('"event":"leadership%-lost"', events)
    assert.matches('"refused_writes":%d+', events)
  end)

  it("keeps managing through the loss of one of three etcd members", function()
    if skip then return pending(skip) end
    local c, dir = setup(2, 3)
    if not c then return pending(dir) end
    local leader = the_leader(managers)
    apply(leader, dir, 2)
    c.kill9(c.members[1]) -- every manager's first endpoint
    local now = the_leader(managers, 5 * TTL)
    apply(followers(now)[1], dir, 4)
  end)

  it("steps down when etcd loses its quorum and leads again when it is back", function()
    if skip then return pending(skip) end
    local c, dir = setup(2, 3)
    if not c then return pending(dir) end
    the_leader(managers)
    apply(managers[1], dir, 2)
    c.kill9(c.members[1])
    c.kill9(c.members[2])
    local leading
    for _ = 1, 5 * TTL * 10 do -- no keepalive can succeed without a quorum
      leading = 0
      for _, d in ipairs(managers) do if is_leader(d) then leading = leading + 1 end end
      if leading == 0 then break end
      infrakit.sleep(0.1)
    end
    assert.are.equal(0, leading)
    c.launch(c.members[1])
    c.launch(c.members[2])
    assert.is_true(c.wait_healthy(nil, 20))
    local now = the_leader(managers, 10 * TTL)
    apply(followers(now)[1], dir, 3)
  end)

  -- The autoscaler runs on the leader only, and its memory is in etcd
  -- (docs/autoscaling.md): the leader scales; SIGKILLed, its successor
  -- goes on scaling, but not before the cooldown of the dead leader's last
  -- decision has passed. About 15 s.
  it("autoscales on the leader only; a new leader honours the last leader's cooldown", function()
    if skip then return pending(skip) end
    local c, dir = setup(2)
    if not c then return pending(dir) end
    local leader = the_leader(managers)
    local COOLDOWN = 8 -- longer than an election takes (about 2-4 s with a 2 s TTL)
    local spec = json.encode({ ID = "web", Properties = {
      Allocation = { Size = 1 },
      Instance = { Plugin = "instance-file", Properties = { Note = "v1" } },
      Flavor = { Plugin = "flavor-vanilla", Properties = {} },
      Scaling = { Policy = "target-utilisation", Target = 10, Min = 1, Max = 20, Interval = "200ms",
        Cooldown = COOLDOWN .. "s" },
    } })
    assert.are.equal(0, commit(leader, spec).status)
    -- Every instance reports load 30 (3x the target) to both managers.
    local load = true
    local writer = infrakit.spawn(function()
      while load do
        for iid in support.sh("ls " .. dir .. " 2>/dev/null || true").stdout:gmatch("instance%-[^\n]+") do
          for _, d in ipairs(managers) do
            support.sh("mkdir -p " .. d.home .. "/metrics/web")
            local f = io.open(d.home .. "/metrics/web/" .. iid, "w")
            if f then f:write('{"load": 30}') f:close() end
          end
        end
        infrakit.sleep(0.1)
      end
    end)
    local function autoscaled(d)
      local out = {}
      for line in io.lines(d.home .. "/events.jsonl") do
        local e = json.decode(line)
        if e.event == "autoscaled" and e.group == "web" then out[#out + 1] = e end
      end
      return out
    end
    local ok, err = pcall(function()
      for _ = 1, 100 do
        if #autoscaled(leader) > 0 then break end
        infrakit.sleep(0.1)
      end
      local first = autoscaled(leader)
      assert.are.equal(1, #first, "the leader's decisions: " .. json.encode(first))
      local follower = followers(leader)[1]
      assert.are.equal(0, #autoscaled(follower), "a follower scaled")
      support.sh("kill -KILL " .. leader.pid)
      leader.task:wait()
      leader.alive = false
      local new = the_leader(managers, 5 * TTL)
      assert.are.equal(follower, new)
      local next_ones
      for _ = 1, 150 do
        next_ones = autoscaled(new)
        if #next_ones > 0 then break end
        infrakit.sleep(0.1)
      end
      assert.is_true(#next_ones > 0, "the new leader never scaled")
      local gap = support.event_seconds(next_ones[1]) - support.event_seconds(first[1])
      print(string.format("# first decision %d -> %d; the new leader's %d -> %d %.2f s later (cooldown %d s)",
        first[1].from, first[1].to, next_ones[1].from, next_ones[1].to, gap, COOLDOWN))
      assert.are.equal(first[1].to, next_ones[1].from)
      assert.is_true(gap >= COOLDOWN - 0.05, ("the new leader scaled %.2f s after the last decision"):format(gap))
    end)
    load = false
    writer:wait()
    assert(ok, err)
  end)

  -- GET /events on a follower relays the leader's stream (docs/ha.md):
  -- the groups' events, which only the leader's log holds. About 5 s.
  it("a follower's GET /events relays the leader's stream", function()
    if skip then return pending(skip) end
    local c, dir = setup(2)
    if not c then return pending(dir) end
    local leader = the_leader(managers)
    local follower = followers(leader)[1]
    apply(leader, dir, 2)
    local function stream(d, headers)
      local r = support.sh("curl -sN --max-time 1.5 -D - " .. (headers or "") .. " 'http://"
        .. d.url:match("//(.*)") .. "/events?group=web' || true")
      return r.stdout
    end
    local function seqs(body)
      local out = {}
      for id in body:gmatch("\nid: (%d+)\n") do out[#out + 1] = tonumber(id) end
      return out
    end
    local leader_ids = {}
    for line in io.lines(leader.home .. "/events.jsonl") do
      local e = json.decode(line)
      if e.group == "web" then leader_ids[#leader_ids + 1] = e.seq end
    end
    assert.is_true(#leader_ids > 0)
    -- The whole history after 0, as the leader has it, then live.
    local body = stream(follower, "-H 'Last-Event-ID: 0'")
    assert.matches("X-Infrakit-Leader: " .. leader.url, body, 1, true)
    assert.are.same(leader_ids, seqs(body))
    assert.matches(": live", body, 1, true)
    -- Resumed after an id: only what follows.
    body = stream(follower, "-H 'Last-Event-ID: " .. leader_ids[#leader_ids - 1] .. "'")
    assert.are.same({ leader_ids[#leader_ids] }, seqs(body))
    -- Live events come through as they happen.
    local live = infrakit.spawn(function()
      return support.sh("curl -sN --max-time 3 'http://" .. follower.url:match("//(.*)") .. "/events?group=web' || true").stdout
    end)
    infrakit.sleep(0.5)
    assert.are.equal(0, support.run(follower.home, { "group", "scale", "web", "3" }).status)
    local got = live:wait()
    assert.matches("event: scaled", got, 1, true)
    assert.matches("event: provisioned", got, 1, true)
    -- The leader's own stream is its own log (not relayed).
    assert.not_matches("X-Infrakit-Leader", stream(leader, "-H 'Last-Event-ID: 0'"), 1, true)
  end)

  it("refuses --lease-ttl without the etcd store, and a TTL under a second", function()
    local home = support.mktemp()
    dirs[#dirs + 1] = home
    local r = support.run(home, { "daemon", "--lease-ttl", "2s" })
    assert.are.equal(2, r.status)
    assert.matches("--lease-ttl goes with --store etcd://", r.stderr, 1, true)
    r = support.run(home, { "daemon", "--store", "etcd://127.0.0.1:1/x", "--lease-ttl", "500ms" })
    assert.are.equal(2, r.status)
    assert.matches("--lease-ttl 500ms: want a duration from 1s to 1h", r.stderr, 1, true)
  end)

  it("a manager that knows no leader says so", function()
    if skip then return pending(skip) end
    local dir = support.mktemp()
    dirs[#dirs + 1] = dir
    -- an etcd nobody listens on: no lease, no leader
    local d = manager({ endpoints = "127.0.0.1:" .. free_port() }, dir)
    managers[1] = d
    assert.is_false(is_leader(d))
    local r = commit(d, web(1))
    assert.are_not.equal(0, r.status)
    assert.matches("no leader is known: etcd 127.0.0.1:", r.stderr, 1, true)
  end)
end)
