#include "admin/metrics.h"

#include <cstdio>
#include <map>

namespace detour {
namespace {

void family(std::string& out, const char* name, const char* type, const char* help) {
  out += "# HELP ";
  out += name;
  out += ' ';
  out += help;
  out += "\n# TYPE ";
  out += name;
  out += ' ';
  out += type;
  out += '\n';
}

void sample(std::string& out, const std::string& name, const std::string& labels, uint64_t v) {
  out += name;
  if (!labels.empty()) {
    out += '{';
    out += labels;
    out += '}';
  }
  out += ' ';
  out += std::to_string(v);
  out += '\n';
}

std::string fmtDouble(double v) {
  char buf[64];
  snprintf(buf, sizeof buf, "%.6f", v);
  return buf;
}

std::string label(const char* k, const std::string& v) {
  return std::string(k) + "=\"" + escapeLabel(v) + "\"";
}

struct RuleTotals {
  uint64_t hits = 0;
  uint64_t bodies_at_risk = 0;
  std::map<int, uint64_t> statuses;  // 0 = other
};

std::map<std::string, RuleTotals> sumRules(const MetricsInput& in, RuleTotals& unmatched) {
  std::map<std::string, RuleTotals> rules;
  if (in.table != nullptr) {
    for (size_t i = 0; i < in.table->size(); ++i) rules[in.table->rule(i).name()];
  }
  for (const WorkerStats* w : in.workers) {
    w->forEachRule([&](const std::string& name, const RuleStats& st) {
      RuleTotals& t = rules[name];
      t.hits += st.hits.load(std::memory_order_relaxed);
      t.bodies_at_risk += st.bodies_at_risk.load(std::memory_order_relaxed);
      st.statuses.forEach([&](int s, uint64_t n) { t.statuses[s] += n; });
    });
    const RuleStats& u = w->unmatched();
    unmatched.hits += u.hits.load(std::memory_order_relaxed);
    u.statuses.forEach([&](int s, uint64_t n) { unmatched.statuses[s] += n; });
  }
  return rules;
}

void renderRequests(std::string& out, const MetricsInput& in) {
  RuleTotals unmatched;
  auto rules = sumRules(in, unmatched);
  family(out, "detour_requests_total", "counter",
         "Requests answered, by matched rule (\"\" = none) and status.");
  auto emit = [&](const std::string& rule, const RuleTotals& t) {
    for (const auto& [st, n] : t.statuses) {
      sample(out, "detour_requests_total",
             label("rule", rule) + "," + label("status", st == 0 ? "other" : std::to_string(st)), n);
    }
  };
  for (const auto& [name, t] : rules) emit(name, t);
  emit("", unmatched);
  family(out, "detour_rule_hits_total", "counter", "Requests each rule matched.");
  for (const auto& [name, t] : rules) sample(out, "detour_rule_hits_total", label("rule", name), t.hits);
  family(out, "detour_bodies_at_risk_total", "counter",
         "Requests with a body-carrying method (POST, PUT, PATCH, DELETE) answered 301 or 302: "
         "bodies a client may have dropped.");
  for (const auto& [name, t] : rules) {
    sample(out, "detour_bodies_at_risk_total", label("rule", name), t.bodies_at_risk);
  }
}

void renderRedirects(std::string& out, const MetricsInput& in) {
  family(out, "detour_redirects_total", "counter", "Redirects answered, by status code.");
  for (int code : {301, 302, 303, 307, 308}) {
    uint64_t n = 0;
    for (const WorkerStats* w : in.workers) n += w->redirects(code);
    sample(out, "detour_redirects_total", label("code", std::to_string(code)), n);
  }
}

void renderLatency(std::string& out, const MetricsInput& in) {
  family(out, "detour_request_duration_seconds", "histogram",
         "Time from a request's first byte to the end of its response.");
  uint64_t cumulative = 0;
  uint64_t count = 0;
  double sum = 0;
  for (size_t i = 0; i < kLatencyBuckets.size(); ++i) {
    for (const WorkerStats* w : in.workers) cumulative += w->latencyBucket(i);
    char le[32];
    snprintf(le, sizeof le, "%g", kLatencyBuckets[i]);
    sample(out, "detour_request_duration_seconds_bucket", label("le", le), cumulative);
  }
  for (const WorkerStats* w : in.workers) {
    count += w->latencyCount();
    sum += w->latencySum();
  }
  sample(out, "detour_request_duration_seconds_bucket", label("le", "+Inf"), count);
  out += "detour_request_duration_seconds_sum " + fmtDouble(sum) + "\n";
  sample(out, "detour_request_duration_seconds_count", "", count);
}

void renderUpstream(std::string& out, const MetricsInput& in) {
  std::map<std::tuple<std::string, std::string, int>, uint64_t> errors;
  for (const WorkerStats* w : in.workers) {
    w->forEachUpstreamError([&](const std::string& pool, const std::string& backend,
                                UpstreamError kind, uint64_t n) {
      errors[{pool, backend, static_cast<int>(kind)}] += n;
    });
  }
  family(out, "detour_upstream_errors_total", "counter",
         "Failed exchanges with backends, by pool, backend and kind.");
  for (const auto& [key, n] : errors) {
    const auto& [pool, backend, kind] = key;
    sample(out, "detour_upstream_errors_total",
           label("pool", pool) + "," + label("backend", backend) + "," +
               label("kind", upstreamErrorName(static_cast<UpstreamError>(kind))), n);
  }
  family(out, "detour_backend_up", "gauge", "1 while the backend is healthy, 0 while down.");
  for (const auto& b : in.backends) {
    sample(out, "detour_backend_up", label("pool", b.pool) + "," + label("backend", b.backend),
           b.up ? 1 : 0);
  }
  family(out, "detour_pool_down", "gauge", "1 while the pool has no healthy backend.");
  for (const auto& [pool, down] : in.pools) sample(out, "detour_pool_down", label("pool", pool), down ? 1 : 0);
  family(out, "detour_backend_state_changes_total", "counter", "Backends going down or up.");
  sample(out, "detour_backend_state_changes_total", "", in.health_transitions);
}

void renderProcess(std::string& out, const MetricsInput& in) {
  family(out, "detour_connections_open", "gauge", "Client connections open now.");
  sample(out, "detour_connections_open", "", in.connections_open);
  family(out, "detour_connections_accepted_total", "counter", "Client connections accepted.");
  sample(out, "detour_connections_accepted_total", "", in.connections_accepted);
  family(out, "detour_received_bytes_total", "counter", "Bytes read from clients.");
  sample(out, "detour_received_bytes_total", "", in.bytes_in);
  family(out, "detour_sent_bytes_total", "counter", "Bytes written to clients.");
  sample(out, "detour_sent_bytes_total", "", in.bytes_out);
  family(out, "detour_bad_requests_total", "counter", "Requests refused as malformed by the parser.");
  sample(out, "detour_bad_requests_total", "", in.parse_errors);
  family(out, "detour_reloads_total", "counter", "Config reloads, by result.");
  sample(out, "detour_reloads_total", label("result", "ok"), in.reloads_ok);
  sample(out, "detour_reloads_total", label("result", "failed"), in.reloads_failed);
  family(out, "detour_config_generation", "gauge", "Generation of the config in force (1 at start).");
  sample(out, "detour_config_generation", "", in.generation);
  family(out, "detour_draining", "gauge", "1 while draining for shutdown.");
  sample(out, "detour_draining", "", in.draining ? 1 : 0);
  family(out, "detour_flag", "gauge", "Runtime flag values (1 = true).");
  for (const auto& f : in.flags) sample(out, "detour_flag", label("flag", f.name), f.value ? 1 : 0);
  family(out, "detour_flag_changes_total", "counter", "Flag changes through the admin API.");
  for (const auto& f : in.flags) sample(out, "detour_flag_changes_total", label("flag", f.name), f.changes);
  family(out, "detour_access_log_dropped_total", "counter",
         "Access log lines dropped because the log queue was full.");
  sample(out, "detour_access_log_dropped_total", "", in.access_log_dropped);
}

}  // namespace

std::string escapeLabel(const std::string& v) {
  std::string out;
  for (char c : v) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '"') {
      out += "\\\"";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
}

std::string renderMetrics(const MetricsInput& in) {
  std::string out;
  out.reserve(8192);
  renderRequests(out, in);
  renderRedirects(out, in);
  renderLatency(out, in);
  renderUpstream(out, in);
  renderProcess(out, in);
  return out;
}

}  // namespace detour
