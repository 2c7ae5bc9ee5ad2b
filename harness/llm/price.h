// What a model request costs: a model's prices per million tokens (rlvr.json "llm" price, or
// --price) and the dollars of one response at those prices. Cached input (the prompt prefix an
// endpoint serves from its cache, when it reports that) is billed at its own price.
#pragma once

#include <optional>
#include <string>

#include "harness/llm/client.h"

namespace rlvr {

struct ModelPrice {
  double input_per_million = 0;   // dollars per million prompt tokens
  double output_per_million = 0;  // dollars per million completion tokens
  // Dollars per million cached prompt tokens; unset = the input price.
  std::optional<double> cached_input_per_million;
};

struct RequestCost {
  double dollars = 0;
  bool estimated = false;  // the endpoint reported no usage (LlmResponse::usage_estimated)
};

// The cost of `response` at `price`.
RequestCost CostOf(const ModelPrice& price, const LlmResponse& response);

// Parses "IN/OUT" or "IN/OUT/CACHED" (dollars per million tokens, e.g. "2.5/10/1.25"). Throws
// std::invalid_argument naming the text when it is not that, or a price is negative.
ModelPrice ParsePrice(const std::string& text);

}  // namespace rlvr
