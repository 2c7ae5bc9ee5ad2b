// The models of an `rlvr iterate` run, resolved from rlvr.json's "llm" section and the flags: one
// model (today's "llm" keys, or one --model) or several ("llm": {"models": [...]}, or --model
// repeated). Per-model flags (--base-url, --api-key-env, --price, --temperature) are given once
// for all models or once per --model, in the same order. Never holds a key: only the name of the
// environment variable that does.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "harness/llm/client.h"
#include "harness/llm/price.h"

namespace rlvr {

struct ModelSpec {
  std::string name;  // as the ledger records it: the model name, or the entry's "name"
  LlmSettings llm;
  std::optional<ModelPrice> price;
};

// The per-model flags as given (each empty, one value, or one per --model).
struct ModelFlags {
  std::vector<std::string> models, base_urls, api_key_envs, prices;
  std::vector<double> temperatures;
};

// The price object of rlvr.json: {"input": 2.5, "output": 10, "cached_input": 1.25}, dollars per
// million tokens. Throws std::invalid_argument naming `where` for a wrong shape or a negative
// price.
ModelPrice PriceFromJson(const nlohmann::json& price, const std::string& where);

// Resolves the run's models. `section` is rlvr.json's "llm" object (may be empty); `defaults`
// carries everything not per model (api, timeouts, retries, cancellation) and the fallbacks.
// Throws std::invalid_argument with a message for the user (a per-model flag given a number of
// times that is neither 1 nor the number of --model, a bad "models" entry, a bad price, two
// models of the same name).
std::vector<ModelSpec> ResolveModels(const nlohmann::json& section, const ModelFlags& flags,
                                     const LlmSettings& defaults);

}  // namespace rlvr
