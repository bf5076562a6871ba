// The only file that includes llhttp.h (style P6). llhttp is built in strict mode with no
// lenient flags; on top of it detour rejects what strict llhttp 8.1 still lets through.

#include <llhttp.h>

#include <algorithm>
#include <cstring>
#include <string>
#include <vector>

#include "common/string_util.h"
#include "http/parser.h"

namespace detour {
namespace {

struct Span {
  uint32_t off = 0;
  uint32_t len = 0;
};

enum class Stop { kNone, kHead, kTrailers, kMessage };

bool isTchar(char c) {
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) return true;
  switch (c) {
    case '!': case '#': case '$': case '%': case '&': case '\'': case '*': case '+': case '-':
    case '.': case '^': case '_': case '`': case '|': case '~':
      return true;
    default:
      return false;
  }
}

// `name` equals `lower` (lower case, '-' separated) ignoring case, with every '_' in `name` read
// as '-': what CGI and WSGI backends do when they turn a field name into HTTP_CONTENT_LENGTH.
bool equalsFolded(std::string_view name, std::string_view lower) {
  if (name.size() != lower.size()) return false;
  for (size_t i = 0; i < name.size(); ++i) {
    char c = name[i] == '_' ? '-' : name[i];
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    if (c != lower[i]) return false;
  }
  return true;
}

// The framing fields, never accepted under a name spelled with '_' for '-' (see
// validateRequestHead). Host and Connection have no '-': no other spelling reads as them.
constexpr std::string_view kFramingFields[] = {"content-length", "transfer-encoding"};
// What a backend must never read from a trailer: framing, routing and connection management
// (RFC 9110 §6.5.1), in any '_' spelling too.
constexpr std::string_view kTrailerProhibited[] = {
    "content-length", "transfer-encoding", "host",  "connection",      "keep-alive",
    "te",             "trailer",           "upgrade", "proxy-connection"};

template <size_t N>
bool isOneOfFolded(std::string_view name, const std::string_view (&names)[N]) {
  for (std::string_view n : names) {
    if (equalsFolded(name, n)) return true;
  }
  return false;
}

// A request line that strict llhttp gave up on at a method it does not know: "BREW / HTTP/1.1"
// (a method detour does not implement) or no request line at all ("HELLO", "GET/"). RFC 9112
// §3: method SP request-target SP HTTP-version; `line` is without its line end.
bool wellFormedRequestLine(std::string_view line) {
  size_t sp = line.find(' ');
  if (sp == 0 || sp == std::string_view::npos) return false;
  for (char c : line.substr(0, sp)) {
    if (!isTchar(c)) return false;
  }
  std::string_view rest = line.substr(sp + 1);
  size_t sp2 = rest.find(' ');
  if (sp2 == 0 || sp2 == std::string_view::npos) return false;
  for (char c : rest.substr(0, sp2)) {
    auto u = static_cast<unsigned char>(c);
    if (u <= 0x20 || u == 0x7f) return false;
  }
  std::string_view v = rest.substr(sp2 + 1);
  auto digit = [](char c) { return c >= '0' && c <= '9'; };
  return v.size() == 8 && v.substr(0, 5) == "HTTP/" && digit(v[5]) && v[6] == '.' && digit(v[7]);
}

class LlhttpParser final : public Http1Parser {
 public:
  LlhttpParser(Kind kind, const ParserLimits& limits) : kind_(kind), limits_(limits) {
    llhttp_init(&parser_, kind == Kind::kRequest ? HTTP_REQUEST : HTTP_RESPONSE, &settings());
    parser_.data = this;
  }

  ParseResult execute(const char* data, size_t len) override;
  ParseResult finish() override;
  const MessageHead& head() const override { return head_; }
  void skipBody() override { parser_.flags |= F_SKIPBODY; }
  void setBodySink(BodySink* sink) override { body_sink_ = sink; }
  uint64_t bodyBytes() const override { return body_bytes_; }
  bool inMessage() const override { return in_message_; }
  bool headComplete() const override { return head_complete_; }
  int errorStatus() const override { return error_status_; }
  std::string_view errorReason() const override { return error_reason_; }
  void reset() override;

 private:
  static const llhttp_settings_t& settings();
  static LlhttpParser& self(llhttp_t* p) { return *static_cast<LlhttpParser*>(p->data); }

  // llhttp callbacks, one member each.
  int onMessageBegin();
  int onSpan(Span& span, const char* at, size_t n);
  int onHeaderField(const char* at, size_t n);
  int onHeaderValue(const char* at, size_t n);
  int onHeaderFieldComplete();
  int onHeadersComplete();
  int onChunkHeader();
  int onMessageComplete();

  ParseResult fail(int status, std::string reason, size_t consumed);
  ParseResult failFromLlhttp(llhttp_errno_t err, const char* data, size_t len, size_t consumed);
  void scanHead(const char* data, size_t n);
  void scanRequestLine(const char* data, size_t n);
  void buildHead();
  bool validateRequestHead();
  bool validateResponseHead();
  bool chunkedDisagrees() const;
  int transferEncodingStatus() const;
  int unknownMethodStatus(const char* data, size_t len, size_t at) const;
  ParseResult judgeUnknownMethod(const char* data, size_t len);
  std::string_view view(Span s) const { return std::string_view(buf_).substr(s.off, s.len); }

  llhttp_t parser_{};
  Kind kind_;
  ParserLimits limits_;
  MessageHead head_;
  std::string buf_;  // method, target, reason and header bytes of the current head
  Span method_, target_, reason_;
  std::vector<std::pair<Span, Span>> fields_;
  // What the last header callback was: a value is kValue while it may continue in the next
  // read and kValueDone once llhttp saw its line end.
  enum class Last { kNone, kField, kValue, kValueDone } last_ = Last::kNone;
  Stop stop_ = Stop::kNone;
  size_t head_bytes_ = 0;
  uint64_t body_bytes_ = 0;
  BodySink* body_sink_ = nullptr;
  bool in_message_ = false;
  bool head_complete_ = false;
  bool in_url_ = false;
  bool in_trailers_ = false;    // between the last chunk and the end of the message
  size_t trailer_fields_ = 0;
  bool trailer_name_seen_ = false;
  std::string trailer_name_;  // the current trailer field's name (its first kMaxTrailerName bytes)
  static constexpr size_t kMaxTrailerName = 32;
  // After llhttp refused a method made of token characters: the request line so far, kept
  // until its end tells an unknown method (501) from a malformed line (400).
  bool pending_method_ = false;
  std::string pending_line_;
  bool empty_name_ = false;     // a header or trailer line with no name (": v")
  bool paused_ = false;
  bool dead_ = false;
  bool obs_fold_ = false;
  bool bare_lf_ = false;  // a LF not preceded by CR anywhere in the head
  char prev_byte_ = '\n';
  // The first bytes of a request line, to tell unknown from malformed methods (a fixed array:
  // filled for every request, so it must not allocate).
  static constexpr size_t kProbeBytes = 32;
  char probe_[kProbeBytes] = {};
  size_t probe_len_ = 0;
  struct RequestLine {
    enum State : uint8_t { kBefore, kIn, kDone } state = kBefore;
    char tail[9] = {};  // its last 9 bytes: " HTTP/1.1"
  } request_line_;
  int error_status_ = 0;
  std::string error_reason_;
};

const llhttp_settings_t& LlhttpParser::settings() {
  static const llhttp_settings_t s = [] {
    llhttp_settings_t st;
    llhttp_settings_init(&st);
    st.on_message_begin = [](llhttp_t* p) { return self(p).onMessageBegin(); };
    st.on_method = [](llhttp_t* p, const char* at, size_t n) {
      return self(p).onSpan(self(p).method_, at, n);
    };
    st.on_url = [](llhttp_t* p, const char* at, size_t n) {
      self(p).in_url_ = true;
      return self(p).onSpan(self(p).target_, at, n);
    };
    st.on_url_complete = [](llhttp_t* p) {
      self(p).in_url_ = false;
      return 0;
    };
    st.on_status = [](llhttp_t* p, const char* at, size_t n) {
      return self(p).onSpan(self(p).reason_, at, n);
    };
    st.on_header_field = [](llhttp_t* p, const char* at, size_t n) {
      return self(p).onHeaderField(at, n);
    };
    st.on_header_value = [](llhttp_t* p, const char* at, size_t n) {
      return self(p).onHeaderValue(at, n);
    };
    st.on_header_field_complete = [](llhttp_t* p) { return self(p).onHeaderFieldComplete(); };
    st.on_header_value_complete = [](llhttp_t* p) {
      self(p).last_ = Last::kValueDone;
      return 0;
    };
    st.on_headers_complete = [](llhttp_t* p) { return self(p).onHeadersComplete(); };
    st.on_body = [](llhttp_t* p, const char* at, size_t n) {
      self(p).body_bytes_ += n;
      if (self(p).body_sink_ != nullptr) self(p).body_sink_->onBodyData(at, n);
      return 0;
    };
    st.on_message_complete = [](llhttp_t* p) { return self(p).onMessageComplete(); };
    st.on_chunk_header = [](llhttp_t* p) { return self(p).onChunkHeader(); };
    return st;
  }();
  return s;
}

void LlhttpParser::reset() {
  llhttp_init(&parser_, kind_ == Kind::kRequest ? HTTP_REQUEST : HTTP_RESPONSE, &settings());
  parser_.data = this;
  onMessageBegin();
  in_message_ = false;
  obs_fold_ = false;
  bare_lf_ = false;
  request_line_ = RequestLine{};
  stop_ = Stop::kNone;
  head_bytes_ = 0;
  body_sink_ = nullptr;
  in_url_ = false;
  paused_ = false;
  dead_ = false;
  prev_byte_ = '\n';
  probe_len_ = 0;
  pending_method_ = false;
  pending_line_.clear();
  error_status_ = 0;
  error_reason_.clear();
}

int LlhttpParser::onMessageBegin() {
  // A fresh head, but the header list keeps its capacity: no allocation per message.
  std::vector<HeaderView> headers = std::move(head_.headers);
  headers.clear();
  head_ = MessageHead{};
  head_.headers = std::move(headers);
  buf_.clear();
  fields_.clear();
  method_ = target_ = reason_ = Span{};
  last_ = Last::kNone;
  body_bytes_ = 0;
  in_message_ = true;
  head_complete_ = false;
  in_trailers_ = false;
  trailer_fields_ = 0;
  trailer_name_seen_ = false;
  trailer_name_.clear();
  empty_name_ = false;
  return 0;
}

int LlhttpParser::onSpan(Span& span, const char* at, size_t n) {
  if (span.len == 0) span.off = static_cast<uint32_t>(buf_.size());
  buf_.append(at, n);
  span.len += static_cast<uint32_t>(n);
  return 0;
}

int LlhttpParser::onHeaderField(const char* at, size_t n) {
  if (head_complete_) {
    // A trailer field: counted, scanned, never stored (the head's views point into buf_).
    if (last_ != Last::kField) {
      last_ = Last::kField;
      if (++trailer_fields_ > limits_.max_headers) {
        error_status_ = 431;
        llhttp_set_error_reason(&parser_, "too many trailer fields");
        return HPE_USER;
      }
    }
    if (n == 0) return 0;
    if (!trailer_name_seen_) trailer_name_.clear();
    trailer_name_seen_ = true;
    trailer_name_.append(at, std::min(n, kMaxTrailerName - std::min(kMaxTrailerName, trailer_name_.size())));
    return 0;
  }
  if (last_ != Last::kField) {
    if (fields_.size() >= limits_.max_headers) {
      error_status_ = 431;
      llhttp_set_error_reason(&parser_, "too many header fields");
      return HPE_USER;
    }
    fields_.emplace_back(Span{static_cast<uint32_t>(buf_.size()), 0}, Span{});
    last_ = Last::kField;
  }
  return onSpan(fields_.back().first, at, n);
}

int LlhttpParser::onHeaderValue(const char* at, size_t n) {
  if (head_complete_) {
    if (last_ == Last::kNone || last_ == Last::kValueDone ||
        (last_ == Last::kField && !trailer_name_seen_)) {
      empty_name_ = true;
    }
    trailer_name_seen_ = false;
    trailer_name_.clear();
    last_ = Last::kValue;
    return 0;
  }
  // A value with no field before it on its line (": v") would otherwise be glued onto the
  // previous header's value.
  if (last_ == Last::kNone || last_ == Last::kValueDone) {
    empty_name_ = true;
    return 0;
  }
  if (fields_.empty()) return 0;
  last_ = Last::kValue;
  return onSpan(fields_.back().second, at, n);
}

// A trailer field that frames, routes or manages the connection: detour relays the trailer
// section byte for byte, so the backend would read it (and may merge it into the head). Refused
// at its name, before the section's end reaches the backend (RFC 9110 §6.5.1).
int LlhttpParser::onHeaderFieldComplete() {
  if (!head_complete_ || kind_ != Kind::kRequest) return 0;
  if (!isOneOfFolded(trailer_name_, kTrailerProhibited)) return 0;
  error_status_ = 400;
  error_reason_ = "a framing, routing or connection field in the trailer section (RFC 9110 §6.5.1)";
  return HPE_USER;
}

int LlhttpParser::onHeadersComplete() {
  stop_ = Stop::kHead;
  return HPE_PAUSED;
}

// The last chunk (size 0) starts the trailer section: stop there, so that the trailer bytes are
// scanned like a head (obs-fold, bare LF) before the message may complete.
int LlhttpParser::onChunkHeader() {
  if (parser_.content_length != 0) return 0;
  in_trailers_ = true;
  stop_ = Stop::kTrailers;
  return HPE_PAUSED;
}

int LlhttpParser::onMessageComplete() {
  in_message_ = false;
  stop_ = Stop::kMessage;
  return HPE_PAUSED;
}

void LlhttpParser::buildHead() {
  head_.method = view(method_);
  head_.target = view(target_);
  head_.reason = view(reason_);
  head_.status = kind_ == Kind::kResponse ? llhttp_get_status_code(&parser_) : 0;
  head_.version_major = llhttp_get_http_major(&parser_);
  head_.version_minor = llhttp_get_http_minor(&parser_);
  head_.headers.clear();
  head_.headers.reserve(fields_.size());
  for (const auto& [name, value] : fields_) {
    HeaderView h{view(name), trimOws(view(value))};
    head_.headers.push_back(h);
    if (equalsIgnoreCase(h.name, "host")) {
      if (head_.host_count++ == 0) head_.host = h.value;
    } else if (equalsIgnoreCase(h.name, "expect")) {
      head_.expect_continue = equalsIgnoreCase(h.value, "100-continue");
    }
  }
  head_.chunked = (parser_.flags & F_CHUNKED) != 0;
  head_.has_content_length = (parser_.flags & F_CONTENT_LENGTH) != 0;
  head_.content_length = head_.has_content_length ? parser_.content_length : 0;
  head_.upgrade = parser_.upgrade != 0;
  head_.keep_alive = llhttp_should_keep_alive(&parser_) != 0;
}

// Transfer-Encoding in a request: detour accepts exactly `chunked`. chunked not last (or twice)
// makes the length undeterminable: 400 (RFC 9112 §6.3). Any other coding: 501 (§6.1).
int LlhttpParser::transferEncodingStatus() const {
  std::vector<std::string_view> codings;
  for (const auto& [name, value] : fields_) {
    if (!equalsIgnoreCase(view(name), "transfer-encoding")) continue;
    std::string_view v = view(value);
    while (true) {
      size_t comma = v.find(',');
      std::string_view item = trimOws(v.substr(0, comma));
      size_t semi = item.find(';');
      codings.push_back(trimOws(item.substr(0, semi)));
      if (comma == std::string_view::npos) break;
      v.remove_prefix(comma + 1);
    }
  }
  if (codings.empty()) return 0;
  size_t chunked = 0;
  for (size_t i = 0; i < codings.size(); ++i) {
    if (equalsIgnoreCase(codings[i], "chunked")) {
      ++chunked;
      if (i + 1 != codings.size()) return 400;
    }
  }
  if (chunked > 1) return 400;
  for (auto c : codings) {
    if (!equalsIgnoreCase(c, "chunked")) {
      bool token = !c.empty();
      for (char ch : c) token = token && isTchar(ch);
      return token ? 501 : 400;
    }
  }
  return 0;
}

bool LlhttpParser::validateRequestHead() {
  auto reject = [&](int status, const char* why) {
    error_status_ = status;
    error_reason_ = why;
    return false;
  };
  if (obs_fold_) return reject(400, "obsolete line folding in header (RFC 9112 §5.2)");
  for (const auto& h : head_.headers) empty_name_ = empty_name_ || h.name.empty();
  if (empty_name_) return reject(400, "a header field without a name");
  // Only HTTP/1.0 and 1.1 are spoken here; a request line without a version (HTTP/0.9) or
  // any other version is not silently corrected (RFC 9112 §3).
  if (head_.version_major != 1) {
    return reject(head_.version_major >= 2 ? 505 : 400, "unsupported HTTP version");
  }
  if (std::string_view(request_line_.tail, 6) != " HTTP/") {
    return reject(400, "the request line does not end in an HTTP version (RFC 9112 §3)");
  }
  if (bare_lf_) return reject(400, "bare LF in the request head (RFC 9112 §2.2)");
  if (head_.host_count > 1) return reject(400, "more than one Host header");
  // "Content_Length" is not Content-Length here, but CGI and WSGI backends read both as
  // HTTP_CONTENT_LENGTH: the two sides would frame or route the request differently.
  for (const auto& h : head_.headers) {
    if (h.name.find('_') != std::string_view::npos && isOneOfFolded(h.name, kFramingFields))
      return reject(400, "a framing header spelled with '_' (CGI backends read it as '-')");
  }
  // `Connection: Content-Length` asks the next hop to drop the framing header while the body
  // still follows: a smuggling device. The framing and Host are not hop-by-hop.
  if (head_.connectionHas("content-length") || head_.connectionHas("transfer-encoding") ||
      head_.connectionHas("host")) {
    return reject(400, "Connection names a framing header or Host");
  }
  if (head_.host_count == 0 && head_.version_minor >= 1) return reject(400, "missing Host header");
  bool has_te = false;
  for (const auto& h : head_.headers) has_te = has_te || equalsIgnoreCase(h.name, "transfer-encoding");
  if (has_te) {
    if (head_.isHttp10()) return reject(400, "Transfer-Encoding in an HTTP/1.0 request");
    int st = transferEncodingStatus();
    if (st == 501) return reject(501, "unsupported transfer coding");
    if (st != 0) return reject(st, "invalid Transfer-Encoding");
  }
  return true;
}

// RFC 9112 §4: status-code is three digits (RFC 9110 §15: 100-599; 600-999 are passed on as
// unknown classes); reason-phrase is HTAB, SP, VCHAR and obs-text.
bool LlhttpParser::validateResponseHead() {
  if (head_.status < 100 || head_.status > 999) {
    error_reason_ = "response status outside 100-999";
    return false;
  }
  for (char c : head_.reason) {
    auto u = static_cast<unsigned char>(c);
    if ((u < 0x20 && c != '\t') || u == 0x7f) {
      error_reason_ = "control byte in the reason phrase";
      return false;
    }
  }
  return true;
}

// Whether the head's Transfer-Encoding ends in `chunked` (as detour reads it, optional
// whitespace trimmed) disagrees with how llhttp frames the body. llhttp 8.1 does not read
// "chunked<HTAB>" as chunked: the message would be framed one way here and the head passed on
// would say the other.
bool LlhttpParser::chunkedDisagrees() const {
  bool last_chunked = false;
  bool any = false;
  for (const auto& [name, value] : fields_) {
    if (!equalsIgnoreCase(view(name), "transfer-encoding")) continue;
    std::string_view v = view(value);
    size_t comma = v.rfind(',');
    std::string_view last = trimOws(comma == std::string_view::npos ? v : v.substr(comma + 1));
    if (trimOws(v).empty()) continue;
    any = true;
    last_chunked = equalsIgnoreCase(last, "chunked");
  }
  return any && last_chunked != head_.chunked;
}

// Obsolete line folding: a header line that starts with SP or HTAB. llhttp 8.1 folds it into
// the previous value even in strict mode, which would let " Content-Length: 38" hide inside
// another header; detour rejects it (RFC 9112 §5.2 allows a server to reject with 400).
void LlhttpParser::scanHead(const char* data, size_t n) {
  if (n == 0) return;
  if (kind_ == Kind::kRequest && request_line_.state != RequestLine::kDone) scanRequestLine(data, n);
  // (in_trailers_ too: the message may have completed during this very call)
  bool in_head = in_message_ || in_trailers_;
  auto folds = [](char c) { return c == ' ' || c == '\t'; };
  if (prev_byte_ == '\n' && in_head && folds(data[0])) obs_fold_ = true;
  // Only line ends matter: the byte before each LF (bare LF) and the byte after it (obs-fold).
  const char* end = data + n;
  for (const char* p = data; (p = static_cast<const char*>(std::memchr(p, '\n', end - p)));) {
    if ((p == data ? prev_byte_ : p[-1]) != '\r') bare_lf_ = true;
    ++p;
    if (p < end && in_head && folds(*p)) obs_fold_ = true;
  }
  prev_byte_ = end[-1];
}

// The last bytes of the request line, for its protocol name (llhttp also takes RTSP/1.0 and
// ICE/1.0, as version 1.0). Line ends before the request line are skipped, as llhttp does.
void LlhttpParser::scanRequestLine(const char* data, size_t n) {
  size_t i = 0;
  if (request_line_.state == RequestLine::kBefore) {
    while (i < n && (data[i] == '\r' || data[i] == '\n')) ++i;
    if (i == n) return;
    request_line_.state = RequestLine::kIn;
  }
  size_t start = i;
  // The line ends at its first CR or LF (memchr for each: this runs for every request).
  const void* lf = std::memchr(data + start, '\n', n - start);
  size_t stop = lf ? static_cast<size_t>(static_cast<const char*>(lf) - data) : n;
  const void* cr = std::memchr(data + start, '\r', stop - start);
  i = cr ? static_cast<size_t>(static_cast<const char*>(cr) - data) : stop;
  size_t len = i - start;
  constexpr size_t kTail = sizeof request_line_.tail;
  char* tail = request_line_.tail;
  if (len >= kTail) {
    std::memcpy(tail, data + i - kTail, kTail);
  } else if (len > 0) {
    std::memmove(tail, tail + len, kTail - len);
    std::memcpy(tail + kTail - len, data + start, len);
  }
  if (i < n) request_line_.state = RequestLine::kDone;
}

ParseResult LlhttpParser::fail(int status, std::string reason, size_t consumed) {
  dead_ = true;
  in_message_ = false;
  error_status_ = status;
  error_reason_ = std::move(reason);
  return {ParseEvent::kError, consumed};
}

// llhttp stops at the first byte that no method it knows continues with. The answer depends
// only on the bytes up to that one (never on how they were split into reads): a method of
// token characters is one detour does not implement (501), anything else is malformed (400).
int LlhttpParser::unknownMethodStatus(const char* data, size_t len, size_t at) const {
  // every byte before the offending one (probe_ is filled first)
  std::string method(probe_, probe_len_);
  if (at < len) method += data[at];
  size_t start = method.find_first_not_of("\r\n");
  if (start == std::string::npos) return 400;
  bool token = true;
  for (size_t i = start; i < method.size(); ++i) token = token && isTchar(method[i]);
  return token ? 501 : 400;
}

ParseResult LlhttpParser::failFromLlhttp(llhttp_errno_t err, const char* data, size_t len,
                                         size_t consumed) {
  std::string reason = llhttp_get_error_reason(&parser_) ? llhttp_get_error_reason(&parser_)
                                                          : llhttp_errno_name(err);
  switch (err) {
    case HPE_USER:
      return fail(error_status_ ? error_status_ : 400, reason, consumed);
    case HPE_CB_HEADER_FIELD_COMPLETE:  // onHeaderFieldComplete: a prohibited trailer field
      return fail(error_status_ ? error_status_ : 400,
                  error_reason_.empty() ? reason : std::string(error_reason_), consumed);
    case HPE_INVALID_METHOD: {
      if (kind_ != Kind::kRequest || unknownMethodStatus(data, len, consumed) != 501 ||
          probe_len_ >= kProbeBytes) {
        return fail(400, reason, consumed);
      }
      // A token so far: whether it is a method detour does not implement (501) or no request
      // line at all ("HELLO") shows only at the line's end.
      pending_method_ = true;
      pending_line_.assign(probe_, probe_len_);
      ParseResult r = judgeUnknownMethod(data + consumed, len - consumed);
      r.consumed += consumed;
      return r;
    }
    case HPE_INVALID_VERSION:
      // "Invalid HTTP version" is a version detour does not speak; llhttp also reports bad
      // bytes right after the version ("Expected CRLF after version") with this code.
      return fail(reason.find("Invalid HTTP version") != std::string::npos ? 505 : 400, reason,
                  consumed);
    case HPE_PAUSED_H2_UPGRADE:
      return fail(505, "HTTP/2 connection preface on an HTTP/1.1 listener", consumed);
    case HPE_INVALID_TRANSFER_ENCODING: {
      int st = transferEncodingStatus();
      return fail(st == 501 ? 501 : 400, reason, consumed);
    }
    default:
      return fail(400, reason, consumed);
  }
}

// Collects the request line after an unknown method, up to its LF, then answers 501 for a
// well-formed line and 400 otherwise (a bare LF included). The consumed counts only matter
// until the error: the connection closes after it.
ParseResult LlhttpParser::judgeUnknownMethod(const char* data, size_t len) {
  std::string_view in(data, len);
  size_t lf = in.find('\n');
  size_t room = limits_.max_head_bytes + 1 - std::min(limits_.max_head_bytes, pending_line_.size());
  pending_line_.append(in.substr(0, std::min(lf, room)));  // one byte past the limit at most
  std::string_view line(pending_line_);
  line.remove_prefix(std::min(line.size(), line.find_first_not_of("\r\n")));
  size_t used = lf == std::string_view::npos ? len : lf + 1;
  // The same verdict however the line was split: too long is decided on its length alone.
  if (pending_line_.size() >= limits_.max_head_bytes) {
    pending_method_ = false;
    return fail(400, "request line too long for an unknown method", used);
  }
  if (lf == std::string_view::npos) {
    // A method that is not a token can never become a request line: no need to wait.
    std::string_view method = line.substr(0, line.find(' '));
    if (std::all_of(method.begin(), method.end(), isTchar)) return {ParseEvent::kNeedMore, len};
    pending_method_ = false;
    return fail(400, "malformed request line", len);
  }
  pending_method_ = false;
  bool crlf = !line.empty() && line.back() == '\r';
  if (crlf) line.remove_suffix(1);
  if (crlf && wellFormedRequestLine(line)) return fail(501, "method not implemented", lf + 1);
  return fail(400, "malformed request line", lf + 1);
}

ParseResult LlhttpParser::execute(const char* data, size_t len) {
  if (pending_method_) return judgeUnknownMethod(data, len);
  if (dead_) return {ParseEvent::kError, 0};
  // llhttp marks an open span (a header cut between two reads) by a non-null start pointer
  // that it moves to each call's first byte: an empty call must still pass a valid pointer,
  // and is only useful right after a pause (to run on to the next stop).
  static const char kNothing[1] = {0};
  if (len == 0) {
    if (!paused_) return {ParseEvent::kNeedMore, 0};
    data = kNothing;
  }
  if (paused_) {
    llhttp_resume(&parser_);
    paused_ = false;
  }
  bool in_head = !head_complete_ || in_trailers_;
  size_t feed = len;
  if (in_head) {
    size_t room = limits_.max_head_bytes > head_bytes_ ? limits_.max_head_bytes - head_bytes_ : 0;
    if (feed > room) feed = room;
  }
  stop_ = Stop::kNone;
  llhttp_errno_t err = llhttp_execute(&parser_, data, feed);
  size_t consumed = feed;
  if (err != HPE_OK && llhttp_get_error_pos(&parser_) != nullptr)
    consumed = static_cast<size_t>(llhttp_get_error_pos(&parser_) - data);
  if (in_head) {
    scanHead(data, consumed);
    head_bytes_ += consumed;
    if (kind_ == Kind::kRequest && probe_len_ < kProbeBytes) {
      size_t take = std::min(consumed, kProbeBytes - probe_len_);
      std::memcpy(probe_ + probe_len_, data, take);
      probe_len_ += take;
    }
  }
  if (err == HPE_PAUSED) {
    paused_ = true;
    if (stop_ == Stop::kTrailers) {
      // The trailer section starts here; scan it from a fresh line, and parse on within this
      // call (kNeedMore promises that every byte was consumed).
      prev_byte_ = '\n';
      head_bytes_ = 0;
      ParseResult rest = execute(data + consumed, len - consumed);
      rest.consumed += consumed;
      return rest;
    }
    if (stop_ == Stop::kMessage && in_trailers_ && (obs_fold_ || bare_lf_ || empty_name_)) {
      return fail(400, obs_fold_ ? "obsolete line folding in a trailer"
                       : bare_lf_ ? "bare LF in the trailer section"
                                  : "a trailer field without a name",
                  consumed);
    }
    if (stop_ == Stop::kHead) {
      head_complete_ = true;
      buildHead();
      if (kind_ == Kind::kRequest && !validateRequestHead())
        return fail(error_status_, error_reason_, consumed);
      for (const auto& h : head_.headers) empty_name_ = empty_name_ || h.name.empty();
      if (kind_ == Kind::kResponse && (obs_fold_ || bare_lf_ || empty_name_))
        return fail(400, "obsolete line folding, bare LF or an empty field name in the response head",
                    consumed);
      if (kind_ == Kind::kResponse && !validateResponseHead())
        return fail(400, error_reason_, consumed);
      if (chunkedDisagrees())
        return fail(400, "Transfer-Encoding that llhttp does not read as its last coding", consumed);
      return {ParseEvent::kHeadComplete, consumed};
    }
    head_bytes_ = 0;
    head_complete_ = false;  // the next bytes belong to the next message's head
    probe_len_ = 0;
    prev_byte_ = '\n';
    // The next head's scan starts here (not when llhttp begins the message, which may be
    // after bytes of it were already scanned in an earlier read).
    obs_fold_ = false;
    bare_lf_ = false;
    request_line_ = RequestLine{};
    return {ParseEvent::kMessageComplete, consumed};
  }
  if (err == HPE_PAUSED_UPGRADE) {
    // The rest of the connection is another protocol: no further HTTP/1 parsing.
    dead_ = true;
    in_message_ = false;
    error_status_ = 0;
    return {ParseEvent::kMessageComplete, consumed};
  }
  if (err != HPE_OK) return failFromLlhttp(err, data, len, consumed);
  if (in_head && head_bytes_ >= limits_.max_head_bytes) {
    if (in_trailers_) return fail(431, "trailer section too large", consumed);
    return fail(in_url_ ? 414 : 431, in_url_ ? "request-target too long" : "request head too large",
                consumed);
  }
  return {ParseEvent::kNeedMore, consumed};
}

ParseResult LlhttpParser::finish() {
  if (pending_method_) {
    pending_method_ = false;
    return fail(400, "connection closed in the request line", 0);
  }
  if (dead_) return {ParseEvent::kError, 0};
  if (paused_) {
    llhttp_resume(&parser_);
    paused_ = false;
  }
  if (!in_message_) return {ParseEvent::kNeedMore, 0};
  stop_ = Stop::kNone;
  llhttp_errno_t err = llhttp_finish(&parser_);
  if ((err == HPE_OK || err == HPE_PAUSED) && !in_message_) {
    return {ParseEvent::kMessageComplete, 0};
  }
  return fail(400, "connection closed before the message ended", 0);
}

}  // namespace

std::unique_ptr<Http1Parser> Http1Parser::create(Kind kind, const ParserLimits& limits) {
  return std::make_unique<LlhttpParser>(kind, limits);
}

}  // namespace detour
