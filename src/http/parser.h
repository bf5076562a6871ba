#pragma once

// Incremental HTTP/1.x parsing behind a small interface. llhttp (strict mode) is used only in
// llhttp_parser.cc. The parser is a framer and validator: the caller owns the bytes, and after
// the head every byte the parser consumes belongs to the body (chunk framing included), so a
// forwarder can pass the exact consumed bytes on unchanged.
//
// Parsing stops at three points so that the caller can act: the end of the head, the end of
// a message (pipelined bytes then wait until the caller resumes), and an error.

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string_view>

#include "http/message.h"

namespace detour {

enum class ParseEvent {
  kNeedMore,         // every byte was consumed; feed more
  kHeadComplete,     // head() is ready; body bytes (if any) follow
  kMessageComplete,  // the message (head and body) ended after `consumed` bytes
  kError,            // malformed; see errorStatus() and errorReason()
};

struct ParseResult {
  ParseEvent event = ParseEvent::kNeedMore;
  size_t consumed = 0;  // bytes of the input used; the rest must be fed again later
};

struct ParserLimits {
  size_t max_head_bytes = 16384;  // request/status line + headers + CRLFs; over: 431 (414 in URI)
  size_t max_headers = 128;       // header fields; over: 431
};

// Receives decoded body bytes (chunk framing removed) as the parser consumes them.
class BodySink {
 public:
  virtual ~BodySink() = default;
  virtual void onBodyData(const char* data, size_t len) = 0;
};

class Http1Parser {
 public:
  enum class Kind { kRequest, kResponse };
  virtual ~Http1Parser() = default;

  // Parses `data[0..len)`. Returns at the first of: head complete, message complete, error,
  // or all input consumed. After kHeadComplete or kMessageComplete, call again with the bytes
  // not consumed; a new message starts automatically after kMessageComplete. After kError the
  // parser is dead: every later call returns kError.
  virtual ParseResult execute(const char* data, size_t len) = 0;

  // Tells the parser the peer closed. Returns kMessageComplete when that ends a message
  // delimited by close (responses without length), kNeedMore when no message had started,
  // kError when a message was cut short.
  virtual ParseResult finish() = 0;

  // Valid from kHeadComplete until the next message starts.
  virtual const MessageHead& head() const = 0;

  // Responses only: the message is the answer to a HEAD request (or a 2xx to CONNECT), so it
  // has no body whatever its headers say. Call right after kHeadComplete.
  virtual void skipBody() = 0;

  // Decoded body bytes go to `sink` (null: nowhere). The sink must outlive its use.
  virtual void setBodySink(BodySink* sink) = 0;

  // Decoded body bytes seen so far in the current message (chunk framing excluded).
  virtual uint64_t bodyBytes() const = 0;
  // True while inside a message (its first byte was seen and it has not completed).
  virtual bool inMessage() const = 0;
  // True between the end of the current message's head and the end of the message.
  virtual bool headComplete() const = 0;

  // After kError: the status to answer with (400, 414, 431, 501 or 505) and a short reason.
  virtual int errorStatus() const = 0;
  virtual std::string_view errorReason() const = 0;

  // Back to the state of a new parser (same kind and limits), keeping its allocations: for
  // parsers reused across connections.
  virtual void reset() = 0;

  static std::unique_ptr<Http1Parser> create(Kind kind, const ParserLimits& limits);
};

}  // namespace detour
