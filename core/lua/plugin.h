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
 *   watch(notify)                   (optional) runs in a task of its own
 *                                   from load until the provider is
 *                                   reloaded or freed; notify(id) / notify()
 *                                   reports an instance changed or gone /
 *                                   "describe again" to the vtable's
 *                                   watchers, from the loop (docs/writing-a-provider.md)
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

/* The same for an instance provider. Its vtable has watch and unwatch;
 * events come when the loaded code has watch(notify). */
int ik_lua_instance_load(ik_lua_t *rt, const char *name, const char *path, const char *module,
                         ik_instance_plugin_t *out, ik_err_t *err);

/* Load a plugin's file again and serve the new version from now on. Calls
 * already running finish on the old version; an instance provider keeps
 * its watchers (the old version's watch task is cancelled and its notify
 * goes dead, the new version's watch starts). When the file does not load
 * (syntax error, error while running, not a table, a required function
 * missing) the old version keeps serving and the error is returned
 * (IK_ELUA, naming the file and line). A provider's watchers get a
 * "describe again" event (id NULL) when a new version takes over, since
 * neither version's watch saw what changed in between. With only_if_changed, a file whose
 * bytes are those loaded last is left alone. *reloaded (may be NULL) says
 * whether a new version is now serving. A built-in module (loaded with
 * require) is IK_ESTATE; a plugin that is not a Lua one IK_EINVAL. Not from
 * inside Lua code. */
int ik_lua_flavor_reload(ik_flavor_plugin_t *pl, bool only_if_changed, bool *reloaded, ik_err_t *err);
int ik_lua_instance_reload(ik_instance_plugin_t *pl, bool only_if_changed, bool *reloaded, ik_err_t *err);

#endif
