-- immutable: InfraKit's LinuxKit demo with qemu. Build an image, boot a
-- group of VMs from it (cattle), kill one and watch it replaced, change the
-- app, build v2 and roll it through the group one VM at a time, each gated
-- on its HTTP health; tear everything down. See README.md beside this file
-- and docs/qemu.md.
local infrakit = require "infrakit"
local say = infrakit.print

local GROUP = "vms"

local function check(ok, err, ...)
  if not ok then error(err, 2) end
  return ok, err, ...
end

-- The app each image serves: a page naming its version (and what changed).
local function app(version, note)
  return {
    ["index.html"] = ("<!doctype html>\n<html><head><title>immutable %s</title></head>\n"
      .. "<body><h1>Hello from image %s</h1><p>%s</p></body></html>\n"):format(version, version, note),
  }
end

local function build(home, kernel, version, note)
  local t0 = infrakit.clock()
  local img = check(infrakit.image.build({ version = version, app = app(version, note),
    out = home .. "/images/" .. version, kernel = kernel }))
  say("built image %s in %.1f s: %s + %s (%d KiB), checksum %s", version, infrakit.clock() - t0,
    img.kernel:match("[^/]+$"), img.initrd, math.floor(img.size / 1024), img.checksum:sub(1, 16))
  return img
end

-- The group spec: Size VMs on instance-qemu booting img; healthy when
-- GET /version answers the image's version (flavor-http). A rollout adds
-- one new VM, waits until it is healthy, then removes an old one.
local function spec(p, img)
  return {
    ID = GROUP,
    Properties = {
      Allocation = { Size = p.vms },
      Instance = {
        Plugin = "instance-qemu",
        Properties = {
          Kernel = img.kernel, Initrd = img.initrd, Cmdline = img.cmdline, Checksum = img.checksum,
          Memory = p.memory, CPUs = 1, Accel = "auto", Ports = { 80 },
        },
      },
      Flavor = { Plugin = "flavor-http", Properties = { Port = 80, Path = "/version", Expect = img.version } },
      Updating = { MaxSurge = 1, MaxUnavailable = 0, MinHealthySeconds = 1 },
    },
  }
end

-- The group's VMs as instance-qemu describes them, with their URL.
local function vms(home)
  local r = check(infrakit.rpc.call(home .. "/plugins/instance-qemu", "Instance.DescribeInstances",
    { Tags = { ["infrakit.group"] = GROUP }, Properties = true }))
  local list = {}
  for _, d in ipairs(r.Descriptions or {}) do
    local p = type(d.Properties) == "table" and d.Properties or {}
    local port = type(p.Ports) == "table" and tonumber(p.Ports["80"])
    list[#list + 1] = { id = d.ID, pid = p.Pid, url = port and ("http://127.0.0.1:%d/"):format(port) }
  end
  table.sort(list, function(a, b) return a.id < b.id end)
  return list
end

-- What the VM answers on /version, trimmed, or nil.
local function version_of(vm)
  if not vm.url then return nil end
  local body = infrakit.http.get(vm.url .. "version", { timeout = 2 })
  return body and body:gsub("%s+$", "")
end

-- Yields until vm answers version (at most timeout seconds).
local function answers(vm, version, timeout)
  local deadline = infrakit.clock() + timeout
  repeat
    if version_of(vm) == version then return true end
    infrakit.sleep(0.1)
  until infrakit.clock() > deadline
  return false
end

local function show(list)
  for _, vm in ipairs(list) do
    say("  %s  pid %-7s %s  answers %s", vm.id, tostring(vm.pid), vm.url or "(no port)",
      version_of(vm) or "nothing")
  end
end

-- The pids of qemu processes whose command line names dir (this run's).
local function qemus(dir)
  local r = infrakit.exec({ "pgrep", "-f", "qemu-system.*" .. dir })
  local pids = {}
  for pid in (r and r.stdout or ""):gmatch("%d+") do pids[#pids + 1] = pid end
  return pids
end

-- Kill a VM's qemu with SIGKILL; returns the seconds until a replacement
-- answers version (and prints the steps).
local function heal(home, version)
  local before = vms(home)
  local victim = before[math.random(#before)]
  local known = {}
  for _, vm in ipairs(before) do known[vm.id] = true end
  say("killing %s (qemu pid %s) with SIGKILL", victim.id, tostring(victim.pid))
  local killed = infrakit.clock()
  check(infrakit.exec({ "kill", "-KILL", tostring(victim.pid) }))
  local new
  repeat
    infrakit.sleep(0.05)
    for _, vm in ipairs(vms(home)) do
      if not known[vm.id] then new = vm end
    end
    check(new or infrakit.clock() - killed < 60, "no replacement VM after 60 s")
  until new
  local provisioned = infrakit.clock() - killed
  check(answers(new, version, 120), "the replacement " .. new.id .. " did not answer")
  local healed = infrakit.clock() - killed
  say("healed in %.1f s: %s answers %s on %s (provisioned after %.2f s)", healed, new.id, version, new.url,
    provisioned)
  return healed
end

-- While a rollout runs: print each new VM as it boots and once it
-- answers, and each old one as it goes. Returns after the look that
-- follows state.stop being set (so the last change is told too).
local function narrate(home, total, state)
  local old, seen, answered, n = {}, {}, {}, 0
  for _, vm in ipairs(vms(home)) do old[vm.id], seen[vm.id] = true, true end
  while true do
    local last = state.stop
    if not last then infrakit.sleep(0.25) end
    local now = {}
    for _, vm in ipairs(vms(home)) do
      now[vm.id] = true
      if not seen[vm.id] then say("  + %s booting (%s)", vm.id, vm.url or "no port yet") end
      if not old[vm.id] and not answered[vm.id] then
        local v = version_of(vm)
        if v then
          answered[vm.id], n = true, n + 1
          say("  + %s answers %s on %s (%d/%d)", vm.id, v, vm.url, n, total)
        end
      end
    end
    for id in pairs(seen) do
      if not now[id] then say("  - %s%s destroyed", id, old[id] and " (v1)" or "") end
    end
    seen = now
    if last then return end
    infrakit.progress("rolling: %d/%d new VMs answer", n, total)
  end
end

return {
  description = "Immutable infrastructure with qemu VMs (InfraKit's LinuxKit demo): build an image, "
    .. "boot a group, heal a killed VM, roll a new image through one VM at a time.",
  params = {
    { name = "vms", type = "int", default = 3, help = "VMs in the group" },
    { name = "heals", type = "int", default = 1, help = "VMs to kill, one after another (each must come back)" },
    { name = "memory", type = "int", default = 256, help = "MiB per VM" },
    { name = "kernel", type = "string",
      help = "kernel directory (default: $INFRAKIT_KERNEL_DIR, else build/kernel beside the binary; make deps)" },
    { name = "home", type = "string",
      help = "INFRAKIT_HOME for the daemon (default: $INFRAKIT_HOME if set, else a new temporary one)" },
    { name = "keep", type = "bool", default = false, help = "leave the VMs and the daemon running" },
  },
  run = function(p)
    check(p.vms >= 1, "--vms: want at least 1")
    local home = p.home
    if not home or home == "" then home = os.getenv("INFRAKIT_HOME") end
    if home == "" then home = nil end
    local temp = false
    if not home then
      home = check(infrakit.exec({ "mktemp", "-d", "/tmp/infrakit-immutable-XXXXXX" })).stdout:gsub("%s+$", "")
      temp = true
    end
    local kernel = p.kernel ~= "" and p.kernel or nil
    say("infrakit %s immutable, INFRAKIT_HOME=%s", infrakit.version, home)
    local started = infrakit.clock()

    local d
    local function teardown()
      if p.keep then
        local ik = "INFRAKIT_HOME=" .. home .. " " .. infrakit.executable
        say("keeping everything (--keep); look with: %s group describe %s", ik, GROUP)
        say("stop everything: %s group destroy %s%s%s", ik, GROUP,
          (d and d.started) and (" && " .. ik .. " plugin stop group") or "", temp and (" && rm -rf " .. home) or "")
        return
      end
      if d then
        local ok, err = infrakit.group.destroy(GROUP)
        if not ok and not tostring(err):find("not being watched", 1, true) then say("destroy: %s", err) end
      end
      -- The driver powers each VM down (ACPI), then quits it: wait for them.
      local deadline = infrakit.clock() + 30
      while #qemus(home) > 0 and infrakit.clock() < deadline do infrakit.sleep(0.2) end
      if d and d.started then infrakit.daemon.stop({ home = home }) end
      local left = qemus(home)
      if #left > 0 then
        say("killing %d qemu left behind: %s", #left, table.concat(left, " "))
        infrakit.exec({ "kill", "-KILL", unpack(left) })
      end
      if temp then infrakit.exec({ "rm", "-rf", home }) end
      say("torn down: group destroyed, no qemu left%s", (d and d.started) and ", daemon stopped" or "")
    end
    infrakit.on_interrupt(teardown)

    local ok, err = xpcall(function()
      -- 1. The image, v1.
      local v1 = build(home, kernel, "v1", "the first version")

      -- 2. A group of VMs booted from it.
      d = check(infrakit.daemon.ensure({ home = home, plugins = { "group", "instance-qemu", "flavor-http" } }))
      say(d.started and "started a daemon (group controller, instance-qemu, flavor-http)" or "using the running daemon")
      say("committing group %s: %d VMs of image v1 (qemu, %d MiB each)", GROUP, p.vms, p.memory)
      local t0 = infrakit.clock()
      check(infrakit.group.commit(spec(p, v1)))
      check(infrakit.group.wait(GROUP, { timeout = 300 }))
      say("%d VMs healthy in %.1f s:", p.vms, infrakit.clock() - t0)
      show(vms(home))

      -- 3. Cattle: a VM killed is replaced.
      for _ = 1, p.heals do
        heal(home, "v1")
        check(infrakit.group.wait(GROUP, { timeout = 300 }))
      end
      if p.heals > 0 then show(vms(home)) end

      -- 4. A new image, rolled through the group one VM at a time.
      local v2 = build(home, kernel, "v2", "the app changed: a new image, not a patched VM")
      say("committing image v2 (checksum %s): rolling one VM at a time, each gated on GET /version = v2",
        v2.checksum:sub(1, 16))
      t0 = infrakit.clock()
      check(infrakit.group.commit(spec(p, v2)))
      local told = {}
      local narrator = infrakit.spawn(narrate, home, p.vms, told)
      local done, werr = infrakit.group.wait(GROUP, { timeout = 600 })
      told.stop = true
      if done then narrator:wait() else narrator:cancel() end
      check(done, werr)
      local list = vms(home)
      for _, vm in ipairs(list) do check(version_of(vm) == "v2", vm.id .. " does not answer v2") end
      say("rolled v2 through %d VMs in %.1f s; all answer v2:", p.vms, infrakit.clock() - t0)
      show(list)
      say("demo done in %.1f s", infrakit.clock() - started)
    end, debug.traceback)
    teardown()
    if not ok then error(err, 0) end
    say("done")
  end,
}
