/* Compiling a scaling policy at commit (daemon_policy_check.h). */
#include "cli/daemon_policy_check.h"

#include <string.h>

#include "base/json.h"
#include "base/mem.h"
#include "engine/scaling_spec.h"

#define FIELD "Properties.Scaling.Policy"

int ik_daemon_policy_check(ik_lua_t *lua, const char *home, const json_t *policy, ik_err_t *err) {
  ik_err_t e = {0};
  if (json_is_string(policy)) {
    const char *name = json_string_value(policy);
    if (strcmp(name, IK_SCALING_TARGET_UTILISATION) == 0) return 0;
    char *path = ik_sprintf("%s/policies/%s.lua", home, name);
    int rc = ik_lua_compile_file_check(lua, path, &e);
    ik_free(path);
    if (rc == IK_ENOTFOUND)
      return ik_err_set(err, IK_EINVAL, FIELD ": no policy \"%s\": %s (want a file $INFRAKIT_HOME/policies/%s.lua)",
                        name, e.msg, name);
    if (rc < 0) return ik_err_set(err, IK_EINVAL, FIELD ": policy \"%s\" does not compile: %s", name, e.msg);
    return 0;
  }
  const json_t *src = ik_json_get(policy, "Source");
  if (!json_is_string(src)) return 0; /* the engine refused that already */
  if (ik_lua_compile_check(lua, json_string_value(src), json_string_length(src), "=inline policy", &e) < 0)
    return ik_err_set(err, IK_EINVAL, FIELD ".Source: does not compile: %s", e.msg);
  return 0;
}
