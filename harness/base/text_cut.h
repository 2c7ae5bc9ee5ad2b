// Cutting a text to a bound in bytes for what rlvr sends or stores (a repair turn under
// --prompt-chars, a ledger row's texts): only at UTF-8 character boundaries, so the result stays
// valid text for JSON, and with a marker in the text saying how much was cut.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace rlvr {

// The largest position <= `at` (and <= text.size()) that does not split a UTF-8 character.
size_t Utf8Floor(std::string_view text, size_t at);

// `text` itself when it fits in `max_bytes`; else its head and tail around a marker
// "\n[... cut N of M bytes of <what> ...]\n", the whole at most `max_bytes` bytes (only the marker
// when `max_bytes` leaves no room beside it: then the result may be longer than `max_bytes`).
std::string CutMiddle(std::string_view text, size_t max_bytes, std::string_view what);

}  // namespace rlvr
