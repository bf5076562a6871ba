#include "logging/access_record_codec.h"

#include <array>
#include <cstdint>
#include <cstring>
#include <type_traits>

namespace detour {
namespace {

// Fixed part of a record, then the string fields' bytes in kFields order.
struct FixedPart {
  AccessSink* sink;
  int64_t time_rep;  // system_clock ticks
  uint64_t bytes_in;
  uint64_t bytes_out;
  double duration_ms;
  int32_t status;
  uint16_t listener_port;
  std::array<uint32_t, 13> lengths;
};
static_assert(std::is_trivially_copyable_v<FixedPart>);

constexpr std::string_view AccessRecord::*kFields[] = {
    &AccessRecord::client,   &AccessRecord::scheme,     &AccessRecord::host,
    &AccessRecord::method,   &AccessRecord::target,     &AccessRecord::protocol,
    &AccessRecord::rule,     &AccessRecord::location,   &AccessRecord::pool,
    &AccessRecord::upstream, &AccessRecord::request_id, &AccessRecord::user_agent,
    &AccessRecord::referer};
static_assert(std::size(kFields) == std::tuple_size_v<decltype(FixedPart::lengths)>);
// A field added to AccessRecord must be carried here (and formatted in access_log.cc).
static_assert(sizeof(AccessRecord) == sizeof(std::chrono::system_clock::time_point) +
                                          std::size(kFields) * sizeof(std::string_view) +
                                          sizeof(int64_t) /* status, listener_port */ +
                                          3 * sizeof(uint64_t),
              "AccessRecord changed: update kFields / FixedPart in access_record_codec.cc");

}  // namespace

size_t encodedAccessRecordSize(const AccessRecord& rec) {
  size_t n = sizeof(FixedPart);
  for (auto field : kFields) n += (rec.*field).size();
  return n;
}

void encodeAccessRecord(const AccessRecord& rec, AccessSink* sink, std::span<char> out) {
  FixedPart fixed;
  fixed.sink = sink;
  fixed.time_rep = static_cast<int64_t>(rec.time.time_since_epoch().count());
  fixed.bytes_in = rec.bytes_in;
  fixed.bytes_out = rec.bytes_out;
  fixed.duration_ms = rec.duration_ms;
  fixed.status = rec.status;
  fixed.listener_port = rec.listener_port;
  for (size_t i = 0; i < std::size(kFields); ++i) {
    fixed.lengths[i] = static_cast<uint32_t>((rec.*kFields[i]).size());
  }
  char* p = out.data();
  std::memcpy(p, &fixed, sizeof fixed);
  p += sizeof fixed;
  for (auto field : kFields) {
    std::string_view v = rec.*field;
    if (!v.empty()) std::memcpy(p, v.data(), v.size());
    p += v.size();
  }
}

DecodedAccessRecord decodeAccessRecord(std::string_view in) {
  FixedPart fixed;
  std::memcpy(&fixed, in.data(), sizeof fixed);
  DecodedAccessRecord out;
  out.sink = fixed.sink;
  AccessRecord& rec = out.record;
  rec.time = std::chrono::system_clock::time_point(std::chrono::system_clock::duration(fixed.time_rep));
  rec.bytes_in = fixed.bytes_in;
  rec.bytes_out = fixed.bytes_out;
  rec.duration_ms = fixed.duration_ms;
  rec.status = fixed.status;
  rec.listener_port = fixed.listener_port;
  const char* p = in.data() + sizeof fixed;
  for (size_t i = 0; i < std::size(kFields); ++i) {
    rec.*kFields[i] = std::string_view(p, fixed.lengths[i]);
    p += fixed.lengths[i];
  }
  return out;
}

}  // namespace detour
