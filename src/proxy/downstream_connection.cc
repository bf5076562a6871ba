#include "proxy/downstream_connection.h"

#include <algorithm>
#include <cstring>

#include <sys/socket.h>

#include "common/string_util.h"
#include "http/forwarding_headers.h"
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

std::string_view protocolName(const MessageHead& h) {
  if (h.version_major == 1 && h.version_minor == 0) return "HTTP/1.0";
  if (h.version_major == 1 && h.version_minor == 1) return "HTTP/1.1";
  return h.version_major == 0 ? "HTTP/0.9" : "HTTP/?";
}

}  // namespace

DownstreamConnection::DownstreamConnection(Worker& worker, uint64_t id, evutil_socket_t fd,
                                           const SocketAddress& peer,
                                           std::shared_ptr<const ListenerInfo> listener)
    : worker_(worker),
      id_(id),
      timer_(worker.loop().base(), &DownstreamConnection::onTimerCb, this),
      listener_(std::move(listener)) {
  std::memcpy(&peer_, &peer.storage, std::min<size_t>(peer.length, sizeof peer_));
  io_ = std::make_unique<SocketIo>(worker.loop(), fd, static_cast<SocketIo::Handler*>(this));
  io_->disableRead();  // until start()
  std::string addr = peer.toString();
  size_t colon = addr.rfind(':');
  peer_ip_ = addr.substr(0, colon);
  if (!peer_ip_.empty() && peer_ip_.front() == '[') peer_ip_ = peer_ip_.substr(1, peer_ip_.size() - 2);
}

DownstreamConnection::~DownstreamConnection() = default;

std::vector<std::unique_ptr<DownstreamConnection::ExchangeState>>&
DownstreamConnection::exchangePool() {
  thread_local std::vector<std::unique_ptr<ExchangeState>> pool;
  return pool;
}

DownstreamConnection::ExchangeState& DownstreamConnection::x() {
  if (!x_) {
    auto& pool = exchangePool();
    if (pool.empty()) {
      x_ = std::make_unique<ExchangeState>();
    } else {
      x_ = std::move(pool.back());
      pool.pop_back();
    }
  }
  return *x_;
}

void DownstreamConnection::ExchangeState::clear() {
  answer.kind = Answer::Kind::kNone;
  answer.rule = nullptr;
  answer.status = 0;
  answer.location.clear();
  answer.extra_headers.clear();
  host.clear();
  request_id.clear();
  upstream.clear();
  forward_pool.clear();
  // A pooled state keeps a usual head's storage, not a 64 KiB one's.
  constexpr size_t kMaxKeptHead = 4096;
  if (upstream_head.capacity() > kMaxKeptHead) std::string().swap(upstream_head);
  upstream_head.clear();
  started_wall = {};
}

void DownstreamConnection::releaseExchangeState() {
  if (!x_) return;
  constexpr size_t kMaxPooled = 256;
  auto& pool = exchangePool();
  if (pool.size() < kMaxPooled) {
    x_->clear();  // nothing of this exchange leaks into the next connection's
    pool.push_back(std::move(x_));
  }
  x_.reset();
}

void DownstreamConnection::start() {
  // Back-pressure: stop reading the socket when this much input waits unprocessed; hear of
  // the output draining to the low mark (the forwarder resumes then).
  io_->setReadHighWater(Forwarder::kHighWater);
  io_->setWriteLowWater(Forwarder::kLowWater);
  // A client that stops reading its response is dropped after the idle timeout.
  io_->setTimeouts(std::chrono::milliseconds(0), worker_.snapshot().config().server.timeouts.idle);
  io_->enableRead();
  armTimer(TimerMode::kIdle);
}

void DownstreamConnection::onSocketReadable() { onRead(); }
void DownstreamConnection::onSocketDrained() { onWrite(); }
void DownstreamConnection::onSocketEof() { onEof(); }
void DownstreamConnection::onSocketError(int, bool) { closeNow(); }
void DownstreamConnection::onTimerCb(void* ctx) {
  static_cast<DownstreamConnection*>(ctx)->onTimer();
}

void DownstreamConnection::onRead() {
  if (forwarder_ && forwarder_->tunneling()) {
    forwarder_->onDownstreamReadable();
    return;
  }
  if (phase_ == Phase::kFlushClose || phase_ == Phase::kLinger) {
    evbuffer_drain(io_->input(), evbuffer_get_length(io_->input()));
    io_->resumeReadIfDrained();
    return;
  }
  processInput();
}

void DownstreamConnection::onWrite() {
  if (forwarder_) {
    forwarder_->onDownstreamDrained();
    return;
  }
  if (phase_ == Phase::kFlushClose) {
    if (io_->pendingOutput() == 0) startLinger();
    return;
  }
  // Output drained: resume requests that waited for the client to read.
  if (evbuffer_get_length(io_->input()) > 0) processInput();
}

void DownstreamConnection::onEof() {
  if (forwarder_ && forwarder_->tunneling()) {
    forwarder_->onDownstreamEof();
    return;
  }
  // The client closed its side (reading stopped). A response still queued may yet reach it.
  peer_eof_ = true;
  if (phase_ == Phase::kFlushClose && io_->pendingOutput() > 0) return;
  // Requests already complete in the input are still answered (a client may send its last
  // request and half-close at once).
  if (phase_ == Phase::kWaiting && evbuffer_get_length(io_->input()) > 0 && !forwarder_) {
    close_when_idle_ = true;
    processInput();
    if (phase_ == Phase::kClosed) return;
    if (phase_ == Phase::kFlushClose || phase_ == Phase::kLinger) return;
  }
  if (phase_ == Phase::kAwaitResponse && forwarder_) {
    // The forwarded request is complete: EOF is a half-close, not a cancel (as HAProxy). The
    // forward finishes, its response goes out, then the connection closes.
    close_when_idle_ = true;
    return;
  }
  // A request still arriving (or its forward) was given up on (nginx's 499): the forwarder
  // and its upstream connection go.
  if (exchange_open_ && answer_pending_) flushAnswer(true);
  if (phase_ != Phase::kClosed && io_->pendingOutput() > 0 && !forwarder_) {
    beginClose();  // the exchange is logged when the connection closes
    return;
  }
  closeNow();
}

void DownstreamConnection::onTimer() {
  switch (timer_mode_) {
    case TimerMode::kHeader:
      head_valid_ = false;
      if (!exchange_open_) {
        exchange_open_ = true;
        started_ = std::chrono::steady_clock::now();
        x().started_wall = std::chrono::system_clock::now();
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
  return io_->pendingOutput() > kOutputHighWater;
}

void DownstreamConnection::processInput() {
  if (in_process_) return;
  in_process_ = true;
  evbuffer* in = io_->input();
  while (phase_ == Phase::kWaiting || phase_ == Phase::kHead || phase_ == Phase::kBody ||
         phase_ == Phase::kForwardBody) {
    if ((phase_ == Phase::kWaiting || phase_ == Phase::kHead) && outputBlocked()) break;
    if (phase_ == Phase::kForwardBody && forwarder_->bodyBlocked()) break;  // onForwardWritable
    size_t avail = evbuffer_get_length(in);
    if (parser_ == nullptr) {
      if (avail == 0) break;  // idle: no parser held until a byte arrives
      parser_ = worker_.takeParser();
    } else if (avail == 0 && phase_ == Phase::kWaiting && !parser_->inMessage()) {
      break;  // the last request is done and nothing follows it: no parse to run
    }
    evbuffer_iovec vec{};
    if (avail > 0) evbuffer_peek(in, -1, nullptr, &vec, 1);
    const char* data = static_cast<const char*>(vec.iov_base);
    size_t len = avail > 0 ? vec.iov_len : 0;
    bool was_in_message = parser_->inMessage();
    ParseResult r = parser_->execute(data, len);
    if (r.consumed > 0) {
      if (phase_ == Phase::kForwardBody && r.event != ParseEvent::kHeadComplete &&
          r.event != ParseEvent::kError) {
        forwarder_->sendBody(in, r.consumed);  // the exact bytes, chunk framing included
      } else {
        evbuffer_drain(in, r.consumed);
      }
      exchange_bytes_in_ += r.consumed;
      worker_.counters().bytes_in.fetch_add(r.consumed, std::memory_order_relaxed);
    }
    if (!was_in_message && parser_->inMessage() && !exchange_open_) {
      head_valid_ = false;
      exchange_open_ = true;
      exchange_bytes_in_ = r.consumed;
      exchange_bytes_out_ = 0;
      started_ = std::chrono::steady_clock::now();
      x().started_wall = std::chrono::system_clock::now();
    }
    if (phase_ == Phase::kBody) discarded_ += r.consumed;
    if (phase_ == Phase::kForwardBody && r.event != ParseEvent::kError) {
      uint64_t max_body = snapshot_->config().server.limits.max_body_bytes;
      if (max_body > 0 && parser_->bodyBytes() > max_body) {
        bodyTooLarge();
        continue;
      }
    }
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
  if (phase_ != Phase::kClosed) io_->resumeReadIfDrained();  // consumed input: read on
  updateTimer();
  // Between requests the parser goes back to the worker's pool: an idle keep-alive connection
  // costs only its socket, buffers and timer.
  if (phase_ == Phase::kWaiting && parser_ && !parser_->inMessage() && !exchange_open_ &&
      !answer_pending_ && !forwarder_ && evbuffer_get_length(io_->input()) == 0) {
    head_valid_ = false;
    worker_.returnParser(std::move(parser_));
    releaseExchangeState();
  }
}

void DownstreamConnection::onHeadComplete() {
  if (snapshot_.get() != worker_.snapshotPtr().get()) snapshot_ = worker_.snapshotPtr();
  head_valid_ = true;
  worker_.counters().requests.fetch_add(1, std::memory_order_relaxed);
  discarded_ = 0;
  x().answer = Answer{};
  x().upstream.clear();
  x().forward_pool.clear();
  x().request_id.clear();
  status_ = 0;
  https_ = listener_->tls;
  answer_pending_ = true;
  phase_ = parser_->head().hasBody() ? Phase::kBody : Phase::kHead;
  routeRequest();
}

void DownstreamConnection::onMessageComplete() {
  if (forwarder_) {
    forwarder_->requestComplete();
    phase_ = Phase::kAwaitResponse;
    timer_.cancel();  // the forwarder's timeouts govern now
    timer_mode_ = TimerMode::kNone;
    return;
  }
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
  if (forwarder_) {
    // A malformed body mid-forward: the backend must never see a complete message, so its
    // connection goes (with the forwarder); the client gets 400 if nothing was answered yet.
    bool started = forwarder_->responseStarted();
    status_ = forwarder_->status();
    dropForwarder();
    if (started) {
      endExchange();
      closeNow();
      return;
    }
    answer_pending_ = true;
    x().answer.kind = Answer::Kind::kStatus;
    x().answer.status = parser_->errorStatus();
  }
  if (answer_pending_) {
    flushAnswer(true);  // the head was fine and is answered; the body was not
  } else if (phase_ != Phase::kBody) {
    if (!exchange_open_) {
      exchange_open_ = true;
      started_ = std::chrono::steady_clock::now();
      x().started_wall = std::chrono::system_clock::now();
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
  if (!host_value.empty() && !splitHost(host_value, x().host, port)) return answerStatus(400);
  if (host_value.empty()) x().host.clear();
  if (!target.authority.empty() && h.host_count > 0) {
    // Absolute-form: RFC 9112 §3.2.2 says to ignore Host; a Host that disagrees is refused
    // instead, since something between the client and us read the request differently.
    std::string other;
    std::string_view other_port;
    if (!splitHost(h.host, other, other_port) || other != x().host || other_port != port)
      return answerStatus(400);
  }
  std::string port_buf;
  if (port.empty()) {
    port_buf = std::to_string(listener_->address.port());
    port = port_buf;
  }
  RequestView view;
  view.method = h.method;
  view.scheme = listener_->tls ? Scheme::kHttps : Scheme::kHttp;
  std::string_view xfp = h.find("x-forwarded-proto");
  if (!xfp.empty()) {
    for (const auto& cidr : snapshot_->config().server.trusted_proxies) {
      if (cidr.contains(reinterpret_cast<const sockaddr*>(&peer_))) {
        view.scheme = equalsIgnoreCase(xfp, "https") ? Scheme::kHttps : Scheme::kHttp;
        break;
      }
    }
  }
  https_ = view.scheme == Scheme::kHttps;  // logged: the scheme the rules saw
  view.host = x().host;
  view.port = port;
  view.path = target.path;
  view.query = target.query;
  view.headers = h.headers;
  MatchContext ctx;
  ctx.now = std::chrono::duration_cast<std::chrono::milliseconds>(
                x().started_wall.time_since_epoch()).count();
  MatchCaptures caps;
  const CompiledRule* rule = snapshot_->table->match(view, ctx, caps);
  if (rule == nullptr) return answerStatus(404);
  x().answer.rule = rule;
  switch (rule->kind()) {
    case ActionKind::kRedirect:
      if (!snapshot_->table->redirectHostAllowed(*rule, view.host)) {
        // {host} would come from a Host outside server.hosts: never redirect to it.
        return answerStatus(421);
      }
      x().answer.kind = Answer::Kind::kRedirect;
      x().answer.status = rule->redirect()->code;
      rule->buildLocation(view, caps, x().answer.location);
      return;
    case ActionKind::kRespond:
      x().answer.kind = Answer::Kind::kRespond;
      x().answer.status = rule->respond()->status;
      return;
    case ActionKind::kForward:
      startForward(view);
      return;
  }
}

void DownstreamConnection::startForward(const RequestView& view) {
  const MessageHead& h = parser_->head();
  const CompiledForward& fwd = *x().answer.rule->forward();
  const ServerConfig& server = snapshot_->config().server;
  uint64_t max_body = server.limits.max_body_bytes;
  if (max_body > 0 && h.has_content_length && h.content_length > max_body) {
    return answerStatus(413);
  }
  std::shared_ptr<Pool> pool = worker_.pool(fwd.pool);
  if (pool == nullptr || pool->backends().empty()) return answerStatus(502);
  x().forward_pool = fwd.pool;
  std::string target;
  std::string_view path = view.path;
  if (fwd.strip_prefix && startsWith(path, *fwd.strip_prefix)) {
    path.remove_prefix(fwd.strip_prefix->size());
    if (path.empty() || path.front() != '/') target = "/";
  }
  target.append(path);
  target.append(view.query);
  std::string_view rid = h.find("x-request-id");
  // The id logged is the one the backend gets: set_headers', the client's, or a new one.
  std::string_view configured_rid;
  for (const auto& [name, value] : fwd.set_headers) {
    if (equalsIgnoreCase(name, "x-request-id")) configured_rid = value;
  }
  if (!configured_rid.empty()) {
    x().request_id.assign(configured_rid);
  } else if (rid.empty()) {
    worker_.newRequestId(x().request_id);
  } else {
    x().request_id.assign(rid);
  }
  bool trusted = false;
  for (const auto& cidr : server.trusted_proxies) trusted = trusted || cidr.contains(reinterpret_cast<const sockaddr*>(&peer_));
  std::string host_fallback = x().host.empty() ? listener_->address.toString() : x().host;
  UpstreamRequestContext ctx;
  ctx.target = target;
  ctx.client_ip = peer_ip_;
  ctx.peer_trusted = trusted;
  ctx.scheme = view.scheme == Scheme::kHttps ? "https" : "http";
  ctx.host = host_fallback;
  ctx.request_id = rid.empty() ? std::string_view(x().request_id) : std::string_view();
  ctx.set_headers = &fwd.set_headers;
  ctx.upgrade = asksWebSocketUpgrade(h);  // any other Upgrade is dropped: a plain request
  Forwarder::Request req;
  req.head.swap(x().upstream_head);  // the storage of an earlier exchange's head, if any
  req.head.clear();
  // One allocation for the head: what is copied from the request, plus what detour adds.
  size_t estimate = h.method.size() + target.size() + 256 + ctx.client_ip.size() +
                    ctx.host.size() + x().request_id.size();
  for (const auto& f : h.headers) estimate += f.name.size() + f.value.size() + 4;
  for (const auto& [n, v] : fwd.set_headers) estimate += n.size() + v.size() + 4;
  req.head.reserve(estimate);
  appendUpstreamRequestHead(req.head, h, ctx);
  req.has_body = h.hasBody();
  req.head_method = h.method == "HEAD";
  // RFC 9110 9.2.2: these may be sent again when a reused connection fails before answering.
  req.idempotent = h.method == "GET" || h.method == "HEAD" || h.method == "OPTIONS" ||
                   h.method == "PUT" || h.method == "DELETE" || h.method == "TRACE";
  req.client_http10 = h.isHttp10();
  req.client_keep_alive = keepAlive();
  req.upgrade = ctx.upgrade;
  Forwarder::Limits limits;
  limits.connect = server.timeouts.upstream_connect;
  limits.response = server.timeouts.upstream_response;
  limits.idle = server.timeouts.idle;
  x().answer.kind = Answer::Kind::kForward;
  answer_pending_ = false;
  phase_ = h.hasBody() ? Phase::kForwardBody : Phase::kHead;
  forwarder_ = std::make_unique<Forwarder>(worker_, *this, *io_, std::move(pool),
                                           std::move(req), limits);
  forwarder_->start();
}

// A chunked body grew past max_body_bytes while being forwarded.
void DownstreamConnection::bodyTooLarge() {
  bool started = forwarder_ && forwarder_->responseStarted();
  dropForwarder();
  if (started) {
    endExchange();
    closeNow();
    return;
  }
  answerStatus(413);
  flushAnswer(true);
  endExchange();
  beginClose();
}

void DownstreamConnection::dropForwarder() {
  if (!forwarder_) return;
  x().upstream = forwarder_->backendName();
  exchange_bytes_out_ += forwarder_->bytesOut();
  worker_.counters().bytes_out.fetch_add(forwarder_->bytesOut(), std::memory_order_relaxed);
  forwarder_->cancel();  // no upstream callback may reach this connection any more
  x().upstream_head = forwarder_->takeHeadStorage();  // its capacity serves the next exchange
  worker_.loop().deferredDelete(std::move(forwarder_));
}

void DownstreamConnection::onForwardWritable() {
  if (phase_ == Phase::kForwardBody) processInput();
}

void DownstreamConnection::onForwardDone(bool close) {
  status_ = forwarder_->status();
  dropForwarder();
  endExchange();
  if (close || !keepAlive()) {
    beginClose();
    return;
  }
  phase_ = Phase::kWaiting;
  armTimer(TimerMode::kIdle);
  if (close_when_idle_) {
    closeNow();
    return;
  }
  processInput();  // pipelined requests waited in the input buffer
}

void DownstreamConnection::onForwardFailed(int status, const char* why) {
  (void)why;
  dropForwarder();
  // No healthy backend: tell clients when to come back (about one health-check round).
  answerStatus(status, status == 503 ? "Retry-After: 5\r\n" : "");
  switch (phase_) {
    case Phase::kAwaitResponse:
      // The whole request was read: answer now.
      flushAnswer(!keepAlive());
      endExchange();
      if (close_after_) {
        beginClose();
        return;
      }
      phase_ = Phase::kWaiting;
      armTimer(TimerMode::kIdle);
      processInput();
      return;
    case Phase::kForwardBody:
      // The rest of the body is read and dropped like a locally answered request's.
      phase_ = Phase::kBody;
      processInput();
      return;
    default:
      return;  // still inside onHeadComplete: the answer goes out at message end
  }
}

void DownstreamConnection::onForwardAborted(const char* why) {
  (void)why;
  status_ = forwarder_->status();
  dropForwarder();
  endExchange();
  // What was relayed goes out, then the connection closes: the client sees a body short of
  // its length (or without its last chunk), never a response that looks complete.
  beginClose();
}

void DownstreamConnection::answerStatus(int status, std::string extra_headers) {
  // A request refused as malformed (400) or unsupported (405) ends the connection: what
  // follows it on the wire cannot be trusted to start a new request.
  if (status == 400 || status == 405) close_after_ = true;
  x().answer.kind = Answer::Kind::kStatus;
  x().answer.status = status;
  x().answer.extra_headers = std::move(extra_headers);
  answer_pending_ = true;
}

bool DownstreamConnection::keepAlive() const {
  return parser_ && parser_->head().keep_alive && !parser_->head().upgrade &&
         !worker_.draining() && !close_when_idle_ && !close_after_;
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
  // Built in this thread's scratch (its capacity stays), then copied into the output buffer.
  static thread_local std::string out;
  out.clear();
  switch (x().answer.kind) {
    case Answer::Kind::kRedirect:
      appendRedirectResponse(out, *x().answer.rule->redirect(), x().answer.location, opts);
      break;
    case Answer::Kind::kRespond:
      appendFixedResponse(out, *x().answer.rule->respond(), opts);
      break;
    case Answer::Kind::kStatus:
    case Answer::Kind::kNone:
    case Answer::Kind::kForward:
      appendStatusResponse(out, x().answer.status, x().answer.extra_headers, opts);
      break;
  }
  status_ = x().answer.status;
  exchange_bytes_out_ += out.size();
  worker_.counters().bytes_out.fetch_add(out.size(), std::memory_order_relaxed);
  // The last answer this read asked for goes out at once; answers to pipelined requests still
  // waiting in the input are queued, to leave together in one writev.
  if (evbuffer_get_length(io_->input()) == 0) {
    io_->writeNow(out.data(), out.size());
  } else {
    io_->write(out.data(), out.size());
  }
}

void DownstreamConnection::recordStats(double seconds) {
  WorkerStats& stats = worker_.stats();
  RuleStats& rs = x().answer.rule != nullptr && snapshot_ ? worker_.ruleStats(*snapshot_, *x().answer.rule)
                                                       : stats.unmatched();
  rs.hits.fetch_add(1, std::memory_order_relaxed);
  rs.statuses.add(status_);
  if (x().answer.kind == Answer::Kind::kRedirect) {
    stats.recordRedirect(status_);
    // A body-carrying method answered 301/302: the client may re-send it as a GET, bodiless.
    if ((status_ == 301 || status_ == 302) && head_valid_) {
      std::string_view m = parser_->head().method;
      if (m == "POST" || m == "PUT" || m == "PATCH" || m == "DELETE")
        rs.bodies_at_risk.fetch_add(1, std::memory_order_relaxed);
    }
  }
  stats.recordLatency(seconds);
}

void DownstreamConnection::endExchange() {
  if (!exchange_open_) return;
  exchange_open_ = false;
  double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started_).count();
  recordStats(seconds);
  const ConfigSnapshot& snap = snapshot_ ? *snapshot_ : worker_.snapshot();
  AccessLog* alog = snap.access_log.get();
  if (alog == nullptr || !alog->enabled()) return;
  const MessageHead* h = head_valid_ ? &parser_->head() : nullptr;
  AccessRecord rec;
  rec.time = x().started_wall;
  rec.client = peer_ip_;
  // The scheme the rules saw (a trusted proxy's X-Forwarded-Proto counts) and the listener's
  // port ({port} when Host has none): what `detour diff --replay` needs to decide again.
  rec.scheme = (h != nullptr ? https_ : listener_->tls) ? "https" : "http";
  rec.listener_port = listener_->address.port();
  rec.status = status_;
  rec.bytes_in = exchange_bytes_in_;
  rec.bytes_out = exchange_bytes_out_;
  rec.duration_ms = seconds * 1000.0;
  if (h != nullptr) {
    rec.host = h->host;
    rec.method = h->method;
    rec.target = h->target;
    rec.protocol = protocolName(*h);
    rec.user_agent = h->find("user-agent");
    rec.referer = h->find("referer");
    if (x().request_id.empty()) {
      std::string_view rid = h->find("x-request-id");
      if (rid.empty()) {
    worker_.newRequestId(x().request_id);
  } else {
    x().request_id.assign(rid);
  }
    }
    rec.request_id = x().request_id;
  }
  if (x().answer.rule != nullptr) rec.rule = x().answer.rule->name();
  rec.location = x().answer.location;
  // A forward that failed became a local status answer; the log still names its pool.
  rec.pool = x().forward_pool;
  rec.upstream = x().upstream;
  alog->write(rec);
}

void DownstreamConnection::beginClose() {
  if (phase_ == Phase::kFlushClose || phase_ == Phase::kLinger || phase_ == Phase::kClosed) return;
  phase_ = Phase::kFlushClose;
  evbuffer_drain(io_->input(), evbuffer_get_length(io_->input()));
  io_->resumeReadIfDrained();
  if (io_->pendingOutput() == 0) startLinger();
}

void DownstreamConnection::startLinger() {
  phase_ = Phase::kLinger;
  io_->shutdownWrite();
  if (peer_eof_) {
    closeNow();  // nothing more can come: no reason to linger
    return;
  }
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
    case Phase::kForwardBody:
      armTimer(TimerMode::kBody);
      break;
    default:
      break;
  }
}

void DownstreamConnection::armTimer(TimerMode mode) {
  timer_mode_ = mode;
  const TimeoutsConfig& t = worker_.snapshot().config().server.timeouts;
  switch (mode) {
    case TimerMode::kIdle: timer_.arm(t.idle); return;
    case TimerMode::kHeader: timer_.arm(t.header); return;
    case TimerMode::kBody: timer_.arm(t.idle); return;
    case TimerMode::kLinger: timer_.arm(std::min<std::chrono::milliseconds>(t.idle, kLingerTime)); return;
    case TimerMode::kNone: timer_.cancel(); return;
  }
}

void DownstreamConnection::closeWhenIdle() {
  close_when_idle_ = true;
  if (phase_ == Phase::kWaiting && !(parser_ && parser_->inMessage())) closeNow();
}

void DownstreamConnection::closeNow() {
  if (phase_ == Phase::kClosed) return;
  if (exchange_open_) {
    // The connection ends mid-exchange (client gone, reset, timeout): log what happened,
    // with nginx's 499 when nothing was answered yet.
    if (forwarder_ && status_ == 0) status_ = forwarder_->status();
    if (status_ == 0) status_ = 499;
    dropForwarder();
    endExchange();
  }
  phase_ = Phase::kClosed;
  dropForwarder();  // its upstream connection closes with it: never a half-sent request reused
  timer_.cancel();
  io_->detach();
  worker_.connectionClosed(this);
}

}  // namespace detour
