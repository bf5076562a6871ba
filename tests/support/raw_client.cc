#include "support/raw_client.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>

namespace detour::test {
namespace {

bool iequals(const std::string& a, const std::string& b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return tolower(static_cast<unsigned char>(x)) == tolower(static_cast<unsigned char>(y));
         });
}

}  // namespace

RawClient::RawClient(int port) {
  fd_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in sin{};
  sin.sin_family = AF_INET;
  sin.sin_port = htons(static_cast<uint16_t>(port));
  inet_pton(AF_INET, "127.0.0.1", &sin.sin_addr);
  if (connect(fd_, reinterpret_cast<sockaddr*>(&sin), sizeof sin) != 0) {
    close(fd_);
    fd_ = -1;
  }
}

RawClient::~RawClient() {
  if (fd_ >= 0) close(fd_);
}

bool RawClient::send(const std::string& bytes) {
  size_t off = 0;
  while (off < bytes.size()) {
    ssize_t n = ::send(fd_, bytes.data() + off, bytes.size() - off, MSG_NOSIGNAL);
    if (n <= 0) return false;
    off += static_cast<size_t>(n);
  }
  return true;
}

void RawClient::shutdownWrite() { shutdown(fd_, SHUT_WR); }

std::string RawClient::readAll(std::chrono::milliseconds quiet, std::chrono::milliseconds total) {
  std::string out = std::move(buffered_);
  buffered_.clear();
  auto deadline = std::chrono::steady_clock::now() + total;
  char buf[65536];
  while (!peer_closed_) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) break;
    pollfd p{fd_, POLLIN, 0};
    int wait = static_cast<int>(std::min(left, quiet).count());
    if (poll(&p, 1, wait) <= 0) break;
    ssize_t n = recv(fd_, buf, sizeof buf, 0);
    if (n <= 0) {
      peer_closed_ = true;
      break;
    }
    out.append(buf, static_cast<size_t>(n));
  }
  return out;
}

std::string RawClient::readResponses(size_t n, std::chrono::milliseconds timeout,
                                     const std::vector<size_t>& head_only_for) {
  std::string out = std::move(buffered_);
  buffered_.clear();
  auto deadline = std::chrono::steady_clock::now() + timeout;
  char buf[65536];
  while (parseResponses(out, head_only_for).size() < n && !peer_closed_) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) break;
    pollfd p{fd_, POLLIN, 0};
    if (poll(&p, 1, static_cast<int>(left.count())) <= 0) break;
    ssize_t r = recv(fd_, buf, sizeof buf, 0);
    if (r <= 0) {
      peer_closed_ = true;
      break;
    }
    out.append(buf, static_cast<size_t>(r));
  }
  return out;
}

bool RawClient::waitClosed(std::chrono::milliseconds timeout) {
  buffered_ += readAll(timeout, timeout);
  return peer_closed_;
}

std::string HttpResponse::header(const std::string& name) const {
  for (const auto& [n, v] : headers) {
    if (iequals(n, name)) return v;
  }
  return "";
}

bool HttpResponse::hasHeader(const std::string& name) const {
  for (const auto& [n, v] : headers) {
    if (iequals(n, name)) return true;
  }
  return false;
}

std::vector<HttpResponse> parseResponses(const std::string& bytes,
                                         const std::vector<size_t>& head_only_for) {
  std::vector<HttpResponse> out;
  size_t off = 0;
  while (off < bytes.size()) {
    size_t end = bytes.find("\r\n\r\n", off);
    if (end == std::string::npos) break;
    HttpResponse r;
    std::string head = bytes.substr(off, end - off);
    size_t line_end = head.find("\r\n");
    r.status_line = head.substr(0, line_end);
    if (r.status_line.size() >= 12) r.status = atoi(r.status_line.c_str() + 9);
    size_t pos = line_end == std::string::npos ? head.size() : line_end + 2;
    while (pos < head.size()) {
      size_t eol = head.find("\r\n", pos);
      if (eol == std::string::npos) eol = head.size();
      std::string line = head.substr(pos, eol - pos);
      size_t colon = line.find(':');
      if (colon != std::string::npos) {
        std::string v = line.substr(colon + 1);
        while (!v.empty() && v.front() == ' ') v.erase(0, 1);
        r.headers.emplace_back(line.substr(0, colon), v);
      }
      pos = eol + 2;
    }
    size_t body_start = end + 4;
    bool head_only = std::find(head_only_for.begin(), head_only_for.end(), out.size()) !=
                     head_only_for.end();
    bool interim = r.status >= 100 && r.status < 200;
    size_t body_len = 0;
    if (!head_only && !interim && r.status != 204 && r.status != 304) {
      if (r.hasHeader("Content-Length")) {
        body_len = std::stoul(r.header("Content-Length"));
        if (body_start + body_len > bytes.size()) break;  // incomplete
      } else {
        body_len = bytes.size() - body_start;
      }
    }
    r.body = bytes.substr(body_start, body_len);
    r.raw = bytes.substr(off, body_start + body_len - off);
    off = body_start + body_len;
    out.push_back(std::move(r));
  }
  return out;
}

HttpResponse httpCall(int port, const std::string& method, const std::string& path,
                      const std::string& body, const std::string& extra_headers) {
  RawClient c(port);
  std::string req = method + " " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n" +
                    extra_headers;
  if (!body.empty() || method == "PUT" || method == "POST") {
    req += "Content-Length: " + std::to_string(body.size()) + "\r\n";
  }
  req += "\r\n" + body;
  if (!c.connected() || !c.send(req)) return {};
  auto rs = parseResponses(c.readAll(std::chrono::milliseconds(2000), std::chrono::milliseconds(5000)));
  return rs.empty() ? HttpResponse{} : rs[0];
}

}  // namespace detour::test
