#pragma once

// Every libevent handle has exactly one RAII owner: these aliases. Nothing else calls *_free.

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/listener.h>

#include <memory>

namespace detour {

template <typename T, void (*Free)(T*)>
struct CDeleter {
  void operator()(T* p) const {
    if (p != nullptr) Free(p);
  }
};

using EventBasePtr = std::unique_ptr<event_base, CDeleter<event_base, event_base_free>>;
using BufferEventPtr = std::unique_ptr<bufferevent, CDeleter<bufferevent, bufferevent_free>>;
using ListenerPtr = std::unique_ptr<evconnlistener, CDeleter<evconnlistener, evconnlistener_free>>;
using EventPtr = std::unique_ptr<event, CDeleter<event, event_free>>;
using EvBufferPtr = std::unique_ptr<evbuffer, CDeleter<evbuffer, evbuffer_free>>;

}  // namespace detour
