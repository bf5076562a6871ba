#include "routing/prefix_trie.h"

#include <algorithm>

namespace detour {

void PrefixTrie::add(std::string_view prefix, uint32_t id) {
  uint32_t node = 0;
  for (char c : prefix) {
    auto byte = static_cast<unsigned char>(c);
    auto it = build_[node].children.find(byte);
    if (it == build_[node].children.end()) {
      auto next = static_cast<uint32_t>(build_.size());
      build_[node].children.emplace(byte, next);
      build_.emplace_back();
      node = next;
    } else {
      node = it->second;
    }
  }
  std::vector<uint32_t>& ids = build_[node].ids;
  if (ids.empty() || ids.back() != id) ids.push_back(id);
}

void PrefixTrie::finish() {
  nodes_.assign(build_.size(), Node{});
  for (size_t i = 0; i < build_.size(); ++i) {
    Node& n = nodes_[i];
    n.first_edge = static_cast<uint32_t>(edges_.size());
    n.edge_count = static_cast<uint32_t>(build_[i].children.size());
    for (const auto& [byte, next] : build_[i].children) edges_.push_back({byte, next});
    n.ids_offset = static_cast<uint32_t>(ids_.size());
    n.ids_count = static_cast<uint32_t>(build_[i].ids.size());
    ids_.insert(ids_.end(), build_[i].ids.begin(), build_[i].ids.end());
  }
  build_.clear();
  build_.shrink_to_fit();
  if (ids_.empty()) nodes_.clear();
}

uint32_t PrefixTrie::child(uint32_t node, unsigned char byte) const {
  const Node& n = nodes_[node];
  const Edge* begin = edges_.data() + n.first_edge;
  const Edge* end = begin + n.edge_count;
  const Edge* it =
      std::lower_bound(begin, end, byte, [](const Edge& e, unsigned char b) { return e.byte < b; });
  return (it != end && it->byte == byte) ? it->child : kNone;
}

}  // namespace detour
