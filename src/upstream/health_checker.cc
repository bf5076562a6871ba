#include "upstream/health_checker.h"

#include <chrono>

#include "http/parser.h"
#include "logging/logging.h"
#include "server/config_snapshot.h"

namespace detour {
namespace {

int64_t unixMillis() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch()).count();
}

timeval toTimeval(std::chrono::milliseconds d) {
  return timeval{static_cast<time_t>(d.count() / 1000),
                 static_cast<suseconds_t>((d.count() % 1000) * 1000)};
}

}  // namespace

// One HTTP probe in flight: connect, send GET path, read the status line. 2xx and 3xx pass.
class HealthChecker::Probe {
 public:
  Probe(HealthChecker& owner, Entry& entry);
  ~Probe() = default;
  bool started() const { return static_cast<bool>(bev_); }
  // No more callbacks (the probe is about to be deleted).
  void stop() {
    if (bev_) {
      bufferevent_disable(bev_.get(), EV_READ | EV_WRITE);
      bufferevent_setcb(bev_.get(), nullptr, nullptr, nullptr, nullptr);
    }
  }

 private:
  static void onReadCb(bufferevent*, void* ctx) { static_cast<Probe*>(ctx)->onRead(); }
  static void onEventCb(bufferevent*, short what, void* ctx) { static_cast<Probe*>(ctx)->onEvent(what); }
  void onRead();
  void onEvent(short what);
  HealthChecker& owner_;
  Entry& entry_;
  BufferEventPtr bev_;
  std::unique_ptr<Http1Parser> parser_;
};

struct HealthChecker::Entry {
  HealthChecker* owner = nullptr;
  std::string pool;
  std::string backend;
  SocketAddress address;
  std::optional<HealthCheckConfig> check;  // active checks, when the pool has `health:`
  BackendCell* cell = nullptr;
  BackendHealth health{3, 2};
  EventPtr timer;
  std::unique_ptr<Probe> probe;
  std::string last_error;
  int64_t last_change_ms = 0;
};

HealthChecker::Probe::Probe(HealthChecker& owner, Entry& entry) : owner_(owner), entry_(entry) {
  bev_.reset(bufferevent_socket_new(owner.loop_.base(), -1, BEV_OPT_CLOSE_ON_FREE));
  parser_ = Http1Parser::create(Http1Parser::Kind::kResponse, ParserLimits{});
  bufferevent_setcb(bev_.get(), &Probe::onReadCb, nullptr, &Probe::onEventCb, this);
  timeval tv = toTimeval(entry.check->timeout);
  bufferevent_set_timeouts(bev_.get(), &tv, &tv);
  bufferevent_enable(bev_.get(), EV_READ | EV_WRITE);
  std::string host = entry.backend.substr(0, entry.backend.rfind(':'));
  std::string req = "GET " + entry.check->path + " HTTP/1.1\r\nHost: " + host +
                    "\r\nUser-Agent: detour-health-check\r\nConnection: close\r\n\r\n";
  bufferevent_write(bev_.get(), req.data(), req.size());
  if (bufferevent_socket_connect(bev_.get(), entry.address.sockaddrPtr(),
                                 static_cast<int>(entry.address.length)) != 0) {
    bev_.reset();
  }
}

void HealthChecker::Probe::onRead() {
  evbuffer* in = bufferevent_get_input(bev_.get());
  size_t len = evbuffer_get_length(in);
  const char* data = reinterpret_cast<const char*>(evbuffer_pullup(in, -1));
  ParseResult r = parser_->execute(data, len);
  if (r.event == ParseEvent::kHeadComplete) {
    int status = parser_->head().status;
    bool ok = status >= 200 && status < 400;
    owner_.finishProbe(entry_, ok, ok ? "" : "health check answered " + std::to_string(status));
    return;  // *this is gone
  }
  if (r.event == ParseEvent::kError) {
    owner_.finishProbe(entry_, false, "health check answer is not HTTP");
    return;
  }
  evbuffer_drain(in, r.consumed);
}

void HealthChecker::Probe::onEvent(short what) {
  if (what & BEV_EVENT_CONNECTED) return;
  const char* why = (what & BEV_EVENT_TIMEOUT) ? "health check timed out"
                    : (what & BEV_EVENT_EOF)   ? "health check: connection closed before an answer"
                                               : "health check: connect failed";
  owner_.finishProbe(entry_, false, why);
}

HealthChecker::HealthChecker(EventLoop& loop, RuntimeState& state) : loop_(loop), state_(state) {}

HealthChecker::~HealthChecker() = default;

void HealthChecker::update(const ConfigSnapshot& snap) {
  std::map<std::string, std::unique_ptr<Entry>> next;
  std::vector<std::string> order;
  for (const auto& pool : snap.config().pools) {
    const auto& addrs = snap.backend_addresses.at(pool.name);
    for (size_t i = 0; i < pool.backends.size(); ++i) {
      std::string key = pool.name + "|" + pool.backends[i].text;
      auto it = entries_.find(key);
      std::unique_ptr<Entry> e;
      if (it != entries_.end()) {
        e = std::move(it->second);  // health state survives the reload
      } else {
        e = std::make_unique<Entry>();
        e->owner = this;
        e->pool = pool.name;
        e->backend = pool.backends[i].text;
        e->cell = state_.backendCell(pool.name, pool.backends[i].text);
        e->timer.reset(evtimer_new(loop_.base(), &HealthChecker::onTimerCb, e.get()));
        // The cell outlives the entry: a backend removed while down and added again later
        // finds it still down. The new entry starts up, and says so.
        e->cell->up.store(e->health.up());
        e->cell->recent_failures.store(0);
      }
      e->address = addrs[i];
      bool had_checks = e->check.has_value();
      e->check = pool.health;
      int fall = pool.health ? pool.health->fall : 3;
      int rise = pool.health ? pool.health->rise : 2;
      e->health.setThresholds(fall, rise);
      if (e->check && !had_checks) armTimer(*e, std::chrono::milliseconds(0));
      if (!e->check && had_checks) {
        evtimer_del(e->timer.get());
        e->probe.reset();
      }
      order.push_back(key);
      next.emplace(key, std::move(e));
    }
  }
  entries_ = std::move(next);  // entries of removed backends stop (their timers die)
  order_ = std::move(order);
  for (const auto& pool : snap.config().pools) publishPool(pool.name);
}

void HealthChecker::armTimer(Entry& e, std::chrono::milliseconds after) {
  timeval tv = toTimeval(after);
  evtimer_add(e.timer.get(), &tv);
}

void HealthChecker::onTimerCb(evutil_socket_t, short, void* ctx) {
  auto* e = static_cast<Entry*>(ctx);
  e->owner->onTimer(*e);
}

void HealthChecker::onTimer(Entry& e) {
  if (!e.check) {
    // The passive cool-off ended: let traffic try the backend again.
    if (!e.health.up()) {
      e.health.setUp(true);
      e.cell->up.store(true);
      e.cell->recent_failures.store(0);
      e.last_change_ms = unixMillis();
      ++transitions_;
      log().info("backend {} of pool {}: retrying after passive failures", e.backend, e.pool);
      publishPool(e.pool);
    }
    return;
  }
  startProbe(e);
  armTimer(e, e.check->interval);
}

void HealthChecker::startProbe(Entry& e) {
  if (e.probe) return;  // the previous one is still running (its timeout ends it)
  e.probe = std::make_unique<Probe>(*this, e);
  if (!e.probe->started()) finishProbe(e, false, "health check: connect failed");
}

void HealthChecker::finishProbe(Entry& e, bool ok, const std::string& why) {
  // The probe may be calling us from its own callback: delete it after the callback returns.
  struct Holder : Deletable {
    std::unique_ptr<Probe> p;
  };
  auto holder = std::make_unique<Holder>();
  if (e.probe) e.probe->stop();
  holder->p = std::move(e.probe);
  loop_.deferredDelete(std::move(holder));
  record(e, ok, why);
}

void HealthChecker::record(Entry& e, bool ok, const std::string& why) {
  if (!ok) e.last_error = why;
  if (ok) e.cell->recent_failures.store(0);
  bool changed = e.health.record(ok);
  e.cell->up.store(e.health.up());  // also without a change: the cell follows the entry
  if (!changed) return;
  ++transitions_;
  e.last_change_ms = unixMillis();
  if (e.health.up()) {
    e.cell->recent_failures.store(0);
    log().info("backend {} of pool {} is up", e.backend, e.pool);
  } else {
    log().warn("backend {} of pool {} is down: {}", e.backend, e.pool, e.last_error);
    if (!e.check) armTimer(e, kPassiveCoolOff);
  }
  publishPool(e.pool);
}

void HealthChecker::reportPassive(const std::string& pool, const std::string& backend, bool ok) {
  auto it = entries_.find(pool + "|" + backend);
  if (it == entries_.end()) return;
  Entry& e = *it->second;
  if (!ok && !e.health.up()) return;  // already down: in-flight stragglers do not count
  record(e, ok, ok ? "" : "requests failed");
}

void HealthChecker::publishPool(const std::string& pool) {
  bool any_up = false;
  bool any = false;
  for (const auto& [key, e] : entries_) {
    if (e->pool != pool) continue;
    any = true;
    any_up = any_up || e->health.up();
  }
  PoolCell* cell = state_.poolCell(pool);
  bool down = any && !any_up;
  if (cell->down.exchange(down) != down) {
    if (down) {
      log().warn("pool {} is down: no healthy backend", pool);
    } else {
      log().info("pool {} is up again", pool);
    }
  }
}

std::vector<HealthChecker::BackendStatus> HealthChecker::status() const {
  std::vector<BackendStatus> out;
  for (const auto& key : order_) {
    const Entry& e = *entries_.at(key);
    BackendStatus s;
    s.pool = e.pool;
    s.backend = e.backend;
    s.address = e.address.toString();
    s.up = e.health.up();
    s.active_checks = e.check.has_value();
    s.consecutive_failures = e.health.consecutiveFailures();
    s.last_error = e.last_error;
    s.last_change_ms = e.last_change_ms;
    out.push_back(std::move(s));
  }
  return out;
}

}  // namespace detour
