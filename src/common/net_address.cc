#include "common/net_address.h"

#include <arpa/inet.h>

#include <cstring>

#include "common/string_util.h"

namespace detour {

uint16_t SocketAddress::port() const {
  if (family() == AF_INET) return ntohs(reinterpret_cast<const sockaddr_in*>(&storage)->sin_port);
  if (family() == AF_INET6) return ntohs(reinterpret_cast<const sockaddr_in6*>(&storage)->sin6_port);
  return 0;
}

void SocketAddress::setPort(uint16_t port) {
  if (family() == AF_INET) reinterpret_cast<sockaddr_in*>(&storage)->sin_port = htons(port);
  if (family() == AF_INET6) reinterpret_cast<sockaddr_in6*>(&storage)->sin6_port = htons(port);
}

bool isWildcardAddress(const SocketAddress& a) {
  if (a.family() == AF_INET) {
    return reinterpret_cast<const sockaddr_in*>(&a.storage)->sin_addr.s_addr == htonl(INADDR_ANY);
  }
  const auto* sin6 = reinterpret_cast<const sockaddr_in6*>(&a.storage);
  return a.family() == AF_INET6 && IN6_IS_ADDR_UNSPECIFIED(&sin6->sin6_addr);
}

bool listenAddressesOverlap(const SocketAddress& a, const SocketAddress& b) {
  if (a.port() == 0 || a.port() != b.port() || a.family() != b.family()) return false;
  return isWildcardAddress(a) || isWildcardAddress(b) || a.toString() == b.toString();
}

std::string SocketAddress::toString() const {
  char buf[INET6_ADDRSTRLEN] = {};
  if (family() == AF_INET) {
    inet_ntop(AF_INET, &reinterpret_cast<const sockaddr_in*>(&storage)->sin_addr, buf, sizeof buf);
    return std::string(buf) + ":" + std::to_string(port());
  }
  if (family() == AF_INET6) {
    inet_ntop(AF_INET6, &reinterpret_cast<const sockaddr_in6*>(&storage)->sin6_addr, buf,
              sizeof buf);
    std::string out = "[";
    out.append(buf);
    out.append("]:");
    out.append(std::to_string(port()));
    return out;
  }
  return "?";
}

namespace {

std::optional<uint16_t> parsePort(std::string_view s) {
  if (s.empty() || s.size() > 5) return std::nullopt;
  auto v = parseDecimal(s);
  if (!v || *v > 65535) return std::nullopt;
  return static_cast<uint16_t>(*v);
}

}  // namespace

std::optional<SocketAddress> SocketAddress::parse(std::string_view text) {
  SocketAddress out;
  std::string host;
  std::string_view port_text;
  if (!text.empty() && text.front() == '[') {
    size_t close = text.find(']');
    if (close == std::string_view::npos || close + 1 >= text.size() || text[close + 1] != ':')
      return std::nullopt;
    host = std::string(text.substr(1, close - 1));
    port_text = text.substr(close + 2);
    auto port = parsePort(port_text);
    if (!port) return std::nullopt;
    auto* sin6 = reinterpret_cast<sockaddr_in6*>(&out.storage);
    if (inet_pton(AF_INET6, host.c_str(), &sin6->sin6_addr) != 1) return std::nullopt;
    sin6->sin6_family = AF_INET6;
    sin6->sin6_port = htons(*port);
    out.length = sizeof(sockaddr_in6);
    return out;
  }
  size_t colon = text.rfind(':');
  if (colon == std::string_view::npos) return std::nullopt;
  host = std::string(text.substr(0, colon));
  auto port = parsePort(text.substr(colon + 1));
  if (!port) return std::nullopt;
  auto* sin = reinterpret_cast<sockaddr_in*>(&out.storage);
  if (inet_pton(AF_INET, host.c_str(), &sin->sin_addr) != 1) return std::nullopt;
  sin->sin_family = AF_INET;
  sin->sin_port = htons(*port);
  out.length = sizeof(sockaddr_in);
  return out;
}

SocketAddress SocketAddress::fromSockaddr(const sockaddr* sa, socklen_t len) {
  SocketAddress out;
  if (len > sizeof(out.storage)) len = sizeof(out.storage);
  std::memcpy(&out.storage, sa, len);
  out.length = len;
  return out;
}

std::optional<HostPort> HostPort::parse(std::string_view text) {
  HostPort out;
  std::string_view port_text;
  if (!text.empty() && text.front() == '[') {
    size_t close = text.find(']');
    if (close == std::string_view::npos || close + 1 >= text.size() || text[close + 1] != ':')
      return std::nullopt;
    out.host = std::string(text.substr(1, close - 1));
    port_text = text.substr(close + 2);
  } else {
    size_t colon = text.rfind(':');
    if (colon == std::string_view::npos) return std::nullopt;
    out.host = std::string(text.substr(0, colon));
    port_text = text.substr(colon + 1);
    if (out.host.find(':') != std::string::npos) return std::nullopt;  // IPv6 needs brackets
  }
  auto port = parsePort(port_text);
  if (!port || *port == 0 || out.host.empty()) return std::nullopt;
  for (char c : out.host) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '-' || c == ':' || c == '_';
    if (!ok) return std::nullopt;
  }
  out.port = *port;
  return out;
}

std::optional<Cidr> Cidr::parse(std::string_view text, std::string* error) {
  auto fail = [&](const char* why) -> std::optional<Cidr> {
    if (error != nullptr) *error = why;
    return std::nullopt;
  };
  Cidr out;
  std::string addr(text);
  int max_len = 0;
  size_t slash = text.find('/');
  if (slash != std::string_view::npos) addr = std::string(text.substr(0, slash));
  if (inet_pton(AF_INET, addr.c_str(), out.bytes) == 1) {
    out.family = AF_INET;
    max_len = 32;
  } else if (inet_pton(AF_INET6, addr.c_str(), out.bytes) == 1) {
    out.family = AF_INET6;
    max_len = 128;
  } else {
    return fail("not an IPv4 or IPv6 address");
  }
  out.prefix_len = max_len;
  if (slash != std::string_view::npos) {
    std::string_view digits = text.substr(slash + 1);
    // "/08" is refused like a port "08080": one spelling per value.
    if (digits.size() > 1 && digits[0] == '0') {
      size_t first = digits.find_first_not_of('0');
      std::string bare(first == std::string_view::npos ? "0" : digits.substr(first));
      if (error != nullptr) {
        *error = "prefix length has a leading zero: write /" + bare + ", not /" +
                 std::string(digits);
      }
      return std::nullopt;
    }
    auto len = parseDecimal(digits);
    if (!len || *len > static_cast<uint64_t>(max_len) || text.size() - slash - 1 > 3)
      return fail("prefix length out of range");
    out.prefix_len = static_cast<int>(*len);
  }
  for (int bit = out.prefix_len; bit < max_len; ++bit) {
    if (out.bytes[bit / 8] & (0x80 >> (bit % 8))) return fail("address has bits set beyond the prefix length");
  }
  return out;
}

bool Cidr::contains(const sockaddr* sa) const {
  const uint8_t* addr = nullptr;
  int fam = sa->sa_family;
  if (fam == AF_INET) {
    addr = reinterpret_cast<const uint8_t*>(&reinterpret_cast<const sockaddr_in*>(sa)->sin_addr);
  } else if (fam == AF_INET6) {
    addr = reinterpret_cast<const uint8_t*>(&reinterpret_cast<const sockaddr_in6*>(sa)->sin6_addr);
    static constexpr uint8_t kMapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    if (family == AF_INET && std::memcmp(addr, kMapped, 12) == 0) {
      addr += 12;
      fam = AF_INET;
    }
  } else {
    return false;
  }
  if (fam != family) return false;
  int full = prefix_len / 8;
  if (std::memcmp(addr, bytes, full) != 0) return false;
  int rest = prefix_len % 8;
  if (rest == 0) return true;
  uint8_t mask = static_cast<uint8_t>(0xff << (8 - rest));
  return (addr[full] & mask) == (bytes[full] & mask);
}

std::string Cidr::toString() const {
  char buf[INET6_ADDRSTRLEN] = {};
  inet_ntop(family, bytes, buf, sizeof buf);
  return std::string(buf) + "/" + std::to_string(prefix_len);
}

}  // namespace detour
