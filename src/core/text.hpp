#pragma once
// Text that came from a node or a user, made safe to show: on a terminal (the CLI, the add-on) or in a log
// line. Control characters, ESC sequences, C1 controls, bidi overrides and invalid UTF-8 are written as
// visible escapes, and the text is capped in size with a marker that says how much was left out.
#include <cstddef>
#include <string>
#include <string_view>

namespace inferix {

/// The most bytes of one outside text a log line shows (names, failure messages, verdict details).
inline constexpr size_t kLogTextBytes = 300;

/// `text` as one safe line of at most about `max_bytes` bytes: C0 controls, DEL, C1 controls (U+0080-U+009F),
/// bidi controls (U+200E/F, U+202A-U+202E, U+2066-U+2069, U+061C), line and paragraph separators and BOM are
/// escaped (\n, \t, \r, \x1b, \u202e), invalid UTF-8 bytes as \xNN; when more would be shown than
/// `max_bytes`, it is cut at a character and ends in "...[+N bytes]" (N: the input bytes left out).
std::string SafeText(std::string_view text, size_t max_bytes = kLogTextBytes);

/// SafeText that keeps line breaks ('\n') as they are, for messages of several lines.
std::string SafeLines(std::string_view text, size_t max_bytes = kLogTextBytes);

/// `text` cut to at most `max_bytes` bytes at a UTF-8 character boundary, with "...[+N bytes]" appended when
/// cut (the marker fits within `max_bytes` when `max_bytes` >= 32). Unchanged when it fits. For what is
/// stored, not shown: it does not escape.
std::string CapText(std::string_view text, size_t max_bytes);

}  // namespace inferix
