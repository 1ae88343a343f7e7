/* core/net/server/rpc_group: Group/0.1.1 and Stack/0.1.1 (Manager.*) served from
 * the group and manager vtables. A real rpc_server on a unix socket, a raw
 * HTTP client and doubles that record their arguments and answer later
 * from the loop: the recorded InfraKit exchanges byte for byte, Go's
 * decoding, -32602 naming the bad field, driver errors, keyed dispatch by
 * Name, several interfaces on one socket, leadership and Go's url.URL. */
#include "rpc_harness.h"

#include "net/go_types.h"
#include "net/server/rpc_flavor.h"
#include "net/server/rpc_group.h"

/* --- the doubles ------------------------------------------------------------ */

static int gd_commit(void *self, json_t *spec, bool pretend, ik_spi_cb cb, void *data, ik_err_t *err) {
  return double_answer(self, "commit", json_pack("[O,b]", spec, pretend), cb, data, err);
}

static int gd_free_group(void *self, const char *id, ik_spi_cb cb, void *data, ik_err_t *err) {
  return double_answer(self, "free_group", json_pack("[s]", id), cb, data, err);
}

static int gd_describe(void *self, const char *id, ik_spi_cb cb, void *data, ik_err_t *err) {
  return double_answer(self, "describe", json_pack("[s]", id), cb, data, err);
}

static int gd_destroy(void *self, const char *id, ik_spi_cb cb, void *data, ik_err_t *err) {
  return double_answer(self, "destroy", json_pack("[s]", id), cb, data, err);
}

static int gd_inspect(void *self, ik_spi_cb cb, void *data, ik_err_t *err) {
  return double_answer(self, "inspect", json_array(), cb, data, err);
}

static int gd_destroy_instances(void *self, const char *id, json_t *ids, ik_spi_cb cb, void *data, ik_err_t *err) {
  return double_answer(self, "destroy_instances", json_pack("[s,O]", id, ids), cb, data, err);
}

static int gd_size(void *self, const char *id, ik_spi_cb cb, void *data, ik_err_t *err) {
  return double_answer(self, "size", json_pack("[s]", id), cb, data, err);
}

static int gd_set_size(void *self, const char *id, uint64_t size, ik_spi_cb cb, void *data, ik_err_t *err) {
  return double_answer(self, "set_size", json_pack("[s,I]", id, (json_int_t)size), cb, data, err);
}

static int gd_pause(void *self, const char *id, ik_spi_cb cb, void *data, ik_err_t *err) {
  return double_answer(self, "pause", json_pack("[s]", id), cb, data, err);
}

static int gd_resume(void *self, const char *id, ik_spi_cb cb, void *data, ik_err_t *err) {
  return double_answer(self, "resume", json_pack("[s]", id), cb, data, err);
}

static const ik_group_vtable_t group_vt = {
    .kind = "double",
    .commit = gd_commit,
    .free_group = gd_free_group,
    .describe = gd_describe,
    .destroy = gd_destroy,
    .inspect = gd_inspect,
    .destroy_instances = gd_destroy_instances,
    .size = gd_size,
    .set_size = gd_set_size,
    .free = NULL,
    .pause = gd_pause,
    .resume = gd_resume,
};

static int md_is_leader(void *self, ik_spi_cb cb, void *data, ik_err_t *err) {
  return double_answer(self, "is_leader", json_array(), cb, data, err);
}

static int md_leader_location(void *self, ik_spi_cb cb, void *data, ik_err_t *err) {
  return double_answer(self, "leader_location", json_array(), cb, data, err);
}

static const ik_manager_vtable_t manager_vt = {
    .kind = "double",
    .is_leader = md_is_leader,
    .leader_location = md_leader_location,
    .free = NULL,
};

/* A flavor that only answers Healthy: enough to share a socket. */
static int fd_healthy(void *self, json_t *properties, json_t *instance, ik_spi_cb cb, void *data, ik_err_t *err) {
  return double_answer(self, "healthy", json_pack("[O]", instance), cb, data, err);
}

static const ik_flavor_vtable_t flavor_vt = {.kind = "double", .healthy = fd_healthy};

#define MAX_OBJECTS 4

typedef struct fixture {
  harness_t h;
  spi_double_t d[MAX_OBJECTS];
  ik_group_plugin_t groups[MAX_OBJECTS];
  spi_double_t manager_d, flavor_d;
  ik_manager_plugin_t manager;
  ik_flavor_plugin_t flavor;
} fixture_t;

/* A server named name hosting a group double under each of the names
 * (NULL-terminated), not listening yet. */
static fixture_t *fixture_new(const char *name, const char *const *objects) {
  fixture_t *f = IK_NEW(fixture_t);
  harness_start(&f->h, name);
  for (int i = 0; i < MAX_OBJECTS; i++) f->d[i].loop = &f->h.loop;
  f->manager_d.loop = f->flavor_d.loop = &f->h.loop;
  f->manager = (ik_manager_plugin_t){&manager_vt, &f->manager_d};
  f->flavor = (ik_flavor_plugin_t){&flavor_vt, &f->flavor_d};
  for (int i = 0; objects && objects[i]; i++) {
    assert_true(i < MAX_OBJECTS);
    f->groups[i] = (ik_group_plugin_t){&group_vt, &f->d[i]};
    harness_add(&f->h, &ik_rpc_group_iface, objects[i], &f->groups[i]);
  }
  return f;
}

/* group-stateless serving one group double as ".". */
static fixture_t *serve_group(void) {
  static const char *const dot[] = {".", NULL};
  fixture_t *f = fixture_new("group-stateless", dot);
  harness_listen(&f->h);
  return f;
}

static void unserve(fixture_t *f) {
  harness_stop(&f->h);
  for (int i = 0; i < MAX_OBJECTS; i++) json_decref(f->d[i].result);
  json_decref(f->manager_d.result);
  json_decref(f->flavor_d.result);
  ik_free(f);
}

/* --- tables ------------------------------------------------------------- */

typedef struct exchange {
  const char *name;
  const char *request;
  const char *answer;   /* the double's result (JSON text); NULL: null */
  const char *call;     /* what the double saw; NULL: it was not called */
  const char *response; /* the whole response body */
} exchange_t;

static const exchange_t wire_exchanges[] = {
    {"Group.CommitGroup",
     "{\"jsonrpc\":\"2.0\",\"method\":\"Group.CommitGroup\",\"params\":{\"Name\":\"group-stateless\",\"Spe"
     "c\":{\"ID\":\"cattle\",\"Properties\":{\"Allocation\":{\"Size\":2},\"Instance\":{\"Plugin\":\"instan"
     "ce-file\",\"Properties\":{\"Note\":\"v1\"}},\"Flavor\":{\"Plugin\":\"flavor-vanilla\",\"Properties\""
     ":{\"Init\":[\"echo hello\"],\"Tags\":{\"tier\":\"web\"}}}}},\"Pretend\":false},\"id\":84060247202643"
     "53778}",
     "{\"ID\":\"cattle\",\"Details\":\"Managing 2 instances\"}",
     "commit [{\"ID\":\"cattle\",\"Properties\":{\"Allocation\":{\"Size\":2},\"Instance\":{\"Plugin\":\"in"
     "stance-file\",\"Properties\":{\"Note\":\"v1\"}},\"Flavor\":{\"Plugin\":\"flavor-vanilla\",\"Properti"
     "es\":{\"Init\":[\"echo hello\"],\"Tags\":{\"tier\":\"web\"}}}}},false]",
     "{\"jsonrpc\":\"2.0\",\"result\":{\"Name\":\"group-stateless\",\"ID\":\"cattle\",\"Details\":\"Managi"
     "ng 2 instances\"},\"id\":8406024720264353778}\n"},
    {"Group.DescribeGroup",
     "{\"jsonrpc\":\"2.0\",\"method\":\"Group.DescribeGroup\",\"params\":{\"Name\":\"group-stateless\",\"I"
     "D\":\"cattle\"},\"id\":7039474656372254016}",
     "{\"Instances\":[{\"ID\":\"instance-699540940445105669\",\"LogicalID\":null,\"Tags\":{\"infrakit.conf"
     "ig.hash\":\"rsfonnrfmaykaiytaj26ud5ixjk7m4rd\",\"infrakit.group\":\"cattle\",\"tier\":\"web\"},\"Pro"
     "perties\":{\"Properties\":{\"Note\":\"v1\"},\"Tags\":{\"infrakit.config.hash\":\"rsfonnrfmaykaiytaj2"
     "6ud5ixjk7m4rd\",\"infrakit.group\":\"cattle\",\"tier\":\"web\"},\"Init\":\"echo hello\",\"LogicalID\""
     ":null,\"Attachments\":null}},{\"ID\":\"instance-885361853449469972\",\"LogicalID\":null,\"Tags\":{\""
     "infrakit.config.hash\":\"rsfonnrfmaykaiytaj26ud5ixjk7m4rd\",\"infrakit.group\":\"cattle\",\"tier\":\""
     "web\"},\"Properties\":{\"Properties\":{\"Note\":\"v1\"},\"Tags\":{\"infrakit.config.hash\":\"rsfonnr"
     "fmaykaiytaj26ud5ixjk7m4rd\",\"infrakit.group\":\"cattle\",\"tier\":\"web\"},\"Init\":\"echo hello\","
     "\"LogicalID\":null,\"Attachments\":null}}],\"Converged\":true}",
     "describe [\"cattle\"]",
     "{\"jsonrpc\":\"2.0\",\"result\":{\"Name\":\"group-stateless\",\"ID\":\"cattle\",\"Description\":{\"I"
     "nstances\":[{\"ID\":\"instance-699540940445105669\",\"LogicalID\":null,\"Tags\":{\"infrakit.config.h"
     "ash\":\"rsfonnrfmaykaiytaj26ud5ixjk7m4rd\",\"infrakit.group\":\"cattle\",\"tier\":\"web\"},\"Propert"
     "ies\":{\"Properties\":{\"Note\":\"v1\"},\"Tags\":{\"infrakit.config.hash\":\"rsfonnrfmaykaiytaj26ud5"
     "ixjk7m4rd\",\"infrakit.group\":\"cattle\",\"tier\":\"web\"},\"Init\":\"echo hello\",\"LogicalID\":nu"
     "ll,\"Attachments\":null}},{\"ID\":\"instance-885361853449469972\",\"LogicalID\":null,\"Tags\":{\"inf"
     "rakit.config.hash\":\"rsfonnrfmaykaiytaj26ud5ixjk7m4rd\",\"infrakit.group\":\"cattle\",\"tier\":\"we"
     "b\"},\"Properties\":{\"Properties\":{\"Note\":\"v1\"},\"Tags\":{\"infrakit.config.hash\":\"rsfonnrfm"
     "aykaiytaj26ud5ixjk7m4rd\",\"infrakit.group\":\"cattle\",\"tier\":\"web\"},\"Init\":\"echo hello\",\""
     "LogicalID\":null,\"Attachments\":null}}],\"Converged\":true}},\"id\":7039474656372254016}\n"},
    {"Group.InspectGroups",
     "{\"jsonrpc\":\"2.0\",\"method\":\"Group.InspectGroups\",\"params\":{\"Name\":\"group-stateless\",\"I"
     "D\":\"\"},\"id\":635475440446543523}",
     "[{\"ID\":\"cattle\",\"Properties\":{\"Instance\":{\"Plugin\":\"instance-file\",\"Properties\":{\"Not"
     "e\":\"v1\"}},\"Flavor\":{\"Plugin\":\"flavor-vanilla\",\"Properties\":{\"Init\":[\"echo hello\"],\"T"
     "ags\":{\"tier\":\"web\"}}},\"Allocation\":{\"Size\":2,\"LogicalIDs\":null},\"Updating\":{\"Duration\""
     ":\"0s\",\"Count\":0,\"SkipBeforeInstanceDestroy\":null}}}]",
     "inspect []",
     "{\"jsonrpc\":\"2.0\",\"result\":{\"Name\":\"group-stateless\",\"ID\":\"\",\"Groups\":[{\"ID\":\"catt"
     "le\",\"Properties\":{\"Instance\":{\"Plugin\":\"instance-file\",\"Properties\":{\"Note\":\"v1\"}},\""
     "Flavor\":{\"Plugin\":\"flavor-vanilla\",\"Properties\":{\"Init\":[\"echo hello\"],\"Tags\":{\"tier\""
     ":\"web\"}}},\"Allocation\":{\"Size\":2,\"LogicalIDs\":null},\"Updating\":{\"Duration\":\"0s\",\"Coun"
     "t\":0,\"SkipBeforeInstanceDestroy\":null}}}]},\"id\":635475440446543523}\n"},
    {"Group.Size",
     "{\"jsonrpc\":\"2.0\",\"method\":\"Group.Size\",\"params\":{\"Name\":\"group-stateless\",\"ID\":\"cat"
     "tle\"},\"id\":3784600411354306451}",
     "2",
     "size [\"cattle\"]",
     "{\"jsonrpc\":\"2.0\",\"result\":{\"Name\":\"group-stateless\",\"ID\":\"cattle\",\"Size\":2},\"id\":3"
     "784600411354306451}\n"},
    {"Group.SetSize",
     "{\"jsonrpc\":\"2.0\",\"method\":\"Group.SetSize\",\"params\":{\"Name\":\"group-stateless\",\"ID\":\""
     "cattle\",\"Size\":3},\"id\":8892967714548612623}",
     NULL,
     "set_size [\"cattle\",3]",
     "{\"jsonrpc\":\"2.0\",\"result\":{\"Name\":\"group-stateless\",\"ID\":\"cattle\"},\"id\":889296771454"
     "8612623}\n"},
    {"Group.DestroyInstances",
     "{\"jsonrpc\":\"2.0\",\"method\":\"Group.DestroyInstances\",\"params\":{\"Name\":\"group-stateless\","
     "\"ID\":\"cattle\",\"Instances\":[\"instance-2583112080120170424\"]},\"id\":6063531601757375827}",
     NULL,
     "destroy_instances [\"cattle\",[\"instance-2583112080120170424\"]]",
     "{\"jsonrpc\":\"2.0\",\"result\":{\"Name\":\"group-stateless\",\"ID\":\"cattle\"},\"id\":606353160175"
     "7375827}\n"},
    {"Group.FreeGroup",
     "{\"jsonrpc\":\"2.0\",\"method\":\"Group.FreeGroup\",\"params\":{\"Name\":\"group-stateless\",\"ID\":"
     "\"cattle\"},\"id\":2187931080527613490}",
     NULL,
     "free_group [\"cattle\"]",
     "{\"jsonrpc\":\"2.0\",\"result\":{\"Name\":\"group-stateless\",\"ID\":\"cattle\"},\"id\":218793108052"
     "7613490}\n"},
    {"Group.DestroyGroup",
     "{\"jsonrpc\":\"2.0\",\"method\":\"Group.DestroyGroup\",\"params\":{\"Name\":\"group-stateless\",\"ID"
     "\":\"cattle\"},\"id\":8198983676471531367}",
     NULL,
     "destroy [\"cattle\"]",
     "{\"jsonrpc\":\"2.0\",\"result\":{\"Name\":\"group-stateless\",\"ID\":\"cattle\"},\"id\":819898367647"
     "1531367}\n"},
};

/* Group.DescribeGroup (error): request, the driver's error, response. */
static const char *const wire_error[3] = {
    "{\"jsonrpc\":\"2.0\",\"method\":\"Group.DescribeGroup\",\"params\":{\"Name\":\"group-stateless\",\"I"
    "D\":\"nosuchgroup\"},\"id\":8251816834916639984}",
    "Group 'nosuchgroup' is not being watched",
    "{\"jsonrpc\":\"2.0\",\"error\":{\"code\":-32000,\"message\":\"Group 'nosuchgroup' is not being watch"
    "ed\",\"data\":null},\"id\":8251816834916639984}\n"};

static const exchange_t decoding[] = {
    {"lower-case field names",
     "{\"jsonrpc\":\"2.0\",\"method\":\"Group.CommitGroup\",\"params\":{\"name\":\"group\",\"spec\":{\"id\""
     ":\"g\",\"properties\":{\"a\":1}},\"pretend\":true},\"id\":1}",
     "{\"details\":\"would add 1\"}",
     "commit [{\"ID\":\"g\",\"Properties\":{\"a\":1}},true]",
     "{\"jsonrpc\":\"2.0\",\"result\":{\"Name\":\"group\",\"ID\":\"g\",\"Details\":\"would add 1\"},\"id\""
     ":1}\n"},
    {"a null Spec is the zero group.Spec",
     "{\"jsonrpc\":\"2.0\",\"method\":\"Group.CommitGroup\",\"params\":{\"Name\":\"group\",\"Spec\":null,\""
     "Pretend\":null},\"id\":1}",
     "{\"ID\":\"\",\"Details\":\"\"}",
     "commit [{\"ID\":\"\",\"Properties\":null},false]",
     "{\"jsonrpc\":\"2.0\",\"result\":{\"Name\":\"group\",\"ID\":\"\",\"Details\":\"\"},\"id\":1}\n"},
    {"the ID the controller committed wins over the spec's",
     "{\"jsonrpc\":\"2.0\",\"method\":\"Group.CommitGroup\",\"params\":{\"Spec\":{\"ID\":\"g\"}},\"id\":1}",
     "{\"ID\":\"g2\",\"Details\":\"ok\"}",
     "commit [{\"ID\":\"g\",\"Properties\":null},false]",
     "{\"jsonrpc\":\"2.0\",\"result\":{\"Name\":\"\",\"ID\":\"g2\",\"Details\":\"ok\"},\"id\":1}\n"},
    {"lower-case instances",
     "{\"jsonrpc\":\"2.0\",\"method\":\"Group.DestroyInstances\",\"params\":{\"name\":\"group\",\"id\":\"g"
     "\",\"instances\":[\"a\",\"b\"]},\"id\":1}",
     NULL,
     "destroy_instances [\"g\",[\"a\",\"b\"]]",
     "{\"jsonrpc\":\"2.0\",\"result\":{\"Name\":\"group\",\"ID\":\"g\"},\"id\":1}\n"},
    {"null instances are none",
     "{\"jsonrpc\":\"2.0\",\"method\":\"Group.DestroyInstances\",\"params\":{\"ID\":\"g\",\"Instances\":nu"
     "ll},\"id\":1}",
     NULL,
     "destroy_instances [\"g\",[]]",
     "{\"jsonrpc\":\"2.0\",\"result\":{\"Name\":\"\",\"ID\":\"g\"},\"id\":1}\n"},
    {"lower-case size",
     "{\"jsonrpc\":\"2.0\",\"method\":\"Group.SetSize\",\"params\":{\"id\":\"g\",\"size\":4},\"id\":1}",
     NULL,
     "set_size [\"g\",4]",
     "{\"jsonrpc\":\"2.0\",\"result\":{\"Name\":\"\",\"ID\":\"g\"},\"id\":1}\n"},
    {"an absent ID is \"\"",
     "{\"jsonrpc\":\"2.0\",\"method\":\"Group.FreeGroup\",\"params\":{},\"id\":1}",
     NULL,
     "free_group [\"\"]",
     "{\"jsonrpc\":\"2.0\",\"result\":{\"Name\":\"\",\"ID\":\"\"},\"id\":1}\n"},
    {"a description in any case comes back in Go's shape",
     "{\"jsonrpc\":\"2.0\",\"method\":\"Group.DescribeGroup\",\"params\":{\"ID\":\"g\"},\"id\":1}",
     "{\"instances\":[{\"id\":\"i1\",\"tags\":{\"a\":\"b\"}}],\"converged\":true}",
     "describe [\"g\"]",
     "{\"jsonrpc\":\"2.0\",\"result\":{\"Name\":\"\",\"ID\":\"g\",\"Description\":{\"Instances\":[{\"ID\":"
     "\"i1\",\"LogicalID\":null,\"Tags\":{\"a\":\"b\"}}],\"Converged\":true}},\"id\":1}\n"},
    {"no instances is null, as Go's nil slice",
     "{\"jsonrpc\":\"2.0\",\"method\":\"Group.DescribeGroup\",\"params\":{\"ID\":\"g\"},\"id\":1}",
     "{}",
     "describe [\"g\"]",
     "{\"jsonrpc\":\"2.0\",\"result\":{\"Name\":\"\",\"ID\":\"g\",\"Description\":{\"Instances\":null,\"Co"
     "nverged\":false}},\"id\":1}\n"},
    {"no groups is null",
     "{\"jsonrpc\":\"2.0\",\"method\":\"Group.InspectGroups\",\"params\":{},\"id\":1}",
     NULL,
     "inspect []",
     "{\"jsonrpc\":\"2.0\",\"result\":{\"Name\":\"\",\"ID\":\"\",\"Groups\":null},\"id\":1}\n"},
    {"an empty list of groups stays []",
     "{\"jsonrpc\":\"2.0\",\"method\":\"Group.InspectGroups\",\"params\":{},\"id\":1}",
     "[]",
     "inspect []",
     "{\"jsonrpc\":\"2.0\",\"result\":{\"Name\":\"\",\"ID\":\"\",\"Groups\":[]},\"id\":1}\n"},
};

static const exchange_t bad_params[] = {
    {"Group.SetSize: params.Size: want a non-negative integer, got -1",
     "{\"jsonrpc\":\"2.0\",\"method\":\"Group.SetSize\",\"params\":{\"ID\":\"g\",\"Size\":-1},\"id\":1}",
     NULL,
     NULL,
     "{\"jsonrpc\":\"2.0\",\"error\":{\"code\":-32602,\"message\":\"params.Size: want a non-negative integ"
     "er, got -1\",\"data\":null},\"id\":1}\n"},
    {"Group.SetSize: params.Size: want a non-negative integer, got a string",
     "{\"jsonrpc\":\"2.0\",\"method\":\"Group.SetSize\",\"params\":{\"ID\":\"g\",\"Size\":\"3\"},\"id\":1}",
     NULL,
     NULL,
     "{\"jsonrpc\":\"2.0\",\"error\":{\"code\":-32602,\"message\":\"params.Size: want a non-negative integ"
     "er, got a string\",\"data\":null},\"id\":1}\n"},
    {"Group.SetSize: params.Size: want a non-negative integer, got 3",
     "{\"jsonrpc\":\"2.0\",\"method\":\"Group.SetSize\",\"params\":{\"ID\":\"g\",\"Size\":3.0},\"id\":1}",
     NULL,
     NULL,
     "{\"jsonrpc\":\"2.0\",\"error\":{\"code\":-32602,\"message\":\"params.Size: want a non-negative integ"
     "er, got 3\",\"data\":null},\"id\":1}\n"},
    {"Group.CommitGroup: params.Pretend: want true or false, got a string",
     "{\"jsonrpc\":\"2.0\",\"method\":\"Group.CommitGroup\",\"params\":{\"Pretend\":\"yes\"},\"id\":1}",
     NULL,
     NULL,
     "{\"jsonrpc\":\"2.0\",\"error\":{\"code\":-32602,\"message\":\"params.Pretend: want true or false, go"
     "t a string\",\"data\":null},\"id\":1}\n"},
    {"Group.CommitGroup: params.Spec: want an object, got a string",
     "{\"jsonrpc\":\"2.0\",\"method\":\"Group.CommitGroup\",\"params\":{\"Spec\":\"x\"},\"id\":1}",
     NULL,
     NULL,
     "{\"jsonrpc\":\"2.0\",\"error\":{\"code\":-32602,\"message\":\"params.Spec: want an object, got a str"
     "ing\",\"data\":null},\"id\":1}\n"},
    {"Group.CommitGroup: params.Spec.ID: want a string, got 5",
     "{\"jsonrpc\":\"2.0\",\"method\":\"Group.CommitGroup\",\"params\":{\"Spec\":{\"ID\":5}},\"id\":1}",
     NULL,
     NULL,
     "{\"jsonrpc\":\"2.0\",\"error\":{\"code\":-32602,\"message\":\"params.Spec.ID: want a string, got 5\""
     ",\"data\":null},\"id\":1}\n"},
    {"Group.DestroyInstances: params.Instances[0]: want a string, got 1",
     "{\"jsonrpc\":\"2.0\",\"method\":\"Group.DestroyInstances\",\"params\":{\"ID\":\"g\",\"Instances\":[1"
     "]},\"id\":1}",
     NULL,
     NULL,
     "{\"jsonrpc\":\"2.0\",\"error\":{\"code\":-32602,\"message\":\"params.Instances[0]: want a string, go"
     "t 1\",\"data\":null},\"id\":1}\n"},
    {"Group.DestroyInstances: params.Instances: want an array, got a string",
     "{\"jsonrpc\":\"2.0\",\"method\":\"Group.DestroyInstances\",\"params\":{\"ID\":\"g\",\"Instances\":\""
     "i\"},\"id\":1}",
     NULL,
     NULL,
     "{\"jsonrpc\":\"2.0\",\"error\":{\"code\":-32602,\"message\":\"params.Instances: want an array, got a"
     " string\",\"data\":null},\"id\":1}\n"},
    {"Group.DescribeGroup: params.ID: want a string, got 5",
     "{\"jsonrpc\":\"2.0\",\"method\":\"Group.DescribeGroup\",\"params\":{\"ID\":5},\"id\":1}",
     NULL,
     NULL,
     "{\"jsonrpc\":\"2.0\",\"error\":{\"code\":-32602,\"message\":\"params.ID: want a string, got 5\",\"da"
     "ta\":null},\"id\":1}\n"},
    {"Group.InspectGroups: params.ID: want a string, got an array",
     "{\"jsonrpc\":\"2.0\",\"method\":\"Group.InspectGroups\",\"params\":{\"id\":[]},\"id\":1}",
     NULL,
     NULL,
     "{\"jsonrpc\":\"2.0\",\"error\":{\"code\":-32602,\"message\":\"params.ID: want a string, got an array"
     "\",\"data\":null},\"id\":1}\n"},
    {"Group.Size: params.Name: want a string, got a number",
     "{\"jsonrpc\":\"2.0\",\"method\":\"Group.Size\",\"params\":{\"Name\":5},\"id\":1}",
     NULL,
     NULL,
     "{\"jsonrpc\":\"2.0\",\"error\":{\"code\":-32602,\"message\":\"params.Name: want a string, got a numb"
     "er\",\"data\":null},\"id\":1}\n"},
};

/* GET /info/api.json when the first object is a group: the zero-value
 * request and response structs of pkg/rpc/group/types.go, plus our
 * Group.Pause, Group.Promote, Group.Resume and Group.Status. */
static const char group_api_json[] =
    "{\"Vendor\":null,\"Implements\":[{\"Name\":\"Group\",\"Version\":\"0.1.1\",\"Sub\":\"\"}],\"Inte"
    "rfaces\":[{\"Name\":\"Group\",\"Version\":\"0.1.1\",\"Sub\":\"\",\"Methods\":[{\"Request\":{\"js"
    "onrpc\":\"2.0\",\"method\":\"Group.CommitGroup\",\"params\":{\"Name\":\"\",\"Spec\":{\"ID\":\"\""
    ",\"Properties\":null},\"Pretend\":false},\"id\":\"1795571590\"},\"Response\":{\"result\":{\"Name"
    "\":\"\",\"ID\":\"\",\"Details\":\"\"},\"id\":\"1795571590\"}},{\"Request\":{\"jsonrpc\":\"2.0\","
    "\"method\":\"Group.DescribeGroup\",\"params\":{\"Name\":\"\",\"ID\":\"\"},\"id\":\"1795571590\"}"
    ",\"Response\":{\"result\":{\"Name\":\"\",\"ID\":\"\",\"Description\":{\"Instances\":null,\"Conve"
    "rged\":false}},\"id\":\"1795571590\"}},{\"Request\":{\"jsonrpc\":\"2.0\",\"method\":\"Group.Dest"
    "royGroup\",\"params\":{\"Name\":\"\",\"ID\":\"\"},\"id\":\"1795571590\"},\"Response\":{\"result\""
    ":{\"Name\":\"\",\"ID\":\"\"},\"id\":\"1795571590\"}},{\"Request\":{\"jsonrpc\":\"2.0\",\"method\""
    ":\"Group.DestroyInstances\",\"params\":{\"Name\":\"\",\"ID\":\"\",\"Instances\":null},\"id\":\"1"
    "795571590\"},\"Response\":{\"result\":{\"Name\":\"\",\"ID\":\"\"},\"id\":\"1795571590\"}},{\"Req"
    "uest\":{\"jsonrpc\":\"2.0\",\"method\":\"Group.FreeGroup\",\"params\":{\"Name\":\"\",\"ID\":\"\""
    "},\"id\":\"1795571590\"},\"Response\":{\"result\":{\"Name\":\"\",\"ID\":\"\"},\"id\":\"179557159"
    "0\"}},{\"Request\":{\"jsonrpc\":\"2.0\",\"method\":\"Group.InspectGroups\",\"params\":{\"Name\":"
    "\"\",\"ID\":\"\"},\"id\":\"1795571590\"},\"Response\":{\"result\":{\"Name\":\"\",\"ID\":\"\",\"G"
    "roups\":null},\"id\":\"1795571590\"}},{\"Request\":{\"jsonrpc\":\"2.0\",\"method\":\"Group.Pause"
    "\",\"params\":{\"Name\":\"\",\"ID\":\"\"},\"id\":\"1795571590\"},\"Response\":{\"result\":{\"Nam"
    "e\":\"\",\"ID\":\"\"},\"id\":\"1795571590\"}},{\"Request\":{\"jsonrpc\":\"2.0\",\"method\":\"Gro"
    "up.Promote\",\"params\":{\"Name\":\"\",\"ID\":\"\"},\"id\":\"1795571590\"},\"Response\":{\"resul"
    "t\":{\"Name\":\"\",\"ID\":\"\"},\"id\":\"1795571590\"}},{\"Request\":{\"jsonrpc\":\"2.0\",\"meth"
    "od\":\"Group.Resume\",\"params\":{\"Name\":\"\",\"ID\":\"\"},\"id\":\"1795571590\"},\"Response\""
    ":{\"result\":{\"Name\":\"\",\"ID\":\"\"},\"id\":\"1795571590\"}},{\"Request\":{\"jsonrpc\":\"2.0"
    "\",\"method\":\"Group.SetSize\",\"params\":{\"Name\":\"\",\"ID\":\"\",\"Size\":0},\"id\":\"17955"
    "71590\"},\"Response\":{\"result\":{\"Name\":\"\",\"ID\":\"\"},\"id\":\"1795571590\"}},{\"Request"
    "\":{\"jsonrpc\":\"2.0\",\"method\":\"Group.Size\",\"params\":{\"Name\":\"\",\"ID\":\"\"},\"id\":"
    "\"1795571590\"},\"Response\":{\"result\":{\"Name\":\"\",\"ID\":\"\",\"Size\":0},\"id\":\"1795571"
    "590\"}},{\"Request\":{\"jsonrpc\":\"2.0\",\"method\":\"Group.Status\",\"params\":{\"Name\":\"\","
    "\"ID\":\"\"},\"id\":\"1795571590\"},\"Response\":{\"result\":{\"Name\":\"\",\"ID\":\"\",\"Status"
    "\":{}},\"id\":\"1795571590\"}}]}]}";

/* url.Parse(text) as Go 1.19 encodes it; a text starting with "parse" is the error. */
static const char *const urls[][2] = {
    {"http://10.0.0.1:24864/",
     "{\"Scheme\":\"http\",\"Opaque\":\"\",\"User\":null,\"Host\":\"10.0.0.1:24864\",\"Path\":\"/\",\"RawP"
     "ath\":\"\",\"OmitHost\":false,\"ForceQuery\":false,\"RawQuery\":\"\",\"Fragment\":\"\",\"RawFragment"
     "\":\"\"}"},
    {"tcp://localhost:24864",
     "{\"Scheme\":\"tcp\",\"Opaque\":\"\",\"User\":null,\"Host\":\"localhost:24864\",\"Path\":\"\",\"RawPa"
     "th\":\"\",\"OmitHost\":false,\"ForceQuery\":false,\"RawQuery\":\"\",\"Fragment\":\"\",\"RawFragment\""
     ":\"\"}"},
    {"HTTP://u:p@h/a%20b?x=1#f",
     "{\"Scheme\":\"http\",\"Opaque\":\"\",\"User\":{},\"Host\":\"h\",\"Path\":\"/a b\",\"RawPath\":\"\",\""
     "OmitHost\":false,\"ForceQuery\":false,\"RawQuery\":\"x=1\",\"Fragment\":\"f\",\"RawFragment\":\"\"}"},
    {"http://h/a%2Fb",
     "{\"Scheme\":\"http\",\"Opaque\":\"\",\"User\":null,\"Host\":\"h\",\"Path\":\"/a/b\",\"RawPath\":\"/a"
     "%2Fb\",\"OmitHost\":false,\"ForceQuery\":false,\"RawQuery\":\"\",\"Fragment\":\"\",\"RawFragment\":\""
     "\"}"},
    {"http://h/a!b",
     "{\"Scheme\":\"http\",\"Opaque\":\"\",\"User\":null,\"Host\":\"h\",\"Path\":\"/a!b\",\"RawPath\":\"/a"
     "!b\",\"OmitHost\":false,\"ForceQuery\":false,\"RawQuery\":\"\",\"Fragment\":\"\",\"RawFragment\":\"\""
     "}"},
    {"mailto:ops@example.com",
     "{\"Scheme\":\"mailto\",\"Opaque\":\"ops@example.com\",\"User\":null,\"Host\":\"\",\"Path\":\"\",\"Ra"
     "wPath\":\"\",\"OmitHost\":false,\"ForceQuery\":false,\"RawQuery\":\"\",\"Fragment\":\"\",\"RawFragme"
     "nt\":\"\"}"},
    {"http://h/?",
     "{\"Scheme\":\"http\",\"Opaque\":\"\",\"User\":null,\"Host\":\"h\",\"Path\":\"/\",\"RawPath\":\"\",\""
     "OmitHost\":false,\"ForceQuery\":true,\"RawQuery\":\"\",\"Fragment\":\"\",\"RawFragment\":\"\"}"},
    {"http://h/?a?",
     "{\"Scheme\":\"http\",\"Opaque\":\"\",\"User\":null,\"Host\":\"h\",\"Path\":\"/\",\"RawPath\":\"\",\""
     "OmitHost\":false,\"ForceQuery\":false,\"RawQuery\":\"a?\",\"Fragment\":\"\",\"RawFragment\":\"\"}"},
    {"unix:/var/run/x.sock",
     "{\"Scheme\":\"unix\",\"Opaque\":\"\",\"User\":null,\"Host\":\"\",\"Path\":\"/var/run/x.sock\",\"RawP"
     "ath\":\"\",\"OmitHost\":true,\"ForceQuery\":false,\"RawQuery\":\"\",\"Fragment\":\"\",\"RawFragment\""
     ":\"\"}"},
    {"unix:///var/run/x.sock",
     "{\"Scheme\":\"unix\",\"Opaque\":\"\",\"User\":null,\"Host\":\"\",\"Path\":\"/var/run/x.sock\",\"RawP"
     "ath\":\"\",\"OmitHost\":false,\"ForceQuery\":false,\"RawQuery\":\"\",\"Fragment\":\"\",\"RawFragment"
     "\":\"\"}"},
    {"http://h#a%21",
     "{\"Scheme\":\"http\",\"Opaque\":\"\",\"User\":null,\"Host\":\"h\",\"Path\":\"\",\"RawPath\":\"\",\"O"
     "mitHost\":false,\"ForceQuery\":false,\"RawQuery\":\"\",\"Fragment\":\"a!\",\"RawFragment\":\"a%21\"}"},
    {"/just/a/path",
     "{\"Scheme\":\"\",\"Opaque\":\"\",\"User\":null,\"Host\":\"\",\"Path\":\"/just/a/path\",\"RawPath\":\""
     "\",\"OmitHost\":false,\"ForceQuery\":false,\"RawQuery\":\"\",\"Fragment\":\"\",\"RawFragment\":\"\"}"},
    {"//h/p",
     "{\"Scheme\":\"\",\"Opaque\":\"\",\"User\":null,\"Host\":\"h\",\"Path\":\"/p\",\"RawPath\":\"\",\"Omi"
     "tHost\":false,\"ForceQuery\":false,\"RawQuery\":\"\",\"Fragment\":\"\",\"RawFragment\":\"\"}"},
    {"http://[::1]:80/x",
     "{\"Scheme\":\"http\",\"Opaque\":\"\",\"User\":null,\"Host\":\"[::1]:80\",\"Path\":\"/x\",\"RawPath\""
     ":\"\",\"OmitHost\":false,\"ForceQuery\":false,\"RawQuery\":\"\",\"Fragment\":\"\",\"RawFragment\":\""
     "\"}"},
    {"",
     "{\"Scheme\":\"\",\"Opaque\":\"\",\"User\":null,\"Host\":\"\",\"Path\":\"\",\"RawPath\":\"\",\"OmitHo"
     "st\":false,\"ForceQuery\":false,\"RawQuery\":\"\",\"Fragment\":\"\",\"RawFragment\":\"\"}"},
    {"*#top",
     "{\"Scheme\":\"\",\"Opaque\":\"\",\"User\":null,\"Host\":\"\",\"Path\":\"*\",\"RawPath\":\"\",\"OmitH"
     "ost\":false,\"ForceQuery\":false,\"RawQuery\":\"\",\"Fragment\":\"top\",\"RawFragment\":\"\"}"},
    {"http://h/a%00b",
     "{\"Scheme\":\"http\",\"Opaque\":\"\",\"User\":null,\"Host\":\"h\",\"Path\":\"/a\\u0000b\",\"RawPath\""
     ":\"\",\"OmitHost\":false,\"ForceQuery\":false,\"RawQuery\":\"\",\"Fragment\":\"\",\"RawFragment\":\""
     "\"}"},
    {"http://h/%zz",
     "parse \"http://h/%zz\": invalid URL escape \"%zz\""},
    {"http://h/%4",
     "parse \"http://h/%4\": invalid URL escape \"%4\""},
    {"http://h:port/",
     "parse \"http://h:port/\": invalid port \":port\" after host"},
    {"http://[::1/",
     "parse \"http://[::1/\": missing ']' in host"},
    {":nope",
     "parse \":nope\": missing protocol scheme"},
    {"1a:b/c",
     "parse \"1a:b/c\": first path segment in URL cannot contain colon"},
};

/* Each exchange on a fresh double: the response byte for byte, and the
 * call the double saw (or that it saw none). */
static void run_table(const exchange_t *rows, size_t n) {
  fixture_t *f = serve_group();
  for (size_t i = 0; i < n; i++) {
    double_reset(&f->d[0], rows[i].answer);
    char *got = harness_post(&f->h, rows[i].request);
    if (strcmp(got, rows[i].response) != 0)
      fail_msg("%s:\n  got  %s  want %s", rows[i].name, got, rows[i].response);
    ik_free(got);
    if (rows[i].call == NULL && f->d[0].calls != 0) fail_msg("%s: the group was called: %s", rows[i].name, f->d[0].last);
    if (rows[i].call && strcmp(f->d[0].last, rows[i].call) != 0)
      fail_msg("%s:\n  group saw  %s\n  want       %s", rows[i].name, f->d[0].last, rows[i].call);
  }
  unserve(f);
}

/* --- Group ------------------------------------------------------------------ */

static void recorded_exchanges_are_byte_exact(void **state) {
  run_table(wire_exchanges, sizeof wire_exchanges / sizeof *wire_exchanges);
  fixture_t *f = serve_group();
  double_reset(&f->d[0], NULL);
  ik_err_set(&f->d[0].fail, IK_ENOTFOUND, "%s", wire_error[1]);
  harness_expect(&f->h, wire_error[0], wire_error[2]);
  unserve(f);
}

static void requests_decode_as_go_decodes_them(void **state) {
  run_table(decoding, sizeof decoding / sizeof *decoding);
}

static void bad_params_are_32602_naming_the_field(void **state) {
  run_table(bad_params, sizeof bad_params / sizeof *bad_params);
}

/* A driver's failures: later (-32000), refused now (-32000, or -32602 for
 * IK_EINVAL), and results of the wrong shape (-32000 saying so). */
static void driver_errors_become_json_rpc_errors(void **state) {
  fixture_t *f = serve_group();
  static const struct {
    const char *method, *answer;
    int refuse, fail;
    const char *message;
    int code;
  } cases[] = {
      {"CommitGroup", NULL, 0, IK_ESTATE, "not a leader", -32000},
      {"SetSize", NULL, IK_ENOTFOUND, 0, "Group 'g' is not being watched", -32000},
      {"CommitGroup", NULL, IK_EINVAL, 0, "Properties.Allocation: want Size or LogicalIDs", -32602},
      {"CommitGroup", "\"done\"", 0, 0, "group commit returned no {ID, Details} object", -32000},
      {"CommitGroup", "{\"Details\":3}", 0, 0, "commit result.Details: want a string, got 3", -32000},
      {"Size", "\"2\"", 0, 0, "group size returned no size (want an integer)", -32000},
      {"DescribeGroup", "[]", 0, 0, "group describe returned no {Instances, Converged} object", -32000},
      {"DescribeGroup", "{\"Instances\":[{\"ID\":1}]}", 0, 0, "group description.Instances[0].ID: want a string, got 1",
       -32000},
      {"InspectGroups", "{}", 0, 0, "inspected groups: want an array, got an object", -32000},
      {"Pause", NULL, IK_ESTATE, 0, "group g is already paused (infrakit group resume g goes on)", -32000},
      {"Resume", NULL, IK_ESTATE, 0, "group g is not paused (phase steady): nothing to resume", -32000},
      {"Pause", NULL, IK_ENOTFOUND, 0, "Group 'g' is not being watched", -32000},
  };
  for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
    double_reset(&f->d[0], cases[i].answer);
    f->d[0].refuse = cases[i].refuse;
    if (cases[i].refuse || cases[i].fail)
      ik_err_set(&f->d[0].fail, cases[i].fail ? cases[i].fail : cases[i].refuse, "%s", cases[i].message);
    char *request = ik_sprintf("{\"jsonrpc\":\"2.0\",\"method\":\"Group.%s\",\"params\":{\"ID\":\"g\"},\"id\":1}",
                               cases[i].method);
    char *want = error_body(cases[i].code, cases[i].message);
    harness_expect(&f->h, request, want);
    free(want);
    ik_free(request);
    assert_int_equal(f->d[0].calls, 1);
  }
  unserve(f);
}

/* Ours: Group.Pause and Group.Resume {Name, ID} reach the controller's
 * pause and resume and answer {Name, ID}; a controller without them
 * (InfraKit's) answers -32601, as Go's server does for a method it lacks. */
static void pause_and_resume_reach_the_controller(void **state) {
  static const exchange_t rows[] = {
      {"Group.Pause", "{\"jsonrpc\":\"2.0\",\"method\":\"Group.Pause\",\"params\":{\"Name\":\"group-stateless\",\"ID\":\"web\"},\"id\":7}",
       NULL, "pause [\"web\"]",
       "{\"jsonrpc\":\"2.0\",\"result\":{\"Name\":\"group-stateless\",\"ID\":\"web\"},\"id\":7}\n"},
      {"Group.Resume", "{\"jsonrpc\":\"2.0\",\"method\":\"Group.Resume\",\"params\":{\"ID\":\"web\"},\"id\":8}", NULL,
       "resume [\"web\"]", "{\"jsonrpc\":\"2.0\",\"result\":{\"Name\":\"\",\"ID\":\"web\"},\"id\":8}\n"},
      {"Group.Pause: params.ID: want a string, got 5",
       "{\"jsonrpc\":\"2.0\",\"method\":\"Group.Pause\",\"params\":{\"ID\":5},\"id\":1}", NULL, NULL,
       "{\"jsonrpc\":\"2.0\",\"error\":{\"code\":-32602,\"message\":\"params.ID: want a string, got 5\",\"data\":null},"
       "\"id\":1}\n"},
  };
  run_table(rows, sizeof rows / sizeof *rows);

  fixture_t *f = serve_group();
  ik_group_vtable_t without = group_vt;
  without.pause = without.resume = NULL;
  f->groups[0].vt = &without;
  static const char *const methods[][2] = {{"Pause", "this group controller has no Pause"},
                                           {"Resume", "this group controller has no Resume"}};
  for (size_t i = 0; i < 2; i++) {
    char *request = ik_sprintf("{\"jsonrpc\":\"2.0\",\"method\":\"Group.%s\",\"params\":{\"ID\":\"g\"},\"id\":1}",
                               methods[i][0]);
    char *want = error_body(-32601, methods[i][1]);
    harness_expect(&f->h, request, want);
    free(want);
    ik_free(request);
  }
  assert_int_equal(f->d[0].calls, 0);
  unserve(f);
}

/* Which object a Name reaches, as InfraKit's keyed servers resolve it:
 * each object answers Size with its position + 10; "!" marks an error. */
static void name_selects_the_object_as_infrakit_does(void **state) {
  static const struct {
    const char *objects[MAX_OBJECTS];
    const char *name;
    const char *want; /* object name, or "!message" */
  } cases[] = {
      /* One object: any bare name (or "./x") reaches it. */
      {{"."}, "group-stateless", "."},
      {{"."}, "", "."},
      {{"."}, "./workers", "."},
      {{"."}, "group-stateless/workers", "!not found: group-stateless/workers (key=workers)"},
      {{"workers"}, "group", "workers"},
      {{"workers"}, "group/workers", "workers"},
      {{"workers"}, "group/other", "!not found: group/other (key=other)"},
      /* The controller as "." plus groups: a bare name is the controller. */
      {{".", "workers"}, "group", "."},
      {{".", "workers"}, "group/workers", "workers"},
      {{".", "workers"}, "group/a/workers", "workers"},
      {{".", "workers"}, "./workers", "."}, /* InfraKit tries the lookup first */
      {{".", "workers"}, "workers/x", "workers"},
      {{".", "workers"}, "group/nope", "!not found: group/nope (key=nope)"},
      /* InfraKit's manager (keys "groups" + IDs): a bare name fails. */
      {{"groups", "bar"}, "group", "!not found: group (key=)"},
      {{"groups", "bar"}, "group/bar", "bar"},
      {{"groups", "bar"}, "group/groups", "groups"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
    fixture_t *f = fixture_new("group", cases[i].objects);
    harness_listen(&f->h);
    int want_index = -1;
    for (int k = 0; cases[i].objects[k]; k++) {
      char size[16];
      snprintf(size, sizeof size, "%d", k + 10);
      double_reset(&f->d[k], size);
      if (strcmp(cases[i].objects[k], cases[i].want) == 0) want_index = k;
    }
    char *request = ik_sprintf(
        "{\"jsonrpc\":\"2.0\",\"method\":\"Group.Size\",\"params\":{\"Name\":\"%s\",\"ID\":\"\"},\"id\":1}",
        cases[i].name);
    char *want = cases[i].want[0] == '!'
                     ? error_body(-32000, cases[i].want + 1)
                     : ik_sprintf("{\"jsonrpc\":\"2.0\",\"result\":{\"Name\":\"%s\",\"ID\":\"\",\"Size\":%d},\"id\":1}\n",
                                  cases[i].name, want_index + 10);
    char *got = harness_post(&f->h, request);
    if (strcmp(got, want) != 0) fail_msg("Name \"%s\":\n  got  %s  want %s", cases[i].name, got, want);
    ik_free(got);
    free(want);
    ik_free(request);
    unserve(f);
  }
}

/* --- one socket, several interfaces ----------------------------------------- */

/* The daemon's "group" socket: the controller and a group as Group
 * objects, leadership as Stack, and a flavor; Hello lists each interface
 * with its object names, and each call reaches its object. */
static void several_interfaces_share_a_socket(void **state) {
  static const char *const objects[] = {".", "workers", NULL};
  fixture_t *f = fixture_new("group", objects);
  harness_add(&f->h, &ik_rpc_manager_iface, ".", &f->manager);
  harness_add(&f->h, &ik_rpc_flavor_iface, ".", &f->flavor);
  harness_listen(&f->h);
  harness_expect(&f->h, "{\"jsonrpc\":\"2.0\",\"method\":\"Handshake.Hello\",\"params\":{},\"id\":1}",
                 "{\"jsonrpc\":\"2.0\",\"result\":{\"Objects\":{"
                 "\"Flavor/0.1.1\":[{\"Name\":\".\",\"ProxyFor\":\"\"}],"
                 "\"Group/0.1.1\":[{\"Name\":\".\",\"ProxyFor\":\"\"},{\"Name\":\"workers\",\"ProxyFor\":\"\"}],"
                 "\"Stack/0.1.1\":[{\"Name\":\".\",\"ProxyFor\":\"\"}]}},\"id\":1}\n");
  double_reset(&f->manager_d, "true");
  harness_expect(&f->h, "{\"jsonrpc\":\"2.0\",\"method\":\"Manager.IsLeader\",\"params\":{},\"id\":1}",
                 "{\"jsonrpc\":\"2.0\",\"result\":{\"Leader\":true},\"id\":1}\n");
  double_reset(&f->flavor_d, "1");
  harness_expect(&f->h, "{\"jsonrpc\":\"2.0\",\"method\":\"Flavor.Healthy\",\"params\":{\"Type\":\"\"},\"id\":1}",
                 "{\"jsonrpc\":\"2.0\",\"result\":{\"Type\":\"\",\"Health\":1},\"id\":1}\n");
  double_reset(&f->d[1], NULL);
  harness_expect(&f->h,
                 "{\"jsonrpc\":\"2.0\",\"method\":\"Group.FreeGroup\",\"params\":{\"Name\":\"group/workers\","
                 "\"ID\":\"workers\"},\"id\":1}",
                 "{\"jsonrpc\":\"2.0\",\"result\":{\"Name\":\"group/workers\",\"ID\":\"workers\"},\"id\":1}\n");
  assert_string_equal(f->d[1].last, "free_group [\"workers\"]");
  assert_int_equal(f->d[0].calls, 0);
  assert_int_equal(f->manager_d.calls, 1);
  assert_int_equal(f->flavor_d.calls, 1);
  unserve(f);
}

static void api_json_describes_the_group_interface(void **state) {
  fixture_t *f = serve_group();
  char *got = harness_get(&f->h, "/info/api.json");
  assert_string_equal(got, group_api_json);
  ik_free(got);
  unserve(f);
}

/* --- Stack (Manager.*) ------------------------------------------------------ */

static fixture_t *serve_manager(void) {
  fixture_t *f = fixture_new("group", NULL);
  harness_add(&f->h, &ik_rpc_manager_iface, ".", &f->manager);
  harness_listen(&f->h);
  return f;
}

static void is_leader_answers_leader(void **state) {
  fixture_t *f = serve_manager();
  harness_expect(&f->h, "{\"jsonrpc\":\"2.0\",\"method\":\"Handshake.Hello\",\"params\":{},\"id\":1}",
                 "{\"jsonrpc\":\"2.0\",\"result\":{\"Objects\":{\"Stack/0.1.1\":[{\"Name\":\".\",\"ProxyFor\":\"\"}]}},"
                 "\"id\":1}\n");
  double_reset(&f->manager_d, "true");
  harness_expect(&f->h, "{\"jsonrpc\":\"2.0\",\"method\":\"Manager.IsLeader\",\"params\":{},\"id\":1}",
                 "{\"jsonrpc\":\"2.0\",\"result\":{\"Leader\":true},\"id\":1}\n");
  assert_string_equal(f->manager_d.last, "is_leader []");
  double_reset(&f->manager_d, "false");
  harness_expect(&f->h, "{\"jsonrpc\":\"2.0\",\"method\":\"Manager.IsLeader\",\"id\":2}",
                 "{\"jsonrpc\":\"2.0\",\"result\":{\"Leader\":false},\"id\":2}\n");
  double_reset(&f->manager_d, "\"yes\"");
  char *want = error_body(-32000, "is_leader returned no boolean");
  harness_expect(&f->h, "{\"jsonrpc\":\"2.0\",\"method\":\"Manager.IsLeader\",\"params\":{},\"id\":1}", want);
  free(want);
  double_reset(&f->manager_d, NULL);
  ik_err_set(&f->manager_d.fail, IK_EIO, "etcd: connection refused");
  want = error_body(-32000, "etcd: connection refused");
  harness_expect(&f->h, "{\"jsonrpc\":\"2.0\",\"method\":\"Manager.IsLeader\",\"params\":{},\"id\":1}", want);
  free(want);
  unserve(f);
}

static void leader_location_is_a_go_url_struct(void **state) {
  fixture_t *f = serve_manager();
  double_reset(&f->manager_d, "\"http://10.0.0.1:24864/\"");
  harness_expect(&f->h, "{\"jsonrpc\":\"2.0\",\"method\":\"Manager.LeaderLocation\",\"params\":{},\"id\":1}",
                 "{\"jsonrpc\":\"2.0\",\"result\":{\"Location\":{\"Scheme\":\"http\",\"Opaque\":\"\",\"User\":null,"
                 "\"Host\":\"10.0.0.1:24864\",\"Path\":\"/\",\"RawPath\":\"\",\"OmitHost\":false,\"ForceQuery\":false,"
                 "\"RawQuery\":\"\",\"Fragment\":\"\",\"RawFragment\":\"\"}},\"id\":1}\n");
  static const struct {
    const char *answer;
    int refuse, fail;
    const char *message;
  } errors[] = {
      {NULL, 0, IK_ENOTFOUND, "open /home/u/.infrakit/leader.loc: no such file or directory"},
      {NULL, IK_ESTATE, 0, "no leader elected yet"},
      {"\"http://h:port/\"", 0, 0, "parse \"http://h:port/\": invalid port \":port\" after host"},
      {"7", 0, 0, "leader_location returned no URL string"},
  };
  for (size_t i = 0; i < sizeof errors / sizeof *errors; i++) {
    double_reset(&f->manager_d, errors[i].answer);
    f->manager_d.refuse = errors[i].refuse;
    if (errors[i].refuse || errors[i].fail)
      ik_err_set(&f->manager_d.fail, errors[i].fail ? errors[i].fail : errors[i].refuse, "%s", errors[i].message);
    char *want = error_body(-32000, errors[i].message);
    harness_expect(&f->h, "{\"jsonrpc\":\"2.0\",\"method\":\"Manager.LeaderLocation\",\"params\":{},\"id\":1}", want);
    free(want);
  }
  unserve(f);
}

static void urls_parse_as_go_parses_them(void **state) {
  for (size_t i = 0; i < sizeof urls / sizeof *urls; i++) {
    ik_err_t err = {0};
    json_t *u = NULL;
    int rc = ik_go_url(urls[i][0], &u, &err);
    if (strncmp(urls[i][1], "parse ", 6) == 0) {
      if (rc != IK_EINVAL) fail_msg("\"%s\": parsed, want %s", urls[i][0], urls[i][1]);
      assert_null(u);
      assert_string_equal(err.msg, urls[i][1]);
      continue;
    }
    if (rc < 0) fail_msg("\"%s\": %s", urls[i][0], err.msg);
    char *got = ik_json_dump_go(u, false, NULL);
    if (strcmp(got, urls[i][1]) != 0) fail_msg("\"%s\":\n  got  %s\n  want %s", urls[i][0], got, urls[i][1]);
    free(got);
    json_decref(u);
  }
  ik_err_t err = {0};
  json_t *u = NULL;
  assert_int_equal(ik_go_url("http://h/\x01", &u, &err), IK_EINVAL);
  assert_non_null(strstr(err.msg, "net/url: invalid control character in URL"));
}

/* Go's url.QueryEscape, for query values the drivers build (Docker's filters). */
static void query_values_escape_as_go_escapes_them(void **state) {
  static const char *const cases[][2] = {
      {"web-1", "web-1"},
      {"a b+c", "a+b%2Bc"},
      {"{\"label\":[\"k=v\"]}", "%7B%22label%22%3A%5B%22k%3Dv%22%5D%7D"},
      {"a/b?c&d@e:f;g$h,i~j_k.l", "a%2Fb%3Fc%26d%40e%3Af%3Bg%24h%2Ci~j_k.l"},
      {"\xc3\xa9", "%C3%A9"},
      {"", ""},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    ik_buf_t b = {0};
    ik_go_query_escape(&b, cases[i][0]);
    assert_string_equal(b.data ? b.data : "", cases[i][1]);
    ik_buf_free(&b);
  }
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(query_values_escape_as_go_escapes_them),
      cmocka_unit_test(recorded_exchanges_are_byte_exact),
      cmocka_unit_test(requests_decode_as_go_decodes_them),
      cmocka_unit_test(bad_params_are_32602_naming_the_field),
      cmocka_unit_test(driver_errors_become_json_rpc_errors),
      cmocka_unit_test(name_selects_the_object_as_infrakit_does),
      cmocka_unit_test(several_interfaces_share_a_socket),
      cmocka_unit_test(api_json_describes_the_group_interface),
      cmocka_unit_test(pause_and_resume_reach_the_controller),
      cmocka_unit_test(is_leader_answers_leader),
      cmocka_unit_test(leader_location_is_a_go_url_struct),
      cmocka_unit_test(urls_parse_as_go_parses_them),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
