-- The event stream end to end: a real daemon, GET /events read with curl
-- over its unix socket and TCP, `infrakit events`, `infrakit group watch`.
-- Each spec takes a few seconds (the streams are read for 1-4 s).
local infrakit = require "infrakit"
local json = infrakit.json
local support = dofile("spec/functional/support.lua")
local run = support.run
local start, wait_for = support.start_group_daemon, support.wait_group

local function spec(id, size, note, flavor, updating)
  return json.encode({ ID = id, Properties = {
    Allocation = { Size = size },
    Instance = { Plugin = "instance-file", Properties = { Note = note } },
    Flavor = flavor or { Plugin = "flavor-vanilla", Properties = { Init = { "echo " .. note } } },
    Updating = updating,
  } })
end

local function steady(n)
  return function(st)
    return st.Phase == "steady" and #st.InFlight == 0 and st.Summary.Available == n and #st.Instances == n
  end
end

-- Frames of a Server-Sent Events body: { id = n, event = name, data = line,
-- doc = decoded } for events, { comment = text } for comments.
local function frames(body)
  local out = {}
  for block in (body .. "\n\n"):gmatch("(.-)\n\n") do
    if block ~= "" then
      local f = {}
      for line in block:gmatch("[^\n]+") do
        local k, v = line:match("^(%a+): (.*)$")
        if k == "id" then f.id = tonumber(v)
        elseif k == "event" then f.event = v
        elseif k == "data" then f.data = v; f.doc = json.decode(v)
        elseif line:sub(1, 1) == ":" then f.comment = line:sub(3)
        else error("not an SSE line: " .. line) end
      end
      out[#out + 1] = f
    end
  end
  return out
end

local function events_of(fs)
  local out = {}
  for _, f in ipairs(fs) do if f.id then out[#out + 1] = f end end
  return out
end

-- GET /events for `seconds` with curl (unix socket path, or a TCP base URL).
local function curl_events(target, query, seconds, headers)
  local argv = { "curl", "-sN", "--max-time", tostring(seconds) }
  for _, h in ipairs(headers or {}) do argv[#argv + 1] = "-H"; argv[#argv + 1] = h end
  if target:sub(1, 1) == "/" then
    argv[#argv + 1] = "--unix-socket"; argv[#argv + 1] = target
    argv[#argv + 1] = "http://h/events" .. (query or "")
  else
    argv[#argv + 1] = target .. "/events" .. (query or "")
  end
  return assert(infrakit.exec(argv, { timeout = seconds + 10 })).stdout
end

-- The same, in the background: returns a task whose wait() gives the body.
local function curl_events_later(target, query, seconds, headers)
  return infrakit.spawn(function() return curl_events(target, query, seconds, headers) end)
end

local file_seqs = support.event_seqs

describe("the event stream", function()
  local d, home
  after_each(function()
    if d then
      run(home, { "group", "destroy", "web" })
      run(home, { "group", "destroy", "other" })
      d.stop()
      d.cleanup()
    end
    d = nil
  end)

  it("streams events over the unix socket and TCP, filtered by group and kind", function()
    d = start(nil, { "--plugin", "group", "--plugin", "instance-file", "--plugin", "flavor-vanilla",
      "--listen", "127.0.0.1:0", "--insecure" })
    home = d.home
    local url = io.open(home .. "/plugins/group.listen"):read("*a"):gsub("%s+$", ""):gsub("^tcp://", "http://")
    local sock = home .. "/plugins/group"
    local unix_task = curl_events_later(sock, "?group=web&kind=committed,provisioned", 4)
    local tcp_task = curl_events_later(url, "", 4)
    infrakit.sleep(0.5) -- both connected
    assert.are.equal(0, run(home, { "group", "commit", "-" }, { stdin = spec("web", 2, "v1") }).status)
    assert.are.equal(0, run(home, { "group", "commit", "-" }, { stdin = spec("other", 1, "v1") }).status)
    wait_for(home, "web", steady(2))
    wait_for(home, "other", steady(1))

    local unix = frames(unix_task:wait())
    assert.are.equal("live", unix[1].comment) -- no history asked: live at once
    local got = events_of(unix)
    assert.are.equal(3, #got, json.encode(got))
    assert.are.equal("committed", got[1].event)
    for i, f in ipairs(got) do
      assert.are.equal("web", f.doc.group)
      assert.are.equal(f.id, f.doc.seq)
      assert.are.equal(f.event, f.doc.event)
      if i > 1 then assert.is_true(f.id > got[i - 1].id) end
    end
    assert.are.equal("provisioned", got[3].event)

    local tcp = events_of(frames(tcp_task:wait()))
    local groups = {}
    for _, f in ipairs(tcp) do groups[f.doc.group] = true end
    assert.is_true(groups.web and groups.other, "the unfiltered stream has both groups")
    -- The stream is the log: every line, in order, nothing else.
    local seqs = file_seqs(home)
    assert.are.equal(#seqs, #tcp)
    for i, f in ipairs(tcp) do assert.are.equal(seqs[i], f.id) end

    local bad = assert(infrakit.exec({ "curl", "-s", "--unix-socket", sock, "http://h/events?since=x" })).stdout
    assert.matches("since=x: want an event's id", bad)
  end)

  it("a client reconnecting with Last-Event-ID misses nothing", function()
    d = start()
    home = d.home
    local sock = home .. "/plugins/group"
    assert.are.equal(0, run(home, { "group", "commit", "-" }, { stdin = spec("web", 1, "v1") }).status)
    wait_for(home, "web", steady(1))
    local first = events_of(frames(curl_events(sock, "?since=0", 1)))
    assert.is_true(#first >= 2)
    local last = first[#first].id
    -- Disconnected: things happen.
    assert.are.equal(0, run(home, { "group", "scale", "web", "3" }).status)
    wait_for(home, "web", steady(3))
    local body = curl_events(sock, "", 1, { "Last-Event-ID: " .. last })
    local again = events_of(frames(body))
    assert.is_true(#again >= 2, body)
    assert.matches("\n\n: live\n\n$", body) -- history, then the mark, then live
    local all = {}
    for _, f in ipairs(first) do all[#all + 1] = f.id end
    for _, f in ipairs(again) do all[#all + 1] = f.id end
    assert.are.same(file_seqs(home), all)
    assert.are.equal(last + 1, again[1].id)
  end)

  it("numbers events on across a restart of the daemon", function()
    d = start()
    home = d.home
    assert.are.equal(0, run(home, { "group", "commit", "-" }, { stdin = spec("web", 1, "v1") }).status)
    wait_for(home, "web", steady(1))
    local before = file_seqs(home)
    d.stop()
    d = start(home)
    assert.are.equal(0, run(home, { "group", "scale", "web", "2" }).status)
    wait_for(home, "web", steady(2))
    local after = file_seqs(home)
    assert.is_true(#after > #before)
    for i = 2, #after do assert.is_true(after[i] > after[i - 1], "seq increases: " .. json.encode(after)) end
    assert.are.equal(before[#before] + 1, after[#before + 1]) -- a clean stop gives back its reserved block
  end)

  it("infrakit events prints the log, filtered, as lines or JSON", function()
    d = start()
    home = d.home
    assert.are.equal(0, run(home, { "group", "commit", "-" }, { stdin = spec("web", 2, "v1") }).status)
    assert.are.equal(0, run(home, { "group", "commit", "-" }, { stdin = spec("other", 1, "v1") }).status)
    wait_for(home, "web", steady(2))
    wait_for(home, "other", steady(1))
    local r = run(home, { "events" })
    assert.are.equal(0, r.status, r.stderr)
    assert.matches("Z #%d+ web committed config_hash=%w+ size=2", r.stdout)
    assert.matches("Z #%d+ other provisioned instance=", r.stdout)
    r = run(home, { "events", "--json", "--group", "web", "--kind", "provisioned" })
    assert.are.equal(0, r.status, r.stderr)
    local n = 0
    for line in r.stdout:gmatch("[^\n]+") do
      local e = json.decode(line)
      assert.are.equal("web", e.group)
      assert.are.equal("provisioned", e.event)
      n = n + 1
    end
    assert.are.equal(2, n)
    local seqs = file_seqs(home)
    r = run(home, { "events", "--json", "--since", tostring(seqs[#seqs - 1]) })
    assert.are.equal(seqs[#seqs], json.decode(r.stdout).seq)
    r = run(home, { "events", "--since", "soon" })
    assert.are.equal(2, r.status)
    assert.matches("%-%-since soon: want an event's seq", r.stderr)
  end)

  it("group watch --timeout exits 5 when the time is up", function()
    d = start()
    home = d.home
    assert.are.equal(0, run(home, { "group", "commit", "-" }, { stdin = spec("web", 1, "v1") }).status)
    local r = run(home, { "group", "watch", "--until-steady", "--timeout", "20s", "web" })
    assert.are.equal(0, r.status, r.stderr)
    assert.matches("group web: steady 1/1 updated", r.stdout)
    r = run(home, { "group", "watch", "--timeout", "1s", "web" })
    assert.are.equal(5, r.status, r.stderr)
    assert.matches("timed out after 1s; group web: steady", r.stderr)
    r = run(home, { "group", "watch", "--timeout", "soon", "web" })
    assert.are.equal(2, r.status)
    assert.matches("%-%-timeout soon: want a duration", r.stderr)
  end)

  it("group watch --until-steady exits 4 at a canary waiting for promotion", function()
    d = start()
    home = d.home
    assert.are.equal(0, run(home, { "group", "commit", "-" }, { stdin = spec("web", 2, "v1") }).status)
    wait_for(home, "web", steady(2))
    local r = run(home, { "group", "commit", "-" }, { stdin = spec("web", 2, "v2", nil, { Canary = 1 }) })
    assert.are.equal(0, r.status, r.stderr)
    r = run(home, { "group", "watch", "--until-steady", "--timeout", "30s", "web" })
    assert.are.equal(4, r.status, r.stdout .. r.stderr)
    assert.matches("group web is waiting for its canaries to be promoted", r.stderr)
    assert.matches("infrakit group promote web", r.stderr, 1, true)
  end)

  it("group watch --until-steady exits 3 on a blocked rollout", function()
    home = support.mktemp()
    support.versioned_flavor(home) -- "bad" instances are unhealthy
    d = start(home, { "--poll", "100ms" })
    local function versioned(v)
      return spec("web", 2, "v1", { Plugin = "versioned", Properties = { Version = v } }, { AutoRollback = true })
    end
    assert.are.equal(0, run(home, { "group", "commit", "-" }, { stdin = versioned("good") }).status)
    wait_for(home, "web", steady(2))
    assert.are.equal(0, run(home, { "group", "commit", "-" }, { stdin = versioned("bad") }).status)
    local r = run(home, { "group", "watch", "--until-steady", "--timeout", "50s", "web" })
    assert.are.equal(3, r.status, r.stdout .. r.stderr)
    assert.matches("group web is blocked, it will not become steady by itself", r.stderr)
  end)
end)
