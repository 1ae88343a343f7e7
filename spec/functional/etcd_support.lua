-- Real etcd members for the specs and benchmarks: 1 or N `etcd` processes
-- on 127.0.0.1, each with its own free client and peer ports and its own
-- data directory under one temporary directory, never the machine's etcd.
-- Flags and timings as measured in shared/reference/backends.md (3.4.23:
-- healthy in ~0.5 s; a member takes 1.6-2 s to exit after SIGTERM).
--   local etcd = dofile("spec/functional/etcd_support.lua")
--   local ok, why = etcd.available()        -- false + reason: mark pending
--   local c = etcd.start_cluster(3)         -- c.endpoints "127.0.0.1:P,..."
--   local c, why = etcd.try_start_cluster(3) -- nil + reason: mark pending
--   c.put("k", "v"); c.get("k")             -- through the v3 JSON gateway
--   c.kill9(c.members[1]); c.start(c.members[1])
--   c.pause(m); c.resume(m)                 -- SIGSTOP / SIGCONT
--   c.cleanup()                             -- nothing left; safe twice
-- etcd.cleanup_all() stops every cluster this process started (for an
-- after_each / teardown that must not leave members behind on failure).
local infrakit = require "infrakit"
local codec = require "infrakit._codec"

local etcd = { b64 = codec.b64encode, unb64 = codec.b64decode }

local function sh(cmd)
  return assert(infrakit.exec({ "sh", "-c", cmd }, { timeout = 60 }))
end

local function q(s) return "'" .. tostring(s):gsub("'", "'\\''") .. "'" end

-- Whether members can start here: true, or false and the reason (for
-- `pending`). Asked once per process.
local verdict, reason
function etcd.available()
  if verdict == nil then
    local r = infrakit.exec({ "etcd", "--version" }, { timeout = 10 })
    if not r then
      verdict, reason = false, "etcd is not installed (make deps installs etcd-server)"
    elseif r.status ~= 0 then
      verdict, reason = false, "etcd --version failed: " .. (r.stderr or "")
    else
      verdict = true
    end
  end
  return verdict, reason
end

-- Free TCP ports on 127.0.0.1: n of them, none listening now (ss) nor
-- handed out earlier by this process. A race with another process is
-- possible; start_cluster retries with new ports when a member cannot
-- bind.
local handed = {}
local seeded = false
local function free_ports(n)
  if not seeded then
    math.randomseed(os.time() + math.floor(infrakit.clock() * 1e6) % 100000 + tonumber(tostring({}):match("0x(%x+)") or "0", 16) % 100000)
    seeded = true
  end
  local used = {}
  for port in sh("ss -ltnH 2>/dev/null").stdout:gmatch(":(%d+)%s") do used[tonumber(port)] = true end
  local out = {}
  while #out < n do
    local p = math.random(20000, 59999)
    if not used[p] and not handed[p] then
      handed[p] = true
      out[#out + 1] = p
    end
  end
  return out
end

-- One POST to a member's JSON gateway (path like "/v3/kv/range", body a
-- table). Returns status, decoded body (or raw text); nil, message when
-- no answer came.
function etcd.api(url, path, body, timeout)
  local r, err = infrakit.http.request({
    method = "POST", url = url .. path, body = infrakit.json.encode(body or {}),
    headers = { ["Content-Type"] = "application/json" }, timeout = timeout or 5,
  })
  if not r then return nil, err end
  local ok, decoded = pcall(infrakit.json.decode, r.body)
  return r.status, ok and decoded or r.body
end

local function alive(pid)
  return pid and sh("kill -0 " .. pid .. " 2>/dev/null").status == 0
end

local function wait_gone(pid, seconds)
  for _ = 1, seconds * 20 do
    if not alive(pid) then return true end
    infrakit.sleep(0.05)
  end
  return false
end

local function healthy(m)
  local r = infrakit.http.request({ url = m.client_url .. "/health", timeout = 1 })
  if not r or r.status ~= 200 then return false end
  local ok, h = pcall(infrakit.json.decode, r.body)
  return ok and type(h) == "table" and h.health == "true"
end

local clusters = {}

-- Start n members (default 1). opts: heartbeat (ms, default 50), election
-- (ms, default 300), extra (more etcd flags, a list). Returns a cluster:
--   dir, members (each: name, client_port, peer_port, client_url,
--   endpoint "127.0.0.1:P", data, log, pid), endpoints ("h:p,h:p,..."),
--   urls ({client_url...}), and the functions below. Fails, with the
--   members' logs, when the cluster is not healthy within 15 s.
function etcd.start_cluster(n, opts)
  n, opts = n or 1, opts or {}
  local c = { dir = (sh("mktemp -d /tmp/ik-etcd-XXXXXX").stdout:gsub("%s+$", "")), members = {} }
  clusters[#clusters + 1] = c

  local function layout()
    local ports = free_ports(2 * n)
    local initial, eps, urls = {}, {}, {}
    for i = 1, n do
      local m = c.members[i] or {}
      c.members[i] = m
      m.index, m.name = i, "m" .. i
      m.client_port, m.peer_port = ports[2 * i - 1], ports[2 * i]
      m.client_url = "http://127.0.0.1:" .. m.client_port
      m.peer_url = "http://127.0.0.1:" .. m.peer_port
      m.endpoint = "127.0.0.1:" .. m.client_port
      m.data = c.dir .. "/" .. m.name .. ".etcd"
      m.log = c.dir .. "/" .. m.name .. ".log"
      initial[i] = m.name .. "=" .. m.peer_url
      eps[i], urls[i] = m.endpoint, m.client_url
    end
    c.initial_cluster = table.concat(initial, ",")
    c.endpoints, c.urls = table.concat(eps, ","), urls
  end

  local function argv(m)
    local a = {
      "etcd", "--name", m.name, "--data-dir", m.data,
      "--listen-client-urls", m.client_url, "--advertise-client-urls", m.client_url,
      "--listen-peer-urls", m.peer_url, "--initial-advertise-peer-urls", m.peer_url,
      "--initial-cluster", c.initial_cluster, "--initial-cluster-state", "new",
      "--initial-cluster-token", "ik-" .. c.dir:match("[^/]+$"),
      "--heartbeat-interval", tostring(opts.heartbeat or 50),
      "--election-timeout", tostring(opts.election or 300),
    }
    for _, x in ipairs(opts.extra or {}) do a[#a + 1] = x end
    local parts = {}
    for i, x in ipairs(a) do parts[i] = q(x) end
    return table.concat(parts, " ")
  end

  -- Start member m (again: same name, ports and data directory). Does not
  -- wait for health: a lone member of a cluster cannot be healthy before
  -- a quorum is up; see wait_healthy.
  function c.launch(m)
    if alive(m.pid) then error(m.name .. " is already running (pid " .. m.pid .. ")", 2) end
    -- In a non-interactive sh a background job is not a process-group
    -- leader, so setsid execs etcd in place and $! is etcd's own pid.
    local r = sh("setsid " .. argv(m) .. " >>" .. q(m.log) .. " 2>&1 </dev/null & echo $!")
    m.pid = tonumber(r.stdout:match("%d+"))
    m.paused = false
  end

  -- Wait until every member in list (default: all that run) reports
  -- healthy; true, or false after `seconds` (default 15).
  function c.wait_healthy(list, seconds)
    list = list or c.running()
    for _ = 1, (seconds or 15) * 20 do
      local all = true
      for _, m in ipairs(list) do
        if not healthy(m) then all = false; break end
      end
      if all then return true end
      infrakit.sleep(0.05)
    end
    return false
  end

  -- Members whose process runs (paused ones included).
  function c.running()
    local out = {}
    for _, m in ipairs(c.members) do
      if alive(m.pid) then out[#out + 1] = m end
    end
    return out
  end

  local function logs()
    local out = {}
    for _, m in ipairs(c.members) do
      out[#out + 1] = "--- " .. m.name .. " (" .. m.log .. ")\n" .. sh("tail -15 " .. q(m.log) .. " 2>&1").stdout
    end
    return table.concat(out, "\n")
  end

  -- Start member m again and wait until it is healthy (a quorum must be up).
  function c.start(m)
    c.launch(m)
    if not c.wait_healthy({ m }, 15) then error(m.name .. " did not become healthy within 15 s:\n" .. logs(), 2) end
  end

  -- SIGTERM and wait for the pid (etcd takes ~2 s); SIGKILL after 10 s.
  -- Its ports are free again on return.
  function c.stop(m)
    if not alive(m.pid) then return end
    if m.paused then sh("kill -CONT " .. m.pid .. " 2>/dev/null") end
    sh("kill -TERM " .. m.pid .. " 2>/dev/null")
    if not wait_gone(m.pid, 10) then
      sh("kill -KILL " .. m.pid .. " 2>/dev/null")
      wait_gone(m.pid, 5)
    end
    m.paused = false
  end

  -- As a crash: SIGKILL, and wait for the pid.
  function c.kill9(m)
    if not alive(m.pid) then return end
    sh("kill -KILL " .. m.pid .. " 2>/dev/null")
    wait_gone(m.pid, 5)
    m.paused = false
  end

  function c.pause(m)
    sh("kill -STOP " .. m.pid)
    m.paused = true
  end

  function c.resume(m)
    sh("kill -CONT " .. m.pid)
    m.paused = false
  end

  -- The member that leads the raft group now (by /v3/maintenance/status
  -- on the running, unpaused members), or nil.
  function c.leader()
    for _, m in ipairs(c.running()) do
      if not m.paused then
        local status, st = etcd.api(m.client_url, "/v3/maintenance/status", {}, 1)
        if status == 200 and type(st) == "table" and st.leader then
          for _, x in ipairs(c.running()) do
            local s2, st2 = etcd.api(x.client_url, "/v3/maintenance/status", {}, 1)
            if s2 == 200 and type(st2) == "table" and st2.header and st2.header.member_id == st.leader then
              return x
            end
          end
        end
      end
    end
    return nil
  end

  -- A call to the first member that answers (running, unpaused).
  function c.api(path, body)
    local last
    for _, m in ipairs(c.members) do
      if alive(m.pid) and not m.paused then
        local status, decoded = etcd.api(m.client_url, path, body)
        if status then return status, decoded end
        last = decoded
      end
    end
    return nil, last or "no etcd member runs"
  end

  -- Raw keys and values (plain strings; the gateway's base64 is done here).
  function c.put(key, value)
    local status, r = c.api("/v3/kv/put", { key = etcd.b64(key), value = etcd.b64(value) })
    if status ~= 200 then error("etcd put " .. key .. ": " .. tostring(status) .. " " .. infrakit.json.encode(r), 2) end
    return r
  end

  -- value, kv (the raw record: create_revision, mod_revision, version as
  -- strings) of key, or nil when absent.
  function c.get(key)
    local status, r = c.api("/v3/kv/range", { key = etcd.b64(key) })
    if status ~= 200 then error("etcd get " .. key .. ": " .. tostring(status) .. " " .. infrakit.json.encode(r), 2) end
    local kv = r.kvs and r.kvs[1]
    if not kv then return nil end
    return etcd.unb64(kv.value or ""), kv
  end

  -- {key = value} of every key under prefix.
  function c.list(prefix)
    local last = prefix:sub(1, -2) .. string.char(prefix:byte(-1) + 1)
    local status, r = c.api("/v3/kv/range", { key = etcd.b64(prefix), range_end = etcd.b64(last) })
    if status ~= 200 then error("etcd list " .. prefix .. ": " .. tostring(status), 2) end
    local out = {}
    for _, kv in ipairs(r.kvs or {}) do out[etcd.unb64(kv.key)] = etcd.unb64(kv.value or "") end
    return out
  end

  function c.del(key)
    return c.api("/v3/kv/deleterange", { key = etcd.b64(key) })
  end

  -- Kill every member (paused ones too: SIGKILL works on them), wait for
  -- their pids and remove the directory. Safe to call twice.
  function c.cleanup()
    if c.cleaned then return end
    c.cleaned = true
    for _, m in ipairs(c.members) do
      if alive(m.pid) then
        sh("kill -KILL " .. m.pid .. " 2>/dev/null")
        wait_gone(m.pid, 5)
      end
    end
    sh("rm -rf " .. q(c.dir))
  end

  -- Up to 3 attempts: a port taken between the choice and the bind
  -- (another process) fails a member at once.
  local last_logs
  for attempt = 1, 3 do
    layout()
    for _, m in ipairs(c.members) do c.launch(m) end
    if c.wait_healthy(c.members, 15) then return c end
    last_logs = logs()
    for _, m in ipairs(c.members) do c.kill9(m) end
    sh("rm -rf " .. q(c.dir) .. "/*")
    if not last_logs:find("address already in use", 1, true) then break end
  end
  c.cleanup()
  error("etcd cluster of " .. n .. " in " .. c.dir .. " was not healthy within 15 s:\n" .. last_logs, 2)
end

-- As start_cluster, but nil and the reason instead of an error when etcd
-- is missing or its members do not come up: for `pending`.
function etcd.try_start_cluster(n, opts)
  local ok, why = etcd.available()
  if not ok then return nil, why end
  local started, c = pcall(etcd.start_cluster, n, opts)
  if not started then return nil, "etcd cannot start here: " .. tostring(c) end
  return c
end

-- Clean up every cluster this process started.
function etcd.cleanup_all()
  for _, c in ipairs(clusters) do pcall(c.cleanup) end
end

return etcd
