/* The wall-clock watchdog, and the one way a slice of Lua is killed.
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
 * Once a slice is killed (past its deadline, over a sandbox limit, or
 * SIGTERM), nothing in it may run on: the hook fires on every instruction,
 * call and return and raises again until control is back in C, so a pcall
 * cannot swallow it; the global xpcall is wrapped (limits.c) so that an
 * error handler, which LuaJIT runs with hooks off when the error came from a
 * hook, is not called for a killed slice; and the helper thread re-sends
 * the signal every second while the killed slice still runs, re-arming a
 * hook the code may have removed.
 *
 * SIGTERM and SIGINT are the loop's, and the loop is blocked while a slice
 * runs. A handler chained in front of libuv's records the signal; the
 * helper thread then kills a slice that was already running when the signal
 * came and still runs a second later, and if a killed slice still runs
 * IK_WD_GRACE seconds after the signal (a blocking C call, a __gc loop),
 * logs it and _exits with 128+signal: SIGTERM always stops the process. */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "base/log.h"
#include "lua/internal.h"

#define IK_WD_SIGNAL SIGURG /* default action is "ignore": harmless if stray */
#define IK_WD_PREFIX "watchdog: "
#define IK_WD_TERM_AFTER 1.0 /* s: a slice still running after SIGTERM is killed */
#define IK_WD_GRACE 5.0      /* s: a killed slice still running after SIGTERM: _exit */
#define IK_WD_RESEND 1.0     /* s: re-arm the hook of a killed slice that runs on */
#define IK_NS 1000000000.0

static struct {
  pthread_mutex_t mu;
  pthread_cond_t cv;
  pthread_t thread;
  pthread_t target; /* the loop thread */
  int users;
  bool stop;
  _Atomic bool idle;         /* thread is waiting for an arm */
  _Atomic uint64_t wakes_at; /* deadline the thread sleeps towards; 0 = none */
  _Atomic uint64_t armed;    /* generation of the running slice; 0 = none */
  _Atomic uint64_t deadline; /* ns, CLOCK_MONOTONIC */
  _Atomic uint64_t fired;    /* generation that was killed */
  _Atomic int why;           /* ik_kill_t of the kill of generation `fired` */
  _Atomic(lua_State *) L;
  _Atomic int term;         /* SIGTERM/SIGINT received (signal number), 0 = none */
  _Atomic uint64_t gen_pub; /* last generation handed out, for the thread */
  char seconds_text[32];    /* limit of the armed slice, for the message */
  double seconds;
  _Atomic int arm_why;     /* ik_kill_t: what the deadline of the armed slice stands for */
  char kill_msg[256];      /* message of a kill requested on the loop thread */
  uint64_t gen;            /* last generation handed out (loop thread only) */
  uint64_t saved_deadline; /* before ik__watchdog_shorten; 0 = none (loop thread) */
  int saved_why;
  struct sigaction prev[2]; /* SIGTERM, SIGINT handlers before ours (libuv's) */
  bool chained;
} wd = {.mu = PTHREAD_MUTEX_INITIALIZER};

static uint64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static const char *signame(int sig) { return sig == SIGINT ? "SIGINT" : "SIGTERM"; }

bool ik__watchdog_killing(void) {
  uint64_t g = atomic_load(&wd.armed);
  return g != 0 && atomic_load(&wd.fired) == g;
}

/* Raise the error of the killed slice in L. lua_error, not luaL_error:
 * the message must not depend on where the hook fired (the traceback says
 * where). */
static int l_raise_kill(lua_State *L) {
  switch ((ik_kill_t)atomic_load(&wd.why)) {
  case IK_KILL_TIMEOUT:
    lua_pushfstring(L, IK_WD_PREFIX "Lua code ran for more than %s s without yielding "
                                    "(limit set by --lua-timeout / INFRAKIT_LUA_TIMEOUT)",
                    wd.seconds_text);
    break;
  case IK_KILL_TERM:
    lua_pushfstring(L, IK_WD_PREFIX "Lua code stopped: the process is shutting down (%s)",
                    signame(atomic_load(&wd.term)));
    break;
  case IK_KILL_SANDBOX_TIME:
  case IK_KILL_MEMORY:
    lua_pushstring(L, wd.kill_msg);
    break;
  case IK_KILL_NONE:
  default:
    lua_pushliteral(L, IK_WD_PREFIX "Lua code stopped");
    break;
  }
  return lua_error(L);
}

static void wd_hook(lua_State *L, lua_Debug *ar) {
  (void)ar;
  if (!ik__watchdog_killing()) {
    lua_sethook(L, NULL, 0, 0); /* stale: the slice already ended */
    return;
  }
  l_raise_kill(L);
}

void ik__watchdog_hook(lua_State *L) {
  if (ik__watchdog_killing()) l_raise_kill(L);
}

static void set_kill_hook(lua_State *L) {
  lua_sethook(L, wd_hook, LUA_MASKCALL | LUA_MASKRET | LUA_MASKCOUNT, 1);
}

static void wd_on_signal(int sig) {
  (void)sig;
  int saved = errno;
  lua_State *L = atomic_load(&wd.L);
  if (L != NULL && ik__watchdog_killing()) set_kill_hook(L);
  errno = saved;
}

void ik__watchdog_kill(lua_State *L, ik_kill_t why, const char *msg) {
  uint64_t g = atomic_load(&wd.armed);
  if (g == 0 || atomic_load(&wd.fired) == g) return; /* no slice, or killed already */
  if (msg) snprintf(wd.kill_msg, sizeof wd.kill_msg, "%s", msg);
  atomic_store(&wd.why, (int)why);
  atomic_store(&wd.fired, g);
  set_kill_hook(L);
}

/* SIGTERM/SIGINT, in front of libuv's handler: note it for the helper
 * thread, then hand it on. Async-signal-safe: atomics only. */
static void wd_on_term(int sig, siginfo_t *si, void *uc) {
  int saved = errno;
  int expected = 0;
  atomic_compare_exchange_strong(&wd.term, &expected, sig);
  struct sigaction *prev = &wd.prev[sig == SIGINT];
  if (prev->sa_flags & SA_SIGINFO) {
    if (prev->sa_sigaction) prev->sa_sigaction(sig, si, uc);
  } else if (prev->sa_handler == SIG_DFL) {
    signal(sig, SIG_DFL);
    raise(sig);
  } else if (prev->sa_handler != SIG_IGN && prev->sa_handler != NULL) {
    prev->sa_handler(sig);
  }
  errno = saved;
}

static void chain_term(void) {
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_sigaction = wd_on_term;
  sa.sa_flags = SA_SIGINFO | SA_RESTART;
  sigfillset(&sa.sa_mask);
  atomic_store(&wd.term, 0);
  wd.chained = sigaction(SIGTERM, &sa, &wd.prev[0]) == 0 && sigaction(SIGINT, &sa, &wd.prev[1]) == 0;
}

/* Put back the handlers we chained in front of, unless someone replaced
 * ours since (libuv restores SIG_DFL when its last watcher stops). */
static void unchain_term(void) {
  if (!wd.chained) return;
  static const int sigs[2] = {SIGTERM, SIGINT};
  for (int i = 0; i < 2; i++) {
    struct sigaction cur;
    if (sigaction(sigs[i], NULL, &cur) == 0 && (cur.sa_flags & SA_SIGINFO) && cur.sa_sigaction == wd_on_term)
      sigaction(sigs[i], &wd.prev[i], NULL);
  }
  wd.chained = false;
}

/* Past its deadline, or still running after SIGTERM: kill generation g. */
static void wd_fire(uint64_t g, ik_kill_t why) {
  atomic_store(&wd.why, (int)why);
  atomic_store(&wd.fired, g);
  pthread_kill(wd.target, IK_WD_SIGNAL);
}

static void wd_sleep_until(uint64_t until) {
  struct timespec ts = {.tv_sec = (time_t)(until / 1000000000u), .tv_nsec = (long)(until % 1000000000u)};
  pthread_cond_timedwait(&wd.cv, &wd.mu, &ts);
}

static void *wd_main(void *arg) {
  (void)arg;
  uint64_t term_seen = 0, term_gen = 0; /* when the thread saw SIGTERM; last gen then */
  uint64_t resent = 0;
  pthread_mutex_lock(&wd.mu);
  while (!wd.stop) {
    uint64_t now = now_ns();
    uint64_t g = atomic_load(&wd.armed);
    int term = atomic_load(&wd.term);
    if (term && term_seen == 0) {
      term_seen = now;
      term_gen = atomic_load(&wd.gen_pub);
    }
    if (g == 0) {
      atomic_store(&wd.idle, true);
      /* Re-check after announcing idleness: an arm in between will see
       * idle == true and signal us under the mutex. */
      if (atomic_load(&wd.armed) == 0) pthread_cond_wait(&wd.cv, &wd.mu);
      atomic_store(&wd.idle, false);
      continue;
    }
    uint64_t step = (uint64_t)(0.25 * IK_NS);
    if (atomic_load(&wd.fired) == g) {
      /* Killed, and still running: the hook may have been removed, or the
       * code is stuck where hooks do not run. */
      if (term && now >= term_seen + (uint64_t)(IK_WD_GRACE * IK_NS)) {
        ik_log(IK_LOG_ERROR, "lua", "Lua code does not stop after the signal; exiting now", "signal",
               signame(term), NULL);
        _exit(128 + term);
      }
      if (now >= resent + (uint64_t)(IK_WD_RESEND * IK_NS)) {
        resent = now;
        pthread_kill(wd.target, IK_WD_SIGNAL);
      }
      wd_sleep_until(now + step);
      continue;
    }
    if (term && g <= term_gen && now >= term_seen + (uint64_t)(IK_WD_TERM_AFTER * IK_NS)) {
      /* A slice that was running when the signal came, still running: the
       * loop cannot act on the signal until it ends. */
      if (atomic_load(&wd.armed) == g) wd_fire(g, IK_KILL_TERM);
      resent = now;
      continue;
    }
    uint64_t deadline = atomic_load(&wd.deadline);
    if (now < deadline) {
      /* Wake at least every `step` while a slice runs, to see SIGTERM. */
      uint64_t until = deadline < now + step ? deadline : now + step;
      atomic_store(&wd.wakes_at, until);
      /* An arm with an earlier deadline (the limit was lowered) signals. */
      if (atomic_load(&wd.deadline) >= deadline && atomic_load(&wd.armed) == g) wd_sleep_until(until);
      atomic_store(&wd.wakes_at, 0);
      continue;
    }
    /* Past the deadline: is it still the same slice? */
    if (atomic_load(&wd.armed) == g) {
      resent = now;
      wd_fire(g, (ik_kill_t)atomic_load(&wd.arm_why));
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
  sa.sa_handler = wd_on_signal;
  sa.sa_flags = SA_RESTART;
  sigemptyset(&sa.sa_mask);
  sigaction(IK_WD_SIGNAL, &sa, NULL);
  chain_term();

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
  int rc = pthread_create(&wd.thread, NULL, wd_main, NULL);
  pthread_sigmask(SIG_SETMASK, &old, NULL);
  if (rc != 0) {
    wd.users--;
    unchain_term();
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
  unchain_term();
  atomic_store(&wd.L, NULL);
}

void ik__watchdog_arm(lua_State *L, double seconds, ik_kill_t why) {
  uint64_t g = ++wd.gen;
  if (seconds != wd.seconds) {
    wd.seconds = seconds;
    snprintf(wd.seconds_text, sizeof wd.seconds_text, "%g", seconds);
  }
  atomic_store(&wd.arm_why, (int)why);
  wd.saved_deadline = 0;
  atomic_store(&wd.L, L);
  atomic_store(&wd.deadline, now_ns() + (uint64_t)(seconds * 1e9));
  atomic_store(&wd.gen_pub, g);
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

void ik__watchdog_shorten(double seconds, ik_kill_t why, const char *msg) {
  uint64_t d = now_ns() + (uint64_t)(seconds * 1e9);
  if (atomic_load(&wd.armed) == 0 || d >= atomic_load(&wd.deadline)) return;
  if (msg) snprintf(wd.kill_msg, sizeof wd.kill_msg, "%s", msg);
  if (wd.saved_deadline == 0) {
    wd.saved_deadline = atomic_load(&wd.deadline);
    wd.saved_why = atomic_load(&wd.arm_why);
  }
  atomic_store(&wd.arm_why, (int)why);
  atomic_store(&wd.deadline, d);
  pthread_mutex_lock(&wd.mu);
  pthread_cond_signal(&wd.cv);
  pthread_mutex_unlock(&wd.mu);
}

void ik__watchdog_restore(void) {
  if (wd.saved_deadline == 0 || atomic_load(&wd.armed) == 0) return;
  atomic_store(&wd.deadline, wd.saved_deadline);
  atomic_store(&wd.arm_why, wd.saved_why);
  wd.saved_deadline = 0;
}

ik_kill_t ik__watchdog_disarm(lua_State *L) {
  uint64_t g = atomic_load(&wd.armed);
  atomic_store(&wd.armed, 0);
  bool fired = g != 0 && atomic_load(&wd.fired) == g;
  if (fired) lua_sethook(L, NULL, 0, 0);
  return fired ? (ik_kill_t)atomic_load(&wd.why) : IK_KILL_NONE;
}

bool ik__watchdog_is_timeout_message(const char *msg) {
  return msg && strstr(msg, IK_WD_PREFIX "Lua code ran for more than") != NULL;
}
