/*
 * gantry-devices: attaches a cgroup v2 device program (BPF_PROG_TYPE_CGROUP_DEVICE) to a cgroup.
 *
 *   gantry-devices attach <cgroupDir> <rule>...
 *
 * A rule is <type>:<major>:<minor>:<access>: type c (char) or b (block), major and minor decimal
 * numbers or '*' (any), access a non-empty subset of "rwm" (read, write, mknod), e.g. c:195:0:rw,
 * c:136:*:rwm. The program allows an access when some rule has its type, its major (or *), its
 * minor (or *), and the access asked for is a subset of the rule's; everything else is denied.
 * No rules: everything is denied.
 *
 * The program is loaded with bpf(BPF_PROG_LOAD) and attached with bpf(BPF_PROG_ATTACH,
 * BPF_CGROUP_DEVICE, BPF_F_ALLOW_MULTI); then the device programs this helper attached to that
 * cgroup before (named gantry_devices) are detached, so attaching again replaces the rules instead
 * of stacking them; anyone else's program there stays. Device programs of ancestor cgroups still apply as well (the kernel runs
 * them all; every one must allow). The program stays attached after this helper exits (the cgroup
 * holds it) and goes with the cgroup.
 *
 * Exit codes: 0 attached; 2 bad arguments (the message names the bad one); 1 the kernel refused
 * (errno text, and the verifier log when the load failed).
 *
 * Raw syscalls and <linux/bpf.h> only (no libbpf). The instruction pattern follows what runc and
 * crun generate (one block per rule that jumps to the next rule on a mismatch), written anew.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/bpf.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#define MAX_RULES 1024
#define MAX_OLD_PROGS 64
#define LOG_BYTES (1u << 20)
/* The programs' name (at most 15 characters): how a re-attach knows its own predecessors. */
#ifndef PROG_NAME
#define PROG_NAME "gantry_devices"
#endif

struct rule {
  uint32_t type;   /* BPF_DEVCG_DEV_CHAR or BPF_DEVCG_DEV_BLOCK */
  int64_t major;   /* -1: any */
  int64_t minor;   /* -1: any */
  uint32_t access; /* BPF_DEVCG_ACC_* bits */
};

static long sys_bpf(int cmd, union bpf_attr *attr) {
  return syscall(__NR_bpf, cmd, attr, sizeof(*attr));
}

#ifndef GANTRY_DEVICES_NO_MAIN
static int usage(const char *why) {
  fprintf(stderr, "gantry-devices: %s\nusage: gantry-devices attach <cgroupDir> <type>:<major>:<minor>:<access>...\n"
                  "  type c|b; major, minor: number or *; access: subset of rwm (e.g. c:195:0:rw, c:136:*:rwm)\n",
          why);
  return 2;
}
#endif

/* A decimal number from 0 to 2^32-1, or '*' (-1); -2 when neither. */
static int64_t parse_num(const char *s, size_t n) {
  if (n == 1 && s[0] == '*') return -1;
  if (n == 0 || n > 10) return -2;
  int64_t v = 0;
  for (size_t i = 0; i < n; i++) {
    if (s[i] < '0' || s[i] > '9') return -2;
    v = v * 10 + (s[i] - '0');
  }
  return v > 0xFFFFFFFFll ? -2 : v;
}

/* Parses one rule; NULL on success, else why it is bad. */
static const char *parse_rule(const char *text, struct rule *out) {
  const char *p[4];
  size_t len[4];
  const char *cur = text;
  for (int i = 0; i < 4; i++) {
    const char *colon = strchr(cur, ':');
    if (i < 3 && colon == NULL) return "expected 4 fields <type>:<major>:<minor>:<access>";
    if (i == 3 && colon != NULL) return "more than 4 fields";
    p[i] = cur;
    len[i] = i < 3 ? (size_t)(colon - cur) : strlen(cur);
    cur = colon ? colon + 1 : cur + len[i];
  }
  if (len[0] == 1 && p[0][0] == 'c') out->type = BPF_DEVCG_DEV_CHAR;
  else if (len[0] == 1 && p[0][0] == 'b') out->type = BPF_DEVCG_DEV_BLOCK;
  else return "type must be c or b";
  out->major = parse_num(p[1], len[1]);
  if (out->major == -2) return "major must be a number or *";
  out->minor = parse_num(p[2], len[2]);
  if (out->minor == -2) return "minor must be a number or *";
  if (len[3] == 0) return "access must be a non-empty subset of rwm";
  out->access = 0;
  for (size_t i = 0; i < len[3]; i++) {
    uint32_t bit = p[3][i] == 'r' ? BPF_DEVCG_ACC_READ : p[3][i] == 'w' ? BPF_DEVCG_ACC_WRITE : p[3][i] == 'm' ? BPF_DEVCG_ACC_MKNOD : 0;
    if (bit == 0) return "access must be a non-empty subset of rwm";
    if (out->access & bit) return "access repeats a letter";
    out->access |= bit;
  }
  return NULL;
}

#define INSN(c, d, s, o, i) ((struct bpf_insn){.code = (c), .dst_reg = (d), .src_reg = (s), .off = (o), .imm = (i)})
#define ALL_ACCESS (BPF_DEVCG_ACC_MKNOD | BPF_DEVCG_ACC_READ | BPF_DEVCG_ACC_WRITE)

/* Instructions of one rule's block (the jumps in it skip to the block's end). */
static int block_len(const struct rule *r) {
  return 1 + (r->access != ALL_ACCESS ? 3 : 0) + (r->major >= 0 ? 1 : 0) + (r->minor >= 0 ? 1 : 0) + 2;
}

/*
 * r2 = type, r3 = access asked, r4 = major, r5 = minor; per rule:
 *   if r2 != type goto next
 *   [r1 = r3; r1 &= access; if r1 != r3 goto next]   (asked ⊆ allowed; left out for rwm)
 *   [if r4 != major goto next] [if r5 != minor goto next]
 *   r0 = 1; exit
 * next: ... ; r0 = 0; exit
 */
static int build(const struct rule *rules, int n, struct bpf_insn *prog) {
  int k = 0;
  prog[k++] = INSN(BPF_LDX | BPF_MEM | BPF_W, BPF_REG_2, BPF_REG_1, offsetof(struct bpf_cgroup_dev_ctx, access_type), 0);
  prog[k++] = INSN(BPF_ALU | BPF_AND | BPF_K, BPF_REG_2, 0, 0, 0xFFFF);
  prog[k++] = INSN(BPF_LDX | BPF_MEM | BPF_W, BPF_REG_3, BPF_REG_1, offsetof(struct bpf_cgroup_dev_ctx, access_type), 0);
  prog[k++] = INSN(BPF_ALU | BPF_RSH | BPF_K, BPF_REG_3, 0, 0, 16);
  prog[k++] = INSN(BPF_LDX | BPF_MEM | BPF_W, BPF_REG_4, BPF_REG_1, offsetof(struct bpf_cgroup_dev_ctx, major), 0);
  prog[k++] = INSN(BPF_LDX | BPF_MEM | BPF_W, BPF_REG_5, BPF_REG_1, offsetof(struct bpf_cgroup_dev_ctx, minor), 0);
  for (int i = 0; i < n; i++) {
    const struct rule *r = &rules[i];
    int end = k + block_len(r); /* first instruction of the next block */
#define SKIP (int16_t)(end - (k + 1))
    prog[k] = INSN(BPF_JMP | BPF_JNE | BPF_K, BPF_REG_2, 0, 0, (int32_t)r->type);
    prog[k].off = SKIP, k++;
    if (r->access != ALL_ACCESS) {
      prog[k++] = INSN(BPF_ALU | BPF_MOV | BPF_X, BPF_REG_1, BPF_REG_3, 0, 0);
      prog[k++] = INSN(BPF_ALU | BPF_AND | BPF_K, BPF_REG_1, 0, 0, (int32_t)r->access);
      prog[k] = INSN(BPF_JMP | BPF_JNE | BPF_X, BPF_REG_1, BPF_REG_3, 0, 0);
      prog[k].off = SKIP, k++;
    }
    /* 32-bit compares (BPF_JMP32): a major/minor above 2^31 is still compared as the u32 it is. */
    if (r->major >= 0) {
      prog[k] = INSN(BPF_JMP32 | BPF_JNE | BPF_K, BPF_REG_4, 0, 0, (int32_t)(uint32_t)r->major);
      prog[k].off = SKIP, k++;
    }
    if (r->minor >= 0) {
      prog[k] = INSN(BPF_JMP32 | BPF_JNE | BPF_K, BPF_REG_5, 0, 0, (int32_t)(uint32_t)r->minor);
      prog[k].off = SKIP, k++;
    }
#undef SKIP
    prog[k++] = INSN(BPF_ALU64 | BPF_MOV | BPF_K, BPF_REG_0, 0, 0, 1);
    prog[k++] = INSN(BPF_JMP | BPF_EXIT, 0, 0, 0, 0);
  }
  prog[k++] = INSN(BPF_ALU64 | BPF_MOV | BPF_K, BPF_REG_0, 0, 0, 0);
  prog[k++] = INSN(BPF_JMP | BPF_EXIT, 0, 0, 0, 0);
  return k;
}

static int load(struct bpf_insn *prog, int n, char *log, uint32_t log_bytes) {
  union bpf_attr attr;
  memset(&attr, 0, sizeof(attr));
  attr.prog_type = BPF_PROG_TYPE_CGROUP_DEVICE;
  attr.insns = (uint64_t)(uintptr_t)prog;
  attr.insn_cnt = (uint32_t)n;
  attr.license = (uint64_t)(uintptr_t) "Apache-2.0";
  strncpy(attr.prog_name, PROG_NAME, sizeof(attr.prog_name) - 1);
  if (log != NULL) {
    attr.log_buf = (uint64_t)(uintptr_t)log;
    attr.log_size = log_bytes;
    attr.log_level = 1;
  }
  return (int)sys_bpf(BPF_PROG_LOAD, &attr);
}

/*
 * Attaches a device program allowing `rules` (texts as the command line takes them) to the v2
 * cgroup `dir`, replacing this helper's earlier programs there. 0: attached; 2: a bad rule or
 * argument; 1: the kernel refused. `err` gets the reason (and the verifier log, cut to fit).
 * Also linked into the native supervisor (built with GANTRY_DEVICES_NO_MAIN), which attaches the
 * rank's program itself before it forks the rank.
 */
int gantry_devices_attach(const char *dir, char *const *rule_texts, int n, char *err, size_t errlen) {
  err[0] = '\0';
  if (dir[0] != '/') {
    snprintf(err, errlen, "cgroupDir must be an absolute path");
    return 2;
  }
  if (n > MAX_RULES) {
    snprintf(err, errlen, "%d rules, at most %d", n, MAX_RULES);
    return 2;
  }
  struct rule *rules = calloc((size_t)(n > 0 ? n : 1), sizeof(*rules));
  struct bpf_insn *prog = calloc((size_t)n * 9 + 8, sizeof(*prog));
  if (rules == NULL || prog == NULL) {
    free(rules);
    free(prog);
    snprintf(err, errlen, "out of memory");
    return 1;
  }
  int rc = 0;
  int cg = -1, fd = -1;
  for (int i = 0; i < n; i++) {
    const char *why = parse_rule(rule_texts[i], &rules[i]);
    if (why != NULL) {
      snprintf(err, errlen, "bad rule %d \"%.200s\": %s", i + 1, rule_texts[i], why);
      rc = 2;
      goto out;
    }
  }
  int count = build(rules, n, prog);

  cg = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (cg < 0) {
    snprintf(err, errlen, "open %s: %s", dir, strerror(errno));
    rc = 1;
    goto out;
  }

  /* The device programs attached there now (to detach once the new one is in). */
  uint32_t old_ids[MAX_OLD_PROGS];
  uint32_t old_count = 0;
  {
    union bpf_attr q;
    memset(&q, 0, sizeof(q));
    q.query.target_fd = (uint32_t)cg;
    q.query.attach_type = BPF_CGROUP_DEVICE;
    q.query.prog_ids = (uint64_t)(uintptr_t)old_ids;
    q.query.prog_cnt = MAX_OLD_PROGS;
    if (sys_bpf(BPF_PROG_QUERY, &q) == 0) old_count = q.query.prog_cnt;
    else old_count = 0; /* an old kernel without query: the new program is added, nothing detached */
  }

  fd = load(prog, count, NULL, 0);
  if (fd < 0) {
    int e = errno;
    char *log = calloc(1, LOG_BYTES);
    if (log != NULL && load(prog, count, log, LOG_BYTES) < 0) e = errno;
    snprintf(err, errlen, "BPF_PROG_LOAD (%d instructions): %s%s%s", count, strerror(e), log != NULL && log[0] != '\0' ? "\nverifier log:\n" : "", log != NULL ? log : "");
    free(log);
    rc = 1;
    goto out;
  }

  union bpf_attr a;
  memset(&a, 0, sizeof(a));
  a.target_fd = (uint32_t)cg;
  a.attach_bpf_fd = (uint32_t)fd;
  a.attach_type = BPF_CGROUP_DEVICE;
  a.attach_flags = BPF_F_ALLOW_MULTI;
  if (sys_bpf(BPF_PROG_ATTACH, &a) < 0) {
    snprintf(err, errlen, "BPF_PROG_ATTACH to %s: %s", dir, strerror(errno));
    rc = 1;
    goto out;
  }

  for (uint32_t i = 0; i < old_count && i < MAX_OLD_PROGS; i++) {
    union bpf_attr g;
    memset(&g, 0, sizeof(g));
    g.prog_id = old_ids[i];
    int old = (int)sys_bpf(BPF_PROG_GET_FD_BY_ID, &g);
    if (old < 0) {
      if (errno == ENOENT) continue; /* gone meanwhile */
      snprintf(err, errlen, "the previous program %u of %s: %s", old_ids[i], dir, strerror(errno));
      rc = 1;
      continue;
    }
    /* Only this helper's programs are replaced; another's (systemd's DevicePolicy, say) stays. */
    struct bpf_prog_info info;
    memset(&info, 0, sizeof(info));
    union bpf_attr in;
    memset(&in, 0, sizeof(in));
    in.info.bpf_fd = (uint32_t)old;
    in.info.info_len = sizeof(info);
    in.info.info = (uint64_t)(uintptr_t)&info;
    if (sys_bpf(BPF_OBJ_GET_INFO_BY_FD, &in) < 0 || strncmp(info.name, PROG_NAME, sizeof(info.name)) != 0) {
      close(old);
      continue;
    }
    union bpf_attr d;
    memset(&d, 0, sizeof(d));
    d.target_fd = (uint32_t)cg;
    d.attach_bpf_fd = (uint32_t)old;
    d.attach_type = BPF_CGROUP_DEVICE;
    if (sys_bpf(BPF_PROG_DETACH, &d) < 0 && errno != ENOENT) {
      snprintf(err, errlen, "detaching the previous program %u of %s: %s", old_ids[i], dir, strerror(errno));
      rc = 1;
    }
    close(old);
  }
  /* A previous program left attached only narrows the new rules (every program must allow). */
out:
  if (fd >= 0) close(fd);
  if (cg >= 0) close(cg);
  free(rules);
  free(prog);
  return rc;
}

#ifndef GANTRY_DEVICES_NO_MAIN
int main(int argc, char **argv) {
  if (argc < 3) return usage("expected: attach <cgroupDir> <rule>...");
  if (strcmp(argv[1], "attach") != 0) {
    char why[256];
    snprintf(why, sizeof(why), "unknown command \"%.64s\" (only attach)", argv[1]);
    return usage(why);
  }
  static char err[LOG_BYTES + 1024];
  int rc = gantry_devices_attach(argv[2], argv + 3, argc - 3, err, sizeof(err));
  if (rc == 2) return usage(err);
  if (rc != 0) fprintf(stderr, "gantry-devices: %s\n", err);
  return rc;
}
#endif
