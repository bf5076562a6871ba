// Redirect target templates: compile-time parsing (with the config errors of contract §3) and
// request-time expansion that can never emit CR, LF, NUL or other bytes outside a URI.

#include <re2/re2.h>

#include <algorithm>
#include <array>
#include <string>

#include "common/string_util.h"
#include "routing/rule_table.h"

namespace detour {
namespace {

using Kind = Template::Segment::Kind;

// RFC 3986 leaves these bytes out of a URI; everything else that is visible ASCII is kept as
// is. '%' is decided by what follows it (appendUriSafe): values are never decoded, valid
// escapes never double-encoded.
constexpr std::array<bool, 256> makeUnsafeTable() {
  std::array<bool, 256> t{};
  for (int c = 0; c < 256; ++c) t[c] = c <= 0x20 || c >= 0x7F;
  for (unsigned char c : {'"', '<', '>', '\\', '^', '`', '{', '|', '}'}) t[c] = true;
  return t;
}
constexpr std::array<bool, 256> kUnsafe = makeUnsafeTable();
constexpr char kHex[] = "0123456789ABCDEF";

bool isHex(char c) {
  return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'F') || (c >= 'a' && c <= 'f');
}

// The scheme and the authority ("//host") of a Location come only from the template's text
// before its first request value; a value could otherwise turn the redirect towards a site
// of the client's choosing. `loc_start` is where the Location begins in `out`, and its first
// `trusted` bytes came from the template text (and {scheme}) alone.
//
// - A ':' in the first path segment of a relative Location would name a scheme ("{1}" with
//   "https://evil.com"): a value's is encoded %3A (RFC 3986 §4.2).
// - A relative Location starting "//" is protocol-relative: "/{path_suffix}" with "/evil.com"
//   sends the browser to evil.com. The second slash is encoded %2F when a value put it
//   there, so the path stays the same path: "/%2Fevil.com".
// - After a literal scheme ("https:{path}"), a value's slashes where the "//" belongs are
//   encoded the same way.
// '\' (which browsers read as '/') is always encoded already.
void guardAuthority(std::string& out, size_t loc_start, size_t trusted) {
  std::string_view loc(out.data() + loc_start, out.size() - loc_start);
  size_t segment_end = std::min(loc.find_first_of("/?#"), loc.size());
  size_t colon = loc.substr(0, segment_end).find(':');
  size_t hier = 0;  // where what follows the scheme begins
  if (colon != std::string_view::npos && colon < trusted) {
    hier = colon + 1;
  } else if (colon != std::string_view::npos) {
    for (size_t i = segment_end; i-- > colon;) {
      if (out[loc_start + i] == ':') out.replace(loc_start + i, 1, "%3A");
    }
    return;  // the Location now starts with a path segment, never with '/'
  }
  loc = std::string_view(out.data() + loc_start, out.size() - loc_start);
  size_t first = hier;
  if (hier == 0) {
    if (loc.empty() || loc[0] != '/') return;
    first = 1;  // a relative Location's first slash is just an absolute path
  }
  for (size_t i = first; i < hier + 2 && i < loc.size() && loc[i] == '/'; ++i) {
    if (i >= trusted) {
      out.replace(loc_start + i, 1, "%2F");
      return;
    }
  }
}

struct NamedVariable {
  std::string_view name;
  Kind kind;
};
constexpr std::array<NamedVariable, 7> kVariables = {{
    {"scheme", Kind::kScheme},
    {"host", Kind::kHost},
    {"port", Kind::kPort},
    {"path", Kind::kPath},
    {"query", Kind::kQuery},
    {"uri", Kind::kUri},
    {"path_suffix", Kind::kPathSuffix},
}};

bool allDigits(std::string_view s) {
  for (char c : s) {
    if (c < '0' || c > '9') return false;
  }
  return !s.empty();
}

// "(variables: {scheme} {host} ... {1} {2} {id})" for the rule at hand.
std::string variableList(const Template::Context& ctx) {
  std::string out = "(variables:";
  for (const auto& v : kVariables) {
    if (v.kind == Kind::kPathSuffix && !ctx.has_path_prefix) continue;
    out += " {" + std::string(v.name) + "}";
  }
  if (ctx.regex != nullptr) {
    int groups = std::min(ctx.regex->NumberOfCapturingGroups(), MatchCaptures::kMaxGroups - 1);
    for (int g = 1; g <= groups; ++g) out += " {" + std::to_string(g) + "}";
    for (const auto& [name, index] : ctx.regex->NamedCapturingGroups()) {
      if (index < MatchCaptures::kMaxGroups) out += " {" + name + "}";
    }
  }
  out += ")";
  return out;
}

// The closest known variable name within two edits, or empty.
std::string suggestVariable(std::string_view name, const Template::Context& ctx) {
  std::string best;
  size_t best_distance = 3;
  auto consider = [&](std::string_view candidate) {
    size_t d = editDistance(name, candidate);
    if (d < best_distance && d < candidate.size()) {
      best_distance = d;
      best = candidate;
    }
  };
  for (const auto& v : kVariables) consider(v.name);
  if (ctx.regex != nullptr) {
    for (const auto& entry : ctx.regex->NamedCapturingGroups()) consider(entry.first);
  }
  return best;
}

std::string quoted(std::string_view name) { return "'{" + std::string(name) + "}'"; }

class TemplateParser {
 public:
  TemplateParser(std::string_view text, const Template::Context& ctx) : text_(text), ctx_(ctx) {}

  // Splits text_ into segments; false with *error set on the first problem.
  bool parse(std::vector<Template::Segment>& segments, std::string* error);
  bool placesQuery() const { return places_query_; }
  bool usesGroups() const { return uses_groups_; }
  bool usesHost() const { return uses_host_; }
  int maxGroup() const { return max_group_; }

 private:
  bool addVariable(std::string_view name, std::vector<Template::Segment>& segments,
                   std::string* error);
  bool addGroup(std::string_view name, int group, std::vector<Template::Segment>& segments,
                std::string* error);
  std::string in() const { return " in '" + std::string(ctx_.key) + "'"; }

  std::string_view text_;
  const Template::Context& ctx_;
  bool places_query_ = false;
  bool uses_groups_ = false;
  bool uses_host_ = false;
  int max_group_ = 0;
};

void flushLiteral(std::string& literal, std::vector<Template::Segment>& segments) {
  if (literal.empty()) return;
  Template::Segment seg;
  seg.kind = Kind::kLiteral;
  appendUriSafe(seg.literal, literal);
  segments.push_back(std::move(seg));
  literal.clear();
}

bool TemplateParser::parse(std::vector<Template::Segment>& segments, std::string* error) {
  std::string literal;
  for (size_t i = 0; i < text_.size(); ++i) {
    char c = text_[i];
    if (c == '}') {
      *error = "unbalanced '}'" + in() + " at offset " + std::to_string(i) +
               "; variables are written '{name}'";
      return false;
    }
    if (c != '{') {
      if (c == '?') places_query_ = true;
      literal += c;
      continue;
    }
    size_t close = text_.find_first_of("{}", i + 1);
    if (close == std::string_view::npos || text_[close] == '{') {
      *error = "unbalanced '{'" + in() + " at offset " + std::to_string(i) +
               "; variables are written '{name}'";
      return false;
    }
    flushLiteral(literal, segments);
    if (!addVariable(text_.substr(i + 1, close - i - 1), segments, error)) return false;
    i = close;
  }
  flushLiteral(literal, segments);
  return true;
}

bool TemplateParser::addVariable(std::string_view name, std::vector<Template::Segment>& segments,
                                 std::string* error) {
  if (name.empty()) {
    *error = "empty variable '{}'" + in() + " " + variableList(ctx_);
    return false;
  }
  if (allDigits(name)) {
    int group = name.size() > 3 ? 1000 : static_cast<int>(*parseDecimal(name));
    return addGroup(name, group, segments, error);
  }
  for (const auto& v : kVariables) {
    if (v.name != name) continue;
    if (v.kind == Kind::kPathSuffix && !ctx_.has_path_prefix) {
      *error = "'{path_suffix}'" + in() + " needs a 'path_prefix' in the rule's match";
      return false;
    }
    if (v.kind == Kind::kQuery || v.kind == Kind::kUri) places_query_ = true;
    if (v.kind == Kind::kHost) uses_host_ = true;
    segments.push_back({v.kind, {}, 0});
    return true;
  }
  if (ctx_.regex != nullptr) {
    const auto& named = ctx_.regex->NamedCapturingGroups();
    auto it = named.find(std::string(name));
    if (it != named.end()) return addGroup(name, it->second, segments, error);
  }
  *error = "unknown variable " + quoted(name) + in();
  std::string suggestion = suggestVariable(name, ctx_);
  if (!suggestion.empty()) *error += "; did you mean " + quoted(suggestion) + "?";
  *error += " " + variableList(ctx_);
  return false;
}

bool TemplateParser::addGroup(std::string_view name, int group,
                              std::vector<Template::Segment>& segments, std::string* error) {
  if (group >= MatchCaptures::kMaxGroups) {
    *error = quoted(name) + in() + " refers to capture group " + std::to_string(group) +
             "; at most " + std::to_string(MatchCaptures::kMaxGroups - 1) +
             " capture groups can be used";
    return false;
  }
  if (ctx_.regex == nullptr) {
    *error = quoted(name) + in() + " needs a 'path_regex' in the rule's match";
    return false;
  }
  int available = ctx_.regex->NumberOfCapturingGroups();
  if (group > available) {
    *error = quoted(name) + in() + ": the path_regex has only " + std::to_string(available) +
             " capture group" + (available == 1 ? "" : "s");
    return false;
  }
  uses_groups_ = true;
  max_group_ = std::max(max_group_, group);
  segments.push_back({Kind::kGroup, {}, group});
  return true;
}

}  // namespace

void appendUriSafe(std::string& out, std::string_view value) {
  size_t start = 0;
  for (size_t i = 0; i < value.size(); ++i) {
    auto b = static_cast<unsigned char>(value[i]);
    if (!kUnsafe[b]) {
      // A '%' that starts no escape would make the Location an invalid URI whose reading is
      // up to each client ("%zz", a trailing "%0"): it stands for itself, %25.
      if (b != '%' || (i + 2 < value.size() && isHex(value[i + 1]) && isHex(value[i + 2])))
        continue;
    }
    out.append(value.data() + start, i - start);
    out += '%';
    out += kHex[b >> 4];
    out += kHex[b & 0xF];
    start = i + 1;
  }
  out.append(value.data() + start, value.size() - start);
}

std::optional<Template> Template::compile(std::string_view text, const Context& ctx,
                                          std::string* error) {
  TemplateParser parser(text, ctx);
  Template t;
  if (!parser.parse(t.segments_, error)) return std::nullopt;
  // "https:/{1}" or "http:evil.com": browsers read what follows the scheme as the host
  // (WHATWG URL), so a request value would pick the site. An absolute target spells '//'.
  for (std::string_view scheme : {"http:", "https:", "{scheme}:"}) {
    if (text.size() < scheme.size() || !equalsIgnoreCase(text.substr(0, scheme.size()), scheme))
      continue;
    if (text.substr(scheme.size(), 2) != "//") {
      *error = "'" + std::string(text) + "' in '" + std::string(ctx.key) +
               "' names a scheme without '//' after it, and browsers read what follows as the "
               "host: write '" + std::string(scheme) + "//host/path', or a path starting with '/'";
      return std::nullopt;
    }
  }
  t.text_ = std::string(text);
  t.places_query_ = parser.placesQuery();
  t.uses_groups_ = parser.usesGroups();
  t.uses_host_ = parser.usesHost();
  t.max_group_ = parser.maxGroup();
  return t;
}

void Template::expand(const RequestView& req, const MatchCaptures& caps, std::string& out) const {
  const size_t loc_start = out.size();
  size_t trusted = std::string::npos;  // Location bytes before the first request value
  for (const Segment& seg : segments_) {
    if (seg.kind != Kind::kLiteral && seg.kind != Kind::kScheme && trusted == std::string::npos)
      trusted = out.size() - loc_start;
    switch (seg.kind) {
      case Kind::kLiteral:
        out += seg.literal;
        break;
      case Kind::kScheme:
        out += req.scheme == Scheme::kHttps ? "https" : "http";
        break;
      case Kind::kHost:
        appendUriSafe(out, req.host);
        break;
      case Kind::kPort:
        appendUriSafe(out, req.port);
        break;
      case Kind::kPath:
        appendUriSafe(out, req.path);
        break;
      case Kind::kQuery:
        appendUriSafe(out, req.query);
        break;
      case Kind::kUri:
        appendUriSafe(out, req.path);
        appendUriSafe(out, req.query);
        break;
      case Kind::kPathSuffix:
        appendUriSafe(out, caps.path_suffix);
        break;
      case Kind::kGroup:
        if (seg.group < caps.group_count) appendUriSafe(out, caps.groups[seg.group]);
        break;
    }
  }
  if (trusted != std::string::npos) guardAuthority(out, loc_start, trusted);
}

}  // namespace detour
