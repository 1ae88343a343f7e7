-- Failover under a rollout, run by `make bench` (spec/bench/run.sh;
-- docs/ha.md, "Measured failover"): a 3-member etcd cluster on 127.0.0.1
-- and 3 `infrakit daemon --store etcd://...` managers (--lease-ttl 2s,
-- --poll 1s), each in its own home, sharing one instance-file directory
-- (every manager reaches every instance). A pets group of 1,000 logical
-- IDs (IK_FAILOVER_N) converges, then each scenario commits a new config
-- (a rolling update: one slot at a time for the kills, so that it outlasts
-- them; 10 at a time for the others) and does its harm mid-rollout:
--   kills      the leader SIGKILLed 10 times (IK_FAILOVER_KILLS), each
--              restarted at once in its home, so three remain
--   pause      the leader SIGSTOPped for 3 TTLs while a client sends it a
--              commit, then SIGCONT; once more with the etcd member it
--              talks to killed while it sleeps
--   member     1 of 3 etcd members SIGKILLed
--   quorum     2 of 3 SIGKILLed, started again 3 TTLs later
-- Takeover times come from the managers' event logs (events.jsonl: the
-- new leader's leadership-gained, then its first group event) against the
-- wall time of the kill. Each scenario ends with the exactness check: as
-- many instances as logical IDs, each once, all at the committed config,
-- no duplicate ID, none outside the set. Skipped, saying why, where etcd
-- cannot start. ~4 min on 2 shared cores.
local infrakit = require "infrakit"
local fo = dofile("spec/functional/failover_support.lua")

local n = tonumber(os.getenv("IK_FAILOVER_N") or "1000")
local kills = tonumber(os.getenv("IK_FAILOVER_KILLS") or "10")
local ttl = 2
local one_at_a_time = { MaxUnavailable = 1 } -- the kills: a rollout that outlasts 10 takeovers
local ten_at_a_time = { MaxUnavailable = 10 } -- the rest: shorter rollouts, same harm

local report = dofile("spec/bench/report.lua")(string.format(
  "failover (%d pets, 3 etcd members, 3 managers, lease TTL %d s)", n, ttl))
local row, info = report.row, report.info

local h, why = fo.start(3, 3, { ttl = ttl, poll = "1s" })
if not h then
  print("failover: skipped: " .. why)
  return
end

-- The exactness check as a row: 0 anomalies wanted.
local function exact(label, r)
  local c = r.check
  local bad = math.abs(c.count - n) + c.dup_ids + c.dup_logical + c.orphans + c.stale + c.missing
  row(label .. ": duplicates + orphans + stale + missing (" .. h.describe_check(c) .. ")", bad, "", 0, "lower")
  if not r.done then row(label .. ": rollout completed", 0, "", 1, "higher") end
end

local ok, err = pcall(function()
  assert(h.leader(15), "no leader within 15 s")
  local t0 = infrakit.clock()
  h.commit(fo.cattle("side", 2, "side")) -- for the SetSize sent to a paused leader
  local hash = h.commit(fo.pets("web", n, "v1"))
  assert(select(2, h.wait_steady("web", n, hash, 120)), "the group did not converge")
  info("commit -> " .. n .. " pets converged (etcd store)", infrakit.clock() - t0, "s")

  t0 = infrakit.clock()
  hash = h.commit(fo.pets("web", n, "v2", ten_at_a_time))
  assert(select(2, h.wait_steady("web", n, hash, 180)), "the rollout did not complete")
  local clean = infrakit.clock() - t0
  info("rolling update of " .. n .. ", 10 at a time, nothing killed", clean, "s")

  local r = fo.kills(h, "web", n, "v3", kills, 1, one_at_a_time)
  row(string.format("leader SIGKILLed mid-rollout (1 at a time; %d kills) -> new leader acts, p50", r.kills),
    fo.percentile(r.acted, 0.5) or 99, "s", 2 * ttl, "lower")
  row("  max", fo.percentile(r.acted, 1) or 99, "s", 2 * ttl, "lower")
  info("  kill -> leadership-gained, p50", fo.percentile(r.gained, 0.5) or 99, "s")
  info("  rolling update with the kills", r.rollout_s, "s")
  exact("after the kills", r)

  for _, cut in ipairs({ false, true }) do
    local label = cut and "leader paused, its etcd member killed meanwhile" or "leader paused 3 TTLs mid-rollout"
    r = fo.pause(h, "web", n, cut and "v5" or "v4", 3 * ttl, { updating = ten_at_a_time, cut = cut,
      stale = fo.set_size("side", cut and 4 or 3) })
    info(label .. ": another leads after", r.takeover_s or -1, "s")
    row("  stepped down on waking (1 = yes)", r.stepped_down and 1 or 0, "", 1, "higher")
    info("  its refused writes (leadership-lost event + write-refused events)", r.refused, "")
    info("  a SetSize sent to it while asleep: applied (1) / failed (0)", r.stale_ok and 1 or 0, "")
    row("  its provisions after waking", r.provisioned_after, "", 0, "lower")
    exact("  after the pause", r)
    if r.stale_err then print("# " .. label .. ": the SetSize sent to it: " .. tostring(r.stale_err)) end
  end

  r = fo.member_loss(h, "web", n, "v6", 1, ten_at_a_time)
  row("rolling update, 10 at a time, 1 of 3 etcd members killed 1 s in", r.rollout_s, "s", 2 * clean, "lower")
  exact("  after the member loss", r)

  r = fo.quorum_loss(h, "web", n, "v7", 1, 3 * ttl, ten_at_a_time)
  row("2 of 3 etcd members killed -> the leader steps down (leadership-lost)", r.step_down_s or 99, "s", ttl, "lower")
  info("  -> no manager says it leads (IsLeader polled)", r.none_leads_s or 99, "")
  if r.step_down_reason then print("# quorum loss: the leader stepped down: " .. r.step_down_reason) end
  row("  members started again -> the new leader acts", r.resume_s or 99, "s", 3 * ttl, "lower")
  exact("  after the quorum loss", r)
end)
h.cleanup()
fo.cleanup_all()
report.print()
if not ok then error(err, 0) end
