/* infrakit version [--json] */
#include <curl/curlver.h>
#include <jansson.h>
#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <uv.h>

#include "cli/cli.h"
#include "ik_version.h"
#include "lua/runtime.h"

static int version_run(int argc, char **argv) {
  static const ik_opt_t opts[] = {{"json", 0, false}, {NULL, 0, false}};
  bool json = false;
  ik_optparse_t p;
  ik_opt_init(&p, &ik_cmd_version, argc, argv);
  for (int o; (o = ik_opt_next(&p, opts)) != IK_OPT_END;) {
    if (o == IK_OPT_HELP) return IK_EXIT_OK;
    if (o < 0) return IK_EXIT_USAGE;
    if (o == 0) json = true;
  }
  if (p.index < argc) return ik_cli_usage_error(&ik_cmd_version, "unexpected argument \"%s\"", argv[p.index]);

  /* The curl headers infrakit was built with: libcurl itself is not loaded
   * at start-up (see Makefile, LDLIBS_ALL). */
  const char *curl = LIBCURL_VERSION;
  const char *ssl = OpenSSL_version(OPENSSL_VERSION);
  if (json) {
    json_t *o = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s}", "version", IK_VERSION, "luajit",
                          ik_lua_version(), "libuv", uv_version_string(), "curl", curl,
                          "openssl", ssl, "jansson", JANSSON_VERSION);
    ik_cli_print_json(o);
    json_decref(o);
    return IK_EXIT_OK;
  }
  printf("infrakit %s\n", IK_VERSION);
  printf("  luajit   %s\n", ik_lua_version());
  printf("  libuv    %s\n", uv_version_string());
  printf("  curl     %s\n", curl);
  printf("  openssl  %s\n", ssl);
  printf("  jansson  %s\n", JANSSON_VERSION);
  return IK_EXIT_OK;
}

const ik_cli_cmd_t ik_cmd_version = {
    .name = "version",
    .summary = "Print the version of infrakit and of the libraries it runs on",
    .usage = "infrakit version [--json]",
    .help = "The version is `git describe` of the source tree the binary was built from.\n\n"
            "Options:\n"
            "  --json   print a JSON object (version, luajit, libuv, curl, openssl, jansson)\n",
    .run = version_run,
};
