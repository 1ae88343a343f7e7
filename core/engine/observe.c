/* Instance descriptions as the plan sees them (observe.h). */
#include "engine/observe.h"

#include <string.h>

#include "base/mem.h"

/* A string tag, or NULL. */
static const char *tag(const json_t *tags, const char *key) {
  return json_string_value(json_object_get(tags, key));
}

int ik_observe_descriptions(const json_t *descs, ik_plan_instance_t **out, size_t *n, ik_err_t *err) {
  *out = NULL;
  *n = 0;
  if (descs != NULL && !json_is_array(descs) && !json_is_null(descs))
    return ik_err_set(err, IK_EINVAL, "descriptions: want a list");
  size_t count = json_array_size(descs);
  ik_plan_instance_t *list = ik_calloc(count ? count : 1, sizeof *list);
  for (size_t i = 0; i < count; i++) {
    const json_t *d = json_array_get(descs, i);
    const char *id = json_string_value(json_object_get(d, "ID"));
    if (id == NULL || *id == '\0') {
      ik_free(list);
      return ik_err_set(err, IK_EINVAL, "descriptions[%zu].ID: missing", i);
    }
    const json_t *tags = json_object_get(d, "Tags");
    const char *lid = json_string_value(json_object_get(d, "LogicalID"));
    list[i] = (ik_plan_instance_t){
        .id = id,
        .logical_id = lid ? lid : tag(tags, IK_TAG_LOGICAL_ID),
        .group = tag(tags, IK_TAG_GROUP),
        .config_hash = tag(tags, IK_TAG_CONFIG_HASH),
        .health = IK_HEALTH_UNKNOWN,
    };
  }
  *out = list;
  *n = count;
  return 0;
}
