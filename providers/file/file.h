/* instance-file: instances as JSON files in a directory (see file.c). */
#ifndef IK_PROVIDERS_FILE_H
#define IK_PROVIDERS_FILE_H

#include "loop/loop.h"
#include "spi/instance.h"

/* An instance plugin keeping one file per instance in dir (created 0700 if
 * missing). Free with out->vt->free(out->self). */
int ik_file_provider_new(ik_loop_t *loop, const char *dir, ik_instance_plugin_t *out, ik_err_t *err);

#endif
