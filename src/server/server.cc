#include "server/server.h"

#include <signal.h>
#include <unistd.h>

#include <cstdio>
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

bool sameLogSettings(const LogConfig& a, const LogConfig& b) {
  return a.access_enabled == b.access_enabled && a.access_path == b.access_path &&
         a.access_format == b.access_format;
}

}  // namespace

Server::~Server() {
  for (auto& w : workers_) w->stopNow();
  for (auto& w : workers_) w->join();
}

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
  server->main_loop_ = std::make_unique<EventLoop>();
  Status st = server->openListeners(snap->config());
  if (!st) return st;
  return server;
}

Status Server::openListeners(const Config& cfg) {
  int n = workerCount(cfg);
  for (int i = 0; i < n; ++i) workers_.push_back(std::make_unique<Worker>(i));
  for (const auto& l : cfg.server.listen) {
    if (l.tls) return Status::error(cfg.file + ":" + std::to_string(l.pos.line) +
                                    ": TLS listeners are not supported by this build yet");
    SocketAddress addr = l.address;
    for (int i = 0; i < n; ++i) {
      auto fd = openListeningSocket(addr, 1024);
      if (!fd) return fd.status();
      // The first socket fixes the port (it may have been 0); the others share it.
      if (i == 0) {
        addr = boundAddress(*fd);
        bound_.push_back(addr);
      }
      workers_[i]->addListener(*fd, ListenerInfo{addr, false});
    }
  }
  return Status::ok();
}

void Server::writeReadyFile() {
  if (options_.ready_file.empty()) return;
  std::string tmp = options_.ready_file + ".tmp";
  {
    std::ofstream out(tmp);
    for (const auto& a : bound_) out << "listen " << a.toString() << "\n";
    out << "ready\n";
  }
  rename(tmp.c_str(), options_.ready_file.c_str());
}

int Server::run() {
  for (int sig : {SIGHUP, SIGTERM, SIGINT, SIGUSR1}) {
    EventPtr ev(evsignal_new(main_loop_->base(), sig, &Server::onSignalCb, this));
    evsignal_add(ev.get(), nullptr);
    signal_events_.push_back(std::move(ev));
  }
  signal(SIGPIPE, SIG_IGN);
  for (auto& w : workers_) w->start(snapshot_);
  for (const auto& a : bound_) log().info("listening on {}", a.toString());
  log().info("detour started: {} worker(s), {} rule(s)", workers_.size(), snapshot_->table->size());
  writeReadyFile();
  main_loop_->run();
  for (auto& w : workers_) w->join();
  log().info("detour stopped");
  if (snapshot_->access_log) snapshot_->access_log->flush();
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
    log().error("reload failed: {} error(s); still serving generation {}", diags.errorCount(),
                snapshot_->generation);
    return false;
  }
  auto mutable_snap = std::const_pointer_cast<ConfigSnapshot>(snap);
  mutable_snap->generation = ++generation_;
  mutable_snap->access_log = sameLogSettings(snap->config().log, snapshot_->config().log)
                                 ? snapshot_->access_log
                                 : AccessLog::create(snap->config().log);
  setupLogging(snap->config().log.level);
  snapshot_ = snap;
  for (auto& w : workers_) w->publish(snap);
  log().info("reloaded {}: generation {}, {} rule(s)", options_.config_path, snap->generation,
             snap->table->size());
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
