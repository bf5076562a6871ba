#include "server/server.h"

#include <malloc.h>
#include <signal.h>
#include <sys/resource.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <thread>

#include "logging/access_log.h"
#include "logging/logging.h"

namespace detour {
namespace {

void logDiagnostics(const Diagnostics& diags) {
  for (const auto& d : diags.all()) {
    if (d.severity == Severity::kError) {
      log().error("{}", d.format());
    } else {
      log().warn("{}", d.format());
    }
  }
}

int workerCount(const Config& cfg) {
  if (cfg.server.workers > 0) return cfg.server.workers;
  unsigned n = std::thread::hardware_concurrency();
  return n == 0 ? 1 : static_cast<int>(n);
}

// The committed config's flag defaults (an admin override wins). Only for a config that is
// about to be served: a reload that fails must leave every flag as it was.
void applyFlagDefaults(RuntimeState& state, const Config& cfg) {
  for (const auto& f : cfg.flags) state.applyFlagDefault(f.name, f.default_value);
}

bool sameLogSettings(const LogConfig& a, const LogConfig& b) {
  return a.access_enabled == b.access_enabled && a.access_path == b.access_path &&
         a.access_format == b.access_format;
}

}  // namespace

Server::~Server() {
  for (auto& w : workers_) w->stopNow();
  for (auto& w : workers_) w->join();
}

namespace {

// Loading a config (the YAML tree, the scratch compile, the lints) leaves the heap full of
// freed chunks; glibc keeps them unless asked. With a 10,000-rule table that is ~60 MiB of
// resident memory nothing uses.
void returnFreedMemory() {
#ifdef __GLIBC__
  malloc_trim(0);
#endif
}

}  // namespace

Result<std::unique_ptr<Server>> Server::create(const ServerOptions& options) {
  std::unique_ptr<Server> server(new Server());
  server->options_ = options;
  Diagnostics diags;
  SnapshotOptions so;
  so.resolve = true;
  auto snap = buildSnapshot(options.config_path, *server->state_, diags, so);
  diags.sortByPosition();
  if (!snap) {
    return Status::error(diags.formatAll().empty() ? "invalid config" : diags.formatAll());
  }
  logDiagnostics(diags);
  setupLogging(snap->config().log.level);
  auto mutable_snap = std::const_pointer_cast<ConfigSnapshot>(snap);
  mutable_snap->generation = ++server->generation_;
  mutable_snap->access_log = AccessLog::create(snap->config().log);
  server->snapshot_ = snap;
  applyFlagDefaults(*server->state_, snap->config());
  returnFreedMemory();
  server->main_loop_ = std::make_unique<EventLoop>();
  server->health_ = std::make_unique<HealthChecker>(*server->main_loop_, *server->state_);
  Status st = server->openListeners(snap->config());
  if (!st) return st;
  st = server->openAdmin(snap->config());
  if (!st) return st;
  return server;
}

namespace {

// The bearer token admin writes need, for start and every reload alike. A configured but
// unset (or empty) variable must not fall back to "no token" (which allows loopback writes):
// it yields AdminServer::kRefuseAllWrites, and every write is refused (403).
std::string adminToken(const AdminConfig& admin) {
  if (admin.token_env.empty()) return {};
  const char* v = std::getenv(admin.token_env.c_str());
  if (v != nullptr && *v != '\0') return v;
  log().warn("admin: {} is not set: admin writes are refused", admin.token_env);
  return std::string(AdminServer::kRefuseAllWrites);
}

}  // namespace

Status Server::openAdmin(const Config& cfg) {
  if (!cfg.admin.listen) return Status::ok();
  auto admin = AdminServer::create(*main_loop_, cfg.admin.listen->address, adminToken(cfg.admin),
                                   *this);
  if (!admin) return admin.status();
  admin_ = std::move(*admin);
  return Status::ok();
}

void Server::reportBackend(const std::string& pool, const std::string& backend, bool ok) {
  main_loop_->post([this, pool, backend, ok] { health_->reportPassive(pool, backend, ok); });
}

Status Server::openListeners(const Config& cfg) {
  int n = workerCount(cfg);
  for (int i = 0; i < n; ++i) {
    WorkerContext ctx;
    ctx.state = state_;
    ctx.report_backend = [this](const std::string& pool, const std::string& backend, bool ok) {
      reportBackend(pool, backend, ok);
    };
    workers_.push_back(std::make_unique<Worker>(i, std::move(ctx)));
  }
  for (const auto& l : cfg.server.listen) {
    Status st = openListener(l, /*check_free=*/true);
    if (!st) return st;
  }
  return Status::ok();
}

Status Server::openListener(const ListenerConfig& l, bool check_free) {
  if (l.tls) {
    return Status::error("listener " + l.text + ": TLS listeners are not supported by this build yet");
  }
  // Every socket of ours sets SO_REUSEPORT, so a process already on this address (of the same
  // user) would silently share its connections with us: refuse to open it instead.
  if (check_free) {
    if (Status st = checkAddressFree(l.address); !st) return st;
  }
  SocketAddress addr = l.address;
  std::vector<int> fds;
  for (size_t i = 0; i < workers_.size(); ++i) {
    auto fd = openListeningSocket(addr, 1024, /*reuse_port=*/true);
    if (!fd) {
      for (int f : fds) close(f);
      return fd.status();
    }
    // The first socket fixes the port (it may have been 0); the others share it.
    if (i == 0) addr = boundAddress(*fd);
    fds.push_back(*fd);
  }
  for (size_t i = 0; i < workers_.size(); ++i) {
    workers_[i]->addListener(fds[i], ListenerInfo{addr, false}, l.text);
  }
  listeners_.emplace_back(l.text, addr);
  bound_.clear();
  for (const auto& [text, a] : listeners_) bound_.push_back(a);
  return Status::ok();
}

Status Server::reconcileListeners(const Config& cfg) {
  std::vector<const ListenerConfig*> added;
  for (const auto& l : cfg.server.listen) {
    bool have = false;
    for (const auto& [text, a] : listeners_) have = have || text == l.text;
    if (!have) added.push_back(&l);
  }
  size_t before = listeners_.size();
  for (const ListenerConfig* l : added) {
    // An address that overlaps one of ours (0.0.0.0:80 edited to 127.0.0.1:80) is busy because
    // of us: it shares the port with the listener the reload is about to close.
    bool ours = false;
    for (const auto& [text, a] : listeners_) ours = ours || listenAddressesOverlap(a, l->address);
    Status st = openListener(*l, /*check_free=*/!ours);
    if (!st) {
      // Undo what this reload opened: the old listeners stay exactly as they were.
      while (listeners_.size() > before) {
        for (auto& w : workers_) w->removeListener(listeners_.back().first);
        listeners_.pop_back();
      }
      bound_.clear();
      for (const auto& [text, a] : listeners_) bound_.push_back(a);
      return st;
    }
    log().info("listening on {} (added by reload)", listeners_.back().second.toString());
  }
  std::erase_if(listeners_, [&](const auto& entry) {
    bool keep = false;
    for (const auto& l : cfg.server.listen) keep = keep || l.text == entry.first;
    if (!keep) {
      for (auto& w : workers_) w->removeListener(entry.first);
      log().info("stopped listening on {} (removed by reload)", entry.second.toString());
    }
    return !keep;
  });
  bound_.clear();
  for (const auto& [text, a] : listeners_) bound_.push_back(a);
  return Status::ok();
}

void Server::writeReadyFile() {
  if (options_.ready_file.empty()) return;
  std::string tmp = options_.ready_file + ".tmp";
  {
    std::ofstream out(tmp);
    for (const auto& a : bound_) out << "listen " << a.toString() << "\n";
    if (admin_) out << "admin " << admin_->address().toString() << "\n";
    out << "ready\n";
  }
  rename(tmp.c_str(), options_.ready_file.c_str());
}

namespace {

// An edge proxy holds two descriptors per proxied exchange: take the hard limit.
void raiseFileLimit() {
  rlimit rl{};
  if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
    rl.rlim_cur = rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);
  }
}

}  // namespace

int Server::run() {
  raiseFileLimit();
  for (int sig : {SIGHUP, SIGTERM, SIGINT, SIGUSR1}) {
    // libevent puts back the disposition it found when the signal event goes: make that
    // "ignore", so that a second SIGTERM while the process exits (systemd, a test, an
    // impatient operator) cannot kill it with status 143 after a clean drain.
    signal(sig, SIG_IGN);
    EventPtr ev(evsignal_new(main_loop_->base(), sig, &Server::onSignalCb, this));
    evsignal_add(ev.get(), nullptr);
    signal_events_.push_back(std::move(ev));
  }
  signal(SIGPIPE, SIG_IGN);
  health_->update(*snapshot_);
  for (auto& w : workers_) w->start(snapshot_);
  running_ = true;
  for (const auto& a : bound_) log().info("listening on {}", a.toString());
  if (admin_) log().info("admin API on http://{}/", admin_->address().toString());
  log().info("detour started: {} worker(s), {} rule(s)", workers_.size(), snapshot_->table->size());
  if (options_.watch_config) {
    auto watch = ConfigWatch::start(*main_loop_, options_.config_path, std::chrono::milliseconds(200),
                                    std::chrono::milliseconds(1000), [this] {
                                      log().info("{} changed: reloading", options_.config_path);
                                      reload();
                                    });
    if (watch) {
      watch_ = std::move(*watch);
    } else {
      log().warn("config file watch off: {}", watch.status().message());
    }
  }
  writeReadyFile();
  main_loop_->run();
  for (auto& w : workers_) w->join();
  log().info("detour stopped");
  AccessLog::shutdown();
  return 0;
}

void Server::requestStop() {
  main_loop_->post([this] { startDrain(); });
}

void Server::onSignalCb(evutil_socket_t sig, short, void* ctx) {
  static_cast<Server*>(ctx)->onSignal(static_cast<int>(sig));
}

void Server::onSignal(int sig) {
  switch (sig) {
    case SIGHUP:
      reload();
      break;
    case SIGTERM:
    case SIGINT:
      startDrain();
      break;
    case SIGUSR1:
      if (snapshot_->access_log) snapshot_->access_log->reopen();
      log().info("log files reopened");
      break;
    default:
      break;
  }
}

bool Server::reload() {
  Diagnostics diags;
  SnapshotOptions so;
  so.resolve = true;
  auto snap = buildSnapshot(options_.config_path, *state_, diags, so);
  diags.sortByPosition();
  logDiagnostics(diags);
  if (!snap) {
    ++reloads_failed_;
    log().error("reload failed: {} error(s); still serving generation {}", diags.errorCount(),
                snapshot_->generation);
    return false;
  }
  if (snap->config().server.workers != snapshot_->config().server.workers) {
    log().warn("reload: server.workers changed; it takes effect at the next restart");
  }
  if (Status st = reconcileListeners(snap->config()); !st) {
    ++reloads_failed_;
    log().error("reload failed: {}; still serving generation {}", st.message(),
                snapshot_->generation);
    return false;
  }
  ++reloads_ok_;
  applyFlagDefaults(*state_, snap->config());
  auto mutable_snap = std::const_pointer_cast<ConfigSnapshot>(snap);
  mutable_snap->generation = ++generation_;
  mutable_snap->access_log = sameLogSettings(snap->config().log, snapshot_->config().log)
                                 ? snapshot_->access_log
                                 : AccessLog::create(snap->config().log);
  setupLogging(snap->config().log.level);
  snapshot_ = snap;
  health_->update(*snap);
  if (admin_) admin_->setToken(adminToken(snap->config().admin));
  for (auto& w : workers_) w->publish(snap);
  returnFreedMemory();
  writeReadyFile();
  log().info("reloaded {}: generation {}, {} rule(s)", options_.config_path, snap->generation,
             snap->table->size());
  return true;
}

MetricsInput Server::metrics() const {
  MetricsInput m;
  m.table = snapshot_->table.get();
  for (const auto& w : workers_) {
    m.workers.push_back(&w->stats());
    const WorkerCounters& c = w->counters();
    m.connections_open += c.connections_open.load();
    m.connections_accepted += c.connections_accepted.load();
    m.bytes_in += c.bytes_in.load();
    m.bytes_out += c.bytes_out.load();
    m.parse_errors += c.parse_errors.load();
  }
  m.reloads_ok = reloads_ok_;
  m.reloads_failed = reloads_failed_;
  m.generation = snapshot_->generation;
  m.draining = draining_;
  for (const auto& [name, value] : flagValues()) {
    auto it = flag_changes_.find(name);
    m.flags.push_back({name, value, it == flag_changes_.end() ? 0 : it->second});
  }
  m.backends = health_->status();
  for (const auto& pool : snapshot_->config().pools) {
    PoolCell* cell = state_->findPool(pool.name);
    m.pools.emplace_back(pool.name, cell != nullptr && cell->down.load());
  }
  m.access_log_dropped = snapshot_->access_log ? snapshot_->access_log->dropped() : 0;
  m.health_transitions = health_->transitions();
  return m;
}

std::vector<HealthChecker::BackendStatus> Server::backendStatus() const { return health_->status(); }

std::vector<std::pair<std::string, bool>> Server::flagValues() const {
  std::vector<std::pair<std::string, bool>> out;
  for (const auto& f : snapshot_->config().flags) {
    FlagCell* cell = state_->findFlag(f.name);
    out.emplace_back(f.name, cell != nullptr && cell->value.load());
  }
  return out;
}

bool Server::setFlag(const std::string& name, bool value, const std::string& peer) {
  if (snapshot_->config().findFlag(name) == nullptr) return false;
  FlagCell* cell = state_->findFlag(name);
  if (cell == nullptr) return false;
  bool old = cell->value.exchange(value);
  cell->overridden.store(true);
  ++flag_changes_[name];
  log().warn("flag {} set {} -> {} by admin client {}", name, old ? "true" : "false",
             value ? "true" : "false", peer);
  return true;
}

void Server::startDrain() {
  if (draining_) return;
  draining_ = true;
  log().info("draining: no new connections; waiting up to {} ms for exchanges in flight",
             snapshot_->config().server.timeouts.drain.count());
  drain_deadline_ = std::chrono::steady_clock::now() + snapshot_->config().server.timeouts.drain;
  for (auto& w : workers_) w->drain();
  drain_check_.reset(event_new(main_loop_->base(), -1, EV_PERSIST, &Server::onDrainCheckCb, this));
  timeval tv{0, 20 * 1000};
  event_add(drain_check_.get(), &tv);
}

void Server::onDrainCheckCb(evutil_socket_t, short, void* ctx) {
  auto* self = static_cast<Server*>(ctx);
  uint64_t open = 0;
  for (auto& w : self->workers_) open += w->openConnections();
  if (open == 0) {
    event_base_loopbreak(self->main_loop_->base());
    return;
  }
  if (std::chrono::steady_clock::now() >= self->drain_deadline_) self->onDrainTimeout();
}

void Server::onDrainTimeout() {
  uint64_t open = 0;
  for (auto& w : workers_) open += w->openConnections();
  log().warn("drain timeout: closing {} connection(s) still open", open);
  for (auto& w : workers_) w->stopNow();
  event_base_loopbreak(main_loop_->base());
}

}  // namespace detour
