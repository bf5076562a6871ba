#pragma once

#include <string>
#include <vector>

#include "config/config.h"

namespace detour {

enum class Severity { kError, kWarning };

// One finding about a config file, printed as "FILE:LINE:COL: error: MESSAGE".
// The message says what is wrong and, where there is one, the fix.
struct Diagnostic {
  Severity severity = Severity::kError;
  std::string file;
  Pos pos;
  std::string message;

  std::string format() const;
};

// An ordered list of findings. Loading and validation append; nothing stops at the first error.
class Diagnostics {
 public:
  void error(const std::string& file, Pos pos, std::string message);
  void warning(const std::string& file, Pos pos, std::string message);

  const std::vector<Diagnostic>& all() const { return items_; }
  bool hasErrors() const;
  // With strict, warnings count as errors.
  bool failed(bool strict) const;
  size_t errorCount() const;
  size_t warningCount() const;
  // Sorts by (line, col) keeping insertion order for ties; used before printing.
  void sortByPosition();
  // All items, formatted, one a line.
  std::string formatAll() const;

 private:
  std::vector<Diagnostic> items_;
};

}  // namespace detour
