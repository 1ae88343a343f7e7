/* core/engine/plan: one table of cases, each run as its own named test.
 *
 * A case gives a group spec (JSON), the observed instances, the actions in
 * flight and the rollout state in a small text form, the time and the
 * seed, and the whole expected output: every action line, the summary line
 * ("= phase done/total: reason") and the next state's target and good
 * hashes. The spec's config hash is written NEW, in both directions.
 *
 * Instances, separated by ';':
 *   ID [lid=L] [g=GROUP|nogroup] [h=HASH|h=none] [c=CREATED] [healthy|unknown|unhealthy@SINCE] [self] [adopted]
 *   defaults: group "web", hash NEW, created 0, healthy.
 * In flight, separated by ';':  provision [lid=L] [h=H] | destroy ID | drain ID | label ID h=H
 * State (NULL: never planned): spec=H target=H good=H [promoted] [paused] [rolled_back] [started=T]
 *   [since=ID:T,ID:T] [self_drained=H] [failure=TEXT TO THE END]
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "base/mem.h"
#include "engine/group_spec.h"
#include "engine/plan.h"

/* Most cases leave the last fields (window) at 0. */
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"

typedef struct plan_case {
  const char *name;
  const char *spec;
  const char *instances;
  const char *in_flight;
  const char *state;
  int64_t now;
  uint64_t seed;
  const char *want;
  uint32_t window; /* ik_plan_input_t.window; 0 = the default */
} plan_case_t;

#define SPEC(alloc, extra)                                                                               \
  "{\"ID\":\"web\",\"Properties\":{\"Allocation\":" alloc ",\"Instance\":{\"Plugin\":\"instance-file\"," \
  "\"Properties\":{\"v\":2}},\"Flavor\":{\"Plugin\":\"flavor-vanilla\"}" extra "}}"
#define SIZE(n) "{\"Size\":" #n "}"
#define IDS(...) "{\"LogicalIDs\":[" __VA_ARGS__ "]}"
#define UPD(u) ",\"Updating\":{" u "}"
#define HEALTH(h) ",\"Health\":{" h "}"
#define STEADY "spec=NEW target=NEW good=NEW"
#define FROM_OLD "spec=old target=old good=old"
#define ROLLING "spec=NEW target=NEW good=old started=1000"

static const plan_case_t cases[] = {
    /* --- cattle: create, steady, scale ------------------------------------------------ */
    {"plan_creates_a_new_group", SPEC(SIZE(3), ""), "", "", NULL, 1000, 0,
     "provision hash=NEW (0 of 3 instances)\n"
     "provision hash=NEW (0 of 3 instances)\n"
     "provision hash=NEW (0 of 3 instances)\n"
     "= scaling 0/3\n"
     "state target=NEW good="},
    {"plan_is_steady_at_the_spec", SPEC(SIZE(3), ""), "a; b; c", "", STEADY, 1000, 0,
     "= steady 3/3\n"
     "state target=NEW good=NEW"},
    {"plan_records_good_hash_when_a_new_group_converges", SPEC(SIZE(2), ""), "a; b", "", NULL, 1000, 0,
     "= steady 2/2\n"
     "state target=NEW good=NEW"},
    {"plan_scale_up_provisions_missing_with_target_hash", SPEC(SIZE(5), ""), "a; b; c", "", STEADY, 1000, 0,
     "provision hash=NEW (3 of 5 instances)\n"
     "provision hash=NEW (3 of 5 instances)\n"
     "= scaling 3/5\n"
     "state target=NEW good=NEW"},
    {"plan_scale_only_change_never_replaces", SPEC(SIZE(4), UPD("\"MaxSurge\":\"50%\"")), "a; b; c", "", STEADY, 1000, 0,
     "provision hash=NEW (3 of 4 instances)\n"
     "= scaling 3/4\n"
     "state target=NEW good=NEW"},
    {"plan_scale_down_prefers_oldest", SPEC(SIZE(2), ""), "a c=300; b c=100; c c=400; d c=200", "", STEADY, 1000, 0,
     "destroy b terminate drain (scale down to 2)\n"
     "destroy d terminate drain (scale down to 2)\n"
     "= scaling 2/2\n"
     "state target=NEW good=NEW"},
    {"plan_scale_down_newest_with_delete_policy_newest", SPEC(SIZE(2), UPD("\"DeletePolicy\":\"Newest\"")),
     "a c=300; b c=100; c c=400; d c=200", "", STEADY, 1000, 0,
     "destroy c terminate drain (scale down to 2)\n"
     "destroy a terminate drain (scale down to 2)\n"
     "= scaling 2/2\n"
     "state target=NEW good=NEW"},
    {"plan_scale_down_random_follows_the_seed", SPEC(SIZE(2), UPD("\"DeletePolicy\":\"Random\"")), "a; b; c; d; e; f",
     "", STEADY, 1000, 1,
     "destroy c terminate drain (scale down to 2)\n"
     "destroy d terminate drain (scale down to 2)\n"
     "destroy e terminate drain (scale down to 2)\n"
     "destroy f terminate drain (scale down to 2)\n"
     "= scaling 2/2\n"
     "state target=NEW good=NEW"},
    {"plan_scale_down_random_differs_with_another_seed", SPEC(SIZE(2), UPD("\"DeletePolicy\":\"Random\"")),
     "a; b; c; d; e; f", "", STEADY, 1000, 2,
     "destroy c terminate drain (scale down to 2)\n"
     "destroy a terminate drain (scale down to 2)\n"
     "destroy e terminate drain (scale down to 2)\n"
     "destroy d terminate drain (scale down to 2)\n"
     "= scaling 2/2\n"
     "state target=NEW good=NEW"},
    {"plan_scale_down_prefers_unhealthy_then_old_config_then_unavailable",
     SPEC(SIZE(0), UPD("\"MaxSurge\":0,\"MaxUnavailable\":1")),
     "a c=100; b c=500 unknown; c c=300 h=old; d c=600 unhealthy@0", "", STEADY, 1000, 0,
     "destroy d terminate drain (scale down to 0)\n"
     "destroy c terminate drain (scale down to 0)\n"
     "destroy b terminate drain (scale down to 0)\n"
     "destroy a terminate drain (scale down to 0)\n"
     "= scaling 0/0\n"
     "state target=NEW good=NEW"},
    {"plan_scale_down_never_destroys_self", SPEC(SIZE(1), ""), "s c=100 self; b c=200", "", STEADY, 1000, 0,
     "destroy b terminate drain (scale down to 1)\n"
     "= scaling 1/1\n"
     "state target=NEW good=NEW"},
    {"plan_never_touches_instances_without_the_group_tag", SPEC(SIZE(1), ""), "x g=db h=old; y nogroup h=old; z", "",
     STEADY, 1000, 0,
     "= steady 1/1\n"
     "state target=NEW good=NEW"},
    {"plan_counts_only_its_own_instances", SPEC(SIZE(2), ""), "x g=db; y nogroup; z", "", STEADY, 1000, 0,
     "provision hash=NEW (1 of 2 instances)\n"
     "= scaling 1/2\n"
     "state target=NEW good=NEW"},
    {"plan_adopts_a_bootstrap_instance_with_a_label", SPEC(SIZE(2), ""), "b1 h=bootstrap; n1", "", STEADY, 1000, 0,
     "label b1 hash=NEW (adopt a bootstrap instance)\n"
     "= scaling 2/2\n"
     "state target=NEW good=NEW"},

    /* Found on resume: proven before the restart when at the last good
   * config; a new config's member proves itself again. */
    {"plan_adopted_members_at_the_good_config_are_available", SPEC(SIZE(3), UPD("\"MinHealthySeconds\":30")),
     "a adopted; b adopted; c adopted", "", STEADY, 1000, 0,
     "= steady 3/3\n"
     "state target=NEW good=NEW"},
    {"plan_adopted_members_at_a_new_config_prove_themselves_again", SPEC(SIZE(1), UPD("\"MinHealthySeconds\":30")),
     "o h=old adopted; n adopted c=500", "", ROLLING, 1000, 0,
     "wait healthy until=31000 (waiting for 1 new instance to be healthy for MinHealthySeconds)\n"
     "= rolling 0/1: waiting for 1 new instance to be healthy for MinHealthySeconds\n"
     "state target=NEW good=old"},

    /* --- in flight, MaxParallel ---------------------------------------------------------- */
    {"plan_does_not_propose_a_provision_in_flight_twice", SPEC(SIZE(2), ""), "a", "provision h=NEW", STEADY, 1000, 0,
     "= scaling 1/2\n"
     "state target=NEW good=NEW"},
    {"plan_does_not_count_an_instance_being_destroyed", SPEC(SIZE(2), ""), "a; b; c", "destroy c", STEADY, 1000, 0,
     "= scaling 2/2\n"
     "state target=NEW good=NEW"},
    {"plan_max_parallel_limits_new_actions_given_in_flight", SPEC(SIZE(5), UPD("\"MaxParallel\":2")), "",
     "provision h=NEW", STEADY, 1000, 0,
     "provision hash=NEW (1 of 5 instances)\n"
     "wait in-flight (3 more actions wait for MaxParallel (2 of 2 in flight))\n"
     "= scaling 0/5: 3 more actions wait for MaxParallel (2 of 2 in flight)\n"
     "state target=NEW good=NEW"},
    /* The count in flight includes what this plan starts: it is what an
   * operator sees while the batch runs. */
    {"plan_max_parallel_counts_the_actions_it_starts", SPEC(SIZE(6), UPD("\"MaxParallel\":2")), "", "", NULL, 1000, 0,
     "provision hash=NEW (0 of 6 instances)\n"
     "provision hash=NEW (0 of 6 instances)\n"
     "wait in-flight (4 more actions wait for MaxParallel (2 of 2 in flight))\n"
     "= scaling 0/6: 4 more actions wait for MaxParallel (2 of 2 in flight)\n"
     "state target=NEW good="},
    {"plan_max_parallel_reached_proposes_nothing", SPEC(SIZE(3), UPD("\"MaxParallel\":1")), "a", "provision h=NEW",
     STEADY, 1000, 0,
     "wait in-flight (1 more action wait for MaxParallel (1 of 1 in flight))\n"
     "= scaling 1/3: 1 more action wait for MaxParallel (1 of 1 in flight)\n"
     "state target=NEW good=NEW"},

    /* --- the window: the plan's memory is bounded whatever the size ----------------------- */
    /* At most `window` actions in flight and proposed; the rest is one
   * aggregated wait, not an action each (10^12 must not mean 10^12). */
    {"plan_aggregates_provisions_beyond_the_window", SPEC(SIZE(1000000000000), ""), "", "", NULL, 1000, 0,
     "provision hash=NEW (0 of 1000000000000 instances)\n"
     "provision hash=NEW (0 of 1000000000000 instances)\n"
     "provision hash=NEW (0 of 1000000000000 instances)\n"
     "wait in-flight (999999999997 more actions wait for room: at most 3 in flight per group (3 in flight))\n"
     "= scaling 0/1000000000000: 999999999997 more actions wait for room: at most 3 in flight per group (3 in flight)\n"
     "state target=NEW good=",
     3},
    {"plan_window_counts_the_actions_in_flight", SPEC(SIZE(10), ""), "a", "provision h=NEW", STEADY, 1000, 0,
     "provision hash=NEW (2 of 10 instances)\n"
     "provision hash=NEW (2 of 10 instances)\n"
     "wait in-flight (6 more actions wait for room: at most 3 in flight per group (3 in flight))\n"
     "= scaling 1/10: 6 more actions wait for room: at most 3 in flight per group (3 in flight)\n"
     "state target=NEW good=NEW",
     3},
    {"plan_window_full_proposes_nothing", SPEC(SIZE(5), ""), "", "provision h=NEW; provision h=NEW", STEADY, 1000, 0,
     "wait in-flight (3 more actions wait for room: at most 2 in flight per group (2 in flight))\n"
     "= scaling 0/5: 3 more actions wait for room: at most 2 in flight per group (2 in flight)\n"
     "state target=NEW good=NEW",
     2},
    /* MaxParallel below the window is what the wait names. */
    {"plan_max_parallel_aggregates_a_huge_size", SPEC(SIZE(1000000000000), UPD("\"MaxParallel\":2")), "", "", NULL,
     1000, 0,
     "provision hash=NEW (0 of 1000000000000 instances)\n"
     "provision hash=NEW (0 of 1000000000000 instances)\n"
     "wait in-flight (999999999998 more actions wait for MaxParallel (2 of 2 in flight))\n"
     "= scaling 0/1000000000000: 999999999998 more actions wait for MaxParallel (2 of 2 in flight)\n"
     "state target=NEW good="},
    /* A rollout of a huge group: the missing and the surge provisions are
   * counted, not built. */
    {"plan_rollout_surge_is_bounded_by_the_window",
     SPEC(SIZE(1000000), UPD("\"MaxSurge\":\"100%\"")), "o1 h=old", "", FROM_OLD, 1000, 0,
     "provision hash=NEW (1 of 1000000 instances)\n"
     "provision hash=NEW (1 of 1000000 instances)\n"
     "wait in-flight (999998 more actions wait for room: at most 2 in flight per group (2 in flight))\n"
     "= rolling 0/1000000: 999998 more actions wait for room: at most 2 in flight per group (2 in flight)\n"
     "state target=NEW good=old",
     2},

    /* --- rollout (cattle) ------------------------------------------------------------------ */
    {"plan_config_change_starts_a_rollout_with_one_surge", SPEC(SIZE(3), ""),
     "o1 h=old c=100; o2 h=old c=200; o3 h=old c=300", "", FROM_OLD, 1000, 0,
     "provision hash=NEW (rolling update: surge)\n"
     "= rolling 0/3\n"
     "state target=NEW good=old"},
    {"plan_rollout_destroys_old_once_the_new_one_is_available", SPEC(SIZE(3), ""),
     "o1 h=old c=100; o2 h=old c=200; o3 h=old c=300; n1 c=1000", "", ROLLING " since=n1:1000", 2000, 0,
     "destroy o1 rolling_update drain (rolling update: replace)\n"
     "= rolling 1/3\n"
     "state target=NEW good=old"},
    {"plan_rollout_waits_for_min_healthy_seconds", SPEC(SIZE(3), UPD("\"MinHealthySeconds\":30")),
     "o1 h=old c=100; o2 h=old c=200; o3 h=old c=300; n1 c=1000", "", ROLLING " since=n1:1000", 2000, 0,
     "wait healthy until=31000 (waiting for 1 new instance to be healthy for MinHealthySeconds)\n"
     "= rolling 0/3: waiting for 1 new instance to be healthy for MinHealthySeconds\n"
     "state target=NEW good=old"},
    /* After a restart members prove MinHealthySeconds again (when each turned
   * healthy is not stored): the plan asks to be run again when they can be
   * available, not at the next poll. */
    {"plan_waits_for_healthy_members_to_become_available_outside_a_rollout", SPEC(SIZE(2), UPD("\"MinHealthySeconds\":30")),
     "a c=100; b c=200", "", STEADY, 5000, 0,
     "wait healthy until=35000 (waiting for 2 new instances to be healthy for MinHealthySeconds)\n"
     "= scaling 0/2: waiting for 2 new instances to be healthy for MinHealthySeconds\n"
     "state target=NEW good=NEW"},
    {"plan_rollout_counts_updating_duration_as_min_healthy_time", SPEC(SIZE(3), UPD("\"Duration\":\"10s\"")),
     "o1 h=old c=100; o2 h=old c=200; o3 h=old c=300; n1 c=1000", "", ROLLING " since=n1:1000", 5000, 0,
     "wait healthy until=11000 (waiting for 1 new instance to be healthy for MinHealthySeconds)\n"
     "= rolling 0/3: waiting for 1 new instance to be healthy for MinHealthySeconds\n"
     "state target=NEW good=old"},
    {"plan_rollout_does_not_count_unknown_health_as_healthy", SPEC(SIZE(3), ""),
     "o1 h=old c=100; o2 h=old c=200; o3 h=old c=300; n1 c=1000 unknown", "", ROLLING, 2000, 0,
     "wait healthy until=601000 (waiting for 1 new instance to be healthy)\n"
     "= rolling 0/3: waiting for 1 new instance to be healthy\n"
     "state target=NEW good=old"},
    {"plan_rollout_completes_and_records_the_good_hash", SPEC(SIZE(3), ""), "n1; n2; n3", "", ROLLING, 9000, 0,
     "= steady 3/3\n"
     "state target=NEW good=NEW"},
    {"plan_rollout_treats_an_untagged_instance_as_old", SPEC(SIZE(1), ""), "a h=none", "", STEADY, 1000, 0,
     "provision hash=NEW (rolling update: surge)\n"
     "= rolling 0/1\n"
     "state target=NEW good=NEW"},
    {"plan_max_surge_percent_rounds_up", SPEC(SIZE(10), UPD("\"MaxSurge\":\"25%\"")),
     "o0 h=old; o1 h=old; o2 h=old; o3 h=old; o4 h=old; o5 h=old; o6 h=old; o7 h=old; o8 h=old; o9 h=old", "",
     FROM_OLD, 1000, 0,
     "provision hash=NEW (rolling update: surge)\n"
     "provision hash=NEW (rolling update: surge)\n"
     "provision hash=NEW (rolling update: surge)\n"
     "= rolling 0/10\n"
     "state target=NEW good=old"},
    {"plan_max_unavailable_percent_rounds_down", SPEC(SIZE(10), UPD("\"MaxSurge\":0,\"MaxUnavailable\":\"25%\"")),
     "o0 h=old c=0; o1 h=old c=1; o2 h=old c=2; o3 h=old c=3; o4 h=old c=4; o5 h=old c=5; o6 h=old c=6; o7 h=old c=7; "
     "o8 h=old c=8; o9 h=old c=9",
     "", FROM_OLD, 1000, 0,
     "destroy o0 rolling_update drain (rolling update: replace)\n"
     "destroy o1 rolling_update drain (rolling update: replace)\n"
     "wait in-flight (waiting for 2 destroys to finish before provisioning 2 more (MaxSurge 0))\n"
     "= rolling 0/10: waiting for 2 destroys to finish before provisioning 2 more (MaxSurge 0)\n"
     "state target=NEW good=old"},
    {"plan_max_surge_and_max_unavailable_together", SPEC(SIZE(4), UPD("\"MaxSurge\":1,\"MaxUnavailable\":1")),
     "o1 h=old c=100; o2 h=old c=200; o3 h=old c=300; o4 h=old c=400", "", FROM_OLD, 1000, 0,
     "provision hash=NEW (rolling update: surge)\n"
     "destroy o1 rolling_update drain (rolling update: replace)\n"
     "= rolling 0/4\n"
     "state target=NEW good=old"},
    {"plan_percentages_rounding_to_zero_allow_one_unavailable",
     SPEC(SIZE(3), UPD("\"MaxSurge\":\"0%\",\"MaxUnavailable\":\"10%\"")), "o1 h=old c=1; o2 h=old c=2; o3 h=old c=3", "",
     FROM_OLD, 1000, 0,
     "destroy o1 rolling_update drain (rolling update: replace)\n"
     "wait in-flight (waiting for 1 destroy to finish before provisioning 1 more (MaxSurge 0))\n"
     "= rolling 0/3: waiting for 1 destroy to finish before provisioning 1 more (MaxSurge 0)\n"
     "state target=NEW good=old"},
    {"plan_max_surge_zero_reprovisions_after_the_destroy", SPEC(SIZE(3), UPD("\"MaxSurge\":0,\"MaxUnavailable\":1")),
     "o2 h=old c=2; o3 h=old c=3", "", ROLLING, 2000, 0,
     "provision hash=NEW (2 of 3 instances)\n"
     "= rolling 0/3\n"
     "state target=NEW good=old"},
    {"plan_rollout_replaces_unavailable_old_instances_first", SPEC(SIZE(3), ""),
     "o1 h=old c=100; o2 h=old c=200 unhealthy@500; o3 h=old c=300; n1 c=1000", "", ROLLING " since=n1:1000", 2000, 0,
     "destroy o2 rolling_update drain (rolling update: replace unavailable)\n"
     "= rolling 1/3\n"
     "state target=NEW good=old"},
    {"plan_skip_before_instance_destroy_skips_drain_for_rolling_update_only",
     SPEC(SIZE(2), UPD("\"SkipBeforeInstanceDestroy\":\"drain\"")),
     "o1 h=old c=100; o2 h=old c=200; o3 h=old c=300; n1 c=1000", "", ROLLING " since=n1:1000", 2000, 0,
     "destroy o1 terminate drain (scale down to 2)\n"
     "destroy o2 rolling_update (rolling update: replace)\n"
     "= rolling 1/2\n"
     "state target=NEW good=old"},
    {"plan_scale_up_during_rollout_gives_new_instances_the_target_hash", SPEC(SIZE(5), ""),
     "o1 h=old c=100; o2 h=old c=200; o3 h=old c=300; n1 c=1000 unknown", "", ROLLING, 2000, 0,
     "provision hash=NEW (4 of 5 instances)\n"
     "provision hash=NEW (rolling update: surge)\n"
     "wait healthy until=601000 (waiting for 1 new instance to be healthy)\n"
     "= rolling 0/5: waiting for 1 new instance to be healthy\n"
     "state target=NEW good=old"},
    {"plan_scale_down_during_rollout_removes_old_config_first", SPEC(SIZE(2), ""),
     "o1 h=old c=100; o2 h=old c=200; o3 h=old c=300; n1 c=1000", "", ROLLING " since=n1:1000", 2000, 0,
     "destroy o1 terminate drain (scale down to 2)\n"
     "destroy o2 rolling_update drain (rolling update: replace)\n"
     "= rolling 1/2\n"
     "state target=NEW good=old"},

    /* --- canary ---------------------------------------------------------------------------- */
    {"plan_canary_rolls_n_then_pauses", SPEC(SIZE(4), UPD("\"Canary\":1")),
     "o1 h=old c=100; o2 h=old c=200; o3 h=old c=300; o4 h=old c=400", "", FROM_OLD, 1000, 0,
     "provision hash=NEW (rolling update: surge)\n"
     "wait promotion (waiting for promotion: 1 of 4 at the new config (infrakit group promote web))\n"
     "= canary-paused 0/4: waiting for promotion: 1 of 4 at the new config (infrakit group promote web)\n"
     "state target=NEW good=old"},
    {"plan_canary_paused_completes_its_surge", SPEC(SIZE(4), UPD("\"Canary\":1")),
     "o1 h=old c=100; o2 h=old c=200; o3 h=old c=300; o4 h=old c=400; n1 c=1000", "", ROLLING " since=n1:1000", 2000, 0,
     "destroy o1 rolling_update drain (rolling update: replace)\n"
     "wait promotion (waiting for promotion: 1 of 4 at the new config (infrakit group promote web))\n"
     "= canary-paused 1/4: waiting for promotion: 1 of 4 at the new config (infrakit group promote web)\n"
     "state target=NEW good=old"},
    {"plan_canary_promoted_continues_the_rollout", SPEC(SIZE(4), UPD("\"Canary\":1")),
     "o2 h=old c=200; o3 h=old c=300; o4 h=old c=400; n1 c=1000", "", ROLLING " promoted since=n1:1000", 3000, 0,
     "provision hash=NEW (rolling update: surge)\n"
     "= rolling 1/4\n"
     "state target=NEW good=old promoted"},
    {"plan_canary_with_max_unavailable_destroys_first", SPEC(SIZE(3), UPD("\"Canary\":1,\"MaxSurge\":0,\"MaxUnavailable\":2")),
     "o1 h=old c=100; o2 h=old c=200; o3 h=old c=300", "", FROM_OLD, 1000, 0,
     "destroy o1 rolling_update drain (rolling update: replace)\n"
     "wait in-flight (waiting for 1 destroy to finish before provisioning 1 more (MaxSurge 0))\n"
     "wait promotion (waiting for promotion: 0 of 3 at the new config (infrakit group promote web))\n"
     "= canary-paused 0/3: waiting for promotion: 0 of 3 at the new config (infrakit group promote web)\n"
     "state target=NEW good=old"},

    /* --- pause (group pause / resume) ------------------------------------------------------------- */
    /* Paused mid-rollout: the old member whose new one is available is
   * not destroyed, and no surge starts (compare
   * plan_rollout_destroys_old_once_the_new_one_is_available). */
    {"plan_paused_rollout_starts_no_replacement", SPEC(SIZE(3), ""),
     "o1 h=old c=100; o2 h=old c=200; o3 h=old c=300; n1 c=1000", "", ROLLING " paused since=n1:1000", 2000, 0,
     "wait resume (paused: 1 of 3 at the new config, no new replacement (infrakit group resume web))\n"
     "= paused 1/3: paused: 1 of 3 at the new config, no new replacement (infrakit group resume web)\n"
     "state target=NEW good=old paused"},
    /* A commit while paused: the new target is recorded, nothing rolls,
   * and the pause is kept (kubectl rollout pause; commit; resume). */
    {"plan_paused_keeps_a_new_config_waiting", SPEC(SIZE(3), ""), "o1 h=old c=100; o2 h=old c=200; o3 h=old c=300",
     "", FROM_OLD " paused", 1000, 0,
     "wait resume (paused: 0 of 3 at the new config, no new replacement (infrakit group resume web))\n"
     "= paused 0/3: paused: 0 of 3 at the new config, no new replacement (infrakit group resume web)\n"
     "state target=NEW good=old paused"},
    /* Self-heal goes on: a lost member is provisioned (at the target
   * config, as outside a pause), the rest is left alone. */
    {"plan_paused_still_heals_a_lost_member", SPEC(SIZE(3), ""), "o1 h=old c=100; o2 h=old c=200", "",
     ROLLING " paused", 2000, 0,
     "provision hash=NEW (2 of 3 instances)\n"
     "wait resume (paused: 1 of 3 at the new config, no new replacement (infrakit group resume web))\n"
     "= paused 0/3: paused: 1 of 3 at the new config, no new replacement (infrakit group resume web)\n"
     "state target=NEW good=old paused"},
    /* Remediation goes on too: an unhealthy member past its timeout is replaced. */
    {"plan_paused_still_remediates_unhealthy", SPEC(SIZE(2), HEALTH("\"UnhealthyTimeout\":\"1s\"")),
     "a c=100; b c=200 unhealthy@500", "", STEADY " paused", 5000, 0,
     "destroy b terminate drain (unhealthy for 4.500s (UnhealthyTimeout 1s))\n"
     "provision hash=NEW (1 of 2 instances)\n"
     "wait resume (paused: the next rollout waits (infrakit group resume web))\n"
     "= paused 1/2: paused: the next rollout waits (infrakit group resume web)\n"
     "state target=NEW good=NEW paused"},
    /* Scaling is not a rollout: it goes on while paused. */
    {"plan_paused_still_scales", SPEC(SIZE(3), ""), "a; b", "", STEADY " paused", 1000, 0,
     "provision hash=NEW (2 of 3 instances)\n"
     "wait resume (paused: the next rollout waits (infrakit group resume web))\n"
     "= paused 2/3: paused: the next rollout waits (infrakit group resume web)\n"
     "state target=NEW good=NEW paused"},
    /* A rollout whose last replacement finished while paused completes. */
    {"plan_paused_rollout_with_nothing_old_completes", SPEC(SIZE(2), ""), "n1; n2", "", ROLLING " paused", 9000, 0,
     "wait resume (paused: the next rollout waits (infrakit group resume web))\n"
     "= paused 2/2: paused: the next rollout waits (infrakit group resume web)\n"
     "state target=NEW good=NEW paused"},
    /* Paused wins over canary-paused; a failure (blocked) wins over paused. */
    {"plan_paused_canary_shows_paused", SPEC(SIZE(4), UPD("\"Canary\":1")),
     "o1 h=old c=100; o2 h=old c=200; o3 h=old c=300; o4 h=old c=400", "", FROM_OLD " paused", 1000, 0,
     "wait resume (paused: 0 of 4 at the new config, no new replacement (infrakit group resume web))\n"
     "= paused 0/4: paused: 0 of 4 at the new config, no new replacement (infrakit group resume web)\n"
     "state target=NEW good=old paused"},

    /* --- failure, deadline, rollback ----------------------------------------------------------- */
    {"plan_healthy_deadline_exceeded_blocks_the_rollout", SPEC(SIZE(3), UPD("\"HealthyDeadline\":60")),
     "o1 h=old c=100; o2 h=old c=200; o3 h=old c=300; n1 c=1000 unknown", "", ROLLING, 61000, 0,
     "= blocked 0/3: rollout stopped: instance n1 at the new config was not healthy within HealthyDeadline (1m)\n"
     "state target=NEW good=old"},
    {"plan_unhealthy_new_instance_fails_the_rollout", SPEC(SIZE(3), ""),
     "o1 h=old c=100; o2 h=old c=200; o3 h=old c=300; n1 c=1000 unhealthy@1500", "", ROLLING, 2000, 0,
     "= blocked 0/3: rollout stopped: instance n1 at the new config is unhealthy\n"
     "state target=NEW good=old"},
    {"plan_blocked_rollout_still_heals_missing_instances", SPEC(SIZE(3), UPD("\"HealthyDeadline\":\"1m\"")),
     "o1 h=old c=100; n1 c=1000 unknown", "", ROLLING, 61000, 0,
     "provision hash=NEW (2 of 3 instances)\n"
     "= blocked 0/3: rollout stopped: instance n1 at the new config was not healthy within HealthyDeadline (1m)\n"
     "state target=NEW good=old"},
    {"plan_auto_rollback_targets_the_previous_good_hash", SPEC(SIZE(3), UPD("\"HealthyDeadline\":60,\"AutoRollback\":true")),
     "o1 h=old c=100; o2 h=old c=200; o3 h=old c=300; n1 c=1000 unknown", "", ROLLING, 61000, 0,
     "destroy n1 rolling_update drain (rolling update: replace unavailable)\n"
     "= rolling 3/3: rolling back to old: instance n1 at the new config was not healthy within HealthyDeadline (1m)\n"
     "state target=old good=old rolled_back"},
    {"plan_rolled_back_group_reports_blocked_when_back", SPEC(SIZE(2), UPD("\"AutoRollback\":true")),
     "o1 h=old c=100; o2 h=old c=200", "", "spec=NEW target=old good=old rolled_back failure=instance n1 failed", 90000, 0,
     "= blocked 2/2: rolled back to old: instance n1 failed\n"
     "state target=old good=old rolled_back"},
    {"plan_auto_rollback_without_a_good_hash_blocks", SPEC(SIZE(2), UPD("\"AutoRollback\":true")), "n1 unhealthy@500", "",
     NULL, 1000, 0,
     "provision hash=NEW (1 of 2 instances)\n"
     "= blocked 0/2: rollout stopped: instance n1 at the new config is unhealthy; no earlier good config to roll back to\n"
     "state target=NEW good="},
    {"plan_new_commit_during_a_rollback_starts_over", SPEC(SIZE(1), ""), "o1 h=old c=100",
     "", "spec=bad target=old good=old rolled_back failure=x", 5000, 0,
     "provision hash=NEW (rolling update: surge)\n"
     "= rolling 0/1\n"
     "state target=NEW good=old"},

    /* --- health remediation ------------------------------------------------------------------------- */
    {"plan_replaces_an_instance_unhealthy_past_the_timeout", SPEC(SIZE(3), HEALTH("\"UnhealthyTimeout\":60")),
     "a; b; u unhealthy@0", "", STEADY, 120000, 0,
     "destroy u terminate drain (unhealthy for 2m (UnhealthyTimeout 1m))\n"
     "provision hash=NEW (2 of 3 instances)\n"
     "= scaling 2/3\n"
     "state target=NEW good=NEW"},
    {"plan_waits_for_the_unhealthy_timeout", SPEC(SIZE(3), HEALTH("\"UnhealthyTimeout\":\"1m\"")),
     "a; b; u unhealthy@100000", "", STEADY, 120000, 0,
     "wait unhealthy until=160000 (waiting for u to stay unhealthy for UnhealthyTimeout (1m) before replacing it)\n"
     "= scaling 2/3: waiting for u to stay unhealthy for UnhealthyTimeout (1m) before replacing it\n"
     "state target=NEW good=NEW"},
    {"plan_does_not_remediate_without_a_health_policy", SPEC(SIZE(2), ""), "a; u unhealthy@0", "", STEADY, 999999, 0,
     "= scaling 1/2\n"
     "state target=NEW good=NEW"},
    {"plan_max_unhealthy_short_circuits_remediation",
     SPEC(SIZE(3), HEALTH("\"UnhealthyTimeout\":60,\"MaxUnhealthy\":1")), "a; u1 unhealthy@0; u2 unhealthy@0", "",
     STEADY, 120000, 0,
     "= blocked 1/3: remediation paused: 2 of 3 instances are unhealthy, more than MaxUnhealthy (1)\n"
     "state target=NEW good=NEW"},
    {"plan_max_unhealthy_percent_allows_up_to_its_share",
     SPEC(SIZE(5), HEALTH("\"UnhealthyTimeout\":60,\"MaxUnhealthy\":\"40%\"")),
     "a; b; c; u1 unhealthy@0; u2 unhealthy@0", "", STEADY, 120000, 0,
     "destroy u1 terminate drain (unhealthy for 2m (UnhealthyTimeout 1m))\n"
     "destroy u2 terminate drain (unhealthy for 2m (UnhealthyTimeout 1m))\n"
     "provision hash=NEW (3 of 5 instances)\n"
     "wait in-flight (waiting for 2 destroys to finish before provisioning 1 more (MaxSurge 1))\n"
     "= scaling 3/5: waiting for 2 destroys to finish before provisioning 1 more (MaxSurge 1)\n"
     "state target=NEW good=NEW"},
    {"plan_remediation_in_flight_is_held_by_max_parallel",
     SPEC(SIZE(2), UPD("\"MaxParallel\":1") HEALTH("\"UnhealthyTimeout\":60")), "a; u unhealthy@0", "", STEADY, 120000,
     0,
     "destroy u terminate drain (unhealthy for 2m (UnhealthyTimeout 1m))\n"
     "wait in-flight (1 more action wait for MaxParallel (1 of 1 in flight))\n"
     "= scaling 1/2: 1 more action wait for MaxParallel (1 of 1 in flight)\n"
     "state target=NEW good=NEW"},

    /* --- pets ---------------------------------------------------------------------------------------- */
    {"plan_pets_provisions_missing_logical_ids", SPEC(IDS("\"a\",\"b\",\"c\""), ""), "b1 lid=b", "", STEADY, 1000, 0,
     "provision logical_id=a hash=NEW (missing logical ID a)\n"
     "provision logical_id=c hash=NEW (missing logical ID c)\n"
     "= scaling 1/3\n"
     "state target=NEW good=NEW"},
    {"plan_pets_destroys_extra_logical_ids", SPEC(IDS("\"a\",\"b\""), ""), "a1 lid=a; b1 lid=b; z1 lid=z", "", STEADY,
     1000, 0,
     "destroy z1 terminate drain (logical ID z is not in Allocation.LogicalIDs)\n"
     "= scaling 2/2\n"
     "state target=NEW good=NEW"},
    {"plan_pets_duplicates_keep_target_config_then_available_then_oldest", SPEC(IDS("\"a\""), ""),
     "a1 lid=a c=300; a2 lid=a c=100 unknown; a3 lid=a c=200", "", STEADY, 1000, 0,
     "destroy a1 terminate drain (duplicate of logical ID a, keeping a3)\n"
     "destroy a2 terminate drain (duplicate of logical ID a, keeping a3)\n"
     "= scaling 1/1\n"
     "state target=NEW good=NEW"},
    {"plan_pets_old_duplicate_beside_an_available_new_one_is_replaced", SPEC(IDS("\"a\""), ""),
     "a0 lid=a c=50 h=old; a1 lid=a c=300", "", ROLLING " since=a1:0", 5000, 0,
     "destroy a0 rolling_update drain (rolling update: logical ID a has an available new instance)\n"
     "= rolling 1/1\n"
     "state target=NEW good=old"},
    {"plan_pets_ignore_members_without_a_logical_id", SPEC(IDS("\"a\""), ""), "a1 lid=a; x h=old", "", STEADY, 1000, 0,
     "= steady 1/1\n"
     "state target=NEW good=NEW"},
    {"plan_pets_roll_destroy_first_one_at_a_time_by_default", SPEC(IDS("\"a\",\"b\""), ""),
     "a1 lid=a h=old c=100; b1 lid=b h=old c=200", "", FROM_OLD, 1000, 0,
     "destroy a1 rolling_update drain (rolling update: replace; logical ID a is provisioned after)\n"
     "= rolling 0/2\n"
     "state target=NEW good=old"},
    {"plan_pets_reprovision_a_slot_once_its_destroy_is_done", SPEC(IDS("\"a\",\"b\""), ""), "b1 lid=b h=old c=200", "",
     ROLLING, 2000, 0,
     "provision logical_id=a hash=NEW (missing logical ID a)\n"
     "= rolling 0/2\n"
     "state target=NEW good=old"},
    {"plan_pets_wait_for_a_destroy_in_flight_before_reusing_the_slot", SPEC(IDS("\"a\",\"b\""), ""),
     "a1 lid=a h=old c=100; b1 lid=b h=old c=200", "destroy a1", ROLLING, 2000, 0,
     "wait in-flight (waiting for 1 destroy to finish before provisioning 1 more (MaxSurge 0))\n"
     "= rolling 0/2: waiting for 1 destroy to finish before provisioning 1 more (MaxSurge 0)\n"
     "state target=NEW good=old"},
    /* A quorum's peers: while a's new member boots and b's health is unknown
     * (a check that timed out), b is not taken too: one available slot is
     * fewer than the two MaxUnavailable 1 keeps. */
    {"plan_pets_roll_takes_no_unavailable_peer_while_the_group_is_short",
     SPEC(IDS("\"a\",\"b\",\"c\""), ""), "a2 lid=a c=300 unknown; b1 lid=b h=old c=100 unknown; c1 lid=c h=old c=200",
     "", ROLLING, 5000, 0,
     "wait healthy until=601000 (waiting for 1 new instance to be healthy)\n"
     "= rolling 0/3: waiting for 1 new instance to be healthy\n"
     "state target=NEW good=old"},
    /* With the others available, an unavailable old member goes first. */
    {"plan_pets_roll_replaces_an_unavailable_member_first_when_the_others_are_available",
     SPEC(IDS("\"a\",\"b\",\"c\""), ""), "a1 lid=a h=old c=100; b1 lid=b h=old c=200 unknown; c1 lid=c h=old c=300",
     "", FROM_OLD, 1000, 0,
     "destroy b1 rolling_update drain (rolling update: replace; logical ID b is provisioned after)\n"
     "= rolling 0/3\n"
     "state target=NEW good=old"},
    {"plan_pets_surge_beside_the_old_instance_when_max_surge_allows",
     SPEC(IDS("\"a\",\"b\""), UPD("\"MaxSurge\":1,\"MaxUnavailable\":0")), "a1 lid=a h=old c=100; b1 lid=b h=old c=200",
     "", FROM_OLD, 1000, 0,
     "provision logical_id=a hash=NEW (rolling update: surge for logical ID a)\n"
     "= rolling 0/2\n"
     "state target=NEW good=old"},
    {"plan_pets_remediation_waits_for_the_destroy_before_reprovisioning",
     SPEC(IDS("\"a\",\"b\""), HEALTH("\"UnhealthyTimeout\":60")), "a1 lid=a unhealthy@0; b1 lid=b", "", STEADY, 120000, 0,
     "destroy a1 terminate drain (unhealthy for 2m (UnhealthyTimeout 1m))\n"
     "wait in-flight (waiting for 1 destroy to finish before provisioning 1 more (MaxSurge 0))\n"
     "= scaling 1/2: waiting for 1 destroy to finish before provisioning 1 more (MaxSurge 0)\n"
     "state target=NEW good=NEW"},

    /* --- self ------------------------------------------------------------------------------------------ */
    {"plan_drains_self_when_it_is_the_last_old_instance", SPEC(SIZE(2), ""), "s h=old c=100 self; n1; n2", "", ROLLING,
     5000, 0,
     "drain s (runs this daemon and is the last instance with the old config)\n"
     "= blocked 2/2: instance s runs this daemon and is the last with the old config: drained and left for another "
     "manager to replace\n"
     "state target=NEW good=old"},
    {"plan_drains_self_only_once", SPEC(SIZE(2), ""), "s h=old c=100 self; n1; n2", "", ROLLING " self_drained=NEW", 6000,
     0,
     "= blocked 2/2: instance s runs this daemon and is the last with the old config: drained and left for another "
     "manager to replace\n"
     "state target=NEW good=old"},
};

/* --- harness -------------------------------------------------------------------------------------------- */

typedef struct fixture {
  ik_group_spec_t spec;
  ik_plan_instance_t inst[32];
  size_t n_inst;
  ik_plan_inflight_t flight[16];
  size_t n_flight;
  ik_rollout_state_t state;
  bool has_state;
  char *text; /* owns every string above */
} fixture_t;

static const char *hash_word(fixture_t *f, const char *w) { return strcmp(w, "NEW") == 0 ? f->spec.config_hash : w; }

static void copy_hash(char *dst, const char *src) { snprintf(dst, IK_HASH_LEN + 1, "%s", src); }

static void parse_instances(fixture_t *f, char *s) {
  char *save1, *item;
  for (item = strtok_r(s, ";", &save1); item; item = strtok_r(NULL, ";", &save1)) {
    char *save2, *w = strtok_r(item, " ", &save2);
    if (w == NULL) continue;
    assert_true(f->n_inst < 32);
    ik_plan_instance_t *in = &f->inst[f->n_inst++];
    in->id = w;
    in->group = "web";
    in->config_hash = f->spec.config_hash;
    in->health = IK_HEALTH_HEALTHY;
    while ((w = strtok_r(NULL, " ", &save2))) {
      if (strncmp(w, "lid=", 4) == 0) in->logical_id = w + 4;
      else if (strncmp(w, "g=", 2) == 0) in->group = w + 2;
      else if (strcmp(w, "nogroup") == 0) in->group = NULL;
      else if (strcmp(w, "h=none") == 0) in->config_hash = NULL;
      else if (strncmp(w, "h=", 2) == 0) in->config_hash = hash_word(f, w + 2);
      else if (strncmp(w, "c=", 2) == 0) in->created_ms = strtoll(w + 2, NULL, 10);
      else if (strcmp(w, "healthy") == 0) in->health = IK_HEALTH_HEALTHY;
      else if (strcmp(w, "unknown") == 0) in->health = IK_HEALTH_UNKNOWN;
      else if (strncmp(w, "unhealthy@", 10) == 0) {
        in->health = IK_HEALTH_UNHEALTHY;
        in->unhealthy_since_ms = strtoll(w + 10, NULL, 10);
      } else if (strcmp(w, "self") == 0) in->self = true;
      else if (strcmp(w, "adopted") == 0) in->adopted = true;
      else fail_msg("bad instance word '%s'", w);
    }
  }
}

static void parse_in_flight(fixture_t *f, char *s) {
  char *save1, *item;
  for (item = strtok_r(s, ";", &save1); item; item = strtok_r(NULL, ";", &save1)) {
    char *save2, *w = strtok_r(item, " ", &save2);
    if (w == NULL) continue;
    assert_true(f->n_flight < 16);
    ik_plan_inflight_t *fl = &f->flight[f->n_flight++];
    if (strcmp(w, "provision") == 0) fl->kind = IK_ACTION_PROVISION;
    else if (strcmp(w, "destroy") == 0) fl->kind = IK_ACTION_DESTROY;
    else if (strcmp(w, "drain") == 0) fl->kind = IK_ACTION_DRAIN;
    else if (strcmp(w, "label") == 0) fl->kind = IK_ACTION_LABEL;
    else fail_msg("bad in-flight kind '%s'", w);
    while ((w = strtok_r(NULL, " ", &save2))) {
      if (strncmp(w, "lid=", 4) == 0) fl->logical_id = w + 4;
      else if (strncmp(w, "h=", 2) == 0) fl->config_hash = hash_word(f, w + 2);
      else fl->id = w;
    }
  }
}

static void parse_state(fixture_t *f, char *s) {
  ik_rollout_state_t *st = &f->state;
  char *save, *w;
  char *failure = strstr(s, "failure=");
  if (failure) {
    snprintf(st->failure, sizeof st->failure, "%s", failure + 8);
    *failure = '\0';
  }
  for (w = strtok_r(s, " ", &save); w; w = strtok_r(NULL, " ", &save)) {
    if (strncmp(w, "spec=", 5) == 0) copy_hash(st->spec_hash, hash_word(f, w + 5));
    else if (strncmp(w, "target=", 7) == 0) copy_hash(st->target_hash, hash_word(f, w + 7));
    else if (strncmp(w, "good=", 5) == 0) copy_hash(st->good_hash, hash_word(f, w + 5));
    else if (strncmp(w, "self_drained=", 13) == 0) copy_hash(st->self_drained_hash, hash_word(f, w + 13));
    else if (strcmp(w, "promoted") == 0) st->canary_promoted = true;
    else if (strcmp(w, "paused") == 0) st->paused = true;
    else if (strcmp(w, "rolled_back") == 0) st->rolled_back = true;
    else if (strncmp(w, "started=", 8) == 0) st->started_ms = strtoll(w + 8, NULL, 10);
    else if (strncmp(w, "since=", 6) == 0) {
      char *save2, *e;
      for (e = strtok_r(w + 6, ",", &save2); e; e = strtok_r(NULL, ",", &save2)) {
        char *colon = strchr(e, ':');
        assert_non_null(colon);
        *colon = '\0';
        st->healthy = ik_realloc(st->healthy, (st->n_healthy + 1) * sizeof *st->healthy);
        st->healthy[st->n_healthy].id = ik_strdup(e);
        st->healthy[st->n_healthy].since_ms = strtoll(colon + 1, NULL, 10);
        st->n_healthy++;
      }
    } else fail_msg("bad state word '%s'", w);
  }
}

/* Replace every occurrence of the spec hash with NEW. */
static char *symbolic(const char *s, const char *hash) {
  ik_buf_t b = {0};
  size_t n = strlen(hash);
  while (*s) {
    if (strncmp(s, hash, n) == 0) {
      ik_buf_puts(&b, "NEW");
      s += n;
    } else {
      ik_buf_putc(&b, *s++);
    }
  }
  return ik_buf_steal(&b, NULL);
}

static char *render(const ik_plan_t *p) {
  ik_buf_t b = {0};
  for (size_t i = 0; i < p->n_actions; i++) {
    ik_plan_action_format(&b, &p->actions[i]);
    ik_buf_putc(&b, '\n');
  }
  ik_buf_puts(&b, "= ");
  ik_plan_summary_format(&b, &p->summary);
  ik_buf_printf(&b, "\nstate target=%s good=%s%s%s%s", p->next.target_hash, p->next.good_hash,
                p->next.rolled_back ? " rolled_back" : "", p->next.canary_promoted ? " promoted" : "",
                p->next.paused ? " paused" : "");
  return ik_buf_steal(&b, NULL);
}

/* Build the fixture for a case; the caller frees with fixture_free. */
static void fixture_load(fixture_t *f, const plan_case_t *c) {
  memset(f, 0, sizeof *f);
  json_error_t jerr;
  json_t *spec = json_loads(c->spec, 0, &jerr);
  if (spec == NULL) fail_msg("%s: bad spec JSON: %s", c->name, jerr.text);
  ik_err_t err = {0};
  /* No size limit here: the plan must stay bounded whatever it is given. */
  if (ik_group_spec_parse_limited(spec, UINT64_MAX, &f->spec, &err) != 0) fail_msg("%s: %s", c->name, err.msg);
  json_decref(spec);
  size_t a = strlen(c->instances), b = strlen(c->in_flight), s = c->state ? strlen(c->state) : 0;
  f->text = ik_calloc(1, a + b + s + 3);
  memcpy(f->text, c->instances, a);
  memcpy(f->text + a + 1, c->in_flight, b);
  parse_instances(f, f->text);
  parse_in_flight(f, f->text + a + 1);
  if (c->state) {
    memcpy(f->text + a + b + 2, c->state, s);
    parse_state(f, f->text + a + b + 2);
    f->has_state = true;
  }
}

static void fixture_free(fixture_t *f) {
  ik_group_spec_free(&f->spec);
  ik_rollout_state_free(&f->state);
  ik_free(f->text);
}

static char *run(fixture_t *f, const plan_case_t *c, ik_plan_t *p) {
  ik_plan_input_t in = {
      .spec = &f->spec,
      .instances = f->inst,
      .n_instances = f->n_inst,
      .in_flight = f->flight,
      .n_in_flight = f->n_flight,
      .state = f->has_state ? &f->state : NULL,
      .now_ms = c->now,
      .poll_ms = 5000,
      .seed = c->seed,
      .window = c->window,
  };
  ik_err_t err = {0};
  if (ik_plan_compute(&in, p, &err) != 0) fail_msg("%s: %s", c->name, err.msg);
  char *raw = render(p);
  char *out = symbolic(raw, f->spec.config_hash);
  ik_free(raw);
  return out;
}

static void plan_case(void **state) {
  const plan_case_t *c = *state;
  fixture_t f;
  ik_plan_t p;
  fixture_load(&f, c);
  char *got = run(&f, c, &p);
  if (strcmp(got, c->want) != 0) fail_msg("%s\n--- got\n%s\n--- want\n%s", c->name, got, c->want);
  /* Pure: the same input gives the same output. */
  ik_plan_t again;
  char *got2 = run(&f, c, &again);
  assert_string_equal(got, got2);
  ik_free(got2);
  ik_plan_free(&again);
  ik_free(got);
  ik_plan_free(&p);
  fixture_free(&f);
}

/* --- tests outside the table ------------------------------------------------------------------------------- */

/* The next state remembers when each member was first seen healthy: the
 * old record is kept, a newly healthy one starts now, others are dropped. */
static void plan_next_state_keeps_first_seen_healthy_times(void **state) {
  (void)state;
  static const plan_case_t c = {"since", SPEC(SIZE(4), ""), "a; b; u unhealthy@0; k unknown; x g=db", "",
                                STEADY " since=a:100,u:50,gone:10", 5000, 0, ""};
  fixture_t f;
  ik_plan_t p;
  fixture_load(&f, &c);
  ik_free(run(&f, &c, &p));
  assert_int_equal(p.next.n_healthy, 2);
  assert_string_equal(p.next.healthy[0].id, "a");
  assert_int_equal(p.next.healthy[0].since_ms, 100);
  assert_string_equal(p.next.healthy[1].id, "b");
  assert_int_equal(p.next.healthy[1].since_ms, 5000);
  assert_string_equal(p.next.spec_hash, f.spec.config_hash);
  assert_int_equal(p.next.phase, p.summary.phase);
  assert_int_equal(p.summary.desired, 4);
  assert_int_equal(p.summary.current, 4);
  assert_int_equal(p.summary.updated, 4);
  assert_int_equal(p.summary.available, 2);
  assert_int_equal(p.summary.unhealthy, 1);
  ik_plan_free(&p);
  fixture_free(&f);
}

/* A new rollout starts its clock and forgets an earlier promotion. */
static void plan_new_target_resets_canary_and_starts_the_clock(void **state) {
  (void)state;
  static const plan_case_t c = {"reset", SPEC(SIZE(1), UPD("\"Canary\":1")), "o h=old", "",
                                "spec=old target=old good=old promoted started=5", 7777, 0, ""};
  fixture_t f;
  ik_plan_t p;
  fixture_load(&f, &c);
  ik_free(run(&f, &c, &p));
  assert_false(p.next.canary_promoted);
  assert_int_equal(p.next.started_ms, 7777);
  assert_string_equal(p.next.target_hash, f.spec.config_hash);
  assert_string_equal(p.next.good_hash, "old");
  ik_plan_free(&p);
  fixture_free(&f);
}

/* Drive the plan to convergence against a toy world where every action
 * completes at once and new instances are healthy at once: each rollout
 * policy must converge to the desired count at the new config without
 * ever exceeding desired + MaxSurge instances, dropping below desired -
 * MaxUnavailable, holding a logical ID twice when MaxSurge is 0, or
 * touching an instance of another group. */
typedef struct sim_inst {
  char id[16], lid[16], hash[IK_HASH_LEN + 1];
  int64_t created;
} sim_inst_t;

static void plan_rollouts_converge_within_their_budgets(void **state) {
  (void)state;
  static const struct {
    const char *spec;
    int n_old;          /* old instances at the start (pets: one per logical ID) */
    int64_t max, min;   /* bounds on the group's instance count at every step */
    bool pets, promote; /* promote when canary-paused */
    bool bad_new;       /* instances at the new config report unhealthy: expect a rollback */
  } sims[] = {
      {SPEC(SIZE(6), ""), 6, 7, 6, false, false, false},
      {SPEC(SIZE(6), UPD("\"MaxSurge\":0,\"MaxUnavailable\":2")), 6, 6, 4, false, false, false},
      {SPEC(SIZE(6), UPD("\"MaxSurge\":\"50%\",\"MaxUnavailable\":\"50%\"")), 6, 9, 3, false, false, false},
      {SPEC(SIZE(5), UPD("\"Canary\":2")), 5, 6, 5, false, true, false},
      {SPEC(SIZE(8), ""), 3, 9, 3, false, false, false}, /* scale up during the rollout */
      {SPEC(SIZE(2), ""), 6, 7, 2, false, false, false}, /* scale down during the rollout */
      {SPEC(IDS("\"a\",\"b\",\"c\""), ""), 3, 3, 2, true, false, false},
      {SPEC(IDS("\"a\",\"b\",\"c\""), UPD("\"MaxSurge\":1,\"MaxUnavailable\":0")), 3, 4, 3, true, false, false},
      {SPEC(IDS("\"a\",\"b\",\"c\",\"d\""), UPD("\"Canary\":1")), 4, 4, 3, true, true, false},
      {SPEC(SIZE(4), UPD("\"MinHealthySeconds\":2.5")), 4, 5, 4, false, false, false},
      {SPEC(SIZE(4), UPD("\"MaxSurge\":2,\"AutoRollback\":true")), 4, 6, 4, false, false, true},
      {SPEC(IDS("\"a\",\"b\",\"c\""), UPD("\"AutoRollback\":true")), 3, 3, 2, true, false, true},
  };
  for (size_t s = 0; s < sizeof sims / sizeof sims[0]; s++) {
    ik_group_spec_t spec;
    json_t *j = json_loads(sims[s].spec, 0, NULL);
    assert_int_equal(ik_group_spec_parse(j, &spec, NULL), 0);
    json_decref(j);
    sim_inst_t world[64];
    size_t n = 0;
    int next_id = 0;
    for (int i = 0; i < sims[s].n_old; i++, n++) {
      snprintf(world[n].id, sizeof world[n].id, "o%d", i);
      snprintf(world[n].lid, sizeof world[n].lid, "%s", sims[s].pets ? spec.logical_ids[i] : "");
      snprintf(world[n].hash, sizeof world[n].hash, "old");
      world[n].created = i;
    }
    snprintf(world[n].id, sizeof world[n].id, "foreign");
    snprintf(world[n].hash, sizeof world[n].hash, "old");
    world[n++].lid[0] = '\0';
    ik_rollout_state_t st;
    ik_rollout_state_init(&st);
    snprintf(st.spec_hash, sizeof st.spec_hash, "old");
    snprintf(st.target_hash, sizeof st.target_hash, "old");
    snprintf(st.good_hash, sizeof st.good_hash, "old");
    int64_t now = 1000;
    int step;
    for (step = 0; step < 60; step++, now += 1000) {
      ik_plan_instance_t obs[64];
      for (size_t i = 0; i < n; i++)
        obs[i] = (ik_plan_instance_t){.id = world[i].id, .logical_id = world[i].lid[0] ? world[i].lid : NULL, .group = strcmp(world[i].id, "foreign") ? "web" : "db", .config_hash = world[i].hash, .created_ms = world[i].created, .health = IK_HEALTH_HEALTHY, .unhealthy_since_ms = world[i].created};
      for (size_t i = 0; i < n; i++)
        if (sims[s].bad_new && strcmp(world[i].hash, spec.config_hash) == 0) obs[i].health = IK_HEALTH_UNHEALTHY;
      ik_plan_input_t in = {.spec = &spec, .instances = obs, .n_instances = n, .state = &st, .now_ms = now, .poll_ms = 1000};
      ik_plan_t p;
      assert_int_equal(ik_plan_compute(&in, &p, NULL), 0);
      ik_rollout_state_free(&st);
      ik_rollout_state_copy(&st, &p.next);
      bool done = sims[s].bad_new ? p.summary.phase == IK_PHASE_BLOCKED && p.next.rolled_back
                                  : p.summary.phase == IK_PHASE_STEADY;
      if (done) {
        ik_plan_free(&p);
        break;
      }
      if (p.summary.phase == IK_PHASE_CANARY_PAUSED && sims[s].promote) st.canary_promoted = true;
      if (p.summary.phase == IK_PHASE_BLOCKED) fail_msg("sim %zu step %d: blocked: %s", s, step, p.summary.reason);
      for (size_t a = 0; a < p.n_actions; a++) {
        const ik_plan_action_t *act = &p.actions[a];
        if (act->kind == IK_ACTION_DESTROY) {
          assert_string_not_equal(act->id, "foreign");
          for (size_t i = 0; i < n; i++)
            if (strcmp(world[i].id, act->id) == 0) world[i] = world[--n];
        } else if (act->kind == IK_ACTION_PROVISION) {
          assert_true(n < 64);
          snprintf(world[n].id, sizeof world[n].id, "p%d", next_id++);
          snprintf(world[n].lid, sizeof world[n].lid, "%s", act->logical_id ? act->logical_id : "");
          snprintf(world[n].hash, sizeof world[n].hash, "%s", act->config_hash);
          world[n++].created = now;
        }
      }
      int64_t members = (int64_t)n - 1;
      if (members > sims[s].max || members < sims[s].min)
        fail_msg("sim %zu step %d: %" PRId64 " instances, want %" PRId64 "..%" PRId64, s, step, members,
                 sims[s].min, sims[s].max);
      if (sims[s].pets && ik_intstr_scaled(spec.updating.max_surge, (int64_t)spec.size, true) == 0)
        for (size_t i = 0; i < n; i++)
          for (size_t k = i + 1; k < n; k++)
            if (world[i].lid[0] && strcmp(world[i].lid, world[k].lid) == 0)
              fail_msg("sim %zu step %d: logical ID %s held twice", s, step, world[i].lid);
      ik_plan_free(&p);
    }
    if (step == 60) fail_msg("sim %zu did not converge", s);
    const char *final = sims[s].bad_new ? "old" : spec.config_hash;
    assert_int_equal((int64_t)n - 1, (int64_t)spec.size);
    for (size_t i = 0; i < n; i++)
      if (strcmp(world[i].id, "foreign") != 0) assert_string_equal(world[i].hash, final);
    assert_string_equal(st.good_hash, final);
    assert_string_equal(st.target_hash, final);
    ik_rollout_state_free(&st);
    ik_group_spec_free(&spec);
  }
}

/* Current and updated count instances that exist: not the provisions
 * this plan proposes or holds back, nor those in flight, nor members being
 * destroyed. */
static void plan_summary_counts_only_existing_instances(void **state) {
  (void)state;
  static const plan_case_t cases2[] = {
      {"none yet", SPEC(SIZE(6), UPD("\"MaxParallel\":2")), "", "", NULL, 1000, 0, ""},
      {"two in flight", SPEC(SIZE(6), UPD("\"MaxParallel\":2")), "a; b h=old", "provision h=NEW; provision h=NEW; destroy b",
       STEADY, 1000, 0, ""},
  };
  static const uint64_t want_current[] = {0, 1}, want_updated[] = {0, 1};
  for (size_t i = 0; i < 2; i++) {
    fixture_t f;
    ik_plan_t p;
    fixture_load(&f, &cases2[i]);
    ik_free(run(&f, &cases2[i], &p));
    if (p.summary.current != want_current[i] || p.summary.updated != want_updated[i])
      fail_msg("%s: current %" PRIu64 " updated %" PRIu64 ", want %" PRIu64 " and %" PRIu64, cases2[i].name,
               p.summary.current, p.summary.updated, want_current[i], want_updated[i]);
    ik_plan_free(&p);
    fixture_free(&f);
  }
}

static void plan_refuses_input_without_ids(void **state) {
  (void)state;
  static const plan_case_t c = {"ids", SPEC(SIZE(1), ""), "", "", NULL, 0, 0, ""};
  fixture_t f;
  fixture_load(&f, &c);
  ik_plan_instance_t bad = {.id = NULL, .group = "web"};
  ik_plan_input_t in = {.spec = &f.spec, .instances = &bad, .n_instances = 1};
  ik_plan_t p;
  ik_err_t err = {0};
  assert_int_equal(ik_plan_compute(&in, &p, &err), IK_EINVAL);
  assert_string_equal(err.msg, "plan: instance 0 has no ID");
  assert_int_equal(p.n_actions, 0);
  ik_plan_inflight_t fl = {.kind = IK_ACTION_DESTROY};
  in = (ik_plan_input_t){.spec = &f.spec, .in_flight = &fl, .n_in_flight = 1};
  assert_int_equal(ik_plan_compute(&in, &p, &err), IK_EINVAL);
  assert_string_equal(err.msg, "plan: in-flight action 0 has no instance ID");
  in = (ik_plan_input_t){0};
  assert_int_equal(ik_plan_compute(&in, &p, &err), IK_EINVAL);
  fixture_free(&f);
}

int main(void) {
  enum { N = sizeof cases / sizeof cases[0] };
  struct CMUnitTest tests[N + 5];
  for (size_t i = 0; i < N; i++)
    tests[i] = (struct CMUnitTest){.name = cases[i].name, .test_func = plan_case, .initial_state = (void *)(uintptr_t)&cases[i]};
  tests[N] = (struct CMUnitTest)cmocka_unit_test(plan_next_state_keeps_first_seen_healthy_times);
  tests[N + 1] = (struct CMUnitTest)cmocka_unit_test(plan_new_target_resets_canary_and_starts_the_clock);
  tests[N + 2] = (struct CMUnitTest)cmocka_unit_test(plan_rollouts_converge_within_their_budgets);
  tests[N + 3] = (struct CMUnitTest)cmocka_unit_test(plan_refuses_input_without_ids);
  tests[N + 4] = (struct CMUnitTest)cmocka_unit_test(plan_summary_counts_only_existing_instances);
  return _cmocka_run_group_tests("plan", tests, N + 5, NULL, NULL);
}
