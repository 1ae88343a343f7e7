/* InfraKit's wire types as Go decodes and encodes them.
 *
 * A Go server decodes a request into structs (field names matched ignoring
 * case, unknown fields ignored, null = the zero value, a mistyped field =
 * an error) and encodes its results from structs (every field present, in
 * declaration order, nil maps/slices/pointers as null). The functions here
 * do both in one step: given a JSON value as it arrived, they return the
 * value Go would encode after decoding it into the InfraKit type, so a
 * server written against these shapes answers byte for byte as InfraKit's
 * does (reference §2, §11; wire-examples "Go JSON quirks").
 *
 * Conventions: v is borrowed and may be NULL or a JSON null (absent: the
 * zero value); path names v in error messages ("params.Spec"). On success
 * *out is a new reference. On a mistyped field the result is IK_EINVAL with
 * err naming the first bad field ("params.Index.Sequence: want a
 * non-negative integer, got -1") and *out is NULL. */
#ifndef IK_NET_GO_TYPES_H
#define IK_NET_GO_TYPES_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "base/buf.h"
#include "base/err.h"

/* --- fields of a request object (obj may be NULL: every field absent) --- */

/* A string field; "" when absent. *out borrows from obj. */
int ik_go_get_string(const json_t *obj, const char *key, const char *path, const char **out, ik_err_t *err);
/* A bool field; false when absent. */
int ik_go_get_bool(const json_t *obj, const char *key, const char *path, bool *out, ik_err_t *err);
/* A uint field (an integer >= 0, not 2.0); 0 when absent. */
int ik_go_get_uint(const json_t *obj, const char *key, const char *path, uint64_t *out, ik_err_t *err);
/* A struct field: *out is the object (borrowed) or NULL when absent. */
int ik_go_get_object(const json_t *obj, const char *key, const char *path, json_t **out, ik_err_t *err);

/* --- values ---------------------------------------------------------- */

/* map[string]string: an object of strings, or null. */
int ik_go_string_map(const json_t *v, const char *path, json_t **out, ik_err_t *err);
/* []string: an array of strings, or null. */
int ik_go_string_list(const json_t *v, const char *path, json_t **out, ik_err_t *err);
/* instance.Spec {"Properties", "Tags", "Init", "LogicalID", "Attachments"}. */
int ik_go_instance_spec(const json_t *v, const char *path, json_t **out, ik_err_t *err);
/* instance.Description {"ID", "LogicalID", "Tags"[, "Properties"]}:
 * Properties is omitted when null (omitempty). */
int ik_go_description(const json_t *v, const char *path, json_t **out, ik_err_t *err);
/* []instance.Description, or null. */
int ik_go_description_list(const json_t *v, const char *path, json_t **out, ik_err_t *err);
/* group.AllocationMethod {"Size", "LogicalIDs"}. */
int ik_go_allocation(const json_t *v, const char *path, json_t **out, ik_err_t *err);
/* group.Index {"Group", "Sequence"}. */
int ik_go_index(const json_t *v, const char *path, json_t **out, ik_err_t *err);
/* group.Spec {"ID", "Properties"}. */
int ik_go_group_spec(const json_t *v, const char *path, json_t **out, ik_err_t *err);
/* []group.Spec, or null. */
int ik_go_group_spec_list(const json_t *v, const char *path, json_t **out, ik_err_t *err);
/* group.Description {"Instances", "Converged"}. */
int ik_go_group_description(const json_t *v, const char *path, json_t **out, ik_err_t *err);

/* url.URL as Go 1.19's url.Parse(text) fills it and encoding/json writes
 * it: {"Scheme", "Opaque", "User", "Host", "Path", "RawPath", "OmitHost",
 * "ForceQuery", "RawQuery", "Fragment", "RawFragment"}; User is {} when the
 * URL has userinfo (its fields are unexported), else null. IK_EINVAL when
 * Go would refuse text (control characters, a bad %-escape, a bad port,
 * a missing scheme before ':'). */
int ik_go_url(const char *text, json_t **out, ik_err_t *err);

/* Append s escaped as Go's url.QueryEscape does (a query parameter's name
 * or value: space as '+', everything but [A-Za-z0-9-_.~] %-escaped). */
void ik_go_query_escape(ik_buf_t *out, const char *s);

#endif
