-- Failover under load (docs/ha.md, "Measured failover"): etcd members and
-- several `infrakit daemon --store etcd://...` managers sharing one
-- instance-file directory, a pets group whose every instance is found by
-- describing, and the checks a chaos run ends with. Used by
-- spec/functional/failover_spec.lua (small, #slow) and
-- spec/bench/failover_bench.lua (1,000 instances).
--   local fo = dofile("spec/functional/failover_support.lua")
--   local h, why = fo.start(3, 3, { ttl = 2 })   -- nil + reason: pending
--   local hash = h.commit(fo.pets("web", 60, "v1"))
--   h.wait_steady("web", 60, hash, 30)
--   local t = h.kill(h.leader()); h.restart(d)  -- SIGKILL; a new daemon in its home
--   h.check("web", 60, hash)  -- {count, dup_ids, dup_logical, orphans, stale, missing, exact}
--   fo.kills / fo.pause / fo.member_loss / fo.quorum_loss: the scenarios
--   h.cleanup()               -- no daemon, member or directory left
local infrakit = require "infrakit"
local json = infrakit.json
local support = dofile("spec/functional/support.lua")
local etcd = dofile("spec/functional/etcd_support.lua")

local fo = {}

local function sh(cmd) return support.sh(cmd) end

local function free_port()
  local r = sh("python3 -c 'import socket; s=socket.socket(); s.bind((\"127.0.0.1\",0)); print(s.getsockname()[1])'")
  return tonumber(r.stdout)
end

-- A pets group: logical IDs L1..Ln, instance-file, the vanilla flavor;
-- note marks the config. updating: the Updating policy (optional).
function fo.pets(id, n, note, updating)
  local ids = {}
  for i = 1, n do ids[i] = "L" .. i end
  return { ID = id, Properties = {
    Allocation = { LogicalIDs = ids },
    Instance = { Plugin = "instance-file", Properties = { Note = note } },
    Flavor = { Plugin = "flavor-vanilla", Properties = {} },
    Updating = updating,
  } }
end

-- A cattle group of size instances (instance-file, vanilla).
function fo.cattle(id, size, note)
  return { ID = id, Properties = {
    Allocation = { Size = size },
    Instance = { Plugin = "instance-file", Properties = { Note = note } },
    Flavor = { Plugin = "flavor-vanilla", Properties = {} },
  } }
end

-- A Group.SetSize of group id (for fo.pause's stale call).
function fo.set_size(id, size)
  return { method = "Group.SetSize", params = { Name = "group", ID = id, Size = size } }
end

-- "2026-12-07T15:10:19.123Z" -> seconds since the epoch.
function fo.epoch(iso)
  local y, mo, d, h, mi, s, ms = iso:match("^(%d+)-(%d+)-(%d+)T(%d+):(%d+):(%d+)%.(%d+)Z$")
  if not y then return nil end
  -- days from civil (Howard Hinnant), UTC
  y, mo, d = tonumber(y), tonumber(mo), tonumber(d)
  if mo <= 2 then y = y - 1 end
  local era = math.floor(y / 400)
  local yoe = y - era * 400
  local mp = (mo + 9) % 12
  local doy = math.floor((153 * mp + 2) / 5) + d - 1
  local doe = yoe * 365 + math.floor(yoe / 4) - math.floor(yoe / 100) + doy
  local days = era * 146097 + doe - 719468
  return days * 86400 + tonumber(h) * 3600 + tonumber(mi) * 60 + tonumber(s) + tonumber(ms) / 1000
end

-- Every event in home's events.jsonl, decoded, with t (epoch seconds).
function fo.events(home)
  local f = io.open(home .. "/events.jsonl")
  if not f then return {} end
  local out = {}
  for line in f:read("*a"):gmatch("([^\n]*)\n") do
    local ok, ev = pcall(json.decode, line)
    if ok and type(ev) == "table" then
      ev.t = fo.epoch(ev.time or "")
      out[#out + 1] = ev
    end
  end
  f:close()
  return out
end

-- Start `members` etcd members and n managers (opts: ttl seconds, default
-- 2; poll, default "1s"; prefix, default "fo"). Returns the harness, or
-- nil and the reason (etcd cannot start: pending).
function fo.start(members, n, opts)
  opts = opts or {}
  local c, why = etcd.try_start_cluster(members)
  if not c then return nil, why end
  local h = { etcd = c, ttl = opts.ttl or 2, prefix = opts.prefix or "fo", managers = {} }
  h.dir = support.mktemp()

  -- A manager in home (new when nil). Not support.start_daemon: its
  -- 180 s reaper would end a benchmark's managers under it.
  function h.spawn(home)
    local port = free_port()
    home = home or support.mktemp()
    local argv = { support.bin, "daemon",
      "--store", "etcd://" .. c.endpoints .. "/" .. h.prefix, "--lease-ttl", h.ttl .. "s",
      "--listen", "127.0.0.1:" .. port, "--insecure", "--instance-file-dir", h.dir, "--poll", opts.poll or "1s",
      "-p", "group", "-p", "instance-file", "-p", "flavor-vanilla",
    }
    local d = { home = home }
    d.task = infrakit.spawn(function()
      return infrakit.exec(argv, { env = support.env(home), timeout = 1800 })
    end)
    function d.cleanup() sh("rm -rf " .. home) end
    d.group = d.home .. "/plugins/group"
    for _ = 1, 300 do
      if infrakit.rpc.call(d.group, "Handshake.Hello", nil, { timeout = 1 }) then break end
      infrakit.sleep(0.02)
    end
    d.url = "tcp://127.0.0.1:" .. port
    for _ = 1, 100 do
      local f = io.open(d.home .. "/plugins/group.pid")
      if f then
        d.pid = f:read("*a"):gsub("%s+$", "")
        f:close()
        if d.pid ~= "" then break end
      end
      infrakit.sleep(0.05)
    end
    d.alive = true
    return d
  end
  for i = 1, n do h.managers[i] = h.spawn(nil) end

  function h.is_leader(d)
    if not d.alive or d.paused then return false end
    local r = infrakit.rpc.call(d.group, "Manager.IsLeader", {}, { timeout = 2 })
    return r and r.Leader == true
  end

  -- The one leader among the live, unpaused managers within seconds, or nil.
  function h.leader(seconds)
    for _ = 1, (seconds or 10) * 10 do
      local leaders = {}
      for _, d in ipairs(h.managers) do if h.is_leader(d) then leaders[#leaders + 1] = d end end
      if #leaders == 1 then return leaders[1] end
      infrakit.sleep(0.1)
    end
    return nil
  end

  -- A live manager to send calls to (the first).
  function h.any()
    for _, d in ipairs(h.managers) do if d.alive and not d.paused then return d end end
  end

  -- Group.CommitGroup through any manager (a follower forwards); retried
  -- while no leader is known. Returns the committed config hash.
  function h.commit(spec, seconds)
    local last
    for _ = 1, (seconds or 20) * 5 do
      local r, err = infrakit.rpc.call(h.any().group, "Group.CommitGroup", { Name = "group", Spec = spec, Pretend = false },
        { timeout = 10 })
      if r then return h.status(spec.ID).ConfigHash end
      last = err
      infrakit.sleep(0.2)
    end
    error("commit " .. spec.ID .. ": " .. tostring(last), 2)
  end

  -- Group.Status (forwarded to the leader), or nil and the error.
  function h.status(id)
    local r, err = infrakit.rpc.call(h.any().group, "Group.Status", { Name = "group", ID = id }, { timeout = 10 })
    if not r then return nil, err end
    return r.Status
  end

  -- The group's instances as the shared directory holds them (any
  -- manager's instance-file plugin sees them all).
  function h.instances(id)
    local r, err = infrakit.rpc.call(h.any().home .. "/plugins/instance-file", "Instance.DescribeInstances",
      { Tags = { ["infrakit.group"] = id }, Properties = false }, { timeout = 20 })
    return assert(r, err).Descriptions or {}
  end

  -- Exactness against n logical IDs L1..Ln at config hash: counts of
  -- instances, duplicate IDs, duplicate logical IDs, orphans (logical IDs
  -- outside the set, or none), stale (another config hash), missing slots.
  function h.check(id, want, hash)
    local list = h.instances(id)
    local r = { count = #list, dup_ids = 0, dup_logical = 0, orphans = 0, stale = 0, missing = 0 }
    local ids, lids = {}, {}
    for _, inst in ipairs(list) do
      if ids[inst.ID] then r.dup_ids = r.dup_ids + 1 end
      ids[inst.ID] = true
      local lid = inst.LogicalID
      local k = lid and tonumber(lid:match("^L(%d+)$"))
      if not k or k < 1 or k > want then
        r.orphans = r.orphans + 1
      elseif lids[lid] then
        r.dup_logical = r.dup_logical + 1
      end
      if lid then lids[lid] = true end
      local tags = inst.Tags or {}
      if tags["infrakit.config.hash"] ~= hash then r.stale = r.stale + 1 end
    end
    for i = 1, want do if not lids["L" .. i] then r.missing = r.missing + 1 end end
    r.exact = r.count == want and r.dup_ids == 0 and r.dup_logical == 0 and r.orphans == 0 and r.stale == 0 and r.missing == 0
    return r
  end

  function h.describe_check(r)
    return string.format("%d instances, %d duplicate IDs, %d duplicate logical IDs, %d orphans, %d stale, %d missing",
      r.count, r.dup_ids, r.dup_logical, r.orphans, r.stale, r.missing)
  end

  -- Wait until the group is steady at hash with n instances, nothing in
  -- flight (within seconds); the last status, and whether it held.
  function h.wait_steady(id, want, hash, seconds)
    local st
    local deadline = infrakit.clock() + (seconds or 60)
    while infrakit.clock() < deadline do
      st = h.status(id)
      if st and st.Phase == "steady" and st.ConfigHash == hash and #st.InFlight == 0 and #st.Instances == want then
        local ok = true
        for _, inst in ipairs(st.Instances) do
          if inst.ConfigHash and inst.ConfigHash ~= hash then ok = false; break end
        end
        if ok then return st, true end
      end
      infrakit.sleep(0.2)
    end
    return st, false
  end

  -- SIGKILL d (wall time of the kill returned).
  function h.kill(d)
    local t = infrakit.now()
    sh("kill -KILL " .. d.pid)
    d.task:wait()
    d.alive = false
    return t
  end

  -- A new daemon in d's home (as a restarted manager); replaces d in the list.
  function h.restart(d)
    sh("rm -f " .. d.home .. "/plugins/*")
    local nd = h.spawn(d.home)
    for i, x in ipairs(h.managers) do if x == d then h.managers[i] = nd end end
    return nd
  end

  -- The etcd members d has a connection to (by `ss`), at most one short
  -- of the cluster's quorum.
  function h.members_of(d)
    local out = {}
    local conns = sh("ss -tnpH state established 2>/dev/null | grep 'pid=" .. d.pid .. ",' || true").stdout
    for _, m in ipairs(c.members) do
      local room = #out < math.floor((#c.members - 1) / 2)
      if room and conns:find("127.0.0.1:" .. m.client_port .. "%s") then out[#out + 1] = m end
    end
    return out
  end

  -- SIGSTOP (paused true) or SIGCONT manager d.
  function h.set_paused(d, paused)
    sh("kill -" .. (paused and "STOP " or "CONT ") .. d.pid)
    d.paused = paused
  end

  -- Where every manager's event log ends now: wait_event reads from there.
  function h.mark()
    local m = {}
    for _, d in ipairs(h.managers) do
      local f = io.open(d.home .. "/events.jsonl")
      m[d.home] = f and f:seek("end") or 0
      if f then f:close() end
    end
    return m
  end

  -- The first event logged after mark by a live manager that matches
  -- pred(ev, d); the event and its manager, or nil after seconds. Reads
  -- only what was appended (a leader's log grows by thousands of lines).
  function h.wait_event(mark, pred, seconds)
    local pos = {}
    for k, v in pairs(mark) do pos[k] = v end
    local deadline = infrakit.clock() + (seconds or 30)
    while infrakit.clock() < deadline do
      for _, d in ipairs(h.managers) do
        local f = d.alive and io.open(d.home .. "/events.jsonl")
        if f then
          f:seek("set", pos[d.home] or 0)
          local chunk = f:read("*a") or ""
          f:close()
          for line in chunk:gmatch("([^\n]*)\n") do -- whole lines only
            pos[d.home] = (pos[d.home] or 0) + #line + 1
            local ok, ev = pcall(json.decode, line)
            if ok and type(ev) == "table" then
              ev.t = fo.epoch(ev.time or "")
              if pred(ev, d) then return ev, d end
            end
          end
        end
      end
      infrakit.sleep(0.02)
    end
  end

  -- After a leader change (mark taken just before it): the new leader's
  -- leadership-gained event, its first group event after it (an action, a
  -- phase, "resumed": it acts), and the manager; nil when none in seconds.
  function h.takeover(mark, seconds)
    local gained, who = h.wait_event(mark, function(ev) return ev.event == "leadership-gained" end, seconds)
    if not gained then return nil end
    local first = h.wait_event(mark, function(ev, d) return d == who and ev.group ~= "" and ev.t >= gained.t end,
      seconds)
    return gained, first, who
  end

  function h.cleanup()
    for _, d in ipairs(h.managers) do
      if d.alive then
        sh("kill -CONT " .. d.pid .. " 2>/dev/null; kill -TERM " .. d.pid .. " 2>/dev/null || true")
        d.task:wait()
        d.alive = false
      end
      d.cleanup()
    end
    c.cleanup()
    sh("rm -rf " .. h.dir)
  end
  return h
end

-- The scenarios: each commits a new config of group id (n pets, note)
-- and returns what it measured; the bench makes rows of it, the spec
-- asserts on it. updating: the Updating policy of the new config.

local function percentile(list, p)
  local s = {}
  for i, x in ipairs(list) do s[i] = x end
  table.sort(s)
  return s[math.max(1, math.ceil(#s * p))]
end
fo.percentile = percentile

-- A rollout interrupted by kills: every `every` seconds of progress the
-- leader is SIGKILLed and restarted in its home (so the count of managers
-- stays). Per kill: seconds from the kill to the new leader's
-- leadership-gained and to its first group event. Stops killing when the
-- rollout is done. {kills, gained = {}, acted = {}, rollout_s, check}.
function fo.kills(h, id, n, note, kills, every, updating)
  local t0 = infrakit.clock()
  local hash = h.commit(fo.pets(id, n, note, updating))
  local r = { kills = 0, gained = {}, acted = {}, hash = hash }
  for _ = 1, kills do
    local leader = h.leader(30)
    if not leader then error("no leader within 30 s") end
    infrakit.sleep(every)
    local st = h.status(id)
    if st and st.Phase == "steady" and st.ConfigHash == hash then break end
    local mark = h.mark()
    local t = h.kill(leader)
    h.restart(leader)
    local gained, first = h.takeover(mark, 30)
    if not gained or not first then error("no new leader acted within 30 s of kill " .. (r.kills + 1)) end
    r.kills = r.kills + 1
    r.gained[#r.gained + 1] = gained.t - t
    r.acted[#r.acted + 1] = first.t - t
  end
  local _, done = h.wait_steady(id, n, hash, 180)
  r.done = done
  r.rollout_s = infrakit.clock() - t0
  r.check = h.check(id, n, hash)
  return r
end

-- A JSON-RPC call over a unix socket connected at once, sent when a file
-- appears (argv: socket, file, body); prints the raw HTTP answer.
local PRECONNECTED = [[
import os, re, socket, sys, time
s = socket.socket(socket.AF_UNIX)
s.connect(sys.argv[1])
while not os.path.exists(sys.argv[2]):
    time.sleep(0.01)
body = sys.argv[3].encode()
s.sendall(b"POST / HTTP/1.1\r\nHost: group\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n" % len(body) + body)
s.settimeout(30)
data = b""
while True:
    chunk = s.recv(65536)
    if not chunk:
        break
    data += chunk
    head, sep, rest = data.partition(b"\r\n\r\n")
    m = re.search(rb"content-length: *(\d+)", head, re.I)
    if sep and m and len(rest) >= int(m.group(1)):
        break
sys.stdout.write(data.decode(errors="replace"))
]]

-- The leader paused (SIGSTOP) mid-rollout for pause_s (more than its
-- TTL), another takes over, SIGCONT. opts: updating (the new config's
-- policy); cut: also SIGKILL the etcd member it is connected to while it
-- sleeps (started again at the end) - a leader cut off with its member,
-- whose watch cannot tell it on waking that the key changed; stale:
-- {method, params}, a call sent to it while it sleeps (a client that still
-- takes it for the leader): a Group.SetSize of a cattle group writes the
-- store before anything else, so it tries a store write on waking.
-- Returns {takeover_s, stepped_down, refused_at_loss (from its
-- leadership-lost event), refused (the most any of its write-refused
-- events says), stale_ok, stale_err (the stale call's answer),
-- provisioned_after (its provisions after waking), hash (the config the
-- group must end at), done, check}.
function fo.pause(h, id, n, note, pause_s, opts)
  opts = opts or {}
  local hash = h.commit(fo.pets(id, n, note, opts.updating))
  local leader = h.leader(30)
  if not leader then error("no leader within 30 s") end
  infrakit.sleep(0.5) -- mid-rollout
  local stale, go
  if opts.stale then
    -- connected (and accepted) before the pause, written during it: the
    -- call is read in the first pass over the sockets on waking, as a
    -- client's request already on its way would be
    go = support.mktemp() .. "/go"
    local body = json.encode({ jsonrpc = "2.0", id = 1, method = opts.stale.method, params = opts.stale.params })
    stale = infrakit.spawn(function()
      return infrakit.exec({ "python3", "-c", PRECONNECTED, leader.group, go, body }, { timeout = 60 })
    end)
    infrakit.sleep(0.3)
  end
  local mark = h.mark()
  local t = infrakit.now()
  h.set_paused(leader, true)
  local r = { hash = hash }
  if opts.cut then
    r.cut = h.members_of(leader)
    for _, m in ipairs(r.cut) do h.etcd.kill9(m) end
  end
  if go then
    assert(io.open(go, "w")):close()
    infrakit.sleep(0.2)
  end
  local gained = h.wait_event(mark, function(ev, d) return d ~= leader and ev.event == "leadership-gained" end, 30)
  r.takeover_s = gained and gained.t - t
  infrakit.sleep(math.max(0, pause_s - (infrakit.now() - t)))
  local woke = infrakit.now()
  h.set_paused(leader, false)
  local lost = h.wait_event(mark, function(ev, d) return d == leader and ev.event == "leadership-lost" end, 10)
  r.lost = lost
  r.refused_at_loss = lost and lost.refused_writes
  if stale then
    local out = stale:wait()
    local ok, answer = pcall(json.decode, (out.stdout or ""):match("\r\n\r\n(.*)$") or "")
    answer = ok and type(answer) == "table" and answer or { error = { message = "no answer: " .. tostring(out.stderr) } }
    r.stale_ok = answer.error == nil or answer.error == json.null
    r.stale_err = not r.stale_ok and (type(answer.error) == "table" and answer.error.message or tostring(answer.error))
    sh("rm -rf " .. go:match("^(.*)/go$"))
  end
  infrakit.sleep(0.5)
  r.stepped_down = lost ~= nil and not h.is_leader(leader)
  local _, done = h.wait_steady(id, n, r.hash, 180)
  r.done = done
  -- its writes answered after the step-down are refused later: each is a
  -- write-refused event with the count so far
  r.provisioned_after, r.refused = 0, r.refused_at_loss or 0
  for _, ev in ipairs(fo.events(leader.home)) do
    if ev.t and ev.t >= woke then
      if ev.event == "provisioned" then r.provisioned_after = r.provisioned_after + 1 end
      if ev.event == "write-refused" then r.refused = math.max(r.refused, ev.refused_writes) end
    end
  end
  r.check = h.check(id, n, r.hash)
  for _, m in ipairs(r.cut or {}) do h.etcd.start(m) end
  return r
end

-- One of the etcd members SIGKILLed after after_s of a rollout: it goes
-- on; the member is started again once the rollout is done.
-- {rollout_s, done, check}.
function fo.member_loss(h, id, n, note, after_s, updating)
  local c = h.etcd
  local t0 = infrakit.clock()
  local hash = h.commit(fo.pets(id, n, note, updating))
  infrakit.sleep(after_s)
  c.kill9(c.members[1]) -- every manager's first endpoint
  local _, done = h.wait_steady(id, n, hash, 180)
  local r = { done = done, rollout_s = infrakit.clock() - t0, hash = hash }
  r.check = h.check(id, n, hash)
  c.start(c.members[1])
  return r
end

-- Two of three members SIGKILLed after after_s of a rollout: the leader
-- steps down (no quorum); down_s later they start again and the rollout
-- resumes and completes. {step_down_s (kill -> the leader's
-- leadership-lost event), step_down_reason, none_leads_s (kill -> no
-- manager says it leads),
-- resume_s (members started -> the new leader's first group event),
-- done, check}.
function fo.quorum_loss(h, id, n, note, after_s, down_s, updating)
  local c = h.etcd
  local hash = h.commit(fo.pets(id, n, note, updating))
  infrakit.sleep(after_s)
  local r = { hash = hash }
  local leader = h.leader(10)
  -- both at once: c.kill9 waits for each pid to be gone, seconds here
  -- (init reaps them), and the quorum is lost at the second signal
  local lost_mark = h.mark()
  sh("kill -KILL " .. c.members[1].pid .. " " .. c.members[2].pid)
  local t, killed = infrakit.clock(), infrakit.now()
  c.kill9(c.members[1])
  c.kill9(c.members[2])
  for _ = 1, 200 do
    local leading = 0
    for _, d in ipairs(h.managers) do if h.is_leader(d) then leading = leading + 1 end end
    if leading == 0 then r.none_leads_s = infrakit.clock() - t; break end
    infrakit.sleep(0.05)
  end
  local lost = leader and h.wait_event(lost_mark, function(ev, d) return d == leader and ev.event == "leadership-lost" end, 5)
  r.step_down_s = lost and lost.t - killed
  r.step_down_reason = lost and lost.reason
  infrakit.sleep(math.max(0, down_s - (infrakit.clock() - t)))
  local st = h.status(id)
  r.progress_while_down = st ~= nil -- a status needs a leader
  local mark = h.mark()
  local back = infrakit.now()
  c.launch(c.members[1])
  c.launch(c.members[2])
  local _, first = h.takeover(mark, 60)
  r.resume_s = first and first.t - back
  local _, done = h.wait_steady(id, n, hash, 180)
  r.done = done
  r.check = h.check(id, n, hash)
  return r
end

fo.cleanup_all = etcd.cleanup_all

return fo
