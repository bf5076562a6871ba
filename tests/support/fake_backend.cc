#include "support/fake_backend.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>

namespace detour::test {
namespace {

using namespace std::chrono_literals;

bool iequals(const std::string& a, const std::string& b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return tolower(static_cast<unsigned char>(x)) == tolower(static_cast<unsigned char>(y));
         });
}

// Reads from a blocking socket with a poll timeout; keeps a buffer of unconsumed bytes.
class Reader {
 public:
  Reader(int fd, const std::atomic<bool>& stopping, std::atomic<size_t>& counter)
      : fd_(fd), stopping_(stopping), counter_(counter) {}
  // Ensures at least n bytes are buffered; false on EOF/timeout/stop.
  bool fill(size_t n, std::chrono::milliseconds timeout = 10s) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (buf_.size() < n) {
      if (stopping_) return false;
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0) return false;
      pollfd p{fd_, POLLIN, 0};
      int rc = poll(&p, 1, static_cast<int>(std::min<long>(left.count(), 100)));
      if (rc <= 0) continue;
      char tmp[65536];
      ssize_t r = recv(fd_, tmp, std::min(sizeof tmp, max_read_), 0);
      if (r <= 0) return false;
      counter_ += static_cast<size_t>(r);
      buf_.append(tmp, static_cast<size_t>(r));
    }
    return true;
  }
  // Reads up to and including `delim`; false when it does not come.
  bool readUntil(const std::string& delim, std::string& out, size_t limit = 1 << 20) {
    size_t from = 0;
    while (true) {
      size_t at = buf_.find(delim, from);
      if (at != std::string::npos) {
        out = take(at + delim.size());
        return true;
      }
      if (buf_.size() > limit) return false;
      from = buf_.size() >= delim.size() ? buf_.size() - delim.size() + 1 : 0;
      if (!fill(buf_.size() + 1)) return false;
    }
  }
  std::string take(size_t n) {
    std::string out = buf_.substr(0, n);
    buf_.erase(0, n);
    return out;
  }
  bool hasBuffered() const { return !buf_.empty(); }
  void setMaxRead(size_t n) { max_read_ = n; }

 private:
  int fd_;
  const std::atomic<bool>& stopping_;
  std::atomic<size_t>& counter_;
  std::string buf_;
  size_t max_read_ = 65536;
};

bool sendAll(int fd, const std::string& data) {
  size_t off = 0;
  while (off < data.size()) {
    ssize_t n = send(fd, data.data() + off, data.size() - off, MSG_NOSIGNAL);
    if (n <= 0) return false;
    off += static_cast<size_t>(n);
  }
  return true;
}

std::string queryValue(const std::string& target, const std::string& key) {
  size_t q = target.find('?');
  if (q == std::string::npos) return "";
  std::string qs = target.substr(q + 1);
  size_t at = qs.find(key + "=");
  if (at == std::string::npos) return "";
  size_t end = qs.find('&', at);
  return qs.substr(at + key.size() + 1, end == std::string::npos ? std::string::npos : end - at - key.size() - 1);
}

bool startsWith(const std::string& s, const std::string& p) { return s.compare(0, p.size(), p) == 0; }

// The leading digits of `s` in `base` (16: a chunk-size line, extensions ignored; 10: a
// Content-Length). False when there is none or the value overflows: the backend then treats
// the message as malformed instead of throwing from its thread.
bool parseNumber(const std::string& s, int base, size_t& out) {
  out = 0;
  size_t i = 0;
  for (; i < s.size(); ++i) {
    int d;
    char c = s[i];
    if (c >= '0' && c <= '9') {
      d = c - '0';
    } else if (base == 16 && c >= 'a' && c <= 'f') {
      d = c - 'a' + 10;
    } else if (base == 16 && c >= 'A' && c <= 'F') {
      d = c - 'A' + 10;
    } else {
      break;
    }
    if (out > (static_cast<size_t>(-1) - static_cast<size_t>(d)) / static_cast<size_t>(base)) return false;
    out = out * static_cast<size_t>(base) + static_cast<size_t>(d);
  }
  return i > 0;
}

}  // namespace

std::string ReceivedRequest::header(const std::string& name) const {
  for (const auto& [n, v] : headers) {
    if (iequals(n, name)) return v;
  }
  return "";
}

bool ReceivedRequest::hasHeader(const std::string& name) const { return headerCount(name) > 0; }

size_t ReceivedRequest::headerCount(const std::string& name) const {
  size_t n = 0;
  for (const auto& h : headers) n += iequals(h.first, name) ? 1 : 0;
  return n;
}

FakeBackend::FakeBackend(std::string name, int port) : name_(std::move(name)) {
  listen_fd_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  int one = 1;
  setsockopt(listen_fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in sin{};
  sin.sin_family = AF_INET;
  sin.sin_port = htons(static_cast<uint16_t>(port));
  inet_pton(AF_INET, "127.0.0.1", &sin.sin_addr);
  bind(listen_fd_, reinterpret_cast<sockaddr*>(&sin), sizeof sin);
  listen(listen_fd_, 512);
  socklen_t len = sizeof sin;
  getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&sin), &len);
  port_ = ntohs(sin.sin_port);
  acceptor_ = std::thread([this] { acceptLoop(); });
}

FakeBackend::~FakeBackend() {
  stop();
  if (acceptor_.joinable()) acceptor_.join();
  std::vector<std::thread> ws;
  {
    std::lock_guard<std::mutex> lock(mu_);
    ws.swap(workers_);
  }
  for (auto& t : ws) t.join();
}

void FakeBackend::stop() {
  if (stopping_.exchange(true)) return;
  shutdown(listen_fd_, SHUT_RDWR);
  close(listen_fd_);
  std::lock_guard<std::mutex> lock(mu_);
  for (int fd : conn_fds_) shutdown(fd, SHUT_RDWR);
}

void FakeBackend::closeConnections() {
  std::lock_guard<std::mutex> lock(mu_);
  for (int fd : conn_fds_) shutdown(fd, SHUT_RDWR);
}

void FakeBackend::acceptLoop() {
  while (!stopping_) {
    pollfd p{listen_fd_, POLLIN, 0};
    if (poll(&p, 1, 100) <= 0) continue;
    int fd = accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (fd < 0) continue;
    int id = ++connections_;
    std::lock_guard<std::mutex> lock(mu_);
    conn_fds_.push_back(fd);
    workers_.emplace_back([this, fd, id] { serve(fd, id); });
  }
}

void FakeBackend::serve(int fd, int conn_id) {
  Reader rd(fd, stopping_, bytes_received_);
  while (!stopping_) {
    ReceivedRequest req;
    req.connection = conn_id;
    std::string head;
    if (!rd.readUntil("\r\n\r\n", head)) break;
    req.raw = head;
    size_t line_end = head.find("\r\n");
    std::string line = head.substr(0, line_end);
    size_t sp1 = line.find(' '), sp2 = line.rfind(' ');
    req.method = line.substr(0, sp1);
    req.target = line.substr(sp1 + 1, sp2 - sp1 - 1);
    size_t pos = line_end + 2;
    while (pos < head.size() - 2) {
      size_t eol = head.find("\r\n", pos);
      std::string h = head.substr(pos, eol - pos);
      size_t colon = h.find(':');
      std::string v = colon == std::string::npos ? "" : h.substr(colon + 1);
      while (!v.empty() && (v.front() == ' ' || v.front() == '\t')) v.erase(0, 1);
      while (!v.empty() && (v.back() == ' ' || v.back() == '\t')) v.pop_back();
      req.headers.emplace_back(h.substr(0, colon), v);
      pos = eol + 2;
    }
    std::string tag = "X-Backend: " + name_ + "\r\n";
    const std::string& t = req.target;
    if (startsWith(t, "/close-early")) break;
    bool expect = iequals(req.header("Expect"), "100-continue") || startsWith(t, "/continue");
    if (expect) sendAll(fd, "HTTP/1.1 100 Continue\r\n\r\n");
    // The body.
    bool ok = true;
    if (startsWith(t, "/slow-read")) {
      rd.setMaxRead(4096);
    }
    int slow_ms = startsWith(t, "/slow-read") ? atoi(queryValue(t, "ms").c_str()) : 0;
    if (iequals(req.header("Transfer-Encoding"), "chunked")) {
      req.chunked = true;
      while (ok) {
        std::string size_line;
        ok = rd.readUntil("\r\n", size_line);
        if (!ok) break;
        req.raw += size_line;
        size_t n = 0;
        if (!parseNumber(size_line, 16, n) || n > (1u << 30)) {
          ok = false;
          break;
        }
        if (n == 0) {
          std::string trailer;
          while ((ok = rd.readUntil("\r\n", trailer))) {
            req.raw += trailer;
            if (trailer == "\r\n") break;
          }
          break;
        }
        ok = rd.fill(n + 2);
        if (!ok) break;
        std::string data = rd.take(n + 2);
        req.raw += data;
        req.body += data.substr(0, n);
      }
    } else if (!req.header("Content-Length").empty()) {
      size_t n = 0;
      ok = parseNumber(req.header("Content-Length"), 10, n);
      bool sink = startsWith(t, "/sink");  // count only: for very large bodies
      size_t got = 0;
      while (ok && got < n) {
        size_t step = std::min<size_t>(n - got, slow_ms > 0 ? 4096 : 1 << 20);
        ok = rd.fill(step, 30s);
        if (!ok) break;
        std::string part = rd.take(step);
        got += part.size();
        if (!sink) req.body += part;
        // Simulated slow behaviour: /slow-read takes 4 KiB every `ms`.
        if (slow_ms > 0) std::this_thread::sleep_for(std::chrono::milliseconds(slow_ms));
      }
      if (sink) req.body = std::to_string(got);
      req.raw += sink ? std::string() : req.body;
    }
    if (!ok) {
      std::lock_guard<std::mutex> lock(mu_);
      ++incomplete_;
      break;
    }
    {
      std::lock_guard<std::mutex> lock(mu_);
      requests_.push_back(req);
    }
    cv_.notify_all();
    std::string resp;
    if (startsWith(t, "/stall")) {
      while (!stopping_) std::this_thread::sleep_for(20ms);  // simulated: never answers
      break;
    } else if (startsWith(t, "/sink")) {
      resp = "HTTP/1.1 200 OK\r\n" + tag + "Content-Length: " + std::to_string(req.body.size()) +
             "\r\n\r\n" + req.body;
    } else if (startsWith(t, "/echo")) {
      resp = "HTTP/1.1 200 OK\r\n" + tag + "Content-Length: " + std::to_string(req.body.size()) +
             "\r\n\r\n" + req.body;
    } else if (startsWith(t, "/big")) {
      size_t n = std::stoul(queryValue(t, "bytes"));
      if (!sendAll(fd, "HTTP/1.1 200 OK\r\n" + tag + "Content-Length: " + std::to_string(n) + "\r\n\r\n")) break;
      std::string block(1 << 16, 'z');
      size_t sent = 0;
      while (sent < n && !stopping_) {
        size_t step = std::min(block.size(), n - sent);
        if (!sendAll(fd, block.substr(0, step))) break;
        sent += step;
      }
      continue;
    } else if (startsWith(t, "/chunked")) {
      resp = "HTTP/1.1 200 OK\r\n" + tag + "Transfer-Encoding: chunked\r\nTrailer: X-Sum\r\n\r\n"
             "5;ext=1\r\nhello\r\n1\r\n \r\n5\r\nworld\r\n0\r\nX-Sum: 11\r\n\r\n";
    } else if (startsWith(t, "/close-delimited")) {
      sendAll(fd, "HTTP/1.1 200 OK\r\n" + tag + "Connection: close\r\n\r\nuntil the end");
      break;
    } else if (startsWith(t, "/die-mid-body")) {
      sendAll(fd, "HTTP/1.1 200 OK\r\n" + tag + "Content-Length: 1000\r\n\r\n" + std::string(500, 'd'));
      break;
    } else if (startsWith(t, "/garbage")) {
      sendAll(fd, "this is not http\r\n\r\n");
      break;
    } else if (startsWith(t, "/cl-te-keep")) {
      // The same malformed answer, but the connection stays open and serves on: a proxy that
      // reused it would send its next request here.
      if (!sendAll(fd, "HTTP/1.1 200 OK\r\n" + tag +
                           "Content-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"))
        break;
      continue;
    } else if (startsWith(t, "/cl-te")) {
      sendAll(fd, "HTTP/1.1 200 OK\r\n" + tag +
                      "Content-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n");
      break;
    } else if (startsWith(t, "/hop-response")) {
      resp = "HTTP/1.1 200 OK\r\n" + tag +
             "Connection: X-Hop, keep-alive\r\nX-Hop: secret\r\nKeep-Alive: timeout=5\r\n"
             "Proxy-Connection: keep-alive\r\nTE: trailers\r\nUpgrade: h2c\r\n"
             "X-End: kept\r\nContent-Length: 2\r\n\r\nok";
    } else if (startsWith(t, "/delay")) {
      auto until = std::chrono::steady_clock::now() +
                   std::chrono::milliseconds(atoi(queryValue(t, "ms").c_str()));
      // Simulated slow behaviour: the answer comes `ms` late.
      while (!stopping_ && std::chrono::steady_clock::now() < until) std::this_thread::sleep_for(5ms);
      resp = "HTTP/1.1 200 OK\r\n" + tag + "Content-Length: 7\r\n\r\ndelayed";
    } else if (startsWith(t, "/bad-chunk")) {
      sendAll(fd, "HTTP/1.1 200 OK\r\n" + tag + "Transfer-Encoding: chunked\r\n\r\nzz\r\nxx\r\n");
      break;
    } else if (startsWith(t, "/ws")) {
      sendAll(fd, "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n");
      // Echo whatever comes, until the peer closes.
      std::string rest = rd.take(std::string::npos);
      if (!rest.empty()) sendAll(fd, rest);
      char buf[4096];
      while (!stopping_) {
        pollfd p{fd, POLLIN, 0};
        if (poll(&p, 1, 100) <= 0) continue;
        ssize_t n = recv(fd, buf, sizeof buf, 0);
        if (n <= 0) break;
        sendAll(fd, std::string(buf, static_cast<size_t>(n)));
      }
      break;
    } else if (startsWith(t, "/trickle")) {
      // 200 bytes, one every 10 ms.
      if (!sendAll(fd, "HTTP/1.1 200 OK\r\n" + tag + "Content-Length: 200\r\n\r\n")) break;
      bool sent_all = true;
      for (int i = 0; i < 200 && !stopping_ && sent_all; ++i) {
        sent_all = sendAll(fd, "t");
        std::this_thread::sleep_for(10ms);  // simulated slow behaviour: a byte every 10 ms
      }
      if (!sent_all) break;
      continue;
    } else if (startsWith(t, "/close-on-next")) {
      // A keep-alive answer; then, when the next request's first bytes arrive, the backend
      // closes with them unread (a reset): a keep-alive timeout firing as a request leaves.
      if (!sendAll(fd, "HTTP/1.1 200 OK\r\n" + tag + "Content-Length: 2\r\n\r\nok")) break;
      pollfd p{fd, POLLIN, 0};
      auto until = std::chrono::steady_clock::now() + 10s;
      while (!stopping_ && std::chrono::steady_clock::now() < until && poll(&p, 1, 50) == 0) {
      }
      break;
    } else if (startsWith(t, "/close-after")) {
      // A keep-alive answer, then the backend closes the idle connection anyway (as backends
      // with a short keep-alive timeout do).
      auto until = std::chrono::steady_clock::now() +
                   std::chrono::milliseconds(atoi(queryValue(t, "ms").c_str()));
      // Simulated slow behaviour: the answer comes `ms` late.
      while (!stopping_ && std::chrono::steady_clock::now() < until) std::this_thread::sleep_for(5ms);
      sendAll(fd, "HTTP/1.1 200 OK\r\n" + tag + "Content-Length: 2\r\n\r\nok");
      break;
    } else if (startsWith(t, "/healthz")) {
      resp = "HTTP/1.1 200 OK\r\n" + tag + "Content-Length: 2\r\n\r\nok";
    } else {
      std::string body = req.method + " " + req.target + " body=" + std::to_string(req.body.size());
      std::string status = startsWith(t, "/status/") ? t.substr(8, 3) : "200";
      if (status == "204" || status == "304") {
        // ?cl=N / ?te=1: framing headers that a bodiless status must not be read by.
        std::string framing;
        if (!queryValue(t, "cl").empty()) framing += "Content-Length: " + queryValue(t, "cl") + "\r\n";
        if (!queryValue(t, "te").empty()) framing += "Transfer-Encoding: chunked\r\n";
        resp = "HTTP/1.1 " + status + " X\r\n" + tag + framing + "\r\n";
      } else {
        resp = "HTTP/1.1 " + status + " X\r\n" + tag + "Content-Length: " +
               std::to_string(body.size()) + "\r\n\r\n" + body;
        if (req.method == "HEAD") resp = resp.substr(0, resp.size() - body.size());
      }
    }
    if (!sendAll(fd, resp)) break;
    if (iequals(req.header("Connection"), "close")) break;
  }
  {
    std::lock_guard<std::mutex> lock(mu_);
    conn_fds_.erase(std::remove(conn_fds_.begin(), conn_fds_.end(), fd), conn_fds_.end());
  }
  close(fd);
}

std::vector<ReceivedRequest> FakeBackend::requests() const {
  std::lock_guard<std::mutex> lock(mu_);
  return requests_;
}

size_t FakeBackend::requestCount() const {
  std::lock_guard<std::mutex> lock(mu_);
  return requests_.size();
}

size_t FakeBackend::openConnections() const {
  std::lock_guard<std::mutex> lock(mu_);
  return conn_fds_.size();
}

size_t FakeBackend::incompleteRequests() const {
  std::lock_guard<std::mutex> lock(mu_);
  return incomplete_;
}

bool FakeBackend::waitForRequests(size_t n, std::chrono::milliseconds timeout) const {
  std::unique_lock<std::mutex> lock(mu_);
  return cv_.wait_for(lock, timeout, [&] { return requests_.size() >= n; });
}

void FakeBackend::clear() {
  std::lock_guard<std::mutex> lock(mu_);
  requests_.clear();
  incomplete_ = 0;
}

}  // namespace detour::test
