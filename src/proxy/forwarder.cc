#include "proxy/forwarder.h"

#include <sys/socket.h>

#include "http/forwarding_headers.h"
#include "logging/logging.h"
#include "server/worker.h"

namespace detour {
namespace {

timeval toTimeval(std::chrono::milliseconds d) {
  return timeval{static_cast<time_t>(d.count() / 1000),
                 static_cast<suseconds_t>((d.count() % 1000) * 1000)};
}

// Appended to the first upstream failure line logged after some were left out.
std::string heldBackNote(uint64_t held) {
  if (held == 0) return {};
  return " (" + std::to_string(held) + " more upstream failure lines left out before this one)";
}

}  // namespace

Forwarder::Forwarder(Worker& worker, Owner& owner, SocketIo& downstream,
                     std::shared_ptr<Pool> pool, Request request, const Limits& limits)
    : worker_(worker),
      owner_(owner),
      down_(downstream),
      pool_(std::move(pool)),
      req_(std::move(request)),
      limits_(limits) {}

Forwarder::~Forwarder() {
  if (conn_) {
    conn_->io().detach();
    if (backend_) backend_->addActive(-1);
  }
}

const std::string& Forwarder::backendName() const {
  static const std::string kNone;
  return backend_ ? backend_->name() : kNone;
}

void Forwarder::onTimerCb(evutil_socket_t, short, void* ctx) { static_cast<Forwarder*>(ctx)->onTimer(); }

// The timer and the pending buffer are made on first use: most exchanges reuse an idle
// connection, need neither, and should not pay for them.
void Forwarder::armTimer(std::chrono::milliseconds d) {
  if (!timer_) timer_.reset(evtimer_new(worker_.loop().base(), &Forwarder::onTimerCb, this));
  timeval tv = toTimeval(d);
  evtimer_add(timer_.get(), &tv);
}

void Forwarder::stopTimer() {
  if (timer_) evtimer_del(timer_.get());
}

evbuffer* Forwarder::pending() {
  if (!pending_) pending_.reset(evbuffer_new());
  return pending_.get();
}

void Forwarder::cancel() {
  done_ = true;
  stopTimer();
  if (conn_) detachConnection(/*reuse=*/false);
}

// Lets go of the upstream connection: back to its backend's idle list when `reuse`, else
// closed (after this loop iteration).
void Forwarder::detachConnection(bool reuse) {
  backend_->addActive(-1);
  if (reuse) {
    conn_->io().setHandler(nullptr);
    backend_->release(std::move(conn_), pool_->keepalive(), limits_.idle);
    return;
  }
  conn_->io().detach();
  worker_.loop().deferredDelete(std::move(conn_));
}

void Forwarder::start() {
  head_unsent_ = true;  // attach() queues it on the connection it takes
  if (!attach()) {
    bool any_up = false;
    for (const auto& b : pool_->backends()) any_up = any_up || b->up();
    if (!any_up) {
      worker_.stats().recordUpstreamError(pool_->name(), "", UpstreamError::kNoHealthyBackend);
      return fail(503, "no healthy backend in the pool");
    }
    fail(502, "no backend could be reached");
  }
}

void Forwarder::noteFailure(UpstreamError kind) {
  if (backend_) worker_.upstreamResult(*backend_, kind);
}

static_assert(sizeof(Forwarder) <= kMaxSmallObject, "Forwarder no longer fits the small-object lists");

void Forwarder::Tried::add(const Backend* b) {
  if (count_ < kInline) {
    first_[count_] = b;
  } else {
    more_.push_back(b);
  }
  ++count_;
}

void Forwarder::Tried::removeLast() {
  if (count_ == 0) return;
  --count_;
  if (count_ >= kInline) more_.pop_back();
}

bool Forwarder::Tried::contains(const Backend* b) const {
  for (size_t i = 0; i < count_ && i < kInline; ++i) {
    if (first_[i] == b) return true;
  }
  for (const Backend* t : more_) {
    if (t == b) return true;
  }
  return false;
}

bool Forwarder::attach() {
  while (true) {
    backend_ = pool_->pick([this](const Backend& b) { return b.up() && !tried_.contains(&b); });
    if (!backend_) return false;
    tried_.add(backend_.get());
    // After a reused connection failed, only a fresh one. A bodiless idempotent request skips
    // the liveness probe of an idle connection: if the backend closed it, it is sent again.
    if (!retried_reused_) conn_ = backend_->takeIdle(/*probe=*/!(req_.idempotent && !req_.has_body));
    reused_ = conn_ != nullptr;
    if (!conn_) conn_ = backend_->connectNew();
    if (conn_) break;
    noteFailure(UpstreamError::kConnectFailed);  // failed at once: try the next backend
  }
  backend_->addActive(1);
  SocketIo& io = conn_->io();
  io.setHandler(this);
  io.setWriteLowWater(kLowWater);
  io.setReadHighWater(kHighWater);
  // (No timeouts to clear: an idle connection had them cleared when released, a new one has
  // none.)
  io.enableRead();
  replay_.clear();
  if (head_unsent_) {
    // The first connection: the head goes straight to it. On a reused one the request may
    // have to be sent again (replay_ then collects the body bytes that follow the head).
    head_unsent_ = false;
    evbuffer_add(io.output(), req_.head.data(), req_.head.size());
    queued_ = req_.head.size();
    replayable_ = reused_ && req_.idempotent;
  } else {
    // A retry: the request bytes that the previous connection did not send.
    queued_ = pending_ ? evbuffer_get_length(pending_.get()) : 0;
    if (pending_) evbuffer_add_buffer(io.output(), pending_.get());
    replayable_ = false;
  }
  // At the end of the iteration, never at once: a close of a reused connection reported by
  // this iteration's poll is then seen with nothing sent (UpstreamConnection::closeMayBeUnseen).
  io.scheduleFlush();
  if (!reused_) {
    timer_mode_ = TimerMode::kConnect;
    armTimer(limits_.connect);
  } else if (request_complete_) {
    armResponseTimer();
  }
  return true;
}

void Forwarder::sendBody(evbuffer* src, size_t n) {
  if (conn_) {
    if (replayable_) {
      if (req_.head.size() + replay_.size() + n > kMaxReplay) {
        replayable_ = false;
        std::string().swap(replay_);
      } else {
        size_t at = replay_.size();
        replay_.resize(at + n);
        evbuffer_copyout(src, replay_.data() + at, n);
      }
    }
    evbuffer_remove_buffer(src, conn_->io().output(), n);
    conn_->io().scheduleFlush();
    queued_ += n;
  } else {
    evbuffer_remove_buffer(src, pending(), n);
  }
}

void Forwarder::requestComplete() {
  request_complete_ = true;
  if (conn_ && conn_->connected()) armResponseTimer();
}

bool Forwarder::bodyBlocked() const {
  if (conn_) return conn_->io().pendingOutput() > kHighWater;
  return pending_ && evbuffer_get_length(pending_.get()) > kHighWater;
}

size_t Forwarder::bytesSentUpstream() const {
  if (!conn_) return 0;
  return queued_ - conn_->io().pendingOutput();
}

// The backend must start answering within upstream_response once the request is sent, and
// a response that stalls that long mid-body is given up on. A read timeout does both, and
// pauses while back-pressure holds reading off.
void Forwarder::armResponseTimer() {
  if (timer_mode_ == TimerMode::kConnect) stopTimer();
  timer_mode_ = TimerMode::kNone;
  conn_->io().setTimeouts(limits_.response, std::chrono::milliseconds(0));
}

void Forwarder::onTimer() {
  if (tunnel_) {
    finish(true);
    return;
  }
  if (timer_mode_ == TimerMode::kConnect) {
    timer_mode_ = TimerMode::kNone;
    retryOrFail(502, UpstreamError::kConnectTimeout, "connect timed out");
  }
}

void Forwarder::onSocketConnected() {
  if (timer_mode_ == TimerMode::kConnect) {
    stopTimer();
    timer_mode_ = TimerMode::kNone;
  }
  if (request_complete_) armResponseTimer();
}

void Forwarder::onSocketError(int, bool timeout) {
  if (tunnel_) {
    finish(true);
    return;
  }
  if (timeout) {
    if (!head_seen_) {
      noteFailure(UpstreamError::kResponseTimeout);
      return fail(504, "no response head within upstream_response");
    }
    noteFailure(UpstreamError::kAborted);
    return abort("backend stalled mid-response");
  }
  if (conn_->connected()) {
    retryOrFail(502, UpstreamError::kClosedBeforeHead,
                "the backend reset the connection before answering");
  } else {
    retryOrFail(502, UpstreamError::kConnectFailed, "connect failed");
  }
}

void Forwarder::onUpstreamEof() {
  if (tunnel_) {
    finish(true);
    return;
  }
  processResponse();
  if (done_) return;
  if (head_seen_) {
    ParseResult r = conn_->parser().finish();
    if (r.event == ParseEvent::kMessageComplete) {
      close_client_ = true;
      return onResponseComplete();
    }
    noteFailure(UpstreamError::kAborted);
    return abort("backend closed mid-response");
  }
  if (conn_->connected()) {
    retryOrFail(502, UpstreamError::kClosedBeforeHead,
                "backend closed the connection before answering");
  } else {
    retryOrFail(502, UpstreamError::kConnectFailed, "connect failed");
  }
}

void Forwarder::retryOrFail(int status, UpstreamError kind, const char* why) {
  // An idempotent request on a reused connection the backend closed or reset before a byte of
  // answer: sent again, whole, on a fresh connection (nginx and HAProxy do the same). The race
  // is the backend's keep-alive timeout firing as the request leaves.
  if (replayable_ && reused_ && !retried_reused_ && conn_->connected() && !response_started_ &&
      !head_seen_ && !conn_->parser().inMessage() &&
      evbuffer_get_length(conn_->io().input()) == 0) {
    log().debug("upstream {}: {} on a reused connection; sending the request again",
                backend_->name(), why);
    retried_reused_ = true;
    tried_.removeLast();
    replayable_ = false;
    evbuffer* again = pending();
    evbuffer_drain(again, evbuffer_get_length(again));
    evbuffer_add(again, req_.head.data(), req_.head.size());
    evbuffer_add(again, replay_.data(), replay_.size());
    std::string().swap(replay_);
    detachConnection(/*reuse=*/false);
    stopTimer();
    timer_mode_ = TimerMode::kNone;
    if (!attach()) fail(status, why);
    return;
  }
  bool nothing_sent = conn_ && bytesSentUpstream() == 0 && !response_started_ &&
                      evbuffer_get_length(conn_->io().input()) == 0;
  bool may_retry = nothing_sent && (!conn_->connected() || (reused_ && !retried_reused_));
  // A reused connection the backend had already closed says nothing about its health.
  if (!(reused_ && conn_->connected() && nothing_sent)) noteFailure(kind);
  if (!may_retry) return fail(status, why);
  if (reused_) {
    // The backend closed an idle connection as we reused it: once, on a fresh connection,
    // to any backend including this one.
    retried_reused_ = true;
    tried_.removeLast();
  }
  log().debug("upstream {}: {}; retrying", backend_->name(), why);
  // The unsent request moves to the next connection whole, or not at all: a retry must never
  // send a request that lost its head (what follows would be read as a new request).
  size_t unsent = conn_->io().pendingOutput();
  if (evbuffer_add_buffer(pending(), conn_->io().output()) != 0 ||
      evbuffer_get_length(pending_.get()) != unsent || unsent != queued_) {
    return fail(status, why);
  }
  detachConnection(/*reuse=*/false);
  stopTimer();
  timer_mode_ = TimerMode::kNone;
  if (!attach()) fail(status, why);
}

void Forwarder::onUpstreamRead() {
  if (tunnel_) {
    pumpTunnel();
    return;
  }
  processResponse();
}

void Forwarder::onUpstreamWrite() {
  if (tunnel_) {
    down_.enableRead();
    pumpTunnel();
    return;
  }
  owner_.onForwardWritable();
}

void Forwarder::onDownstreamDrained() {
  if (done_ || !conn_) return;
  conn_->io().enableRead();
  if (tunnel_) {
    pumpTunnel();
  } else {
    processResponse();
  }
}

void Forwarder::processResponse() {
  evbuffer* in = conn_->io().input();
  evbuffer* out = down_.output();
  Http1Parser& parser = conn_->parser();
  while (!done_) {
    if (evbuffer_get_length(out) > kHighWater) {
      conn_->io().disableRead();  // resumes from onDownstreamDrained
      return;
    }
    size_t avail = evbuffer_get_length(in);
    evbuffer_iovec vec{};
    if (avail > 0) evbuffer_peek(in, -1, nullptr, &vec, 1);
    size_t len = avail > 0 ? vec.iov_len : 0;
    ParseResult r = parser.execute(static_cast<const char*>(vec.iov_base), len);
    if (r.consumed > 0) {
      if (!head_seen_ || r.event == ParseEvent::kHeadComplete || dechunk_) {
        // Heads are rewritten, not copied; decoded body bytes went out through onBodyData.
        evbuffer_drain(in, r.consumed);
      } else {
        evbuffer_remove_buffer(in, out, r.consumed);
        down_.scheduleFlush();
        bytes_out_ += r.consumed;
      }
      conn_->io().resumeReadIfDrained();
    }
    switch (r.event) {
      case ParseEvent::kHeadComplete:
        if (!onResponseHead()) return;
        break;
      case ParseEvent::kMessageComplete:
        if (!head_seen_) break;  // an interim (1xx) response ended
        return onResponseComplete();
      case ParseEvent::kError:
        noteFailure(head_seen_ ? UpstreamError::kAborted : UpstreamError::kMalformed);
        if (!head_seen_) return fail(502, "malformed response from the backend");
        return abort("malformed response body from the backend");
      case ParseEvent::kNeedMore:
        if (r.consumed >= avail) return;
        break;
    }
  }
}

// Returns false when the forwarder is done (or has handed the connection over).
bool Forwarder::onResponseHead() {
  const MessageHead& h = conn_->parser().head();
  if (h.status >= 100 && h.status < 200 && h.status != 101) {
    // Interim answers (100 Continue, 103 Early Hints) go to HTTP/1.1 clients as they come.
    if (!req_.client_http10) {
      std::string head;
      appendDownstreamResponseHead(head, h, {});
      down_.write(head.data(), head.size());
      bytes_out_ += head.size();
    }
    return true;
  }
  if (h.status == 101) {
    if (!req_.upgrade) {
      noteFailure(UpstreamError::kMalformed);
      fail(502, "backend switched protocols unasked");
      return false;
    }
    head_seen_ = true;
    status_ = 101;
    std::string head;
    DownstreamResponseOptions opts;
    opts.upgrade = true;
    appendDownstreamResponseHead(head, h, opts);
    down_.write(head.data(), head.size());
    bytes_out_ += head.size();
    response_started_ = true;
    startTunnel();
    return false;
  }
  head_seen_ = true;
  status_ = h.status;
  worker_.upstreamResult(*backend_, std::nullopt);
  // RFC 9112 6.3: these end at the head whatever Content-Length or Transfer-Encoding say; the
  // parser is told so, or it would wait for a body that never comes.
  bool no_body = req_.head_method || h.status == 204 || h.status == 304;
  if (no_body) conn_->parser().skipBody();
  bool close_delimited = !no_body && !h.chunked && !h.has_content_length;
  dechunk_ = req_.client_http10 && h.chunked && !no_body;
  // An upgrade the backend declined: what the client sends next may be the other protocol.
  close_client_ = close_delimited || dechunk_ || !req_.client_keep_alive || !request_complete_ ||
                  req_.upgrade || worker_.draining();
  if (dechunk_) conn_->parser().setBodySink(this);
  DownstreamResponseOptions opts;
  opts.close = close_client_;
  opts.keep_alive_10 = req_.client_http10 && !close_client_;
  opts.drop_chunked = dechunk_;
  opts.drop_framing = h.status == 204;
  opts.extra_lines = req_.extra_response_lines;
  // Built in this thread's scratch (its capacity stays), then copied into the output buffer.
  static thread_local std::string head;
  head.clear();
  appendDownstreamResponseHead(head, h, opts);
  down_.write(head.data(), head.size());
  bytes_out_ += head.size();
  response_started_ = true;
  return true;
}

void Forwarder::onBodyData(const char* data, size_t len) {
  down_.write(data, len);
  bytes_out_ += len;
}

void Forwarder::onResponseComplete() {
  conn_->parser().setBodySink(nullptr);
  if (!request_complete_) close_client_ = true;  // the rest of the request body is not read
  finish(close_client_);
}

void Forwarder::finish(bool close) {
  if (done_) return;
  done_ = true;
  stopTimer();
  if (conn_) {
    // Reused only after a complete exchange with nothing left over in either direction.
    bool reusable = !tunnel_ && conn_->parser().head().keep_alive && request_complete_ &&
                    conn_->io().pendingOutput() == 0 &&
                    evbuffer_get_length(conn_->io().input()) == 0 &&
                    !conn_->parser().inMessage();
    conn_->countUse();
    detachConnection(reusable);
  }
  owner_.onForwardDone(close);
}

void Forwarder::fail(int status, const char* why) {
  if (response_started_) return abort(why);
  done_ = true;
  stopTimer();
  if (conn_) detachConnection(/*reuse=*/false);
  uint64_t held = 0;
  if (worker_.allowUpstreamLog(held)) {
    log().warn("upstream {}: {} -> {}{}", backend_ ? backend_->name() : pool_->name(), why, status,
               heldBackNote(held));
  }
  status_ = status;
  owner_.onForwardFailed(status, why);
}

void Forwarder::abort(const char* why) {
  done_ = true;
  stopTimer();
  if (conn_) detachConnection(/*reuse=*/false);
  uint64_t held = 0;
  if (worker_.allowUpstreamLog(held)) {
    log().warn("upstream {}: {}; closing the client connection{}",
               backend_ ? backend_->name() : "?", why, heldBackNote(held));
  }
  owner_.onForwardAborted(why);
}

void Forwarder::startTunnel() {
  tunnel_ = true;
  conn_->io().setTimeouts(std::chrono::milliseconds(0), std::chrono::milliseconds(0));
  down_.enableRead();
  pumpTunnel();  // bytes the backend sent right after its 101 belong to the new protocol
}

void Forwarder::onDownstreamReadable() {
  if (tunnel_) pumpTunnel();
}

void Forwarder::onDownstreamEof() {
  if (tunnel_) finish(true);
}

// Moves whatever is buffered in each direction, pausing a side whose destination is full.
void Forwarder::pumpTunnel() {
  if (done_) return;
  SocketIo& up = conn_->io();
  size_t a = evbuffer_get_length(up.input());
  size_t b = evbuffer_get_length(down_.input());
  bytes_out_ += a;
  evbuffer_add_buffer(down_.output(), up.input());
  evbuffer_add_buffer(up.output(), down_.input());
  if (a > 0) down_.scheduleFlush();
  if (b > 0) up.scheduleFlush();
  up.resumeReadIfDrained();
  down_.resumeReadIfDrained();
  if (down_.pendingOutput() > kHighWater) up.disableRead();
  if (up.pendingOutput() > kHighWater) down_.disableRead();
  if (a + b > 0 || !timer_ || !evtimer_pending(timer_.get(), nullptr)) {
    armTimer(limits_.idle);  // the tunnel closes after this long with no traffic
  }
}

}  // namespace detour
