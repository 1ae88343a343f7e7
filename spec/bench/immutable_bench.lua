-- The immutable demo's figures, run by `make bench` (spec/bench/run.sh;
-- IK_BENCH_ONLY=immutable_bench.lua for this one alone): the playbook
-- (playbooks/immutable) runs once with IK_BENCH_HEALS (3) kills, and its
-- --json lines give
--   * heal: from the SIGKILL of a VM's qemu until its replacement answers
--     HTTP with the image's version, p50 of the kills;
--   * rolling update of the group (IK_BENCH_VMS, 3 VMs) from v1 to v2, one
--     VM at a time gated on HTTP health: from the commit to all on v2.
-- Targets, under TCG on 2 cores (a VM answers HTTP ~6.5 s after launch
-- alone, ~9 s with 3 booting; shared/reference/backends.md): a heal within
-- one boot under load plus 3 s of detection and scheduling (12 s); a
-- rollout within VMS x (boot 9 s + MinHealthySeconds 1 s + powerdown 2 s
-- + 3 s) (45 s for 3). Skipped, saying why, where qemu, busybox or a
-- kernel is missing.
local infrakit = require "infrakit"
local json = infrakit.json

local bin = os.getenv("IK_BIN") or "./infrakit"
local vm = dofile("spec/functional/image_support.lua")

local ok, why = vm.available()
if not ok then
  print("immutable demo: skipped (" .. why .. ")")
  return
end

local heals = tonumber(os.getenv("IK_BENCH_HEALS") or "") or 3
local n = tonumber(os.getenv("IK_BENCH_VMS") or "") or 3
local accel = infrakit.exec({ "test", "-w", "/dev/kvm" }).status == 0 and "kvm" or "tcg"
local tmp = assert(infrakit.exec({ "mktemp", "-d", "/tmp/ik-ibench-XXXXXX" })).stdout:gsub("%s+$", "")
local home = tmp .. "/home"

local r = assert(infrakit.exec({ bin, "play", "--json", "immutable", "--vms", n, "--heals", heals, "--home", home },
  { env = { INFRAKIT_HOME = home, PATH = os.getenv("PATH") }, timeout = 900 }))
infrakit.exec({ "rm", "-rf", tmp })
if r.status ~= 0 then error("the immutable playbook failed (exit " .. r.status .. "):\n" .. r.stdout .. r.stderr) end

local healed, rollout, first = {}, nil, nil
for line in r.stdout:gmatch("[^\n]+") do
  local okj, ev = pcall(json.decode, line)
  local text = okj and type(ev) == "table" and ev.text or ""
  local s = text:match("^healed in ([%d.]+) s")
  if s then healed[#healed + 1] = tonumber(s) end
  s = text:match("^rolled v2 through %d+ VMs in ([%d.]+) s")
  if s then rollout = tonumber(s) end
  s = text:match("^%d+ VMs healthy in ([%d.]+) s")
  if s then first = tonumber(s) end
end
assert(#healed == heals and rollout and first, "unexpected playbook output:\n" .. r.stdout)

table.sort(healed)
local p50 = #healed % 2 == 1 and healed[(#healed + 1) / 2] or (healed[#healed / 2] + healed[#healed / 2 + 1]) / 2
local report = dofile("spec/bench/report.lua")(("immutable demo (accel %s, %d VMs, %d kills)"):format(accel, n, heals))
report.info(("%d VMs from commit to all healthy"):format(n), first, "s")
report.row("heal: SIGKILL to the replacement answering HTTP, p50", p50, "s", 12, "lower")
report.info(("  fastest of the %d heals"):format(#healed), healed[1], "s")
report.info(("  slowest of the %d heals"):format(#healed), healed[#healed], "s")
report.row(("rolling update v1 -> v2 of %d VMs, one at a time"):format(n), rollout, "s", n * 15, "lower")
report.print()
