// detour-demo-backend: a tiny HTTP/1.1 backend for the quick start. It answers every request
// with a plain-text echo of what reached it (request line, headers, body), so a newcomer can
// see what detour forwards: the body unchanged, X-Forwarded-* and X-Request-Id added.
// Usage: detour-demo-backend [PORT] (default 9001; listens on 127.0.0.1 only).

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>

namespace {

bool readMore(int fd, std::string& buf) {
  pollfd p{fd, POLLIN, 0};
  if (poll(&p, 1, 75000) <= 0) return false;
  char tmp[16384];
  ssize_t n = recv(fd, tmp, sizeof tmp, 0);
  if (n <= 0) return false;
  buf.append(tmp, static_cast<size_t>(n));
  return true;
}

bool sendAll(int fd, const std::string& s) {
  size_t off = 0;
  while (off < s.size()) {
    ssize_t n = send(fd, s.data() + off, s.size() - off, MSG_NOSIGNAL);
    if (n <= 0) return false;
    off += static_cast<size_t>(n);
  }
  return true;
}

std::string lower(std::string s) {
  for (char& c : s) c = static_cast<char>(tolower(static_cast<unsigned char>(c)));
  return s;
}

// Reads a chunked body from buf (reading more as needed); false on error.
bool readChunked(int fd, std::string& buf, std::string& body) {
  while (true) {
    size_t eol;
    while ((eol = buf.find("\r\n")) == std::string::npos) {
      if (!readMore(fd, buf)) return false;
    }
    size_t n = strtoul(buf.substr(0, eol).c_str(), nullptr, 16);
    buf.erase(0, eol + 2);
    if (n == 0) {
      while (buf.find("\r\n\r\n") == std::string::npos && buf.rfind("\r\n", 0) != 0) {
        if (!readMore(fd, buf)) return false;
      }
      size_t end = buf.rfind("\r\n", 0) == 0 ? 2 : buf.find("\r\n\r\n") + 4;
      buf.erase(0, end);
      return true;
    }
    while (buf.size() < n + 2) {
      if (!readMore(fd, buf)) return false;
    }
    body += buf.substr(0, n);
    buf.erase(0, n + 2);
  }
}

void serve(int fd) {
  std::string buf;
  while (true) {
    size_t end;
    while ((end = buf.find("\r\n\r\n")) == std::string::npos) {
      if (buf.size() > 65536 || !readMore(fd, buf)) {
        close(fd);
        return;
      }
    }
    std::string head = buf.substr(0, end + 2);
    buf.erase(0, end + 4);
    std::string lh = lower(head);
    std::string body;
    size_t cl = lh.find("\r\ncontent-length:");
    if (lh.find("\r\ntransfer-encoding: chunked") != std::string::npos) {
      if (!readChunked(fd, buf, body)) break;
    } else if (cl != std::string::npos) {
      size_t n = strtoul(head.c_str() + cl + 17, nullptr, 10);
      while (buf.size() < n) {
        if (!readMore(fd, buf)) {
          close(fd);
          return;
        }
      }
      body = buf.substr(0, n);
      buf.erase(0, n);
    }
    std::string text = "Hello from detour's demo backend. This is what reached me:\n\n" + head;
    if (!body.empty()) text += "\n" + body + "\n";
    std::string resp = "HTTP/1.1 200 OK\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: " +
                       std::to_string(text.size()) + "\r\n\r\n" + text;
    if (head.rfind("HEAD ", 0) == 0) resp = resp.substr(0, resp.size() - text.size());
    if (!sendAll(fd, resp)) break;
  }
  close(fd);
}

}  // namespace

int main(int argc, char** argv) {
  int port = argc > 1 ? atoi(argv[1]) : 9001;
  signal(SIGPIPE, SIG_IGN);
  int lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  int one = 1;
  setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in sin{};
  sin.sin_family = AF_INET;
  sin.sin_port = htons(static_cast<uint16_t>(port));
  inet_pton(AF_INET, "127.0.0.1", &sin.sin_addr);
  if (bind(lfd, reinterpret_cast<sockaddr*>(&sin), sizeof sin) != 0 || listen(lfd, 128) != 0) {
    fprintf(stderr, "detour-demo-backend: cannot listen on 127.0.0.1:%d: %s\n", port, strerror(errno));
    return 1;
  }
  fprintf(stderr, "detour-demo-backend: listening on 127.0.0.1:%d\n", port);
  while (true) {
    int fd = accept4(lfd, nullptr, nullptr, SOCK_CLOEXEC);
    if (fd < 0) continue;
    std::thread(serve, fd).detach();
  }
}
