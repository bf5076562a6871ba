#pragma once

// Forwarder: one exchange relayed to a backend. It takes an upstream connection (an idle one
// or a new connect), sends the rewritten request head, streams the request body as the
// DownstreamConnection hands it over, and streams the response back into the client's
// SocketIo. Bytes move as evbuffer chains (no copies); watermarks give back-pressure both
// ways: a full upstream output pauses the client's body, a full client output pauses reading
// from the backend.
//
// Failures before any response byte reached the client come back as a status (502/504) for the
// connection to answer; failures after that abort the client connection, so that a cut-short
// response never looks complete. A 101 answer turns the exchange into a two-way tunnel.
//
// Owned by its DownstreamConnection; loop thread only.

#include <array>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "common/buffer_pool.h"
#include "common/libevent_ptr.h"
#include "admin/stats.h"
#include "http/parser.h"
#include "server/event_loop.h"
#include "server/socket_io.h"
#include "upstream/pool.h"
#include "upstream/upstream_connection.h"

namespace detour {

class Worker;

class Forwarder final : public Deletable, private BodySink, private SocketIo::Handler {
 public:
  // What the forwarder reports to its connection. Each call may delete the forwarder (through
  // the loop's deferred list), so the forwarder does nothing after calling one.
  class Owner {
   public:
    virtual ~Owner() = default;
    // More request body may be sent (the upstream output drained).
    virtual void onForwardWritable() = 0;
    // The response was relayed completely. `close`: the client connection must close after it.
    virtual void onForwardDone(bool close) = 0;
    // Nothing reached the client yet: answer `status` (502 or 504) instead.
    virtual void onForwardFailed(int status, const char* why) = 0;
    // The response broke off after part of it reached the client: close the client now.
    virtual void onForwardAborted(const char* why) = 0;
  };

  struct Request {
    std::string head;           // the upstream request head, ready to send
    bool has_body = false;
    bool head_method = false;   // HEAD: the response has no body
    bool client_http10 = false; // the client speaks HTTP/1.0 (no chunked, no 1xx)
    bool client_keep_alive = true;
    bool upgrade = false;       // a WebSocket (or other) upgrade was asked for
    bool idempotent = false;    // GET, HEAD, OPTIONS, PUT, DELETE or TRACE
    std::string extra_response_lines;  // e.g. HSTS, added to the response head
  };

  struct Limits {
    std::chrono::milliseconds connect{3000};
    std::chrono::milliseconds response{30000};
    std::chrono::milliseconds idle{75000};  // tunnel idle time; idle upstream connections
  };

  Forwarder(Worker& worker, Owner& owner, SocketIo& downstream, std::shared_ptr<Pool> pool,
            Request request, const Limits& limits);
  ~Forwarder() override;

  // Picks a backend and sends the head. Failures arrive through Owner.
  void start();
  // Moves `n` bytes of request body from `src` towards the backend.
  void sendBody(evbuffer* src, size_t n);
  // The request (head and body) has been handed over completely.
  void requestComplete();
  // True while the upstream output is above its high watermark: hold the body back.
  bool bodyBlocked() const;
  // The client's output drained below its low watermark: resume reading the backend.
  void onDownstreamDrained();
  // The connection is done with this forwarder (it may be deleted later, from the loop's
  // deferred list): no callback fires from now on and the upstream connection is closed.
  void cancel();
  // Tunnel mode: the client sent bytes / closed.
  void onDownstreamReadable();
  void onDownstreamEof();

  bool tunneling() const { return tunnel_; }
  bool responseStarted() const { return response_started_; }
  int status() const { return status_; }
  uint64_t bytesOut() const { return bytes_out_; }
  const std::string& backendName() const;
  // The request head's string, for the connection to keep its capacity for the next one
  // (after cancel(): the forwarder no longer needs it).
  std::string takeHeadStorage() { return std::move(req_.head); }

  // One is made and destroyed per proxied request: from the thread's small-object lists.
  static void* operator new(size_t n) { return allocateSmallObject(n); }
  static void operator delete(void* p, size_t n) { freeSmallObject(p, n); }

  // Output above this pauses the sender; below the low mark it resumes.
  static constexpr size_t kHighWater = 256 * 1024;
  static constexpr size_t kLowWater = 64 * 1024;
  // An idempotent request sent on a reused connection is kept up to this size, so that it can
  // be sent again on a fresh connection when the backend closed the reused one under it.
  static constexpr size_t kMaxReplay = 64 * 1024;

 private:
  // SocketIo::Handler for the upstream connection
  void onSocketReadable() override { onUpstreamRead(); }
  void onSocketDrained() override { onUpstreamWrite(); }
  void onSocketEof() override { onUpstreamEof(); }
  void onSocketError(int err, bool timeout) override;
  void onSocketConnected() override;

  static void onTimerCb(evutil_socket_t, short, void* ctx);

  void onUpstreamRead();
  void onUpstreamWrite();
  void onUpstreamEof();
  void detachConnection(bool reuse);
  void onTimer();

  bool attach();  // takes a connection for the next backend; false when none is left
  void retryOrFail(int status, UpstreamError kind, const char* why);
  void noteFailure(UpstreamError kind);
  void processResponse();
  bool onResponseHead();
  void onResponseComplete();
  void startTunnel();
  void pumpTunnel();
  void finish(bool close);
  void fail(int status, const char* why);
  void abort(const char* why);
  void armResponseTimer();
  void armTimer(std::chrono::milliseconds d);
  void stopTimer();
  evbuffer* pending();  // pending_, made when first needed
  size_t bytesSentUpstream() const;
  void onBodyData(const char* data, size_t len) override;

  Worker& worker_;
  Owner& owner_;
  SocketIo& down_;  // the client's socket (owned by the DownstreamConnection)
  std::shared_ptr<Pool> pool_;  // kept alive across reloads while this exchange runs
  Request req_;
  Limits limits_;
  std::shared_ptr<Backend> backend_;
  std::unique_ptr<UpstreamConnection> conn_;
  // The backends this exchange tried, the first few inline (no allocation per request).
  class Tried {
   public:
    void add(const Backend* b);
    void removeLast();
    bool contains(const Backend* b) const;

   private:
    static constexpr size_t kInline = 4;
    std::array<const Backend*, kInline> first_{};
    size_t count_ = 0;
    std::vector<const Backend*> more_;
  };
  Tried tried_;
  EvBufferPtr pending_;  // request bytes kept while no connection is attached (a retry)
  EventPtr timer_;       // connect timeout, tunnel idle time; made when first needed
  bool head_unsent_ = false;  // req_.head is still to be queued on the first connection
  enum class TimerMode { kNone, kConnect, kResponse } timer_mode_ = TimerMode::kNone;
  uint64_t queued_ = 0;  // request bytes queued on the current connection
  bool reused_ = false;
  // The request can be sent again whole: req_.head, then replay_ (the body bytes sent so far).
  bool replayable_ = false;
  std::string replay_;
  bool retried_reused_ = false;
  bool request_complete_ = false;
  bool response_started_ = false;  // bytes of the final response head reached the client
  bool head_seen_ = false;         // the final response head was parsed
  bool close_client_ = false;
  bool dechunk_ = false;
  bool tunnel_ = false;
  bool done_ = false;
  int status_ = 0;
  uint64_t bytes_out_ = 0;
};

}  // namespace detour
