// Plain reference for the tiktoken-compatible tokenizer (kernels/tokenizer.h): the text is
// decoded into a vector of code points, each alternative of the cl100k_base pattern is tried in
// order with its backtracking spelled out, and each piece is merged the textbook way: a vector of
// byte strings, repeatedly joining the adjacent pair of lowest rank (leftmost of equals). Slow
// (quadratic per piece) and obviously correct; never optimise it.
#pragma once

#include <map>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "kernels/tokenizer.h"

namespace rlvr {

class TokenizerRef {
 public:
  TokenizerRef(const std::vector<TokenEntry>& ranks, const std::vector<TokenEntry>& special_tokens);

  // Same contracts as Tokenizer::Encode / EncodeOrdinary / Decode.
  std::vector<TokenId> Encode(std::string_view text,
                              const SpecialTokenSet& allowed = SpecialTokenSet::None(),
                              const SpecialTokenSet& disallowed = SpecialTokenSet::All()) const;
  std::vector<TokenId> EncodeOrdinary(std::string_view text) const;
  std::string Decode(const std::vector<TokenId>& ids) const;

  // The pieces of `text` under the cl100k_base pattern.
  std::vector<std::string> Split(std::string_view text) const;
  // Byte-pair merge of one piece (tiktoken's byte_pair_encode, whole-piece shortcut included).
  std::vector<TokenId> BytePairEncode(const std::string& piece) const;

 private:
  std::unordered_map<std::string, TokenId> ranks_;
  std::map<TokenId, std::string> bytes_of_;  // ranks and special tokens
  std::vector<std::string> special_names_;   // in the order given
  std::map<std::string, TokenId> special_ids_;
};

}  // namespace rlvr
