-- infrakit.image without booting anything: the cpio writer's archive (read
-- back with cpio(1)) and the errors build gives for bad input. Building and
-- booting a real image: spec/functional/image_spec.lua.
local infrakit = require "infrakit"
local image = require "infrakit.image"

local function sh(cmd, stdin)
  return assert(infrakit.exec({ "sh", "-c", cmd }, { stdin = stdin }))
end

describe("infrakit.image.cpio", function()
  local entries = {
    { name = "www/index.html", type = "file", mode = 420, data = "hello\n" },
    { name = "bin", type = "dir", mode = 493 },
    { name = "bin/sh", type = "symlink", mode = 511, data = "busybox" },
    { name = "dev", type = "dir", mode = 493 },
    { name = "dev/console", type = "char", mode = 384, major = 5, minor = 1 },
    { name = "www", type = "dir", mode = 493 },
    { name = "init", type = "file", mode = 493, data = "#!/bin/sh\n" },
  }

  it("writes a newc archive cpio(1) reads: names sorted, uid/gid 0, mtime 0, modes kept", function()
    if sh("command -v cpio").status ~= 0 then return pending("no cpio (make deps installs it)") end
    local r = sh("TZ=UTC LC_ALL=C cpio -itv --quiet 2>&1", image.cpio(entries))
    assert.are.equal(0, r.status, r.stdout)
    local lines = {}
    for l in r.stdout:gmatch("[^\n]+") do lines[#lines + 1] = (l:gsub("%s+", " ")) end
    assert.are.same({
      "drwxr-xr-x 2 root root 0 Jan 1 1970 bin",
      "lrwxrwxrwx 1 root root 7 Jan 1 1970 bin/sh -> busybox",
      "drwxr-xr-x 2 root root 0 Jan 1 1970 dev",
      "crw------- 1 root root 5, 1 Jan 1 1970 dev/console",
      "-rwxr-xr-x 1 root root 10 Jan 1 1970 init",
      "drwxr-xr-x 2 root root 0 Jan 1 1970 www",
      "-rw-r--r-- 1 root root 6 Jan 1 1970 www/index.html",
    }, lines)
    local out = sh("d=$(mktemp -d) && cd $d && cpio -id --quiet && cat www/index.html && cd / && rm -rf $d",
      image.cpio(entries))
    assert.are.equal("hello\n", out.stdout)
  end)

  it("gives the same bytes whatever the order of the entries", function()
    local reversed = {}
    for i = #entries, 1, -1 do reversed[#reversed + 1] = entries[i] end
    assert.are.equal(image.cpio(entries), image.cpio(reversed))
  end)

  it("pads every header+name and every body to 4 bytes and ends with the trailer", function()
    local a = image.cpio({ { name = "a", type = "file", data = "xyz" } })
    assert.are.equal(0, #a % 4)
    assert.are.equal("070701", a:sub(1, 6))
    assert.truthy(a:find("TRAILER!!!\0", 1, true))
  end)

  it("raises on an unknown entry type", function()
    assert.has_error(function() image.cpio({ { name = "x", type = "fifo" } }) end,
      "image.cpio: entry x: unknown type fifo")
  end)
end)

describe("infrakit.image.build input errors", function()
  local cases = {
    { {}, "version must be a non-empty string" },
    { { version = "v 1" }, 'version must be a non-empty string of letters, digits, \'.\', \'-\' or \'_\', got "v 1"' },
    { { version = "v1" }, "out must name a directory, got nil" },
    { { version = "v1", out = "/tmp/x", app = 3 }, "app must be a table of files or a directory, got number" },
    { { version = "v1", out = "/tmp/x", files = "x" }, "files must be a table" },
    { { version = "v1", out = "/tmp/x", modules = "virtio" }, "modules must be a list of names, got string" },
  }
  for _, c in ipairs(cases) do
    it("names the field: " .. c[2], function()
      local img, err, code = image.build(c[1])
      assert.is_nil(img)
      assert.are.equal("EINVAL", code)
      assert.matches("infrakit.image.build: " .. c[2], err, 1, true)
    end)
  end

  it("says where the kernel was looked for and how to get one", function()
    local img, err, code = image.build({ version = "v1", out = "/tmp/x", kernel = "/nonexistent/kernel" })
    assert.is_nil(img)
    assert.are.equal("ENOENT", code)
    assert.matches("no kernel in /nonexistent/kernel (a vmlinuz and its modules): run `make deps`", err, 1, true)
  end)

  it("raises when not given a table", function()
    assert.has_error(function() image.build("v1") end, "infrakit.image.build: expected a table of options")
  end)
end)
