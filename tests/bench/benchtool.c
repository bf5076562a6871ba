/* benchtool: the small programs detour's benchmark (tests/bench/run.sh) needs.
 *
 *   benchtool backend PORT [GET_BODY_BYTES]
 *       A fast single-threaded epoll HTTP/1.1 server on 127.0.0.1:PORT, the backend of every
 *       proxied scenario. Keep-alive and pipelining; a GET/HEAD gets a fixed body of
 *       GET_BODY_BYTES (default 64); a request with a body (Content-Length or chunked) is read to
 *       the end and discarded before the answer "received N\n", so an upload is sunk completely
 *       before the proxy sees a response.
 *
 *   benchtool upload PORT PATH BYTES
 *       POSTs BYTES zero bytes (Content-Length, streamed from memory) to 127.0.0.1:PORT and
 *       reads the answer; prints one JSON line {"sent":..,"status":..,"seconds":..,"body":".."}.
 *
 *   benchtool idle PORT PATH N
 *       Opens N keep-alive connections to 127.0.0.1:PORT, one GET each (response read fully),
 *       prints "opened N" and keeps them open until stdin reaches EOF.
 *
 * Loopback only; every socket operation has a timeout, so nothing here can hang for ever.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

static void die(const char *what) {
  perror(what);
  exit(2);
}

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void raise_nofile(void) {
  struct rlimit rl;
  if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
    rl.rlim_cur = rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);
  }
}

/* ------------------------------------------------------------------ backend */

enum { ST_HEAD, ST_BODY_CL, ST_CHUNK_SIZE, ST_CHUNK_DATA, ST_CHUNK_CRLF, ST_TRAILER };

#define INBUF (256 * 1024)
#define MAX_HEAD (64 * 1024)

struct conn {
  int fd;
  int state;
  int close_after;
  int is_head;
  int has_body;
  uint64_t remaining;     /* body bytes left (CL) or in the current chunk */
  uint64_t body_bytes;    /* counted for the answer */
  char *in;
  size_t in_start, in_end;
  char *out;
  size_t out_len, out_cap, out_off;
  int want_out;
};

static int g_ep;
static char *g_get_resp;
static size_t g_get_resp_len;
static char *g_head_resp;
static size_t g_head_resp_len;

static void out_append(struct conn *c, const char *p, size_t n) {
  if (c->out_len + n > c->out_cap) {
    size_t cap = c->out_cap ? c->out_cap : 4096;
    while (cap < c->out_len + n) cap *= 2;
    c->out = realloc(c->out, cap);
    if (!c->out) die("realloc");
    c->out_cap = cap;
  }
  memcpy(c->out + c->out_len, p, n);
  c->out_len += n;
}

static void conn_free(struct conn *c) {
  epoll_ctl(g_ep, EPOLL_CTL_DEL, c->fd, NULL);
  close(c->fd);
  free(c->in);
  free(c->out);
  free(c);
}

static void respond(struct conn *c) {
  if (c->has_body) {
    char body[64], head[160];
    int bl = snprintf(body, sizeof body, "received %llu\n", (unsigned long long)c->body_bytes);
    int hl = snprintf(head, sizeof head,
                      "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: %d\r\n%s\r\n",
                      bl, c->close_after ? "Connection: close\r\n" : "");
    out_append(c, head, (size_t)hl);
    if (!c->is_head) out_append(c, body, (size_t)bl);
  } else if (c->is_head) {
    out_append(c, g_head_resp, g_head_resp_len);
  } else {
    out_append(c, g_get_resp, g_get_resp_len);
  }
  c->state = ST_HEAD;
  c->body_bytes = 0;
  c->has_body = 0;
}

/* Case-insensitive search for a header value in the head [p, e). */
static const char *find_header(const char *p, const char *e, const char *name, size_t *vlen) {
  size_t nl = strlen(name);
  const char *line = memchr(p, '\n', (size_t)(e - p)); /* skip request line */
  while (line && line + 1 < e) {
    line++;
    const char *eol = memchr(line, '\n', (size_t)(e - line));
    if (!eol) break;
    if ((size_t)(eol - line) > nl && line[nl] == ':' && strncasecmp(line, name, nl) == 0) {
      const char *v = line + nl + 1;
      while (v < eol && (*v == ' ' || *v == '\t')) v++;
      const char *ve = eol;
      while (ve > v && (ve[-1] == '\r' || ve[-1] == ' ' || ve[-1] == '\t')) ve--;
      *vlen = (size_t)(ve - v);
      return v;
    }
    line = eol;
  }
  return NULL;
}

/* Returns 0 to keep the connection, -1 to close it. */
static int process(struct conn *c) {
  for (;;) {
    char *p = c->in + c->in_start;
    size_t avail = c->in_end - c->in_start;
    if (c->state == ST_HEAD) {
      if (avail == 0) return 0;
      char *end = memmem(p, avail, "\r\n\r\n", 4);
      if (!end) return avail > MAX_HEAD ? -1 : 0;
      size_t hlen = (size_t)(end - p) + 4;
      c->is_head = avail >= 5 && memcmp(p, "HEAD ", 5) == 0;
      size_t vl;
      const char *v;
      c->close_after = 0;
      if ((v = find_header(p, end + 2, "connection", &vl)) && vl == 5 && strncasecmp(v, "close", 5) == 0)
        c->close_after = 1;
      {
        /* HTTP/1.0 without keep-alive closes */
        const char *eol = memchr(p, '\r', hlen);
        if (eol && eol - p >= 8 && memcmp(eol - 8, "HTTP/1.0", 8) == 0) {
          if (!((v = find_header(p, end + 2, "connection", &vl)) && vl == 10 &&
                strncasecmp(v, "keep-alive", 10) == 0))
            c->close_after = 1;
        }
      }
      c->body_bytes = 0;
      c->has_body = 0;
      if ((v = find_header(p, end + 2, "transfer-encoding", &vl)) && vl >= 7 &&
          strncasecmp(v + vl - 7, "chunked", 7) == 0) {
        c->has_body = 1;
        c->state = ST_CHUNK_SIZE;
      } else if ((v = find_header(p, end + 2, "content-length", &vl))) {
        uint64_t n = strtoull(v, NULL, 10);
        c->has_body = 1;
        c->remaining = n;
        c->state = ST_BODY_CL;
      }
      c->in_start += hlen;
      if (c->state == ST_HEAD) {
        respond(c);
        if (c->close_after) return 1;
      }
      continue;
    }
    if (c->state == ST_BODY_CL) {
      size_t take = avail < c->remaining ? avail : (size_t)c->remaining;
      c->in_start += take;
      c->remaining -= take;
      c->body_bytes += take;
      if (c->remaining == 0) {
        respond(c);
        if (c->close_after) return 1;
        continue;
      }
      return 0;
    }
    if (c->state == ST_CHUNK_SIZE || c->state == ST_TRAILER) {
      char *eol = memmem(p, avail, "\r\n", 2);
      if (!eol) return avail > MAX_HEAD ? -1 : 0;
      size_t ll = (size_t)(eol - p);
      c->in_start += ll + 2;
      if (c->state == ST_CHUNK_SIZE) {
        uint64_t n = strtoull(p, NULL, 16);
        if (n == 0) {
          c->state = ST_TRAILER;
        } else {
          c->remaining = n;
          c->state = ST_CHUNK_DATA;
        }
      } else if (ll == 0) {
        respond(c);
        if (c->close_after) return 1;
      }
      continue;
    }
    if (c->state == ST_CHUNK_DATA) {
      size_t take = avail < c->remaining ? avail : (size_t)c->remaining;
      c->in_start += take;
      c->remaining -= take;
      c->body_bytes += take;
      if (c->remaining == 0) {
        c->state = ST_CHUNK_CRLF;
        continue;
      }
      return 0;
    }
    if (c->state == ST_CHUNK_CRLF) {
      if (avail < 2) return 0;
      c->in_start += 2;
      c->state = ST_CHUNK_SIZE;
      continue;
    }
  }
}

/* Returns -1 on error, 0 when everything was written, 1 when some is pending. */
static int flush_out(struct conn *c) {
  while (c->out_off < c->out_len) {
    ssize_t n = write(c->fd, c->out + c->out_off, c->out_len - c->out_off);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN) break;
      return -1;
    }
    c->out_off += (size_t)n;
  }
  if (c->out_off == c->out_len) {
    c->out_off = c->out_len = 0;
    if (c->want_out) {
      struct epoll_event ev = {.events = EPOLLIN, .data.ptr = c};
      epoll_ctl(g_ep, EPOLL_CTL_MOD, c->fd, &ev);
      c->want_out = 0;
    }
    return 0;
  }
  if (!c->want_out) {
    struct epoll_event ev = {.events = EPOLLIN | EPOLLOUT, .data.ptr = c};
    epoll_ctl(g_ep, EPOLL_CTL_MOD, c->fd, &ev);
    c->want_out = 1;
  }
  return 1;
}

static int run_backend(int port, int body_bytes) {
  char *body = malloc((size_t)body_bytes + 1);
  for (int i = 0; i < body_bytes; i++) body[i] = (char)('a' + i % 26);
  if (body_bytes > 0) body[body_bytes - 1] = '\n';
  char head[256];
  int hl = snprintf(head, sizeof head,
                    "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: %d\r\n\r\n", body_bytes);
  g_get_resp_len = (size_t)hl + (size_t)body_bytes;
  g_get_resp = malloc(g_get_resp_len);
  memcpy(g_get_resp, head, (size_t)hl);
  memcpy(g_get_resp + hl, body, (size_t)body_bytes);
  g_head_resp = strdup(head);
  g_head_resp_len = (size_t)hl;

  int ls = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
  if (ls < 0) die("socket");
  int one = 1;
  setsockopt(ls, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (bind(ls, (struct sockaddr *)&a, sizeof a) < 0) die("bind");
  if (listen(ls, 4096) < 0) die("listen");
  g_ep = epoll_create1(0);
  struct epoll_event lev = {.events = EPOLLIN, .data.ptr = NULL};
  epoll_ctl(g_ep, EPOLL_CTL_ADD, ls, &lev);
  fprintf(stderr, "backend listening on 127.0.0.1:%d\n", port);

  struct epoll_event evs[256];
  for (;;) {
    int n = epoll_wait(g_ep, evs, 256, -1);
    if (n < 0) {
      if (errno == EINTR) continue;
      die("epoll_wait");
    }
    for (int i = 0; i < n; i++) {
      struct conn *c = evs[i].data.ptr;
      if (!c) {
        for (;;) {
          int fd = accept4(ls, NULL, NULL, SOCK_NONBLOCK);
          if (fd < 0) break;
          setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
          struct conn *nc = calloc(1, sizeof *nc);
          nc->fd = fd;
          nc->in = malloc(INBUF);
          struct epoll_event ev = {.events = EPOLLIN, .data.ptr = nc};
          epoll_ctl(g_ep, EPOLL_CTL_ADD, fd, &ev);
        }
        continue;
      }
      if (evs[i].events & EPOLLOUT) {
        if (flush_out(c) < 0) {
          conn_free(c);
          continue;
        }
      }
      if (!(evs[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR))) continue;
      int dead = 0, closing = 0;
      for (int reads = 0; reads < 16; reads++) {
        if (c->in_start == c->in_end) c->in_start = c->in_end = 0;
        if (c->in_end == INBUF) {
          if (c->in_start == 0) { dead = 1; break; } /* a head larger than the buffer */
          memmove(c->in, c->in + c->in_start, c->in_end - c->in_start);
          c->in_end -= c->in_start;
          c->in_start = 0;
        }
        ssize_t r = read(c->fd, c->in + c->in_end, INBUF - c->in_end);
        if (r < 0) {
          if (errno == EINTR) continue;
          if (errno != EAGAIN) dead = 1;
          break;
        }
        if (r == 0) { dead = 1; break; }
        c->in_end += (size_t)r;
        int pr = process(c);
        if (pr < 0) { dead = 1; break; }
        if (pr > 0) { closing = 1; break; }
        if ((size_t)r < INBUF / 2) break;
      }
      if (!dead && flush_out(c) < 0) dead = 1;
      if (closing && !dead) {
        /* best effort: the answer is short; linger a little via blocking write */
        int fl = fcntl(c->fd, F_GETFL);
        fcntl(c->fd, F_SETFL, fl & ~O_NONBLOCK);
        if (c->out_len > c->out_off) (void)!write(c->fd, c->out + c->out_off, c->out_len - c->out_off);
        shutdown(c->fd, SHUT_WR);
        dead = 1;
      }
      if (dead) conn_free(c);
    }
  }
  return 0;
}

/* ------------------------------------------------------------------ clients */

static int connect_loopback(int port, int timeout_s) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return -1;
  struct timeval tv = {.tv_sec = timeout_s};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(fd, (struct sockaddr *)&a, sizeof a) < 0) {
    close(fd);
    return -1;
  }
  return fd;
}

/* Reads one response (head + Content-Length body). Returns status or -1; copies the body. */
static int read_response(int fd, char *body, size_t body_cap) {
  char buf[16384];
  size_t len = 0;
  char *end = NULL;
  while (!end) {
    if (len == sizeof buf) return -1;
    ssize_t r = read(fd, buf + len, sizeof buf - len);
    if (r <= 0) return -1;
    len += (size_t)r;
    end = memmem(buf, len, "\r\n\r\n", 4);
  }
  int status = 0;
  if (len < 12 || sscanf(buf, "HTTP/1.%*c %d", &status) != 1) return -1;
  size_t hlen = (size_t)(end - buf) + 4;
  size_t vl = 0;
  const char *v = find_header(buf, end + 2, "content-length", &vl);
  size_t clen = v ? (size_t)strtoull(v, NULL, 10) : 0;
  size_t have = len - hlen;
  size_t copied = 0;
  if (body_cap) {
    copied = have < body_cap - 1 ? have : body_cap - 1;
    memcpy(body, buf + hlen, copied);
  }
  while (have < clen) {
    ssize_t r = read(fd, buf, sizeof buf);
    if (r <= 0) return -1;
    if (body_cap && copied < body_cap - 1) {
      size_t k = (size_t)r < body_cap - 1 - copied ? (size_t)r : body_cap - 1 - copied;
      memcpy(body + copied, buf, k);
      copied += k;
    }
    have += (size_t)r;
  }
  if (body_cap) body[copied] = 0;
  return status;
}

static int run_upload(int port, const char *path, uint64_t bytes) {
  static char zeros[256 * 1024];
  double t0 = now();
  int fd = connect_loopback(port, 60);
  if (fd < 0) die("connect");
  char head[512];
  int hl = snprintf(head, sizeof head,
                    "POST %s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nContent-Type: application/octet-stream\r\n"
                    "Content-Length: %llu\r\n\r\n",
                    path, port, (unsigned long long)bytes);
  if (write(fd, head, (size_t)hl) != hl) die("write head");
  uint64_t sent = 0;
  while (sent < bytes) {
    size_t n = bytes - sent < sizeof zeros ? (size_t)(bytes - sent) : sizeof zeros;
    ssize_t w = write(fd, zeros, n);
    if (w < 0) {
      if (errno == EINTR) continue;
      break;
    }
    sent += (uint64_t)w;
  }
  char body[256] = "";
  int status = read_response(fd, body, sizeof body);
  double secs = now() - t0;
  close(fd);
  for (char *q = body; *q; q++)
    if (*q == '\n' || *q == '"' || *q == '\\' || (unsigned char)*q < 32) *q = ' ';
  printf("{\"sent\": %llu, \"status\": %d, \"seconds\": %.6f, \"body\": \"%s\"}\n",
         (unsigned long long)sent, status, secs, body);
  return (status == 200 && sent == bytes) ? 0 : 1;
}

static int run_idle(int port, const char *path, int n) {
  raise_nofile();
  int *fds = calloc((size_t)n, sizeof(int));
  char req[512];
  int rl = snprintf(req, sizeof req, "GET %s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n\r\n", path, port);
  for (int i = 0; i < n; i++) {
    int fd = connect_loopback(port, 10);
    if (fd < 0) {
      fprintf(stderr, "idle: connect %d failed: %s\n", i, strerror(errno));
      return 1;
    }
    if (write(fd, req, (size_t)rl) != rl) {
      fprintf(stderr, "idle: write %d failed\n", i);
      return 1;
    }
    int st = read_response(fd, NULL, 0);
    if (st < 0) {
      fprintf(stderr, "idle: response %d failed: %s\n", i, strerror(errno));
      return 1;
    }
    fds[i] = fd;
  }
  printf("opened %d\n", n);
  fflush(stdout);
  char b[64];
  while (read(0, b, sizeof b) > 0) {
  }
  for (int i = 0; i < n; i++) close(fds[i]);
  return 0;
}

int main(int argc, char **argv) {
  signal(SIGPIPE, SIG_IGN);
  if (argc >= 3 && strcmp(argv[1], "backend") == 0)
    return run_backend(atoi(argv[2]), argc >= 4 ? atoi(argv[3]) : 64);
  if (argc == 5 && strcmp(argv[1], "upload") == 0)
    return run_upload(atoi(argv[2]), argv[3], strtoull(argv[4], NULL, 10));
  if (argc == 5 && strcmp(argv[1], "idle") == 0) return run_idle(atoi(argv[2]), argv[3], atoi(argv[4]));
  fprintf(stderr,
          "usage: benchtool backend PORT [GET_BODY_BYTES]\n"
          "       benchtool upload PORT PATH BYTES\n"
          "       benchtool idle PORT PATH N\n");
  return 2;
}
