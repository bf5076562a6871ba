#include "server/worker.h"

#include <unistd.h>

#include <chrono>
#include <cstdio>

#include "common/buffer_pool.h"
#include "logging/logging.h"
#include "proxy/downstream_connection.h"
#include "proxy/local_response.h"

namespace detour {

Worker::Worker(int index, WorkerContext context)
    : index_(index),
      rng_(std::random_device{}() ^ (static_cast<uint64_t>(index) * 0x9E3779B97F4A7C15ULL)),
      context_(std::move(context)) {}

RuleStats& Worker::ruleStats(const ConfigSnapshot& snap, const CompiledRule& rule) {
  // An exchange that outlived a reload: its rule ids are the old table's. The lookup by name
  // is the worker's own map: slower than the slot, but no lock.
  if (snap.generation != snapshot_->generation) return *stats_.rule(rule.name());
  RuleStats*& slot = rule_stats_[rule.id()];
  if (slot == nullptr) slot = stats_.rule(rule.name());
  return *slot;
}

void Worker::adoptSnapshot(std::shared_ptr<const ConfigSnapshot> snapshot) {
  snapshot_ = std::move(snapshot);
  rule_stats_.assign(snapshot_->table->size(), nullptr);  // filled as rules are hit
}

void Worker::upstreamResult(Backend& backend, std::optional<UpstreamError> error) {
  BackendCell* cell = backend.cell();
  if (error) {
    stats_.recordUpstreamError(backend.pool(), backend.name(), *error);
    // Timeouts and refusals say something about the backend; a malformed answer too.
    cell->recent_failures.fetch_add(1, std::memory_order_relaxed);
    if (context_.report_backend) context_.report_backend(backend.pool(), backend.name(), false);
    return;
  }
  if (cell->recent_failures.load(std::memory_order_relaxed) != 0) {
    cell->recent_failures.store(0, std::memory_order_relaxed);
    if (context_.report_backend) context_.report_backend(backend.pool(), backend.name(), true);
  }
}

Worker::~Worker() {
  join();
  connections_.clear();
  listeners_.clear();
  for (auto& p : pending_fds_) close(p.fd);
}

void Worker::addListener(int fd, const ListenerInfo& info, const std::string& key) {
  if (!started_) {
    pending_fds_.push_back({fd, info, key});
    return;
  }
  loop_.post([this, fd, info, key] { adoptListener(fd, info, key); });
}

void Worker::removeListener(const std::string& key) {
  loop_.post([this, key] {
    std::erase_if(listeners_, [&](const auto& slot) { return slot->key == key; });
  });
}

void Worker::adoptListener(int fd, const ListenerInfo& info, const std::string& key) {
  if (draining_) {
    close(fd);
    return;
  }
  auto slot = std::make_unique<ListenerSlot>();
  slot->info = std::make_shared<const ListenerInfo>(info);
  slot->key = key;
  slot->worker = this;
  slot->listener.reset(evconnlistener_new(loop_.base(), &Worker::onAcceptCb, slot.get(),
                                          LEV_OPT_CLOSE_ON_FREE, -1, fd));
  evconnlistener_set_error_cb(slot->listener.get(), &Worker::onAcceptErrorCb);
  slot->resume.reset(evtimer_new(loop_.base(), &Worker::onResumeAcceptCb, slot.get()));
  listeners_.push_back(std::move(slot));
}

void Worker::onAcceptErrorCb(evconnlistener*, void* ctx) {
  auto* slot = static_cast<ListenerSlot*>(ctx);
  slot->worker->onAcceptError(*slot);
}

void Worker::onResumeAcceptCb(evutil_socket_t, short, void* ctx) {
  auto* slot = static_cast<ListenerSlot*>(ctx);
  if (!slot->worker->draining_) evconnlistener_enable(slot->listener.get());
}

// Out of descriptors (EMFILE/ENFILE) or memory: the pending connection stays in the kernel's
// backlog and the listening socket stays readable, so retrying at once would spin. Pause this
// listener briefly instead (as nginx does); connections in progress keep being served.
void Worker::onAcceptError(ListenerSlot& slot) {
  int err = EVUTIL_SOCKET_ERROR();
  evconnlistener_disable(slot.listener.get());
  timeval tv{0, 100 * 1000};
  evtimer_add(slot.resume.get(), &tv);
  timeval now;
  event_base_gettimeofday_cached(loop_.base(), &now);
  if (now.tv_sec != accept_warned_second_) {
    accept_warned_second_ = now.tv_sec;
    log().warn("worker {}: accept on {} failed ({}); pausing accepts for 100 ms", index_,
               slot.info->address.toString(), evutil_socket_error_to_string(err));
  }
}

void Worker::start(std::shared_ptr<const ConfigSnapshot> snapshot) {
  adoptSnapshot(std::move(snapshot));
  for (auto& p : pending_fds_) adoptListener(p.fd, p.info, p.key);
  pending_fds_.clear();
  started_ = true;
  thread_ = std::thread([this] {
    loop_.run();
    // Whatever is still open when the loop ends is closed here, on the loop's thread.
    connections_.clear();
    listeners_.clear();
    parser_pool_.clear();
    pools_.clear();
    backends_.clear();
    releaseThreadBufferPool();
  });
}

void Worker::publish(std::shared_ptr<const ConfigSnapshot> snapshot) {
  loop_.post([this, snap = std::move(snapshot)]() mutable { adoptSnapshot(std::move(snap)); });
}

void Worker::drain() {
  loop_.post([this] { beginDrain(); });
}

void Worker::stopNow() {
  loop_.post([this] {
    stopped_ = true;
    std::vector<DownstreamConnection*> all;
    for (auto& conn : connections_) all.push_back(conn.get());
    for (auto* c : all) c->closeNow();
    event_base_loopexit(loop_.base(), nullptr);
  });
}

void Worker::join() {
  if (thread_.joinable()) thread_.join();
}

void Worker::onAcceptCb(evconnlistener*, evutil_socket_t fd, sockaddr* sa, int len, void* ctx) {
  auto* slot = static_cast<ListenerSlot*>(ctx);
  slot->worker->onAccept(*slot, fd, sa, len);
}

void Worker::onAccept(ListenerSlot& slot, evutil_socket_t fd, sockaddr* sa, int len) {
  if (draining_) {
    close(fd);
    return;
  }
  // evconnlistener accepts with SOCK_NONBLOCK.
  auto peer = SocketAddress::fromSockaddr(sa, static_cast<socklen_t>(len));
  auto conn = std::make_unique<DownstreamConnection>(*this, next_connection_id_++, fd, peer,
                                                     slot.info);
  DownstreamConnection* raw = conn.get();
  raw->setRegistryIndex(connections_.size());
  connections_.push_back(std::move(conn));
  counters_.connections_accepted.fetch_add(1, std::memory_order_relaxed);
  counters_.connections_open.fetch_add(1, std::memory_order_relaxed);
  raw->start();
}

void Worker::connectionClosed(DownstreamConnection* conn) {
  size_t i = conn->registryIndex();
  if (i >= connections_.size() || connections_[i].get() != conn) return;
  loop_.deferredDelete(std::move(connections_[i]));
  if (i + 1 != connections_.size()) {
    connections_[i] = std::move(connections_.back());
    connections_[i]->setRegistryIndex(i);
  }
  connections_.pop_back();
  counters_.connections_open.fetch_sub(1, std::memory_order_relaxed);
  maybeFinishDrain();
}

void Worker::connectionIdle(DownstreamConnection*) { maybeFinishDrain(); }

void Worker::beginDrain() {
  if (draining_) return;
  draining_ = true;
  listeners_.clear();  // stop accepting: the sockets close
  std::vector<DownstreamConnection*> all;
  for (auto& conn : connections_) all.push_back(conn.get());
  for (auto* c : all) c->closeWhenIdle();
  maybeFinishDrain();
}

void Worker::maybeFinishDrain() {
  if (draining_ && connections_.empty()) event_base_loopexit(loop_.base(), nullptr);
}

std::shared_ptr<Pool> Worker::pool(const std::string& name) {
  if (pools_generation_ != snapshot_->generation) {
    pools_generation_ = snapshot_->generation;
    pools_.clear();
    std::unordered_map<std::string, std::shared_ptr<Backend>> kept;
    for (const auto& pc : snapshot_->config().pools) {
      auto pool = std::make_shared<Pool>(pc.name, pc.balance, static_cast<size_t>(pc.keepalive));
      std::vector<std::shared_ptr<Backend>> backends;
      const auto& addrs = snapshot_->backend_addresses.at(pc.name);
      for (size_t i = 0; i < pc.backends.size(); ++i) {
        std::string key = pc.name + "|" + pc.backends[i].text + "|" + addrs[i].toString();
        auto it = backends_.find(key);
        auto b = it != backends_.end()
                     ? it->second
                     : std::make_shared<Backend>(loop_, pc.name, pc.backends[i].text, addrs[i],
                                                 context_.state->backendCell(pc.name, pc.backends[i].text));
        kept[key] = b;
        backends.push_back(std::move(b));
      }
      pool->setBackends(std::move(backends));
      pools_.emplace(pc.name, std::move(pool));
    }
    backends_ = std::move(kept);  // dropped backends close their idle connections
  }
  auto it = pools_.find(name);
  return it == pools_.end() ? nullptr : it->second;
}

std::string_view Worker::dateLine() {
  timeval tv;
  event_base_gettimeofday_cached(loop_.base(), &tv);
  if (tv.tv_sec != date_second_) {
    date_second_ = tv.tv_sec;
    date_line_ = formatDateLine(tv.tv_sec);
  }
  return date_line_;
}

std::unique_ptr<Http1Parser> Worker::takeParser() {
  if (parser_pool_generation_ != snapshot_->generation) {
    parser_pool_.clear();  // the limits may have changed
    parser_pool_generation_ = snapshot_->generation;
  }
  if (parser_pool_.empty()) {
    return Http1Parser::create(Http1Parser::Kind::kRequest, snapshot_->parser_limits);
  }
  auto p = std::move(parser_pool_.back());
  parser_pool_.pop_back();
  p->reset();  // whatever the last connection left (a closed or upgraded state)
  return p;
}

void Worker::returnParser(std::unique_ptr<Http1Parser> parser) {
  // Enough for the exchanges a worker runs at once; the rest are freed.
  constexpr size_t kMaxPooled = 256;
  if (parser_pool_.size() < kMaxPooled && parser_pool_generation_ == snapshot_->generation) {
    parser_pool_.push_back(std::move(parser));
  }
}

bool Worker::allowUpstreamLog(uint64_t& held_back) {
  timeval now;
  event_base_gettimeofday_cached(loop_.base(), &now);
  if (now.tv_sec != upstream_log_second_) {
    upstream_log_second_ = now.tv_sec;
    upstream_logs_this_second_ = 0;
  }
  if (upstream_logs_this_second_ >= kUpstreamLogsPerSecond) {
    ++upstream_logs_held_back_;
    return false;
  }
  ++upstream_logs_this_second_;
  held_back = upstream_logs_held_back_;
  upstream_logs_held_back_ = 0;
  return true;
}

void Worker::newRequestId(std::string& out) {
  // 128 random bits in hex, formatted by hand (snprintf cost more than the rest of the id),
  // into `out`'s own storage.
  static constexpr char kHex[] = "0123456789abcdef";
  out.resize(32);
  for (int half = 0; half < 2; ++half) {
    uint64_t v = rng_();
    for (int i = 15; i >= 0; --i, v >>= 4) out[half * 16 + i] = kHex[v & 0xf];
  }
}

}  // namespace detour
