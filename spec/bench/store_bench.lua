-- Store write latency, run by `make bench` (spec/bench/run.sh): the file
-- store and the etcd store (a 3-member cluster on 127.0.0.1 started here,
-- etcd_support.lua) in the same run, on the same file system (/tmp: the
-- members' data directories and the file store's, both fsyncing), through
-- the store SPI in process (store_bench.c): puts of a rollout state one at
-- a time, as the controller writes. Prints a table; skipped, saying why,
-- where etcd cannot start.
local infrakit = require "infrakit"
local json = infrakit.json
local etcd = dofile("spec/functional/etcd_support.lua")

local bench_dir = os.getenv("IK_BENCH_DIR") or "build/bench"
local n = tonumber(os.getenv("IK_STORE_BENCH_PUTS") or "1000")
local function sh(cmd) return assert(infrakit.exec({ "sh", "-c", cmd }, { timeout = 600 })) end

local report = dofile("spec/bench/report.lua")("store writes (" .. n .. " puts each, one at a time, on /tmp)")
local function measure(label, args)
  local r = sh(bench_dir .. "/store_bench " .. args)
  assert(r.status == 0, "store_bench " .. args .. " failed: " .. r.stderr)
  local m = json.decode(r.stdout)
  report.info(label .. " put p50", m.p50_ms, "ms")
  report.info(label .. " put p99", m.p99_ms, "ms")
  report.info(label .. " puts/s", m.puts_per_sec, "/s")
  return m
end

local dir = sh("mktemp -d /tmp/ik-sbench-XXXXXX").stdout:gsub("%s+$", "")
local ok, err = pcall(measure, "file store", "file " .. dir .. "/configs " .. n)
sh("rm -rf " .. dir)
if not ok then error(err, 0) end

local c, why = etcd.try_start_cluster(3)
if not c then
  print("store writes: etcd skipped: " .. why)
else
  ok, err = pcall(function()
    measure("etcd store, 3 members", "etcd " .. c.endpoints .. " " .. n)
    measure("etcd store, fenced txn", "etcd " .. c.endpoints .. " " .. n .. " guard")
  end)
  c.cleanup()
  if not ok then error(err, 0) end
end
report.print()
