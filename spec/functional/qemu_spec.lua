-- instance-qemu in a real `infrakit daemon`, booting ONE real VM under TCG
-- (about 6.5 s here) from the image infrakit.image builds: provision,
-- describe with the forwarded port, the guest's HTTP answer on it (and
-- the Init it ran, read from fw_cfg), destroy by ACPI powerdown; a VM
-- that outlives a daemon restart and is adopted; and a VM killed with
-- SIGKILL gone at once. Pending where qemu, the image
-- builder or the kernel (make deps) is missing. No qemu is left behind,
-- even when a step fails.
local infrakit = require "infrakit"
local support = dofile("spec/functional/support.lua")

-- Why this machine cannot run the spec, or nil.
local function missing()
  if infrakit.exec({ "sh", "-c", "command -v qemu-system-x86_64" }).status ~= 0 then
    return "qemu-system-x86_64 is not installed (make deps)"
  end
  local ok, image = pcall(require, "infrakit.image")
  if not ok then return "no image builder (infrakit.image is not in this build)" end
  local kernel, err = image.find_kernel(image.default_kernel_dir())
  if not kernel then return "no kernel to boot (make deps unpacks one): " .. tostring(err) end
  return nil
end

-- The pids of qemu processes (not zombies) whose command line names dir.
local function qemus_under(dir)
  local r = support.sh("for p in /proc/[0-9]*; do c=$(tr '\\0' ' ' < $p/cmdline 2>/dev/null); "
    .. "case \"$c\" in qemu-system*" .. dir .. "*) s=$(cut -d' ' -f3 $p/stat 2>/dev/null); "
    .. "[ \"$s\" != Z ] && echo ${p#/proc/};; esac; done")
  local pids = {}
  for pid in r.stdout:gmatch("%d+") do pids[#pids + 1] = pid end
  return pids
end

-- The daemon's log so far.
local function read_log(path)
  local f = io.open(path)
  local text = f and f:read("*a") or ""
  if f then f:close() end
  return text
end

local function http_get(port, path)
  return infrakit.http.get(("http://127.0.0.1:%d%s"):format(port, path), { timeout = 2 })
end

describe("instance-qemu", function()
  local why = missing()
  local tmp, d, sock, img, log

  setup(function()
    if why then return end
    tmp = support.mktemp()
    local image = require "infrakit.image"
    img = assert(image.build { version = "spec-1", out = tmp .. "/img" })
    log = tmp .. "/daemon.log"
    d = support.start_daemon(tmp .. "/home", { "--log-file", log })
    sock = d.plugins .. "/instance-qemu"
    assert(support.wait_for(sock), "the daemon serves no instance-qemu")
  end)

  teardown(function()
    if why then return end
    for _, pid in ipairs(qemus_under(tmp)) do support.sh("kill -9 " .. pid) end
    d.stop()
    d.cleanup()
    support.sh("rm -rf " .. tmp)
  end)

  local function provision(extra)
    local spec = {
      Properties = { Kernel = img.kernel, Initrd = img.initrd, Cmdline = img.cmdline, Memory = 256, Ports = { 80 },
        Checksum = img.checksum },
      Tags = { ["infrakit.group"] = "spec" },
      Init = "echo hello-from-init > /www/init.txt",
    }
    for k, v in pairs(extra or {}) do spec[k] = v end
    local r, err = infrakit.rpc.call(sock, "Instance.Provision", { Type = "", Spec = spec }, { timeout = 60 })
    return r and r.ID, err
  end

  local function describe_one(id)
    local r = assert(infrakit.rpc.call(sock, "Instance.DescribeInstances",
      { Type = "", Tags = { ["infrakit.group"] = "spec" }, Properties = true }))
    for _, inst in ipairs(r.Descriptions or {}) do
      if inst.ID == id then return inst end
    end
    return nil
  end

  it("boots a VM that answers HTTP on its forwarded port, and powers it down", function()
    if why then return pending(why) end
    local id, err = provision { LogicalID = "vm-1" }
    assert.is_nil(err)
    assert.matches("^qemu%-%x+$", id)
    local inst = assert(describe_one(id))
    assert.are.equal("vm-1", inst.LogicalID)
    local p = inst.Properties
    assert.are.equal("tcg", p.Accel)
    assert.are.equal("running", p.State)
    assert.are.equal(img.checksum, p.Checksum)
    local port = assert(tonumber(p.Ports["80"]))
    assert.is_true(port > 0)
    -- The guest boots (~6.5 s under TCG), ran its Init (fw_cfg) and serves.
    local body
    for _ = 1, 120 do
      body = http_get(port, "/version")
      if body then break end
      infrakit.sleep(0.5)
    end
    assert.are.equal("spec-1\n", body, "no HTTP answer on 127.0.0.1:" .. port .. "; console: "
      .. (io.open(p.Console) and io.open(p.Console):read("*a") or "?"))
    assert.are.equal("hello-from-init\n", http_get(port, "/init.txt"))
    -- Destroy: the guest handles the ACPI button and powers off; no QMP
    -- quit, no signal was needed.
    local _, derr = infrakit.rpc.call(sock, "Instance.Destroy", { Type = "", Instance = id, Context = { Reason = "terminate" } },
      { timeout = 30 })
    assert.is_nil(derr)
    local text = read_log(log)
    assert.matches('msg="QMP event" instance=' .. id .. " event=POWERDOWN", text, 1, true)
    assert.matches('msg="VM stopped" instance=' .. id .. ' why="qemu exited"', text, 1, true)
    assert.is_nil(text:find("QMP quit\" instance=" .. id, 1, true), "the guest did not power down by itself")
    assert.is_nil(describe_one(id))
    assert.is_false(support.exists(p.StateDir))
    assert.are.same({}, qemus_under(tmp))
  end)

  it("leaves VMs running when the daemon stops, and the next daemon adopts them", function()
    if why then return pending(why) end
    local id = assert(provision())
    local inst = assert(describe_one(id))
    local port = inst.Properties.Ports["80"]
    d.stop()
    assert.are.same({ tostring(inst.Properties.Pid) }, qemus_under(tmp))
    d = support.start_daemon(d.home, { "--log-file", log })
    local again
    for _ = 1, 100 do -- State comes back once QMP answers the new daemon
      again = describe_one(id)
      if again and again.Properties.State == "running" then break end
      infrakit.sleep(0.02)
    end
    assert.are.equal(inst.Properties.Pid, again.Properties.Pid)
    assert.are.equal("running", again.Properties.State)
    assert.are.same(inst.Properties.Ports, again.Properties.Ports)
    for _ = 1, 120 do
      if http_get(port, "/version") then break end
      infrakit.sleep(0.5)
    end
    assert.are.equal("spec-1\n", http_get(port, "/version"))
    local _, derr = infrakit.rpc.call(sock, "Instance.Destroy", { Type = "", Instance = id,
      Context = { Reason = "terminate" } }, { timeout = 30 })
    assert.is_nil(derr)
    assert.are.same({}, qemus_under(tmp))
  end)

  it("tells at once when a VM's qemu is killed", function()
    if why then return pending(why) end
    local id = assert(provision())
    local inst = assert(describe_one(id))
    support.sh("kill -9 " .. inst.Properties.Pid)
    local gone = false
    for _ = 1, 100 do
      if describe_one(id) == nil then
        gone = true
        break
      end
      infrakit.sleep(0.02)
    end
    assert.is_true(gone, "a killed VM is still described")
    assert.is_false(support.exists(inst.Properties.StateDir))
    assert.are.same({}, qemus_under(tmp))
    -- The driver said so as it happened (the watchers' event is logged).
    assert.matches('msg="VM gone" instance=' .. id .. ' why="qemu exited"', read_log(log), 1, true)
  end)
end)
