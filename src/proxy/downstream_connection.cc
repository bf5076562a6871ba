#include "proxy/downstream_connection.h"

#include <sys/socket.h>

#include "common/string_util.h"
#include "logging/access_log.h"
#include "logging/logging.h"
#include "proxy/local_response.h"
#include "proxy/request_target.h"
#include "server/config_snapshot.h"
#include "server/worker.h"

namespace detour {
namespace {

// Output queued beyond this stops request processing until the client reads (pipelining
// clients that never read cannot grow memory).
constexpr size_t kOutputHighWater = 256 * 1024;
constexpr std::chrono::seconds kLingerTime{5};

timeval toTimeval(std::chrono::milliseconds d) {
  timeval tv;
  tv.tv_sec = static_cast<time_t>(d.count() / 1000);
  tv.tv_usec = static_cast<suseconds_t>((d.count() % 1000) * 1000);
  return tv;
}

std::string_view protocolName(const MessageHead& h) {
  if (h.version_major == 1 && h.version_minor == 0) return "HTTP/1.0";
  if (h.version_major == 1 && h.version_minor == 1) return "HTTP/1.1";
  return h.version_major == 0 ? "HTTP/0.9" : "HTTP/?";
}

}  // namespace

DownstreamConnection::DownstreamConnection(Worker& worker, uint64_t id, evutil_socket_t fd,
                                           const SocketAddress& peer,
                                           const ListenerInfo& listener)
    : worker_(worker), id_(id), peer_(peer), listener_(listener) {
  bev_.reset(bufferevent_socket_new(worker.loop().base(), fd, BEV_OPT_CLOSE_ON_FREE));
  timer_.reset(evtimer_new(worker.loop().base(), &DownstreamConnection::onTimerCb, this));
  std::string addr = peer.toString();
  size_t colon = addr.rfind(':');
  peer_ip_ = addr.substr(0, colon);
  if (!peer_ip_.empty() && peer_ip_.front() == '[') peer_ip_ = peer_ip_.substr(1, peer_ip_.size() - 2);
}

DownstreamConnection::~DownstreamConnection() = default;

void DownstreamConnection::start() {
  bufferevent_setcb(bev_.get(), &DownstreamConnection::onReadCb, &DownstreamConnection::onWriteCb,
                    &DownstreamConnection::onEventCb, this);
  bufferevent_enable(bev_.get(), EV_READ | EV_WRITE);
  armTimer(TimerMode::kIdle);
}

void DownstreamConnection::onReadCb(bufferevent*, void* ctx) {
  static_cast<DownstreamConnection*>(ctx)->onRead();
}
void DownstreamConnection::onWriteCb(bufferevent*, void* ctx) {
  static_cast<DownstreamConnection*>(ctx)->onWrite();
}
void DownstreamConnection::onEventCb(bufferevent*, short what, void* ctx) {
  static_cast<DownstreamConnection*>(ctx)->onEvent(what);
}
void DownstreamConnection::onTimerCb(evutil_socket_t, short, void* ctx) {
  static_cast<DownstreamConnection*>(ctx)->onTimer();
}

void DownstreamConnection::onRead() {
  if (phase_ == Phase::kFlushClose || phase_ == Phase::kLinger) {
    evbuffer* in = bufferevent_get_input(bev_.get());
    evbuffer_drain(in, evbuffer_get_length(in));
    return;
  }
  processInput();
}

void DownstreamConnection::onWrite() {
  if (phase_ == Phase::kFlushClose) {
    startLinger();
    return;
  }
  // Output drained: resume requests that waited for the client to read.
  if (evbuffer_get_length(bufferevent_get_input(bev_.get())) > 0) processInput();
}

void DownstreamConnection::onEvent(short what) {
  if (what & (BEV_EVENT_ERROR | BEV_EVENT_TIMEOUT)) {
    closeNow();
    return;
  }
  if (what & BEV_EVENT_EOF) {
    // The client closed its side. A response still queued may yet reach it.
    if (phase_ == Phase::kFlushClose &&
        evbuffer_get_length(bufferevent_get_output(bev_.get())) > 0) {
      return;
    }
    if (exchange_open_ && answer_pending_) flushAnswer(true);
    if (exchange_open_) endExchange();
    closeNow();
  }
}

void DownstreamConnection::onTimer() {
  switch (timer_mode_) {
    case TimerMode::kHeader:
      head_valid_ = false;
      if (!exchange_open_) {
        exchange_open_ = true;
        started_ = std::chrono::steady_clock::now();
        started_wall_ = std::chrono::system_clock::now();
      }
      answerStatus(408);
      flushAnswer(true);
      endExchange();
      beginClose();
      return;
    case TimerMode::kIdle:
    case TimerMode::kBody:
    case TimerMode::kLinger:
    case TimerMode::kNone:
      closeNow();
      return;
  }
}

bool DownstreamConnection::outputBlocked() const {
  return evbuffer_get_length(bufferevent_get_output(bev_.get())) > kOutputHighWater;
}

void DownstreamConnection::processInput() {
  if (in_process_) return;
  in_process_ = true;
  evbuffer* in = bufferevent_get_input(bev_.get());
  while (phase_ == Phase::kWaiting || phase_ == Phase::kHead || phase_ == Phase::kBody) {
    if (phase_ != Phase::kBody && outputBlocked()) break;  // resumes from onWrite
    if (parser_ == nullptr || parser_generation_ != worker_.snapshot().generation) {
      if (!parser_ || !parser_->inMessage()) {
        parser_ = Http1Parser::create(Http1Parser::Kind::kRequest,
                                      worker_.snapshot().parser_limits);
        parser_generation_ = worker_.snapshot().generation;
      }
    }
    size_t avail = evbuffer_get_length(in);
    evbuffer_iovec vec{};
    if (avail > 0) evbuffer_peek(in, -1, nullptr, &vec, 1);
    const char* data = static_cast<const char*>(vec.iov_base);
    size_t len = avail > 0 ? vec.iov_len : 0;
    bool was_in_message = parser_->inMessage();
    ParseResult r = parser_->execute(data, len);
    if (r.consumed > 0) {
      evbuffer_drain(in, r.consumed);
      exchange_bytes_in_ += r.consumed;
      worker_.counters().bytes_in.fetch_add(r.consumed, std::memory_order_relaxed);
    }
    if (!was_in_message && parser_->inMessage() && !exchange_open_) {
      head_valid_ = false;
      exchange_open_ = true;
      exchange_bytes_in_ = r.consumed;
      exchange_bytes_out_ = 0;
      started_ = std::chrono::steady_clock::now();
      started_wall_ = std::chrono::system_clock::now();
    }
    if (phase_ == Phase::kBody) discarded_ += r.consumed;
    if (r.event == ParseEvent::kHeadComplete) {
      onHeadComplete();
    } else if (r.event == ParseEvent::kMessageComplete) {
      onMessageComplete();
    } else if (r.event == ParseEvent::kError) {
      onParseError();
    } else if (r.consumed >= avail) {
      onInputExhausted();
      break;
    } else if (phase_ == Phase::kBody && answer_pending_ && discarded_ > kMaxDiscardBytes) {
      // A body bigger than we are willing to drop is already buffered: give up on it.
      flushAnswer(true);
      endExchange();
      beginClose();
    }
  }
  in_process_ = false;
  updateTimer();
}

void DownstreamConnection::onHeadComplete() {
  if (snapshot_.get() != worker_.snapshotPtr().get()) snapshot_ = worker_.snapshotPtr();
  head_valid_ = true;
  worker_.counters().requests.fetch_add(1, std::memory_order_relaxed);
  discarded_ = 0;
  answer_ = Answer{};
  routeRequest();
  answer_pending_ = true;
  phase_ = parser_->head().hasBody() ? Phase::kBody : Phase::kHead;
}

void DownstreamConnection::onMessageComplete() {
  if (answer_pending_) flushAnswer(!keepAlive());
  endExchange();
  if (close_after_) {
    beginClose();
    return;
  }
  phase_ = Phase::kWaiting;
  armTimer(TimerMode::kIdle);
  if (close_when_idle_) closeNow();
}

void DownstreamConnection::onInputExhausted() {
  if (!answer_pending_ || phase_ != Phase::kBody) return;
  // The request was answered locally but its body is still arriving. Keep the connection only
  // when the rest is small and certain to come (RFC 9110 §10.1.1: a client that sent
  // Expect: 100-continue waits for us, so its body will not come).
  const MessageHead& h = parser_->head();
  bool keep = keepAlive() && !h.expect_continue && !h.chunked &&
              h.content_length <= kMaxDiscardBytes;
  flushAnswer(!keep);
  if (!keep) {
    endExchange();
    beginClose();
  }
}

void DownstreamConnection::onParseError() {
  worker_.counters().parse_errors.fetch_add(1, std::memory_order_relaxed);
  if (answer_pending_) {
    flushAnswer(true);  // the head was fine and is answered; the body was not
  } else if (phase_ != Phase::kBody) {
    if (!exchange_open_) {
      exchange_open_ = true;
      started_ = std::chrono::steady_clock::now();
      started_wall_ = std::chrono::system_clock::now();
    }
    head_valid_ = false;
    answerStatus(parser_->errorStatus());
    flushAnswer(true);
    log().debug("C{} parse error {}: {}", id_, parser_->errorStatus(), parser_->errorReason());
  }
  endExchange();
  beginClose();
}

void DownstreamConnection::routeRequest() {
  const MessageHead& h = parser_->head();
  if (h.method == "CONNECT") return answerStatus(405, "Allow: GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS\r\n");
  TargetParts target;
  if (!splitTarget(h.target, target)) return answerStatus(400);
  if (target.asterisk) {
    if (h.method != "OPTIONS") return answerStatus(400);
    return answerStatus(200, "Allow: GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS\r\n");
  }
  std::string_view port;
  std::string_view host_value = target.authority.empty() ? h.host : target.authority;
  if (!host_value.empty() && !splitHost(host_value, host_, port)) return answerStatus(400);
  if (host_value.empty()) host_.clear();
  if (!target.authority.empty() && h.host_count > 0) {
    // Absolute-form: RFC 9112 §3.2.2 says to ignore Host; a Host that disagrees is refused
    // instead, since something between the client and us read the request differently.
    std::string other;
    std::string_view other_port;
    if (!splitHost(h.host, other, other_port) || other != host_ || other_port != port)
      return answerStatus(400);
  }
  std::string port_buf;
  if (port.empty()) {
    port_buf = std::to_string(listener_.address.port());
    port = port_buf;
  }
  RequestView view;
  view.method = h.method;
  view.scheme = listener_.tls ? Scheme::kHttps : Scheme::kHttp;
  std::string_view xfp = h.find("x-forwarded-proto");
  if (!xfp.empty()) {
    for (const auto& cidr : snapshot_->config().server.trusted_proxies) {
      if (cidr.contains(peer_.sockaddrPtr())) {
        view.scheme = equalsIgnoreCase(xfp, "https") ? Scheme::kHttps : Scheme::kHttp;
        break;
      }
    }
  }
  view.host = host_;
  view.port = port;
  view.path = target.path;
  view.query = target.query;
  view.headers = h.headers;
  MatchContext ctx;
  ctx.now = std::chrono::duration_cast<std::chrono::milliseconds>(
                started_wall_.time_since_epoch()).count();
  MatchCaptures caps;
  const CompiledRule* rule = snapshot_->table->match(view, ctx, caps);
  if (rule == nullptr) return answerStatus(404);
  answer_.rule = rule;
  switch (rule->kind()) {
    case ActionKind::kRedirect:
      answer_.kind = Answer::Kind::kRedirect;
      answer_.status = rule->redirect()->code;
      rule->buildLocation(view, caps, answer_.location);
      return;
    case ActionKind::kRespond:
      answer_.kind = Answer::Kind::kRespond;
      answer_.status = rule->respond()->status;
      return;
    case ActionKind::kForward:
      // Forwarding lands with the forwarder; until then the rule answers 502.
      answer_.kind = Answer::Kind::kStatus;
      answer_.status = 502;
      return;
  }
}

void DownstreamConnection::answerStatus(int status, std::string extra_headers) {
  // A request refused as malformed (400) or unsupported (405) ends the connection: what
  // follows it on the wire cannot be trusted to start a new request.
  if (status == 400 || status == 405) close_after_ = true;
  answer_.kind = Answer::Kind::kStatus;
  answer_.status = status;
  answer_.extra_headers = std::move(extra_headers);
  answer_pending_ = true;
}

bool DownstreamConnection::keepAlive() const {
  return parser_ && parser_->head().keep_alive && !worker_.draining() && !close_when_idle_ &&
         !close_after_;
}

void DownstreamConnection::flushAnswer(bool close) {
  if (!answer_pending_) return;
  answer_pending_ = false;
  close_after_ = close_after_ || close;
  const MessageHead* h = head_valid_ ? &parser_->head() : nullptr;
  ResponseOptions opts;
  opts.close = close_after_;
  opts.head_request = h != nullptr && h->method == "HEAD";
  opts.keep_alive_10 = h != nullptr && h->isHttp10() && !close_after_;
  opts.date_line = worker_.dateLine();
  std::string out;
  switch (answer_.kind) {
    case Answer::Kind::kRedirect:
      appendRedirectResponse(out, *answer_.rule->redirect(), answer_.location, opts);
      break;
    case Answer::Kind::kRespond:
      appendFixedResponse(out, *answer_.rule->respond(), opts);
      break;
    case Answer::Kind::kStatus:
    case Answer::Kind::kNone:
      appendStatusResponse(out, answer_.status, answer_.extra_headers, opts);
      break;
  }
  status_ = answer_.status;
  exchange_bytes_out_ += out.size();
  worker_.counters().bytes_out.fetch_add(out.size(), std::memory_order_relaxed);
  bufferevent_write(bev_.get(), out.data(), out.size());
}

void DownstreamConnection::endExchange() {
  if (!exchange_open_) return;
  exchange_open_ = false;
  const ConfigSnapshot& snap = snapshot_ ? *snapshot_ : worker_.snapshot();
  AccessLog* alog = snap.access_log.get();
  if (alog == nullptr || !alog->enabled()) return;
  const MessageHead* h = head_valid_ ? &parser_->head() : nullptr;
  AccessRecord rec;
  rec.time = started_wall_;
  rec.client = peer_ip_;
  rec.scheme = listener_.tls ? "https" : "http";
  rec.status = status_;
  rec.bytes_in = exchange_bytes_in_;
  rec.bytes_out = exchange_bytes_out_;
  rec.duration_ms = std::chrono::duration<double, std::milli>(
                        std::chrono::steady_clock::now() - started_).count();
  if (h != nullptr) {
    rec.host = h->host;
    rec.method = h->method;
    rec.target = h->target;
    rec.protocol = protocolName(*h);
    rec.user_agent = h->find("user-agent");
    rec.referer = h->find("referer");
    std::string_view rid = h->find("x-request-id");
    request_id_ = rid.empty() ? worker_.newRequestId() : std::string(rid);
    rec.request_id = request_id_;
  }
  if (answer_.rule != nullptr) rec.rule = answer_.rule->name();
  rec.location = answer_.location;
  alog->write(rec);
}

void DownstreamConnection::beginClose() {
  if (phase_ == Phase::kFlushClose || phase_ == Phase::kLinger || phase_ == Phase::kClosed) return;
  phase_ = Phase::kFlushClose;
  evbuffer* in = bufferevent_get_input(bev_.get());
  evbuffer_drain(in, evbuffer_get_length(in));
  if (evbuffer_get_length(bufferevent_get_output(bev_.get())) == 0) startLinger();
}

void DownstreamConnection::startLinger() {
  phase_ = Phase::kLinger;
  shutdown(bufferevent_getfd(bev_.get()), SHUT_WR);
  armTimer(TimerMode::kLinger);
}

void DownstreamConnection::updateTimer() {
  switch (phase_) {
    case Phase::kWaiting:
    case Phase::kHead:
      if (parser_ && parser_->inMessage() && !parser_->headComplete()) {
        if (timer_mode_ != TimerMode::kHeader) armTimer(TimerMode::kHeader);
        phase_ = Phase::kHead;
      } else if (timer_mode_ != TimerMode::kIdle) {
        armTimer(TimerMode::kIdle);
      }
      break;
    case Phase::kBody:
      armTimer(TimerMode::kBody);
      break;
    default:
      break;
  }
}

void DownstreamConnection::armTimer(TimerMode mode) {
  timer_mode_ = mode;
  const TimeoutsConfig& t = worker_.snapshot().config().server.timeouts;
  timeval tv{};
  switch (mode) {
    case TimerMode::kIdle: tv = toTimeval(t.idle); break;
    case TimerMode::kHeader: tv = toTimeval(t.header); break;
    case TimerMode::kBody: tv = toTimeval(t.idle); break;
    case TimerMode::kLinger: tv = toTimeval(std::min<std::chrono::milliseconds>(t.idle, kLingerTime)); break;
    case TimerMode::kNone: evtimer_del(timer_.get()); return;
  }
  evtimer_add(timer_.get(), &tv);
}

void DownstreamConnection::closeWhenIdle() {
  close_when_idle_ = true;
  if (phase_ == Phase::kWaiting && !(parser_ && parser_->inMessage())) closeNow();
}

void DownstreamConnection::closeNow() {
  if (phase_ == Phase::kClosed) return;
  phase_ = Phase::kClosed;
  evtimer_del(timer_.get());
  bufferevent_disable(bev_.get(), EV_READ | EV_WRITE);
  worker_.connectionClosed(this);
}

}  // namespace detour
