#include "http/message.h"

#include "common/string_util.h"

namespace detour {

std::string_view MessageHead::find(std::string_view name) const {
  for (const auto& h : headers) {
    if (equalsIgnoreCase(h.name, name)) return h.value;
  }
  return {};
}

bool MessageHead::connectionHas(std::string_view token) const {
  for (const auto& h : headers) {
    if (!equalsIgnoreCase(h.name, "connection")) continue;
    std::string_view v = h.value;
    while (!v.empty()) {
      size_t comma = v.find(',');
      std::string_view item = trimOws(v.substr(0, comma));
      if (equalsIgnoreCase(item, token)) return true;
      if (comma == std::string_view::npos) break;
      v.remove_prefix(comma + 1);
    }
  }
  return false;
}

}  // namespace detour
