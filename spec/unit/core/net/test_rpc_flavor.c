/* core/net/server/rpc_flavor: Flavor/0.1.1 served from a flavor vtable. A real
 * rpc_server on a unix socket, a raw HTTP client and a flavor double that
 * records its arguments and answers later from the loop: the recorded
 * InfraKit exchanges byte for byte, Go's decoding (any case, null = zero
 * value), -32602 naming the bad field, driver errors, typed dispatch,
 * Handshake.Hello and /info/api.json. */
#include "rpc_harness.h"

#include "net/server/rpc_flavor.h"

/* --- the double ------------------------------------------------------------ */

static int fd_validate(void *self, json_t *properties, json_t *allocation, ik_spi_cb cb, void *data, ik_err_t *err) {
  return double_answer(self, "validate", json_pack("[O,O]", or_null(properties), allocation), cb, data, err);
}

static int fd_prepare(void *self, json_t *properties, json_t *spec, json_t *allocation, json_t *index, ik_spi_cb cb,
                      void *data, ik_err_t *err) {
  return double_answer(self, "prepare", json_pack("[O,O,O,O]", or_null(properties), spec, allocation, index), cb,
                       data, err);
}

static int fd_healthy(void *self, json_t *properties, json_t *instance, ik_spi_cb cb, void *data, ik_err_t *err) {
  return double_answer(self, "healthy", json_pack("[O,O]", or_null(properties), instance), cb, data, err);
}

static int fd_drain(void *self, json_t *properties, json_t *instance, ik_spi_cb cb, void *data, ik_err_t *err) {
  return double_answer(self, "drain", json_pack("[O,O]", or_null(properties), instance), cb, data, err);
}

static const ik_flavor_vtable_t double_vt = {
    .kind = "double",
    .validate = fd_validate,
    .prepare = fd_prepare,
    .healthy = fd_healthy,
    .drain = fd_drain,
    .free = NULL,
};

typedef struct fixture {
  harness_t h;
  spi_double_t d, docker;
  ik_flavor_plugin_t plugin, docker_plugin;
} fixture_t;

/* flavor-vanilla serving the double as "."; with_docker adds a second
 * double as type "docker". */
static fixture_t *serve(bool with_docker) {
  fixture_t *f = IK_NEW(fixture_t);
  harness_start(&f->h, "flavor-vanilla");
  f->d.loop = f->docker.loop = &f->h.loop;
  f->plugin = (ik_flavor_plugin_t){&double_vt, &f->d};
  f->docker_plugin = (ik_flavor_plugin_t){&double_vt, &f->docker};
  harness_add(&f->h, &ik_rpc_flavor_iface, ".", &f->plugin);
  if (with_docker) harness_add(&f->h, &ik_rpc_flavor_iface, "docker", &f->docker_plugin);
  harness_listen(&f->h);
  return f;
}

static void unserve(fixture_t *f) {
  harness_stop(&f->h);
  json_decref(f->d.result);
  json_decref(f->docker.result);
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
    {"Flavor.Validate",
     "{\"jsonrpc\":\"2.0\",\"method\":\"Flavor.Validate\",\"params\":{\"Type\":\"\",\"Properties\":{\"Init"
     "\":[\"echo hello\"],\"Tags\":{\"tier\":\"web\"}},\"Allocation\":{\"Size\":2,\"LogicalIDs\":null}},\""
     "id\":8247570563540673591}",
     NULL,
     "validate [{\"Init\":[\"echo hello\"],\"Tags\":{\"tier\":\"web\"}},{\"Size\":2,\"LogicalIDs\":null}]",
     "{\"jsonrpc\":\"2.0\",\"result\":{\"Type\":\"\",\"OK\":true},\"id\":8247570563540673591}\n"},
    {"Flavor.Prepare",
     "{\"jsonrpc\":\"2.0\",\"method\":\"Flavor.Prepare\",\"params\":{\"Type\":\"\",\"Properties\":{\"Init\""
     ":[\"echo hello\"],\"Tags\":{\"tier\":\"web\"}},\"Spec\":{\"Properties\":{\"Note\":\"v1\"},\"Tags\":{"
     "\"infrakit.config.hash\":\"rsfonnrfmaykaiytaj26ud5ixjk7m4rd\",\"infrakit.group\":\"cattle\"},\"Init\""
     ":\"\",\"LogicalID\":null,\"Attachments\":null},\"Allocation\":{\"Size\":2,\"LogicalIDs\":null},\"Ind"
     "ex\":{\"Group\":\"cattle\",\"Sequence\":2}},\"id\":7652377191455817955}",
     "{\"Properties\":{\"Note\":\"v1\"},\"Tags\":{\"infrakit.config.hash\":\"rsfonnrfmaykaiytaj26ud5ixjk7m"
     "4rd\",\"infrakit.group\":\"cattle\",\"tier\":\"web\"},\"Init\":\"echo hello\",\"LogicalID\":null,\"A"
     "ttachments\":null}",
     "prepare [{\"Init\":[\"echo hello\"],\"Tags\":{\"tier\":\"web\"}},{\"Properties\":{\"Note\":\"v1\"},\""
     "Tags\":{\"infrakit.config.hash\":\"rsfonnrfmaykaiytaj26ud5ixjk7m4rd\",\"infrakit.group\":\"cattle\"}"
     ",\"Init\":\"\",\"LogicalID\":null,\"Attachments\":null},{\"Size\":2,\"LogicalIDs\":null},{\"Group\":"
     "\"cattle\",\"Sequence\":2}]",
     "{\"jsonrpc\":\"2.0\",\"result\":{\"Type\":\"\",\"Spec\":{\"Properties\":{\"Note\":\"v1\"},\"Tags\":{"
     "\"infrakit.config.hash\":\"rsfonnrfmaykaiytaj26ud5ixjk7m4rd\",\"infrakit.group\":\"cattle\",\"tier\""
     ":\"web\"},\"Init\":\"echo hello\",\"LogicalID\":null,\"Attachments\":null}},\"id\":76523771914558179"
     "55}\n"},
    {"Flavor.Healthy",
     "{\"jsonrpc\":\"2.0\",\"method\":\"Flavor.Healthy\",\"params\":{\"Type\":\"\",\"Properties\":{\"Init\""
     ":[\"echo hello\"],\"Tags\":{\"tier\":\"web\"}},\"Instance\":{\"ID\":\"instance-699540940445105669\","
     "\"LogicalID\":null,\"Tags\":{\"infrakit.config.hash\":\"rsfonnrfmaykaiytaj26ud5ixjk7m4rd\",\"infraki"
     "t.group\":\"cattle\",\"tier\":\"web\"},\"Properties\":{\"Properties\":{\"Note\":\"v1\"},\"Tags\":{\""
     "infrakit.config.hash\":\"rsfonnrfmaykaiytaj26ud5ixjk7m4rd\",\"infrakit.group\":\"cattle\",\"tier\":\""
     "web\"},\"Init\":\"echo hello\",\"LogicalID\":null,\"Attachments\":null}}},\"id\":3175430061454884662"
     "}",
     "1",
     "healthy [{\"Init\":[\"echo hello\"],\"Tags\":{\"tier\":\"web\"}},{\"ID\":\"instance-6995409404451056"
     "69\",\"LogicalID\":null,\"Tags\":{\"infrakit.config.hash\":\"rsfonnrfmaykaiytaj26ud5ixjk7m4rd\",\"in"
     "frakit.group\":\"cattle\",\"tier\":\"web\"},\"Properties\":{\"Properties\":{\"Note\":\"v1\"},\"Tags\""
     ":{\"infrakit.config.hash\":\"rsfonnrfmaykaiytaj26ud5ixjk7m4rd\",\"infrakit.group\":\"cattle\",\"tier"
     "\":\"web\"},\"Init\":\"echo hello\",\"LogicalID\":null,\"Attachments\":null}}]",
     "{\"jsonrpc\":\"2.0\",\"result\":{\"Type\":\"\",\"Health\":1},\"id\":3175430061454884662}\n"},
    {"Flavor.Drain",
     "{\"jsonrpc\":\"2.0\",\"method\":\"Flavor.Drain\",\"params\":{\"Type\":\"\",\"Properties\":{\"Init\":"
     "[\"echo hello\"],\"Tags\":{\"tier\":\"web\"}},\"Instance\":{\"ID\":\"instance-1474293218154031030\","
     "\"LogicalID\":null,\"Tags\":{\"infrakit.config.hash\":\"rsfonnrfmaykaiytaj26ud5ixjk7m4rd\",\"infraki"
     "t.group\":\"cattle\",\"tier\":\"web\"},\"Properties\":{\"Properties\":{\"Note\":\"v1\"},\"Tags\":{\""
     "infrakit.config.hash\":\"rsfonnrfmaykaiytaj26ud5ixjk7m4rd\",\"infrakit.group\":\"cattle\",\"tier\":\""
     "web\"},\"Init\":\"echo hello\",\"LogicalID\":null,\"Attachments\":null}}},\"id\":5615132631495595858"
     "}",
     NULL,
     "drain [{\"Init\":[\"echo hello\"],\"Tags\":{\"tier\":\"web\"}},{\"ID\":\"instance-147429321815403103"
     "0\",\"LogicalID\":null,\"Tags\":{\"infrakit.config.hash\":\"rsfonnrfmaykaiytaj26ud5ixjk7m4rd\",\"inf"
     "rakit.group\":\"cattle\",\"tier\":\"web\"},\"Properties\":{\"Properties\":{\"Note\":\"v1\"},\"Tags\""
     ":{\"infrakit.config.hash\":\"rsfonnrfmaykaiytaj26ud5ixjk7m4rd\",\"infrakit.group\":\"cattle\",\"tier"
     "\":\"web\"},\"Init\":\"echo hello\",\"LogicalID\":null,\"Attachments\":null}}]",
     "{\"jsonrpc\":\"2.0\",\"result\":{\"Type\":\"\",\"OK\":true},\"id\":5615132631495595858}\n"},
    {"Go's escapes of < > & (Flavor.Prepare edge case)",
     "{\"jsonrpc\":\"2.0\",\"method\":\"Flavor.Prepare\",\"params\":{\"Type\":\"\",\"Properties\":{\"Init\""
     ":[\"a && b > c <d>\"]},\"Spec\":{\"Properties\":null,\"Tags\":null,\"Init\":\"\",\"LogicalID\":null,"
     "\"Attachments\":null},\"Allocation\":{\"Size\":1},\"Index\":{\"Group\":\"g\",\"Sequence\":0}},\"id\""
     ":8}",
     "{\"Init\":\"a && b > c <d>\"}",
     "prepare [{\"Init\":[\"a \\u0026\\u0026 b \\u003e c \\u003cd\\u003e\"]},{\"Properties\":null,\"Tags\""
     ":null,\"Init\":\"\",\"LogicalID\":null,\"Attachments\":null},{\"Size\":1,\"LogicalIDs\":null},{\"Gro"
     "up\":\"g\",\"Sequence\":0}]",
     "{\"jsonrpc\":\"2.0\",\"result\":{\"Type\":\"\",\"Spec\":{\"Properties\":null,\"Tags\":null,\"Init\":"
     "\"a \\u0026\\u0026 b \\u003e c \\u003cd\\u003e\",\"LogicalID\":null,\"Attachments\":null}},\"id\":8}"
     "\n"},
};

static const exchange_t decoding[] = {
    {"lower-case field names",
     "{\"jsonrpc\":\"2.0\",\"method\":\"Flavor.Prepare\",\"params\":{\"type\":\"\",\"properties\":{\"x\":1"
     "},\"spec\":{\"properties\":{\"p\":2},\"tags\":{\"a\":\"b\"},\"init\":\"x\",\"logicalid\":\"10.0.0.1\""
     ",\"attachments\":[{\"id\":\"vol\",\"type\":\"ebs\"},null]},\"allocation\":{\"size\":3,\"logicalids\""
     ":[\"10.0.0.1\",null]},\"index\":{\"group\":\"g\",\"sequence\":5}},\"id\":1}",
     "{\"init\":\"x\",\"tags\":{\"a\":\"b\"}}",
     "prepare [{\"x\":1},{\"Properties\":{\"p\":2},\"Tags\":{\"a\":\"b\"},\"Init\":\"x\",\"LogicalID\":\"1"
     "0.0.0.1\",\"Attachments\":[{\"ID\":\"vol\",\"Type\":\"ebs\"},{\"ID\":\"\",\"Type\":\"\"}]},{\"Size\""
     ":3,\"LogicalIDs\":[\"10.0.0.1\",\"\"]},{\"Group\":\"g\",\"Sequence\":5}]",
     "{\"jsonrpc\":\"2.0\",\"result\":{\"Type\":\"\",\"Spec\":{\"Properties\":null,\"Tags\":{\"a\":\"b\"},"
     "\"Init\":\"x\",\"LogicalID\":null,\"Attachments\":null}},\"id\":1}\n"},
    {"null and absent fields are Go's zero values",
     "{\"jsonrpc\":\"2.0\",\"method\":\"Flavor.Prepare\",\"params\":{\"Type\":null,\"Properties\":null,\"S"
     "pec\":null,\"Allocation\":null,\"Index\":null},\"id\":1}",
     "{}",
     "prepare [null,{\"Properties\":null,\"Tags\":null,\"Init\":\"\",\"LogicalID\":null,\"Attachments\":nu"
     "ll},{\"Size\":0,\"LogicalIDs\":null},{\"Group\":\"\",\"Sequence\":0}]",
     "{\"jsonrpc\":\"2.0\",\"result\":{\"Type\":\"\",\"Spec\":{\"Properties\":null,\"Tags\":null,\"Init\":"
     "\"\",\"LogicalID\":null,\"Attachments\":null}},\"id\":1}\n"},
    {"params omitted",
     "{\"jsonrpc\":\"2.0\",\"method\":\"Flavor.Validate\",\"id\":1}",
     NULL,
     "validate [null,{\"Size\":0,\"LogicalIDs\":null}]",
     "{\"jsonrpc\":\"2.0\",\"result\":{\"Type\":\"\",\"OK\":true},\"id\":1}\n"},
    {"an instance without Properties omits them; null Tags stay null",
     "{\"jsonrpc\":\"2.0\",\"method\":\"Flavor.Healthy\",\"params\":{\"instance\":{\"id\":\"i\",\"logicali"
     "d\":null,\"tags\":null,\"properties\":null}},\"id\":1}",
     "0",
     "healthy [null,{\"ID\":\"i\",\"LogicalID\":null,\"Tags\":null}]",
     "{\"jsonrpc\":\"2.0\",\"result\":{\"Type\":\"\",\"Health\":0},\"id\":1}\n"},
    {"an instance with Properties keeps them; unknown fields are ignored",
     "{\"jsonrpc\":\"2.0\",\"method\":\"Flavor.Drain\",\"params\":{\"Properties\":[1],\"Instance\":{\"ID\""
     ":\"i\",\"LogicalID\":\"l\",\"Tags\":{},\"Properties\":{\"a\":[]},\"Extra\":1}},\"id\":1}",
     NULL,
     "drain [[1],{\"ID\":\"i\",\"LogicalID\":\"l\",\"Tags\":{},\"Properties\":{\"a\":[]}}]",
     "{\"jsonrpc\":\"2.0\",\"result\":{\"Type\":\"\",\"OK\":true},\"id\":1}\n"},
    {"Health 2 is unhealthy",
     "{\"jsonrpc\":\"2.0\",\"method\":\"Flavor.Healthy\",\"params\":{},\"id\":1}",
     "2",
     "healthy [null,{\"ID\":\"\",\"LogicalID\":null,\"Tags\":null}]",
     "{\"jsonrpc\":\"2.0\",\"result\":{\"Type\":\"\",\"Health\":2},\"id\":1}\n"},
};

static const exchange_t bad_params[] = {
    {"Flavor.Prepare: params.Index.Sequence: want a non-negative integer, got -1",
     "{\"jsonrpc\":\"2.0\",\"method\":\"Flavor.Prepare\",\"params\":{\"Index\":{\"Group\":\"g\",\"Sequence"
     "\":-1}},\"id\":1}",
     NULL,
     NULL,
     "{\"jsonrpc\":\"2.0\",\"error\":{\"code\":-32602,\"message\":\"params.Index.Sequence: want a non-nega"
     "tive integer, got -1\",\"data\":null},\"id\":1}\n"},
    {"Flavor.Prepare: params.Index.Sequence: want a non-negative integer, got 1.5",
     "{\"jsonrpc\":\"2.0\",\"method\":\"Flavor.Prepare\",\"params\":{\"Index\":{\"Sequence\":1.5}},\"id\":"
     "1}",
     NULL,
     NULL,
     "{\"jsonrpc\":\"2.0\",\"error\":{\"code\":-32602,\"message\":\"params.Index.Sequence: want a non-nega"
     "tive integer, got 1.5\",\"data\":null},\"id\":1}\n"},
    {"Flavor.Prepare: params.Index.Group: want a string, got 7",
     "{\"jsonrpc\":\"2.0\",\"method\":\"Flavor.Prepare\",\"params\":{\"Index\":{\"Group\":7}},\"id\":1}",
     NULL,
     NULL,
     "{\"jsonrpc\":\"2.0\",\"error\":{\"code\":-32602,\"message\":\"params.Index.Group: want a string, got"
     " 7\",\"data\":null},\"id\":1}\n"},
    {"Flavor.Prepare: params.Index: want an object, got an array",
     "{\"jsonrpc\":\"2.0\",\"method\":\"Flavor.Prepare\",\"params\":{\"Index\":[]},\"id\":1}",
     NULL,
     NULL,
     "{\"jsonrpc\":\"2.0\",\"error\":{\"code\":-32602,\"message\":\"params.Index: want an object, got an a"
     "rray\",\"data\":null},\"id\":1}\n"},
    {"Flavor.Prepare: params.Spec.Tags.a: want a string, got 1",
     "{\"jsonrpc\":\"2.0\",\"method\":\"Flavor.Prepare\",\"params\":{\"Spec\":{\"Tags\":{\"a\":1}}},\"id\""
     ":1}",
     NULL,
     NULL,
     "{\"jsonrpc\":\"2.0\",\"error\":{\"code\":-32602,\"message\":\"params.Spec.Tags.a: want a string, got"
     " 1\",\"data\":null},\"id\":1}\n"},
    {"Flavor.Prepare: params.Spec.Tags: want an object of strings, got an array",
     "{\"jsonrpc\":\"2.0\",\"method\":\"Flavor.Prepare\",\"params\":{\"Spec\":{\"Tags\":[\"a\"]}},\"id\":1"
     "}",
     NULL,
     NULL,
     "{\"jsonrpc\":\"2.0\",\"error\":{\"code\":-32602,\"message\":\"params.Spec.Tags: want an object of st"
     "rings, got an array\",\"data\":null},\"id\":1}\n"},
    {"Flavor.Prepare: params.Spec.Init: want a string, got an array",
     "{\"jsonrpc\":\"2.0\",\"method\":\"Flavor.Prepare\",\"params\":{\"Spec\":{\"Init\":[\"a\"]}},\"id\":1"
     "}",
     NULL,
     NULL,
     "{\"jsonrpc\":\"2.0\",\"error\":{\"code\":-32602,\"message\":\"params.Spec.Init: want a string, got a"
     "n array\",\"data\":null},\"id\":1}\n"},
    {"Flavor.Prepare: params.Spec.LogicalID: want a string or null, got 5",
     "{\"jsonrpc\":\"2.0\",\"method\":\"Flavor.Prepare\",\"params\":{\"Spec\":{\"LogicalID\":5}},\"id\":1}",
     NULL,
     NULL,
     "{\"jsonrpc\":\"2.0\",\"error\":{\"code\":-32602,\"message\":\"params.Spec.LogicalID: want a string o"
     "r null, got 5\",\"data\":null},\"id\":1}\n"},
    {"Flavor.Prepare: params.Spec.Attachments: want an array, got a string",
     "{\"jsonrpc\":\"2.0\",\"method\":\"Flavor.Prepare\",\"params\":{\"Spec\":{\"Attachments\":\"x\"}},\"i"
     "d\":1}",
     NULL,
     NULL,
     "{\"jsonrpc\":\"2.0\",\"error\":{\"code\":-32602,\"message\":\"params.Spec.Attachments: want an array"
     ", got a string\",\"data\":null},\"id\":1}\n"},
    {"Flavor.Prepare: params.Spec.Attachments[1]: want an object, got 5",
     "{\"jsonrpc\":\"2.0\",\"method\":\"Flavor.Prepare\",\"params\":{\"Spec\":{\"Attachments\":[{\"ID\":\""
     "a\"},5]}},\"id\":1}",
     NULL,
     NULL,
     "{\"jsonrpc\":\"2.0\",\"error\":{\"code\":-32602,\"message\":\"params.Spec.Attachments[1]: want an ob"
     "ject, got 5\",\"data\":null},\"id\":1}\n"},
    {"Flavor.Prepare: params.Spec.Attachments[0].Type: want a string, got true",
     "{\"jsonrpc\":\"2.0\",\"method\":\"Flavor.Prepare\",\"params\":{\"Spec\":{\"Attachments\":[{\"Type\":"
     "true}]}},\"id\":1}",
     NULL,
     NULL,
     "{\"jsonrpc\":\"2.0\",\"error\":{\"code\":-32602,\"message\":\"params.Spec.Attachments[0].Type: want "
     "a string, got true\",\"data\":null},\"id\":1}\n"},
    {"Flavor.Prepare: params.Spec: want an object, got a string",
     "{\"jsonrpc\":\"2.0\",\"method\":\"Flavor.Prepare\",\"params\":{\"Spec\":\"x\"},\"id\":1}",
     NULL,
     NULL,
     "{\"jsonrpc\":\"2.0\",\"error\":{\"code\":-32602,\"message\":\"params.Spec: want an object, got a str"
     "ing\",\"data\":null},\"id\":1}\n"},
    {"Flavor.Validate: params.Allocation.Size: want a non-negative integer, got a string",
     "{\"jsonrpc\":\"2.0\",\"method\":\"Flavor.Validate\",\"params\":{\"Allocation\":{\"Size\":\"2\"}},\"i"
     "d\":1}",
     NULL,
     NULL,
     "{\"jsonrpc\":\"2.0\",\"error\":{\"code\":-32602,\"message\":\"params.Allocation.Size: want a non-neg"
     "ative integer, got a string\",\"data\":null},\"id\":1}\n"},
    {"Flavor.Validate: params.Allocation.LogicalIDs[0]: want a string, got 1",
     "{\"jsonrpc\":\"2.0\",\"method\":\"Flavor.Validate\",\"params\":{\"allocation\":{\"logicalIDs\":[1]}}"
     ",\"id\":1}",
     NULL,
     NULL,
     "{\"jsonrpc\":\"2.0\",\"error\":{\"code\":-32602,\"message\":\"params.Allocation.LogicalIDs[0]: want "
     "a string, got 1\",\"data\":null},\"id\":1}\n"},
    {"Flavor.Healthy: params.Instance.ID: want a string, got 5",
     "{\"jsonrpc\":\"2.0\",\"method\":\"Flavor.Healthy\",\"params\":{\"Instance\":{\"ID\":5}},\"id\":1}",
     NULL,
     NULL,
     "{\"jsonrpc\":\"2.0\",\"error\":{\"code\":-32602,\"message\":\"params.Instance.ID: want a string, got"
     " 5\",\"data\":null},\"id\":1}\n"},
    {"Flavor.Healthy: params.Instance.Tags.j: want a string, got false",
     "{\"jsonrpc\":\"2.0\",\"method\":\"Flavor.Healthy\",\"params\":{\"Instance\":{\"Tags\":{\"k\":null,\""
     "j\":false}}},\"id\":1}",
     NULL,
     NULL,
     "{\"jsonrpc\":\"2.0\",\"error\":{\"code\":-32602,\"message\":\"params.Instance.Tags.j: want a string,"
     " got false\",\"data\":null},\"id\":1}\n"},
    {"Flavor.Drain: params.Instance: want an object, got a string",
     "{\"jsonrpc\":\"2.0\",\"method\":\"Flavor.Drain\",\"params\":{\"Instance\":\"x\"},\"id\":1}",
     NULL,
     NULL,
     "{\"jsonrpc\":\"2.0\",\"error\":{\"code\":-32602,\"message\":\"params.Instance: want an object, got a"
     " string\",\"data\":null},\"id\":1}\n"},
    {"Flavor.Drain: params.Type: want a string, got a number",
     "{\"jsonrpc\":\"2.0\",\"method\":\"Flavor.Drain\",\"params\":{\"Type\":5},\"id\":1}",
     NULL,
     NULL,
     "{\"jsonrpc\":\"2.0\",\"error\":{\"code\":-32602,\"message\":\"params.Type: want a string, got a numb"
     "er\",\"data\":null},\"id\":1}\n"},
};

/* GET /info/api.json @ flavor-vanilla: Go's json.Marshal of the zero-value
 * request structs (the recording shows its shape and its length, 1227). */
static const char flavor_api_json[] =
    "{\"Vendor\":null,\"Implements\":[{\"Name\":\"Flavor\",\"Version\":\"0.1.1\",\"Sub\":\"\"}],\"Interfa"
    "ces\":[{\"Name\":\"Flavor\",\"Version\":\"0.1.1\",\"Sub\":\"\",\"Methods\":[{\"Request\":{\"jsonrpc\""
    ":\"2.0\",\"method\":\"Flavor.Drain\",\"params\":{\"Type\":\"\",\"Properties\":null,\"Instance\":{\"I"
    "D\":\"\",\"LogicalID\":null,\"Tags\":null}},\"id\":\"1795571590\"},\"Response\":{\"result\":{\"Type\""
    ":\"\",\"OK\":false},\"id\":\"1795571590\"}},{\"Request\":{\"jsonrpc\":\"2.0\",\"method\":\"Flavor.He"
    "althy\",\"params\":{\"Type\":\"\",\"Properties\":null,\"Instance\":{\"ID\":\"\",\"LogicalID\":null,\""
    "Tags\":null}},\"id\":\"1795571590\"},\"Response\":{\"result\":{\"Type\":\"\",\"Health\":0},\"id\":\""
    "1795571590\"}},{\"Request\":{\"jsonrpc\":\"2.0\",\"method\":\"Flavor.Prepare\",\"params\":{\"Type\":"
    "\"\",\"Properties\":null,\"Spec\":{\"Properties\":null,\"Tags\":null,\"Init\":\"\",\"LogicalID\":nul"
    "l,\"Attachments\":null},\"Allocation\":{\"Size\":0,\"LogicalIDs\":null},\"Index\":{\"Group\":\"\",\""
    "Sequence\":0}},\"id\":\"1795571590\"},\"Response\":{\"result\":{\"Type\":\"\",\"Spec\":{\"Properties"
    "\":null,\"Tags\":null,\"Init\":\"\",\"LogicalID\":null,\"Attachments\":null}},\"id\":\"1795571590\"}"
    "},{\"Request\":{\"jsonrpc\":\"2.0\",\"method\":\"Flavor.Validate\",\"params\":{\"Type\":\"\",\"Prope"
    "rties\":null,\"Allocation\":{\"Size\":0,\"LogicalIDs\":null}},\"id\":\"1795571590\"},\"Response\":{\""
    "result\":{\"Type\":\"\",\"OK\":false},\"id\":\"1795571590\"}}]}]}";

/* Each exchange on a fresh double: the response byte for byte, and the
 * call the double saw (or that it saw none). */
static void run_table(const exchange_t *rows, size_t n) {
  fixture_t *f = serve(false);
  for (size_t i = 0; i < n; i++) {
    double_reset(&f->d, rows[i].answer);
    char *got = harness_post(&f->h, rows[i].request);
    if (strcmp(got, rows[i].response) != 0)
      fail_msg("%s:\n  got  %s  want %s", rows[i].name, got, rows[i].response);
    ik_free(got);
    if (rows[i].call == NULL && f->d.calls != 0) fail_msg("%s: the flavor was called: %s", rows[i].name, f->d.last);
    if (rows[i].call && strcmp(f->d.last, rows[i].call) != 0)
      fail_msg("%s:\n  flavor saw  %s\n  want        %s", rows[i].name, f->d.last, rows[i].call);
  }
  unserve(f);
}

/* --- tests ---------------------------------------------------------------- */

static void recorded_exchanges_are_byte_exact(void **state) {
  run_table(wire_exchanges, sizeof wire_exchanges / sizeof *wire_exchanges);
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
  fixture_t *f = serve(false);
  static const struct {
    const char *request, *answer;
    int refuse, fail;
    const char *message;
    int code;
  } cases[] = {
      {"{\"jsonrpc\":\"2.0\",\"method\":\"Flavor.Healthy\",\"params\":{},\"id\":1}", NULL, 0, IK_EDRIVER,
       "ssh: connection refused", -32000},
      {"{\"jsonrpc\":\"2.0\",\"method\":\"Flavor.Prepare\",\"params\":{},\"id\":1}", NULL, IK_EDRIVER, 0,
       "template init.sh: no such file", -32000},
      {"{\"jsonrpc\":\"2.0\",\"method\":\"Flavor.Validate\",\"params\":{},\"id\":1}", NULL, IK_EINVAL, 0,
       "Properties.Init: want a list of strings", -32602},
      {"{\"jsonrpc\":\"2.0\",\"method\":\"Flavor.Healthy\",\"params\":{},\"id\":1}", "7", 0, 0,
       "flavor healthy returned no health (want 0 unknown, 1 healthy, 2 unhealthy)", -32000},
      {"{\"jsonrpc\":\"2.0\",\"method\":\"Flavor.Healthy\",\"params\":{},\"id\":1}", "true", 0, 0,
       "flavor healthy returned no health (want 0 unknown, 1 healthy, 2 unhealthy)", -32000},
      {"{\"jsonrpc\":\"2.0\",\"method\":\"Flavor.Prepare\",\"params\":{},\"id\":1}", "\"x\"", 0, 0,
       "flavor prepare returned no spec (want an instance spec object)", -32000},
      {"{\"jsonrpc\":\"2.0\",\"method\":\"Flavor.Prepare\",\"params\":{},\"id\":1}", "{\"Tags\":{\"a\":1}}", 0, 0,
       "prepared Spec.Tags.a: want a string, got 1", -32000},
  };
  for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
    double_reset(&f->d, cases[i].answer);
    f->d.refuse = cases[i].refuse;
    if (cases[i].refuse || cases[i].fail)
      ik_err_set(&f->d.fail, cases[i].fail ? cases[i].fail : cases[i].refuse, "%s", cases[i].message);
    char *want = error_body(cases[i].code, cases[i].message);
    harness_expect(&f->h, cases[i].request, want);
    free(want);
    assert_int_equal(f->d.calls, 1);
  }
  unserve(f);
}

/* Type "" is the default object, another Type the object of that name, an
 * unknown Type the error InfraKit gives; the result echoes Type. */
static void type_selects_the_object(void **state) {
  fixture_t *f = serve(true);
  double_reset(&f->d, "1");
  double_reset(&f->docker, "2");
  harness_expect(&f->h, "{\"jsonrpc\":\"2.0\",\"method\":\"Flavor.Healthy\",\"params\":{\"Type\":\"\"},\"id\":1}",
                 "{\"jsonrpc\":\"2.0\",\"result\":{\"Type\":\"\",\"Health\":1},\"id\":1}\n");
  harness_expect(&f->h,
                 "{\"jsonrpc\":\"2.0\",\"method\":\"Flavor.Healthy\",\"params\":{\"type\":\"docker\"},\"id\":1}",
                 "{\"jsonrpc\":\"2.0\",\"result\":{\"Type\":\"docker\",\"Health\":2},\"id\":1}\n");
  char *want = error_body(-32000, "no-plugin:nope");
  harness_expect(&f->h, "{\"jsonrpc\":\"2.0\",\"method\":\"Flavor.Drain\",\"params\":{\"Type\":\"nope\"},\"id\":1}",
                 want);
  free(want);
  assert_int_equal(f->d.calls, 1);
  assert_int_equal(f->docker.calls, 1);
  unserve(f);
}

static void without_a_default_object_an_empty_type_is_no_plugin(void **state) {
  fixture_t *f = IK_NEW(fixture_t);
  harness_start(&f->h, "flavor-swarm");
  f->docker.loop = &f->h.loop;
  f->docker_plugin = (ik_flavor_plugin_t){&double_vt, &f->docker};
  harness_add(&f->h, &ik_rpc_flavor_iface, "manager", &f->docker_plugin);
  harness_listen(&f->h);
  char *want = error_body(-32000, "no-plugin:");
  harness_expect(&f->h, "{\"jsonrpc\":\"2.0\",\"method\":\"Flavor.Validate\",\"params\":{},\"id\":1}", want);
  free(want);
  assert_int_equal(f->docker.calls, 0);
  unserve(f);
}

static void hello_lists_flavor_0_1_1(void **state) {
  fixture_t *f = serve(false);
  harness_expect(&f->h,
                 "{\"jsonrpc\":\"2.0\",\"method\":\"Handshake.Hello\",\"params\":{},\"id\":3605489218498577902}",
                 "{\"jsonrpc\":\"2.0\",\"result\":{\"Objects\":{\"Flavor/0.1.1\":[{\"Name\":\".\",\"ProxyFor\":\"\"}]}},"
                 "\"id\":3605489218498577902}\n");
  unserve(f);
}

static void api_json_is_the_recorded_one(void **state) {
  fixture_t *f = serve(false);
  char *got = harness_get(&f->h, "/info/api.json");
  assert_string_equal(got, flavor_api_json);
  assert_int_equal(strlen(got), 1227);
  ik_free(got);
  unserve(f);
}

/* A hidden service (our Plugin.Reload) answers, but Hello and api.json
 * show the plugin exactly as InfraKit's clients know it. */
static void ping(ik_rpc_call_t *call, json_t *params, void *obj) {
  ik_rpc_reply(call, json_pack("{s:b}", "Pong", 1));
}
static const ik_rpc_method_t hidden_methods[] = {{"Ping", ping, "{}", "{}"}, {NULL, NULL, NULL, NULL}};
static const ik_rpc_iface_t hidden_iface = {"Plugin", "0.1.0", "Plugin", IK_RPC_SINGLE, hidden_methods, true};

static void a_hidden_service_answers_but_hello_does_not_list_it(void **state) {
  fixture_t *f = IK_NEW(fixture_t);
  harness_start(&f->h, "flavor-vanilla");
  f->d.loop = &f->h.loop;
  f->plugin = (ik_flavor_plugin_t){&double_vt, &f->d};
  harness_add(&f->h, &ik_rpc_flavor_iface, ".", &f->plugin);
  harness_add(&f->h, &hidden_iface, ".", NULL);
  harness_listen(&f->h);
  harness_expect(&f->h, "{\"jsonrpc\":\"2.0\",\"method\":\"Plugin.Ping\",\"params\":{},\"id\":1}",
                 "{\"jsonrpc\":\"2.0\",\"result\":{\"Pong\":true},\"id\":1}\n");
  harness_expect(&f->h,
                 "{\"jsonrpc\":\"2.0\",\"method\":\"Handshake.Hello\",\"params\":{},\"id\":3605489218498577902}",
                 "{\"jsonrpc\":\"2.0\",\"result\":{\"Objects\":{\"Flavor/0.1.1\":[{\"Name\":\".\",\"ProxyFor\":\"\"}]}},"
                 "\"id\":3605489218498577902}\n");
  char *got = harness_get(&f->h, "/info/api.json");
  assert_string_equal(got, flavor_api_json);
  ik_free(got);
  unserve(f);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(recorded_exchanges_are_byte_exact),
      cmocka_unit_test(requests_decode_as_go_decodes_them),
      cmocka_unit_test(bad_params_are_32602_naming_the_field),
      cmocka_unit_test(driver_errors_become_json_rpc_errors),
      cmocka_unit_test(type_selects_the_object),
      cmocka_unit_test(without_a_default_object_an_empty_type_is_no_plugin),
      cmocka_unit_test(hello_lists_flavor_0_1_1),
      cmocka_unit_test(a_hidden_service_answers_but_hello_does_not_list_it),
      cmocka_unit_test(api_json_is_the_recorded_one),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
