// The bound on each text a ledger row stores (prompt, reply, patch, message): longer texts are
// stored as their head and a marker naming the whole, "[cut: 3145728 bytes, sha256 <hex>]", so
// oversized replies and the repair prompts quoting them cannot grow the ledger without bound
// (100 rows of 3 MB replies stay under 5 MB) and the cut text is still identified.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace rlvr {

// Bytes of one stored text, marker included.
inline constexpr size_t kLedgerTextMaxBytes = 16 * 1024;

// `text` redacted (base/secrets.h), then whole if it fits in kLedgerTextMaxBytes, else its head
// (cut at a UTF-8 character boundary) and "\n[cut: <bytes> bytes, sha256 <hex>]" for the whole
// redacted text.
std::string StoredText(std::string_view text);

}  // namespace rlvr
