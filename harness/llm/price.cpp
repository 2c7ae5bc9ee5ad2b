#include "harness/llm/price.h"

#include <stdexcept>
#include <vector>

namespace rlvr {

RequestCost CostOf(const ModelPrice& price, const LlmResponse& response) {
  int64_t cached = std::min(response.cached_prompt_tokens, response.prompt_tokens);
  double cached_price = price.cached_input_per_million.value_or(price.input_per_million);
  RequestCost cost;
  cost.dollars = (static_cast<double>(response.prompt_tokens - cached) * price.input_per_million +
                  static_cast<double>(cached) * cached_price +
                  static_cast<double>(response.completion_tokens) * price.output_per_million) /
                 1e6;
  cost.estimated = response.usage_estimated;
  return cost;
}

ModelPrice ParsePrice(const std::string& text) {
  std::vector<double> parts;
  size_t start = 0;
  while (true) {
    size_t slash = text.find('/', start);
    std::string part =
        text.substr(start, slash == std::string::npos ? std::string::npos : slash - start);
    size_t used = 0;
    double value = -1;
    try {
      value = std::stod(part, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    if (part.empty() || used != part.size() || !(value >= 0)) {
      throw std::invalid_argument("price '" + text +
                                  "' is not IN/OUT or IN/OUT/CACHED dollars per million tokens");
    }
    parts.push_back(value);
    if (slash == std::string::npos) break;
    start = slash + 1;
  }
  if (parts.size() < 2 || parts.size() > 3) {
    throw std::invalid_argument("price '" + text +
                                "' is not IN/OUT or IN/OUT/CACHED dollars per million tokens");
  }
  ModelPrice price;
  price.input_per_million = parts[0];
  price.output_per_million = parts[1];
  if (parts.size() == 3) price.cached_input_per_million = parts[2];
  return price;
}

}  // namespace rlvr
