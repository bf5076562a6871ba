#pragma once

// The admin API (contract §4) on its own listener, served by libevent's evhttp on the main
// thread (it never carries proxied bodies): /healthz /readyz /metrics /rules /flags
// PUT /flags/NAME /pools and the HTML dashboard at /.

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "admin/metrics.h"
#include "common/net_address.h"
#include "common/status.h"
#include "server/event_loop.h"

struct evhttp;
struct evhttp_request;

namespace detour {

struct ConfigSnapshot;
class RuntimeState;

// What the admin API reads and changes; implemented by the Server. Main thread.
class AdminModel {
 public:
  virtual ~AdminModel() = default;
  virtual std::shared_ptr<const ConfigSnapshot> currentSnapshot() const = 0;
  virtual bool ready() const = 0;  // listeners up, config loaded, not draining
  virtual MetricsInput metrics() const = 0;
  virtual std::vector<HealthChecker::BackendStatus> backendStatus() const = 0;
  // Current flag values, in config order.
  virtual std::vector<std::pair<std::string, bool>> flagValues() const = 0;
  // Sets a flag at runtime. Returns false when the flag is unknown.
  virtual bool setFlag(const std::string& name, bool value, const std::string& peer) = 0;
};

class AdminServer {
 public:
  ~AdminServer();
  // A token no request can present (it holds a control byte): every write is refused.
  static constexpr std::string_view kRefuseAllWrites = "\x01refuse-all-writes";

  // Listens on `address`. `token` (may be empty) is the bearer token writes need; without one,
  // writes are allowed only when the admin address is loopback.
  static Result<std::unique_ptr<AdminServer>> create(EventLoop& loop, const SocketAddress& address,
                                                     std::string token, AdminModel& model);
  const SocketAddress& address() const { return address_; }
  void setToken(std::string token) { token_ = std::move(token); }

 private:
  AdminServer(AdminModel& model) : model_(model) {}
  static void onRequestCb(evhttp_request* req, void* ctx);
  void onRequest(evhttp_request* req);
  void reply(evhttp_request* req, int code, const std::string& type, const std::string& body);
  void handleFlagPut(evhttp_request* req, const std::string& name);
  bool writeAllowed(evhttp_request* req);
  std::string rulesJson() const;
  std::string flagsJson() const;
  std::string poolsJson() const;

  AdminModel& model_;
  evhttp* http_ = nullptr;
  SocketAddress address_;
  std::string token_;
  bool loopback_ = false;
};

// The dashboard page (self-contained HTML, CSS and JS).
const std::string& dashboardHtml();

}  // namespace detour
