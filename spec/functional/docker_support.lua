-- Real Docker engines for the specs and benchmarks: each one a `dockerd`
-- of its own (data root, exec root, unix socket, pid file, key file) in a
-- temporary directory, never the machine's engine. The flags and the
-- clean-up are those measured in shared/reference/backends.md.
--   local docker = dofile("spec/functional/docker_support.lua")
--   local ok, why = docker.available()      -- false + reason: mark pending
--   local e = docker.start_engine()         -- e.sock, e.host, e.dir
--   docker.import_busybox(e, "bb:1")        -- an image, no registry needed
--   local r = docker.api(e, "GET", "/containers/json")
--   e.cleanup()                             -- stops it, unmounts, removes
local infrakit = require "infrakit"

local docker = { api_version = "v1.41" }

local function sh(cmd)
  return assert(infrakit.exec({ "sh", "-c", cmd }, { timeout = 120 }))
end

local function q(s) return "'" .. tostring(s):gsub("'", "'\\''") .. "'" end

-- Whether an engine can start here: true, or false and the reason (for
-- `pending`): root, dockerd, the docker CLI, busybox, cgroups (the checks
-- the swarm playbook makes too: infrakit.swarm_machine.available). Asked
-- once per process.
local verdict, reason
function docker.available()
  if verdict == nil then verdict, reason = require("infrakit.swarm_machine").available() end
  return verdict, reason
end

-- A call to the engine's API: method, path under /v1.41, an optional body
-- (a table is sent as JSON). Returns status, decoded body (or the raw
-- text), raw text.
function docker.api(e, method, path, body, opts)
  local headers = {}
  if type(body) == "table" then
    body = infrakit.json.encode(body)
    headers["Content-Type"] = "application/json"
  end
  local r, err = infrakit.http.request({
    method = method, url = "http://docker/" .. docker.api_version .. path, body = body,
    headers = headers, unix_socket = e.sock, timeout = (opts and opts.timeout) or 60,
  })
  if not r then return nil, err end
  local ok, decoded = pcall(infrakit.json.decode, r.body)
  return r.status, ok and decoded or r.body, r.body
end

-- `docker -H <engine> ARGS` (a shell string); returns the exec result.
function docker.cli(e, args)
  return sh("docker -H " .. q(e.host) .. " " .. args .. " 2>&1")
end

local function wait_api(e, seconds)
  for _ = 1, seconds * 20 do
    local status = docker.api(e, "GET", "/_ping", nil, { timeout = 2 })
    if status == 200 then return true end
    infrakit.sleep(0.05)
  end
  return false
end

local function read_pid(e)
  local f = io.open(e.dir .. "/docker.pid")
  if not f then return nil end
  local pid = tonumber((f:read("*a") or ""):match("%d+"))
  f:close()
  return pid
end

-- Start an engine. opts: dir (a fresh temporary one by default), bridge
-- (a bridge name for --bridge; default none), addr (a loopback address the
-- engine's swarm traffic uses; informative only), extra (more dockerd
-- flags, a list). Returns a handle: dir, sock, host, pid, and stop(),
-- kill9(), restart(), cleanup(). Fails, with dockerd's log, if the API is
-- not up within 30 s.
function docker.start_engine(opts)
  opts = opts or {}
  local e = { dir = opts.dir or (sh("mktemp -d /tmp/ik-docker-XXXXXX").stdout:gsub("%s+$", "")) }
  e.sock = e.dir .. "/docker.sock"
  e.host = "unix://" .. e.sock
  e.log = e.dir .. "/dockerd.log"
  sh("mkdir -p " .. q(e.dir))
  -- Without its own key path every engine shares /etc/docker/key.json and
  -- so one engine ID (there is no flag for it).
  local f = assert(io.open(e.dir .. "/daemon.json", "w"))
  f:write(infrakit.json.encode({ ["deprecated-key-path"] = e.dir .. "/key.json" }))
  f:close()
  e.argv = {
    "dockerd", "--config-file", e.dir .. "/daemon.json", "--data-root", e.dir .. "/data",
    "--exec-root", e.dir .. "/exec", "-H", e.host, "--pidfile", e.dir .. "/docker.pid",
    "--iptables=false", "--bridge=" .. (opts.bridge or "none"),
  }
  for _, a in ipairs(opts.extra or {}) do e.argv[#e.argv + 1] = a end

  function e.start()
    -- Started through sh so that it outlives this call; its own pid comes
    -- from the pid file.
    local cmd = {}
    for _, a in ipairs(e.argv) do cmd[#cmd + 1] = q(a) end
    sh("setsid " .. table.concat(cmd, " ") .. " >>" .. q(e.log) .. " 2>&1 </dev/null &")
    if not wait_api(e, 30) then
      local log = sh("tail -20 " .. q(e.log)).stdout
      error("dockerd in " .. e.dir .. " did not answer within 30 s:\n" .. log, 2)
    end
    e.pid = read_pid(e)
  end

  local function wait_gone(pid, seconds)
    for _ = 1, seconds * 20 do
      if sh("kill -0 " .. pid .. " 2>/dev/null").status ~= 0 then return true end
      infrakit.sleep(0.05)
    end
    return false
  end

  -- SIGTERM and wait (dockerd stops its containers first); SIGKILL after 20 s.
  function e.stop()
    local pid = read_pid(e) or e.pid
    if not pid then return end
    sh("kill -TERM " .. pid .. " 2>/dev/null")
    if not wait_gone(pid, 20) then sh("kill -KILL " .. pid .. " 2>/dev/null"); wait_gone(pid, 5) end
  end

  -- As a crash: SIGKILL. Its containerd dies with it; the shims, the
  -- containers and their mounts stay until the engine restarts on the
  -- same data root (which reaps them) or cleanup() runs.
  function e.kill9()
    local pid = read_pid(e) or e.pid
    if pid then sh("kill -KILL " .. pid .. " 2>/dev/null"); wait_gone(pid, 5) end
  end

  function e.restart()
    e.stop()
    e.start()
  end

  -- Leave any swarm, stop the engine, kill what it left (shims, container
  -- processes), unmount everything under its directory (deepest first) and
  -- remove the directory. Safe to call twice, and after a failed start.
  function e.cleanup()
    if e.cleaned then return end
    e.cleaned = true
    if read_pid(e) and docker.api(e, "GET", "/_ping", nil, { timeout = 2 }) == 200 then
      docker.api(e, "POST", "/swarm/leave?force=true", nil, { timeout = 10 })
      -- Remove the containers through the engine: one started with
      -- --live-restore leaves them running when it stops.
      local status, list = docker.api(e, "GET", "/containers/json?all=1", nil, { timeout = 10 })
      if status == 200 and type(list) == "table" then
        for _, c in ipairs(list) do
          docker.api(e, "DELETE", "/containers/" .. c.Id .. "?force=1&v=1", nil, { timeout = 20 })
        end
      end
    end
    e.stop()
    docker.reap(e.dir)
  end

  e.start()
  return e
end

-- The machine-mode library (templates/swarm/machine.sh.tmpl): the reaping and
-- the busybox import are shell functions shared with the swarm flavor's
-- init scripts, so they are written once.
docker.machine_lib = "templates/swarm/machine.sh.tmpl"

local function machine(fn, ...)
  local args = {}
  for i, a in ipairs({ ... }) do args[i] = q(a) end
  return sh(". " .. q(docker.machine_lib) .. " && " .. fn .. " " .. table.concat(args, " ") .. " 2>&1")
end

-- Kill what dir still runs (dockerd, container processes by their cgroup,
-- containerd and shims), remove the containers' cgroups, unmount what is
-- mounted below it, deepest first, and remove it (machine_reap).
function docker.reap(dir)
  machine("machine_reap", dir)
end

-- A rootfs of busybox-static's binary and its applet links, imported as
-- `tag` (default "bb:1") with PATH=/bin: an image without a registry. Each
-- engine has its own image store, so import on every engine that runs it
-- (before it joins a swarm). Returns the tag. (machine_import_busybox)
function docker.import_busybox(e, tag)
  tag = tag or "bb:1"
  local r = machine("machine_import_busybox", e.host, tag, e.dir)
  if r.status ~= 0 then error("import of busybox as " .. tag .. " failed: " .. r.stdout, 2) end
  return tag
end

return docker
