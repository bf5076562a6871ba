#pragma once

// The schema helpers every config section is read through (style P13). A ConfigMap reads one
// YAML mapping against the keys valid at that place and reports unknown keys (with a
// did-you-mean), duplicate keys and missing required keys; the read*() functions convert one
// value to a typed C++ value and report wrong types and out-of-range values. Every finding goes
// to a ConfigReporter at the 1-based line:column of the offending key or value, and nothing stops
// at the first error.
//
// Only the config loader uses this header (it exposes yaml-cpp types). yaml-cpp exceptions are
// not thrown by anything here: the nodes are already parsed and only inspected.
// Single-threaded: one reporter and its maps belong to one load.

#include <yaml-cpp/yaml.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "config/config.h"
#include "config/config_errors.h"
#include "config/config_syntax.h"

namespace detour {

// The 1-based position of a node (yaml-cpp marks are 0-based). {1, 1} when yaml-cpp has no mark
// (an empty document).
Pos nodePos(const YAML::Node& node);

// Where the findings of one load go: the file name used in messages, the folder relative paths
// are resolved against, and the Diagnostics. Does not own the Diagnostics.
class ConfigReporter {
 public:
  ConfigReporter(std::string file, std::string base_dir, Diagnostics& diags);

  void error(Pos pos, std::string message);
  void warning(Pos pos, std::string message);
  const std::string& file() const { return file_; }
  const std::string& baseDir() const { return base_dir_; }
  size_t errorCount() const { return errors_; }

  // What did not read cleanly, for the checks that go on past reading errors (LoadResult's
  // `partial`): the readers record it as they report.
  struct Incomplete {
    std::vector<size_t> rules;  // indexes into Config::rules of rules with an error of their own
    bool hosts = false;         // server.hosts may be missing names (an error in or around it)
  };
  Incomplete& incomplete() { return incomplete_; }

 private:
  std::string file_;
  std::string base_dir_;
  Diagnostics& diags_;
  size_t errors_ = 0;
  Incomplete incomplete_;
};

// One value of the file together with the words messages use to name it.
struct ConfigValue {
  // YAML::Node's own assignment writes through to the document (`a = b` replaces a's content in
  // the tree); assigning a ConfigValue must only rebind, so it uses Node::reset().
  ConfigValue() = default;
  ConfigValue(YAML::Node node_in, std::string key_in, std::string label_in, Pos pos_in,
              Pos key_pos_in)
      : node(std::move(node_in)),
        key(std::move(key_in)),
        label(std::move(label_in)),
        pos(pos_in),
        key_pos(key_pos_in) {}
  ConfigValue(const ConfigValue&) = default;
  ConfigValue& operator=(const ConfigValue& other) {
    if (this == &other) return *this;
    node.reset(other.node);
    key = other.key;
    label = other.label;
    pos = other.pos;
    key_pos = other.key_pos;
    return *this;
  }

  YAML::Node node;
  std::string key;    // the map key it was found under; empty for list items
  std::string label;  // how messages name it: "'keepalive'" or "each item of 'backends'"
  Pos pos;            // the value's position; the key's position when the value is empty
  Pos key_pos;        // the key's position; the item's position for list items
};

// "; did you mean 'x'?" naming the candidate closest to `word` by edit distance, when one is
// close enough (distance <= 2 and less than the word's length); otherwise "".
std::string didYouMean(std::string_view word, const std::vector<std::string_view>& candidates);
// The candidate didYouMean() would name, or "" when none is close enough.
std::string closestName(std::string_view word, const std::vector<std::string_view>& candidates);

// How a node is named after "got" in a message: "a map", "a list", "nothing", the quoted string
// ("the string '32'") or the plain scalar ("'1.5'").
std::string describeNode(const YAML::Node& node);
// Like describeNode(), but a plain integer is written as it is ("2", not "'2'"); for "(got 2)".
std::string describePlain(const YAML::Node& node);

// A YAML mapping read against the keys valid at one place of the file. Keeps a reference to the
// reporter, which must outlive it.
class ConfigMap {
 public:
  // A key that is not valid here but that users write for a valid one: {"status", "code"} makes
  // "unknown key 'status' in redirect; did you mean 'code'?".
  using Hint = std::pair<std::string_view, std::string_view>;

  // Reads value.node as a map named `section` in messages ("match", "pool 'orders'"). Reports,
  // at once: a value that is not a map (then the ConfigMap is empty), non-scalar keys, duplicate
  // keys (at the later key) and, unless `keys` is empty (any key allowed), keys not in `keys` (at
  // the key, with a did-you-mean from `keys` and `hints`).
  ConfigMap(ConfigReporter& reporter, const ConfigValue& value, std::string section,
            std::vector<std::string_view> keys, std::vector<Hint> hints = {});

  // False when the value was not a map (already reported).
  bool isMap() const { return is_map_; }
  // The map's own position (its first key for block maps, the '{' for flow maps).
  Pos pos() const { return pos_; }
  const std::string& section() const { return section_; }

  // The value under `key` (its first occurrence), or nullopt when absent.
  std::optional<ConfigValue> get(std::string_view key) const;
  bool has(std::string_view key) const { return get(key).has_value(); }
  // Like get(), but reports "missing required key 'KEY' in SECTION" at pos() when absent (not
  // when a misspelt key was already answered with "did you mean 'KEY'?", nor when not a map).
  std::optional<ConfigValue> require(std::string_view key) const;
  // Every distinct key in file order (for maps whose keys are names: pools, flags, headers).
  const std::vector<ConfigValue>& entries() const { return entries_; }
  // True when an unknown key of this map was answered with "did you mean 'key'?".
  bool suggested(std::string_view key) const;

 private:
  void readEntry(const YAML::Node& key, const YAML::Node& value,
                 const std::vector<std::string_view>& keys, const std::vector<Hint>& hints);
  void reportUnknown(const ConfigValue& entry, const std::vector<std::string_view>& keys,
                     const std::vector<Hint>& hints);

  ConfigReporter& reporter_;
  std::string section_;
  Pos pos_;
  bool is_map_ = false;
  std::vector<ConfigValue> entries_;               // known keys, first occurrences
  std::vector<std::pair<std::string, Pos>> seen_;  // every key read, for duplicates
  std::vector<std::string> suggested_;
};

// Typed readers. Each returns nullopt after reporting, at value.pos, a value of the wrong type or
// out of range; messages name the value by value.label.

// Any scalar, as written. Null, lists and maps are errors.
std::optional<std::string> readString(ConfigReporter& r, const ConfigValue& value);
// An unquoted decimal integer in [min, max].
std::optional<int64_t> readInt(ConfigReporter& r, const ConfigValue& value, int64_t min,
                               int64_t max);
// An unquoted YAML boolean (true/false; yaml-cpp also takes yes/no/on/off).
std::optional<bool> readBool(ConfigReporter& r, const ConfigValue& value);
// A duration (parseDuration) greater than zero.
std::optional<Duration> readDuration(ConfigReporter& r, const ConfigValue& value);
// One of `allowed`, with a did-you-mean when close to one.
std::optional<std::string> readEnum(ConfigReporter& r, const ConfigValue& value,
                                    const std::vector<std::string_view>& allowed);
// A list; its items are labelled "each item of 'KEY'". With non_empty, an empty list is an error.
std::optional<std::vector<ConfigValue>> readList(ConfigReporter& r, const ConfigValue& value,
                                                 bool non_empty);

}  // namespace detour
