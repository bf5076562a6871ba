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
#include <mutex>
#include <sstream>
#include <thread>

#include "support/detour_process.h"
#include "support/fake_backend.h"
#include "support/raw_client.h"
#include "support/wait.h"

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
  // The initial table differs from both valid files, so that "the table in force" can be told
  // apart from "the table the process started with".
  std::string init = configWith(backend.address(), "/init");
  std::string a = configWith(backend.address(), "/a");
  std::string b = configWith(backend.address(), "/b");
  // Derived from b, which is never the last valid file before it (a is): a bad file that
  // changed anything would show as /b (or as a forward, if its /x rule were dropped). It loads
  // as YAML and fails only at compile (an unknown flag), past the point where a file is read.
  std::string bad = replaceAll(b, "code: 307 }", "code: 307 }\n    when: { flag: no_such_flag }");
  ASSERT_NE(bad, b);
  DetourProcess d(init, {}, 10s, {"--no-watch"});
  ASSERT_TRUE(d.ready());
  // The Location of each table in the order it was committed: history[0] is the initial one.
  std::mutex mu;
  std::vector<std::string> history = {"/init"};
  size_t confirmed = 0;  // index in history of the last reload seen logged
  size_t signalled = 0;  // index of the last valid reload signalled (>= confirmed)
  std::atomic<bool> stop{false};
  std::atomic<int> ok{0}, failures{0};
  std::mutex fail_mu;
  std::string first_failure;
  auto fail = [&](const std::string& why) {
    std::lock_guard<std::mutex> lock(fail_mu);
    if (first_failure.empty()) first_failure = why;
    ++failures;
  };
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
        size_t lo = 0;
        {
          std::lock_guard<std::mutex> lock(mu);
          // In force at send time: the confirmed table, or the one before it (a worker may
          // not have taken the newest snapshot yet).
          lo = confirmed == 0 ? 0 : confirmed - 1;
        }
        if (!c.send(req)) return fail("send failed");
        auto rs = parseResponses(c.readResponses(1, 5s));
        if (rs.size() != 1) return fail("no answer to " + body);
        if (!redirect) {
          if (rs[0].status != 200 || rs[0].body != body) fail("echo: " + rs[0].raw);
          else ++ok;
          continue;
        }
        // Every answer comes from a table in force between the send and the answer.
        std::string location = rs[0].header("Location");
        bool good = false;
        {
          std::lock_guard<std::mutex> lock(mu);
          for (size_t k = lo; k <= signalled; ++k) good = good || history[k] == location;
        }
        if (rs[0].status == 307 && good) {
          ++ok;
        } else {
          fail("POST /x: " + std::to_string(rs[0].status) + " Location " + location +
               " (tables " + std::to_string(lo) + ".." + std::to_string(signalled) + ")");
        }
      }
    });
  }
  int valid = 0, invalid = 0;
  for (int i = 0; i < 50; ++i) {
    const std::string& next = i % 3 == 2 ? bad : (i % 3 == 0 ? b : a);
    bool is_bad = &next == &bad;
    if (!is_bad) {
      std::lock_guard<std::mutex> lock(mu);
      history.push_back(&next == &a ? "/a" : "/b");
      signalled = history.size() - 1;
    }
    d.dir().write("detour.yaml", next);
    d.signal(SIGHUP);
    if (is_bad) {
      ++invalid;
      ASSERT_TRUE(waitUntil([&] { return countOf(d.stderrText(), "reload failed") == size_t(invalid); }, 5s));
      // A bad file leaves the table as it was: the last valid one (a).
      auto r = httpCall(d.port(), "GET", "/x");
      ASSERT_EQ(r.status, 307) << i;
      ASSERT_EQ(r.header("Location"), "/a") << i;
    } else {
      ++valid;
      ASSERT_TRUE(waitUntil([&] { return countOf(d.stderrText(), "reloaded ") == size_t(valid); }, 5s));
      std::lock_guard<std::mutex> lock(mu);
      confirmed = signalled;
    }
  }
  stop = true;
  for (auto& t : clients) t.join();
  EXPECT_EQ(failures.load(), 0) << first_failure;
  EXPECT_GT(ok.load(), 100);
  // The last reload (i = 49, valid: a) stands; one more bad file changes nothing.
  d.dir().write("detour.yaml", bad);
  d.signal(SIGHUP);
  ASSERT_TRUE(waitUntil([&] { return countOf(d.stderrText(), "reload failed") == size_t(invalid + 1); }, 5s));
  auto r = httpCall(d.port(), "GET", "/x");
  EXPECT_EQ(r.header("Location"), "/a");
  EXPECT_NE(d.stderrText().find("no_such_flag"), std::string::npos);
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

// Writes `content` to `path` in place (truncate and write: the same inode), as `vi -c 'set
// backupcopy=yes'` or `cat > file` do.
void writeInPlace(const std::string& path, const std::string& content) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << content;
}

// Other files changing in the config's folder (an access log, here a busy file) do not hold
// the reload back: events are filtered by name.
TEST(Reload, ActivityInTheConfigFolderDoesNotDelayTheWatch) {
  FakeBackend backend("b1");
  TempDir dir;
  auto cfg = [&](const std::string& target) {
    return replaceAll(configWith(backend.address(), target), "level: info", "level: debug");
  };
  std::string path = dir.write("detour.yaml", cfg("/first"));
  DetourProcess d("", {}, 10s, {}, path);
  ASSERT_TRUE(d.ready());
  std::atomic<bool> stop{false};
  std::thread noise([&] {
    for (int i = 0; i < 1000 && !stop; ++i) {  // every 10 ms for up to 10 s
      std::ofstream(dir.path() + "/access.log", std::ios::app) << "line " << i << "\n";
      std::this_thread::sleep_for(10ms);  // simulated activity: a busy file, a line every 10 ms
    }
  });
  // The noise alone, for longer than the maximum debounce delay (1 s): it must not even wake
  // the watch (which would log "content unchanged" at debug level).
  std::this_thread::sleep_for(1500ms);  // a negative window: nothing may reload or wake in it
  writeInPlace(path, cfg("/second"));
  bool reloaded = d.waitForStderr("generation 2", 3s);
  stop = true;
  noise.join();
  ASSERT_TRUE(reloaded) << d.stderrText();
  EXPECT_EQ(httpCall(d.port(), "GET", "/x").header("Location"), "/second");
  EXPECT_EQ(countOf(d.stderrText(), "content unchanged"), 0u) << d.stderrText();
}

// A config file rewritten again and again (every 50 ms, under the 200 ms quiet period) is
// still reloaded: the debounce has a maximum delay.
TEST(Reload, AFileThatKeepsChangingIsReloadedWithinTheMaximumDelay) {
  FakeBackend backend("b1");
  TempDir dir;
  std::string path = dir.write("detour.yaml", configWith(backend.address(), "/first"));
  DetourProcess d("", {}, 10s, {}, path);
  ASSERT_TRUE(d.ready());
  std::atomic<bool> stop{false};
  std::thread writer([&] {
    for (int i = 0; i < 100 && !stop; ++i) {  // up to 5 s
      writeInPlace(path, configWith(backend.address(), "/second") + "# edit " + std::to_string(i) + "\n");
      std::this_thread::sleep_for(50ms);  // simulated activity: an edit every 50 ms
    }
  });
  // While the writer still writes (5 s). A reload may catch the file between truncate and
  // write and fail; the next burst's, 1 s later, then succeeds.
  bool reloaded = d.waitForStderr("generation 2", 4s);
  stop = true;
  writer.join();
  ASSERT_TRUE(reloaded) << d.stderrText();
}

// The config path is a symlink to a file in another folder (a checkout, /etc/alternatives):
// an in-place edit of the target reloads; so does repointing the link, and then an edit of
// the new target; and the old target's folder going away is survived.
TEST(Reload, FileWatchFollowsASymlinkToAnotherFolder) {
  FakeBackend backend("b1");
  TempDir links, targets;
  namespace fs = std::filesystem;
  fs::create_directory(targets.path() + "/v1");
  fs::create_directory(targets.path() + "/v2");
  std::string t1 = targets.write("v1/real.yaml", configWith(backend.address(), "/one"));
  std::string link = links.path() + "/detour.yaml";
  fs::create_symlink(t1, link);
  DetourProcess d("", {}, 10s, {}, link);
  ASSERT_TRUE(d.ready());
  EXPECT_EQ(httpCall(d.port(), "GET", "/x").header("Location"), "/one");

  writeInPlace(t1, configWith(backend.address(), "/two"));
  ASSERT_TRUE(d.waitForStderr("generation 2", 5s)) << d.stderrText();
  EXPECT_EQ(httpCall(d.port(), "GET", "/x").header("Location"), "/two");

  // Repoint the link atomically (ln -sfn does a rename too) to a file in another folder.
  std::string t2 = targets.write("v2/real.yaml", configWith(backend.address(), "/three"));
  fs::create_symlink(t2, links.path() + "/detour.yaml.tmp");
  fs::rename(links.path() + "/detour.yaml.tmp", link);
  ASSERT_TRUE(d.waitForStderr("generation 3", 5s)) << d.stderrText();
  EXPECT_EQ(httpCall(d.port(), "GET", "/x").header("Location"), "/three");
  fs::remove_all(targets.path() + "/v1");  // the old target's folder goes away

  writeInPlace(t2, configWith(backend.address(), "/four"));
  ASSERT_TRUE(d.waitForStderr("generation 4", 5s)) << d.stderrText();
  EXPECT_EQ(httpCall(d.port(), "GET", "/x").header("Location"), "/four");
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
  EXPECT_TRUE(waitUntil([&] { return !call2(ports[1]); }, 3s));
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
  ASSERT_TRUE(waitUntil([&] { return backend.connections() > 0; }, 5s));
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

// Signals that keep coming while detour drains and exits change nothing: the exit status is
// still 0 (libevent used to put back the default action as it tore its signal events down,
// and a late SIGTERM then killed the process: 143).
TEST(Drain, SignalsDuringTheDrainAndExitStillEndInStatusZero) {
  FakeBackend backend("b1");
  std::string cfg = replaceAll(configWith(backend.address(), "/a"), "timeouts: { drain: 10s }",
                               "timeouts: { drain: 300ms, upstream_response: 30s }");
  for (int round = 0; round < 3; ++round) {
    DetourProcess d(cfg, {}, 10s, {"--no-watch"});
    ASSERT_TRUE(d.ready());
    RawClient c(d.port());
    ASSERT_TRUE(c.send("GET /stall HTTP/1.1\r\nHost: h\r\n\r\n"));  // held until the timeout
    ASSERT_TRUE(backend.waitForRequests(static_cast<size_t>(round) + 1, 5s));
    int status = -1;
    auto deadline = std::chrono::steady_clock::now() + 10s;
    while (status == -1 && std::chrono::steady_clock::now() < deadline) {
      status = d.stop(0ms);  // SIGTERMs back to back until it has exited
    }
    EXPECT_EQ(status, 0) << "round " << round << "\n" << d.stderrText();
  }
}

// What is still open at timeouts.drain is closed and logged, and the exit status is 0.
TEST(Drain, ARequestStillOpenAtTheDrainTimeoutIsClosedAndLogged) {
  FakeBackend backend("b1");
  std::string cfg = replaceAll(configWith(backend.address(), "/a"), "timeouts: { drain: 10s }",
                               "timeouts: { drain: 500ms, upstream_response: 30s }");
  DetourProcess d(cfg, {}, 10s, {"--no-watch"});
  ASSERT_TRUE(d.ready());
  RawClient c(d.port());
  ASSERT_TRUE(c.send("GET /stall HTTP/1.1\r\nHost: h\r\n\r\n"));  // the backend never answers
  ASSERT_TRUE(backend.waitForRequests(1, 5s));
  auto t0 = std::chrono::steady_clock::now();
  d.signal(SIGTERM);
  ASSERT_TRUE(d.waitForStderr("draining", 5s));
  EXPECT_TRUE(c.waitClosed(5s));
  EXPECT_EQ(d.stop(10s), 0);
  auto took = std::chrono::steady_clock::now() - t0;
  EXPECT_GE(took, 400ms);  // it waited for the drain timeout...
  EXPECT_LT(took, 5s);     // ...and not for the backend
  EXPECT_NE(d.stderrText().find("drain timeout: closing 1 connection(s) still open"), std::string::npos)
      << d.stderrText();
}

// A second detour on a traffic address the first one listens on does not start (SO_REUSEPORT
// would let both bind and split the connections): it exits with a clear error.
TEST(Listeners, ASecondInstanceOnTheSameAddressRefusesToStart) {
  FakeBackend backend("b1");
  DetourProcess first(configWith(backend.address(), "/a"), {}, 10s, {"--no-watch"});
  ASSERT_TRUE(first.ready());
  std::string taken = "127.0.0.1:" + std::to_string(first.port());
  TempDir dir;
  std::string cfg = dir.write("detour.yaml",
      replaceAll(configWith(backend.address(), "/a"), "listen: [\"127.0.0.1:0\"", "listen: [\"" + taken + "\""));
  std::string out;
  int rc = runCommand("exec " + detourBinary() + " run --no-watch -c " + cfg, out, true, 10s);
  EXPECT_NE(rc, 0) << out;
  EXPECT_NE(out.find("cannot listen on " + taken + ": the address is already in use"), std::string::npos) << out;
  // The first instance still has every connection.
  EXPECT_EQ(httpCall(first.port(), "GET", "/x").header("Location"), "/a");
}

// Same for a listener a reload adds: the reload fails and names the address.
TEST(Listeners, AReloadAddingAnAddressAnotherProcessHoldsFails) {
  FakeBackend backend("b1");
  DetourProcess other(configWith(backend.address(), "/other"), {}, 10s, {"--no-watch"});
  ASSERT_TRUE(other.ready());
  std::string taken = "127.0.0.1:" + std::to_string(other.port());
  DetourProcess d(configWith(backend.address(), "/a"), {}, 10s, {"--no-watch"});
  ASSERT_TRUE(d.ready());
  d.dir().write("detour.yaml", configWith(backend.address(), "/b", ", \"" + taken + "\""));
  d.signal(SIGHUP);
  ASSERT_TRUE(d.waitForStderr("reload failed", 5s)) << d.stderrText();
  EXPECT_NE(d.stderrText().find("cannot listen on " + taken + ": the address is already in use"),
            std::string::npos) << d.stderrText();
  EXPECT_EQ(httpCall(d.port(), "GET", "/x").header("Location"), "/a");
  for (int i = 0; i < 8; ++i) {
    EXPECT_EQ(httpCall(other.port(), "GET", "/x").header("Location"), "/other") << i;
  }
}

// The admin socket has no SO_REUSEPORT: an admin address another process holds fails the
// start instead of sharing it.
TEST(Listeners, AnAdminAddressAnotherProcessHoldsFailsTheStart) {
  FakeBackend backend("b1");
  DetourProcess first(configWith(backend.address(), "/a"), {}, 10s, {"--no-watch"});
  ASSERT_TRUE(first.ready());
  std::string taken = "127.0.0.1:" + std::to_string(first.adminPort());
  TempDir dir;
  std::string cfg = dir.write("detour.yaml",
      replaceAll(configWith(backend.address(), "/a"), "listen: \"127.0.0.1:0\"", "listen: \"" + taken + "\""));
  std::string out;
  int rc = runCommand("exec " + detourBinary() + " run --no-watch -c " + cfg, out, true, 10s);
  EXPECT_NE(rc, 0) << out;
  EXPECT_NE(out.find("admin: cannot listen on " + taken), std::string::npos) << out;
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
  ASSERT_TRUE(waitUntil([&] { return contains(path, "/x?before"); }, 5s));
  std::filesystem::rename(path, path + ".1");  // what logrotate does
  httpCall(d.port(), "GET", "/x?between");    // still goes to the renamed file
  ASSERT_TRUE(waitUntil([&] { return contains(path + ".1", "/x?between"); }, 5s));
  d.signal(SIGUSR1);
  ASSERT_TRUE(d.waitForStderr("log files reopened", 5s));
  httpCall(d.port(), "GET", "/x?after");
  ASSERT_TRUE(waitUntil([&] { return contains(path, "/x?after"); }, 5s));
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
