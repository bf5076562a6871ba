#include "server/event_loop.h"

#include <algorithm>

#include "server/socket_io.h"

#include <sys/eventfd.h>
#include <unistd.h>

#include <cstdint>
#include <stdexcept>

namespace detour {
namespace {

event_base* newBase() {
  event_config* cfg = event_config_new();
  // One loop per thread: no locking inside libevent for this base.
  event_config_set_flag(cfg, EVENT_BASE_FLAG_NOLOCK);
  event_base* base = event_base_new_with_config(cfg);
  event_config_free(cfg);
  if (base == nullptr) throw std::runtime_error("event_base_new failed");
  return base;
}

}  // namespace

EventLoop::EventLoop() : base_(newBase()) {
  // Cross-thread wake-ups go through an eventfd: the base itself is lock-free (NOLOCK), so no
  // other thread may touch its events.
  wake_fd_ = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (wake_fd_ < 0) throw std::runtime_error("eventfd failed");
  wake_.reset(event_new(base_.get(), wake_fd_, EV_READ | EV_PERSIST, &EventLoop::onWake, this));
  drain_deletes_.reset(event_new(base_.get(), -1, 0, &EventLoop::onDrainDeletes, this));
  event_add(wake_.get(), nullptr);
  flush_queue_ = std::make_unique<FlushQueue>(base_.get());
}

int64_t EventLoop::cachedTimeUs() const {
  timeval tv{};
  event_base_gettimeofday_cached(base_.get(), &tv);
  return int64_t{tv.tv_sec} * 1000000 + tv.tv_usec;
}

EventLoop::~EventLoop() {
  for (Posted* p = posted_.exchange(nullptr); p != nullptr;) {  // never run
    Posted* next = p->next;
    delete p;
    p = next;
  }
  while (!to_delete_.empty()) {  // a destructor may defer more
    deleting_.swap(to_delete_);
    deleting_.clear();
  }
  flush_queue_.reset();
  wake_.reset();
  drain_deletes_.reset();
  close(wake_fd_);
}

// One poll and its callbacks per event_base_loop call (sometimes a few polls), so that
// iteration() changes only across a poll.
void EventLoop::run() {
  for (;;) {
    ++iteration_;
    if (event_base_loop(base_.get(), EVLOOP_ONCE) != 0) return;  // no events left, or error
    if (event_base_got_break(base_.get()) || event_base_got_exit(base_.get())) return;
  }
}

void EventLoop::stop() {
  post([this] { event_base_loopbreak(base_.get()); });
}

// The loop takes the whole list at once (runPosted), so a node is never popped alone and the
// compare-and-swap cannot suffer ABA. wake_pending_ and the list are seq_cst: a poster that
// sees a wake-up pending is sure the loop clears the flag, and so takes the list, after its
// push.
void EventLoop::post(std::function<void()> fn) {
  auto* p = new Posted{std::move(fn), posted_.load(std::memory_order_relaxed)};
  while (!posted_.compare_exchange_weak(p->next, p, std::memory_order_seq_cst,
                                        std::memory_order_relaxed)) {
  }
  if (wake_pending_.exchange(true, std::memory_order_seq_cst)) return;
  uint64_t one = 1;
  ssize_t n = write(wake_fd_, &one, sizeof one);
  (void)n;  // EAGAIN means the counter is full: a wake-up is pending anyway
}

void EventLoop::onWake(evutil_socket_t fd, short, void* ctx) {
  uint64_t count;
  ssize_t n = read(fd, &count, sizeof count);
  (void)n;
  static_cast<EventLoop*>(ctx)->runPosted();
}

void EventLoop::runPosted() {
  wake_pending_.store(false, std::memory_order_seq_cst);
  Posted* p = posted_.exchange(nullptr, std::memory_order_seq_cst);
  Posted* fifo = nullptr;  // reverse: oldest first
  while (p != nullptr) {
    Posted* next = p->next;
    p->next = fifo;
    fifo = p;
    p = next;
  }
  while (fifo != nullptr) {
    std::unique_ptr<Posted> node(fifo);
    fifo = fifo->next;
    node->fn();
  }
}

void EventLoop::deferredDelete(std::unique_ptr<Deletable> obj) {
  to_delete_.push_back(std::move(obj));
  if (to_delete_.size() == 1) event_active(drain_deletes_.get(), EV_TIMEOUT, 0);
}

void EventLoop::onDrainDeletes(evutil_socket_t, short, void* ctx) {
  auto* loop = static_cast<EventLoop*>(ctx);
  // Two vectors that trade places keep their capacity: a busy iteration defers a dozen or
  // more objects (every finished forward), and a fresh vector would grow for them each time.
  // Destructors that defer more put them into to_delete_, the emptied spare, for the next run.
  loop->deleting_.swap(loop->to_delete_);
  loop->deleting_.clear();
}

FlushQueue::FlushQueue(event_base* base)
    : event_(event_new(base, -1, 0, &FlushQueue::onFlushCb, this)) {}

void FlushQueue::add(SocketIo* socket) {
  pending_.push_back(socket);
  if (pending_.size() == 1) event_active(event_.get(), EV_TIMEOUT, 1);
}

void FlushQueue::remove(SocketIo* socket) {
  auto it = std::find(pending_.begin(), pending_.end(), socket);
  if (it != pending_.end()) pending_.erase(it);
}

void FlushQueue::onFlushCb(evutil_socket_t, short, void* ctx) {
  auto* q = static_cast<FlushQueue*>(ctx);
  // One at a time, popped before it runs: a flush may detach (and so remove) another socket,
  // and may schedule more, which then run in this same pass.
  while (!q->pending_.empty()) {
    SocketIo* s = q->pending_.back();
    q->pending_.pop_back();
    s->runScheduledFlush();
  }
}

}  // namespace detour
