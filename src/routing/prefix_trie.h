#pragma once

// Internal to src/routing: a byte trie over path prefixes, mapping each prefix to the
// ascending ids of the rules filed under it. Built once, then flattened into arrays so a walk
// touches little memory and allocates nothing.

#include <cstdint>
#include <map>
#include <span>
#include <string_view>
#include <vector>

namespace detour {

class PrefixTrie {
 public:
  // Build phase: files `id` under `prefix`. Ids must be added in ascending order.
  void add(std::string_view prefix, uint32_t id);
  // Ends the build phase; add() must not be called afterwards.
  void finish();
  bool empty() const { return ids_.empty(); }

  // Calls emit(std::span<const uint32_t>) once for every prefix of `path` (shortest first)
  // that has rules, with their ascending ids. The spans stay valid as long as the trie.
  template <typename Emit>
  void walk(std::string_view path, Emit&& emit) const {
    if (nodes_.empty()) return;
    uint32_t node = 0;
    emitIds(node, emit);
    for (char c : path) {
      node = child(node, static_cast<unsigned char>(c));
      if (node == kNone) return;
      emitIds(node, emit);
    }
  }

 private:
  static constexpr uint32_t kNone = UINT32_MAX;
  struct BuildNode {
    std::map<unsigned char, uint32_t> children;
    std::vector<uint32_t> ids;
  };
  struct Node {
    uint32_t first_edge = 0;
    uint32_t edge_count = 0;
    uint32_t ids_offset = 0;
    uint32_t ids_count = 0;
  };
  struct Edge {
    unsigned char byte = 0;
    uint32_t child = 0;
  };

  template <typename Emit>
  void emitIds(uint32_t node, Emit& emit) const {
    const Node& n = nodes_[node];
    if (n.ids_count > 0) emit(std::span<const uint32_t>(ids_.data() + n.ids_offset, n.ids_count));
  }
  // The child of `node` along `byte`, or kNone.
  uint32_t child(uint32_t node, unsigned char byte) const;

  std::vector<BuildNode> build_{1};  // build phase only; node 0 is the root
  std::vector<Node> nodes_;          // same numbering as build_
  std::vector<Edge> edges_;          // each node's edges sorted by byte
  std::vector<uint32_t> ids_;
};

}  // namespace detour
