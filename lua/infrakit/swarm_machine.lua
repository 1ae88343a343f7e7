-- infrakit.swarm_machine: a real Docker swarm on this one machine, in
-- flavor-swarm's machine mode (docs/swarm.md "Machine mode"). What the
-- swarm playbook and its specs share: the two group specs, reading the
-- swarm's nodes, waiting on them, and a clean-up that leaves nothing.
--
--   local sm = require "infrakit.swarm_machine"
--   local ok, why = sm.available()            -- false + reason: cannot run here
--   local c = sm.new({ managers = 3 })         -- a root directory, templates in it
--   infrakit.daemon.ensure({ home = h, plugins = sm.plugins, env = c:daemon_env() })
--   infrakit.group.commit(c:managers_spec({ rev = "1" }))
--   infrakit.group.commit(c:workers_spec(3, { rev = "1" }))
--   c:wait_nodes(function(nodes) return sm.count(nodes, "ready") == 6 end, 120)
--   c:cleanup()                                -- after the groups are destroyed
--
-- A node is an instance-process instance whose Init (rendered by
-- flavor-swarm from templates/swarm/machine-{manager,worker}.sh.tmpl)
-- runs its own dockerd under ROOT/ADDR on the loopback address ADDR:
-- managers are pets whose logical IDs are their addresses 127.0.0.11,
-- .12, ...; workers are cattle that claim a free 127.0.0.21-254. Every
-- function that talks to an engine yields.
local core = require "infrakit._core"

local M = {}

-- The daemon's plugins for a machine-mode swarm.
M.plugins = { "group", "instance-process", "flavor-swarm" }

-- The group IDs.
M.managers_group, M.workers_group = "swarm-managers", "swarm-workers"

-- The templates of machine mode (built into the binary with the flavor's).
M.templates = { "machine-manager.sh.tmpl", "machine-worker.sh.tmpl", "machine.sh.tmpl" }

local function q(s) return "'" .. tostring(s):gsub("'", "'\\''") .. "'" end

local function sh(cmd, timeout)
  local r, err = core.exec({ "sh", "-c", cmd }, { timeout = timeout or 60 })
  if not r then return { status = -1, stdout = "", stderr = tostring(err) } end
  return r
end

--- Whether a swarm can run here: true, or false and the reason (root,
--- dockerd, the docker CLI, busybox, cgroups). Yields.
---@return boolean ok, string? reason
function M.available()
  local uid = sh("id -u").stdout:gsub("%s", "")
  if uid ~= "0" then return false, "dockerd needs root (running as uid " .. uid .. ")" end
  for _, need in ipairs({ { "dockerd", "docker.io" }, { "docker", "docker.io" }, { "busybox", "busybox-static" } }) do
    if sh("command -v " .. need[1]).status ~= 0 then
      return false, "no " .. need[1] .. " (make deps installs " .. need[2] .. ")"
    end
  end
  if sh("test -d /sys/fs/cgroup/memory || test -f /sys/fs/cgroup/cgroup.controllers").status ~= 0 then
    return false, "no cgroups mounted under /sys/fs/cgroup"
  end
  return true
end

-- The text of a machine-mode template: built into the binary (with the
-- flavor's templates), else from the source tree beside the binary.
local function template_text(name)
  local ok, template = pcall(require, "infrakit.template")
  if ok and type(template.builtin) == "function" then
    local text = template.builtin("templates/swarm/" .. name)
    if text then return text end
  end
  local dir = (core.exe() or ""):match("^(.*)/[^/]*$") or "."
  local f = io.open(dir .. "/templates/swarm/" .. name, "rb")
  if not f then return nil, "templates/swarm/" .. name .. " is neither built in nor beside " .. tostring(core.exe()) end
  local text = f:read("*a")
  f:close()
  return text
end

local Cluster = {}
Cluster.__index = Cluster

--- A cluster's directory and addresses. opts: root (a directory; default
--- a new /tmp/ik-swarm-XXXXXX: short, the engines' unix sockets live
--- there), managers (default 3, odd), prefix ("127.0.0": managers are
--- PREFIX.11, .12, ..., workers PREFIX.N; addresses are claimed per root,
--- so two clusters on one machine need different prefixes), worker_range
--- ("21-254"). Writes the
--- machine-mode templates into ROOT/templates (the directory the daemon
--- must be allowed to read: daemon_env). Returns the cluster, or nil,
--- message.
function M.new(opts)
  opts = opts or {}
  local n = opts.managers or 3
  if n < 1 or n % 2 == 0 or n > 9 then return nil, "managers: want an odd number from 1 to 9, not " .. n end
  if opts.prefix and not opts.prefix:match("^127%.%d+%.%d+$") then
    return nil, "prefix: want the first three parts of a loopback address (127.X.Y), not " .. opts.prefix
  end
  local root = opts.root
  if not root then
    local r = sh("mktemp -d /tmp/ik-swarm-XXXXXX")
    if r.status ~= 0 then return nil, "mktemp: " .. r.stderr end
    root = r.stdout:gsub("%s+$", "")
  end
  local c = setmetatable({ root = root, addrs = {}, hosts = {}, worker_range = opts.worker_range or "21-254",
    prefix = opts.prefix or "127.0.0" }, Cluster)
  for i = 1, n do
    c.addrs[i] = c.prefix .. "." .. (10 + i)
    c.hosts[i] = "unix://" .. root .. "/" .. c.addrs[i] .. "/docker.sock"
  end
  c.templates = root .. "/templates"
  sh("mkdir -p " .. q(c.templates))
  -- Whether /run/docker was there before (dockerd creates /run/docker/plugins
  -- outside its roots; cleanup removes it only if this run made it).
  c.run_docker_existed = sh("test -e /run/docker").status == 0
  c.var_lib_docker_existed = sh("test -e /var/lib/docker").status == 0
  for _, name in ipairs(M.templates) do
    local text, err = template_text(name)
    if not text then return nil, err end
    local f = assert(io.open(c.templates .. "/" .. name, "wb"))
    f:write(text)
    f:close()
  end
  return c
end

--- The environment of a daemon that renders this cluster's templates.
function Cluster:daemon_env()
  return { INFRAKIT_TEMPLATE_DIR = self.templates }
end

local function flavor_properties(c, role, labels)
  return {
    InitScriptTemplateURL = "file://" .. c.templates .. "/machine-" .. role .. ".sh.tmpl",
    SwarmJoinIP = c.addrs[1],
    EngineLabels = labels or {},
    Docker = { Host = c.hosts },
  }
end

local function instance(c)
  return {
    Plugin = "instance-process",
    Properties = {
      Env = { IK_SWARM_ROOT = c.root, IK_SWARM_WORKER_RANGE = c.worker_range, IK_SWARM_PREFIX = c.prefix },
      -- dockerd stops its containers (shutdown-timeout 2 s) and the script
      -- reaps before the instance is gone.
      StopTimeout = "30s",
    },
  }
end

--- The managers' group: pets whose logical IDs are their addresses;
--- labels are the engines' EngineLabels. Replaced one at a time (destroy,
--- then the same address again: an address is held by one engine).
function Cluster:managers_spec(labels)
  return {
    ID = M.managers_group,
    Properties = {
      Allocation = { LogicalIDs = self.addrs },
      Instance = instance(self),
      Flavor = { Plugin = "flavor-swarm/manager", Properties = flavor_properties(self, "manager", labels) },
      -- MaxParallel 1: one drain, destroy or provision at a time, so the
      -- swarm never loses two managers at once, even when the health of the
      -- others is unknown for a moment (then they count as unavailable).
      Updating = { MaxSurge = 0, MaxUnavailable = 1, MaxParallel = 1 },
    },
  }
end

--- The workers' group: size cattle, each claiming a free address. A
--- rollout adds a new worker, waits until the swarm reports it Ready (the
--- flavor's Healthy), then drains (node rm) and destroys an old one.
function Cluster:workers_spec(size, labels)
  return {
    ID = M.workers_group,
    Properties = {
      Allocation = { Size = size },
      Instance = instance(self),
      Flavor = { Plugin = "flavor-swarm/worker", Properties = flavor_properties(self, "worker", labels) },
      Updating = { MaxSurge = 1, MaxUnavailable = 0 },
    },
  }
end

-- A client of infrakit.docker for host, with a short timeout: an engine
-- that is shutting down must not hold up a poll.
local function client(host)
  return assert(require("infrakit.docker").client(host, nil, { timeout = 5 }))
end

--- The first manager engine (in address order) that answers as a swarm
--- manager: a client of infrakit.docker, or nil, message.
function Cluster:manager()
  local docker = require "infrakit.docker"
  local last = "no manager engine"
  for _, host in ipairs(self.hosts) do
    local c = client(host)
    local info, err = c:info()
    if info and docker.is_manager(info) then return c end
    last = err or (host .. " is not a swarm manager (yet)")
  end
  return nil, last
end

-- The engine labels of a node, a table.
local function labels_of(n)
  local d = n.Description or {}
  return (d.Engine or {}).Labels or {}
end

--- The swarm's nodes as plain rows, sorted by address: { id, addr (the
--- engine's infrakit_machine label), role, state ("ready", "down", ...),
--- availability, leader (bool), reachability, labels }. Or nil, message.
function Cluster:nodes()
  -- Every manager engine in turn, until one lists the nodes (one may be
  -- joining, leaving or without a leader for a moment).
  local list, err
  for _, host in ipairs(self.hosts) do
    list, err = client(host):node_list()
    if list then break end
  end
  if not list then return nil, err end
  local rows = {}
  for _, n in ipairs(list) do
    local labels = labels_of(n)
    local ms = n.ManagerStatus
    rows[#rows + 1] = {
      id = n.ID, addr = labels.infrakit_machine or "?", role = (n.Spec or {}).Role or "?",
      state = (n.Status or {}).State or "?", availability = (n.Spec or {}).Availability or "?",
      leader = type(ms) == "table" and ms.Leader == true, reachability = type(ms) == "table" and ms.Reachability or "",
      labels = labels,
    }
  end
  local function key(r)
    local a, b, c4, d = r.addr:match("^(%d+)%.(%d+)%.(%d+)%.(%d+)$")
    return a and (tonumber(d) + 256 * (tonumber(c4) + 256 * (tonumber(b) + 256 * tonumber(a)))) or math.huge
  end
  table.sort(rows, function(x, y)
    if key(x) ~= key(y) then return key(x) < key(y) end
    return x.id < y.id
  end)
  return rows
end

--- How many rows match: what = "ready", or a function(row).
function M.count(rows, what)
  local n = 0
  for _, r in ipairs(rows or {}) do
    if (type(what) == "function" and what(r)) or r.state == what then n = n + 1 end
  end
  return n
end

--- A one-line summary of nodes: "3/3 managers reachable (leader
--- 127.0.0.11), 3/3 workers ready" (reachable: the raft member answers).
function M.summary(rows)
  local managers, ready_m, workers, ready_w, leader = 0, 0, 0, 0, "none"
  for _, r in ipairs(rows or {}) do
    if r.role == "manager" then
      managers = managers + 1
      if r.reachability == "reachable" then ready_m = ready_m + 1 end
      if r.leader then leader = r.addr end
    else
      workers = workers + 1
      if r.state == "ready" then ready_w = ready_w + 1 end
    end
  end
  return ("%d/%d managers reachable (leader %s), %d/%d workers ready"):format(ready_m, managers, leader, ready_w,
    workers)
end

--- The nodes as a table to print: one line each (address, role, state,
--- manager status, the given labels).
function M.table(rows, label_keys)
  label_keys = label_keys or {}
  local lines = { ("%-12s %-26s %-8s %-6s %-10s %s"):format("ADDRESS", "NODE ID", "ROLE", "STATE", "MANAGER",
    table.concat(label_keys, " ")) }
  for _, r in ipairs(rows or {}) do
    local vals = {}
    for i, k in ipairs(label_keys) do vals[i] = k .. "=" .. tostring(r.labels[k] or "-") end
    local mgr = r.role == "manager" and (r.leader and "leader" or r.reachability) or ""
    lines[#lines + 1] = ("%-12s %-26s %-8s %-6s %-10s %s"):format(r.addr, r.id, r.role, r.state, mgr,
      table.concat(vals, " "))
  end
  return lines
end

--- Polls the nodes (every 0.2 s) until done(rows) is true; on_change(rows)
--- is called when the summary changes. Returns the rows, or nil, message
--- (with the last summary) after timeout seconds. Yields.
function Cluster:wait_nodes(done, timeout, on_change)
  local deadline, last = core.clock() + (timeout or 120), nil
  repeat
    local rows, err = self:nodes()
    local s = rows and M.summary(rows) or ("no manager answers: " .. tostring(err))
    if s ~= last and on_change then on_change(rows, s) end
    last = s
    if rows and done(rows) then return rows end
    core.sleep(0.2)
  until core.clock() > deadline
  return nil, ("timed out after %ds (%s)"):format(timeout or 120, last)
end

--- `docker -H <a live manager> ARGS` (a shell string): its output, or
--- nil, message.
function Cluster:docker(args, timeout)
  local m, err = self:manager()
  if not m then return nil, err end
  local r = sh("docker -H " .. q(m.host) .. " " .. args .. " 2>&1", timeout or 60)
  if r.status ~= 0 then return nil, "docker " .. args .. ": " .. r.stdout:gsub("%s+$", "") end
  return r.stdout
end

--- The pid of the dockerd of the node at addr, or nil.
function Cluster:dockerd_pid(addr)
  local f = io.open(self.root .. "/" .. addr .. "/docker.pid")
  if not f then return nil end
  local pid = tonumber((f:read("*a") or ""):match("%d+"))
  f:close()
  return pid
end

--- What is left of this cluster's nodes on the machine: a list of lines
--- (empty when nothing): processes naming a node directory (dockerd,
--- containerd, shims), mounts below ROOT, node directories (address locks).
function Cluster:leftovers()
  local out = {}
  -- A node's processes name its directory ROOT/127.x.y.z/ (the daemon
  -- that renders the templates names ROOT/templates: not a leftover).
  local r = sh("pgrep -af " .. q(self.root .. "/127\\.") .. " | grep -v -e pgrep -e ' sh -c ' || true")
  for line in r.stdout:gmatch("[^\n]+") do out[#out + 1] = "process: " .. line end
  r = sh("grep -F " .. q(" " .. self.root .. "/") .. " /proc/self/mountinfo | awk '{print $5}' || true")
  for line in r.stdout:gmatch("[^\n]+") do out[#out + 1] = "mount: " .. line end
  r = sh("ls -d " .. q(self.root) .. "/127.* 2>/dev/null || true")
  for line in r.stdout:gmatch("[^\n]+") do out[#out + 1] = "node directory (address lock): " .. line end
  return out
end

--- Destroy both groups through the daemon infrakit.group talks to (each
--- node's script stops its dockerd, has its node removed, unmounts and
--- frees its address), then cleanup(). Returns what cleanup still found
--- (a list: empty when the scripts left nothing), and the destroy errors
--- (a list). Yields.
--- With home (the daemon's INFRAKIT_HOME), an instance of the groups that
--- outlived the destroy (its provision was in flight: an interrupt during a
--- heal or a rollout) is destroyed through instance-process too.
function Cluster:teardown(home)
  local group = require "infrakit.group"
  local rpc = require "infrakit.rpc"
  local errors = {}
  for _, g in ipairs({ M.workers_group, M.managers_group }) do
    -- Each node takes a few seconds to stop and clean up.
    local ok, err = group.destroy(g, { timeout = 180 })
    if not ok and not tostring(err):find("not being watched", 1, true) then
      errors[#errors + 1] = g .. ": " .. tostring(err)
    end
    local plugin = home and (home .. "/plugins/instance-process")
    local r = plugin and rpc.call(plugin, "Instance.DescribeInstances", { Tags = { ["infrakit.group"] = g } })
    for _, d in ipairs(r and r.Descriptions or {}) do
      ok, err = rpc.call(plugin, "Instance.Destroy", { Instance = d.ID, Context = { Reason = "terminate" } },
        { timeout = 60 })
      if not ok then errors[#errors + 1] = g .. ": destroying a stray " .. d.ID .. ": " .. tostring(err) end
    end
  end
  return self:cleanup(), errors
end

--- Reap every node left under ROOT (machine_reap: dockerd, containers,
--- shims, cgroups, mounts), remove ROOT, and what dockerd writes outside
--- its roots when this run made it: /run/docker/plugins (when empty) and
--- overlay load-balancer files (/var/lib/docker/network/files/lb_*). Call
--- after the groups are destroyed (their scripts clean up on their own; this
--- catches what a crash left). Returns the leftovers found before (a list).
function Cluster:cleanup()
  local before = self:leftovers()
  local lib = self.templates .. "/machine.sh.tmpl"
  sh("for d in " .. q(self.root) .. "/127.*; do [ -d \"$d\" ] && . " .. q(lib)
    .. " && machine_reap \"$d\"; done; true", 120)
  sh("rm -rf " .. q(self.root))
  -- Only what this run made, and only if empty (other engines may run).
  if not self.run_docker_existed then sh("rmdir /run/docker/plugins /run/docker 2>/dev/null; true") end
  if not self.var_lib_docker_existed then
    sh("rm -f /var/lib/docker/network/files/lb_*; rmdir /var/lib/docker/network/files /var/lib/docker/network "
      .. "/var/lib/docker 2>/dev/null; true")
  end
  return before
end


return M
