/*
 * gantry-supervisor: the native rank supervisor and its launcher (built by scripts/build-native.mjs
 * into dist/agent/runner/gantry-supervisor; the runner falls back to the Node supervisor,
 * supervisor.ts, when it is absent).
 *
 *   gantry-supervisor <taskDir> [<id>]
 *     Supervises one rank exactly as supervisor.ts does, with the same records (docs/runner.md):
 *     reads spec.json, runs the rank in its own session and process group under the spec's
 *     uid/gid, streams its stdout and stderr into the rotated log (log, log.1.., log.json),
 *     writes status.json once the rank runs and exit.json when it is gone; SIGTERM/SIGINT forward
 *     SIGTERM to the group and SIGKILL it after the grace (stop.json's, else the spec's). With
 *     an <id> and fd 3 open (the launcher's report pipe), it also says "started <id> <supervisorPid>
 *     <pid> <pgid> <startedMs>" there once the rank runs (or "failed <id>" when it never ran),
 *     then closes fd 3.
 *
 *   gantry-supervisor --launcher <tasksRoot>
 *     Spawned once by the runner, with pipes. Reads "<id> <taskDir>" lines on stdin; for each,
 *     forks a supervisor (its own session, stdout and stderr to the task's supervisor.log) and
 *     says "spawned <id> <pid>" on stdout; says "exit <pid>" when one of them exits. Exits at
 *     end of input; supervisors it started live on. Forking from this small process costs a
 *     fraction of what a fork of the agent's Node process does.
 *
 * Linux only (signalfd, /proc). No allocation-heavy work, no dependencies beyond libc.
 *
 * One file of about 1,500 lines, on purpose: the build is one compiler call with no headers of
 * ours (scripts/build-native.mjs, linked statically where libc.a is installed), and every part
 * serves the one binary. Its sections, in order: small utilities (clock, diagnostics, a string
 * buffer, files and atomic records), a minimal JSON reader for spec.json and stop.json, process
 * groups, the rank's cgroups (join, list, kill), the rotating log, the supervisor (supervise() and its named steps: load_spec,
 * write_launch_record, parse_rank_spec, block_signals, stopped_before_start, start_and_record,
 * watch_rank, record_exit), the launcher, and main.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

#define RECORD_VERSION 1
#define SETTLE_POLL_MS 25
#define DRAIN_CAP_MS 5000
#define CHECKPOINT_MARKER "GANTRY_CHECKPOINT"
#define REPORT_FD 3
/* After cgroup.kill (or SIGKILL to every pid listed), how long to wait for the rank's cgroups to empty. */
#define CGROUP_EMPTY_CAP_MS 5000

/* ---- small helpers ------------------------------------------------------------------------ */

static int64_t now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int64_t mono_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Where diagnostics go: stderr, or (a supervisor forked by the launcher) this file, opened when first needed. */
static const char *g_diag_file;

static void diag(const char *fmt, ...) {
  char buf[4096];
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(buf, sizeof buf, fmt, ap);
  va_end(ap);
  if (n < 0) return;
  if (n > (int)sizeof buf - 1) n = sizeof buf - 1;
  int fd = STDERR_FILENO;
  if (g_diag_file) {
    fd = open(g_diag_file, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
    if (fd < 0) fd = STDERR_FILENO;
  }
  ssize_t w = write(fd, buf, (size_t)n);
  (void)w;
  if (fd != STDERR_FILENO) close(fd);
}

static int write_all(int fd, const char *p, size_t n) {
  while (n > 0) {
    ssize_t w = write(fd, p, n);
    if (w < 0) {
      if (errno == EINTR) continue;
      return -1;
    }
    p += w;
    n -= (size_t)w;
  }
  return 0;
}

/* A growable byte buffer. */
typedef struct {
  char *p;
  size_t len, cap;
} sbuf;

static void sb_grow(sbuf *b, size_t more) {
  if (b->len + more + 1 <= b->cap) return;
  size_t cap = b->cap ? b->cap : 256;
  while (cap < b->len + more + 1) cap *= 2;
  char *p = realloc(b->p, cap);
  if (!p) {
    diag("out of memory\n");
    _exit(1);
  }
  b->p = p;
  b->cap = cap;
}

static void sb_put(sbuf *b, const char *s, size_t n) {
  sb_grow(b, n);
  memcpy(b->p + b->len, s, n);
  b->len += n;
  b->p[b->len] = 0;
}

static void sb_puts(sbuf *b, const char *s) { sb_put(b, s, strlen(s)); }

static void sb_printf(sbuf *b, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(NULL, 0, fmt, ap);
  va_end(ap);
  if (n < 0) return;
  sb_grow(b, (size_t)n);
  va_start(ap, fmt);
  vsnprintf(b->p + b->len, (size_t)n + 1, fmt, ap);
  va_end(ap);
  b->len += (size_t)n;
}

/* Appends s as a JSON string literal (quotes included); bytes >= 0x80 pass through. */
static void sb_json_str(sbuf *b, const char *s) {
  sb_put(b, "\"", 1);
  for (const unsigned char *c = (const unsigned char *)s; *c; c++) {
    switch (*c) {
      case '"': sb_puts(b, "\\\""); break;
      case '\\': sb_puts(b, "\\\\"); break;
      case '\n': sb_puts(b, "\\n"); break;
      case '\r': sb_puts(b, "\\r"); break;
      case '\t': sb_puts(b, "\\t"); break;
      case '\b': sb_puts(b, "\\b"); break;
      case '\f': sb_puts(b, "\\f"); break;
      default:
        if (*c < 0x20) sb_printf(b, "\\u%04x", *c);
        else sb_put(b, (const char *)c, 1);
    }
  }
  sb_put(b, "\"", 1);
}

static char *path_in(const char *dir, const char *name) {
  sbuf b = {0};
  sb_puts(&b, dir);
  sb_puts(&b, "/");
  sb_puts(&b, name);
  return b.p;
}

/* Whole file into memory (NUL-terminated); NULL when absent or unreadable. */
static char *read_file(const char *file, size_t *len_out) {
  int fd = open(file, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return NULL;
  sbuf b = {0};
  sb_grow(&b, 4096);
  for (;;) {
    sb_grow(&b, 4096);
    ssize_t n = read(fd, b.p + b.len, b.cap - b.len - 1);
    if (n < 0) {
      if (errno == EINTR) continue;
      close(fd);
      free(b.p);
      return NULL;
    }
    if (n == 0) break;
    b.len += (size_t)n;
  }
  close(fd);
  b.p[b.len] = 0;
  if (len_out) *len_out = b.len;
  return b.p;
}

/* Writes text to file atomically: a temporary file named like the runner's (<file>.tmp-<pid>), then rename. */
static int write_atomic(const char *file, const char *text, size_t len) {
  char tmp[PATH_MAX];
  if (snprintf(tmp, sizeof tmp, "%s.tmp-%d", file, (int)getpid()) >= (int)sizeof tmp) return -1;
  int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return -1;
  int rc = write_all(fd, text, len);
  if (close(fd) != 0) rc = -1;
  if (rc == 0 && rename(tmp, file) != 0) rc = -1;
  if (rc != 0) unlink(tmp);
  return rc;
}

/* Writes a record built in b into dir/name atomically, says so on failure, and frees b. */
static void write_record(const char *dir, const char *name, sbuf *b) {
  char *f = path_in(dir, name);
  if (write_atomic(f, b->p, b->len) != 0) diag("cannot write %s: %s\n", f, strerror(errno));
  free(f);
  free(b->p);
  *b = (sbuf){0};
}

/* ---- a small JSON reader (the records are written by JSON.stringify) ----------------------- */

enum jtype { J_NULL, J_BOOL, J_NUM, J_STR, J_ARR, J_OBJ };

typedef struct jval {
  enum jtype type;
  double num;
  int boolean;
  char *str;           /* J_STR: decoded, NUL-terminated */
  size_t n;            /* J_ARR/J_OBJ: element count */
  char **keys;         /* J_OBJ */
  struct jval **items; /* J_ARR/J_OBJ */
} jval;

typedef struct {
  const char *p, *end;
  int depth;
} jparser;

static void jskip(jparser *j) {
  while (j->p < j->end && (*j->p == ' ' || *j->p == '\n' || *j->p == '\r' || *j->p == '\t')) j->p++;
}

static void put_utf8(sbuf *b, uint32_t cp) {
  char o[4];
  if (cp < 0x80) {
    o[0] = (char)cp;
    sb_put(b, o, 1);
  } else if (cp < 0x800) {
    o[0] = (char)(0xc0 | (cp >> 6));
    o[1] = (char)(0x80 | (cp & 0x3f));
    sb_put(b, o, 2);
  } else if (cp < 0x10000) {
    o[0] = (char)(0xe0 | (cp >> 12));
    o[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
    o[2] = (char)(0x80 | (cp & 0x3f));
    sb_put(b, o, 3);
  } else {
    o[0] = (char)(0xf0 | (cp >> 18));
    o[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
    o[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
    o[3] = (char)(0x80 | (cp & 0x3f));
    sb_put(b, o, 4);
  }
}

static int hex4(const char *p, uint32_t *out) {
  uint32_t v = 0;
  for (int i = 0; i < 4; i++) {
    char c = p[i];
    v <<= 4;
    if (c >= '0' && c <= '9') v |= (uint32_t)(c - '0');
    else if (c >= 'a' && c <= 'f') v |= (uint32_t)(c - 'a' + 10);
    else if (c >= 'A' && c <= 'F') v |= (uint32_t)(c - 'A' + 10);
    else return -1;
  }
  *out = v;
  return 0;
}

static char *jstring(jparser *j) {
  if (j->p >= j->end || *j->p != '"') return NULL;
  j->p++;
  sbuf b = {0};
  sb_grow(&b, 16);
  while (j->p < j->end && *j->p != '"') {
    char c = *j->p++;
    if (c != '\\') {
      sb_put(&b, &c, 1);
      continue;
    }
    if (j->p >= j->end) break;
    char e = *j->p++;
    switch (e) {
      case '"': sb_put(&b, "\"", 1); break;
      case '\\': sb_put(&b, "\\", 1); break;
      case '/': sb_put(&b, "/", 1); break;
      case 'b': sb_put(&b, "\b", 1); break;
      case 'f': sb_put(&b, "\f", 1); break;
      case 'n': sb_put(&b, "\n", 1); break;
      case 'r': sb_put(&b, "\r", 1); break;
      case 't': sb_put(&b, "\t", 1); break;
      case 'u': {
        uint32_t cp, lo;
        if (j->end - j->p < 4 || hex4(j->p, &cp) != 0) goto bad;
        j->p += 4;
        if (cp >= 0xd800 && cp < 0xdc00 && j->end - j->p >= 6 && j->p[0] == '\\' && j->p[1] == 'u' && hex4(j->p + 2, &lo) == 0 && lo >= 0xdc00 && lo < 0xe000) {
          cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
          j->p += 6;
        }
        if (cp == 0) goto bad; /* no NUL inside C strings */
        put_utf8(&b, cp);
        break;
      }
      default:
        goto bad;
    }
  }
  if (j->p >= j->end) goto bad;
  j->p++;
  return b.p;
bad:
  free(b.p);
  return NULL;
}

static jval *jparse(jparser *j);

static jval *jnew(enum jtype t) {
  jval *v = calloc(1, sizeof *v);
  if (!v) _exit(1);
  v->type = t;
  return v;
}

static void jpush(jval *v, char *key, jval *item) {
  v->items = realloc(v->items, (v->n + 1) * sizeof *v->items);
  if (v->type == J_OBJ) v->keys = realloc(v->keys, (v->n + 1) * sizeof *v->keys);
  if (!v->items || (v->type == J_OBJ && !v->keys)) _exit(1);
  if (v->type == J_OBJ) v->keys[v->n] = key;
  v->items[v->n++] = item;
}

static jval *jparse(jparser *j) {
  jskip(j);
  if (j->p >= j->end || ++j->depth > 64) return NULL;
  jval *v = NULL;
  char c = *j->p;
  if (c == '{' || c == '[') {
    int obj = c == '{';
    v = jnew(obj ? J_OBJ : J_ARR);
    j->p++;
    jskip(j);
    if (j->p < j->end && *j->p == (obj ? '}' : ']')) {
      j->p++;
    } else {
      for (;;) {
        char *key = NULL;
        jskip(j);
        if (obj) {
          key = jstring(j);
          if (!key) return NULL;
          jskip(j);
          if (j->p >= j->end || *j->p != ':') return NULL;
          j->p++;
        }
        jval *item = jparse(j);
        if (!item) return NULL;
        jpush(v, key, item);
        jskip(j);
        if (j->p < j->end && *j->p == ',') {
          j->p++;
          continue;
        }
        if (j->p < j->end && *j->p == (obj ? '}' : ']')) {
          j->p++;
          break;
        }
        return NULL;
      }
    }
  } else if (c == '"') {
    v = jnew(J_STR);
    v->str = jstring(j);
    if (!v->str) return NULL;
  } else if (c == 't' && j->end - j->p >= 4 && memcmp(j->p, "true", 4) == 0) {
    v = jnew(J_BOOL);
    v->boolean = 1;
    j->p += 4;
  } else if (c == 'f' && j->end - j->p >= 5 && memcmp(j->p, "false", 5) == 0) {
    v = jnew(J_BOOL);
    j->p += 5;
  } else if (c == 'n' && j->end - j->p >= 4 && memcmp(j->p, "null", 4) == 0) {
    v = jnew(J_NULL);
    j->p += 4;
  } else if (c == '-' || (c >= '0' && c <= '9')) {
    char *endp;
    v = jnew(J_NUM);
    v->num = strtod(j->p, &endp);
    if (endp == j->p || endp > j->end) return NULL;
    j->p = endp;
  } else {
    return NULL;
  }
  j->depth--;
  return v;
}

static jval *jparse_text(const char *text, size_t len) {
  jparser j = {text, text + len, 0};
  jval *v = jparse(&j);
  if (!v) return NULL;
  jskip(&j);
  return j.p == j.end ? v : NULL;
}

static jval *jget(const jval *o, const char *key) {
  if (!o || o->type != J_OBJ) return NULL;
  for (size_t i = 0; i < o->n; i++)
    if (strcmp(o->keys[i], key) == 0) return o->items[i];
  return NULL;
}

static jval *read_json(const char *file) {
  size_t len;
  char *text = read_file(file, &len);
  if (!text) return NULL;
  jval *v = jparse_text(text, len);
  free(text);
  return v;
}

/* A whole number from a JSON value, or def. */
static int64_t jint(const jval *v, int64_t def) {
  if (!v || v->type != J_NUM || v->num != v->num) return def;
  return (int64_t)v->num;
}

/* ---- signals, processes --------------------------------------------------------------------- */

static const char *signal_name(int sig) {
  static const char *names[] = {
      [SIGHUP] = "SIGHUP",   [SIGINT] = "SIGINT",       [SIGQUIT] = "SIGQUIT", [SIGILL] = "SIGILL",   [SIGTRAP] = "SIGTRAP",
      [SIGABRT] = "SIGABRT", [SIGBUS] = "SIGBUS",       [SIGFPE] = "SIGFPE",   [SIGKILL] = "SIGKILL", [SIGUSR1] = "SIGUSR1",
      [SIGSEGV] = "SIGSEGV", [SIGUSR2] = "SIGUSR2",     [SIGPIPE] = "SIGPIPE", [SIGALRM] = "SIGALRM", [SIGTERM] = "SIGTERM",
      [SIGSTKFLT] = "SIGSTKFLT", [SIGCHLD] = "SIGCHLD", [SIGCONT] = "SIGCONT", [SIGSTOP] = "SIGSTOP", [SIGTSTP] = "SIGTSTP",
      [SIGTTIN] = "SIGTTIN", [SIGTTOU] = "SIGTTOU",     [SIGURG] = "SIGURG",   [SIGXCPU] = "SIGXCPU", [SIGXFSZ] = "SIGXFSZ",
      [SIGVTALRM] = "SIGVTALRM", [SIGPROF] = "SIGPROF", [SIGWINCH] = "SIGWINCH", [SIGIO] = "SIGIO", [SIGPWR] = "SIGPWR",
      [SIGSYS] = "SIGSYS",
  };
  if (sig > 0 && sig < (int)(sizeof names / sizeof names[0]) && names[sig]) return names[sig];
  static char other[24];
  snprintf(other, sizeof other, "SIG%d", sig);
  return other;
}

/* Live (not zombie) members of process group pgid, as /proc says; kill(-pgid, 0) answers most cases. */
static int group_alive(pid_t pgid) {
  if (pgid <= 1) return 0;
  if (kill(-pgid, 0) != 0 && errno == ESRCH) return 0;
  DIR *d = opendir("/proc");
  if (!d) return 1;
  int alive = 0;
  struct dirent *de;
  while (!alive && (de = readdir(d)) != NULL) {
    if (de->d_name[0] < '1' || de->d_name[0] > '9') continue;
    char file[300], buf[512];
    snprintf(file, sizeof file, "/proc/%s/stat", de->d_name);
    int fd = open(file, O_RDONLY | O_CLOEXEC);
    if (fd < 0) continue;
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (n <= 0) continue;
    buf[n] = 0;
    char *close_paren = strrchr(buf, ')');
    if (!close_paren) continue;
    char state;
    int ppid, pgrp;
    if (sscanf(close_paren + 2, "%c %d %d", &state, &ppid, &pgrp) != 3) continue;
    if (pgrp == pgid && state != 'Z' && state != 'X') alive = 1;
  }
  closedir(d);
  return alive;
}

static void signal_group(pid_t pgid, int sig) {
  if (pgid > 1) kill(-pgid, sig);
}

/* ---- the rank's cgroups (spec.json `cgroup`; docs/runner.md "Containment") -------------------- */

/* The errno's name, as Node's error codes spell it. */
static const char *errno_name(int e) {
  switch (e) {
    case ENOENT: return "ENOENT";
    case EACCES: return "EACCES";
    case EPERM: return "EPERM";
    case EINVAL: return "EINVAL";
    case EBUSY: return "EBUSY";
    case ENOSPC: return "ENOSPC";
    case EAGAIN: return "EAGAIN";
    case EROFS: return "EROFS";
    case ENOTDIR: return "ENOTDIR";
    case ENODEV: return "ENODEV";
    case EOPNOTSUPP: return "EOPNOTSUPP";
    case ESRCH: return "ESRCH";
    case ENAMETOOLONG: return "ENAMETOOLONG";
    default: {
      static char other[24];
      snprintf(other, sizeof other, "errno %d", e);
      return other;
    }
  }
}

/* Writes text to an existing cgroup file (no create, no truncate: cgroupfs files): 0, or the errno. */
static int cg_write(const char *file, const char *text) {
  int fd = open(file, O_WRONLY | O_CLOEXEC);
  if (fd < 0) return errno;
  size_t n = strlen(text);
  ssize_t w = write(fd, text, n);
  int e = w == (ssize_t)n ? 0 : (w < 0 ? errno : EIO);
  if (close(fd) != 0 && !e) e = errno;
  return e;
}

/* "<dir>/cgroup.procs" for each dir, NULL-terminated (computed before a fork, so the child only writes). */
static char **procs_files(char **dirs) {
  size_t n = 0;
  while (dirs && dirs[n]) n++;
  char **out = calloc(n + 1, sizeof *out);
  if (!out) _exit(1);
  for (size_t i = 0; i < n; i++) out[i] = path_in(dirs[i], "cgroup.procs");
  return out;
}

/* Calls fn(pid, arg) for each pid listed in the files' cgroup.procs (a missing file lists none); the count. */
static int cg_each_pid(char **files, void (*fn)(pid_t, int), int arg) {
  int count = 0;
  for (size_t i = 0; files && files[i]; i++) {
    char *text = read_file(files[i], NULL);
    if (!text) continue;
    for (char *p = text; *p;) {
      char *end;
      long pid = strtol(p, &end, 10);
      if (end == p) break;
      if (pid > 0) {
        count++;
        if (fn) fn((pid_t)pid, arg);
      }
      p = end;
    }
    free(text);
  }
  return count;
}

static void kill_pid(pid_t pid, int sig) {
  if (pid > 1 && pid != getpid()) kill(pid, sig);
}

/* Every process of the rank, whatever its session: cgroup.kill when there is one, else SIGKILL to each pid listed. */
static void cg_kill_all(const char *kill_file, char **rank_procs) {
  if (kill_file) {
    int e = cg_write(kill_file, "1");
    if (e == 0) return;
    diag("cannot write %s: %s\n", kill_file, strerror(e));
  }
  cg_each_pid(rank_procs, kill_pid, SIGKILL);
}

/* unix ms as JavaScript's toISOString writes it. */
static void iso_time(char *out, size_t n, int64_t ms) {
  time_t secs = (time_t)(ms / 1000);
  struct tm tm;
  gmtime_r(&secs, &tm);
  char date[32];
  if (strftime(date, sizeof date, "%Y-%m-%dT%H:%M:%S", &tm) == 0) date[0] = 0;
  snprintf(out, n, "%s.%03dZ", date, (int)(ms % 1000));
}

/* ---- the rotated log (same layout and seqlock as rotating-log.ts) --------------------------- */

typedef struct {
  const char *dir;
  char *file;
  int fd;
  int64_t size, base, seq, max_bytes, keep;
} rlog;

static void rlog_index(rlog *l, int rotating) {
  l->seq += 1;
  sbuf b = {0};
  sb_printf(&b, "{\"seq\":%lld,\"base\":%lld,\"rotating\":%s}\n", (long long)l->seq, (long long)l->base, rotating ? "true" : "false");
  char *f = path_in(l->dir, "log.json");
  write_atomic(f, b.p, b.len);
  free(f);
  free(b.p);
}

static int rlog_open(rlog *l, const char *dir, int64_t max_bytes, int64_t keep) {
  memset(l, 0, sizeof *l);
  l->dir = dir;
  l->max_bytes = max_bytes;
  l->keep = keep;
  l->file = path_in(dir, "log");
  char *idxf = path_in(dir, "log.json");
  jval *idx = read_json(idxf);
  free(idxf);
  int rotating = 0;
  if (idx) {
    l->base = jint(jget(idx, "base"), 0);
    l->seq = jint(jget(idx, "seq"), 0);
    l->seq += l->seq % 2; /* a rotation cut short: move on to the next even seq */
    jval *r = jget(idx, "rotating");
    rotating = r && r->type == J_BOOL && r->boolean;
  }
  l->fd = open(l->file, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
  if (l->fd < 0) return -1;
  struct stat st;
  l->size = fstat(l->fd, &st) == 0 ? st.st_size : 0;
  if (rotating) rlog_index(l, 0);
  return 0;
}

static void rlog_rotate(rlog *l) {
  char from[PATH_MAX], to[PATH_MAX];
  rlog_index(l, 1);
  close(l->fd);
  for (int64_t i = (l->keep > 0 ? l->keep : 0) + 1;; i++) {
    snprintf(from, sizeof from, "%s/log.%lld", l->dir, (long long)i);
    if (access(from, F_OK) != 0) break;
    unlink(from);
  }
  if (l->keep > 0) {
    for (int64_t i = l->keep - 1; i >= 1; i--) {
      snprintf(from, sizeof from, "%s/log.%lld", l->dir, (long long)i);
      snprintf(to, sizeof to, "%s/log.%lld", l->dir, (long long)(i + 1));
      if (access(from, F_OK) == 0) rename(from, to);
    }
    snprintf(to, sizeof to, "%s/log.1", l->dir);
    rename(l->file, to);
  } else {
    unlink(l->file);
  }
  l->base += l->size;
  l->size = 0;
  l->fd = open(l->file, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
  rlog_index(l, 0);
}

static int rlog_write(rlog *l, const char *p, size_t n) {
  while (n > 0) {
    if (l->max_bytes > 0 && l->size >= l->max_bytes) rlog_rotate(l);
    if (l->fd < 0) return -1;
    size_t room = l->max_bytes > 0 ? (size_t)(l->max_bytes - l->size) : n;
    size_t k = n < room ? n : room;
    if (write_all(l->fd, p, k) != 0) return -1;
    p += k;
    n -= k;
    l->size += (int64_t)k;
  }
  return 0;
}

/* ---- the supervisor ------------------------------------------------------------------------- */

static const char *g_dir;
static const char *g_id; /* set when started by the launcher: report on REPORT_FD */
static int g_finished;
static int g_timed_out; /* exit.json says timedOut: the spec's deadlineMs passed */

static void report(const char *line) {
  if (!g_id) return;
  write_all(REPORT_FD, line, strlen(line));
  close(REPORT_FD);
  g_id = NULL;
}

static void write_exit(rlog *log, int failed_to_start, int code, int sig, const char *message) {
  if (g_finished) return;
  g_finished = 1;
  if (log && log->fd >= 0) close(log->fd);
  sbuf b = {0};
  sb_printf(&b, "{\"version\":%d,\"writer\":\"supervisor\",\"finishedMs\":%lld,\"failedToStart\":%s,\"code\":", RECORD_VERSION, (long long)now_ms(),
            failed_to_start ? "true" : "false");
  if (code >= 0) sb_printf(&b, "%d", code);
  else sb_puts(&b, "null");
  sb_puts(&b, ",\"signal\":");
  if (sig > 0) sb_json_str(&b, signal_name(sig));
  else sb_puts(&b, "null");
  sb_puts(&b, ",\"message\":");
  sb_json_str(&b, message);
  if (g_timed_out) sb_puts(&b, ",\"timedOut\":true");
  sb_puts(&b, "}\n");
  write_record(g_dir, "exit.json", &b);
  if (g_id) {
    char line[128];
    snprintf(line, sizeof line, "failed %s\n", g_id);
    report(line);
  }
}

static jval *read_stop(void) {
  char *f = path_in(g_dir, "stop.json");
  jval *v = read_json(f);
  free(f);
  return v;
}

static const char *stop_reason(const jval *stop) {
  const jval *r = jget(stop, "reason");
  return r && r->type == J_STR ? r->str : NULL;
}

/* The message Node's spawn error would have given (supervisor.ts describeSpawnError). */
static void spawn_error_message(sbuf *b, const char *cmd, int err) {
  const char *code;
  const char *why;
  switch (err) {
    case ENOENT: code = "ENOENT"; why = "no such file or directory"; break;
    case EACCES: code = "EACCES"; why = "permission denied"; break;
    case ENOEXEC: code = "ENOEXEC"; why = "exec format error"; break;
    case EPERM: code = "EPERM"; why = "operation not permitted"; break;
    case ENOTDIR: code = "ENOTDIR"; why = strerror(err); break;
    case E2BIG: code = "E2BIG"; why = strerror(err); break;
    default: code = "error"; why = strerror(err);
  }
  sb_puts(b, "cannot execute ");
  sb_json_str(b, cmd);
  if (err == EACCES && !strchr(cmd, '/')) sb_printf(b, ": not found on PATH, or not executable by the rank's user (%s)", code);
  else sb_printf(b, ": %s (%s)", why, code);
}

/* Strings of a JSON array of strings, NULL-terminated; NULL when v is not one. */
static char **string_array(const jval *v) {
  if (!v || v->type != J_ARR) return NULL;
  char **out = calloc(v->n + 1, sizeof *out);
  if (!out) _exit(1);
  for (size_t i = 0; i < v->n; i++) {
    if (v->items[i]->type != J_STR) return NULL;
    out[i] = v->items[i]->str;
  }
  return out;
}

/* "KEY=value" strings of a JSON object of strings, NULL-terminated. */
static char **env_array(const jval *v) {
  if (!v || v->type != J_OBJ) return NULL;
  char **out = calloc(v->n + 1, sizeof *out);
  if (!out) _exit(1);
  size_t k = 0;
  for (size_t i = 0; i < v->n; i++) {
    if (v->items[i]->type != J_STR) continue;
    sbuf b = {0};
    sb_puts(&b, v->keys[i]);
    sb_puts(&b, "=");
    sb_puts(&b, v->items[i]->str);
    out[k++] = b.p;
  }
  return out;
}

/* posix_spawn with setsid and chdir file actions: glibc 2.29 and later (Debian 11+, Ubuntu 20.04+). */
#if defined(__GLIBC__) && (__GLIBC__ > 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 29))
#define HAVE_SPAWN_CHDIR 1
#endif

#ifdef HAVE_SPAWN_CHDIR
/*
 * cmd on the rank's PATH (its environment's, as Node's spawn and execvp with the rank's environ
 * would search it; /usr/bin:/bin without one): 0 with the path in out, or the errno execvp would
 * have given (EACCES when a candidate exists but cannot be executed, else ENOENT).
 */
static int find_on_path(const char *cmd, char *const *envp, char *out, size_t outlen) {
  if (strchr(cmd, '/')) {
    if (strlen(cmd) >= outlen) return ENAMETOOLONG;
    strcpy(out, cmd);
    return 0;
  }
  const char *search = "/usr/bin:/bin";
  for (char *const *e = envp; *e; e++)
    if (strncmp(*e, "PATH=", 5) == 0) {
      search = *e + 5;
      break;
    }
  int seen_eacces = 0;
  for (const char *p = search;;) {
    const char *q = strchr(p, ':');
    int n = q ? (int)(q - p) : (int)strlen(p);
    int k = n ? snprintf(out, outlen, "%.*s/%s", n, p, cmd) : snprintf(out, outlen, "%s", cmd);
    if (k > 0 && (size_t)k < outlen) {
      struct stat st;
      if (stat(out, &st) == 0) {
        if (S_ISREG(st.st_mode) && access(out, X_OK) == 0) return 0;
        seen_eacces = 1;
      } else if (errno == EACCES) {
        seen_eacces = 1;
      }
    }
    if (!q) break;
    p = q + 1;
  }
  return seen_eacces ? EACCES : ENOENT;
}

/*
 * Starts the rank with posix_spawn (a vfork-style clone: no copy of our page tables, which in a
 * virtual machine cost about as much as the rest of a start): its own session, stdin /dev/null,
 * stdout and stderr to the pipes, the workdir, default signal dispositions and an empty mask.
 * 0 and *pid, or the errno the exec (or the chdir) failed with.
 */
static int spawn_rank(pid_t *pid, char **argv, char **envp, const char *workdir, int out_fd, int err_fd) {
  char exe[PATH_MAX];
  int e = find_on_path(argv[0], envp, exe, sizeof exe);
  if (e) return e;
  posix_spawn_file_actions_t fa;
  posix_spawnattr_t at;
  sigset_t all, none;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_adddup2(&fa, out_fd, 1);
  posix_spawn_file_actions_adddup2(&fa, err_fd, 2);
  posix_spawn_file_actions_addchdir_np(&fa, workdir);
  posix_spawnattr_init(&at);
  sigfillset(&all);
  sigemptyset(&none);
  posix_spawnattr_setsigdefault(&at, &all);
  posix_spawnattr_setsigmask(&at, &none);
  posix_spawnattr_setflags(&at, POSIX_SPAWN_SETSID | POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK);
  e = posix_spawn(pid, exe, &fa, &at, argv, envp);
  posix_spawn_file_actions_destroy(&fa);
  posix_spawnattr_destroy(&at);
  return e;
}
#endif

/*
 * Forks the rank: into each of its cgroups first (cg_procs: the rank dirs' cgroup.procs, so nothing
 * it starts is ever outside them), its own session, the spec's identity (groups dropped), the pipes,
 * the workdir, default signals and an empty mask, then execvp with the rank's environ (so its PATH
 * is searched, as Node's spawn does). 0 and *pid; the errno of a failed set-up or exec (*cg_failed:
 * the index in cg_procs whose write failed, else -1); -errno if fork failed.
 */
static int fork_rank(pid_t *pid, char **argv, char **envp, const char *workdir, int64_t uid, int64_t gid, int switch_user, int out_fd, int err_fd,
                     char **cg_procs, int *cg_failed) {
  *cg_failed = -1;
  int ex[2];
  if (pipe2(ex, O_CLOEXEC) != 0) return -errno;
  pid_t child = fork();
  if (child < 0) {
    int e = errno;
    close(ex[0]);
    close(ex[1]);
    return -e;
  }
  if (child == 0) {
    int e = 0, which = -1;
    for (int i = 0; cg_procs && cg_procs[i]; i++) {
      e = cg_write(cg_procs[i], "0");
      if (e) {
        which = i;
        break;
      }
    }
    setsid();
    int devnull = e ? -1 : open("/dev/null", O_RDONLY);
    if (e) {
      /* the cgroup's failure is reported as is */
    } else if (devnull < 0 || dup2(devnull, 0) < 0 || dup2(out_fd, 1) < 0 || dup2(err_fd, 2) < 0) e = errno;
    if (!e && switch_user) {
      if (setgroups(0, NULL) != 0 && errno != EPERM) e = errno;
      if (!e && gid >= 0 && setgid((gid_t)gid) != 0) e = errno;
      if (!e && uid >= 0 && setuid((uid_t)uid) != 0) e = errno;
    }
    if (!e && chdir(workdir) != 0) e = errno;
    if (!e) {
      for (int sig = 1; sig < NSIG; sig++) signal(sig, SIG_DFL);
      sigset_t none;
      sigemptyset(&none);
      sigprocmask(SIG_SETMASK, &none, NULL);
      environ = envp;
      execvp(argv[0], argv);
      e = errno;
    }
    int msg[2] = {e, which};
    ssize_t w = write(ex[1], msg, sizeof msg);
    (void)w;
    _exit(127);
  }
  close(ex[1]);
  int msg[2] = {0, -1};
  ssize_t got;
  do got = read(ex[0], msg, sizeof msg);
  while (got < 0 && errno == EINTR);
  close(ex[0]);
  if (got == (ssize_t)sizeof msg) {
    waitpid(child, NULL, 0);
    *cg_failed = msg[1];
    return msg[0];
  }
  *pid = child;
  return 0;
}

/*
 * Starts the rank: posix_spawn for the supervisor's own user without cgroups (the common case),
 * else a fork (its child joins the rank's cgroups before it execs; posix_spawn has no such step).
 */
static int start_rank(pid_t *pid, char **argv, char **envp, const char *workdir, int64_t uid, int64_t gid, int out_fd, int err_fd, char **cg_procs,
                      int *cg_failed) {
  int switch_user = (uid >= 0 && (uid_t)uid != getuid()) || (gid >= 0 && (gid_t)gid != getgid());
  *cg_failed = -1;
#ifdef HAVE_SPAWN_CHDIR
  if (!switch_user && !(cg_procs && cg_procs[0])) return spawn_rank(pid, argv, envp, workdir, out_fd, err_fd);
#endif
  return fork_rank(pid, argv, envp, workdir, uid, gid, switch_user, out_fd, err_fd, cg_procs, cg_failed);
}

/* The rank as spec.json describes it. */
typedef struct {
  char **argv;
  char **envp;
  const char *workdir;
  int64_t uid, gid; /* -1: the supervisor's own */
  int64_t grace_ms;
  int64_t log_max, log_keep;
  int contained;     /* spec.json has `cgroup` */
  char **cg_super;   /* the supervisor's cgroup dirs, NULL-terminated */
  char **cg_rank;    /* the rank's cgroup dirs */
  char **rank_procs; /* <rank dir>/cgroup.procs for each */
  const char *cg_kill; /* <v2 rank dir>/cgroup.kill, or NULL */
  const char *dev_dir; /* the v2 rank dir that gets the device program (cgroup.devices.dir), or NULL */
  char **dev_rules;    /* its rules, c:195:0:rw style, NULL-terminated */
  int64_t deadline_ms; /* unix ms; 0: no time limit */
} rank_spec;

/* A rank being supervised: its process group, its output pipes and where its exit stands. */
typedef struct {
  pid_t child, pgid;
  int fds[2]; /* stdout, stderr; -1 once at end of file */
  int open_streams;
  int stopping, exited, code, sig;
  int64_t grace_ms, kill_at, drain_deadline, last_checkpoint;
  int64_t cg_killed_at; /* mono ms of the rank cgroups' kill; 0: not yet */
  int cg_gave_up;       /* they did not empty within CGROUP_EMPTY_CAP_MS of it */
  const rank_spec *spec;
  char *ckpt_file;
  rlog *log;
} rank_run;

/*
 * Step 1: the task's spec.json, parsed. NULL, with *rc the supervisor's exit status, when there is
 * nothing to run: no valid spec (exit.json says so, unless the rank already started), or a task
 * that already started or finished (never run a rank twice).
 */
static jval *load_spec(const char *dir, int *rc) {
  int has_spec = 0, has_started = 0;
  DIR *d = opendir(dir);
  if (d) {
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
      if (strcmp(de->d_name, "spec.json") == 0) has_spec = 1;
      else if (strcmp(de->d_name, "exit.json") == 0 || strcmp(de->d_name, "status.json") == 0) has_started = 1;
    }
    closedir(d);
  }
  char *spec_file = path_in(dir, "spec.json");
  jval *spec = has_spec ? read_json(spec_file) : NULL;
  if (!spec || spec->type != J_OBJ) {
    diag(has_spec ? "%s in %s is not a valid record\n" : "no %s in %s\n", "spec.json", dir);
    if (has_spec && !has_started) write_exit(NULL, 1, -1, 0, "the task's spec.json is not a valid record");
    *rc = 2;
    return NULL;
  }
  if (has_started) {
    diag("%s already started; not running it again\n", dir);
    *rc = 0;
    return NULL;
  }
  return spec;
}

/* Step 2: the launch record names this supervisor before the rank runs (the runner writes it for a Node one). */
static void write_launch_record(const char *dir) {
  sbuf b = {0};
  sb_printf(&b, "{\"version\":%d,\"supervisorPid\":%d,\"launchedMs\":%lld,\"native\":true}\n", RECORD_VERSION, (int)getpid(), (long long)now_ms());
  write_record(dir, "launch.json", &b);
}

/* Step 3: the rank's command, environment, workdir, identity, grace and log limits; -1 without a command or environment. */
static int parse_rank_spec(const jval *spec, rank_spec *r) {
  r->argv = string_array(jget(spec, "command"));
  r->envp = env_array(jget(spec, "env"));
  const jval *wd = jget(spec, "workdir");
  r->workdir = wd && wd->type == J_STR && wd->str[0] ? wd->str : "/";
  const jval *user = jget(spec, "user");
  r->uid = -1;
  r->gid = -1;
  if (user && user->type == J_OBJ) {
    r->uid = jint(jget(user, "uid"), -1);
    r->gid = jint(jget(user, "gid"), -1);
  }
  r->grace_ms = 30000;
  const jval *grace = jget(spec, "graceSeconds");
  if (grace && grace->type == J_NUM) r->grace_ms = (int64_t)(grace->num * 1000);
  r->log_max = jint(jget(spec, "logMaxBytes"), 0);
  r->log_keep = jint(jget(spec, "logKeep"), 0);
  r->deadline_ms = jint(jget(spec, "deadlineMs"), 0);
  if (r->deadline_ms < 0) r->deadline_ms = 0;
  r->contained = 0;
  r->cg_super = r->cg_rank = r->rank_procs = NULL;
  r->cg_kill = NULL;
  r->dev_dir = NULL;
  r->dev_rules = NULL;
  const jval *cg = jget(spec, "cgroup");
  if (cg && cg->type != J_NULL) {
    /* Containment was asked for: a record we cannot read must never let the rank run uncontained. */
    r->contained = 1;
    const jval *kf = jget(cg, "killFile");
    r->cg_super = string_array(jget(cg, "supervisor"));
    r->cg_rank = string_array(jget(cg, "rank"));
    if (cg->type != J_OBJ || !r->cg_super || !r->cg_rank || !r->cg_rank[0] || (kf && kf->type != J_NULL && kf->type != J_STR)) return -2;
    r->cg_kill = kf && kf->type == J_STR ? kf->str : NULL;
    r->rank_procs = procs_files(r->cg_rank);
    /* The device program to attach to the rank leaf before the rank starts (absent: none asked). */
    const jval *dev = jget(cg, "devices");
    if (dev && dev->type != J_NULL) {
      const jval *dd = jget(dev, "dir");
      r->dev_rules = string_array(jget(dev, "rules"));
      if (dev->type != J_OBJ || !dd || dd->type != J_STR || !r->dev_rules) return -2;
      r->dev_dir = dd->str;
    }
  }
  return !r->argv || !r->argv[0] || !r->envp ? -1 : 0;
}

/* Step 3b: the supervisor moves itself into each of its cgroup dirs; 0, or 1 with the failure recorded (failed-to-start). */
static int join_supervisor_cgroups(const rank_spec *s) {
  for (int i = 0; s->cg_super && s->cg_super[i]; i++) {
    char *f = path_in(s->cg_super[i], "cgroup.procs");
    int e = cg_write(f, "0");
    if (e) {
      sbuf m = {0};
      sb_printf(&m, "cannot move the supervisor into its cgroup: write %s: %s (%s)", f, strerror(e), errno_name(e));
      write_exit(NULL, 1, -1, 0, m.p);
      free(f);
      return 1;
    }
    free(f);
  }
  return 0;
}

/* gantry-devices.c, linked in (built with GANTRY_DEVICES_NO_MAIN): 0 attached, 2 a bad rule, 1 the kernel refused. */
int gantry_devices_attach(const char *dir, char *const *rule_texts, int n, char *err, size_t errlen);

/*
 * Step 3c: the rank leaf's device program, attached here rather than by the agent (a fork and exec
 * of gantry-devices per rank from a large Node process cost the agent more than the rest of the
 * rank's containment); 0, or 1 with the failure recorded (failed-to-start: a rank never runs with
 * every device open when its devices were to be limited).
 */
static int attach_devices(const rank_spec *s) {
  if (!s->dev_dir) return 0;
  int n = 0;
  while (s->dev_rules[n]) n++;
  static char err[4096];
  int rc = gantry_devices_attach(s->dev_dir, s->dev_rules, n, err, sizeof err);
  if (rc == 0) return 0;
  sbuf m = {0};
  sb_printf(&m, "cannot limit the rank's devices: %s", err);
  write_exit(NULL, 1, -1, 0, m.p);
  return 1;
}

/* Step 5b: a deadline already past: the rank never runs; exit.json says it timed out. 1 when so (recorded). */
static int past_deadline(const rank_spec *s) {
  if (s->deadline_ms <= 0 || now_ms() < s->deadline_ms) return 0;
  char iso[48];
  iso_time(iso, sizeof iso, s->deadline_ms);
  sbuf m = {0};
  sb_printf(&m, "timed out: the job's time limit was reached at %s, before the rank started", iso);
  g_timed_out = 1;
  write_exit(NULL, 0, -1, 0, m.p);
  return 1;
}

/* Step 4: signals arrive on a signalfd, read in the loop; the rank gets them unblocked. The fd, or -1. */
static int block_signals(void) {
  sigset_t mask, old;
  sigemptyset(&mask);
  sigaddset(&mask, SIGTERM);
  sigaddset(&mask, SIGINT);
  sigaddset(&mask, SIGHUP);
  sigaddset(&mask, SIGCHLD);
  sigprocmask(SIG_BLOCK, &mask, &old);
  return signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
}

/* Step 5: a stop requested before we got here: the rank never starts. 1 when there was one (recorded). */
static int stopped_before_start(void) {
  jval *pre = read_stop();
  if (!pre) return 0;
  sbuf m = {0};
  sb_puts(&m, "stopped before the rank started: ");
  sb_puts(&m, stop_reason(pre) ? stop_reason(pre) : "");
  write_exit(NULL, 0, -1, 0, m.p);
  return 1;
}

/*
 * Step 6: starts the rank with its output on pipes, then records (status.json) and reports that it
 * runs. 0 when it runs; else what the supervisor exits with, the failure recorded in exit.json.
 */
static int start_and_record(const char *dir, const rank_spec *s, rank_run *run) {
  int out[2], err[2];
  if (pipe2(out, O_CLOEXEC) != 0 || pipe2(err, O_CLOEXEC) != 0) {
    write_exit(run->log, 1, -1, 0, "supervisor error: pipe failed");
    return 1;
  }
  pid_t child = -1;
  int cg_failed = -1;
  int e = start_rank(&child, s->argv, s->envp, s->workdir, s->uid, s->gid, out[1], err[1], s->rank_procs, &cg_failed);
  close(out[1]);
  close(err[1]);
  if (e < 0) {
    sbuf m = {0};
    sb_printf(&m, "supervisor error: fork failed: %s", strerror(-e));
    write_exit(run->log, 1, -1, 0, m.p);
    return 1;
  }
  if (e > 0 && cg_failed >= 0) {
    sbuf m = {0};
    sb_printf(&m, "cannot move the rank into its cgroup: write %s: %s (%s)", s->rank_procs[cg_failed], strerror(e), errno_name(e));
    write_exit(run->log, 1, -1, 0, m.p);
    return -1;
  }
  if (e > 0) {
    sbuf m = {0};
    spawn_error_message(&m, s->argv[0], e);
    write_exit(run->log, 1, -1, 0, m.p);
    return -1; /* the rank could not run; the supervisor did its job: exit 0 */
  }
  run->child = child;
  run->pgid = child;
  run->fds[0] = out[0];
  run->fds[1] = err[0];
  run->open_streams = 2;
  int64_t started = now_ms();
  sbuf b = {0};
  sb_printf(&b, "{\"version\":%d,\"supervisorPid\":%d,\"pid\":%d,\"pgid\":%d,\"startedMs\":%lld}\n", RECORD_VERSION, (int)getpid(), (int)child, (int)child,
            (long long)started);
  write_record(dir, "status.json", &b);
  if (g_id) {
    char line[160];
    snprintf(line, sizeof line, "started %s %d %d %d %lld\n", g_id, (int)getpid(), (int)child, (int)child, (long long)started);
    report(line);
  }
  return 0;
}

/* In the loop: one read of a stream that is ready, into the log (and checkpoint.json for a marker line). */
static void pump_stream(rank_run *run, int i) {
  static char buf[65536];
  ssize_t n = read(run->fds[i], buf, sizeof buf);
  if (n < 0 && (errno == EINTR || errno == EAGAIN)) return;
  if (n <= 0) {
    close(run->fds[i]);
    run->fds[i] = -1;
    run->open_streams--;
    return;
  }
  /* A rank says it saved a checkpoint with a stdout line containing GANTRY_CHECKPOINT. */
  if (memmem(buf, (size_t)n, CHECKPOINT_MARKER, sizeof CHECKPOINT_MARKER - 1)) {
    int64_t ms = now_ms();
    if (ms - run->last_checkpoint >= 1000) {
      run->last_checkpoint = ms;
      char rec[96];
      int len = snprintf(rec, sizeof rec, "{\"version\":%d,\"ms\":%lld}\n", RECORD_VERSION, (long long)ms);
      write_atomic(run->ckpt_file, rec, (size_t)len);
    }
  }
  /* Disk full or similar: keep draining so the rank never blocks on a full pipe. */
  if (rlog_write(run->log, buf, (size_t)n) != 0) diag("log write failed: %s\n", strerror(errno));
}

/* A stop: SIGTERM to the group (and to every process in the rank's cgroups, whatever its session), SIGKILL after the grace. */
static void begin_stop(rank_run *run) {
  run->stopping = 1;
  signal_group(run->pgid, SIGTERM);
  cg_each_pid(run->spec->rank_procs, kill_pid, SIGTERM);
  run->kill_at = mono_ms() + (run->grace_ms > 0 ? run->grace_ms : 0);
  if (run->kill_at == 0) run->kill_at = 1;
}

/* SIGKILL to the group and everything in the rank's cgroups (cgroup.kill), once. */
static void kill_everything(rank_run *run) {
  signal_group(run->pgid, SIGKILL);
  if (run->spec->contained && !run->cg_killed_at) {
    cg_kill_all(run->spec->cg_kill, run->spec->rank_procs);
    run->cg_killed_at = mono_ms();
  }
}

/* In the loop: the signals that arrived. SIGTERM or SIGINT starts a stop, with stop.json's grace when it has one. */
static void on_signals(rank_run *run, int sfd) {
  struct signalfd_siginfo si;
  while (read(sfd, &si, sizeof si) == (ssize_t)sizeof si) {
    int s = (int)si.ssi_signo;
    if ((s == SIGTERM || s == SIGINT) && !run->stopping) {
      jval *stop = read_stop();
      const jval *g = jget(stop, "graceSeconds");
      if (g && g->type == J_NUM) run->grace_ms = (int64_t)(g->num * 1000);
      begin_stop(run);
    }
  }
}

/* In the loop: the job's time limit reached: a stop with the spec's grace, recorded as timed out. */
static void check_deadline(rank_run *run) {
  if (run->stopping || run->exited || run->spec->deadline_ms <= 0 || now_ms() < run->spec->deadline_ms) return;
  g_timed_out = 1;
  begin_stop(run);
}

/* In the loop: whether the rank's main process exited (reaped, its status kept). */
static void reap_rank(rank_run *run) {
  if (run->exited) return;
  int st;
  pid_t w = waitpid(run->child, &st, WNOHANG);
  if (w != run->child) return;
  run->exited = 1;
  if (WIFSIGNALED(st)) run->sig = WTERMSIG(st);
  else run->code = WEXITSTATUS(st);
  /* Leftovers of a rank that exited by itself die now; during a stop they get the rest of the grace. */
  if (!run->stopping) kill_everything(run);
}

/* Whether the rank's cgroups still hold a process (bounded: given up CGROUP_EMPTY_CAP_MS after their kill). */
static int cgroup_busy(rank_run *run) {
  if (!run->spec->contained || run->cg_gave_up || cg_each_pid(run->spec->rank_procs, NULL, 0) == 0) return 0;
  if (run->cg_killed_at && mono_ms() - run->cg_killed_at > CGROUP_EMPTY_CAP_MS) {
    diag("the rank's cgroups still hold processes %d ms after their kill; recording the exit anyway\n", CGROUP_EMPTY_CAP_MS);
    run->cg_gave_up = 1;
    return 0;
  }
  return 1;
}

/* In the loop: done once the rank exited, its group and cgroups are empty and its output drained (or the drain's cap passed). */
static int rank_done(rank_run *run) {
  if (!run->exited) return 0;
  int alive = group_alive(run->pgid) || cgroup_busy(run);
  if (!alive && run->drain_deadline == 0) run->drain_deadline = mono_ms() + DRAIN_CAP_MS;
  return !(alive || (run->open_streams > 0 && mono_ms() < run->drain_deadline));
}

/* Step 7: streams the rank's output into its log and answers signals until the rank is done. */
static void watch_rank(rank_run *run, int sfd) {
  for (;;) {
    struct pollfd p[3];
    int np = 0;
    p[np++] = (struct pollfd){.fd = sfd, .events = POLLIN};
    int idx[2] = {-1, -1};
    for (int i = 0; i < 2; i++)
      if (run->fds[i] >= 0) {
        idx[i] = np;
        p[np++] = (struct pollfd){.fd = run->fds[i], .events = POLLIN};
      }
    int timeout = -1;
    int64_t now = mono_ms();
    if (run->kill_at) timeout = (int)(run->kill_at > now ? run->kill_at - now : 0);
    if (run->spec->deadline_ms > 0 && !run->stopping) {
      int64_t left = run->spec->deadline_ms - now_ms();
      if (left < 0) left = 0;
      if (left > 60000) left = 60000; /* the wall clock may be stepped: look again at least every minute */
      if (timeout < 0 || left < timeout) timeout = (int)left;
    }
    if (run->exited && (timeout < 0 || timeout > SETTLE_POLL_MS)) timeout = SETTLE_POLL_MS;
    int r = poll(p, (nfds_t)np, timeout);
    if (r < 0 && errno != EINTR) break;
    now = mono_ms();
    if (run->kill_at && now >= run->kill_at) {
      kill_everything(run);
      run->kill_at = 0;
    }
    check_deadline(run);
    for (int i = 0; i < 2; i++) {
      if (idx[i] < 0 || !(p[idx[i]].revents & (POLLIN | POLLHUP | POLLERR))) continue;
      pump_stream(run, i);
    }
    if (p[0].revents & POLLIN) on_signals(run, sfd);
    reap_rank(run);
    if (rank_done(run)) break;
  }
}

/* Step 8: exit.json: how the rank ended, and why when it was stopped. */
static void record_exit(rank_run *run) {
  sbuf how = {0}, m = {0};
  if (run->sig) sb_printf(&how, "killed by %s", signal_name(run->sig));
  else sb_printf(&how, "exited with code %d", run->code);
  if (g_timed_out) {
    char iso[48];
    iso_time(iso, sizeof iso, run->spec->deadline_ms);
    sb_printf(&m, "timed out: the job's time limit was reached at %s; %s", iso, how.p);
  } else if (run->stopping) {
    jval *stop = read_stop();
    const char *reason = stop_reason(stop);
    sb_printf(&m, "stopped (%s); %s", reason ? reason : "SIGTERM to the supervisor", how.p);
  } else {
    sb_puts(&m, how.p);
  }
  write_exit(run->log, 0, run->sig ? -1 : run->code, run->sig, m.p);
}

/* Supervises the task in dir, step by step (see docs/runner.md); the supervisor's exit status. */
static int supervise(const char *dir) {
  g_dir = dir;
  if (chdir("/") != 0) diag("chdir /: %s\n", strerror(errno));
  signal(SIGPIPE, SIG_IGN); /* a gone launcher pipe must not kill us; the rank gets the default back */

  int rc = 0;
  jval *spec = load_spec(dir, &rc);
  if (!spec) return rc;
  write_launch_record(dir);
  rank_spec s;
  int parsed = parse_rank_spec(spec, &s);
  if (parsed == -2) {
    write_exit(NULL, 1, -1, 0, "the task's spec.json has a cgroup record that is not {supervisor: [dirs], rank: [dirs], killFile, devices?: {dir, rules: [rules]}}");
    return 2;
  }
  if (parsed != 0) {
    write_exit(NULL, 1, -1, 0, "the task's spec.json has no command or environment");
    return 2;
  }
  if (join_supervisor_cgroups(&s) != 0) return 0;
  if (attach_devices(&s) != 0) return 0;
  int sfd = block_signals();
  if (sfd < 0) {
    write_exit(NULL, 1, -1, 0, "supervisor error: signalfd failed");
    return 1;
  }
  if (stopped_before_start()) return 0;
  if (past_deadline(&s)) return 0;

  rlog log;
  if (rlog_open(&log, dir, s.log_max, s.log_keep) != 0) {
    sbuf m = {0};
    sb_printf(&m, "supervisor error: cannot open the rank's log: %s", strerror(errno));
    write_exit(NULL, 1, -1, 0, m.p);
    return 1;
  }
  rank_run run = {.child = -1, .pgid = -1, .fds = {-1, -1}, .code = -1, .grace_ms = s.grace_ms, .ckpt_file = path_in(dir, "checkpoint.json"), .log = &log, .spec = &s};
  int started = start_and_record(dir, &s, &run);
  if (started != 0) return started > 0 ? started : 0;
  watch_rank(&run, sfd);
  record_exit(&run);
  return 0;
}

/* ---- the launcher --------------------------------------------------------------------------- */

/* dir is <tasksRoot>/<jobId>/<rank>/<epoch>, absolute, without "." or ".." parts. */
static int under_root(const char *root, const char *dir) {
  size_t rl = strlen(root);
  if (dir[0] != '/' || strncmp(dir, root, rl) != 0 || dir[rl] != '/') return 0;
  int parts = 0;
  for (const char *p = dir + rl; *p;) {
    p++;
    const char *q = strchr(p, '/');
    size_t n = q ? (size_t)(q - p) : strlen(p);
    if (n == 0 || (n == 1 && p[0] == '.') || (n == 2 && p[0] == '.' && p[1] == '.')) return 0;
    parts++;
    p += n;
  }
  return parts == 3;
}

/*
 * The launcher's argv area (contiguous strings, padded by the runner): a supervisor forked from
 * the launcher writes its own command line there, "<self>\0<taskDir>\0<id>", so that
 * /proc/<pid>/cmdline names its task directory as an exec'd one's would, without the exec.
 */
static char *g_title;
static size_t g_title_room;

static int retitle(const char *a, const char *b, const char *c) {
  size_t la = strlen(a) + 1, lb = strlen(b) + 1, lc = strlen(c) + 1;
  if (!g_title || la + lb + lc > g_title_room) return 0;
  memset(g_title, 0, g_title_room);
  memcpy(g_title, a, la);
  memcpy(g_title + la, b, lb);
  memcpy(g_title + la + lb, c, lc);
  return 1;
}

static int launcher(const char *self, const char *root) {
  signal(SIGPIPE, SIG_IGN);
  sigset_t mask;
  sigemptyset(&mask);
  sigaddset(&mask, SIGCHLD);
  sigprocmask(SIG_BLOCK, &mask, NULL);
  int sfd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
  if (sfd < 0) {
    diag("gantry-supervisor --launcher: signalfd failed: %s\n", strerror(errno));
    return 1;
  }
  char in[65536];
  size_t have = 0;
  int eof = 0;
  while (!eof) {
    struct pollfd p[2] = {{.fd = 0, .events = POLLIN}, {.fd = sfd, .events = POLLIN}};
    if (poll(p, 2, -1) < 0) {
      if (errno == EINTR) continue;
      break;
    }
    if (p[1].revents & POLLIN) {
      struct signalfd_siginfo si;
      while (read(sfd, &si, sizeof si) == (ssize_t)sizeof si) {
      }
      int st;
      pid_t w;
      while ((w = waitpid(-1, &st, WNOHANG)) > 0) {
        char line[48];
        int n = snprintf(line, sizeof line, "exit %d\n", (int)w);
        write_all(1, line, (size_t)n);
      }
    }
    if (!(p[0].revents & (POLLIN | POLLHUP | POLLERR))) continue;
    ssize_t n = read(0, in + have, sizeof in - have - 1);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      eof = 1;
      break;
    }
    have += (size_t)n;
    in[have] = 0;
    char *line = in, *nl;
    while ((nl = memchr(line, '\n', have - (size_t)(line - in))) != NULL) {
      *nl = 0;
      char *sp = strchr(line, ' ');
      if (sp) {
        *sp = 0;
        const char *id = line, *dir = sp + 1;
        if (!under_root(root, dir) || strlen(id) > 32) {
          char out[96];
          int k = snprintf(out, sizeof out, "refused %s\n", id);
          write_all(1, out, (size_t)k);
        } else {
          pid_t pid = fork();
          if (pid == 0) {
            /* The supervisor: its own session, the report pipe on fd 3. */
            setsid();
            dup2(1, REPORT_FD); /* first: fd 3 may be the launcher's signalfd, which this replaces */
            if (sfd != REPORT_FD) close(sfd);
            int nul = open("/dev/null", O_RDWR);
            if (nul >= 0 && nul != 0) {
              dup2(nul, 0);
              close(nul);
            }
            if (retitle(self, dir, id)) {
              /* Supervise here, in the forked launcher (an exec would cost more than the rest of
                 the start): stdout and stderr to /dev/null, diagnostics to supervisor.log when
                 there are any. */
              dup2(0, 1);
              dup2(0, 2);
              fcntl(REPORT_FD, F_SETFD, FD_CLOEXEC);
              g_id = id;
              g_diag_file = path_in(dir, "supervisor.log");
              _exit(supervise(dir));
            }
            /* No room for the title: exec'd afresh, stdout and stderr to supervisor.log. */
            char *logf = path_in(dir, "supervisor.log");
            int fd = open(logf, O_WRONLY | O_APPEND | O_CREAT, 0640);
            if (fd >= 0) {
              dup2(fd, 1);
              dup2(fd, 2);
              if (fd > 2) close(fd);
            }
            sigset_t none;
            sigemptyset(&none);
            sigprocmask(SIG_SETMASK, &none, NULL);
            signal(SIGPIPE, SIG_DFL);
            /* Exec'd afresh so /proc/<pid>/cmdline names the task directory, as the runner expects. */
            char *args[] = {(char *)self, (char *)dir, (char *)id, NULL};
            execv(self, args);
            diag("gantry-supervisor --launcher: exec %s: %s\n", self, strerror(errno));
            char out[96];
            int k = snprintf(out, sizeof out, "failed %s\n", id);
            write_all(REPORT_FD, out, (size_t)k);
            _exit(127);
          }
          char out[96];
          int k = pid > 0 ? snprintf(out, sizeof out, "spawned %s %d\n", id, (int)pid) : snprintf(out, sizeof out, "refused %s\n", id);
          write_all(1, out, (size_t)k);
        }
      }
      line = nl + 1;
    }
    have -= (size_t)(line - in);
    memmove(in, line, have);
    if (have >= sizeof in - 1) have = 0; /* an absurd line: drop it */
  }
  return 0;
}

int main(int argc, char **argv) {
  if (argc >= 3 && strcmp(argv[1], "--launcher") == 0) {
    if (argv[2][0] != '/') {
      diag("usage: gantry-supervisor --launcher <absolute tasks root>\n");
      return 2;
    }
    char self[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
    if (n <= 0) {
      diag("gantry-supervisor --launcher: cannot read /proc/self/exe\n");
      return 1;
    }
    self[n] = 0;
    /* The argv strings lie one after another; their span is the room for a supervisor's title. */
    size_t room = 0;
    for (int i = 0; i < argc; i++) {
      if (argv[i] != argv[0] + room) {
        room = 0;
        break;
      }
      room += strlen(argv[i]) + 1;
    }
    g_title = room ? argv[0] : NULL;
    g_title_room = room;
    return launcher(self, argv[2]);
  }
  if (argc < 2 || argv[1][0] != '/') {
    diag("usage: gantry-supervisor <absolute task dir> [<id>]\n");
    return 2;
  }
  if (argc >= 3) {
    /* Started by the launcher: fd 3 is its report pipe. */
    if (fcntl(REPORT_FD, F_GETFD) >= 0) {
      fcntl(REPORT_FD, F_SETFD, FD_CLOEXEC);
      g_id = argv[2];
    }
  }
  return supervise(argv[1]);
}
