#include "server/config_snapshot.h"

#include <netdb.h>
#include <sys/socket.h>

#include <chrono>
#include <cstdlib>
#include <cstring>

#include "config/config_loader.h"
#include "common/string_util.h"

namespace detour {

int64_t nowMillis() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::optional<bool> flagEnvValue(const FlagConfig& flag) {
  if (flag.env.empty()) return std::nullopt;
  const char* v = std::getenv(flag.env.c_str());
  if (v == nullptr) return std::nullopt;
  if (equalsIgnoreCase(v, "true")) return true;
  if (equalsIgnoreCase(v, "false")) return false;
  return std::nullopt;
}

namespace {

// Resolves every backend once, at load ("a name resolves at load"); an IP literal needs no DNS.
bool resolveBackends(const Config& cfg, bool resolve, ConfigSnapshot& snap, Diagnostics& diags) {
  bool ok = true;
  for (const auto& pool : cfg.pools) {
    auto& addrs = snap.backend_addresses[pool.name];
    for (const auto& b : pool.backends) {
      std::string literal = b.address.host.find(':') != std::string::npos
                                ? "[" + b.address.host + "]:" + std::to_string(b.address.port)
                                : b.address.host + ":" + std::to_string(b.address.port);
      if (auto addr = SocketAddress::parse(literal)) {
        addrs.push_back(*addr);
        continue;
      }
      if (!resolve) {
        addrs.push_back(SocketAddress{});
        continue;
      }
      addrinfo hints{};
      hints.ai_family = AF_UNSPEC;
      hints.ai_socktype = SOCK_STREAM;
      addrinfo* res = nullptr;
      int rc = getaddrinfo(b.address.host.c_str(), std::to_string(b.address.port).c_str(), &hints, &res);
      if (rc != 0 || res == nullptr) {
        diags.error(cfg.file, b.pos, "cannot resolve backend '" + b.text + "': " + gai_strerror(rc));
        ok = false;
        continue;
      }
      addrs.push_back(SocketAddress::fromSockaddr(res->ai_addr, res->ai_addrlen));
      freeaddrinfo(res);
    }
  }
  return ok;
}

}  // namespace

std::shared_ptr<const ConfigSnapshot> buildSnapshot(const std::string& path, RuntimeState& state,
                                                    Diagnostics& diags,
                                                    const SnapshotOptions& opts) {
  LoadResult loaded = loadConfigFile(path);
  for (const auto& d : loaded.diagnostics.all()) {
    if (d.severity == Severity::kError) {
      diags.error(d.file, d.pos, d.message);
    } else {
      diags.warning(d.file, d.pos, d.message);
    }
  }
  if (!loaded.config) return nullptr;
  Config& cfg = *loaded.config;
  if (opts.apply_env) {
    for (auto& flag : cfg.flags) {
      if (auto v = flagEnvValue(flag)) flag.default_value = *v;
    }
  }
  // Compile against a scratch state first: a file that fails must not touch the live flags.
  Diagnostics compile_diags;
  RuntimeState scratch;
  auto table = RuleTable::compile(cfg, scratch, compile_diags);
  if (table) lintRules(*table, opts.now_ms >= 0 ? opts.now_ms : nowMillis(), compile_diags);
  compile_diags.sortByPosition();
  for (const auto& d : compile_diags.all()) {
    if (d.severity == Severity::kError) {
      diags.error(d.file, d.pos, d.message);
    } else {
      diags.warning(d.file, d.pos, d.message);
    }
  }
  if (!table || diags.failed(opts.strict)) return nullptr;
  auto snap = std::make_shared<ConfigSnapshot>();
  if (!resolveBackends(cfg, opts.resolve, *snap, diags)) return nullptr;
  // Valid: now bind the table to the live flag and pool cells.
  Diagnostics again;
  table = RuleTable::compile(cfg, state, again);
  if (!table) return nullptr;
  snap->table = std::move(table);
  snap->parser_limits.max_head_bytes = cfg.server.limits.max_header_bytes;
  return snap;
}

}  // namespace detour
