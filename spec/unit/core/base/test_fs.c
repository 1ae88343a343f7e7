/* core/base/fs: ik_fs_replace writes the whole file, mode 0600, through a
 * temp that is created exclusively - a leftover temp is replaced, a link
 * planted at the temp's name is removed, never followed; the stat
 * ik_fs_replace_stat gives is the path's once it returns (what
 * instance-file stamps its own writes with). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/fs.h"
#include "base/mem.h"

static int setup(void **state) {
  char *dir = ik_strdup("/tmp/ik-fs-XXXXXX");
  if (mkdtemp(dir) == NULL) return -1;
  *state = dir;
  return 0;
}

static int teardown(void **state) {
  char *dir = *state;
  ik_err_t err = {0};
  int rc = ik_fs_remove_tree(dir, &err);
  ik_free(dir);
  return rc;
}

/* The file's text, read through ik_fs_open_regular (NULL when it refuses). */
static char *slurp(const char *path) {
  ik_err_t err = {0};
  int fd = ik_fs_open_regular(path, &err);
  if (fd < 0) return NULL;
  char *buf = ik_calloc(1, 4096);
  ssize_t n = read(fd, buf, 4095);
  close(fd);
  buf[n > 0 ? n : 0] = '\0';
  return buf;
}

static void replace_writes_the_whole_file_mode_0600(void **state) {
  char *path = ik_sprintf("%s/a", (char *)*state);
  ik_err_t err = {0};
  assert_int_equal(ik_fs_replace(path, "first", 5, false, &err), 0);
  assert_int_equal(ik_fs_replace(path, "second!", 7, true, &err), 0);
  char *got = slurp(path);
  assert_string_equal(got, "second!");
  struct stat st;
  assert_int_equal(lstat(path, &st), 0);
  assert_int_equal(st.st_mode & 0777, 0600);
  ik_free(got);
  ik_free(path);
}

static void a_leftover_temp_is_replaced_and_a_planted_link_not_followed(void **state) {
  const char *dir = *state;
  char *path = ik_sprintf("%s/b", dir), *tmp = ik_sprintf("%s/.b.tmp", dir), *victim = ik_sprintf("%s/victim", dir);
  ik_err_t err = {0};
  FILE *f = fopen(tmp, "w"); /* a crash's leftover */
  fputs("half a wri", f);
  fclose(f);
  assert_int_equal(ik_fs_replace(path, "whole", 5, false, &err), 0);
  char *got = slurp(path);
  assert_string_equal(got, "whole");
  ik_free(got);
  assert_int_not_equal(access(tmp, F_OK), 0); /* renamed away */
  /* A link planted at the temp's name: removed, the file it names untouched. */
  f = fopen(victim, "w");
  fputs("keep me", f);
  fclose(f);
  assert_int_equal(symlink(victim, tmp), 0);
  assert_int_equal(ik_fs_replace(path, "again", 5, false, &err), 0);
  got = slurp(victim);
  assert_string_equal(got, "keep me");
  ik_free(got);
  got = slurp(path);
  assert_string_equal(got, "again");
  ik_free(got);
  ik_free(path);
  ik_free(tmp);
  ik_free(victim);
}

static void replace_stat_is_the_paths_stat(void **state) {
  char *path = ik_sprintf("%s/c", (char *)*state);
  ik_err_t err = {0};
  for (int i = 0; i < 3; i++) {
    struct stat written, now;
    assert_int_equal(ik_fs_replace_stat(path, "content", 7 - (size_t)i, false, &written, &err), 0);
    assert_int_equal(lstat(path, &now), 0);
    assert_int_equal(written.st_ino, now.st_ino);
    assert_int_equal(written.st_size, now.st_size);
    assert_int_equal(written.st_mtim.tv_sec, now.st_mtim.tv_sec);
    assert_int_equal(written.st_mtim.tv_nsec, now.st_mtim.tv_nsec);
  }
  /* A failed write says so, and where. */
  char *bad = ik_sprintf("%s/no-such-dir/d", (char *)*state);
  struct stat st;
  assert_true(ik_fs_replace_stat(bad, "x", 1, false, &st, &err) < 0);
  assert_non_null(strstr(err.msg, "no-such-dir"));
  ik_free(bad);
  ik_free(path);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(replace_writes_the_whole_file_mode_0600, setup, teardown),
      cmocka_unit_test_setup_teardown(a_leftover_temp_is_replaced_and_a_planted_link_not_followed, setup, teardown),
      cmocka_unit_test_setup_teardown(replace_stat_is_the_paths_stat, setup, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
