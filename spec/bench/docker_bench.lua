-- instance-docker benchmarks, run by `make bench` (spec/bench/run.sh):
-- a real dockerd of its own (spec/functional/docker_support.lua), with the
-- Engine API driven directly as the yardstick, in the same run:
--   1. provision 50 containers in one group vs. the same 50 create+start
--      calls made directly against the Engine API, at the same
--      concurrency (the group's MaxParallel);
--   2. heal of a `docker kill`ed container -> replacement provisioned
--      (created and started), p50 and p99, vs. one direct create+start.
-- Without an engine (not root, no dockerd) it says why and prints nothing
-- else. Containers: bb:1 (busybox imported), `sleep 3600`, no network.
local infrakit = require "infrakit"
local docker = dofile("spec/functional/docker_support.lua")

local bin = os.getenv("IK_BIN") or "./infrakit"
local N, PARALLEL = 50, 10
local function sh(cmd) return assert(infrakit.exec({ "sh", "-c", cmd })) end

local ok, why = docker.available()
if not ok then
  print("docker benchmarks skipped: " .. why)
  return
end

local bench_daemon = dofile("spec/bench/bench_daemon.lua")
local report = dofile("spec/bench/report.lua")("instance-docker (dockerd " ..
  sh("dockerd --version").stdout:match("version ([%d.]+)") .. ", " .. N .. " containers, " .. PARALLEL ..
  " at a time)")
local row, info = report.row, report.info

local function percentile(list, p)
  local sorted = { unpack(list) }
  table.sort(sorted)
  return sorted[math.max(1, math.ceil(#sorted * p))]
end

local e = docker.start_engine()
local home = sh("mktemp -d /tmp/ik-dbench-XXXXXX").stdout:gsub("%s+$", "")
local daemon
local function finish()
  if daemon then daemon.stop() end
  e.cleanup()
  sh("rm -rf " .. home)
end

local okrun, err = pcall(function()
  docker.import_busybox(e, "bb:1")
  local config = { Image = "bb:1", Cmd = { "sleep", "3600" }, HostConfig = { NetworkMode = "none" } }

  -- The yardstick: create+start straight against the engine, PARALLEL at a time.
  local function direct_one(labels)
    local body = { Image = config.Image, Cmd = config.Cmd, HostConfig = config.HostConfig, Labels = labels }
    local status, c = docker.api(e, "POST", "/containers/create", body)
    assert(status == 201, "create: " .. tostring(status))
    status = docker.api(e, "POST", "/containers/" .. c.Id .. "/start")
    assert(status == 204, "start: " .. tostring(status))
    return c.Id
  end
  local function direct_batch(n)
    local next_i, ids, workers = 1, {}, {}
    for w = 1, PARALLEL do
      workers[w] = infrakit.spawn(function()
        while next_i <= n do
          local i = next_i
          next_i = next_i + 1
          ids[i] = direct_one({ bench = "direct" })
        end
      end)
    end
    for _, w in ipairs(workers) do w:wait() end
    return ids
  end
  local function remove_all(ids)
    local workers = {}
    for w = 1, PARALLEL do
      workers[w] = infrakit.spawn(function()
        for i = w, #ids, PARALLEL do docker.api(e, "DELETE", "/containers/" .. ids[i] .. "?force=1") end
      end)
    end
    for _, w in ipairs(workers) do w:wait() end
  end

  direct_batch(PARALLEL) -- warm the engine (first container start costs more)
  local t0 = infrakit.clock()
  local ids = direct_batch(N)
  local direct_s = infrakit.clock() - t0
  local singles = {}
  for _ = 1, 15 do
    local t = infrakit.clock()
    ids[#ids + 1] = direct_one({ bench = "direct" })
    singles[#singles + 1] = (infrakit.clock() - t) * 1000
  end
  local single_ms = percentile(singles, 0.5)
  remove_all(ids)
  local _, leftovers = docker.api(e, "GET", "/containers/json?all=1")
  local warm = {}
  for _, c in ipairs(leftovers) do warm[#warm + 1] = c.Id end
  remove_all(warm)

  -- Ours: a group of N through the daemon (poll 60 s: heals come from events).
  daemon = bench_daemon.start(bin, home, { "--poll", "60s", "--docker-host", e.host, "--docker-stop-grace", "1s" })
  local sock = daemon.sock
  local log = bench_daemon.event_log(home)
  local function converged(ev) return ev.group == "dk" and ev.event == "phase" and ev.to == "steady" end

  local spec = { ID = "dk", Properties = {
    Allocation = { Size = N },
    Updating = { MaxParallel = PARALLEL },
    Instance = { Plugin = "instance-docker", Properties = { Config = { Image = config.Image, Cmd = config.Cmd },
      HostConfig = config.HostConfig } },
    Flavor = { Plugin = "flavor-vanilla", Properties = {} },
  } }
  t0 = infrakit.clock()
  assert(infrakit.rpc.call(sock, "Group.CommitGroup", { Name = "group", Spec = spec, Pretend = false }))
  log.wait(converged, 120)
  local ours_s = infrakit.clock() - t0
  row("provision " .. N .. " containers in one group / direct create+start", ours_s / direct_s, "x", 1.25, "lower")
  info("  group: commit -> " .. N .. " running", ours_s, "s")
  info("  direct: " .. N .. " create+start, " .. PARALLEL .. " at a time", direct_s, "s")

  -- Heal: distinct original members (a replacement killed young is a crash loop, held back on purpose).
  local members = assert(infrakit.rpc.call(sock, "Group.Status", { Name = "group", ID = "dk" })).Status.Instances
  local times = {}
  for k = 1, 15 do
    local victim = members[k].ID
    local t = infrakit.clock()
    assert(docker.api(e, "POST", "/containers/" .. victim .. "/kill") == 204)
    log.wait(function(ev) return ev.group == "dk" and ev.event == "provisioned" end, 120)
    times[#times + 1] = (infrakit.clock() - t) * 1000
    log.wait(converged, 120)
  end
  row("heal: docker kill -> replacement running, p50 (target: direct create+start + 50 ms)",
    percentile(times, 0.5), "ms", single_ms + 50, "lower")
  info("  p99", percentile(times, 0.99), "ms")
  info("  direct create+start, one at a time, p50", single_ms, "ms")
end)
finish()
if not okrun then error(err, 0) end
report.print()
