#pragma once

// Process-wide logging setup on spdlog. The application log ("detour") goes to stderr; the
// access log is separate (access_log.h).

#include <string>

#include <spdlog/spdlog.h>

namespace detour {

// Installs the default logger (stderr, ISO timestamps). `level` is trace|debug|info|warn|error;
// an unknown value means info. Main thread, before workers start; safe to call again on reload.
void setupLogging(const std::string& level);

// The application logger. Thread-safe.
inline spdlog::logger& log() { return *spdlog::default_logger_raw(); }

}  // namespace detour
