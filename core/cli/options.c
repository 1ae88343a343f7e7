/* Option parsing shared by every command, global options, and the "did you
 * mean" suggestions for unknown commands and flags. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "cli/cli.h"
#include "lua/runtime.h"

double ik_cli_lua_timeout = 0;
double ik_cli_sandbox_timeout = 0;
size_t ik_cli_sandbox_memory = 0;

static const struct {
  const char *name;
  bool has_arg;
} ik_global_opts[] = {
    {"log-level", true},
    {"log-file", true},
    {"log-format", true},
    {"lua-timeout", true},
    {"sandbox-timeout", true},
    {"sandbox-memory", true},
};
#define IK_NGLOBAL (sizeof ik_global_opts / sizeof ik_global_opts[0])

/* Optimal string alignment distance: insertions, deletions, substitutions
 * and swaps of two adjacent letters each cost 1, so "hlep" is one edit
 * from "help" (the typo people make most). */
size_t ik_cli_edit_distance(const char *a, const char *b) {
  size_t la = strlen(a), lb = strlen(b);
  if (la > 64 || lb > 64) return la > lb ? la : lb;
  size_t prev2[65], prev[65], cur[65];
  for (size_t j = 0; j <= lb; j++) prev[j] = j;
  for (size_t i = 1; i <= la; i++) {
    cur[0] = i;
    for (size_t j = 1; j <= lb; j++) {
      size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
      size_t best = prev[j - 1] + cost;
      if (prev[j] + 1 < best) best = prev[j] + 1;
      if (cur[j - 1] + 1 < best) best = cur[j - 1] + 1;
      if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] && prev2[j - 2] + 1 < best)
        best = prev2[j - 2] + 1;
      cur[j] = best;
    }
    memcpy(prev2, prev, sizeof prev);
    memcpy(prev, cur, sizeof cur);
  }
  return prev[lb];
}

const char *ik_cli_suggest(const char *word, const char *const *candidates, size_t n) {
  const char *best = NULL;
  size_t best_d = (size_t)-1;
  for (size_t i = 0; i < n; i++) {
    size_t d = ik_cli_edit_distance(word, candidates[i]);
    /* A prefix of a candidate ("ver" for "version") is a good guess too. */
    if (strlen(word) >= 2 && strncmp(candidates[i], word, strlen(word)) == 0) d = 1;
    if (d < best_d) {
      best_d = d;
      best = candidates[i];
    }
  }
  size_t limit = strlen(word) / 3;
  if (limit < 1) limit = 1;
  return best_d <= limit ? best : NULL;
}

int ik_cli_usage_error(const ik_cli_cmd_t *cmd, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  ik_cli_eprintf("infrakit%s%s: ", cmd ? " " : "", cmd ? cmd->name : "");
  ik_cli_veprintf(fmt, ap);
  va_end(ap);
  fputc('\n', stderr);
  if (cmd) ik_cli_eprintf("Run 'infrakit %s --help' for usage.\n", cmd->name);
  else ik_cli_eprintf("Run 'infrakit help' for the list of commands.\n");
  return IK_EXIT_USAGE;
}

void ik_cli_print_help(const ik_cli_cmd_t *cmd) {
  printf("Usage: %s\n\n%s\n", cmd->usage, cmd->summary);
  if (cmd->help && *cmd->help) printf("\n%s", cmd->help);
  ik_cli_print_global_options();
}

void ik_cli_print_global_options(void) {
  printf("\nGlobal options (any command):\n"
         "  --log-level LEVEL     debug, info, warn, error or off (env INFRAKIT_LOG_LEVEL; default info)\n"
         "  --log-file PATH       append logs to PATH instead of stderr\n"
         "  --log-format FORMAT   kv (key=value, default) or json (env INFRAKIT_LOG_FORMAT)\n"
         "  --lua-timeout SECS    watchdog limit for Lua code that does not yield\n"
         "                        (env INFRAKIT_LUA_TIMEOUT; default 30)\n"
         "  --sandbox-timeout SECS  run-time limit of Lua from a spec or template (default 5)\n"
         "  --sandbox-memory MIB  memory budget of Lua from a spec or template (default 256)\n"
         "  -h, --help            show this help\n");
}

bool ik_cli_is_global(const char *name, bool *has_arg) {
  for (size_t i = 0; i < IK_NGLOBAL; i++) {
    if (strcmp(name, ik_global_opts[i].name) == 0) {
      if (has_arg) *has_arg = ik_global_opts[i].has_arg;
      return true;
    }
  }
  return false;
}

int ik_cli_apply_global(const ik_cli_cmd_t *cmd, const char *name, const char *value) {
  ik_err_t err = {0};
  if (strcmp(name, "log-level") == 0) {
    ik_log_level_t level;
    if (ik_log_level_parse(value, &level) != 0)
      return ik_cli_usage_error(cmd, "--log-level: unknown level \"%s\" (want debug, info, warn, error or off)", value);
    ik_log_set_level(level);
  } else if (strcmp(name, "log-file") == 0) {
    if (ik_log_open(value, &err) < 0) {
      ik_cli_eprintf("infrakit: --log-file: %s\n", err.msg);
      return IK_EXIT_USAGE;
    }
  } else if (strcmp(name, "log-format") == 0) {
    if (strcmp(value, "json") == 0) ik_log_set_format(IK_LOG_FMT_JSON);
    else if (strcmp(value, "kv") == 0 || strcmp(value, "logfmt") == 0) ik_log_set_format(IK_LOG_FMT_KV);
    else return ik_cli_usage_error(cmd, "--log-format: unknown format \"%s\" (want kv or json)", value);
  } else if (strcmp(name, "lua-timeout") == 0) {
    if (ik_lua_parse_timeout(value, &ik_cli_lua_timeout, &err) < 0)
      return ik_cli_usage_error(cmd, "--lua-timeout: %s", err.msg);
  } else if (strcmp(name, "sandbox-timeout") == 0) {
    if (ik_lua_parse_timeout(value, &ik_cli_sandbox_timeout, &err) < 0)
      return ik_cli_usage_error(cmd, "--sandbox-timeout: %s", err.msg);
  } else if (strcmp(name, "sandbox-memory") == 0) {
    char *end = NULL;
    unsigned long long mib = strtoull(value, &end, 10);
    if (value[0] < '0' || value[0] > '9' || *end != '\0' || mib < 1 || mib > (1ull << 24))
      return ik_cli_usage_error(cmd, "--sandbox-memory \"%s\": want a whole number of MiB from 1 to 16777216", value);
    ik_cli_sandbox_memory = (size_t)mib << 20;
  }
  return 0;
}

void ik_opt_init(ik_optparse_t *p, const ik_cli_cmd_t *cmd, int argc, char **argv) {
  p->argc = argc;
  p->argv = argv;
  p->index = 1;
  p->arg = NULL;
  p->cmd = cmd;
}

static int unknown_flag(ik_optparse_t *p, const ik_opt_t *opts, const char *flag, size_t len) {
  const char *names[64];
  size_t n = 0;
  for (size_t i = 0; opts[i].name && n < 60; i++) names[n++] = opts[i].name;
  for (size_t i = 0; i < IK_NGLOBAL; i++) names[n++] = ik_global_opts[i].name;
  names[n++] = "help";
  char word[64];
  snprintf(word, sizeof word, "%.*s", (int)len, flag);
  const char *guess = ik_cli_suggest(word, names, n);
  if (guess) return ik_cli_usage_error(p->cmd, "unknown flag --%s (did you mean --%s?)", word, guess), IK_OPT_ERROR;
  return ik_cli_usage_error(p->cmd, "unknown flag --%s", word), IK_OPT_ERROR;
}

int ik_opt_next(ik_optparse_t *p, const ik_opt_t *opts) {
  for (;;) {
    p->arg = NULL;
    if (p->index >= p->argc) return IK_OPT_END;
    const char *a = p->argv[p->index];
    if (strcmp(a, "--") == 0) {
      p->index++;
      return IK_OPT_END;
    }
    if (a[0] != '-' || a[1] == '\0') return IK_OPT_END; /* positional ("-" = stdin) */
    p->index++;

    if (a[1] != '-') { /* short option(s): only single letters, -eCODE or -e CODE */
      if (a[1] == 'h' && a[2] == '\0') {
        ik_cli_print_help(p->cmd);
        return IK_OPT_HELP;
      }
      for (int i = 0; opts[i].name; i++) {
        if (opts[i].short_name != a[1]) continue;
        if (!opts[i].has_arg) {
          if (a[2] != '\0') return ik_cli_usage_error(p->cmd, "unknown flag %s", a), IK_OPT_ERROR;
          return i;
        }
        if (a[2] != '\0') p->arg = a + 2;
        else if (p->index < p->argc) p->arg = p->argv[p->index++];
        else return ik_cli_usage_error(p->cmd, "flag -%c needs a value", a[1]), IK_OPT_ERROR;
        return i;
      }
      return ik_cli_usage_error(p->cmd, "unknown flag %s", a), IK_OPT_ERROR;
    }

    const char *name = a + 2;
    const char *eq = strchr(name, '=');
    size_t len = eq ? (size_t)(eq - name) : strlen(name);
    if (len == 4 && strncmp(name, "help", 4) == 0) {
      ik_cli_print_help(p->cmd);
      return IK_OPT_HELP;
    }
    if (len == 12 && strncmp(name, "help-options", 12) == 0) { /* hidden: see cli.h */
      for (int i = 0; opts[i].name; i++) {
        if (opts[i].short_name) printf("-%c ", opts[i].short_name);
        printf("--%s\n", opts[i].name);
      }
      return IK_OPT_HELP;
    }
    int found = -1;
    bool has_arg = false, global = false;
    for (int i = 0; opts[i].name; i++) {
      if (strlen(opts[i].name) == len && strncmp(opts[i].name, name, len) == 0) {
        found = i;
        has_arg = opts[i].has_arg;
        break;
      }
    }
    char gname[32];
    if (found < 0) {
      snprintf(gname, sizeof gname, "%.*s", (int)(len < 31 ? len : 31), name);
      global = len < 31 && ik_cli_is_global(gname, &has_arg);
      if (!global) return unknown_flag(p, opts, name, len);
    }
    if (has_arg) {
      if (eq) p->arg = eq + 1;
      else if (p->index < p->argc) p->arg = p->argv[p->index++];
      else return ik_cli_usage_error(p->cmd, "flag --%.*s needs a value", (int)len, name), IK_OPT_ERROR;
    } else if (eq) {
      return ik_cli_usage_error(p->cmd, "flag --%.*s takes no value", (int)len, name), IK_OPT_ERROR;
    }
    if (!global) return found;
    if (ik_cli_apply_global(p->cmd, gname, p->arg) != 0) return IK_OPT_ERROR;
  }
}

int ik_cli_run_sub(const ik_cli_cmd_t *parent, const ik_cli_cmd_t *const *subs, int argc, char **argv) {
  const char *names[16];
  size_t n = 0;
  char list[256] = "";
  for (; subs[n] && n < 16; n++) {
    names[n] = strchr(subs[n]->name, ' ') + 1;
    snprintf(list + strlen(list), sizeof list - strlen(list), "%s%s", n ? ", " : "", names[n]);
  }
  if (argc < 2) return ik_cli_usage_error(parent, "missing subcommand (%s)", list);
  const char *word = argv[1];
  if (strcmp(word, "-h") == 0 || strcmp(word, "--help") == 0 || strcmp(word, "help") == 0) {
    ik_cli_print_help(parent);
    return IK_EXIT_OK;
  }
  for (size_t i = 0; i < n; i++)
    if (strcmp(word, names[i]) == 0) return subs[i]->run(argc - 1, argv + 1);
  const char *guess = ik_cli_suggest(word, names, n);
  if (guess) return ik_cli_usage_error(parent, "unknown subcommand \"%s\" (did you mean \"%s\"?)", word, guess);
  return ik_cli_usage_error(parent, "unknown subcommand \"%s\" (want %s)", word, list);
}

int ik_cli_cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

const char *ik_cli_one_arg(const ik_optparse_t *p, const char *missing) {
  if (p->index >= p->argc) {
    ik_cli_usage_error(p->cmd, "%s", missing);
    return NULL;
  }
  if (p->index + 1 < p->argc) {
    ik_cli_usage_error(p->cmd, "unexpected argument \"%s\"", p->argv[p->index + 1]);
    return NULL;
  }
  return p->argv[p->index];
}
