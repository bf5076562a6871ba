#pragma once

// One client connection: a SocketIo, an HTTP/1.x parser and the state of the exchange in
// progress. Requests are handled one at a time in order (pipelined bytes wait in the input
// buffer), so responses always leave in request order.
//
// Phases:
//   kWaiting  between requests; the idle timer runs
//   kHead     a request head is arriving; the header timer runs from its first byte
//   kBody     the request was answered locally; its body is read and dropped (bounded)
//   kForwardBody  the request is being forwarded; its body streams to the Forwarder
//   kAwaitResponse  the request was handed over; the Forwarder relays the response (or a
//             tunnel after 101); pipelined bytes wait in the input buffer
//   kFlushClose  the last response is queued; once written the connection lingers
//   kLinger   write side shut; input is read and dropped until EOF or the linger timer, so
//             that the kernel does not reset the connection under the response (RFC 9112 §9.6)
//
// Owned by its Worker; deleted through the loop's deferred-delete list (style P5).

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

#include "common/libevent_ptr.h"
#include "common/net_address.h"
#include "http/parser.h"
#include "proxy/forwarder.h"
#include "routing/rule_table.h"
#include "server/deadline_timer.h"
#include "server/event_loop.h"
#include "server/listener.h"
#include "server/socket_io.h"

namespace detour {

class Worker;
struct ConfigSnapshot;

class DownstreamConnection final : public Deletable,
                                   public Forwarder::Owner,
                                   private SocketIo::Handler {
 public:
  // Takes ownership of `fd`. Loop thread.
  DownstreamConnection(Worker& worker, uint64_t id, evutil_socket_t fd, const SocketAddress& peer,
                       std::shared_ptr<const ListenerInfo> listener);
  ~DownstreamConnection() override;

  // Starts reading. Loop thread.
  void start();
  // For drain: closes at once when no request is in progress, else after the current
  // exchange (its response gets Connection: close).
  void closeWhenIdle();
  // Closes at once. Loop thread.
  void closeNow();

  uint64_t id() const { return id_; }
  // Where its Worker keeps it (Worker only).
  size_t registryIndex() const { return registry_index_; }
  void setRegistryIndex(size_t i) { registry_index_ = static_cast<uint32_t>(i); }

  // The most bytes of a locally answered request's body detour reads and drops to keep the
  // connection; beyond it the answer carries Connection: close.
  static constexpr uint64_t kMaxDiscardBytes = 64 * 1024;

 private:
  enum class Phase {
    kWaiting, kHead, kBody, kForwardBody, kAwaitResponse, kFlushClose, kLinger, kClosed
  };
  enum class TimerMode { kNone, kIdle, kHeader, kBody, kLinger };

  // What detour will answer for the current request; written once framing allows.
  struct Answer {
    enum class Kind { kNone, kRedirect, kRespond, kStatus, kForward } kind = Kind::kNone;
    const CompiledRule* rule = nullptr;
    int status = 0;
    std::string location;
    std::string extra_headers;
  };

  // SocketIo::Handler
  void onSocketReadable() override;
  void onSocketDrained() override;
  void onSocketEof() override;
  void onSocketError(int err, bool timeout) override;

  // libevent trampoline (style P5).
  static void onTimerCb(void* ctx);

  void onRead();
  void onWrite();
  void onEof();
  void onTimer();

  void processInput();
  void onHeadComplete();
  void onMessageComplete();
  void onParseError();
  void onInputExhausted();
  void routeRequest();
  void startForward(const RequestView& view);
  void bodyTooLarge();

  // Forwarder::Owner
  void onForwardWritable() override;
  void onForwardDone(bool close) override;
  void onForwardFailed(int status, const char* why) override;
  void onForwardAborted(const char* why) override;
  void dropForwarder();
  void answerStatus(int status, std::string extra_headers = {});
  void flushAnswer(bool close);
  void endExchange();
  void recordStats(double seconds);
  void beginClose();
  void startLinger();
  void updateTimer();
  void armTimer(TimerMode mode);
  bool keepAlive() const;
  bool outputBlocked() const;

  Worker& worker_;
  uint64_t id_;
  std::unique_ptr<SocketIo> io_;
  DeadlineTimer timer_;  // idle, header, body and linger timeouts (timer_mode_ says which)
  // The peer, compactly (IPv4 or IPv6; no Unix sockets downstream).
  sockaddr_in6 peer_{};
  std::string peer_ip_;
  std::shared_ptr<const ListenerInfo> listener_;
  // The snapshot the current exchange runs on; re-taken from the worker only when the worker's
  // changed, so that the shared count is not touched per request.
  std::shared_ptr<const ConfigSnapshot> snapshot_;
  std::unique_ptr<Http1Parser> parser_;  // taken from the worker's pool while a request is read
  uint32_t registry_index_ = 0;
  Phase phase_ = Phase::kWaiting;
  TimerMode timer_mode_ = TimerMode::kNone;
  bool close_when_idle_ = false;
  bool in_process_ = false;

  // The exchange in progress. Its strings live in an ExchangeState taken from a per-thread
  // pool when the exchange opens and given back when the connection goes idle: an idle
  // keep-alive connection holds none.
  struct ExchangeState {
    Answer answer;
    std::string host;          // lower-cased host without port
    std::string request_id;    // the exchange's X-Request-Id (received or generated)
    std::string upstream;      // the backend that answered, for the access log
    std::string forward_pool;  // the pool a forward rule chose (also when the forward failed)
    // Storage for the upstream request head: lent to each Forwarder, given back when it is
    // dropped (no allocation per proxied request).
    std::string upstream_head;
    std::chrono::system_clock::time_point started_wall;
    // Forgets the exchange but keeps the strings' capacity (no allocation for the next one).
    void clear();
  };
  ExchangeState& x();
  void releaseExchangeState();
  static std::vector<std::unique_ptr<ExchangeState>>& exchangePool();  // this thread's
  std::unique_ptr<ExchangeState> x_;
  bool answer_pending_ = false;
  bool exchange_open_ = false;
  bool head_valid_ = false;  // parser_->head() describes the current exchange
  bool close_after_ = false;
  bool https_ = false;     // the request's effective scheme (after a trusted X-Forwarded-Proto)
  bool peer_eof_ = false;  // the client half-closed: answer what is complete, then close
  int status_ = 0;
  uint64_t exchange_bytes_in_ = 0;
  uint64_t exchange_bytes_out_ = 0;
  uint64_t discarded_ = 0;
  std::chrono::steady_clock::time_point started_;
  std::unique_ptr<Forwarder> forwarder_;
};

}  // namespace detour
