#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace detour {

// ASCII lower-casing; bytes >= 0x80 are left alone. Pure, thread-safe.
inline char asciiLower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c + 32) : c; }
void asciiLowerInPlace(std::string& s);
std::string asciiLowerCopy(std::string_view s);

// True when a and b are equal ignoring ASCII case.
bool equalsIgnoreCase(std::string_view a, std::string_view b);
bool startsWith(std::string_view s, std::string_view prefix);
bool endsWith(std::string_view s, std::string_view suffix);

// Strips leading and trailing spaces and tabs (HTTP optional whitespace).
std::string_view trimOws(std::string_view s);

// Parses a non-negative decimal integer that must be all digits and fit in uint64_t.
// Returns nullopt on empty input, any non-digit, or overflow.
std::optional<uint64_t> parseDecimal(std::string_view s);

// Edit distance (Levenshtein) between two short strings; used for did-you-mean suggestions.
size_t editDistance(std::string_view a, std::string_view b);

// Appends s to out, escaped for a JSON string body (no surrounding quotes). Bytes >= 0x80 are
// copied as they are when they form valid UTF-8, otherwise escaped as \u00XX.
void appendJsonEscaped(std::string& out, std::string_view s);
std::string jsonQuote(std::string_view s);

}  // namespace detour
