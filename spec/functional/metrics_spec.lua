-- GET /metrics end to end (docs/observability.md, "## Metrics"): a real
-- daemon (poll 60 s, so healing comes from events), real processes, scraped
-- over the group plugin's unix socket and over `--listen` TCP, checked by
-- Prometheus' own `promtool check metrics` (pending when promtool is not
-- installed: `make deps` installs Debian's prometheus package for it).
-- About 5 s.
local infrakit = require "infrakit"
local json = infrakit.json
local support = dofile("spec/functional/support.lua")
local run, sh = support.run, support.sh

local function spec(id, size)
  return json.encode({
    ID = id,
    Properties = {
      Allocation = { Size = size },
      Instance = { Plugin = "instance-process", Properties = { Cmd = { "sleep", "300" } } },
      Flavor = { Plugin = "flavor-vanilla", Properties = {} },
    },
  })
end

-- The body of GET /metrics over the unix socket (curl's --unix-socket).
local function scrape(home)
  local r = sh("curl -sS -D " .. home .. "/headers --unix-socket " .. home .. "/plugins/group http://localhost/metrics")
  assert.are.equal(0, r.status, r.stderr)
  return r.stdout
end

-- Each sample line as name{labels} -> number.
local function samples(text)
  local out = {}
  for line in text:gmatch("[^\n]+") do
    if line:sub(1, 1) ~= "#" then
      local key, value = line:match("^(%S+) (%S+)$")
      assert.is_not_nil(key, "not a sample line: " .. line)
      out[key] = tonumber(value) or (value == "+Inf" and math.huge) or value
    end
  end
  return out
end

local function promtool() return sh("command -v promtool").status == 0 end

-- Scrape until pred(samples) holds (~10 s); returns the samples, or fails
-- with the last scrape.
local function wait_metrics(home, pred)
  local text
  for _ = 1, 500 do
    text = scrape(home)
    local s = samples(text)
    if pred(s) then return s end
    infrakit.sleep(0.02)
  end
  error("metrics never matched; last scrape:\n" .. text, 2)
end

local function instances(s, group, state)
  return s['infrakit_group_instances{group="' .. group .. '",state="' .. state .. '"}']
end

describe("GET /metrics", function()
  local d, home
  before_each(function()
    d = support.start_group_daemon(nil, { "--listen", "127.0.0.1:0", "--insecure" })
    home = d.home
  end)
  after_each(function() support.finish(d, "web") end)

  it("serves the text format 0.0.4 on the group socket, with the process's and the daemon's metrics", function()
    local text = scrape(home)
    local headers = io.open(home .. "/headers"):read("*a")
    assert.matches("Content-Type: text/plain; version=0.0.4; charset=utf-8", headers, 1, true)
    local s = samples(text)
    assert.is_true(s.process_resident_memory_bytes > 0)
    assert.is_true(s.process_open_fds > 0)
    assert.is_true(s.process_cpu_seconds_total >= 0)
    assert.is_true(math.abs(s.process_start_time_seconds - os.time()) < 600)
    assert.is_true(s.infrakit_lua_memory_bytes > 0)
    assert.are.equal(1, s.infrakit_leader) -- the file store: the only manager
    assert.matches("# TYPE process_cpu_seconds_total counter\n", text, 1, true)
    assert.matches("# HELP infrakit_leader ", text, 1, true)
  end)

  it("serves the same on the --listen TCP port, and nothing for POST", function()
    local url = io.open(d.plugins .. "/instance-file.listen"):read("*a"):gsub("^tcp://", "http://")
    local r = sh("curl -sS " .. url .. "/metrics")
    assert.are.equal(0, r.status, r.stderr)
    assert.matches("\nprocess_open_fds %d+\n", r.stdout)
    assert.matches("\ninfrakit_leader 1\n", r.stdout)
    local post = sh("curl -s -o /dev/null -w '%{http_code}' -X POST -d x " .. url .. "/metrics")
    assert.are_not.equal("200", post.stdout)
  end)

  it("follows a group: commit, scale, a kill and its heal; promtool accepts the scrape", function()
    assert.are.equal(0, run(home, { "group", "commit", "-" }, { stdin = spec("web", 3) }).status)
    local s = wait_metrics(home, function(m)
      return instances(m, "web", "desired") == 3 and instances(m, "web", "current") == 3
          and instances(m, "web", "available") == 3 and m['infrakit_group_phase{group="web",phase="steady"}'] == 1
    end)
    assert.are.equal(0, s['infrakit_group_phase{group="web",phase="scaling"}'])
    assert.are.equal(0, instances(s, "web", "unhealthy"))
    assert.are.equal(1, s['infrakit_group_rollout_progress_ratio{group="web"}'])
    local provisions = s['infrakit_actions_total{group="web",kind="provision",outcome="ok"}']
    assert.are.equal(3, provisions)
    assert.are.equal(3, s['infrakit_action_duration_seconds_count{kind="provision"}'])
    assert.is_true(s['infrakit_plugin_rpc_duration_seconds_count{plugin="instance-process",method="Instance.Provision"}'] >= 3)
    assert.is_true(s['infrakit_plugin_rpc_duration_seconds_count{plugin="flavor-vanilla",method="Flavor.Prepare"}'] >= 3)
    assert.is_true(s['infrakit_store_write_duration_seconds_count{store="file"}'] >= 1)

    assert.are.equal(0, run(home, { "group", "scale", "web", "5" }).status)
    s = wait_metrics(home, function(m)
      return instances(m, "web", "desired") == 5 and instances(m, "web", "current") == 5
          and m['infrakit_group_phase{group="web",phase="steady"}'] == 1
    end)
    assert.are.equal(5, s['infrakit_actions_total{group="web",kind="provision",outcome="ok"}'])
    -- Scaling up replaces nothing: no heal yet.
    assert.is_nil(s['infrakit_heal_duration_seconds_count{group="web"}'])

    local r = run(home, { "instance", "describe", "--json", "--properties", "-p", "instance-process",
      "--tag", "infrakit.group=web" })
    local victim = json.decode(r.stdout)[1]
    sh("kill -KILL " .. victim.Properties.Pid)
    s = wait_metrics(home, function(m)
      return (m['infrakit_heal_duration_seconds_count{group="web"}'] or 0) >= 1
          and instances(m, "web", "current") == 5
    end)
    assert.are.equal(1, s['infrakit_heal_duration_seconds_count{group="web"}'])
    assert.are.equal(1, s['infrakit_heal_duration_seconds_bucket{group="web",le="+Inf"}'])
    assert.is_true(s['infrakit_heal_duration_seconds_sum{group="web"}'] > 0)
    assert.are.equal(6, s['infrakit_actions_total{group="web",kind="provision",outcome="ok"}'])

    if not promtool() then
      return pending("promtool not installed (Debian's prometheus package; make deps installs it): the format was not checked")
    end
    local file = home .. "/scrape.txt"
    local f = assert(io.open(file, "w"))
    f:write(scrape(home))
    f:close()
    local check = sh("promtool check metrics < " .. file .. " 2>&1")
    assert.are.equal(0, check.status, check.stdout)
  end)
end)

-- With the etcd store: leadership and fenced writes. One member, one
-- manager: it is elected, says so, and its store writes go to etcd. About
-- 3 s; pending without etcd.
describe("GET /metrics with --store etcd", function()
  local etcd = dofile("spec/functional/etcd_support.lua")
  local c, why, d
  setup(function() c, why = etcd.try_start_cluster(1) end)
  teardown(function() etcd.cleanup_all() end)
  after_each(function()
    if d then support.finish(d, "web") end
    d = nil
  end)

  it("reports the leader, its store writes to etcd and its refused writes", function()
    if not c then return pending(why) end
    d = support.start_group_daemon(nil, { "--store", "etcd://" .. c.endpoints .. "/metrics", "--lease-ttl", "1s" })
    local home = d.home
    wait_metrics(home, function(m) return m.infrakit_leader == 1 end)
    local r
    for _ = 1, 250 do -- the elected leader takes over the groups
      r = run(home, { "group", "commit", "-" }, { stdin = spec("web", 1) })
      if r.status == 0 then break end
      infrakit.sleep(0.02)
    end
    assert.are.equal(0, r.status, r.stderr)
    local s = wait_metrics(home, function(m)
      return instances(m, "web", "available") == 1 and m['infrakit_store_write_duration_seconds_count{store="etcd"}']
    end)
    assert.is_true(s['infrakit_store_write_duration_seconds_count{store="etcd"}'] >= 1)
    assert.are.equal(0, s.infrakit_store_refused_writes_total)
  end)
end)
