#pragma once

// PublishedList: an append-only list with one writer thread and any number of reader threads,
// without a lock. The writer builds a node and links it at the head with a release store;
// readers walk from an acquire load and see every node linked before it, fully built. Nodes
// are never removed; they are freed with the list (when no reader is left).

#include <atomic>
#include <utility>

namespace detour {

template <typename T>
class PublishedList {
 public:
  PublishedList() = default;
  PublishedList(const PublishedList&) = delete;
  PublishedList& operator=(const PublishedList&) = delete;
  ~PublishedList() {
    Node* n = head_.load(std::memory_order_relaxed);
    while (n != nullptr) {
      Node* next = n->next;
      delete n;
      n = next;
    }
  }

  // Adds a T built from `args` and returns it. Writer thread only.
  template <typename... Args>
  T& emplace(Args&&... args) {
    Node* n = new Node(head_.load(std::memory_order_relaxed), std::forward<Args>(args)...);
    head_.store(n, std::memory_order_release);
    return n->value;
  }

  // fn(const T&) for every element, newest first. Any thread.
  template <typename Fn>
  void forEach(Fn fn) const {
    for (const Node* n = head_.load(std::memory_order_acquire); n != nullptr; n = n->next) fn(n->value);
  }

 private:
  struct Node {
    template <typename... Args>
    explicit Node(Node* n, Args&&... args) : next(n), value(std::forward<Args>(args)...) {}
    Node* next;
    T value;
  };
  std::atomic<Node*> head_{nullptr};
};

}  // namespace detour
