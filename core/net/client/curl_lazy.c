#include "net/client/curl_lazy.h"

#include <dlfcn.h>
#include <stddef.h>
#include <string.h>

/* dlsym() returns a void *; POSIX guarantees it can hold a function pointer. */
_Static_assert(sizeof(void *) == sizeof(void (*)(void)), "function pointers fit in void *");

const struct ik_curl_api *ik_curl;
static struct ik_curl_api curl_api;

#define IK__CURL_SYM(field) \
  { "curl_" #field, offsetof(struct ik_curl_api, field) }
static const struct {
  const char *name;
  size_t offset;
} curl_syms[] = {
    IK__CURL_SYM(global_init),
    IK__CURL_SYM(easy_init),
    IK__CURL_SYM(easy_cleanup),
    IK__CURL_SYM(easy_setopt),
    IK__CURL_SYM(easy_getinfo),
    IK__CURL_SYM(easy_strerror),
    IK__CURL_SYM(slist_append),
    IK__CURL_SYM(slist_free_all),
    IK__CURL_SYM(multi_init),
    IK__CURL_SYM(multi_cleanup),
    IK__CURL_SYM(multi_setopt),
    IK__CURL_SYM(multi_add_handle),
    IK__CURL_SYM(multi_remove_handle),
    IK__CURL_SYM(multi_socket_action),
    IK__CURL_SYM(multi_assign),
    IK__CURL_SYM(multi_info_read),
    IK__CURL_SYM(multi_strerror),
};
#undef IK__CURL_SYM

int ik_curl_load(ik_err_t *err) {
  if (ik_curl) return 0;
  /* RTLD_LOCAL: curl's symbols stay out of the global namespace, so they
   * cannot interpose on anything the binary or a Lua C module uses. */
  void *lib = dlopen(IK_CURL_SONAME, RTLD_NOW | RTLD_LOCAL);
  if (lib == NULL)
    return ik_err_set(err, IK_ENOTFOUND,
                      "HTTP needs " IK_CURL_SONAME " (Debian package libcurl4), which could not "
                      "be loaded: %s",
                      dlerror());

  struct ik_curl_api api;
  for (size_t i = 0; i < sizeof curl_syms / sizeof curl_syms[0]; i++) {
    void *sym = dlsym(lib, curl_syms[i].name);
    if (sym == NULL) {
      ik_err_set(err, IK_ENOTFOUND,
                 IK_CURL_SONAME " has no %s; install a current libcurl4 (Debian package "
                                "libcurl4)",
                 curl_syms[i].name);
      dlclose(lib);
      return IK_ENOTFOUND;
    }
    memcpy((char *)&api + curl_syms[i].offset, &sym, sizeof sym);
  }

  CURLcode cc = api.global_init(CURL_GLOBAL_DEFAULT);
  if (cc != CURLE_OK) {
    ik_err_set(err, IK_EIO, "curl_global_init: %s", api.easy_strerror(cc));
    dlclose(lib);
    return IK_EIO;
  }
  /* The library stays loaded for the life of the process: curl keeps
   * global state (TLS, resolver) that outlives any one client. */
  curl_api = api;
  ik_curl = &curl_api;
  return 0;
}
