// The bad-input suite: raw requests from data files, each sent on a new connection to the real
// binary with a recording backend behind it, checking the status detour answers, whether it
// closes, and what reached the backend (a request the backend never completed does not count).
//
//   tests/data/bad_requests.jsonl               detour's own cases (gen_bad_requests.py)
//   tests/data/corpus/te-obfuscation.jsonl      173 Transfer-Encoding disguises (shared corpus)
//   tests/data/corpus/llhttp-strict-requests.jsonl   llhttp's strict-mode request cases
//
// The harness is the one tests/data/corpus/README.md describes: a `/__redirect/` prefix rule
// answering 307 ahead of a catch-all forward rule to one FakeBackend, default limits, read
// until close or 1 s quiet (4 s at most). Cases run on a few independent lanes (a detour and a
// backend each) so the suite stays short; a case always runs alone on its lane, and results are
// reported in file order. Every failing case is one EXPECT failure naming its id.
//
// Environment (for debugging): DETOUR_CASE_FILTER=substring runs only the ids containing it;
// DETOUR_BAD_INPUT_LANES=N sets the number of lanes (default 8); DETOUR_BAD_INPUT_VERBOSE=1
// prints every case's answer; DETOUR_BINARY picks the binary (run it once against a
// sanitizer build too: some defects only show there).

#include <gtest/gtest.h>
#include <poll.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <memory>
#include <sstream>
#include <thread>

#include "support/corpus.h"
#include "support/detour_process.h"
#include "support/fake_backend.h"
#include "support/raw_client.h"

namespace detour::test {
namespace {

using namespace std::chrono_literals;

// ------------------------------------------------------------------------------------------
// A small JSON reader: the records nest (status lists, backend checks), beyond corpus.h's
// flat scanner.
// ------------------------------------------------------------------------------------------
struct Json {
  enum class Type { kNull, kBool, kNumber, kString, kArray, kObject };
  Type type = Type::kNull;
  bool boolean = false;
  double number = 0;
  std::string str;
  std::vector<Json> items;
  std::vector<std::pair<std::string, Json>> members;

  const Json* get(std::string_view key) const {
    for (const auto& [k, v] : members) {
      if (k == key) return &v;
    }
    return nullptr;
  }
  bool isNull() const { return type == Type::kNull; }
};

class JsonReader {
 public:
  explicit JsonReader(std::string_view in) : in_(in) {}
  bool parse(Json& out) {
    out = value();
    ws();
    return ok_ && pos_ == in_.size();
  }

 private:
  void ws() {
    while (pos_ < in_.size() && (in_[pos_] == ' ' || in_[pos_] == '\n' || in_[pos_] == '\r' || in_[pos_] == '\t'))
      ++pos_;
  }
  bool eat(char c) {
    ws();
    if (pos_ < in_.size() && in_[pos_] == c) {
      ++pos_;
      return true;
    }
    return false;
  }
  Json fail() {
    ok_ = false;
    return {};
  }
  static void appendUtf8(std::string& out, uint32_t cp) {
    if (cp < 0x80) {
      out += static_cast<char>(cp);
    } else if (cp < 0x800) {
      out += static_cast<char>(0xC0 | (cp >> 6));
      out += static_cast<char>(0x80 | (cp & 0x3F));
    } else if (cp < 0x10000) {
      out += static_cast<char>(0xE0 | (cp >> 12));
      out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
      out += static_cast<char>(0x80 | (cp & 0x3F));
    } else {
      out += static_cast<char>(0xF0 | (cp >> 18));
      out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
      out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
      out += static_cast<char>(0x80 | (cp & 0x3F));
    }
  }
  bool hex4(uint32_t& cp) {
    if (pos_ + 4 > in_.size()) return false;
    cp = 0;
    for (int i = 0; i < 4; ++i) {
      char c = in_[pos_++];
      cp <<= 4;
      if (c >= '0' && c <= '9') cp |= static_cast<uint32_t>(c - '0');
      else if (c >= 'a' && c <= 'f') cp |= static_cast<uint32_t>(c - 'a' + 10);
      else if (c >= 'A' && c <= 'F') cp |= static_cast<uint32_t>(c - 'A' + 10);
      else return false;
    }
    return true;
  }
  bool string(std::string& out) {
    if (!eat('"')) return false;
    while (pos_ < in_.size()) {
      char c = in_[pos_++];
      if (c == '"') return true;
      if (c != '\\') {
        out += c;
        continue;
      }
      if (pos_ >= in_.size()) return false;
      char e = in_[pos_++];
      switch (e) {
        case '"': out += '"'; break;
        case '\\': out += '\\'; break;
        case '/': out += '/'; break;
        case 'b': out += '\b'; break;
        case 'f': out += '\f'; break;
        case 'n': out += '\n'; break;
        case 'r': out += '\r'; break;
        case 't': out += '\t'; break;
        case 'u': {
          uint32_t cp;
          if (!hex4(cp)) return false;
          if (cp >= 0xD800 && cp < 0xDC00 && pos_ + 6 <= in_.size() && in_[pos_] == '\\' &&
              in_[pos_ + 1] == 'u') {
            pos_ += 2;
            uint32_t lo;
            if (!hex4(lo)) return false;
            cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
          }
          appendUtf8(out, cp);
          break;
        }
        default:
          return false;
      }
    }
    return false;
  }
  Json value() {
    ws();
    if (pos_ >= in_.size()) return fail();
    Json v;
    char c = in_[pos_];
    if (c == '{') {
      ++pos_;
      v.type = Json::Type::kObject;
      if (eat('}')) return v;
      do {
        std::string key;
        ws();
        if (!string(key) || !eat(':')) return fail();
        v.members.emplace_back(std::move(key), value());
        if (!ok_) return fail();
      } while (eat(','));
      if (!eat('}')) return fail();
    } else if (c == '[') {
      ++pos_;
      v.type = Json::Type::kArray;
      if (eat(']')) return v;
      do {
        v.items.push_back(value());
        if (!ok_) return fail();
      } while (eat(','));
      if (!eat(']')) return fail();
    } else if (c == '"') {
      v.type = Json::Type::kString;
      if (!string(v.str)) return fail();
    } else if (in_.substr(pos_, 4) == "true") {
      pos_ += 4;
      v.type = Json::Type::kBool;
      v.boolean = true;
    } else if (in_.substr(pos_, 5) == "false") {
      pos_ += 5;
      v.type = Json::Type::kBool;
    } else if (in_.substr(pos_, 4) == "null") {
      pos_ += 4;
    } else {
      size_t end = pos_;
      while (end < in_.size() && std::string_view("+-0123456789.eE").find(in_[end]) != std::string_view::npos)
        ++end;
      if (end == pos_) return fail();
      v.type = Json::Type::kNumber;
      v.number = std::strtod(std::string(in_.substr(pos_, end - pos_)).c_str(), nullptr);
      pos_ = end;
    }
    return v;
  }

  std::string_view in_;
  size_t pos_ = 0;
  bool ok_ = true;
};

// ------------------------------------------------------------------------------------------
// Cases.
// ------------------------------------------------------------------------------------------
struct Case {
  std::string file;
  std::string id;
  Json rec;
  std::string raw;  // decoded raw_b64 (empty for step cases)
};

std::vector<Case> loadCases(const std::string& file) {
  std::vector<Case> out;
  std::ifstream in(std::string(DETOUR_SOURCE_DIR) + "/tests/data/" + file);
  EXPECT_TRUE(in.good()) << "cannot open tests/data/" << file;
  const char* filter = std::getenv("DETOUR_CASE_FILTER");
  std::string line;
  int n = 0;
  while (std::getline(in, line)) {
    ++n;
    if (line.empty()) continue;
    Case c;
    c.file = file;
    if (!JsonReader(line).parse(c.rec) || c.rec.type != Json::Type::kObject) {
      ADD_FAILURE() << file << ":" << n << ": not a JSON object";
      continue;
    }
    const Json* id = c.rec.get("id");
    c.id = id ? id->str : file + ":" + std::to_string(n);
    if (filter != nullptr && c.id.find(filter) == std::string::npos) continue;
    if (const Json* b = c.rec.get("raw_b64")) c.raw = base64Decode(b->str);
    out.push_back(std::move(c));
  }
  return out;
}

// What one case saw.
struct Observation {
  std::string received;                 // every byte detour sent
  bool closed = false;                  // detour closed (EOF or reset) before we stopped reading
  std::vector<HttpResponse> interims;   // 1xx
  std::vector<HttpResponse> finals;
  std::vector<ReceivedRequest> forwarded;  // complete requests the backend got during the case
  bool crashed = false;
  std::vector<std::string> notes;       // harness-level problems (a step that failed)
  std::vector<size_t> head_only;        // responses that answer a HEAD (no body follows)
};

// Reads from `fd` into `acc` until `done(acc)` holds, the peer closes, `quiet` passes without
// data, or `total` passes.
template <typename Done>
void readInto(int fd, std::string& acc, bool& closed, std::chrono::milliseconds quiet,
              std::chrono::milliseconds total, Done done) {
  auto deadline = std::chrono::steady_clock::now() + total;
  char buf[65536];
  while (!closed && !done(acc)) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) break;
    pollfd p{fd, POLLIN, 0};
    if (poll(&p, 1, static_cast<int>(std::min(left, quiet).count())) <= 0) break;
    ssize_t n = recv(fd, buf, sizeof buf, 0);
    if (n <= 0) {
      closed = true;
      break;
    }
    acc.append(buf, static_cast<size_t>(n));
  }
}

void splitResponses(const std::string& bytes, const std::vector<size_t>& head_only,
                    std::vector<HttpResponse>& interims, std::vector<HttpResponse>& finals) {
  interims.clear();
  finals.clear();
  for (auto& r : parseResponses(bytes, head_only)) {
    if (r.status >= 100 && r.status < 200) {
      interims.push_back(std::move(r));
    } else {
      finals.push_back(std::move(r));
    }
  }
}

bool processAlive(pid_t pid) {
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  std::string content;
  if (!std::getline(stat, content)) return false;
  size_t paren = content.rfind(')');
  return paren != std::string::npos && paren + 2 < content.size() && content[paren + 2] != 'Z' &&
         content[paren + 2] != 'X';
}

const char* kLaneConfig = R"(version: 1
server:
  listen: ["127.0.0.1:0"]
  workers: 1
log: { level: warn, access: { path: stdout, format: json } }
pools:
  main: { backends: ["BACKEND"] }
rules:
  - name: redirect
    match: { path_prefix: /__redirect/ }
    redirect: { to: "/moved/{path_suffix}", code: 307 }
  - name: app
    forward: { pool: main }
)";

// One detour and its backend. Cases on a lane run one after the other.
class Lane {
 public:
  Lane() : backend_(std::make_unique<FakeBackend>("rec")) { start(); }

  Observation run(const Case& c) {
    Observation ob;
    if (c.raw.rfind("HEAD ", 0) == 0) ob.head_only.push_back(0);
    if (!detour_ || !detour_->ready() || !processAlive(detour_->pid())) start();
    size_t before = backend_->requestCount();
    {
      RawClient client(detour_->port());
      if (!client.connected()) {
        ob.notes.push_back("could not connect to detour");
      } else {
        runBytes(c, client, ob);
      }
    }  // our side closes here
    // Anything detour still had in flight towards the backend lands now, or never: a negative
    // window (no event says "nothing more will come"; a forward it catches is a failure).
    std::this_thread::sleep_for(150ms);
    auto all = backend_->requests();
    ob.forwarded.assign(all.begin() + static_cast<long>(std::min(before, all.size())), all.end());
    splitResponses(ob.received, ob.head_only, ob.interims, ob.finals);
    if (!processAlive(detour_->pid())) {
      ob.crashed = true;
      start();  // the next case gets a fresh process
    }
    return ob;
  }

 private:
  void start() {
    detour_.reset();
    std::string cfg = kLaneConfig;
    cfg.replace(cfg.find("BACKEND"), 7, backend_->address());
    detour_ = std::make_unique<DetourProcess>(cfg);
  }

  static void runBytes(const Case& c, RawClient& client, Observation& ob) {
    const Json* steps = c.rec.get("steps");
    int fd = client.fd();
    if (steps == nullptr) {
      client.send(c.raw);  // detour may close early: what it answered is read below
    } else {
      for (const Json& s : steps->items) {
        if (const Json* b = s.get("send_b64")) {
          client.send(base64Decode(b->str));
        } else if (const Json* p = s.get("pause_ms")) {
          // A corpus-driven pause between the case's sends.
          std::this_thread::sleep_for(std::chrono::milliseconds(static_cast<long>(p->number)));
        } else if (s.get("half_close") != nullptr) {
          client.shutdownWrite();
        } else if (const Json* code = s.get("expect_interim")) {
          const Json* t = s.get("timeout_ms");
          auto timeout = std::chrono::milliseconds(t ? static_cast<long>(t->number) : 2000);
          readInto(fd, ob.received, ob.closed, timeout, timeout, [&ob](const std::string& acc) {
            return !parseResponses(acc, ob.head_only).empty();
          });
          std::vector<HttpResponse> in, fin;
          splitResponses(ob.received, ob.head_only, in, fin);
          if (in.empty() || in.back().status != static_cast<int>(code->number))
            ob.notes.push_back("step expect_interim " + std::to_string(static_cast<int>(code->number)) +
                               ": did not get it");
        } else if (const Json* codes = s.get("expect_final")) {
          readInto(fd, ob.received, ob.closed, 2000ms, 2000ms, [&ob](const std::string& acc) {
            std::vector<HttpResponse> in, fin;
            splitResponses(acc, ob.head_only, in, fin);
            return !fin.empty();
          });
          std::vector<HttpResponse> in, fin;
          splitResponses(ob.received, ob.head_only, in, fin);
          bool good = false;
          for (const Json& want : codes->items) {
            good = good || (want.isNull() ? fin.empty() && ob.closed
                                          : !fin.empty() && fin.back().status == static_cast<int>(want.number));
          }
          if (!good)
            ob.notes.push_back("step expect_final: got " +
                               (fin.empty() ? std::string("no final response") : fin.back().status_line));
        }
      }
    }
    readInto(fd, ob.received, ob.closed, 1000ms, 4000ms, [](const std::string&) { return false; });
  }

  std::unique_ptr<FakeBackend> backend_;
  std::unique_ptr<DetourProcess> detour_;
};

// ------------------------------------------------------------------------------------------
// Checking an observation against a record's `expect`.
// ------------------------------------------------------------------------------------------
std::string printable(std::string_view s, size_t max = 160) {
  std::string out;
  for (unsigned char c : s.substr(0, max)) {
    if (c == '\r') out += "\\r";
    else if (c == '\n') out += "\\n";
    else if (c == '\t') out += "\\t";
    else if (c < 0x20 || c >= 0x7f) {
      char buf[8];
      snprintf(buf, sizeof buf, "\\x%02x", c);
      out += buf;
    } else out += static_cast<char>(c);
  }
  if (s.size() > max) out += "...(" + std::to_string(s.size()) + " bytes)";
  return out;
}

bool statusAllowed(const Json& list, const HttpResponse* r, bool closed) {
  for (const Json& s : list.items) {
    if (s.isNull()) {
      if (r == nullptr && closed) return true;
    } else if (r != nullptr && r->status == static_cast<int>(s.number)) {
      return true;
    }
  }
  return false;
}

std::string listText(const Json& list) {
  std::string out = "[";
  for (const Json& s : list.items) {
    if (out.size() > 1) out += ",";
    out += s.isNull() ? "null" : std::to_string(static_cast<int>(s.number));
  }
  return out + "]";
}

struct Checker {
  const Observation& ob;
  std::vector<std::string> failures;

  void fail(std::string msg) { failures.push_back(std::move(msg)); }

  // `responses`: one allowed-status list per response, in order; exact count (a trailing
  // list holding null may be missing when the connection closed).
  void responses(const Json& expected) {
    size_t n = expected.items.size();
    for (size_t i = 0; i < n; ++i) {
      const HttpResponse* r = i < ob.finals.size() ? &ob.finals[i] : nullptr;
      if (!statusAllowed(expected.items[i], r, ob.closed)) {
        fail("response " + std::to_string(i + 1) + ": expected " + listText(expected.items[i]) +
             ", got " + (r ? std::to_string(r->status) : std::string(ob.closed ? "close" : "nothing")));
        return;
      }
    }
    if (ob.finals.size() > n)
      fail("expected " + std::to_string(n) + " response(s), got " + std::to_string(ob.finals.size()));
  }
  void close(const Json* expected) {
    if (expected == nullptr || expected->isNull()) return;
    if (expected->boolean && !ob.closed) fail("expected the connection closed; it stayed open");
    if (!expected->boolean && ob.closed) fail("expected the connection kept open; detour closed it");
  }
  void forwardedCount(const Json* expected) {
    if (expected == nullptr) return;
    size_t want = static_cast<size_t>(expected->number);
    if (ob.forwarded.size() != want)
      fail("expected " + std::to_string(want) + " complete request(s) at the backend, got " +
           std::to_string(ob.forwarded.size()));
  }
  void forbidTarget(const Json& expect) {
    const Json* t = expect.get("forbid_backend_target");
    if (t == nullptr || t->isNull()) return;
    for (const auto& r : ob.forwarded) {
      if (r.target == t->str) fail("forbidden target reached the backend: " + t->str);
    }
  }
  void forbidInterim(const Json& expect) {
    const Json* f = expect.get("forbid_interim");
    if (f != nullptr && f->boolean && !ob.interims.empty())
      fail("an interim response was sent: " + ob.interims[0].status_line);
  }
  void backend(const Json* checks) {
    if (checks == nullptr) return;
    for (size_t i = 0; i < checks->items.size() && i < ob.forwarded.size(); ++i)
      backendOne(checks->items[i], ob.forwarded[i], "backend[" + std::to_string(i) + "]");
  }

  void backendOne(const Json& c, const ReceivedRequest& r, const std::string& at) {
    size_t head_end = r.raw.find("\r\n\r\n");
    std::string head = head_end == std::string::npos ? r.raw : r.raw.substr(0, head_end + 4);
    std::string raw_body = head_end == std::string::npos ? "" : r.raw.substr(head_end + 4);
    std::string line = head.substr(0, head.find("\r\n"));
    auto str = [&](const char* key, const std::string& got) {
      const Json* v = c.get(key);
      if (v != nullptr && v->str != got)
        fail(at + "." + key + ": expected '" + printable(v->str) + "', got '" + printable(got) + "'");
    };
    str("method", r.method);
    str("target", r.target);
    if (c.get("host")) str("host", r.header("Host"));
    if (c.get("version")) str("version", line.substr(line.rfind(' ') + 1));
    if (const Json* v = c.get("body_b64")) {
      std::string want = base64Decode(v->str);
      if (r.body != want)
        fail(at + ".body: expected '" + printable(want) + "', got '" + printable(r.body) + "'");
    }
    if (const Json* v = c.get("raw_body_b64")) {
      std::string want = base64Decode(v->str);
      if (raw_body != want)
        fail(at + ".raw_body: expected '" + printable(want) + "', got '" + printable(raw_body) + "'");
    }
    if (c.get("framing")) {
      str("framing", r.chunked ? "chunked" : r.hasHeader("Content-Length") ? "content-length" : "none");
    }
    if (const Json* v = c.get("headers_absent")) {
      for (const Json& name : v->items) {
        if (r.hasHeader(name.str)) fail(at + ": header " + name.str + " must be absent");
      }
    }
    if (const Json* v = c.get("content_length_headers")) {
      std::vector<std::string> got;
      for (const auto& [n, val] : r.headers) {
        if (strcasecmp(n.c_str(), "content-length") == 0) got.push_back(val);
      }
      std::vector<std::string> want;
      for (const Json& x : v->items) want.push_back(x.str);
      if (got != want) {
        std::string g;
        for (const auto& x : got) g += "'" + x + "' ";
        fail(at + ".content_length_headers: got " + (g.empty() ? "none" : g));
      }
    }
    bool bare_lf = false, bare_cr = false, fold = false;
    for (size_t i = 0; i < head.size(); ++i) {
      if (head[i] == '\n' && (i == 0 || head[i - 1] != '\r')) bare_lf = true;
      if (head[i] == '\r' && (i + 1 >= head.size() || head[i + 1] != '\n')) bare_cr = true;
      if (i > 0 && head[i - 1] == '\n' && (head[i] == ' ' || head[i] == '\t')) fold = true;
    }
    auto flag = [&](const char* key, bool got) {
      const Json* v = c.get(key);
      if (v != nullptr && v->boolean != got) fail(at + "." + key + " is " + (got ? "true" : "false"));
    };
    flag("head_has_bare_lf", bare_lf);
    flag("head_has_bare_cr", bare_cr);
    flag("head_has_obs_fold", fold);
    if (const Json* v = c.get("head_lacks_b64")) {
      for (const Json& x : v->items) {
        std::string bytes = base64Decode(x.str);
        if (head.find(bytes) != std::string::npos) fail(at + ": head contains '" + printable(bytes) + "'");
      }
    }
  }
};

std::vector<std::string> check(const Case& c, const Observation& ob) {
  Checker k{ob, {}};
  for (const auto& n : ob.notes) k.fail(n);
  if (ob.crashed) k.fail("detour died during the case");
  const Json* expect = c.rec.get("expect");
  if (expect == nullptr) {
    k.fail("record has no expect");
    return k.failures;
  }
  const Json* outcome_j = expect->get("outcome");
  std::string outcome = outcome_j ? outcome_j->str : "";
  k.forbidTarget(*expect);
  k.forbidInterim(*expect);

  if (outcome == "reject" && expect->get("forwarded_max") != nullptr) {
    // llhttp: what strict llhttp rejects. At most forwarded_max complete requests, then an
    // error status or a close.
    size_t max = static_cast<size_t>(expect->get("forwarded_max")->number);
    if (ob.forwarded.size() > max)
      k.fail("expected at most " + std::to_string(max) + " request(s) forwarded, got " +
             std::to_string(ob.forwarded.size()));
    bool error = std::any_of(ob.finals.begin(), ob.finals.end(), [](const HttpResponse& r) { return r.status >= 400; });
    if (!error && !ob.closed) k.fail("expected an error status or a close");
  } else if (outcome == "parser_accepts") {
    // llhttp accepts it: detour must answer (anything) and not forward more than llhttp parsed.
    if (ob.finals.empty()) k.fail("expected an answer, got none");
    if (const Json* m = expect->get("messages"); m && ob.forwarded.size() > static_cast<size_t>(m->number))
      k.fail("more requests forwarded (" + std::to_string(ob.forwarded.size()) + ") than llhttp parsed");
  } else if (outcome == "reject") {
    k.responses(*expect->get("responses"));
    k.close(expect->get("close"));
    k.forwardedCount(expect->get("forwarded"));
  } else if (outcome == "forward" || outcome == "forward_then_reject" || outcome == "respond") {
    if (const Json* r = expect->get("responses")) k.responses(*r);
    k.close(expect->get("close"));
    const Json* fwd = expect->get("forwarded");
    if (fwd != nullptr) k.forwardedCount(fwd);
    if (fwd != nullptr && ob.forwarded.size() == static_cast<size_t>(fwd->number)) k.backend(expect->get("backend"));
  } else if (outcome == "reject_or_forward") {
    // `close` is the reject branch's: a refusal must close where framing is ambiguous, which
    // a close check on both branches (null, to allow forwarding on keep-alive) let slip.
    if (ob.forwarded.empty()) {
      k.close(expect->get("close"));
      const HttpResponse* r = ob.finals.empty() ? nullptr : &ob.finals[0];
      if (!statusAllowed(*expect->get("reject_statuses"), r, ob.closed))
        k.fail("rejected (nothing forwarded) but the status is " +
               (r ? std::to_string(r->status) : std::string(ob.closed ? "close" : "nothing")) +
               ", not in " + listText(*expect->get("reject_statuses")));
    } else {
      const Json* f = expect->get("if_forwarded");
      size_t want = f && f->get("forwarded") ? static_cast<size_t>(f->get("forwarded")->number) : 1;
      if (ob.forwarded.size() != want) {
        k.fail("forwarded " + std::to_string(ob.forwarded.size()) + " request(s), expected " + std::to_string(want));
      } else if (f != nullptr) {
        k.backend(f->get("backend"));
      }
      if (f != nullptr && f->get("responses")) k.responses(*f->get("responses"));
      if (f != nullptr) k.close(f->get("close"));
    }
  } else if (outcome == "not_rejected") {
    if (ob.finals.empty()) {
      k.fail("expected an answer, got none");
    } else if (const Json* bad = expect->get("forbidden_statuses")) {
      for (const Json& s : bad->items) {
        if (ob.finals[0].status == static_cast<int>(s.number))
          k.fail("status " + std::to_string(ob.finals[0].status) + " is forbidden here");
      }
    }
  } else {
    k.fail("unknown outcome '" + outcome + "'");
  }
  return k.failures;
}

std::string describe(const Case& c, const Observation& ob) {
  std::ostringstream out;
  out << "\n    sent:      " << printable(c.raw.empty() ? c.rec.get("raw")->str : c.raw, 240);
  out << "\n    answered:  ";
  if (ob.finals.empty() && ob.interims.empty()) out << "(nothing)";
  for (const auto& r : ob.interims) out << "[" << r.status_line << "] ";
  for (const auto& r : ob.finals) out << "[" << r.status_line << "] ";
  out << (ob.closed ? " then closed" : " connection left open");
  out << "\n    backend:   " << ob.forwarded.size() << " complete request(s)";
  for (const auto& r : ob.forwarded) out << "\n      " << printable(r.raw, 200);
  return out.str();
}

// ------------------------------------------------------------------------------------------
// The suite.
// ------------------------------------------------------------------------------------------
class BadInputTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    const char* env = std::getenv("DETOUR_BAD_INPUT_LANES");
    size_t n = env ? static_cast<size_t>(std::max(1, atoi(env))) : 8;
    lanes_ = new std::vector<std::unique_ptr<Lane>>();
    for (size_t i = 0; i < n; ++i) lanes_->push_back(std::make_unique<Lane>());
  }
  static void TearDownTestSuite() {
    delete lanes_;
    lanes_ = nullptr;
  }

  // Runs every case of `file` (case i on lane i % lanes), then reports in file order.
  static void runFile(const std::string& file) {
    std::vector<Case> cases = loadCases(file);
    ASSERT_FALSE(cases.empty()) << file;
    std::vector<Observation> obs(cases.size());
    std::vector<std::thread> threads;
    size_t n = lanes_->size();
    for (size_t l = 0; l < n; ++l) {
      threads.emplace_back([&, l] {
        for (size_t i = l; i < cases.size(); i += n) obs[i] = (*lanes_)[l]->run(cases[i]);
      });
    }
    for (auto& t : threads) t.join();
    size_t failed = 0;
    bool verbose = std::getenv("DETOUR_BAD_INPUT_VERBOSE") != nullptr;
    for (size_t i = 0; i < cases.size(); ++i) {
      std::vector<std::string> f = check(cases[i], obs[i]);
      if (!f.empty()) ++failed;
      if (verbose) {
        std::string answers;
        for (const auto& r : obs[i].finals) answers += " " + std::to_string(r.status);
        std::printf("%-4s %-70s%s%s fwd=%zu\n", f.empty() ? "ok" : "FAIL", cases[i].id.c_str(),
                    answers.empty() ? " -" : answers.c_str(), obs[i].closed ? " close" : " open",
                    obs[i].forwarded.size());
      }
      std::string msg;
      for (const auto& x : f) msg += "\n    - " + x;
      EXPECT_TRUE(f.empty()) << "[" << cases[i].id << "] " << cases[i].rec.get("title")->str << msg
                             << describe(cases[i], obs[i]);
    }
    std::printf("[ bad-input ] %s: %zu cases, %zu passed, %zu failed\n", file.c_str(), cases.size(),
                cases.size() - failed, failed);
  }

  static std::vector<std::unique_ptr<Lane>>* lanes_;
};
std::vector<std::unique_ptr<Lane>>* BadInputTest::lanes_ = nullptr;

TEST_F(BadInputTest, DetourCases) { runFile("bad_requests.jsonl"); }
TEST_F(BadInputTest, TeObfuscationCorpus) { runFile("corpus/te-obfuscation.jsonl"); }
TEST_F(BadInputTest, LlhttpStrictCorpus) { runFile("corpus/llhttp-strict-requests.jsonl"); }

}  // namespace
}  // namespace detour::test
