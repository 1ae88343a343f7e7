-- Failover under a rollout (docs/ha.md, "Measured failover"), small: the
-- scenarios of spec/bench/failover_bench.lua with 60 pets. 3 etcd members
-- on 127.0.0.1, 3 managers (--lease-ttl 2s) sharing one instance-file
-- directory; a rolling update slowed to ~0.15 s a slot (MinHealthySeconds)
-- is interrupted by 3 leader SIGKILLs, a SIGSTOP of the leader, the loss
-- of 1 etcd member and of 2 (no quorum). After each: exactly one instance
-- per logical ID, all at the committed config, no duplicate, no orphan.
-- #slow: ~50 s on 2 shared cores. Pending where etcd cannot start.
local infrakit = require "infrakit"
local fo = dofile("spec/functional/failover_support.lua")

local N, TTL = 60, 2
local SLOW = { MaxUnavailable = 1, MinHealthySeconds = 0.1 }

-- Exactness, with what was found in the message. Duplicates from a killed
-- leader's in-flight batch are what write-ahead intents (branch
-- ha-intents) remove: a failure naming duplicates after a kill is that.
local function assert_exact(h, r, after)
  assert.is_true(r.done, after .. ": the rollout did not complete")
  assert.is_true(r.check.exact, after .. ": " .. h.describe_check(r.check)
    .. (r.check.dup_logical > 0 and " (duplicates: see write-ahead intents, ha-intents)" or ""))
end

describe("failover under a rollout #slow", function()
  local h, why
  setup(function()
    h, why = fo.start(3, 3, { ttl = TTL, poll = "1s" })
    if h then
      assert(h.leader(15), "no leader within 15 s")
      h.commit(fo.cattle("side", 2, "side"))
      local hash = h.commit(fo.pets("web", N, "v1"))
      assert(select(2, h.wait_steady("web", N, hash, 30)), "the group did not converge")
    end
  end)
  teardown(function()
    if h then h.cleanup() end
    fo.cleanup_all()
  end)

  it("a leader SIGKILLed 3 times mid-rollout is replaced each time; the rollout completes exactly", function()
    if not h then return pending(why) end
    local r = fo.kills(h, "web", N, "v2", 3, 0.7, SLOW)
    print(string.format("# kill -> new leader acts: %s s", table.concat(r.acted, ", ")))
    assert.are.equal(3, r.kills)
    for _, s in ipairs(r.acted) do assert.is_true(s < 5 * TTL, "a new leader acted after " .. s .. " s") end
    assert_exact(h, r, "after 3 kills")
  end)

  it("a leader paused past its TTL steps down on waking; its write is refused; nothing is provisioned twice", function()
    if not h then return pending(why) end
    -- its etcd member dies while it sleeps, so only its keepalive deadline
    -- can tell it; a client meanwhile sends it a SetSize, which writes the
    -- store first thing
    local r = fo.pause(h, "web", N, "v3", 3 * TTL, { updating = SLOW, cut = true, stale = fo.set_size("side", 3) })
    print(string.format("# another leads after %.2f s; it stepped down: %s; refused writes %d (%d at the step-down); SetSize: %s",
      r.takeover_s or -1, r.lost and r.lost.reason or "-", r.refused, r.refused_at_loss or -1, tostring(r.stale_err)))
    assert.is_truthy(r.takeover_s)
    assert.is_true(r.stepped_down)
    assert.is_number(r.refused_at_loss)
    -- Which comes first on waking, the SetSize or the step-down, is the
    -- event loop's order: a leader stopped while idle in epoll_wait wakes
    -- with EINTR and runs its timers (the keepalive deadline) first; one
    -- stopped while busy reads its sockets first (the benchmark's 1,000
    -- pets: refused each time). Either it wrote, as leader, and etcd refused
    -- the write (counted), or it had stepped down and forwarded the call
    -- to the new leader (applied there), or it had stepped down and not
    -- yet learned who leads (refused before any write). Never applied by
    -- the deposed leader: the store holds size 3 only when it was applied.
    local size = infrakit.json.decode(h.etcd.get("fo/groups/side/spec")).Properties.Allocation.Size
    if r.stale_ok then
      assert.are.equal(3, size)
    else
      local e = tostring(r.stale_err)
      assert.are.equal(2, size)
      if e:find("not the leader: the leader key changed", 1, true) then
        assert.is_true(r.refused > 0, "refused by etcd but not counted: " .. e)
      else
        assert.matches("not a leader, and no leader is known", e, 1, true)
      end
    end
    assert.are.equal(0, r.provisioned_after)
    assert_exact(h, r, "after the pause")
  end)

  it("a rollout goes on through the loss of 1 of 3 etcd members", function()
    if not h then return pending(why) end
    local r = fo.member_loss(h, "web", N, "v4", 1, SLOW)
    print(string.format("# rollout with a member killed: %.2f s", r.rollout_s))
    assert_exact(h, r, "after the member loss")
  end)

  it("without quorum the leader steps down; with it back the rollout resumes and completes", function()
    if not h then return pending(why) end
    local r = fo.quorum_loss(h, "web", N, "v5", 1, 3 * TTL, SLOW)
    print(string.format("# no leader after %.2f s; acting again %.2f s after the members started",
      r.step_down_s or -1, r.resume_s or -1))
    assert.is_truthy(r.step_down_s, "a manager still leads without quorum")
    assert.is_true(r.step_down_s <= 1.5 * TTL, "stepped down " .. r.step_down_s .. " s after the quorum was lost")
    assert.is_false(r.progress_while_down)
    assert.is_truthy(r.resume_s, "no leader acted after the members came back")
    assert_exact(h, r, "after the quorum loss")
  end)
end)
