/* libcurl, loaded on first use.
 *
 * Linking libcurl pulls in ~28 shared libraries and costs ~5 ms at every
 * start, also for commands that never make an HTTP call. So the binary does
 * not link it: ik_curl_load() dlopen()s libcurl.so.4 the first time an HTTP
 * client is created, resolves the functions below and runs
 * curl_global_init() once. Only core/net calls curl, and only through
 * ik_curl. The types come from <curl/curl.h> (headers only, no link). */
#ifndef IK_NET_CURL_LAZY_H
#define IK_NET_CURL_LAZY_H

#include <curl/curl.h>

#include "base/err.h"

#define IK_CURL_SONAME "libcurl.so.4"

/* One field per libcurl function used, named after it without "curl_". */
struct ik_curl_api {
  CURLcode (*global_init)(long flags);
  CURL *(*easy_init)(void);
  void (*easy_cleanup)(CURL *easy);
  CURLcode (*easy_setopt)(CURL *easy, CURLoption option, ...);
  CURLcode (*easy_getinfo)(CURL *easy, CURLINFO info, ...);
  const char *(*easy_strerror)(CURLcode code);
  struct curl_slist *(*slist_append)(struct curl_slist *list, const char *s);
  void (*slist_free_all)(struct curl_slist *list);
  CURLM *(*multi_init)(void);
  CURLMcode (*multi_cleanup)(CURLM *multi);
  CURLMcode (*multi_setopt)(CURLM *multi, CURLMoption option, ...);
  CURLMcode (*multi_add_handle)(CURLM *multi, CURL *easy);
  CURLMcode (*multi_remove_handle)(CURLM *multi, CURL *easy);
  CURLMcode (*multi_socket_action)(CURLM *multi, curl_socket_t s, int ev_bitmask,
                                   int *running_handles);
  CURLMcode (*multi_assign)(CURLM *multi, curl_socket_t s, void *sockp);
  CURLMsg *(*multi_info_read)(CURLM *multi, int *msgs_in_queue);
  const char *(*multi_strerror)(CURLMcode code);
};

/* The loaded API; NULL until ik_curl_load() has succeeded. */
extern const struct ik_curl_api *ik_curl;

/* Load libcurl.so.4 and initialise it, once; later calls return 0 at once.
 * On failure returns IK_ENOTFOUND with a message naming libcurl.so.4 and
 * the Debian package that provides it (libcurl4), or IK_EIO when
 * curl_global_init fails; a later call tries again. Loop thread only. */
int ik_curl_load(ik_err_t *err);

#endif
