// Placeholder until the loader lands.
#include "config/config_loader.h"

namespace detour {

LoadResult loadConfigString(std::string_view, const std::string& file, const std::string&) {
  LoadResult r;
  r.diagnostics.error(file, {1, 1}, "config loader not implemented yet");
  return r;
}

LoadResult loadConfigFile(const std::string& path) { return loadConfigString("", path, "."); }

std::optional<Duration> parseDuration(std::string_view) { return std::nullopt; }
std::optional<EpochMillis> parseRfc3339(std::string_view) { return std::nullopt; }

}  // namespace detour
