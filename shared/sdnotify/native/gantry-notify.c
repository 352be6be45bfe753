/*
 * gantry-notify: the daemons' sd_notify sender. Node cannot send to a unix datagram socket, so a
 * daemon starts this once and writes its notifications to its stdin, one per line; each line goes
 * to the service manager as one datagram. It exits when its stdin closes (the daemon exited).
 *
 *   gantry-notify SOCKET [PID]
 *
 * SOCKET is $NOTIFY_SOCKET as systemd sets it: a path, or an abstract name written "@name".
 * PID is the daemon's (its parent's): each datagram carries it in SCM_CREDENTIALS where the kernel
 * allows that (root, CAP_SYS_ADMIN), so NotifyAccess=main accepts it; elsewhere (EPERM) the
 * datagram goes with this process's own credentials, which needs NotifyAccess=all.
 * Exit: 0 at end of input, 2 on a bad argument. A failed send is reported on stderr, not fatal.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <unistd.h>

static int send_line(int fd, const struct sockaddr_un *sa, socklen_t salen, const char *msg, size_t len, pid_t pid, int *with_creds) {
  struct iovec iov = {.iov_base = (void *)msg, .iov_len = len};
  union {
    struct cmsghdr h;
    char buf[CMSG_SPACE(sizeof(struct ucred))];
  } control;
  struct msghdr mh = {.msg_name = (void *)sa, .msg_namelen = salen, .msg_iov = &iov, .msg_iovlen = 1};
  if (*with_creds) {
    memset(&control, 0, sizeof control);
    mh.msg_control = control.buf;
    mh.msg_controllen = sizeof control.buf;
    struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_CREDENTIALS;
    c->cmsg_len = CMSG_LEN(sizeof(struct ucred));
    struct ucred uc = {.pid = pid, .uid = getuid(), .gid = getgid()};
    memcpy(CMSG_DATA(c), &uc, sizeof uc);
  }
  if (sendmsg(fd, &mh, MSG_NOSIGNAL) >= 0) return 0;
  if (*with_creds && errno == EPERM) {
    /* Not allowed to speak for the daemon's pid: send as ourselves from now on. */
    *with_creds = 0;
    mh.msg_control = NULL;
    mh.msg_controllen = 0;
    if (sendmsg(fd, &mh, MSG_NOSIGNAL) >= 0) return 0;
  }
  return -1;
}

int main(int argc, char **argv) {
  if (argc < 2 || argc > 3) {
    fprintf(stderr, "usage: gantry-notify SOCKET [PID]  (lines on stdin, one datagram each)\n");
    return 2;
  }
  const char *path = argv[1];
  size_t plen = strlen(path);
  struct sockaddr_un sa;
  memset(&sa, 0, sizeof sa);
  sa.sun_family = AF_UNIX;
  if (plen < 2 || plen >= sizeof sa.sun_path || (path[0] != '/' && path[0] != '@')) {
    fprintf(stderr, "gantry-notify: NOTIFY_SOCKET must be an absolute path or @abstract-name under %zu bytes\n", sizeof sa.sun_path);
    return 2;
  }
  memcpy(sa.sun_path, path, plen);
  if (path[0] == '@') sa.sun_path[0] = '\0';
  /* A path's address includes its terminating NUL; an abstract name's is exactly its bytes. */
  socklen_t salen = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + plen + (path[0] == '/' ? 1 : 0));
  pid_t pid = argc == 3 ? (pid_t)strtol(argv[2], NULL, 10) : getppid();
  int with_creds = pid > 0 && pid != getpid();
  int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    perror("gantry-notify: socket");
    return 1;
  }
  char *line = NULL;
  size_t cap = 0;
  ssize_t n;
  while ((n = getline(&line, &cap, stdin)) > 0) {
    if (line[n - 1] == '\n') line[--n] = '\0';
    if (n == 0) continue;
    if (send_line(fd, &sa, salen, line, (size_t)n, pid, &with_creds) < 0) {
      fprintf(stderr, "gantry-notify: send to %s: %s\n", path, strerror(errno));
    }
  }
  free(line);
  close(fd);
  return 0;
}
