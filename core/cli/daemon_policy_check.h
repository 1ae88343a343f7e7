/* The daemon's check of a scaling policy at commit (docs/autoscaling.md):
 * what the engine cannot tell from the spec's shape alone. An inline
 * policy ({"Source": "<Lua>"}) must compile, a named one must be a file
 * $INFRAKIT_HOME/policies/NAME.lua that compiles; the built-in needs
 * nothing. Compiled only, as text, never run: running is the autoscaler's,
 * in the sandbox. The file may still change before an evaluation reads it
 * (it is read again at each one). */
#ifndef IK_CLI_DAEMON_POLICY_CHECK_H
#define IK_CLI_DAEMON_POLICY_CHECK_H

#include <jansson.h>

#include "base/err.h"
#include "lua/runtime.h"

/* policy: Properties.Scaling.Policy as committed (borrowed; its shape
 * already checked). Returns 0, or IK_EINVAL with err naming the field
 * ("Properties.Scaling.Policy: policy \"queue\" does not compile: ..."). */
int ik_daemon_policy_check(ik_lua_t *lua, const char *home, const json_t *policy, ik_err_t *err);

#endif
