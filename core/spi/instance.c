/* Helpers every instance plugin shares (instance.h). */
#include "spi/instance.h"

#include <string.h>

bool ik_instance_tags_match(const json_t *tags, json_t *want) {
  const char *k;
  json_t *v;
  json_object_foreach(want, k, v) {
    json_t *have = json_object_get(tags, k);
    if (!json_is_string(have) || !json_is_string(v) || strcmp(json_string_value(have), json_string_value(v)) != 0)
      return false;
  }
  return true;
}
