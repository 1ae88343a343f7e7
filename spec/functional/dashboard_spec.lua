-- The dashboard (GET /ui, docs/observability.md): its files as the daemon
-- serves them, its history, and the page itself in headless Chromium
-- (spec/ui/dashboard_browser.js, playwright-core from build/ui-test, installed
-- by `make deps`). The browser test is PENDING with the reason when node,
-- playwright-core or Chromium is missing or Chromium cannot start. It takes
-- about 20-30 s (a canary rollout of 3 instances with MinHealthySeconds 1,
-- paused for 3 s).
local infrakit = require "infrakit"
local json = infrakit.json
local support = dofile("spec/functional/support.lua")
local run, sh = support.run, support.sh

local function group_spec(id, size, note, updating)
  return json.encode({
    ID = id,
    Properties = {
      Allocation = { Size = size },
      Updating = updating,
      Instance = { Plugin = "instance-file", Properties = { Note = note } },
      Flavor = { Plugin = "flavor-vanilla", Properties = {} },
    },
  })
end

-- A daemon serving the group plugin first, so --listen puts it (and /ui) on TCP.
local function start()
  local home = support.mktemp()
  local d = support.start_daemon(home, { "--plugin", "group", "--plugin", "instance-file", "--plugin", "flavor-vanilla",
    "--listen", "127.0.0.1:0", "--insecure", "--poll", "1s", "--instance-file-dir", home .. "/instances" })
  assert(support.wait_for(d.plugins .. "/group.listen"), "the daemon serves no group plugin on TCP")
  local url = io.open(d.plugins .. "/group.listen"):read("*a")
  d.base = "http://" .. assert(url:match("^tcp://(127%.0%.0%.1:%d+)$"), url)
  return d
end

local function commit(home, text)
  local r = run(home, { "group", "commit", "-" }, { stdin = text })
  assert.are.equal(0, r.status, r.stderr)
end

-- Status line and headers of GET base..path (curl), lower-cased names.
local function head(base, path)
  local r = sh("curl -s -o /dev/null -D - " .. base .. path)
  local h = { status = tonumber(r.stdout:match("^HTTP/1%.1 (%d+)")) }
  for k, v in r.stdout:gmatch("([%w-]+): ([^\r\n]*)") do h[k:lower()] = v end
  return h
end

local modules = "build/ui-test"

-- Why the browser specs cannot run here, or nil.
local function browser_missing()
  if not support.exists("/usr/bin/chromium") and not os.getenv("CHROMIUM") then
    return "no /usr/bin/chromium (make deps installs it)"
  end
  if infrakit.exec({ "sh", "-c", "command -v node" }).status ~= 0 then return "no node (make deps installs nodejs)" end
  if not support.exists(modules .. "/node_modules/playwright-core") then
    return "no " .. modules .. "/node_modules/playwright-core (make deps installs it from spec/ui/package-lock.json)"
  end
end

-- Run a spec/ui script with node; returns its exit status and its one line
-- of JSON, decoded.
local function node(script, env)
  local r = assert(infrakit.exec({ "node", script }, { env = env, timeout = 150 }))
  return r.status, json.decode(r.stdout:match("([^\n]+)%s*$") or "{}"), r.stderr
end

describe("the dashboard", function()
  local d
  before_each(function() d = start() end)
  after_each(function()
    d.stop()
    d.cleanup()
  end)

  it("serves its files with their types, a CSP and no-cache, and 404 for anything else under /ui/", function()
    local cases = {
      { "/ui", 200, "text/html; charset=utf-8" },
      { "/ui/", 200, "text/html; charset=utf-8" },
      { "/ui/index.html", 200, "text/html; charset=utf-8" },
      { "/ui/dashboard.css", 200, "text/css; charset=utf-8" },
      { "/ui/dashboard.js", 200, "text/javascript; charset=utf-8" },
      { "/ui/history.json", 200, "application/json" },
      { "/ui/nope.js", 404, "text/plain; charset=utf-8" },
      { "/ui/sub/index.html", 404, "text/plain; charset=utf-8" },
      { "/ui/%2e%2e/index.html", 404, "text/plain; charset=utf-8" },
      { "/uix", 404, nil },
    }
    for _, c in ipairs(cases) do
      local h = head(d.base, c[1])
      assert.are.equal(c[2], h.status, c[1])
      if c[3] then
        assert.are.equal(c[3], h["content-type"], c[1])
        assert.are.equal("no-cache", h["cache-control"], c[1])
        assert.are.equal("nosniff", h["x-content-type-options"], c[1])
        local csp = h["content-security-policy"] or ""
        assert.matches("default-src 'none'", csp, 1, true)
        assert.matches("script-src 'self';", csp, 1, true) -- this origin only: no remote, no inline script
        assert.matches("connect-src 'self'", csp, 1, true)
      end
    end
    -- The same bytes as the files in ui/, on the unix socket too.
    for _, f in ipairs({ "index.html", "dashboard.css", "dashboard.js" }) do
      local r = assert(infrakit.http.request { url = "http://h/ui/" .. f, unix_socket = d.plugins .. "/group" })
      assert.are.equal(200, r.status)
      assert.are.equal(io.open("ui/" .. f, "rb"):read("*a"), r.body, f)
    end
    -- The page loads only its own files.
    local page = io.open("ui/index.html"):read("*a")
    assert.is_nil(page:find("https?://"), "the page names a remote URL")
    assert.is_nil(page:find("<script>"), "an inline script (the CSP refuses it)")
  end)

  it("keeps a history of each committed group's size", function()
    commit(d.home, group_spec("web", 2, "v1"))
    local st = support.wait_group(d.home, "web", support.steady_at(2))
    for _, i in ipairs(st.Instances) do -- the page's age column: Status gives each instance's AgeMs
      assert.is_true(type(i.AgeMs) == "number" and i.AgeMs >= 0, infrakit.json.encode(i))
    end
    local h
    for _ = 1, 150 do -- the first sample comes a second after the start
      h = json.decode(assert(infrakit.http.get(d.base .. "/ui/history.json")))
      local rows = h.Groups.web
      if rows and #rows > 0 and rows[#rows][3] == 2 then break end
      infrakit.sleep(0.1)
    end
    assert.are.equal(10000, h.IntervalMs)
    assert.are.same({ "t", "desired", "current", "available", "updated" }, h.Columns)
    local last = h.Groups.web[#h.Groups.web]
    assert.are.same({ 2, 2, 2, 2 }, { last[2], last[3], last[4], last[5] })
    assert.is_true(math.abs(last[1] / 1000 - os.time()) < 60, "t is wall-clock ms")
    -- A group destroyed is forgotten at the next sample: not tested here
    -- (samples are 10 s apart); dashboard_history's unit test covers it.
  end)

  it("shows the groups in Chromium, follows a canary rollout, pauses, promotes, resumes, scales, and shows refusals", function()
    local missing = browser_missing()
    if missing then return pending(missing) end
    local update = { Canary = 1, MinHealthySeconds = 1 }
    commit(d.home, group_spec("web", 3, "v1", update))
    commit(d.home, group_spec("db", 2, "v1"))
    support.wait_group(d.home, "web", support.steady_at(3))
    support.wait_group(d.home, "db", support.steady_at(2))
    local v2 = d.home .. "/web-v2.json"
    local f = assert(io.open(v2, "w"))
    f:write(group_spec("web", 3, "v2", update))
    f:close()
    sh("mkdir -p build")
    local shot = "build/ui-screenshot.png"
    os.remove(shot)
    local env = support.env(d.home, {
      IK_UI_URL = d.base, IK_BIN = support.bin, IK_UI_SCREENSHOT = shot,
      IK_UI_NODE_MODULES = modules, IK_UI_WEB_V2 = v2, HOME = d.home,
    })
    local status, out, stderr = node("spec/ui/dashboard_browser.js", env)
    if status == 3 then return pending("Chromium cannot start: " .. tostring(out.launch)) end
    assert.is_nil(out.failure, out.failure)
    assert.are.equal(0, status, stderr)

    assert.are.equal(200, out.status)
    assert.matches("script-src 'self'", out.csp, 1, true)
    assert.are.same({}, out.pageErrors)
    for _, m in ipairs(out.console) do
      assert.is_nil(m:find("Content Security Policy", 1, true), m) -- nothing of ours is refused
    end
    assert.are.same({ "db", "web" }, out.groups)
    assert.are.same({ desired = "3", current = "3", updated = "3", available = "3" }, out.before.web.counts)
    assert.are.same({ desired = "2", current = "2", updated = "2", available = "2" }, out.before.db.counts)
    assert.are.equal("steady", out.before.web.phase)
    assert.are.equal(3, out.before.web.instances)

    -- The rollout: paused at the canary part-way, then all the way.
    assert.are.equal("canary-paused", out.canary.phase)
    assert.is_true(out.canary.progress[1] < out.canary.progress[2], json.encode(out.canary))
    -- Paused from the page: the phase says so, and a promotion does not
    -- move the bar until Resume.
    assert.are.equal("paused", out.paused.phase)
    assert.are.equal("paused", out.stillPaused.phase, json.encode(out.stillPaused))
    assert.are.same(out.canary.progress, out.stillPaused.progress)
    assert.are.same(out.canary.counts, out.stillPaused.counts)
    assert.are.equal("steady", out.promoted.phase)
    assert.are.equal(out.promoted.progress[2], out.promoted.progress[1])
    -- The events panel tells of the pause (from /events, or, without it, from the phases the page saw).
    assert.matches("canary%-paused", table.concat(out.events, "\n"))
    assert.matches("to=paused", table.concat(out.events, "\n"))
    local st = support.group_status(d.home, "web")
    assert.are.equal(st.TargetHash, st.GoodHash)
    assert.is_true(support.exists(shot), "no screenshot")

    -- Refused: the API's own text, on the page, as the CLI prints it.
    local msg = out.refused.error:match("^Promote refused: (.+)$")
    assert.is_not_nil(msg, out.refused.error)
    assert.matches("group db has no canary", msg, 1, true)
    local cli = run(d.home, { "group", "promote", "db" })
    assert.are_not.equal(0, cli.status)
    assert.matches(msg, cli.stderr, 1, true)
    msg = out.refusedResume.error:match("^Resume refused: (.+)$")
    assert.is_not_nil(msg, out.refusedResume.error)
    assert.matches("group db is not paused", msg, 1, true)
    cli = run(d.home, { "group", "resume", "db" })
    assert.are.equal(1, cli.status)
    assert.matches(msg, cli.stderr, 1, true)
    -- An empty size box is not sent (as 0): the page says why.
    assert.matches("whole number", out.emptySize.error, 1, true)
    assert.are.equal("2", out.emptySize.counts.desired)
    -- Scaled from the page: the CLI sees it.
    assert.are.equal("4", out.scaled.counts.desired)
    st = support.wait_group(d.home, "db", support.steady_at(4))
    assert.are.equal(4, st.Summary.Desired)
  end)

  it("shows live events from GET /events and re-reads the group on each (a stand-in server in the daemon's format)", function()
    local missing = browser_missing()
    if missing then return pending(missing) end
    local status, out, stderr = node("spec/ui/dashboard_sse.js", { IK_UI_NODE_MODULES = modules })
    if status == 3 then return pending("Chromium cannot start: " .. tostring(out.launch)) end
    assert.is_nil(out.failure, out.failure)
    assert.are.equal(0, status, stderr)
    assert.are.equal("live", out.live)
    assert.is_true(out.note_hidden, "the no-live-events note is shown")
    assert.are.equal(1, #out.events)
    assert.matches("phase", out.events[1], 1, true)
    assert.matches("to=rolling", out.events[1], 1, true)
    assert.are.equal("rolling", out.phase) -- re-read after the event
  end)
end)
