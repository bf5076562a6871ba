#pragma once

// A blocking loopback client for exact-bytes tests, bounded by timeouts.

#include <chrono>
#include <string>
#include <vector>

namespace detour::test {

class RawClient {
 public:
  // Connects to 127.0.0.1:port; connected() tells whether it worked.
  explicit RawClient(int port);
  ~RawClient();
  RawClient(const RawClient&) = delete;
  RawClient& operator=(const RawClient&) = delete;

  bool connected() const { return fd_ >= 0; }
  int fd() const { return fd_; }
  // Sends all bytes; false on error.
  bool send(const std::string& bytes);
  // Half-closes the sending side.
  void shutdownWrite();
  // Reads until the peer closes, or until `quiet` passes with no data, or `total` passes.
  std::string readAll(std::chrono::milliseconds quiet = std::chrono::milliseconds(1000),
                      std::chrono::milliseconds total = std::chrono::milliseconds(5000));
  // Reads until `n` complete HTTP responses (Content-Length framed, or ended by close) have
  // arrived, or the timeout passes. Returns the raw bytes.
  std::string readResponses(size_t n, std::chrono::milliseconds timeout = std::chrono::seconds(5),
                            const std::vector<size_t>& head_only_for = {});
  // True when the peer has closed the connection (EOF seen while reading).
  bool peerClosed() const { return peer_closed_; }
  // Waits until the peer closes (reading and keeping any bytes); returns whether it did.
  bool waitClosed(std::chrono::milliseconds timeout);

 private:
  int fd_ = -1;
  bool peer_closed_ = false;
  std::string buffered_;
};

// One parsed HTTP/1.1 response (for tests).
struct HttpResponse {
  int status = 0;
  std::string status_line;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  std::string raw;  // the exact bytes of this response
  // First header value (case-insensitive name), or "" when absent.
  std::string header(const std::string& name) const;
  bool hasHeader(const std::string& name) const;
};

// Splits `bytes` into complete responses (Content-Length bodies; a response without length
// takes the rest). `head_only_for` lists indexes of responses to HEAD requests.
std::vector<HttpResponse> parseResponses(const std::string& bytes,
                                         const std::vector<size_t>& head_only_for = {});

// One request on a fresh connection (Connection: close); the parsed response, or status 0.
HttpResponse httpCall(int port, const std::string& method, const std::string& path,
                      const std::string& body = "", const std::string& extra_headers = "");

}  // namespace detour::test
