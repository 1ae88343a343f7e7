/* Flavors and instance providers written in Lua, behind the same SPI
 * vtables as native drivers and remote plugins (core/spi/).
 *
 * A Lua flavor is a module (a file, or a module name for require) that
 * returns a table:
 *   validate(properties, allocation)              → true | nil, msg[, code]
 *   prepare(properties, spec, allocation, index)  → spec | nil, msg[, code]
 *   healthy(properties, instance)                 → "healthy" | "unhealthy" | "unknown"
 *   drain(properties, instance)                   → true | nil, msg[, code]
 * (validate and prepare required; healthy defaults to "healthy", drain to
 * nothing). A Lua instance provider returns:
 *   validate(properties)            → true          (optional: default true)
 *   provision(spec)                 → id
 *   label(id, labels)               → true          (optional: "not supported")
 *   destroy(id, context)            → true          (context = {Reason = ...})
 *   describe(tags, with_properties) → { description, ... }
 * Arguments and results are InfraKit's JSON shapes as plain Lua tables
 * (reference §2-3). Each call runs in its own task, bounded by the
 * watchdog, and may wait (exec, http, rpc, sleep) without blocking the
 * loop. A function that raises or is stopped by the watchdog fails the
 * call with a one-line message; the traceback goes to the log. */
#ifndef IK_LUA_PLUGIN_H
#define IK_LUA_PLUGIN_H

#include "base/err.h"
#include "lua/runtime.h"
#include "spi/flavor.h"
#include "spi/instance.h"

/* Load a flavor from the file at path, or (path NULL) from module with
 * require ("infrakit.flavors.vanilla"). name is used in messages. A syntax
 * error, a runtime error while loading, a result that is not a table or a
 * missing required function is IK_ELUA, naming the file (and line). The
 * plugin keeps rt: free the plugin before the runtime. */
int ik_lua_flavor_load(ik_lua_t *rt, const char *name, const char *path, const char *module,
                       ik_flavor_plugin_t *out, ik_err_t *err);

/* The same for an instance provider. */
int ik_lua_instance_load(ik_lua_t *rt, const char *name, const char *path, const char *module,
                         ik_instance_plugin_t *out, ik_err_t *err);

#endif
