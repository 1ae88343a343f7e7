-- infrakit.image.build for real: the same inputs give the same checksum,
-- another app another one, and the image boots under qemu (by hand, the
-- boot line of shared/reference/backends.md, TCG) to an HTTP answer naming
-- its version, runs the Init given through fw_cfg, and powers off on an
-- ACPI powerdown. Pending where qemu, busybox or the kernel is missing.
local infrakit = require "infrakit"
local image = require "infrakit.image"
local support = dofile("spec/functional/support.lua")
local vm = dofile("spec/functional/image_support.lua")

describe("infrakit.image.build", function()
  local dir, ok, why
  setup(function()
    ok, why = vm.available()
    dir = support.mktemp()
  end)
  teardown(function() support.sh("rm -rf " .. dir) end)

  local function build(sub, extra)
    local opts = { version = "v1", out = dir .. "/" .. sub, app = { ["hello.txt"] = "hello\n" } }
    for k, v in pairs(extra or {}) do opts[k] = v end
    return assert(image.build(opts))
  end

  it("gives the same checksum when built twice from the same inputs, another for another app", function()
    if not ok then return pending(why) end
    local a, b = build("a"), build("b")
    assert.are.equal(64, #a.checksum)
    assert.are.equal(a.checksum, b.checksum)
    assert.are.equal(support.sh("cat " .. a.initrd).stdout, support.sh("cat " .. b.initrd).stdout)
    assert.are.equal(dir .. "/a/initrd.gz", a.initrd)
    assert.are.equal(image.cmdline, a.cmdline)
    assert.are.same({ "virtio_ring", "virtio_pci_modern_dev", "virtio_pci_legacy_dev", "virtio", "virtio_pci",
      "failover", "net_failover", "virtio_net", "qemu_fw_cfg", "button", "evdev" }, a.modules)
    local c = build("c", { app = { ["hello.txt"] = "hello again\n" } })
    assert.are_not.equal(a.checksum, c.checksum)
    local d = build("d", { version = "v2" })
    assert.are_not.equal(a.checksum, d.checksum)
    local e = build("e", { files = { ["/etc/motd"] = "hi\n" } })
    assert.are_not.equal(a.checksum, e.checksum)
  end)

  it("takes the app from a directory as from a table: the same files, the same checksum", function()
    if not ok then return pending(why) end
    support.sh("mkdir -p " .. dir .. "/site/docs && printf 'hello\\n' > " .. dir .. "/site/hello.txt"
      .. " && printf 'x' > " .. dir .. "/site/docs/x.txt")
    local from_dir = build("dir", { app = dir .. "/site" })
    local from_table = build("table", { app = { ["hello.txt"] = "hello\n", ["docs/x.txt"] = "x" } })
    assert.are.equal(from_table.checksum, from_dir.checksum)
    local listing = support.sh("zcat " .. from_dir.initrd .. " | cpio -it --quiet | grep ^www/").stdout
    assert.are.equal("www/docs\nwww/docs/x.txt\nwww/hello.txt\nwww/index.html\nwww/version\n", listing)
    local img, err, code = image.build({ version = "v1", out = dir .. "/bad", app = dir .. "/nonexistent" })
    assert.is_nil(img)
    assert.are.equal("ENOENT", code)
    assert.matches("infrakit.image.build: app directory " .. dir .. "/nonexistent", err, 1, true)
  end)

  it("boots under qemu: HTTP names the version, the fw_cfg Init ran, powerdown powers off", function()
    if not ok then return pending(why) end
    local img = build("boot", { version = "v7" })
    local v = vm.boot(img, { dir = dir, init = "echo init-ran, with a comma > /www/init.txt" })
    finally(v.stop)
    local page, err = vm.wait_http(v, 90)
    assert(page, err)
    assert.matches("infrakit image v7", page, 1, true)
    assert.are.equal("v7\n", infrakit.http.get(v.url .. "/version"))
    assert.are.equal("hello\n", infrakit.http.get(v.url .. "/hello.txt"))
    assert.are.equal("init-ran, with a comma\n", infrakit.http.get(v.url .. "/init.txt"))
    assert.matches(image.ready_marker .. " version=v7", vm.console(v), 1, true)
    -- acpid turns the ACPI power button into `poweroff -f`: qemu exits.
    local answer = vm.qmp(v, "system_powerdown")
    assert.matches('"return"', answer, 1, true)
    for _ = 1, 150 do
      if v.exited() then break end
      infrakit.sleep(0.1)
    end
    assert.is_true(v.exited(), "qemu still runs 15 s after system_powerdown; console:\n" .. vm.console(v))
    assert.matches("powering off", vm.console(v), 1, true)
  end)
end)
