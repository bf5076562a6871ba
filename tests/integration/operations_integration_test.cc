// What an edge daemon that ops edit and reload must do: reload under load with no failed
// request (and a bad file changing nothing), the file watch seeing a Kubernetes ConfigMap's
// symlink swap, listeners opened and closed by a reload, a drain that lets an upload in
// flight finish, and log reopening for logrotate. These also run under ThreadSanitizer in CI.

#include <gtest/gtest.h>
#include <signal.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "support/detour_process.h"
#include "support/fake_backend.h"
#include "support/raw_client.h"

namespace detour::test {
namespace {

using namespace std::chrono_literals;

std::string replaceAll(std::string s, const std::string& from, const std::string& to) {
  for (size_t at = s.find(from); at != std::string::npos; at = s.find(from, at + to.size()))
    s.replace(at, from.size(), to);
  return s;
}

size_t countOf(const std::string& hay, const std::string& needle) {
  size_t n = 0;
  for (size_t at = hay.find(needle); at != std::string::npos; at = hay.find(needle, at + 1)) ++n;
  return n;
}

template <typename Pred>
bool eventually(Pred pred, std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (pred()) return true;
    std::this_thread::sleep_for(10ms);
  }
  return pred();
}

std::string configWith(const std::string& backend, const std::string& target,
                       const std::string& extra_listen = "") {
  return R"(version: 1
server:
  listen: ["127.0.0.1:0")" + extra_listen + R"(]
  workers: 2
  timeouts: { drain: 10s }
admin:
  listen: "127.0.0.1:0"
log: { level: info, access: off }
pools:
  app: { backends: [")" + backend + R"("], keepalive: 16 }
rules:
  - name: moved
    match: { path: /x }
    redirect: { to: )" + target + R"(, code: 307 }
  - name: app
    forward: { pool: app }
)";
}

TEST(Reload, FiftyReloadsUnderLoadFailNoRequest) {
  FakeBackend backend("b1");
  std::string a = configWith(backend.address(), "/a");
  std::string b = configWith(backend.address(), "/b");
  std::string bad = replaceAll(a, "redirect:", "redirekt:");
  DetourProcess d(a, {}, 10s, {"--no-watch"});
  ASSERT_TRUE(d.ready());
  std::atomic<bool> stop{false};
  std::atomic<int> ok{0}, failures{0};
  std::vector<std::thread> clients;
  for (int t = 0; t < 4; ++t) {
    clients.emplace_back([&, t] {
      RawClient c(d.port());
      int i = 0;
      while (!stop) {
        std::string body = "t" + std::to_string(t) + "-" + std::to_string(i++);
        bool redirect = i % 2 == 0;
        std::string req = redirect ? "POST /x HTTP/1.1\r\nHost: h\r\nContent-Length: " +
                                         std::to_string(body.size()) + "\r\n\r\n" + body
                                   : "POST /echo HTTP/1.1\r\nHost: h\r\nContent-Length: " +
                                         std::to_string(body.size()) + "\r\n\r\n" + body;
        if (!c.send(req)) {
          ++failures;
          return;
        }
        auto rs = parseResponses(c.readResponses(1, 5s));
        if (rs.size() != 1) {
          ++failures;
          return;
        }
        // Every answer matches one of the tables that were in force.
        bool good = redirect ? (rs[0].status == 307 && (rs[0].header("Location") == "/a" ||
                                                        rs[0].header("Location") == "/b"))
                             : (rs[0].status == 200 && rs[0].body == body);
        if (good) {
          ++ok;
        } else {
          ++failures;
        }
      }
    });
  }
  int valid = 0, invalid = 0;
  for (int i = 0; i < 50; ++i) {
    const std::string& next = i % 3 == 2 ? bad : (i % 3 == 0 ? b : a);
    d.dir().write("detour.yaml", next);
    d.signal(SIGHUP);
    if (&next == &bad) {
      ++invalid;
      ASSERT_TRUE(d.waitForStderr("reload failed", 5s));
      ASSERT_TRUE(eventually([&] { return countOf(d.stderrText(), "reload failed") == size_t(invalid); }, 5s));
    } else {
      ++valid;
      ASSERT_TRUE(eventually([&] { return countOf(d.stderrText(), "reloaded ") == size_t(valid); }, 5s));
    }
  }
  stop = true;
  for (auto& t : clients) t.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_GT(ok.load(), 100);
  // The last reload (i = 49, valid: a) stands; a bad file in between changed nothing.
  d.dir().write("detour.yaml", bad);
  d.signal(SIGHUP);
  ASSERT_TRUE(eventually([&] { return countOf(d.stderrText(), "reload failed") == size_t(invalid + 1); }, 5s));
  auto r = httpCall(d.port(), "GET", "/x");
  EXPECT_EQ(r.header("Location"), "/a");
  std::string metrics = httpCall(d.adminPort(), "GET", "/metrics").body;
  EXPECT_NE(metrics.find("detour_reloads_total{result=\"ok\"} " + std::to_string(valid)), std::string::npos);
  EXPECT_NE(metrics.find("detour_reloads_total{result=\"failed\"} " + std::to_string(invalid + 1)),
            std::string::npos) << metrics;
  EXPECT_EQ(d.stop(), 0);
}

TEST(Reload, FileWatchFollowsAConfigMapSymlinkSwap) {
  FakeBackend backend("b1");
  TempDir dir;
  namespace fs = std::filesystem;
  // The kubelet's layout: detour.yaml -> ..data/detour.yaml, ..data -> ..<timestamp>.
  fs::create_directory(dir.path() + "/..2026_11_25_10_00_00.1");
  dir.write("..2026_11_25_10_00_00.1/detour.yaml", configWith(backend.address(), "/first"));
  fs::create_directory_symlink("..2026_11_25_10_00_00.1", dir.path() + "/..data");
  fs::create_symlink("..data/detour.yaml", dir.path() + "/detour.yaml");
  DetourProcess d("", {}, 10s, {}, dir.path() + "/detour.yaml");
  ASSERT_TRUE(d.ready());
  EXPECT_EQ(httpCall(d.port(), "GET", "/x").header("Location"), "/first");
  // The update: a new timestamped folder, then ..data swapped by an atomic rename.
  fs::create_directory(dir.path() + "/..2026_11_25_10_05_00.2");
  dir.write("..2026_11_25_10_05_00.2/detour.yaml", configWith(backend.address(), "/second"));
  fs::create_directory_symlink("..2026_11_25_10_05_00.2", dir.path() + "/..data_tmp");
  fs::rename(dir.path() + "/..data_tmp", dir.path() + "/..data");
  fs::remove_all(dir.path() + "/..2026_11_25_10_00_00.1");
  ASSERT_TRUE(d.waitForStderr("generation 2", 5s)) << d.stderrText();
  EXPECT_EQ(httpCall(d.port(), "GET", "/x").header("Location"), "/second");
  EXPECT_EQ(countOf(d.stderrText(), "reloaded "), 1u);  // one burst, one reload
}

TEST(Reload, ListenersAddedAndRemoved) {
  FakeBackend backend("b1");
  DetourProcess d(configWith(backend.address(), "/a"), {}, 10s, {"--no-watch"});
  ASSERT_TRUE(d.ready());
  d.dir().write("detour.yaml", configWith(backend.address(), "/a", ", \"127.0.0.2:0\""));
  d.signal(SIGHUP);
  ASSERT_TRUE(d.waitForStderr("generation 2", 5s)) << d.stderrText();
  std::vector<int> ports = d.readPorts();
  ASSERT_EQ(ports.size(), 2u);
  {
    RawClient c(ports[0]);
    ASSERT_TRUE(c.connected());
  }
  // The new listener is on 127.0.0.2.
  auto call2 = [&](int port) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in sin{};
    sin.sin_family = AF_INET;
    sin.sin_port = htons(static_cast<uint16_t>(port));
    inet_pton(AF_INET, "127.0.0.2", &sin.sin_addr);
    int rc = connect(fd, reinterpret_cast<sockaddr*>(&sin), sizeof sin);
    close(fd);
    return rc == 0;
  };
  EXPECT_TRUE(call2(ports[1]));
  d.dir().write("detour.yaml", configWith(backend.address(), "/a"));
  d.signal(SIGHUP);
  ASSERT_TRUE(d.waitForStderr("generation 3", 5s));
  EXPECT_TRUE(eventually([&] { return !call2(ports[1]); }, 3s));
  EXPECT_EQ(d.readPorts().size(), 1u);
}

TEST(Drain, AnUploadInFlightCompletesAndTheProcessExitsZero) {
  FakeBackend backend("b1");
  DetourProcess d(configWith(backend.address(), "/a"), {}, 10s, {"--no-watch"});
  ASSERT_TRUE(d.ready());
  RawClient idle(d.port());  // an idle keep-alive connection: closed by the drain
  ASSERT_TRUE(idle.send("GET /x HTTP/1.1\r\nHost: h\r\n\r\n"));
  ASSERT_EQ(parseResponses(idle.readResponses(1)).size(), 1u);
  RawClient c(d.port());
  const size_t total = 4 << 20;
  ASSERT_TRUE(c.send("POST /sink HTTP/1.1\r\nHost: h\r\nContent-Length: " + std::to_string(total) +
                     "\r\n\r\n" + std::string(total / 2, 'u')));
  ASSERT_TRUE(eventually([&] { return backend.connections() > 0; }, 5s));
  d.signal(SIGTERM);
  ASSERT_TRUE(d.waitForStderr("draining", 5s));
  EXPECT_EQ(httpCall(d.adminPort(), "GET", "/readyz").status, 503);
  EXPECT_TRUE(idle.waitClosed(5s));  // idle keep-alive connections close at once
  ASSERT_TRUE(c.send(std::string(total / 2, 'u')));
  auto rs = parseResponses(c.readResponses(1, 10s));
  ASSERT_EQ(rs.size(), 1u);
  EXPECT_EQ(rs[0].status, 200);
  EXPECT_EQ(rs[0].body, std::to_string(total));
  EXPECT_EQ(rs[0].header("Connection"), "close");
  EXPECT_EQ(d.stop(10s), 0);  // already stopping: waits for the exit status
}

TEST(Logs, Sigusr1ReopensARenamedAccessLog) {
  TempDir logs;
  std::string path = logs.path() + "/access.log";
  std::string cfg = replaceAll(configWith("127.0.0.1:9", "/a"), "access: off",
                               "access: { path: " + path + ", format: combined }");
  DetourProcess d(cfg, {}, 10s, {"--no-watch"});
  ASSERT_TRUE(d.ready());
  httpCall(d.port(), "GET", "/x?before");
  auto contains = [](const std::string& file, const std::string& needle) {
    std::ifstream in(file);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str().find(needle) != std::string::npos;
  };
  ASSERT_TRUE(eventually([&] { return contains(path, "/x?before"); }, 5s));
  std::filesystem::rename(path, path + ".1");  // what logrotate does
  httpCall(d.port(), "GET", "/x?between");    // still goes to the renamed file
  ASSERT_TRUE(eventually([&] { return contains(path + ".1", "/x?between"); }, 5s));
  d.signal(SIGUSR1);
  ASSERT_TRUE(d.waitForStderr("log files reopened", 5s));
  httpCall(d.port(), "GET", "/x?after");
  ASSERT_TRUE(eventually([&] { return contains(path, "/x?after"); }, 5s));
  EXPECT_FALSE(contains(path + ".1", "/x?after"));
  EXPECT_TRUE(contains(path, "\"GET /x?after HTTP/1.1\" 307"));
}

}  // namespace
}  // namespace detour::test

namespace detour::test {
namespace {

// The access-log writer batches lines (every 100 ms); lines still queued when SIGTERM arrives
// are written before the process exits.
TEST(Logs, ACleanExitWritesEveryAccessLine) {
  TempDir logs;
  std::string path = logs.path() + "/access.log";
  std::string cfg = replaceAll(configWith("127.0.0.1:9", "/a"), "access: off",
                               "access: { path: " + path + ", format: json }");
  DetourProcess d(cfg, {}, 10s, {"--no-watch"});
  ASSERT_TRUE(d.ready());
  constexpr int kRequests = 400;
  std::string burst;
  for (int i = 0; i < kRequests; ++i) burst += "GET /x?n=" + std::to_string(i) + " HTTP/1.1\r\nHost: a\r\n\r\n";
  RawClient c(d.port());
  ASSERT_TRUE(c.send(burst));
  ASSERT_EQ(parseResponses(c.readResponses(kRequests)).size(), static_cast<size_t>(kRequests));
  EXPECT_EQ(d.stop(), 0);  // at once: most lines are still in the worker's ring
  std::ifstream in(path);
  int lines = 0;
  int last = -1;
  bool in_order = true;
  for (std::string l; std::getline(in, l); ++lines) {
    size_t at = l.find("\"target\":\"/x?n=");
    ASSERT_NE(at, std::string::npos) << l;
    int n = std::stoi(l.substr(at + 15));
    in_order = in_order && n == last + 1;
    last = n;
  }
  EXPECT_EQ(lines, kRequests);
  EXPECT_TRUE(in_order);
}

}  // namespace
}  // namespace detour::test
