#pragma once

// Pure checks of the textual forms a detour config file uses: names, HTTP tokens, paths, host
// patterns and redirect targets. No YAML here, no I/O; every function is thread-safe.
//
// The `...Problem` functions return an empty string when the text is well-formed and otherwise
// the message, or the part of a message that says what is wrong and how to fix it.
// (parseDuration and parseRfc3339 are declared in config_loader.h and defined in
// config_syntax.cc.)

#include <string>
#include <string_view>

namespace detour {

// An RFC 9110 token (1*tchar): header names and methods.
bool isHttpToken(std::string_view text);

// An environment variable name: [A-Za-z_][A-Za-z0-9_]*.
bool isEnvVarName(std::string_view text);

// A rule, flag or pool name: [A-Za-z0-9_.-]+.
bool isConfigName(std::string_view text);

// True when text contains CR, LF or NUL (which would split or truncate a header line).
bool hasCrLfNul(std::string_view text);

// The message when `path` cannot be used as `path`, `path_prefix`, `strip_prefix` or a
// health-check path (it must start with '/' and hold no '?', '#', space or control character);
// `what` names the key: "'path' must start with '/' (got 'api')".
std::string pathProblem(std::string_view what, std::string_view path);

// The reason, completing "host 'x' is not valid: ", why `host` (already lower-cased) is not a
// host pattern: a name of [a-z0-9-] labels
// separated by dots, or "*." followed by such a name. Ports are not allowed.
std::string hostPatternProblem(std::string_view host);

// The message when `to` is not a redirect target: it must be non-empty, start with '/',
// "http://", "https://" or '{' (a template variable), and hold no space or control character.
std::string redirectTargetProblem(std::string_view to);

// How to fix `text`, which parseRfc3339 refused ("add Z (UTC) or an offset like +01:00",
// "day 30 does not exist: 2026-02 has 28 days"); "" when it parses or no specific fix is known.
std::string rfc3339Problem(std::string_view text);

// `text` in single quotes for a message, with control bytes written as \xNN and anything past
// 40 characters cut to "...".
std::string quoteText(std::string_view text);

}  // namespace detour
