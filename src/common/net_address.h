#pragma once

#include <netinet/in.h>
#include <sys/socket.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace detour {

// A parsed "host:port" where host is a literal IPv4 or bracketed IPv6 address
// ("0.0.0.0:8080", "[::1]:8443"). Pure value type.
struct SocketAddress {
  sockaddr_storage storage{};
  socklen_t length = 0;

  int family() const { return storage.ss_family; }
  uint16_t port() const;
  void setPort(uint16_t port);
  const sockaddr* sockaddrPtr() const { return reinterpret_cast<const sockaddr*>(&storage); }
  // "127.0.0.1:8080" or "[::1]:8080".
  std::string toString() const;

  // Parses "IPv4:port" or "[IPv6]:port" strictly: port 0..65535 in decimal, no spaces.
  // Returns nullopt on anything else (names are not resolved here).
  static std::optional<SocketAddress> parse(std::string_view text);
  // Builds from a kernel-filled sockaddr (accept/getsockname).
  static SocketAddress fromSockaddr(const sockaddr* sa, socklen_t len);
};

// True for 0.0.0.0 and [::] (any port).
bool isWildcardAddress(const SocketAddress& a);
// Whether two listen addresses would take the same connections: the same port (not 0) and
// family (detour's IPv6 listeners are IPV6_V6ONLY), and the same address or a wildcard on
// either side.
bool listenAddressesOverlap(const SocketAddress& a, const SocketAddress& b);

// "host:port" where host may be a DNS name; the port is required. Used for backends.
struct HostPort {
  std::string host;  // without brackets for IPv6
  uint16_t port = 0;
  // Splits strictly; returns nullopt when the port is missing or invalid or host is empty.
  static std::optional<HostPort> parse(std::string_view text);
};

// An IPv4 or IPv6 network in CIDR notation ("10.0.0.0/8", "::1/128"). A bare address means
// a single host (/32 or /128).
struct Cidr {
  int family = AF_UNSPEC;
  uint8_t bytes[16]{};
  int prefix_len = 0;

  // Strict: the address must be literal and the prefix within range; host bits beyond the
  // prefix must be zero ("10.0.0.1/8" is rejected as ambiguous).
  static std::optional<Cidr> parse(std::string_view text, std::string* error = nullptr);
  // True when sa (AF_INET or AF_INET6; IPv4-mapped IPv6 counts as IPv4) lies in this network.
  bool contains(const sockaddr* sa) const;
  std::string toString() const;
};

}  // namespace detour
