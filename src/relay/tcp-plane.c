// berth-relay-tcp: the TCP data path of berth-relay. berth-relay (main.ts, a Node.js program)
// keeps the table, the control socket and UDP; it starts this program as its child and tells it
// on stdin which TCP ports to listen on. Why C: Node.js spends ~0.5 ms of CPU per relayed
// connection (two stream objects, their events and buffers), which made new connections
// through the relay 3-5 times slower than through docker-proxy; here a connection is a dozen
// system calls and its bytes move socket -> pipe -> socket with splice(2), never copied to
// user space. One epoll loop, one thread, every port.
//
// Control, one line each way (the parent is the only writer; it never sends more than a line
// of 200 bytes, longer lines are refused):
//   listen ID HOSTIP HOSTPORT TARGETIP TARGETPORT   ->  "ok ID" | "err ID EADDRINUSE" (errno name)
//   close ID                                        ->  "ok ID"   (the listener and its connections)
//   hostonly 0|1                                    ->  "ok 0"    (berthd --ports-from: only the
//                                                                  host's own addresses get through)
// stdin at EOF (the parent is gone) or SIGTERM: everything closes, exit 0. PR_SET_PDEATHSIG
// makes a SIGKILL of the parent end this too, so a relay started again can bind the ports.
//
// A connection: accept4 (non-blocking), connect to the target (non-blocking); once connected,
// each direction is splice(src -> pipe) then splice(pipe -> dst). A read side at EOF with its
// pipe drained half-closes the other side (shutdown SHUT_WR), as docker-proxy does; an error on
// either side (a reset, a refused connect) closes both.
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <ifaddrs.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

enum kind { K_CONTROL, K_LISTENER, K_CLIENT, K_UPSTREAM };

/* What an epoll event points to: every object starts with its kind. */
struct tag { enum kind kind; };

struct conn;

struct listener {
  struct tag tag;
  int fd;
  unsigned long id;
  struct sockaddr_storage target;
  socklen_t target_len;
  struct conn *conns;          /* every connection accepted here, to close with it */
  struct listener *next;
  bool dead;
};

/* One direction: bytes read from one side wait in the pipe until the other side takes them. */
struct flow {
  int pipe[2];
  size_t queued;               /* bytes in the pipe */
  bool eof;                    /* the read side said EOF */
  bool shut;                   /* the write side was half-closed */
};

struct side {
  struct tag tag;
  int fd;
  unsigned events;             /* what epoll watches for it now */
  bool added;                  /* in the epoll set (a side with nothing to wait for is not) */
  struct conn *conn;
};

struct conn {
  struct side client, upstream;
  struct flow up, down;        /* client -> upstream, upstream -> client */
  bool connecting;
  bool dead;
  struct listener *listener;
  struct conn *prev, *next;    /* in the listener's list */
  struct conn *grave;          /* freed after the current batch of events */
};

static int ep;
static struct listener *listeners;
static struct listener *dead_listeners;
static struct conn *graveyard;
static bool host_only;
static int spare_fd = -1;      /* given up to accept (and drop) a connection when out of fds */
static struct tag control_tag = { K_CONTROL };

static const char *errno_name(int e) {
  switch (e) {
    case EADDRINUSE: return "EADDRINUSE";
    case EADDRNOTAVAIL: return "EADDRNOTAVAIL";
    case EACCES: return "EACCES";
    case EINVAL: return "EINVAL";
    case EMFILE: return "EMFILE";
    case ENFILE: return "ENFILE";
    case ENOMEM: return "ENOMEM";
    case EAFNOSUPPORT: return "EAFNOSUPPORT";
    default: return strerror(e);
  }
}

static void reply(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void reply(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vprintf(fmt, ap);
  va_end(ap);
  putchar('\n');
  fflush(stdout);
}

/*
 * Watch a side for `events`. A side with nothing to wait for leaves the epoll set: epoll
 * reports a hang-up whatever it is asked, and level-triggered that would wake the loop again
 * and again while, say, the other side is still taking the last bytes.
 */
static void watch(struct side *s, unsigned events) {
  if (!events) {
    if (s->added) epoll_ctl(ep, EPOLL_CTL_DEL, s->fd, NULL);
    s->added = false;
    return;
  }
  if (s->added && s->events == events) return;
  struct epoll_event ev = { .events = events, .data.ptr = s };
  epoll_ctl(ep, s->added ? EPOLL_CTL_MOD : EPOLL_CTL_ADD, s->fd, &ev);
  s->events = events;
  s->added = true;
}

static void conn_close(struct conn *c) {
  if (c->dead) return;
  c->dead = true;
  close(c->client.fd);
  close(c->upstream.fd);
  for (int i = 0; i < 2; i++) {
    if (c->up.pipe[i] >= 0) close(c->up.pipe[i]);
    if (c->down.pipe[i] >= 0) close(c->down.pipe[i]);
  }
  struct listener *l = c->listener;
  if (c->prev) c->prev->next = c->next; else l->conns = c->next;
  if (c->next) c->next->prev = c->prev;
  c->grave = graveyard;
  graveyard = c;
}

/*
 * Move what can be moved in one direction. Returns false when the connection must close (an
 * error on either side). Reads only into an empty pipe, so EAGAIN from the read always means
 * the socket has nothing now (not that the pipe is full).
 */
static bool pump(struct flow *f, int src, int dst) {
  /* A bounded turn, so one busy connection cannot hold up the others; the rest stays in the
     socket and epoll (level-triggered) reports it again. */
  for (int turn = 0; turn < 16; turn++) {
    if (f->queued) {
      ssize_t n = splice(f->pipe[0], NULL, dst, NULL, f->queued, SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
      if (n < 0) return errno == EAGAIN || errno == EINTR;
      f->queued -= (size_t)n;
      if (f->queued) continue;
    }
    if (f->eof) {
      if (!f->shut) { f->shut = true; shutdown(dst, SHUT_WR); }
      return true;
    }
    if (f->pipe[0] < 0 && pipe2(f->pipe, O_NONBLOCK | O_CLOEXEC) < 0) return false;
    ssize_t n = splice(src, NULL, f->pipe[1], NULL, 1 << 16, SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
    if (n < 0) return errno == EAGAIN || errno == EINTR;
    if (n == 0) {
      /* The pipe is empty (reads go only into an empty one): pass the half-close on now. Left
         for a next turn, an EOF read on the last turn was never passed on, and with both sides
         then out of the epoll set the connection hung for good. */
      f->eof = true;
      if (!f->shut) { f->shut = true; shutdown(dst, SHUT_WR); }
      return true;
    }
    f->queued = (size_t)n;
  }
  return true;
}

/* Watch each side for what its two flows wait for: reading into an empty pipe, writing out a full one. */
static void rewatch(struct conn *c) {
  watch(&c->client, (!c->up.eof && !c->up.queued ? EPOLLIN : 0) | (c->down.queued ? EPOLLOUT : 0));
  watch(&c->upstream, (!c->down.eof && !c->down.queued ? EPOLLIN : 0) | (c->up.queued ? EPOLLOUT : 0));
}

static void conn_event(struct side *s, unsigned events) {
  struct conn *c = s->conn;
  if (c->dead) return;
  bool all = events & (EPOLLERR | EPOLLHUP);
  if (c->connecting) {
    int err = 0;
    socklen_t len = sizeof err;
    if (getsockopt(c->upstream.fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0 || err) { conn_close(c); return; }
    c->connecting = false;
    all = true;   /* the client may have sent already */
  }
  /* Only the flows this event concerns: readable client or writable upstream moves "up". */
  bool is_client = s == &c->client;
  bool up = all || (is_client ? events & EPOLLIN : events & EPOLLOUT);
  bool down = all || (is_client ? events & EPOLLOUT : events & EPOLLIN);
  if ((up && !pump(&c->up, c->client.fd, c->upstream.fd)) || (down && !pump(&c->down, c->upstream.fd, c->client.fd))) {
    conn_close(c);
    return;
  }
  if (c->up.shut && c->down.shut) { conn_close(c); return; }
  rewatch(c);
}

static bool from_host(const struct sockaddr_in6 *peer) {
  if (IN6_IS_ADDR_LOOPBACK(&peer->sin6_addr)) return true;
  struct ifaddrs *all;
  if (getifaddrs(&all) < 0) return false;
  bool found = false;
  for (struct ifaddrs *a = all; a && !found; a = a->ifa_next) {
    if (!a->ifa_addr || a->ifa_addr->sa_family != AF_INET6) continue;
    found = IN6_ARE_ADDR_EQUAL(&((struct sockaddr_in6 *)a->ifa_addr)->sin6_addr, &peer->sin6_addr);
  }
  freeifaddrs(all);
  return found;
}

static void nodelay(int fd) {
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

static void accept_all(struct listener *l) {
  for (int i = 0; i < 64; i++) {
    struct sockaddr_in6 peer;
    socklen_t plen = sizeof peer;
    int fd = accept4(l->fd, (struct sockaddr *)&peer, &plen, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) {
      if ((errno == EMFILE || errno == ENFILE) && spare_fd >= 0) {
        /* Out of descriptors: take the connection and drop it, or it would wake us forever. */
        close(spare_fd);
        fd = accept(l->fd, NULL, NULL);
        if (fd >= 0) close(fd);
        spare_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
        continue;
      }
      return;   /* EAGAIN, or a connection that went away before we took it */
    }
    if (host_only && !from_host(&peer)) { close(fd); continue; }
    int up = socket(l->target.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    struct conn *c = up < 0 ? NULL : calloc(1, sizeof *c);
    if (!c) { close(fd); if (up >= 0) close(up); continue; }
    nodelay(fd);
    nodelay(up);
    c->client = (struct side){ .tag = { K_CLIENT }, .fd = fd, .conn = c };
    c->upstream = (struct side){ .tag = { K_UPSTREAM }, .fd = up, .conn = c };
    c->up.pipe[0] = c->up.pipe[1] = c->down.pipe[0] = c->down.pipe[1] = -1;
    c->listener = l;
    c->next = l->conns;
    if (l->conns) l->conns->prev = c;
    l->conns = c;
    if (connect(up, (struct sockaddr *)&l->target, l->target_len) < 0 && errno != EINPROGRESS) {
      conn_close(c);   /* (a target not there: the client sees its connection closed) */
      continue;
    }
    /* (the client is watched once the target answers: what it sends waits in its socket) */
    c->connecting = true;
    watch(&c->upstream, EPOLLOUT);
  }
}

static struct listener *find(unsigned long id) {
  for (struct listener *l = listeners; l; l = l->next) if (l->id == id) return l;
  return NULL;
}

static bool parse_addr(const char *ip, const char *port, struct sockaddr_storage *ss, socklen_t *len) {
  char *end;
  long p = strtol(port, &end, 10);
  if (*end || p < 1 || p > 65535) return false;
  memset(ss, 0, sizeof *ss);
  struct sockaddr_in *v4 = (struct sockaddr_in *)ss;
  struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)ss;
  if (inet_pton(AF_INET, ip, &v4->sin_addr) == 1) {
    v4->sin_family = AF_INET; v4->sin_port = htons((uint16_t)p); *len = sizeof *v4; return true;
  }
  if (inet_pton(AF_INET6, ip, &v6->sin6_addr) == 1) {
    v6->sin6_family = AF_INET6; v6->sin6_port = htons((uint16_t)p); *len = sizeof *v6; return true;
  }
  return false;
}

static void do_listen(unsigned long id, const char *hip, const char *hport, const char *tip, const char *tport) {
  struct sockaddr_storage host, target;
  socklen_t hlen, tlen;
  if (find(id)) { reply("err %lu EEXIST", id); return; }
  if (!parse_addr(hip, hport, &host, &hlen) || host.ss_family != AF_INET6 || !parse_addr(tip, tport, &target, &tlen)) {
    reply("err %lu EINVAL", id);
    return;
  }
  int fd = socket(AF_INET6, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  int one = 1;
  if (fd < 0 || setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one) < 0
      || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) < 0
      || bind(fd, (struct sockaddr *)&host, hlen) < 0 || listen(fd, 4096) < 0) {
    int e = errno;
    if (fd >= 0) close(fd);
    reply("err %lu %s", id, errno_name(e));
    return;
  }
  struct listener *l = calloc(1, sizeof *l);
  if (!l) { close(fd); reply("err %lu ENOMEM", id); return; }
  l->tag.kind = K_LISTENER;
  l->fd = fd;
  l->id = id;
  l->target = target;
  l->target_len = tlen;
  l->next = listeners;
  listeners = l;
  struct epoll_event ev = { .events = EPOLLIN, .data.ptr = l };
  epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
  reply("ok %lu", id);
}

static void do_close(unsigned long id) {
  struct listener **pl = &listeners;
  while (*pl && (*pl)->id != id) pl = &(*pl)->next;
  struct listener *l = *pl;
  if (l) {
    *pl = l->next;
    close(l->fd);
    while (l->conns) conn_close(l->conns);
    l->dead = true;
    l->next = dead_listeners;
    dead_listeners = l;
  }
  reply("ok %lu", id);
}

static void command(char *line) {
  char *w[7];
  int n = 0;
  for (char *t = strtok(line, " "); t && n < 7; t = strtok(NULL, " ")) w[n++] = t;
  char *end;
  if (n == 6 && !strcmp(w[0], "listen")) {
    unsigned long id = strtoul(w[1], &end, 10);
    if (!*end) { do_listen(id, w[2], w[3], w[4], w[5]); return; }
  } else if (n == 2 && !strcmp(w[0], "close")) {
    unsigned long id = strtoul(w[1], &end, 10);
    if (!*end) { do_close(id); return; }
  } else if (n == 2 && !strcmp(w[0], "hostonly") && (!strcmp(w[1], "0") || !strcmp(w[1], "1"))) {
    host_only = w[1][0] == '1';
    reply("ok 0");
    return;
  }
  reply("err 0 EINVAL");
}

/* Read what the parent wrote; false at EOF (the parent is gone). */
static bool control(void) {
  static char buf[256];
  static size_t have;
  static bool skipping;   /* inside a line too long to be ours */
  ssize_t n = read(STDIN_FILENO, buf + have, sizeof buf - have);
  if (n == 0) return false;
  if (n < 0) return errno == EAGAIN || errno == EINTR;
  have += (size_t)n;
  char *nl;
  while ((nl = memchr(buf, '\n', have))) {
    *nl = 0;
    if (skipping) skipping = false; else command(buf);
    have -= (size_t)(nl + 1 - buf);
    memmove(buf, nl + 1, have);
  }
  if (have == sizeof buf) {
    if (!skipping) reply("err 0 E2BIG");
    skipping = true;
    have = 0;
  }
  return true;
}

static void bury(void) {
  while (graveyard) { struct conn *c = graveyard; graveyard = c->grave; free(c); }
  while (dead_listeners) { struct listener *l = dead_listeners; dead_listeners = l->next; free(l); }
}

int main(void) {
  signal(SIGPIPE, SIG_IGN);
  prctl(PR_SET_PDEATHSIG, SIGKILL);
  if (getppid() == 1) return 0;   /* the parent died before the line above */
  struct rlimit rl;
  if (!getrlimit(RLIMIT_NOFILE, &rl)) { rl.rlim_cur = rl.rlim_max; setrlimit(RLIMIT_NOFILE, &rl); }
  spare_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
  ep = epoll_create1(EPOLL_CLOEXEC);
  if (ep < 0) { perror("berth-relay-tcp: epoll_create1"); return 1; }
  fcntl(STDIN_FILENO, F_SETFL, fcntl(STDIN_FILENO, F_GETFL) | O_NONBLOCK);
  struct epoll_event cev = { .events = EPOLLIN, .data.ptr = &control_tag };
  if (epoll_ctl(ep, EPOLL_CTL_ADD, STDIN_FILENO, &cev) < 0) { perror("berth-relay-tcp: stdin"); return 1; }
  reply("ready");
  struct epoll_event evs[256];
  for (;;) {
    int n = epoll_wait(ep, evs, 256, -1);
    if (n < 0 && errno != EINTR) { perror("berth-relay-tcp: epoll_wait"); return 1; }
    for (int i = 0; i < n; i++) {
      struct tag *t = evs[i].data.ptr;
      switch (t->kind) {
        case K_CONTROL:
          if (!control()) return 0;
          break;
        case K_LISTENER:
          if (!((struct listener *)t)->dead) accept_all((struct listener *)t);
          break;
        case K_CLIENT:
        case K_UPSTREAM:
          conn_event((struct side *)t, evs[i].events);
          break;
      }
    }
    bury();
  }
}
