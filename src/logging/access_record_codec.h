#pragma once

// How an AccessRecord crosses from a worker to the access-log writer: its numbers and a copy of
// every string field, packed into one ring record (no allocation, a few memcpys). The writer
// decodes it into an AccessRecord whose views point into the ring and formats the line there.

#include <cstddef>
#include <span>
#include <string_view>

#include "logging/access_log.h"

namespace detour {

class AccessSink;

// Bytes encodeAccessRecord() writes for `rec`.
size_t encodedAccessRecordSize(const AccessRecord& rec);
// Writes `rec`, tagged with `sink`, into `out` (exactly encodedAccessRecordSize(rec) bytes).
void encodeAccessRecord(const AccessRecord& rec, AccessSink* sink, std::span<char> out);

struct DecodedAccessRecord {
  AccessSink* sink = nullptr;
  AccessRecord record;  // views into the encoded bytes
};
// Reads what encodeAccessRecord() wrote. `in` must stay alive while the views are used.
DecodedAccessRecord decodeAccessRecord(std::string_view in);

}  // namespace detour
