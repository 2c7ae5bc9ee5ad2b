// SHA-256 (FIPS 180-4) of a text, as lowercase hex: names a text rlvr keeps only in part (a ledger
// text cut to its bound says the hash of the whole).
#pragma once

#include <string>
#include <string_view>

namespace rlvr {

std::string Sha256Hex(std::string_view data);

}  // namespace rlvr
