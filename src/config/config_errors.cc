#include "config/config_errors.h"

#include <algorithm>

namespace detour {

std::string Diagnostic::format() const {
  std::string out = file;
  out += ':';
  out += std::to_string(pos.line);
  out += ':';
  out += std::to_string(pos.col);
  out += severity == Severity::kError ? ": error: " : ": warning: ";
  out += message;
  return out;
}

void Diagnostics::error(const std::string& file, Pos pos, std::string message) {
  items_.push_back({Severity::kError, file, pos, std::move(message)});
}

void Diagnostics::warning(const std::string& file, Pos pos, std::string message) {
  items_.push_back({Severity::kWarning, file, pos, std::move(message)});
}

bool Diagnostics::hasErrors() const { return errorCount() > 0; }

bool Diagnostics::failed(bool strict) const {
  return hasErrors() || (strict && warningCount() > 0);
}

size_t Diagnostics::errorCount() const {
  return static_cast<size_t>(std::count_if(items_.begin(), items_.end(), [](const Diagnostic& d) {
    return d.severity == Severity::kError;
  }));
}

size_t Diagnostics::warningCount() const { return items_.size() - errorCount(); }

void Diagnostics::sortByPosition() {
  std::stable_sort(items_.begin(), items_.end(), [](const Diagnostic& a, const Diagnostic& b) {
    if (a.pos.line != b.pos.line) return a.pos.line < b.pos.line;
    return a.pos.col < b.pos.col;
  });
}

std::string Diagnostics::formatAll() const {
  std::string out;
  for (const auto& d : items_) {
    out += d.format();
    out += '\n';
  }
  return out;
}

}  // namespace detour
