#include "common/net_address.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>

namespace detour {
namespace {

TEST(SocketAddress, ParsesIpv4AndIpv6Strictly) {
  auto a = SocketAddress::parse("127.0.0.1:8080");
  ASSERT_TRUE(a);
  EXPECT_EQ(a->family(), AF_INET);
  EXPECT_EQ(a->port(), 8080);
  EXPECT_EQ(a->toString(), "127.0.0.1:8080");
  auto b = SocketAddress::parse("[::1]:0");
  ASSERT_TRUE(b);
  EXPECT_EQ(b->family(), AF_INET6);
  EXPECT_EQ(b->toString(), "[::1]:0");
  for (const char* bad : {"localhost:80", "127.0.0.1", "127.0.0.1:", "127.0.0.1:65536",
                          "127.0.0.1:-1", "::1:80", "[::1]80", " 127.0.0.1:80", "1.2.3:80",
                          "127.0.0.1:080808"}) {
    EXPECT_FALSE(SocketAddress::parse(bad)) << bad;
  }
}

TEST(HostPort, RequiresPortAndBracketsForIpv6) {
  auto a = HostPort::parse("backend.internal:9001");
  ASSERT_TRUE(a);
  EXPECT_EQ(a->host, "backend.internal");
  EXPECT_EQ(a->port, 9001);
  auto b = HostPort::parse("[::1]:9001");
  ASSERT_TRUE(b);
  EXPECT_EQ(b->host, "::1");
  for (const char* bad : {"backend", "backend:", ":80", "a b:80", "backend:0", "::1:80"}) {
    EXPECT_FALSE(HostPort::parse(bad)) << bad;
  }
}

sockaddr_storage v4(const char* ip) {
  sockaddr_storage ss{};
  auto* sin = reinterpret_cast<sockaddr_in*>(&ss);
  sin->sin_family = AF_INET;
  inet_pton(AF_INET, ip, &sin->sin_addr);
  return ss;
}

sockaddr_storage v6(const char* ip) {
  sockaddr_storage ss{};
  auto* sin6 = reinterpret_cast<sockaddr_in6*>(&ss);
  sin6->sin6_family = AF_INET6;
  inet_pton(AF_INET6, ip, &sin6->sin6_addr);
  return ss;
}

TEST(Cidr, ContainsHonoursPrefixAndMappedAddresses) {
  auto net = Cidr::parse("10.1.0.0/16");
  ASSERT_TRUE(net);
  auto in = v4("10.1.200.3");
  auto out = v4("10.2.0.1");
  auto mapped = v6("::ffff:10.1.0.9");
  EXPECT_TRUE(net->contains(reinterpret_cast<sockaddr*>(&in)));
  EXPECT_FALSE(net->contains(reinterpret_cast<sockaddr*>(&out)));
  EXPECT_TRUE(net->contains(reinterpret_cast<sockaddr*>(&mapped)));
  auto host = Cidr::parse("::1");
  ASSERT_TRUE(host);
  EXPECT_EQ(host->prefix_len, 128);
  auto lo = v6("::1");
  EXPECT_TRUE(host->contains(reinterpret_cast<sockaddr*>(&lo)));
  auto odd = Cidr::parse("10.0.0.0/12");
  ASSERT_TRUE(odd);
  auto in12 = v4("10.15.255.255");
  EXPECT_TRUE(odd->contains(reinterpret_cast<sockaddr*>(&in12)));
}

TEST(Cidr, RejectsMalformed) {
  std::string why;
  EXPECT_FALSE(Cidr::parse("10.0.0.1/8", &why));
  EXPECT_NE(why.find("bits set"), std::string::npos);
  for (const char* bad : {"10.0.0.0/33", "10.0.0.0/", "10.0.0.0/-1", "example.com/8", "::/129",
                          "10.0.0.0/ 8"}) {
    EXPECT_FALSE(Cidr::parse(bad)) << bad;
  }
}

}  // namespace
}  // namespace detour
