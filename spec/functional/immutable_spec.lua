-- The immutable demo (playbooks/immutable) end to end with real qemu VMs
-- under TCG: 3 VMs boot from image v1 and answer HTTP, one killed with
-- SIGKILL is replaced, v2 rolls through one VM at a time, and nothing is
-- left (no qemu, no daemon). Then Ctrl-C in the middle of a run tears down
-- too. Slow (about 70 s + 25 s here on 2 cores), bounded (each run is killed
-- past 240 s), pending without qemu, busybox or a kernel (make deps).
local infrakit = require "infrakit"
local json = infrakit.json
local support = dofile("spec/functional/support.lua")
local vm = dofile("spec/functional/image_support.lua")

-- The pids of qemu processes whose command line names dir.
local function qemus(dir)
  local r = assert(infrakit.exec({ "pgrep", "-f", "qemu-system.*" .. dir }))
  local pids = {}
  for pid in r.stdout:gmatch("%d+") do pids[#pids + 1] = pid end
  return pids
end

local function kill_left(dir)
  local left = qemus(dir)
  if #left > 0 then infrakit.exec({ "kill", "-KILL", unpack(left) }) end
  return left
end

-- The texts of the playbook's --json lines.
local function texts(out)
  local list = {}
  for line in out:gmatch("[^\n]+") do
    local ok, ev = pcall(json.decode, line)
    if ok and type(ev) == "table" and ev.text then list[#list + 1] = ev.text end
  end
  return list
end

local function find(list, pattern)
  for _, t in ipairs(list) do
    if t:find(pattern) then return t end
  end
  return nil
end

describe("the immutable playbook #slow", function()
  local ok, why = vm.available()
  local tmp
  before_each(function() tmp = support.mktemp() end)
  after_each(function()
    kill_left(tmp) -- only if a failure left one: asserted below
    infrakit.exec({ support.bin, "plugin", "stop", "group" }, { env = support.env(tmp .. "/home"), timeout = 30 })
    support.sh("rm -rf " .. tmp)
  end)

  it("boots 3 VMs, heals a killed one, rolls v2 one at a time, and leaves nothing", function()
    if not ok then return pending(why) end
    local home = tmp .. "/home"
    local r = assert(infrakit.exec({ support.bin, "play", "--json", "immutable", "--vms", "3", "--home", home },
      { env = support.env(home), timeout = 240 }))
    local out = texts(r.stdout)
    assert.are.equal(0, r.status, r.stdout .. r.stderr)
    assert.truthy(find(out, "^built image v1 in"))
    assert.truthy(find(out, "^3 VMs healthy in"))
    local urls = 0
    for _, t in ipairs(out) do
      if t:find("^  qemu%-%x+  pid %d+ +http://127%.0%.0%.1:%d+/  answers v1$") then urls = urls + 1 end
    end
    assert.is_true(urls >= 3, "the VMs' URLs and answers are printed")
    assert.truthy(find(out, "^killing qemu%-%x+ %(qemu pid %d+%) with SIGKILL$"))
    assert.truthy(find(out, "^healed in [%d.]+ s: qemu%-%x+ answers v1 on http://127%.0%.0%.1:%d+/"))
    -- one new VM at a time: each answers before the next old one goes
    local order = {}
    for _, t in ipairs(out) do
      if t:find("^  %+ qemu%-%x+ answers v2") then order[#order + 1] = "+" end
      if t:find("^  %- qemu%-%x+ %(v1%) destroyed$") then order[#order + 1] = "-" end
    end
    assert.are.same({ "+", "-", "+", "-", "+", "-" }, order)
    assert.truthy(find(out, "^rolled v2 through 3 VMs in [%d.]+ s; all answer v2:$"))
    assert.truthy(find(out, "^torn down: group destroyed, no qemu left, daemon stopped$"))
    assert.are.same({}, qemus(tmp))
    assert.is_nil(infrakit.rpc.call(home .. "/plugins/group", "Handshake.Hello", nil, { timeout = 1 }))
  end)

  it("tears down on Ctrl-C", function()
    if not ok then return pending(why) end
    local home = tmp .. "/home"
    local log, pidfile = tmp .. "/play.log", tmp .. "/play.pid"
    local task = infrakit.spawn(function()
      return infrakit.exec({ "sh", "-c", 'echo $$ > "$1"; exec "$2" play immutable --vms 2 --home "$3" > "$4" 2>&1',
        "sh", pidfile, support.bin, home, log }, { env = support.env(home), timeout = 240 })
    end)
    local healthy = false
    for _ = 1, 1800 do
      local f = io.open(log)
      local text = f and f:read("*a") or ""
      if f then f:close() end
      if text:find("2 VMs healthy", 1, true) then
        healthy = true
        break
      end
      if task:status() == "done" then break end
      infrakit.sleep(0.1)
    end
    assert.is_true(healthy, "the VMs never were healthy: " .. support.sh("cat " .. log).stdout)
    assert.is_true(#qemus(tmp) >= 1) -- (it may be killing one already: the heal step)
    support.sh("kill -INT $(cat " .. pidfile .. ")")
    local r = assert(task:wait())
    local text = support.sh("cat " .. log).stdout
    assert.are.equal(130, r.status, text)
    assert.matches("interrupted", text, 1, true)
    assert.matches("torn down: group destroyed, no qemu left, daemon stopped", text, 1, true)
    assert.are.same({}, qemus(tmp))
  end)
end)
