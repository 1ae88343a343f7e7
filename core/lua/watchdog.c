/* The wall-clock watchdog.
 *
 * A Lua slice that does not yield cannot be stopped by a libuv timer: the
 * loop thread is the one running it. So a helper thread watches the clock.
 * Arming is two atomic stores (no syscall on the hot path); the thread
 * sleeps until the deadline, and if the same slice is still running it
 * sends IK_WD_SIGNAL to the loop thread. The handler sets a count hook
 * (what luajit.c does for Ctrl-C; lua_sethook is async-signal-safe for this
 * use), and the hook raises "watchdog: ..." in the running code.
 *
 * JIT-compiled loops check the hook only because LuaJIT is built with
 * LUAJIT_ENABLE_CHECKHOOK (scripts/deps.sh).
 *
 * The hook keeps firing until the slice is disarmed, so a pcall inside the
 * runaway code cannot swallow the timeout: every Lua instruction after it
 * raises again until control is back in C. */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "lua/internal.h"

#define IK_WD_SIGNAL SIGURG /* default action is "ignore": harmless if stray */
#define IK_WD_PREFIX "watchdog: "

static struct {
  pthread_mutex_t mu;
  pthread_cond_t cv;
  pthread_t thread;
  pthread_t target;           /* the loop thread */
  int users;
  bool stop;
  _Atomic bool idle;          /* thread is waiting for an arm */
  _Atomic uint64_t wakes_at;  /* deadline the thread sleeps towards; 0 = none */
  _Atomic uint64_t armed;     /* generation of the running slice; 0 = none */
  _Atomic uint64_t deadline;  /* ns, CLOCK_MONOTONIC */
  _Atomic uint64_t fired;     /* generation that was interrupted */
  _Atomic(lua_State *) L;
  char seconds_text[32];      /* limit of the armed slice, for the message */
  double seconds;
  uint64_t gen;               /* last generation handed out (loop thread only) */
} wd = {.mu = PTHREAD_MUTEX_INITIALIZER};

static uint64_t ik__now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void ik__wd_hook(lua_State *L, lua_Debug *ar) {
  (void)ar;
  uint64_t g = atomic_load(&wd.armed);
  if (g == 0 || atomic_load(&wd.fired) != g) {
    lua_sethook(L, NULL, 0, 0); /* stale: the slice already ended */
    return;
  }
  /* lua_error, not luaL_error: the message must not depend on where the
   * hook fired (the traceback says where). */
  lua_pushfstring(L, IK_WD_PREFIX "Lua code ran for more than %s s without yielding "
                  "(limit set by --lua-timeout / INFRAKIT_LUA_TIMEOUT)", wd.seconds_text);
  lua_error(L);
}

static void ik__wd_on_signal(int sig) {
  (void)sig;
  int saved = errno;
  uint64_t g = atomic_load(&wd.armed);
  lua_State *L = atomic_load(&wd.L);
  if (g != 0 && L != NULL && atomic_load(&wd.fired) == g)
    lua_sethook(L, ik__wd_hook, LUA_MASKCALL | LUA_MASKRET | LUA_MASKCOUNT, 1);
  errno = saved;
}

static void *ik__wd_main(void *arg) {
  (void)arg;
  pthread_mutex_lock(&wd.mu);
  while (!wd.stop) {
    uint64_t g = atomic_load(&wd.armed);
    if (g == 0 || atomic_load(&wd.fired) == g) {
      atomic_store(&wd.idle, true);
      /* Re-check after announcing idleness: an arm in between will see
       * idle == true and signal us under the mutex. */
      g = atomic_load(&wd.armed);
      if (g == 0 || atomic_load(&wd.fired) == g) pthread_cond_wait(&wd.cv, &wd.mu);
      atomic_store(&wd.idle, false);
      continue;
    }
    uint64_t deadline = atomic_load(&wd.deadline);
    uint64_t now = ik__now_ns();
    if (now < deadline) {
      struct timespec ts = {.tv_sec = (time_t)(deadline / 1000000000u),
                            .tv_nsec = (long)(deadline % 1000000000u)};
      atomic_store(&wd.wakes_at, deadline);
      /* An arm with an earlier deadline (the limit was lowered) signals. */
      if (atomic_load(&wd.deadline) >= deadline || atomic_load(&wd.armed) != g)
        pthread_cond_timedwait(&wd.cv, &wd.mu, &ts);
      atomic_store(&wd.wakes_at, 0);
      continue;
    }
    /* Past the deadline: is it still the same slice? */
    if (atomic_load(&wd.armed) == g) {
      atomic_store(&wd.fired, g);
      pthread_kill(wd.target, IK_WD_SIGNAL);
    }
  }
  pthread_mutex_unlock(&wd.mu);
  return NULL;
}

int ik__watchdog_acquire(ik_err_t *err) {
  pthread_mutex_lock(&wd.mu);
  if (wd.users++ > 0) {
    pthread_mutex_unlock(&wd.mu);
    return 0;
  }
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = ik__wd_on_signal;
  sa.sa_flags = SA_RESTART;
  sigemptyset(&sa.sa_mask);
  sigaction(IK_WD_SIGNAL, &sa, NULL);

  pthread_condattr_t ca;
  pthread_condattr_init(&ca);
  pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
  pthread_cond_init(&wd.cv, &ca);
  pthread_condattr_destroy(&ca);
  wd.stop = false;
  wd.target = pthread_self();

  /* The helper thread must never receive process signals (SIGINT, SIGCHLD):
   * block them all while creating it; it inherits the mask. */
  sigset_t all, old;
  sigfillset(&all);
  pthread_sigmask(SIG_BLOCK, &all, &old);
  int rc = pthread_create(&wd.thread, NULL, ik__wd_main, NULL);
  pthread_sigmask(SIG_SETMASK, &old, NULL);
  if (rc != 0) {
    wd.users--;
    pthread_cond_destroy(&wd.cv);
    pthread_mutex_unlock(&wd.mu);
    return ik_err_set(err, -rc, "watchdog thread: %s", strerror(rc));
  }
  pthread_mutex_unlock(&wd.mu);
  return 0;
}

void ik__watchdog_release(void) {
  pthread_mutex_lock(&wd.mu);
  if (--wd.users > 0) {
    pthread_mutex_unlock(&wd.mu);
    return;
  }
  wd.stop = true;
  pthread_cond_signal(&wd.cv);
  pthread_mutex_unlock(&wd.mu);
  pthread_join(wd.thread, NULL);
  pthread_cond_destroy(&wd.cv);
  atomic_store(&wd.L, NULL);
}

void ik__watchdog_arm(lua_State *L, double seconds) {
  uint64_t g = ++wd.gen;
  if (seconds != wd.seconds) {
    wd.seconds = seconds;
    snprintf(wd.seconds_text, sizeof wd.seconds_text, "%g", seconds);
  }
  atomic_store(&wd.L, L);
  atomic_store(&wd.deadline, ik__now_ns() + (uint64_t)(seconds * 1e9));
  atomic_store(&wd.armed, g);
  uint64_t wakes = atomic_load(&wd.wakes_at);
  /* Deadlines normally only move later, so the sleeping thread needs no
   * wake-up; it does when idle, or when this deadline comes sooner. */
  if (atomic_load(&wd.idle) || (wakes != 0 && atomic_load(&wd.deadline) < wakes)) {
    pthread_mutex_lock(&wd.mu);
    pthread_cond_signal(&wd.cv);
    pthread_mutex_unlock(&wd.mu);
  }
}

bool ik__watchdog_disarm(lua_State *L) {
  uint64_t g = atomic_load(&wd.armed);
  atomic_store(&wd.armed, 0);
  bool fired = g != 0 && atomic_load(&wd.fired) == g;
  if (fired) lua_sethook(L, NULL, 0, 0);
  return fired;
}

bool ik__watchdog_is_timeout_message(const char *msg) {
  return msg && strstr(msg, IK_WD_PREFIX "Lua code ran for more than") != NULL;
}
