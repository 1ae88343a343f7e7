-- Benchmarks, run by `make bench` through `infrakit lua`.
-- Prints a table: metric | measured | target | status. Numbers, never asserts.
local infrakit = require "infrakit"

local bin = os.getenv("IK_BIN") or "./infrakit"
local rows = {}

local function row(metric, measured, unit, target, better)
  local ok
  if better == "lower" then ok = measured <= target else ok = measured >= target end
  rows[#rows + 1] = { metric, string.format("%.3f %s", measured, unit),
    string.format("%s %g %s", better == "lower" and "<=" or ">=", target, unit), ok and "ok" or "MISS" }
end

local function info(metric, measured, unit)
  rows[#rows + 1] = { metric, string.format("%.3f %s", measured, unit), "(reference)", "" }
end

-- Median wall time of running argv n times, measured by the parent from
-- spawn to exit (what a user or a script waiting on it sees).
local function median_exec_ms(argv, n)
  local times = {}
  for i = 1, n do
    local r = assert(infrakit.exec(argv))
    assert(r.status == 0, "benchmark command failed: " .. table.concat(argv, " "))
    times[i] = r.elapsed * 1000
  end
  table.sort(times)
  return times[math.floor(n / 2) + 1]
end

-- 1. Start-up: `infrakit version`, beside /bin/true as the floor of a spawn.
local n = tonumber(os.getenv("IK_BENCH_RUNS")) or 200
row("infrakit version wall time (median of " .. n .. ")", median_exec_ms({ bin, "version" }, n), "ms", 5, "lower")
info("/bin/true wall time, same harness", median_exec_ms({ "/bin/true" }, n), "ms")

-- 2. Coroutine round trips through the loop: sleep(0) yields to the ready
-- queue and is resumed on the next loop turn.
do
  local rounds = 1000000
  local t0 = infrakit.clock()
  for _ = 1, rounds do infrakit.sleep(0) end
  local dt = infrakit.clock() - t0
  row("sleep(0) yield/resume round trips, 1 task", rounds / dt, "/s", 500000, "higher")

  local tasks, per = {}, 10000
  t0 = infrakit.clock()
  for i = 1, 100 do
    tasks[i] = infrakit.spawn(function() for _ = 1, per do infrakit.sleep(0) end end)
  end
  infrakit.wait_all(tasks)
  dt = infrakit.clock() - t0
  row("sleep(0) round trips, 100 tasks", 100 * per / dt, "/s", 500000, "higher")
end

-- 3. exec of /bin/true: one at a time, then 16 in flight.
do
  local count = 500
  local t0 = infrakit.clock()
  for _ = 1, count do assert(infrakit.exec({ "/bin/true" })) end
  local dt = infrakit.clock() - t0
  row("exec /bin/true, sequential", count / dt, "/s", 500, "higher")

  local tasks = {}
  t0 = infrakit.clock()
  for i = 1, 16 do
    tasks[i] = infrakit.spawn(function() for _ = 1, count / 16 do assert(infrakit.exec({ "/bin/true" })) end end)
  end
  infrakit.wait_all(tasks)
  dt = infrakit.clock() - t0
  -- uv_spawn forks on the loop thread, so concurrency overlaps only the
  -- waiting, not the fork+exec itself (about 1 ms each here).
  row("exec /bin/true, 16 concurrent", (count - count % 16) / dt, "/s", 800, "higher")
end

-- Print the table.
local header = { "metric", "measured", "target", "" }
local widths = {}
for _, r in ipairs({ header, unpack(rows) }) do
  for i, cell in ipairs(r) do widths[i] = math.max(widths[i] or 0, #cell) end
end
local function line(r)
  local cells = {}
  for i, cell in ipairs(r) do cells[i] = cell .. string.rep(" ", widths[i] - #cell) end
  print(table.concat(cells, " | "))
end
line(header)
local sep = {}
for i, w in ipairs(widths) do sep[i] = string.rep("-", w) end
print(table.concat(sep, "-|-"))
for _, r in ipairs(rows) do line(r) end
