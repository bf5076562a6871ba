#include "logging/access_log.h"

#include <gtest/gtest.h>
#include <poll.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>
#include <vector>

#include "logging/access_log_writer.h"
#include "logging/access_record_codec.h"
#include "support/wait.h"

namespace detour {
namespace {

using namespace std::chrono_literals;

std::chrono::system_clock::time_point atMs(int64_t ms) {
  return std::chrono::system_clock::time_point(std::chrono::milliseconds(ms));
}

AccessRecord redirectRecord() {
  AccessRecord r;
  r.time = atMs(1795530000123LL);
  r.client = "203.0.113.9";
  r.scheme = "https";
  r.host = "shop.example.com";
  r.listener_port = 8443;
  r.method = "POST";
  r.target = "/api/v1/orders?id=42";
  r.protocol = "HTTP/1.1";
  r.status = 307;
  r.rule = "orders-v1-moved";
  r.location = "/api/v2/orders?id=42";
  r.bytes_in = 143;
  r.bytes_out = 211;
  r.duration_ms = 0.0414;
  r.request_id = "3f0c5a";
  r.user_agent = "curl/7.88.1";
  return r;
}

AccessRecord hostileRecord() {
  AccessRecord f;
  f.time = atMs(86399999LL);
  f.client = "::1";
  f.scheme = "http";
  f.host = "h\"q";
  f.method = "GET";
  f.target = "/a\\b\x01\x7f\xc3\xa9\xff";
  f.protocol = "HTTP/1.0";
  f.status = 502;
  f.pool = "api";
  f.upstream = "10.0.0.1:8080";
  f.bytes_out = 18446744073709551615ULL;
  f.duration_ms = 12345.6789;
  f.user_agent = "ua\twith\ntabs";
  f.referer = "http://r/\"x\"";
  return f;
}

AccessRecord headlessRecord() {  // a request refused before its head was read
  AccessRecord e;
  e.time = atMs(0);
  e.client = "127.0.0.1";
  e.scheme = "http";
  e.status = 400;
  return e;
}

// The lines the spdlog-based access log wrote for these records, byte for byte, plus the
// listener_port field (after host in json, last in combined).
TEST(AccessLogFormat, JsonAndCombinedLinesAreUnchanged) {
  EXPECT_EQ(AccessLog::formatJson(redirectRecord()),
            "{\"time\":\"2026-11-24T14:20:00.123Z\",\"client\":\"203.0.113.9\",\"scheme\":\"https\",\"host\":\"shop.example.com\",\"listener_port\":8443,\"method\":\"POST\",\"target\":\"/api/v1/orders?id=42\",\"protocol\":\"HTTP/1.1\",\"status\":307,\"rule\":\"orders-v1-moved\",\"location\":\"/api/v2/orders?id=42\",\"bytes_in\":143,\"bytes_out\":211,\"duration_ms\":0.041,\"request_id\":\"3f0c5a\",\"user_agent\":\"curl/7.88.1\",\"referer\":\"\"}");
  EXPECT_EQ(AccessLog::formatCombined(redirectRecord()),
            "203.0.113.9 - - [24/Nov/2026:14:20:00 +0000] \"POST /api/v1/orders?id=42 HTTP/1.1\" 307 211 \"-\" \"curl/7.88.1\" \"shop.example.com\" https orders-v1-moved 3f0c5a 0.041 143 8443");
  EXPECT_EQ(AccessLog::formatJson(hostileRecord()),
            "{\"time\":\"1970-01-01T23:59:59.999Z\",\"client\":\"::1\",\"scheme\":\"http\",\"host\":\"h\\\"q\",\"listener_port\":0,\"method\":\"GET\",\"target\":\"/a\\\\b\\u0001\\u007f\xc3" "\xa9" "\\u00ff\",\"protocol\":\"HTTP/1.0\",\"status\":502,\"rule\":\"\",\"pool\":\"api\",\"upstream\":\"10.0.0.1:8080\",\"bytes_in\":0,\"bytes_out\":18446744073709551615,\"duration_ms\":12345.679,\"request_id\":\"\",\"user_agent\":\"ua\\twith\\ntabs\",\"referer\":\"http://r/\\\"x\\\"\"}");
  EXPECT_EQ(AccessLog::formatCombined(hostileRecord()),
            "::1 - - [01/Jan/1970:23:59:59 +0000] \"GET /a\\x5cb\\x01\\x7f\\xc3\\xa9\\xff HTTP/1.0\" 502 18446744073709551615 \"http://r/\\x22x\\x22\" \"ua\\x09with\\x0atabs\" \"h\\x22q\" http - - 12345.679 0 0");
  EXPECT_EQ(AccessLog::formatJson(headlessRecord()),
            "{\"time\":\"1970-01-01T00:00:00.000Z\",\"client\":\"127.0.0.1\",\"scheme\":\"http\",\"host\":\"\",\"listener_port\":0,\"method\":\"\",\"target\":\"\",\"protocol\":\"\",\"status\":400,\"rule\":\"\",\"bytes_in\":0,\"bytes_out\":0,\"duration_ms\":0.000,\"request_id\":\"\",\"user_agent\":\"\",\"referer\":\"\"}");
  EXPECT_EQ(AccessLog::formatCombined(headlessRecord()),
            "127.0.0.1 - - [01/Jan/1970:00:00:00 +0000] \"  \" 400 0 \"-\" \"-\" \"-\" http - - 0.000 0 0");
}

TEST(AccessRecordCodec, ARecordSurvivesTheRingEncoding) {
  for (const AccessRecord& rec : {redirectRecord(), hostileRecord(), headlessRecord()}) {
    std::vector<char> buf(encodedAccessRecordSize(rec));
    auto* sink = reinterpret_cast<AccessSink*>(uintptr_t{0x1234});
    encodeAccessRecord(rec, sink, buf);
    DecodedAccessRecord d = decodeAccessRecord(std::string_view(buf.data(), buf.size()));
    EXPECT_EQ(d.sink, sink);
    EXPECT_EQ(d.record.time, rec.time);
    EXPECT_EQ(AccessLog::formatJson(d.record), AccessLog::formatJson(rec));
    EXPECT_EQ(AccessLog::formatCombined(d.record), AccessLog::formatCombined(rec));
  }
}

class AccessLogTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/detour-access-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override {
    AccessLog::shutdown();
    AccessLogWriter::instance().setRingBytesForTest(AccessLogWriter::kRingBytes);
    std::filesystem::remove_all(dir_);
  }
  static std::shared_ptr<AccessLog> fileLog(const std::string& path, AccessLogFormat f) {
    LogConfig cfg;
    cfg.access_path = path;
    cfg.access_format = f;
    return AccessLog::create(cfg);
  }
  static std::vector<std::string> lines(const std::string& path) {
    std::ifstream in(path);
    std::vector<std::string> out;
    for (std::string l; std::getline(in, l);) out.push_back(l);
    return out;
  }
  std::string dir_;
};

// Lines still in the workers' rings when the process stops are written by shutdown(): a
// clean exit loses none, however recent.
TEST_F(AccessLogTest, ShutdownWritesEveryQueuedLineFromEveryThread) {
  std::string path = dir_ + "/access.log";
  auto log = fileLog(path, AccessLogFormat::kJson);
  ASSERT_TRUE(log->enabled());
  uint64_t dropped_before = log->dropped();
  constexpr int kPerThread = 3000;
  auto produce = [&](int t) {
    for (int i = 0; i < kPerThread; ++i) {
      std::string id = std::to_string(t) + "-" + std::to_string(i);
      AccessRecord rec = redirectRecord();
      rec.request_id = id;
      log->write(rec);
    }
  };
  std::thread a(produce, 0);
  std::thread b(produce, 1);
  a.join();
  b.join();
  AccessLog::shutdown();
  auto got = lines(path);
  EXPECT_EQ(log->dropped(), dropped_before);  // 3000 records of ~250 bytes fit a 1 MiB ring
  ASSERT_EQ(got.size(), 2u * kPerThread);
  AccessRecord expect = redirectRecord();
  expect.request_id = "1-2999";
  EXPECT_NE(std::find(got.begin(), got.end(), AccessLog::formatJson(expect)), got.end());
  // Each thread's lines come out in the order it wrote them.
  int next[2] = {0, 0};
  for (const auto& l : got) {
    size_t at = l.find("\"request_id\":\"") + 14;
    int t = l[at] - '0';
    int i = std::stoi(l.substr(at + 2));
    ASSERT_EQ(i, next[t]) << l;
    ++next[t];
  }
}

TEST_F(AccessLogTest, LinesAppearWithoutAFlushWithinTheFlushInterval) {
  std::string path = dir_ + "/access.log";
  auto log = fileLog(path, AccessLogFormat::kCombined);
  log->write(redirectRecord());
  test::waitUntil([&] { return !lines(path).empty(); }, 5s);
  ASSERT_EQ(lines(path), std::vector<std::string>{AccessLog::formatCombined(redirectRecord())});
}

// logrotate: rename, then reopen(). What was queued before goes to the renamed file; what is
// queued after reopen() returns goes to a new file at the path.
TEST_F(AccessLogTest, ReopenSendsLaterLinesToTheNewFile) {
  std::string path = dir_ + "/access.log";
  auto log = fileLog(path, AccessLogFormat::kJson);
  AccessRecord rec = redirectRecord();
  rec.request_id = "before";
  log->write(rec);
  log->flush();
  std::filesystem::rename(path, path + ".1");
  rec.request_id = "between";
  log->write(rec);
  log->reopen();
  rec.request_id = "after";
  log->write(rec);
  AccessLog::shutdown();
  auto old_lines = lines(path + ".1");
  auto new_lines = lines(path);
  ASSERT_EQ(old_lines.size(), 2u);
  EXPECT_NE(old_lines[1].find("\"request_id\":\"between\""), std::string::npos);
  ASSERT_EQ(new_lines.size(), 1u);
  EXPECT_NE(new_lines[0].find("\"request_id\":\"after\""), std::string::npos);
}

// A head near server.limits.max_header_bytes makes a record larger than a ring takes: it goes
// through the heap instead, whole.
TEST_F(AccessLogTest, ARecordLargerThanTheRingIsWrittenWhole) {
  std::string path = dir_ + "/access.log";
  auto log = fileLog(path, AccessLogFormat::kJson);
  std::string target = "/" + std::string(AccessLogWriter::kRingBytes, 'q');
  AccessRecord rec = redirectRecord();
  rec.target = target;
  log->write(rec);
  AccessLog::shutdown();
  auto got = lines(path);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0], AccessLog::formatJson(rec));
}

// The writer is stuck (its output is a pipe nobody reads): a worker's writes still return at
// once, the lines that do not fit are dropped and counted, and nothing else is lost.
TEST_F(AccessLogTest, AFullRingDropsLinesAndCountsThemInsteadOfBlocking) {
  int fds[2];
  ASSERT_EQ(pipe(fds), 0);
  AccessLogWriter::instance().setRingBytesForTest(16 * 1024);
  auto log = fileLog("/dev/fd/" + std::to_string(fds[1]), AccessLogFormat::kJson);
  close(fds[1]);  // the sink holds its own descriptor
  ASSERT_TRUE(log->enabled());
  const uint64_t dropped_before = log->dropped();
  uint64_t written = 0;
  std::thread producer([&] {  // a thread of its own: its ring is the small one
    auto start = std::chrono::steady_clock::now();
    while (log->dropped() - dropped_before < 100 && std::chrono::steady_clock::now() - start < 20s) {
      log->write(redirectRecord());
      ++written;
    }
  });
  producer.join();
  uint64_t dropped = log->dropped() - dropped_before;
  ASSERT_GE(dropped, 100u);
  // Unblock the writer; every line not dropped arrives.
  uint64_t got_lines = 0;
  std::thread reader([&] {  // until the sink closes the pipe (or a deadline)
    auto deadline = std::chrono::steady_clock::now() + 20s;
    char buf[65536];
    while (std::chrono::steady_clock::now() < deadline) {
      pollfd p{fds[0], POLLIN, 0};
      if (poll(&p, 1, 100) <= 0) continue;
      ssize_t n = read(fds[0], buf, sizeof buf);
      if (n <= 0) break;
      for (ssize_t i = 0; i < n; ++i) got_lines += buf[i] == '\n';
    }
  });
  log.reset();           // retire the sink: it closes the pipe after its last line
  AccessLog::shutdown();
  reader.join();
  close(fds[0]);
  EXPECT_EQ(got_lines + dropped, written);
}

}  // namespace
}  // namespace detour
