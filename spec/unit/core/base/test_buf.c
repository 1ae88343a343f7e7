/* core/base/buf: growth, NUL termination, reset, steal. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "base/buf.h"
#include "base/mem.h"

/* The buffer holds exactly want (len bytes) followed by a NUL. */
static void assert_buf_is(const ik_buf_t *b, const char *want, size_t len) {
  assert_int_equal(b->len, len);
  assert_non_null(b->data);
  assert_true(b->cap > b->len);
  assert_memory_equal(b->data, want, len);
  assert_int_equal(b->data[b->len], '\0');
}

static void buf_zero_initialised_is_empty(void **state) {
  (void)state;
  ik_buf_t b = {0};
  assert_null(b.data);
  assert_int_equal(b.len, 0);
  assert_string_equal(ik_buf_cstr(&b), "");
  ik_buf_free(&b);
  ik_buf_init(&b);
  assert_null(b.data);
  assert_int_equal(b.cap, 0);
}

static void buf_append_puts_putc_concatenate_and_terminate(void **state) {
  (void)state;
  ik_buf_t b = {0};
  ik_buf_append(&b, "abc", 3);
  assert_buf_is(&b, "abc", 3);
  ik_buf_puts(&b, "def");
  assert_buf_is(&b, "abcdef", 6);
  ik_buf_putc(&b, '!');
  assert_buf_is(&b, "abcdef!", 7);
  ik_buf_append(&b, "", 0);
  assert_buf_is(&b, "abcdef!", 7);
  assert_string_equal(ik_buf_cstr(&b), "abcdef!");
  ik_buf_free(&b);
  assert_null(b.data);
  assert_int_equal(b.len, 0);
}

static void buf_append_keeps_embedded_nul_bytes(void **state) {
  (void)state;
  static const char bin[] = {'a', '\0', 'b', '\0', 'c'};
  ik_buf_t b = {0};
  ik_buf_append(&b, bin, sizeof bin);
  assert_buf_is(&b, bin, sizeof bin);
  ik_buf_free(&b);
}

static void buf_append_empty_to_empty_buffer_allocates_terminated_string(void **state) {
  (void)state;
  ik_buf_t b = {0};
  ik_buf_append(&b, "", 0);
  assert_buf_is(&b, "", 0);
  ik_buf_free(&b);
}

static void buf_append_grows_past_many_chunks(void **state) {
  (void)state;
  /* 1000 appends of 37 bytes: crosses 64 and several KiB many times over. */
  char chunk[37];
  ik_buf_t b = {0};
  for (int i = 0; i < 1000; i++) {
    memset(chunk, 'a' + i % 26, sizeof chunk);
    ik_buf_append(&b, chunk, sizeof chunk);
    assert_int_equal(b.len, (size_t)(i + 1) * sizeof chunk);
    assert_int_equal(b.data[b.len], '\0');
  }
  for (int i = 0; i < 1000; i++)
    for (size_t k = 0; k < sizeof chunk; k++) assert_int_equal(b.data[(size_t)i * sizeof chunk + k], 'a' + i % 26);
  ik_buf_free(&b);
}

static void buf_printf_formats_and_grows(void **state) {
  (void)state;
  /* Sizes straddle the first 64-byte allocation and reach several KiB. */
  static const size_t sizes[] = {0, 1, 62, 63, 64, 65, 100, 1000, 4095, 4096, 4097, 20000};
  for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
    size_t n = sizes[i];
    char *s = ik_malloc(n + 1);
    memset(s, 'z', n);
    s[n] = '\0';
    ik_buf_t b = {0};
    ik_buf_printf(&b, "<%s|%d>", s, 42);
    char *want = ik_malloc(n + 6);
    want[0] = '<';
    memcpy(want + 1, s, n);
    memcpy(want + 1 + n, "|42>", 5);
    assert_buf_is(&b, want, n + 5);
    ik_free(want);
    ik_free(s);
    ik_buf_free(&b);
  }
}

static void buf_printf_appends_after_existing_content(void **state) {
  (void)state;
  ik_buf_t b = {0};
  ik_buf_puts(&b, "count=");
  ik_buf_printf(&b, "%d", 7);
  ik_buf_printf(&b, " name=%s", "web");
  assert_buf_is(&b, "count=7 name=web", 16);
  /* Repeated printf past several KiB keeps every piece in order. */
  ik_buf_reset(&b);
  for (int i = 0; i < 2000; i++) ik_buf_printf(&b, "%04d,", i);
  assert_int_equal(b.len, 2000 * 5);
  assert_memory_equal(b.data, "0000,0001,0002,", 15);
  assert_memory_equal(b.data + b.len - 10, "1998,1999,", 10);
  assert_int_equal(b.data[b.len], '\0');
  for (int i = 0; i < 2000; i++) {
    char want[6];
    snprintf(want, sizeof want, "%04d,", i);
    assert_memory_equal(b.data + (size_t)i * 5, want, 5);
  }
  ik_buf_free(&b);
}

static void buf_printf_at_exact_remaining_capacity(void **state) {
  (void)state;
  /* Print room-1, room and room+1 characters where room is what fits
   * without growing: the boundary between the one-pass and two-pass paths. */
  for (int delta = -1; delta <= 1; delta++) {
    ik_buf_t b = {0};
    ik_buf_puts(&b, "head");
    ik_buf_reserve(&b, 64);
    size_t room = b.cap - b.len - 1;
    size_t n = room + (size_t)(delta + 1) - 1;
    char *s = ik_malloc(n + 1);
    memset(s, 's', n);
    s[n] = '\0';
    ik_buf_printf(&b, "%s", s);
    assert_int_equal(b.len, 4 + n);
    assert_memory_equal(b.data, "head", 4);
    assert_memory_equal(b.data + 4, s, n);
    assert_int_equal(b.data[b.len], '\0');
    assert_true(b.cap > b.len);
    ik_free(s);
    ik_buf_free(&b);
  }
}

static void buf_reset_keeps_memory_and_empties(void **state) {
  (void)state;
  ik_buf_t b = {0};
  ik_buf_puts(&b, "some content that is long enough to allocate");
  char *data = b.data;
  size_t cap = b.cap;
  ik_buf_reset(&b);
  assert_int_equal(b.len, 0);
  assert_ptr_equal(b.data, data);
  assert_int_equal(b.cap, cap);
  assert_string_equal(ik_buf_cstr(&b), "");
  ik_buf_puts(&b, "new");
  assert_buf_is(&b, "new", 3);
  ik_buf_free(&b);

  ik_buf_t empty = {0};
  ik_buf_reset(&empty); /* never allocated: still fine */
  assert_null(empty.data);
  assert_string_equal(ik_buf_cstr(&empty), "");
}

static void buf_reserve_makes_room_without_changing_content(void **state) {
  (void)state;
  ik_buf_t b = {0};
  ik_buf_puts(&b, "keep");
  ik_buf_reserve(&b, 10000);
  assert_true(b.cap >= 4 + 10000 + 1);
  assert_buf_is(&b, "keep", 4);
  char *data = b.data;
  char block[10000];
  memset(block, 'q', sizeof block);
  ik_buf_append(&b, block, sizeof block); /* fits: no reallocation */
  assert_ptr_equal(b.data, data);
  assert_int_equal(b.len, 10004);
  ik_buf_free(&b);
}

static void buf_steal_non_empty_hands_over_memory(void **state) {
  (void)state;
  ik_buf_t b = {0};
  ik_buf_puts(&b, "hello");
  size_t len = 99;
  char *s = ik_buf_steal(&b, &len);
  assert_non_null(s);
  assert_int_equal(len, 5);
  assert_string_equal(s, "hello");
  assert_null(b.data);
  assert_int_equal(b.len, 0);
  assert_int_equal(b.cap, 0);
  /* The buffer is reusable after a steal. */
  ik_buf_puts(&b, "again");
  assert_buf_is(&b, "again", 5);
  ik_buf_free(&b);
  ik_free(s);
}

static void buf_steal_empty_returns_empty_string(void **state) {
  (void)state;
  ik_buf_t never = {0};
  size_t len = 99;
  char *s = ik_buf_steal(&never, &len);
  assert_non_null(s);
  assert_int_equal(len, 0);
  assert_string_equal(s, "");
  assert_null(never.data);
  ik_free(s);

  ik_buf_t reset = {0};
  ik_buf_puts(&reset, "gone");
  ik_buf_reset(&reset);
  s = ik_buf_steal(&reset, NULL); /* len may be NULL */
  assert_non_null(s);
  assert_string_equal(s, "");
  assert_null(reset.data);
  ik_free(s);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(buf_zero_initialised_is_empty),
      cmocka_unit_test(buf_append_puts_putc_concatenate_and_terminate),
      cmocka_unit_test(buf_append_keeps_embedded_nul_bytes),
      cmocka_unit_test(buf_append_empty_to_empty_buffer_allocates_terminated_string),
      cmocka_unit_test(buf_append_grows_past_many_chunks),
      cmocka_unit_test(buf_printf_formats_and_grows),
      cmocka_unit_test(buf_printf_appends_after_existing_content),
      cmocka_unit_test(buf_printf_at_exact_remaining_capacity),
      cmocka_unit_test(buf_reset_keeps_memory_and_empties),
      cmocka_unit_test(buf_reserve_makes_room_without_changing_content),
      cmocka_unit_test(buf_steal_non_empty_hands_over_memory),
      cmocka_unit_test(buf_steal_empty_returns_empty_string),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
