/* Lua pattern matching that can be stopped: string.find, match, gmatch and
 * gsub with Lua 5.1's semantics (and LuaJIT's %f and %g), for sandboxed
 * code and for method calls on strings (s:find(...)).
 *
 * LuaJIT's own matcher is one C call: a backtracking pattern on a long
 * subject (("a"):rep(3000):find(".-.-.-b") takes hours) runs to its end
 * whatever the watchdog says, since hooks only run between instructions.
 * This one, adapted from Lua 5.1's lstrlib.c (MIT, PUC-Rio), counts its
 * steps and every IK_PAT_CHECK of them asks limits.c whether the slice was
 * killed or the sandbox is past its run time, and raises if so. */
#include <ctype.h>
#include <string.h>

#include "lua/internal.h"

#define IK_PAT_CHECK 65536
#define IK_MAXCAPTURES 32
#define IK_MAXDEPTH 200
#define CAP_UNFINISHED (-1)
#define CAP_POSITION (-2)
#define L_ESC '%'
#define SPECIALS "^$*+?.([%-"

typedef struct {
  const char *src_init, *src_end;
  lua_State *L;
  int level, depth;
  unsigned steps;
  struct {
    const char *init;
    ptrdiff_t len;
  } capture[IK_MAXCAPTURES];
} ms_t;

static void step(ms_t *ms) {
  if (--ms->steps != 0) return;
  ms->steps = IK_PAT_CHECK;
  ik__limits_check(ms->L);
}

static int check_capture(ms_t *ms, int l) {
  l -= '1';
  if (l < 0 || l >= ms->level || ms->capture[l].len == CAP_UNFINISHED)
    return luaL_error(ms->L, "invalid capture index");
  return l;
}

static int capture_to_close(ms_t *ms) {
  int level = ms->level;
  for (level--; level >= 0; level--)
    if (ms->capture[level].len == CAP_UNFINISHED) return level;
  return luaL_error(ms->L, "invalid pattern capture");
}

static const char *classend(ms_t *ms, const char *p) {
  switch (*p++) {
  case L_ESC:
    if (*p == '\0') luaL_error(ms->L, "malformed pattern (ends with '%%')");
    return p + 1;
  case '[':
    if (*p == '^') p++;
    do {
      if (*p == '\0') luaL_error(ms->L, "malformed pattern (missing ']')");
      if (*(p++) == L_ESC && *p != '\0') p++;
    } while (*p != ']');
    return p + 1;
  default:
    return p;
  }
}

static int match_class(int c, int cl) {
  int res;
  switch (tolower(cl)) {
  case 'a': res = isalpha(c); break;
  case 'c': res = iscntrl(c); break;
  case 'd': res = isdigit(c); break;
  case 'g': res = isgraph(c); break;
  case 'l': res = islower(c); break;
  case 'p': res = ispunct(c); break;
  case 's': res = isspace(c); break;
  case 'u': res = isupper(c); break;
  case 'w': res = isalnum(c); break;
  case 'x': res = isxdigit(c); break;
  case 'z': res = (c == 0); break;
  default: return (cl == c);
  }
  if (isupper(cl)) res = !res;
  return res;
}

static int matchbracketclass(int c, const char *p, const char *ec) {
  int sig = 1;
  if (*(p + 1) == '^') {
    sig = 0;
    p++;
  }
  while (++p < ec) {
    if (*p == L_ESC) {
      p++;
      if (match_class(c, (unsigned char)*p)) return sig;
    } else if (*(p + 1) == '-' && (p + 2 < ec)) {
      p += 2;
      if ((unsigned char)*(p - 2) <= c && c <= (unsigned char)*p) return sig;
    } else if ((unsigned char)*p == c) {
      return sig;
    }
  }
  return !sig;
}

static int singlematch(int c, const char *p, const char *ep) {
  switch (*p) {
  case '.': return 1;
  case L_ESC: return match_class(c, (unsigned char)*(p + 1));
  case '[': return matchbracketclass(c, p, ep - 1);
  default: return ((unsigned char)*p == c);
  }
}

static const char *match(ms_t *ms, const char *s, const char *p);

static const char *matchbalance(ms_t *ms, const char *s, const char *p) {
  if (*p == 0 || *(p + 1) == 0) luaL_error(ms->L, "unbalanced pattern");
  if (*s != *p) return NULL;
  int b = *p, e = *(p + 1), cont = 1;
  while (++s < ms->src_end) {
    step(ms);
    if (*s == e) {
      if (--cont == 0) return s + 1;
    } else if (*s == b) {
      cont++;
    }
  }
  return NULL;
}

static const char *max_expand(ms_t *ms, const char *s, const char *p, const char *ep) {
  ptrdiff_t i = 0;
  while ((s + i) < ms->src_end && singlematch((unsigned char)*(s + i), p, ep)) {
    step(ms);
    i++;
  }
  while (i >= 0) {
    const char *res = match(ms, (s + i), ep + 1);
    if (res) return res;
    i--;
  }
  return NULL;
}

static const char *min_expand(ms_t *ms, const char *s, const char *p, const char *ep) {
  for (;;) {
    const char *res = match(ms, s, ep + 1);
    if (res != NULL) return res;
    if (s < ms->src_end && singlematch((unsigned char)*s, p, ep)) s++;
    else return NULL;
  }
}

static const char *start_capture(ms_t *ms, const char *s, const char *p, int what) {
  int level = ms->level;
  if (level >= IK_MAXCAPTURES) luaL_error(ms->L, "too many captures");
  ms->capture[level].init = s;
  ms->capture[level].len = what;
  ms->level = level + 1;
  const char *res = match(ms, s, p);
  if (res == NULL) ms->level--;
  return res;
}

static const char *end_capture(ms_t *ms, const char *s, const char *p) {
  int l = capture_to_close(ms);
  ms->capture[l].len = s - ms->capture[l].init;
  const char *res = match(ms, s, p);
  if (res == NULL) ms->capture[l].len = CAP_UNFINISHED;
  return res;
}

static const char *match_capture(ms_t *ms, const char *s, int l) {
  l = check_capture(ms, l);
  size_t len = (size_t)ms->capture[l].len;
  if ((size_t)(ms->src_end - s) >= len && memcmp(ms->capture[l].init, s, len) == 0) return s + len;
  return NULL;
}

static const char *match(ms_t *ms, const char *s, const char *p) {
  if (++ms->depth > IK_MAXDEPTH) luaL_error(ms->L, "pattern too complex");
  step(ms);
init:
  switch (*p) {
  case '(':
    s = *(p + 1) == ')' ? start_capture(ms, s, p + 2, CAP_POSITION) : start_capture(ms, s, p + 1, CAP_UNFINISHED);
    break;
  case ')':
    s = end_capture(ms, s, p + 1);
    break;
  case L_ESC:
    switch (*(p + 1)) {
    case 'b':
      s = matchbalance(ms, s, p + 2);
      if (s != NULL) {
        p += 4;
        goto init;
      }
      break;
    case 'f': {
      p += 2;
      if (*p != '[') luaL_error(ms->L, "missing '[' after '%%f' in pattern");
      const char *ep = classend(ms, p);
      int previous = (s == ms->src_init) ? '\0' : (unsigned char)*(s - 1);
      int current = (s < ms->src_end) ? (unsigned char)*s : '\0';
      if (!matchbracketclass(previous, p, ep - 1) && matchbracketclass(current, p, ep - 1)) {
        p = ep;
        goto init;
      }
      s = NULL;
      break;
    }
    default:
      if (isdigit((unsigned char)*(p + 1))) {
        s = match_capture(ms, s, (unsigned char)*(p + 1));
        if (s != NULL) {
          p += 2;
          goto init;
        }
        break;
      }
      goto dflt;
    }
    break;
  case '\0':
    break;
  case '$':
    if (*(p + 1) == '\0') {
      s = (s == ms->src_end) ? s : NULL;
      break;
    }
    goto dflt;
  default:
  dflt : {
    const char *ep = classend(ms, p);
    int m = s < ms->src_end && singlematch((unsigned char)*s, p, ep);
    switch (*ep) {
    case '?': {
      const char *res;
      if (m && ((res = match(ms, s + 1, ep + 1)) != NULL)) {
        s = res;
        break;
      }
      p = ep + 1;
      goto init;
    }
    case '*':
      s = max_expand(ms, s, p, ep);
      break;
    case '+':
      s = (m ? max_expand(ms, s + 1, p, ep) : NULL);
      break;
    case '-':
      s = min_expand(ms, s, p, ep);
      break;
    default:
      if (!m) {
        s = NULL;
        break;
      }
      s++;
      p = ep;
      goto init;
    }
    break;
  }
  }
  ms->depth--;
  return s;
}

static void push_onecapture(ms_t *ms, int i, const char *s, const char *e) {
  if (i >= ms->level) {
    if (i == 0) lua_pushlstring(ms->L, s, (size_t)(e - s));
    else luaL_error(ms->L, "invalid capture index");
  } else {
    ptrdiff_t l = ms->capture[i].len;
    if (l == CAP_UNFINISHED) luaL_error(ms->L, "unfinished capture");
    if (l == CAP_POSITION) lua_pushinteger(ms->L, ms->capture[i].init - ms->src_init + 1);
    else lua_pushlstring(ms->L, ms->capture[i].init, (size_t)l);
  }
}

static int push_captures(ms_t *ms, const char *s, const char *e) {
  int nlevels = (ms->level == 0 && s) ? 1 : ms->level;
  luaL_checkstack(ms->L, nlevels, "too many captures");
  for (int i = 0; i < nlevels; i++) push_onecapture(ms, i, s, e);
  return nlevels;
}

static void ms_init(ms_t *ms, lua_State *L, const char *s, size_t ls) {
  ms->L = L;
  ms->src_init = s;
  ms->src_end = s + ls;
  ms->steps = IK_PAT_CHECK;
}

static int str_find_aux(lua_State *L, int find) {
  size_t ls, lp;
  const char *s = luaL_checklstring(L, 1, &ls);
  const char *p = luaL_checklstring(L, 2, &lp);
  ptrdiff_t init = (ptrdiff_t)luaL_optinteger(L, 3, 1);
  if (init < 0) init += (ptrdiff_t)ls;
  else init--;
  if (init < 0) init = 0;
  if ((size_t)init > ls) init = (ptrdiff_t)ls;
  if (find && (lua_toboolean(L, 4) || strpbrk(p, SPECIALS) == NULL)) {
    const char *q = lp == 0 ? s + init : memmem(s + init, ls - (size_t)init, p, lp);
    if (q) {
      lua_pushinteger(L, q - s + 1);
      lua_pushinteger(L, q - s + (ptrdiff_t)lp);
      return 2;
    }
  } else {
    ms_t ms;
    int anchor = (*p == '^') ? (p++, 1) : 0;
    const char *s1 = s + init;
    ms_init(&ms, L, s, ls);
    do {
      ms.level = ms.depth = 0;
      const char *e = match(&ms, s1, p);
      if (e != NULL) {
        if (find) {
          lua_pushinteger(L, s1 - s + 1);
          lua_pushinteger(L, e - s);
          return push_captures(&ms, NULL, NULL) + 2;
        }
        return push_captures(&ms, s1, e);
      }
    } while (s1++ < ms.src_end && !anchor);
  }
  lua_pushnil(L);
  return 1;
}

static int l_find(lua_State *L) { return str_find_aux(L, 1); }
static int l_match(lua_State *L) { return str_find_aux(L, 0); }

static int gmatch_aux(lua_State *L) {
  ms_t ms;
  size_t ls;
  const char *s = lua_tolstring(L, lua_upvalueindex(1), &ls);
  const char *p = lua_tostring(L, lua_upvalueindex(2));
  ms_init(&ms, L, s, ls);
  for (const char *src = s + (size_t)lua_tointeger(L, lua_upvalueindex(3)); src <= ms.src_end; src++) {
    ms.level = ms.depth = 0;
    const char *e = match(&ms, src, p);
    if (e != NULL) {
      lua_Integer newstart = e - s;
      if (e == src) newstart++; /* empty match: go at least one position */
      lua_pushinteger(L, newstart);
      lua_replace(L, lua_upvalueindex(3));
      return push_captures(&ms, src, e);
    }
  }
  return 0;
}

static int l_gmatch(lua_State *L) {
  luaL_checkstring(L, 1);
  luaL_checkstring(L, 2);
  lua_settop(L, 2);
  lua_pushinteger(L, 0);
  lua_pushcclosure(L, gmatch_aux, 3);
  return 1;
}

static void add_s(ms_t *ms, luaL_Buffer *b, const char *s, const char *e) {
  size_t l;
  const char *news = lua_tolstring(ms->L, 3, &l);
  for (size_t i = 0; i < l; i++) {
    if (news[i] != L_ESC) {
      luaL_addchar(b, news[i]);
    } else {
      i++;
      if (!isdigit((unsigned char)news[i])) {
        luaL_addchar(b, news[i]);
      } else if (news[i] == '0') {
        luaL_addlstring(b, s, (size_t)(e - s));
      } else {
        push_onecapture(ms, news[i] - '1', s, e);
        luaL_addvalue(b);
      }
    }
  }
}

static void add_value(ms_t *ms, luaL_Buffer *b, const char *s, const char *e) {
  lua_State *L = ms->L;
  switch (lua_type(L, 3)) {
  case LUA_TNUMBER:
  case LUA_TSTRING:
    add_s(ms, b, s, e);
    return;
  case LUA_TFUNCTION: {
    lua_pushvalue(L, 3);
    int n = push_captures(ms, s, e);
    lua_call(L, n, 1);
    break;
  }
  case LUA_TTABLE:
    push_onecapture(ms, 0, s, e);
    lua_gettable(L, 3);
    break;
  default:
    break;
  }
  if (!lua_toboolean(L, -1)) {
    lua_pop(L, 1);
    lua_pushlstring(L, s, (size_t)(e - s));
  } else if (!lua_isstring(L, -1)) {
    luaL_error(L, "invalid replacement value (a %s)", luaL_typename(L, -1));
  }
  luaL_addvalue(b);
}

static int l_gsub(lua_State *L) {
  size_t srcl;
  const char *src = luaL_checklstring(L, 1, &srcl);
  const char *p = luaL_checkstring(L, 2);
  int tr = lua_type(L, 3);
  int max_s = (int)luaL_optinteger(L, 4, (lua_Integer)srcl + 1);
  int anchor = (*p == '^') ? (p++, 1) : 0;
  int n = 0;
  ms_t ms;
  luaL_Buffer b;
  luaL_argcheck(L, tr == LUA_TNUMBER || tr == LUA_TSTRING || tr == LUA_TFUNCTION || tr == LUA_TTABLE, 3,
                "string/function/table expected");
  luaL_buffinit(L, &b);
  ms_init(&ms, L, src, srcl);
  while (n < max_s) {
    ms.level = ms.depth = 0;
    const char *e = match(&ms, src, p);
    if (e) {
      n++;
      add_value(&ms, &b, src, e);
    }
    if (e && e > src) src = e;
    else if (src < ms.src_end) luaL_addchar(&b, *src++);
    else break;
    if (anchor) break;
    step(&ms);
  }
  luaL_addlstring(&b, src, (size_t)(ms.src_end - src));
  luaL_pushresult(&b);
  lua_pushinteger(L, n);
  return 2;
}

void ik__bind_pattern(lua_State *L) {
  static const luaL_Reg fns[] = {
      {"find", l_find},
      {"match", l_match},
      {"gmatch", l_gmatch},
      {"gsub", l_gsub},
      {NULL, NULL},
  };
  lua_newtable(L);
  luaL_register(L, NULL, fns);
  lua_setfield(L, -2, "pattern");
}
