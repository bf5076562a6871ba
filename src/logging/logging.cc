#include "logging/logging.h"

#include <spdlog/sinks/stdout_sinks.h>

namespace detour {

void setupLogging(const std::string& level) {
  static std::shared_ptr<spdlog::logger> logger = [] {
    auto l = std::make_shared<spdlog::logger>(
        "detour", std::make_shared<spdlog::sinks::stderr_sink_mt>());
    l->set_pattern("%Y-%m-%dT%H:%M:%S.%eZ %l %v", spdlog::pattern_time_type::utc);
    l->flush_on(spdlog::level::info);
    spdlog::set_default_logger(l);
    return l;
  }();
  spdlog::level::level_enum lv = spdlog::level::from_str(level);
  if (level == "warn") lv = spdlog::level::warn;
  if (lv == spdlog::level::off) lv = spdlog::level::info;
  logger->set_level(lv);
}

}  // namespace detour
