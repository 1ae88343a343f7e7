-- Shared by the specs and benchmarks that boot images from infrakit.image
-- with qemu by hand (no driver): whether they can run here, a free port,
-- and one VM launched with the boot line of shared/reference/backends.md.
--   local vm = dofile("spec/functional/image_support.lua")
--   local ok, why = vm.available()          -- false + reason: mark pending
--   local v = vm.boot(img, { dir = d })     -- v.port, v.url, v.console, v.qmp_port
--   vm.wait_http(v, 60)                     -- the body of / once it answers
--   v.stop()                                -- kills qemu (always call it)
local infrakit = require "infrakit"
local image = require "infrakit.image"

local vm = {}

local function sh(cmd)
  return assert(infrakit.exec({ "sh", "-c", cmd }, { timeout = 60 }))
end

-- Whether an image can be built and booted: true, or false and the reason.
function vm.available()
  if sh("command -v qemu-system-x86_64").status ~= 0 then
    return false, "no qemu-system-x86_64 (make deps installs qemu-system-x86)"
  end
  if sh("test -x /bin/busybox").status ~= 0 then
    return false, "no /bin/busybox (make deps installs busybox-static)"
  end
  local k, err = image.find_kernel()
  if not k then return false, err end
  return true
end

-- A TCP port on 127.0.0.1 nobody listens on now (qemu binds it for a
-- forward; a lost race shows as qemu exiting and the spec failing).
vm.free_port = dofile("spec/unit/lua/spec_helper.lua").free_port

-- Launches qemu on img (from infrakit.image.build) under TCG, guest port 80
-- forwarded to a free host port, QMP on another, the serial console in
-- opts.dir/console.log, opts.init passed as fw_cfg opt/infrakit/init.
-- Returns { port =, url =, qmp_port =, console =, pid_file =, task =, stop() }.
function vm.boot(img, opts)
  local dir = assert(opts.dir, "vm.boot: opts.dir")
  local v = { console = dir .. "/console.log", pid_file = dir .. "/qemu.pid" }
  v.port, v.qmp_port = vm.free_port(), vm.free_port()
  v.url = "http://127.0.0.1:" .. v.port
  local argv = { "qemu-system-x86_64", "-accel", "tcg", "-m", "256", "-smp", "1",
    "-display", "none", "-monitor", "none", "-kernel", img.kernel, "-initrd", img.initrd,
    "-append", img.cmdline,
    "-nic", "user,model=virtio-net-pci,hostfwd=tcp:127.0.0.1:" .. v.port .. "-:80",
    "-qmp", "tcp:127.0.0.1:" .. v.qmp_port .. ",server=on,wait=off",
    "-serial", "file:" .. v.console, "-pidfile", v.pid_file }
  if opts.init then
    argv[#argv + 1] = "-fw_cfg"
    argv[#argv + 1] = "name=opt/infrakit/init,string=" .. opts.init:gsub(",", ",,")
  end
  -- The timeout only reaps a VM a failed spec left behind; cancelling the
  -- task (v.stop) kills qemu's process group.
  v.task = infrakit.spawn(function() return infrakit.exec(argv, { timeout = 300 }) end)
  function v.stop()
    if v.task:status() ~= "done" then v.task:cancel() end
  end
  function v.exited() return v.task:status() == "done" end
  return v
end

-- The console log so far.
function vm.console(v)
  local f = io.open(v.console, "rb")
  if not f then return "" end
  local s = f:read("*a")
  f:close()
  return s
end

-- Waits up to timeout seconds for GET path (default /) to answer 200;
-- returns the body, or nil and what was last seen.
function vm.wait_http(v, timeout, path)
  local deadline = infrakit.clock() + timeout
  local last
  while infrakit.clock() < deadline do
    if v.exited() then return nil, "qemu exited: " .. vm.console(v) end
    local body, err = infrakit.http.get(v.url .. (path or "/"), { timeout = 2 })
    if body then return body end
    last = err
    infrakit.sleep(0.2)
  end
  return nil, ("no HTTP answer from %s in %d s (%s); console:\n%s"):format(v.url, timeout, tostring(last), vm.console(v))
end

-- Sends QMP commands (names) over the VM's TCP QMP port after the
-- capabilities handshake; returns what qemu answered.
function vm.qmp(v, ...)
  local lines = { '{"execute":"qmp_capabilities"}' }
  for _, c in ipairs({ ... }) do lines[#lines + 1] = ('{"execute":"%s"}'):format(c) end
  local r = assert(infrakit.exec({ "busybox", "nc", "-w", "2", "127.0.0.1", tostring(v.qmp_port) },
    { stdin = table.concat(lines, "\n") .. "\n", timeout = 5 }))
  return r.stdout
end

return vm
