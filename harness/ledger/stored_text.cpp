#include "harness/ledger/stored_text.h"

#include <fmt/format.h>

#include "harness/base/secrets.h"
#include "harness/base/sha256.h"
#include "harness/base/text_cut.h"

namespace rlvr {

std::string StoredText(std::string_view text) {
  std::string redacted = RedactSecrets(text);
  if (redacted.size() <= kLedgerTextMaxBytes) return redacted;
  std::string marker =
      fmt::format("\n[cut: {} bytes, sha256 {}]", redacted.size(), Sha256Hex(redacted));
  redacted.resize(Utf8Floor(redacted, kLedgerTextMaxBytes - marker.size()));
  return redacted + marker;
}

}  // namespace rlvr
