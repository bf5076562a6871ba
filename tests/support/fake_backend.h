#pragma once

// A scriptable HTTP/1.1 backend for integration tests, run in the test process on
// 127.0.0.1:0 (one thread per connection, blocking sockets, bounded by timeouts). It records
// every request exactly as received (raw bytes, framing included) and answers according to
// the request path:
//
//   /echo...          200, body = the decoded request body
//   /sink...          reads a Content-Length body without keeping it; body = its length
//   /big?bytes=N      200 with N bytes (Content-Length), written as fast as the peer reads
//   /chunked...       200 chunked: three chunks and a trailer
//   /close-delimited  200 without length, body then close
//   /stall            reads the request, never answers (until the test ends)
//   /close-early      closes after the head, before any answer
//   /die-mid-body     sends half of a 1000-byte Content-Length body, then closes
//   /garbage          answers bytes that are not HTTP
//   /cl-te            answers with both Content-Length and Transfer-Encoding
//   /cl-te-keep       the /cl-te answer, then the connection stays open and serves on
//   /bad-chunk        a chunked answer with an invalid chunk size
//   /hop-response     200 "ok" whose head carries hop-by-hop fields (Connection-named,
//                     Keep-Alive, Proxy-Connection, TE, Upgrade) and X-End: kept
//   /delay?ms=M       200 "delayed" after M ms
//   /slow-read?ms=M   reads the request body 4 KiB every M ms, then answers 200
//   /continue         sends 100 Continue before reading the body (also done for any request
//                     with Expect: 100-continue)
//   /ws               answers 101 Switching Protocols, then echoes bytes both ways
//   /close-after      200 "ok" (keep-alive), then closes the connection (?ms=M: after M ms)
//   /close-on-next    200 "ok" (keep-alive), then closes (a reset) when the next request
//                     arrives, without reading it
//   /trickle          200 with a 200-byte body sent one byte every 10 ms
//   /healthz          200 "ok"
//   /status/NNN       that status; 204 and 304 without body (?cl=N adds Content-Length: N,
//                     ?te=1 Transfer-Encoding: chunked, still without body)
//   anything else     200, body "METHOD TARGET body=LEN"
//
// Every answer carries "X-Backend: NAME".

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace detour::test {

struct ReceivedRequest {
  std::string raw;       // head and body exactly as received (chunk framing included)
  std::string method;
  std::string target;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;      // decoded body
  bool chunked = false;
  int connection = 0;    // which accepted connection (1, 2, ...)

  std::string header(const std::string& name) const;
  bool hasHeader(const std::string& name) const;
  size_t headerCount(const std::string& name) const;
};

class FakeBackend {
 public:
  // Listens on 127.0.0.1:`port` (0 = an ephemeral port; a fixed port brings a stopped
  // backend back on its old address).
  explicit FakeBackend(std::string name = "b1", int port = 0);
  ~FakeBackend();
  FakeBackend(const FakeBackend&) = delete;
  FakeBackend& operator=(const FakeBackend&) = delete;

  int port() const { return port_; }
  const std::string& name() const { return name_; }
  std::string address() const { return "127.0.0.1:" + std::to_string(port_); }

  // Complete requests received so far (copies).
  std::vector<ReceivedRequest> requests() const;
  size_t requestCount() const;
  // Connections accepted so far.
  int connections() const { return connections_.load(); }
  // Connections open now.
  size_t openConnections() const;
  // Bytes received so far, over all connections.
  size_t bytesReceived() const { return bytes_received_.load(); }
  // Requests whose head arrived but whose body never completed.
  size_t incompleteRequests() const;
  // Waits until `n` complete requests arrived (deadline); returns whether they did.
  bool waitForRequests(size_t n, std::chrono::milliseconds timeout) const;
  // Stops accepting and closes every connection (a backend going down). Idempotent.
  void stop();
  // Closes every open connection (FIN both ways) and goes on accepting: what a backend's
  // keep-alive timeout does to idle connections.
  void closeConnections();
  void clear();

 private:
  void acceptLoop();
  void serve(int fd, int conn_id);

  std::string name_;
  int listen_fd_ = -1;
  int port_ = 0;
  std::atomic<bool> stopping_{false};
  std::atomic<int> connections_{0};
  std::atomic<size_t> bytes_received_{0};
  std::thread acceptor_;
  mutable std::mutex mu_;
  mutable std::condition_variable cv_;
  std::vector<ReceivedRequest> requests_;
  size_t incomplete_ = 0;
  std::vector<std::thread> workers_;
  std::vector<int> conn_fds_;
};

}  // namespace detour::test
