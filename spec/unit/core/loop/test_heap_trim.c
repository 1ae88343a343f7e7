/* core/loop/heap_trim: a trim gives freed heap in the middle of the heap
 * back to the kernel (RssAnon falls), asks are answered later on the loop
 * (three asks, one timer), the timer keeps no loop alive, and a trimmer freed with a trim
 * pending leaves nothing behind. glibc only; under AddressSanitizer (its
 * own allocator) the RSS cases are skipped with the reason. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "loop/heap_trim.h"
#include "loop/loop.h"
#include "loop/timer.h"

#if defined(__SANITIZE_ADDRESS__)
#define NO_GLIBC_MALLOC "AddressSanitizer replaces malloc: malloc_trim has nothing to trim"
#elif !defined(__GLIBC__)
#define NO_GLIBC_MALLOC "not glibc: the trimmer does nothing here"
#endif

#ifndef NO_GLIBC_MALLOC
/* 64 MiB in blocks below the mmap threshold: on the heap. */
enum { BLOCKS = 16384,
       BLOCK = 4096 };

static long rss_anon_kib(void) {
  FILE *f = fopen("/proc/self/status", "r");
  char line[256];
  long kib = -1;
  while (f && fgets(line, sizeof line, f))
    if (sscanf(line, "RssAnon: %ld", &kib) == 1) break;
  if (f) fclose(f);
  return kib;
}

/* Fill 64 MiB, free all but the last block (it pins the top of the heap,
 * so free() cannot give the rest back by itself). Returns the last. */
static void *free_in_the_middle(void) {
  static void *blocks[BLOCKS];
  for (size_t i = 0; i < BLOCKS; i++) {
    blocks[i] = malloc(BLOCK);
    memset(blocks[i], 0x5a, BLOCK); /* resident */
  }
  for (size_t i = 0; i + 1 < BLOCKS; i++) free(blocks[i]);
  return blocks[BLOCKS - 1];
}

static void keep_alive(ik_timer_t *t, void *data) { (void)t, (void)data; }
#endif

static void heap_trim_now_gives_freed_heap_back(void **state) {
  (void)state;
#ifdef NO_GLIBC_MALLOC
  fprintf(stderr, "skipped: %s\n", NO_GLIBC_MALLOC);
  skip();
#else
  void *pin = free_in_the_middle();
  long before = rss_anon_kib();
  assert_int_equal(ik_heap_trim_now((size_t)1 << 40), 0); /* less free than asked: no trim */
  assert_true(rss_anon_kib() > before - 8192);
  size_t freed = ik_heap_trim_now(IK_HEAP_TRIM_MIN);
  assert_true(freed >= (size_t)48 << 20);
  long after = rss_anon_kib();
  assert_true(before - after >= 48 * 1024); /* at least 48 of the 64 MiB */
  free(pin);
#endif
}

static void heap_trim_soon_trims_later_on_the_loop(void **state) {
  (void)state;
#ifdef NO_GLIBC_MALLOC
  fprintf(stderr, "skipped: %s\n", NO_GLIBC_MALLOC);
  skip();
#else
  ik_loop_t loop;
  ik_err_t err;
  assert_int_equal(ik_loop_init(&loop, &err), 0);
  ik_heap_trim_t *t = ik_heap_trim_new(&loop, 5);
  void *pin = free_in_the_middle();
  long before = rss_anon_kib();
  ik_heap_trim_soon(t);
  ik_heap_trim_soon(t);
  ik_heap_trim_soon(t);
  assert_true(rss_anon_kib() > before - 8192); /* nothing yet: on the loop */
  assert_int_equal(ik_timer_start(&loop, 50, 0, keep_alive, NULL, NULL, &err), 0);
  assert_int_equal(ik_loop_run(&loop), 0);
  assert_true(before - rss_anon_kib() >= 48 * 1024);
  free(pin);
  ik_heap_trim_free(t);
  int leaked = -1;
  assert_int_equal(ik_loop_close(&loop, &leaked), 0);
  assert_int_equal(leaked, 0);
#endif
}

static void heap_trim_keeps_no_loop_alive_and_frees_with_a_trim_pending(void **state) {
  (void)state;
  ik_loop_t loop;
  ik_err_t err;
  assert_int_equal(ik_loop_init(&loop, &err), 0);
  ik_heap_trim_t *t = ik_heap_trim_new(&loop, 60000);
  ik_heap_trim_soon(t);
  assert_int_equal(ik_loop_run(&loop), 0); /* returns at once: the trim's timer is not a reason to wait */
  ik_heap_trim_free(t);                    /* cancels it */
  ik_heap_trim_soon(NULL);
  ik_heap_trim_free(NULL);
  int leaked = -1;
  assert_int_equal(ik_loop_close(&loop, &leaked), 0);
  assert_int_equal(leaked, 0);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(heap_trim_now_gives_freed_heap_back),
      cmocka_unit_test(heap_trim_soon_trims_later_on_the_loop),
      cmocka_unit_test(heap_trim_keeps_no_loop_alive_and_frees_with_a_trim_pending),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
