-- qemu VMs through instance-qemu, run by `make bench` (spec/bench/run.sh):
-- boot to healthy (the guest's HTTP answers on its forwarded port), p50 of
-- IK_BENCH_QEMU_VMS (5) VMs one after another through the driver, against
-- the very same qemu command line launched by hand in the same run
-- (interleaved, so both see the same machine). The image is built first
-- by infrakit.image (docs/qemu.md). Prints a table; skipped, saying why,
-- where qemu, the image builder or a kernel is missing.
local infrakit = require "infrakit"

local bin = os.getenv("IK_BIN") or "./infrakit"
local function sh(cmd) return assert(infrakit.exec({ "sh", "-c", cmd })) end

local function missing()
  if sh("command -v qemu-system-x86_64").status ~= 0 then return "qemu-system-x86_64 is not installed (make deps)" end
  local ok, image = pcall(require, "infrakit.image")
  if not ok then return "no image builder (infrakit.image is not in this build)" end
  local kernel, err = image.find_kernel(image.default_kernel_dir())
  if not kernel then return "no kernel (make deps): " .. tostring(err) end
  return nil
end

local why = missing()
if why then
  print("qemu VMs: skipped (" .. why .. ")")
  return
end

local accel = sh("test -w /dev/kvm").status == 0 and "kvm" or "tcg"
local n = tonumber(os.getenv("IK_BENCH_QEMU_VMS") or "") or 5
local tmp = sh("mktemp -d /tmp/ik-qbench-XXXXXX").stdout:gsub("%s+$", "")
local home = tmp .. "/home"
local report = dofile("spec/bench/report.lua")(("qemu VMs (accel %s%s, %d VMs, one at a time)"):format(accel,
  accel == "tcg" and ": no usable /dev/kvm" or "", n))

local image = require "infrakit.image"
local img = assert(image.build { version = "bench", out = tmp .. "/img" })

local daemon = infrakit.spawn(function()
  return infrakit.exec({ bin, "daemon", "--plugin", "instance-qemu" },
    { env = { INFRAKIT_HOME = home, INFRAKIT_LOG_LEVEL = "warn", PATH = os.getenv("PATH") } })
end)
local sock = home .. "/plugins/instance-qemu"
for _ = 1, 500 do
  if infrakit.rpc.call(sock, "Handshake.Hello", nil, { timeout = 1 }) then break end
  infrakit.sleep(0.01)
end

local function call(method, params, timeout)
  params.Type = ""
  return assert(infrakit.rpc.call(sock, method, params, { timeout = timeout or 30 }))
end

-- Poll the guest's HTTP every 20 ms until it answers (at most 120 s).
local function wait_healthy(port)
  local deadline = infrakit.clock() + 120
  while infrakit.clock() < deadline do
    if infrakit.http.get(("http://127.0.0.1:%d/version"):format(port), { timeout = 1 }) then return true end
    infrakit.sleep(0.02)
  end
  error("benchmark: no HTTP answer on 127.0.0.1:" .. port)
end

local function wait_gone(pid)
  for _ = 1, 500 do
    if sh("s=$(cut -d' ' -f3 /proc/" .. pid .. "/stat 2>/dev/null); [ -z \"$s\" ] || [ \"$s\" = Z ]").status == 0 then
      return
    end
    infrakit.sleep(0.01)
  end
end

local function read(path)
  local f = assert(io.open(path))
  local s = f:read("*a")
  f:close()
  return s
end

-- One VM through the driver: seconds to healthy, and its command line,
-- state dir and host port (for the hand launch that follows).
local function through_driver()
  local t0 = infrakit.clock()
  local id = call("Instance.Provision", { Spec = {
    Properties = { Kernel = img.kernel, Initrd = img.initrd, Cmdline = img.cmdline, Memory = 256, Ports = { 80 },
      Accel = accel },
    Tags = { bench = "qemu" }, Init = "echo bench > /www/init.txt",
  } }, 60).ID
  local provisioned = infrakit.clock() - t0
  local desc
  for _, d in ipairs(call("Instance.DescribeInstances", { Tags = { bench = "qemu" }, Properties = true }).Descriptions) do
    if d.ID == id then desc = d end
  end
  local port = desc.Properties.Ports["80"]
  wait_healthy(port)
  local took = infrakit.clock() - t0
  local argv = {}
  for line in read(desc.Properties.StateDir .. "/cmdline"):gmatch("[^\n]+") do argv[#argv + 1] = line end
  local init = read(desc.Properties.StateDir .. "/init")
  sh("kill -9 " .. desc.Properties.Pid)
  wait_gone(desc.Properties.Pid)
  return took, argv, desc.Properties.StateDir, init, provisioned
end

-- The same command line by hand: its state paths moved to a new
-- directory (the driver's VM is gone, so its port is free again).
local function by_hand(i, argv, state_dir, init)
  local dir = ("%s/hand-%d"):format(tmp, i)
  sh("mkdir -p " .. dir)
  local f = assert(io.open(dir .. "/init", "w"))
  f:write(init)
  f:close()
  local moved = {}
  for k, a in ipairs(argv) do moved[k] = (a:gsub(state_dir:gsub("%p", "%%%0"), dir)) end
  local port = tonumber(table.concat(moved, " "):match("hostfwd=tcp:127%.0%.0%.1:(%d+)%-"))
  local t0 = infrakit.clock()
  local r = assert(infrakit.exec(moved, { timeout = 60 }))
  assert(r.status == 0, "qemu by hand: " .. r.stderr)
  wait_healthy(port)
  local took = infrakit.clock() - t0
  local pid = read(dir .. "/pid"):match("%d+")
  sh("kill -9 " .. pid)
  wait_gone(pid)
  return took
end

-- The first driver VM gives the command line; then the two alternate,
-- each going first every other time, so neither always boots on a
-- machine just freed by the other.
local drv, hand, prov = {}, {}, {}
local argv, state_dir, init
drv[1], argv, state_dir, init, prov[1] = through_driver()
for i = 1, n do
  hand[i] = by_hand(i, argv, state_dir, init)
  if i > 1 then drv[i], argv, state_dir, init, prov[i] = through_driver() end
end

local function p50(xs)
  local s = { unpack(xs) }
  table.sort(s)
  return #s % 2 == 1 and s[(#s + 1) / 2] or (s[#s / 2] + s[#s / 2 + 1]) / 2
end

local d50, h50 = p50(drv), p50(hand)
report.info("boot to healthy through instance-qemu, p50", d50, "s")
report.info("  of which the Provision call (qemu started, QMP answered), p50", p50(prov), "s")
report.info("boot to healthy, same command line by hand, p50", h50, "s")
report.row("driver overhead over the hand launch (p50)", (d50 - h50) * 1000, "ms",
  math.max(0.10 * h50 * 1000, 200), "lower")
report.print()

sh("kill -TERM $(cat " .. home .. "/plugins/instance-qemu.pid)")
daemon:wait()
sh("rm -rf " .. tmp)
