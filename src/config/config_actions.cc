// Readers for a rule's action: `redirect:`, `forward:` and `respond:`. Redirect templates are
// only checked for shape here; their variables are checked by the rule compiler in routing/.

#include <limits>
#include <span>

#include "common/string_util.h"
#include "config/config_sections.h"
#include "config/config_syntax.h"

namespace detour {

namespace {

constexpr int64_t kInt64Min = std::numeric_limits<int64_t>::min();
constexpr int64_t kInt64Max = std::numeric_limits<int64_t>::max();

using HeaderList = std::vector<std::pair<std::string, std::string>>;

using ReservedHeaders = std::span<const std::pair<std::string_view, std::string_view>>;

// Headers `respond` may not set, with the reason.
const std::pair<std::string_view, std::string_view> kReservedRespondHeaders[] = {
    {"Content-Length", "detour computes it from 'body'"},
    {"Transfer-Encoding", "detour sends 'body' with a Content-Length"},
    {"Connection", "detour manages the connection itself"},
};

// Headers `forward.set_headers` may not set, with the reason: they frame the message or
// describe one connection, so a fixed value would make the backend read the body (and so the
// next request) differently from detour, which is request smuggling. Host may be set.
constexpr std::string_view kFramingReason =
    "it frames the request body; detour passes the client's framing on unchanged (a fixed "
    "value would let the backend read the next request differently: request smuggling); remove it";
constexpr std::string_view kHopReason =
    "it describes the connection to the backend, which detour manages itself (hop-by-hop, "
    "RFC 9110 section 7.6.1); remove it";
const std::pair<std::string_view, std::string_view> kReservedForwardHeaders[] = {
    {"Content-Length", kFramingReason},
    {"Transfer-Encoding", kFramingReason},
    {"Trailer", kFramingReason},
    {"Connection", kHopReason},
    {"Keep-Alive", kHopReason},
    {"Proxy-Connection", kHopReason},
    {"TE", kHopReason},
    {"Upgrade", kHopReason},
};

std::optional<std::string> readHeaderValue(ConfigReporter& r, const ConfigValue& entry) {
  auto value = readString(r, entry);
  if (value && hasCrLfNul(*value)) {
    r.error(entry.pos,
            "value of header " + quoteText(entry.key) + " must not contain CR, LF or NUL");
    return std::nullopt;
  }
  return value;
}

// A map of header name -> value; the names in `reserved` are refused with their reason. Names
// are compared case-insensitively, for duplicates too.
HeaderList readHeaderMap(ConfigReporter& r, const ConfigValue& value, const std::string& section,
                         ReservedHeaders reserved) {
  HeaderList out;
  std::vector<Pos> positions;
  ConfigMap map(r, value, section, {});
  for (const auto& entry : map.entries()) {
    if (!isHttpToken(entry.key)) {
      r.error(entry.key_pos, "header name " + quoteText(entry.key) +
                                 " is not valid: use letters, digits and '-', like X-Served-By");
      continue;
    }
    for (const auto& [name, why] : reserved) {
      if (equalsIgnoreCase(name, entry.key)) {
        r.error(entry.key_pos, "header " + quoteText(entry.key) + " cannot be set in " + section +
                                   ": " + std::string(why));
      }
    }
    for (size_t i = 0; i < out.size(); ++i) {
      if (equalsIgnoreCase(out[i].first, entry.key)) {
        r.error(entry.key_pos, "header " + quoteText(entry.key) + " is already set at line " +
                                   std::to_string(positions[i].line) + ": keep one");
      }
    }
    if (auto v = readHeaderValue(r, entry)) {
      out.emplace_back(entry.key, *v);
      positions.push_back(entry.key_pos);
    }
  }
  return out;
}

void readRedirectCode(ConfigReporter& r, const ConfigValue& value, RedirectAction& redirect) {
  redirect.code_pos = value.pos;
  auto code = readInt(r, value, kInt64Min, kInt64Max);
  if (!code) return;
  if (*code != 301 && *code != 302 && *code != 303 && *code != 307 && *code != 308) {
    r.error(value.pos,
            "'code' must be one of 301, 302, 303, 307, 308 (got " + std::to_string(*code) + ")");
    return;
  }
  redirect.code = static_cast<int>(*code);
}

void readRedirectTarget(ConfigReporter& r, const ConfigValue& value, RedirectAction& redirect) {
  redirect.to_pos = value.pos;
  auto to = readString(r, value);
  if (!to) return;
  std::string problem = redirectTargetProblem(*to);
  if (!problem.empty()) {
    r.error(value.pos, std::move(problem));
    return;
  }
  redirect.to = *to;
}

void readCacheControl(ConfigReporter& r, const ConfigValue& value, RedirectAction& redirect) {
  auto text = readString(r, value);
  if (text && hasCrLfNul(*text)) {
    r.error(value.pos, "'cache_control' must not contain CR, LF or NUL");
  } else if (text) {
    redirect.cache_control = *text;
  }
}

}  // namespace

std::optional<RedirectAction> readRedirect(ConfigReporter& r, const ConfigValue& value) {
  ConfigMap map(r, value, "redirect", {"to", "code", "keep_query", "retry_after", "cache_control"},
                {{"location", "to"}, {"url", "to"}, {"target", "to"}, {"status", "code"}});
  if (!map.isMap()) return std::nullopt;
  RedirectAction redirect;
  redirect.to_pos = map.pos();
  redirect.code_pos = map.pos();
  if (auto v = map.require("to")) readRedirectTarget(r, *v, redirect);
  if (auto v = map.get("code")) readRedirectCode(r, *v, redirect);
  if (auto v = map.get("keep_query")) redirect.keep_query = readBool(r, *v).value_or(true);
  if (auto v = map.get("retry_after")) {
    auto seconds = readInt(r, *v, 0, std::numeric_limits<uint32_t>::max());
    if (seconds) redirect.retry_after = static_cast<uint32_t>(*seconds);
  }
  if (auto v = map.get("cache_control")) readCacheControl(r, *v, redirect);
  return redirect;
}

std::optional<ForwardAction> readForward(ConfigReporter& r, const ConfigValue& value,
                                         const Config& config) {
  ConfigMap map(r, value, "forward", {"pool", "strip_prefix", "set_headers"},
                {{"upstream", "pool"}, {"backend", "pool"}, {"headers", "set_headers"}});
  if (!map.isMap()) return std::nullopt;
  ForwardAction forward;
  forward.pool_pos = map.pos();
  if (auto v = map.require("pool")) {
    forward.pool_pos = v->pos;
    forward.pool = readString(r, *v).value_or("");
    if (!forward.pool.empty() && config.findPool(forward.pool) == nullptr) {
      std::vector<std::string_view> names;
      for (const auto& pool : config.pools) names.push_back(pool.name);
      r.error(v->pos, unknownNameMessage("pool", forward.pool, names));
    }
  }
  if (auto v = map.get("strip_prefix")) {
    auto prefix = readString(r, *v);
    std::string problem = prefix ? pathProblem(v->label, *prefix) : "";
    if (!problem.empty()) r.error(v->pos, std::move(problem));
    if (prefix && problem.empty()) forward.strip_prefix = *prefix;
  }
  if (auto v = map.get("set_headers")) {
    forward.set_headers = readHeaderMap(r, *v, "set_headers", kReservedForwardHeaders);
  }
  return forward;
}

std::optional<RespondAction> readRespond(ConfigReporter& r, const ConfigValue& value) {
  ConfigMap map(r, value, "respond", {"status", "body", "headers"},
                {{"code", "status"}, {"content", "body"}, {"set_headers", "headers"}});
  if (!map.isMap()) return std::nullopt;
  RespondAction respond;
  respond.status_pos = map.pos();
  if (auto v = map.get("status")) {
    respond.status_pos = v->pos;
    respond.status = static_cast<int>(readInt(r, *v, 200, 599).value_or(200));
  }
  if (auto v = map.get("body")) respond.body = readString(r, *v).value_or("");
  if (auto v = map.get("headers")) {
    respond.headers = readHeaderMap(r, *v, "respond headers", kReservedRespondHeaders);
  }
  return respond;
}

}  // namespace detour
