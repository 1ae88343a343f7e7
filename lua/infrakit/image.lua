-- infrakit.image: builds a small bootable VM image, offline, reproducibly -
-- the image the qemu driver (instance-qemu, docs/qemu.md) boots. A playbook
-- step:
--
--   local img = assert(infrakit.image.build{
--     version = "v1",                          -- named by the page and /version
--     app = { ["index.html"] = "<h1>v1</h1>" }, -- or a directory: app = "site/"
--     out = "/tmp/img-v1",                     -- where initrd.gz goes
--   })
--   -- img.kernel, img.initrd, img.cmdline, img.checksum, img.version
--
-- The kernel is Debian's (linux-image-amd64's vmlinuz and modules, unpacked
-- by `make deps` into build/kernel, never installed). The initramfs is packed
-- here from busybox-static and a tiny /init (PID 1, a shell script) that
-- mounts proc/sys/dev, loads the virtio, fw_cfg, ACPI-button and evdev
-- modules (dependencies first, read from each module's depends=), brings up
-- eth0 as qemu's user network expects (10.0.2.15/24 via 10.0.2.2), starts
-- acpid so an ACPI powerdown powers the VM off, runs the instance's Init
-- (qemu fw_cfg opt/infrakit/init) to completion, serves the app with busybox
-- httpd on port 80, and prints image.READY_MARKER on the serial console.
--
-- Reproducible: the cpio (newc) archive is written here, not by cpio(1):
-- names sorted, every mtime 0, uid/gid 0, inode numbers in order, modes
-- fixed; then `gzip -n` (no name, no time). The same inputs give the same
-- bytes and the same checksum; any change to the app, the version, the
-- extra files, busybox or the kernel gives another checksum.
local infrakit = require "infrakit"
local codec = require "infrakit._codec"

local image = {}

--- The kernel command line the image expects (console on the first serial
--- port, where the ready marker is printed).
---@type string
image.cmdline = "console=ttyS0 quiet"

--- The line /init prints on the console once httpd serves, followed by
--- " version=VERSION".
---@type string
image.ready_marker = "infrakit-image: ready"

--- Where the guest reads the instance's Init: qemu's
--- `-fw_cfg name=opt/infrakit/init,...` as the qemu_fw_cfg module shows it.
---@type string
image.init_path = "/sys/firmware/qemu_fw_cfg/by_name/opt/infrakit/init/raw"

--- The modules /init loads when opts.modules is not given (their
--- dependencies are added before them): virtio-net over PCI for qemu's
--- `model=virtio-net-pci` NIC, fw_cfg for the Init, button and evdev for
--- acpid (the ACPI power button is an input device).
---@type string[]
image.default_modules = { "virtio_pci", "virtio_net", "qemu_fw_cfg", "button", "evdev" }

local function read_file(path)
  local f, err = io.open(path, "rb")
  if not f then return nil, err, "ENOENT" end
  local s = f:read("*a")
  f:close()
  return s
end

local function fail(fmt, ...)
  return nil, "infrakit.image.build: " .. fmt:format(...), "EINVAL"
end

-- The directory part of a path ("." for a bare name).
local function dirname(path)
  local d = path:match("^(.*)/[^/]*$")
  if d == nil then return "." end
  if d == "" then return "/" end
  return d
end

--- The kernel directory used when opts.kernel is not given:
--- $INFRAKIT_KERNEL_DIR, else build/kernel in the checkout the infrakit
--- binary was built in (`make deps` unpacks it there): beside the binary,
--- or up to two directories above it (build/address/infrakit, the
--- sanitizer build, is two below the checkout).
---@return string
function image.default_kernel_dir()
  local env = os.getenv("INFRAKIT_KERNEL_DIR")
  if env and env ~= "" then return env end
  local dir = dirname(infrakit.executable)
  for _ = 0, 2 do
    local f = io.open(dir .. "/build/kernel/vmlinuz", "rb")
    if f then
      f:close()
      return dir .. "/build/kernel"
    end
    dir = dirname(dir)
  end
  return dirname(infrakit.executable) .. "/build/kernel"
end

-- Every module file under dir: { [name] = path }, names with "-" read as
-- "_" as the kernel does. Yields (find).
local function module_index(dir)
  local r, err, code = infrakit.exec({ "find", "-L", dir, "-name", "*.ko", "-type", "f" })
  if not r then return nil, err, code end
  if r.status ~= 0 then
    return nil, ("cannot list kernel modules under %s: %s"):format(dir, r.stderr), "ENOENT"
  end
  local index = {}
  for path in r.stdout:gmatch("[^\n]+") do
    index[(path:match("([^/]+)%.ko$"):gsub("-", "_"))] = path
  end
  return index
end

-- The modules to load, dependencies first (each .ko's modinfo depends=),
-- as a list of { name =, path =, data = }.
local function resolve_modules(index, wanted)
  local order, seen = {}, {}
  local function visit(name, from)
    if seen[name] == "done" then return true end
    if seen[name] == "visiting" then return fail("kernel module %s depends on itself (through %s)", name, from) end
    local path = index[name]
    if not path then
      return fail("kernel module %s%s not found in the kernel directory", name,
        from and (" (needed by " .. from .. ")") or "")
    end
    local data, err = read_file(path)
    if not data then return fail("cannot read %s: %s", path, err) end
    seen[name] = "visiting"
    local deps = data:match("%zdepends=([^%z]*)%z") or ""
    for dep in deps:gmatch("[^,]+") do
      local ok, e, c = visit((dep:gsub("-", "_")), name)
      if not ok then return nil, e, c end
    end
    seen[name] = "done"
    order[#order + 1] = { name = name, path = path, data = data }
    return true
  end
  for _, name in ipairs(wanted) do
    local ok, err, code = visit(name, nil)
    if not ok then return nil, err, code end
  end
  return order
end

--- Finds the kernel in a directory laid out as `make deps` leaves it:
--- `vmlinuz` (or boot/vmlinuz-*) and `modules` (or lib/modules/*).
--- Returns { vmlinuz =, modules = } (absolute paths, links resolved), or
--- nil, message, "ENOENT". Yields.
---@param dir string|nil default image.default_kernel_dir()
---@return table|nil kernel, string? message, string? code
function image.find_kernel(dir)
  dir = dir or image.default_kernel_dir()
  local r = infrakit.exec({ "sh", "-c", 'cd "$1" 2>/dev/null || exit 1; '
    .. 'k=$(ls -d vmlinuz boot/vmlinuz-* 2>/dev/null | head -1); '
    .. 'm=$(ls -d modules lib/modules/* 2>/dev/null | head -1); '
    .. '[ -n "$k" ] && [ -n "$m" ] && realpath -e "$k" "$m"', "sh", dir })
  local k, m = (r and r.stdout or ""):match("^([^\n]+)\n([^\n]+)\n$")
  if not k then
    return nil, ("no kernel in %s (a vmlinuz and its modules): run `make deps`, "
      .. "or name the directory with opts.kernel or INFRAKIT_KERNEL_DIR"):format(dir), "ENOENT"
  end
  return { vmlinuz = k, modules = m }
end

local function octal(n) return ("%08X"):format(n) end

--- A cpio archive in the "newc" format the kernel unpacks as an initramfs,
--- byte for byte the same for the same entries: sorted by name, mtime 0,
--- uid/gid 0, inode numbers in order. entries: a list of { name = "bin/x"
--- (no leading slash), type = "file"|"dir"|"symlink"|"char", mode = permission
--- bits, data = file contents or link target, major =, minor = (char) }.
--- Does not yield.
---@param entries table[]
---@return string archive
function image.cpio(entries)
  local sorted = {}
  for i, e in ipairs(entries) do sorted[i] = e end
  table.sort(sorted, function(a, b) return a.name < b.name end)
  local types = { file = 0x8000, dir = 0x4000, symlink = 0xA000, char = 0x2000 }
  local out = {}
  local function pad(n) return ("\0"):rep((4 - n % 4) % 4) end
  local function put(ino, mode, nlink, data, name, rmaj, rmin)
    local header = "070701" .. octal(ino) .. octal(mode) .. octal(0) .. octal(0) .. octal(nlink)
      .. octal(0) .. octal(#data) .. octal(0) .. octal(0) .. octal(rmaj or 0) .. octal(rmin or 0)
      .. octal(#name + 1) .. octal(0)
    out[#out + 1] = header .. name .. "\0" .. pad(#header + #name + 1)
    out[#out + 1] = data .. pad(#data)
  end
  for i, e in ipairs(sorted) do
    local t = types[e.type]
    if not t then error(("image.cpio: entry %s: unknown type %s"):format(e.name, tostring(e.type)), 2) end
    put(i, t + (e.mode or (e.type == "dir" and 493 or 420)), e.type == "dir" and 2 or 1,
      e.type == "dir" and "" or (e.type == "char" and "" or e.data), e.name, e.major, e.minor)
  end
  put(0, 0, 1, "", "TRAILER!!!")
  return table.concat(out)
end

-- The /init script: PID 1 of the image. modules: names in load order.
local function init_script(version, modules)
  return table.concat({
    "#!/bin/busybox sh",
    "# PID 1 of an infrakit image (lua/infrakit/image.lua). Must never exit.",
    "/bin/busybox mount -t proc proc /proc",
    "/bin/busybox --install -s",
    "export PATH=/bin:/sbin:/usr/bin:/usr/sbin",
    "mount -t sysfs sysfs /sys",
    "mount -t devtmpfs devtmpfs /dev",
    "mkdir -p /dev/pts /run /tmp /var/log /var/run",
    "for m in " .. table.concat(modules, " ") .. "; do",
    '  insmod "/lib/modules/$m.ko" || echo "infrakit-image: insmod $m failed"',
    "done",
    "hostname infrakit",
    "ip link set lo up",
    "ip link set eth0 up",
    "ip addr add 10.0.2.15/24 dev eth0",
    "ip route add default via 10.0.2.2",
    "# The ACPI power button (qemu's system_powerdown) runs /etc/acpi/PWRF/00000080.",
    "acpid -c /etc/acpi -l /var/log/acpid.log",
    "if [ -r " .. image.init_path .. " ]; then",
    "  cat " .. image.init_path .. " > /run/infrakit-init",
    "  sh /run/infrakit-init",
    '  echo "infrakit-image: init exited $?"',
    "fi",
    "httpd -p 80 -h /www",
    "echo '" .. image.ready_marker .. " version=" .. version .. "'",
    "while true; do sleep 3600; done",
    "",
  }, "\n")
end

local function default_page(version)
  return ("<!doctype html>\n<html><head><title>infrakit image %s</title></head>\n"
    .. "<body><h1>infrakit image %s</h1></body></html>\n"):format(version, version)
end

-- The app's files as { [relative name] = contents }: a table as given, or
-- every regular file under a directory. Yields (find).
local function app_files(app)
  if app == nil then return {} end
  if type(app) == "table" then return app end
  local r, err, code = infrakit.exec({ "find", "-L", ".", "-type", "f" }, { cwd = app })
  if not r then return nil, ("app directory %s: %s"):format(app, err), code end
  if r.status ~= 0 then return nil, ("app directory %s: %s"):format(app, r.stderr), "ENOENT" end
  local files = {}
  for rel in r.stdout:gmatch("[^\n]+") do
    rel = rel:gsub("^%./", "")
    local data, e = read_file(app .. "/" .. rel)
    if not data then return nil, ("app file %s: %s"):format(rel, e), "ENOENT" end
    files[rel] = data
  end
  return files
end

-- Adds entries for name and every directory above it (once each).
local function add_path(entries, seen, name, entry)
  local dir = ""
  for part in name:gmatch("([^/]+)/") do
    dir = dir .. part
    if not seen[dir] then
      seen[dir] = true
      entries[#entries + 1] = { name = dir, type = "dir", mode = 493 }
    end
    dir = dir .. "/"
  end
  if seen[name] then error("image: " .. name .. " added twice") end
  seen[name] = true
  entry.name = name
  entries[#entries + 1] = entry
end

--- Builds an image: the kernel found in opts.kernel and a gzipped
--- initramfs written to opts.out/initrd.gz. Yields (find, gzip).
---
--- opts:
---   version  (string, required) letters, digits, ".", "-", "_": the page
---            and /version name it; it is part of the checksum.
---   out      (string, required) directory for initrd.gz (created).
---   app      table { ["path/in/www"] = contents } or a directory: served by
---            httpd from /www. index.html defaults to a page naming the
---            version; /version always holds the version and a newline.
---   files    table { ["/abs/path"] = contents | { source = path, mode = n } }:
---            extra files in the image; mode is numeric (493 = 0755), default
---            420 (0644): an executable must say so.
---   kernel   kernel directory (default image.default_kernel_dir()).
---   busybox  path of a static busybox (default /bin/busybox, busybox-static).
---   modules  module names to load (default image.default_modules).
---
--- Returns { kernel =, initrd =, cmdline =, checksum =, version =,
--- modules = {names in load order}, size = initrd bytes }, or nil, message,
--- code. checksum is the sha256 (hex) of the kernel's and the initrd's own
--- sha256: the same for the same inputs.
---@param opts table
---@return table|nil image, string? message, string? code
function image.build(opts)
  if type(opts) ~= "table" then error("infrakit.image.build: expected a table of options", 2) end
  local version = opts.version
  if type(version) ~= "string" or not version:match("^[%w%.%-_]+$") then
    return fail("version must be a non-empty string of letters, digits, '.', '-' or '_', got %s",
      type(version) == "string" and ("%q"):format(version) or type(version))
  end
  if type(opts.out) ~= "string" or opts.out == "" then
    return fail("out must name a directory, got %s", type(opts.out))
  end
  if opts.app ~= nil and type(opts.app) ~= "table" and type(opts.app) ~= "string" then
    return fail("app must be a table of files or a directory, got %s", type(opts.app))
  end
  if opts.files ~= nil and type(opts.files) ~= "table" then
    return fail("files must be a table { [\"/path\"] = contents }, got %s", type(opts.files))
  end
  local wanted = opts.modules or image.default_modules
  if type(wanted) ~= "table" then return fail("modules must be a list of names, got %s", type(wanted)) end

  local kernel, err, code = image.find_kernel(opts.kernel)
  if not kernel then return nil, err, code end
  local index
  index, err, code = module_index(kernel.modules)
  if not index then return nil, err, code end
  local modules
  modules, err, code = resolve_modules(index, wanted)
  if not modules then return nil, err, code end

  local busybox_path = opts.busybox or "/bin/busybox"
  local busybox = read_file(busybox_path)
  if not busybox then
    return nil, ("infrakit.image.build: no busybox at %s (install busybox-static: make deps)")
      :format(busybox_path), "ENOENT"
  end

  local entries, seen = {}, {}
  for _, d in ipairs({ "dev", "proc", "sys", "run", "tmp", "sbin", "usr/bin", "usr/sbin", "www" }) do
    add_path(entries, seen, d, { type = "dir", mode = 493 })
  end
  -- The kernel opens /dev/console for PID 1 before /init mounts devtmpfs.
  add_path(entries, seen, "dev/console", { type = "char", mode = 384, major = 5, minor = 1 })
  add_path(entries, seen, "bin/busybox", { type = "file", mode = 493, data = busybox })
  add_path(entries, seen, "bin/sh", { type = "symlink", mode = 511, data = "busybox" })
  local names = {}
  for i, m in ipairs(modules) do
    names[i] = m.name
    add_path(entries, seen, "lib/modules/" .. m.name .. ".ko", { type = "file", mode = 420, data = m.data })
  end
  add_path(entries, seen, "init", { type = "file", mode = 493, data = init_script(version, names) })
  -- busybox acpid runs CONFDIR/PWRF/00000080 for the ACPI power button.
  add_path(entries, seen, "etc/acpi/PWRF/00000080", { type = "file", mode = 493,
    data = "#!/bin/sh\necho 'infrakit-image: power button, powering off' > /dev/console\npoweroff -f\n" })

  local app
  app, err, code = app_files(opts.app)
  if not app then return nil, "infrakit.image.build: " .. err, code end
  local www = { version = version .. "\n" }
  for name, data in pairs(app) do
    if type(name) ~= "string" or type(data) ~= "string" then
      return fail("app: each entry must be a file name and its contents (strings)")
    end
    local clean = name:gsub("^/+", "")
    if clean == "" or clean:find("%.%.") then return fail("app: bad file name %q", name) end
    www[clean] = data
  end
  if not www["index.html"] then www["index.html"] = default_page(version) end
  for name, data in pairs(www) do
    add_path(entries, seen, "www/" .. name, { type = "file", mode = 420, data = data })
  end

  for path, f in pairs(opts.files or {}) do
    if type(path) ~= "string" or not path:match("^/.") or path:find("%.%.") then
      return fail("files: %s must be an absolute path inside the image", tostring(path))
    end
    local data, mode = f, 420
    if type(f) == "table" then
      if type(f.source) ~= "string" then return fail("files[%q].source must be a path", path) end
      local e
      data, e = read_file(f.source)
      if not data then return fail("files[%q]: cannot read %s: %s", path, f.source, e) end
      mode = f.mode or 420
      if type(mode) ~= "number" then return fail("files[%q].mode must be a number (e.g. 493 = 0755)", path) end
    elseif type(f) ~= "string" then
      return fail("files[%q] must be contents (a string) or { source =, mode = }", path)
    end
    local name = path:sub(2)
    if seen[name] then return fail("files: %s is already part of the image", path) end
    add_path(entries, seen, name, { type = "file", mode = mode, data = data })
  end

  local archive = image.cpio(entries)
  local r
  r, err, code = infrakit.exec({ "mkdir", "-p", opts.out })
  if not r or r.status ~= 0 then
    return nil, ("infrakit.image.build: cannot create %s: %s"):format(opts.out, err or r.stderr), code or "EIO"
  end
  local initrd = opts.out .. "/initrd.gz"
  local tmp = opts.out .. "/.initrd." .. infrakit.uid()
  r, err, code = infrakit.exec({ "sh", "-c", 'gzip -n -9 > "$1" && mv -f "$1" "$2" && realpath -e "$2"',
    "sh", tmp, initrd }, { stdin = archive })
  if not r or r.status ~= 0 then
    os.remove(tmp)
    return nil, ("infrakit.image.build: writing %s: %s"):format(initrd, err or r.stderr), code or "EIO"
  end
  initrd = r.stdout:gsub("\n$", "")
  local vmlinuz, gz
  vmlinuz, err = read_file(kernel.vmlinuz)
  if not vmlinuz then return nil, "infrakit.image.build: " .. tostring(err), "ENOENT" end
  gz, err = read_file(initrd)
  if not gz then return nil, "infrakit.image.build: " .. tostring(err), "EIO" end
  local checksum = codec.sha256_hex(codec.sha256_hex(vmlinuz) .. codec.sha256_hex(gz))
  return {
    kernel = kernel.vmlinuz,
    initrd = initrd,
    cmdline = image.cmdline,
    checksum = checksum,
    version = version,
    modules = names,
    size = #gz,
  }
end

return image
