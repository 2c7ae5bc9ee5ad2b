#include "harness/loop/model_list.h"

#include <set>
#include <stdexcept>

#include <fmt/format.h>

namespace rlvr {
namespace {

using nlohmann::json;

// The i-th of a per-model flag's values: none, the only one, or the i-th of one per model.
template <typename T>
std::optional<T> PerModel(const std::vector<T>& values, size_t i, size_t models, const char* flag) {
  if (values.empty()) return std::nullopt;
  if (values.size() == 1) return values[0];
  if (values.size() != models) {
    throw std::invalid_argument(
        fmt::format("{} is given {} times: give it once (for every model) or once per --model ({})",
                    flag, values.size(), models));
  }
  return values[i];
}

template <typename T>
T Field(const json& entry, const json& section, const char* key, T fallback,
        const std::string& where) {
  for (const json* source : {&entry, &section}) {
    if (source->is_object() && source->contains(key)) {
      try {
        return (*source)[key].get<T>();
      } catch (const json::exception&) {
        throw std::invalid_argument(where + "." + key + " has the wrong type");
      }
    }
  }
  return fallback;
}

}  // namespace

ModelPrice PriceFromJson(const json& price, const std::string& where) {
  if (!price.is_object())
    throw std::invalid_argument(where +
                                " must be an object like {\"input\": 2.5, \"output\": 10, "
                                "\"cached_input\": 1.25} (dollars per million tokens)");
  auto dollars = [&](const char* key, bool required) -> std::optional<double> {
    if (!price.contains(key)) {
      if (required) throw std::invalid_argument(where + " lacks \"" + key + "\"");
      return std::nullopt;
    }
    const json& value = price[key];
    if (!value.is_number() || value.get<double>() < 0)
      throw std::invalid_argument(where + "." + key +
                                  " must be a non-negative number (dollars per million tokens)");
    return value.get<double>();
  };
  ModelPrice p;
  p.input_per_million = *dollars("input", true);
  p.output_per_million = *dollars("output", true);
  p.cached_input_per_million = dollars("cached_input", false);
  return p;
}

std::vector<ModelSpec> ResolveModels(const json& section, const ModelFlags& flags,
                                     const LlmSettings& defaults) {
  std::vector<json> entries;
  if (!flags.models.empty()) {
    for (const std::string& model : flags.models) entries.push_back({{"model", model}});
  } else if (section.is_object() && section.contains("models")) {
    if (!section["models"].is_array() || section["models"].empty())
      throw std::invalid_argument("rlvr.json llm.models must be a non-empty list of models");
    for (const json& entry : section["models"]) {
      if (!entry.is_object() || !entry.contains("model"))
        throw std::invalid_argument("each entry of rlvr.json llm.models needs a \"model\"");
      entries.push_back(entry);
    }
  } else {
    entries.push_back(json::object());
  }
  // With models from the flags, rlvr.json's list does not apply; its common keys still do.
  json common = section.is_object() ? section : json::object();
  common.erase("models");
  std::vector<ModelSpec> specs;
  std::set<std::string> names;
  size_t n = entries.size();
  for (size_t i = 0; i < n; ++i) {
    const json& entry = entries[i];
    std::string where = section.is_object() && section.contains("models") && flags.models.empty()
                            ? fmt::format("rlvr.json llm.models[{}]", i)
                            : std::string("rlvr.json llm");
    ModelSpec spec;
    spec.llm = defaults;
    LlmSettings& llm = spec.llm;
    llm.model = Field(entry, common, "model", defaults.model, where);
    llm.base_url = PerModel(flags.base_urls, i, n, "--base-url")
                       .value_or(Field(entry, common, "base_url", defaults.base_url, where));
    llm.api_key_env =
        PerModel(flags.api_key_envs, i, n, "--api-key-env")
            .value_or(Field(entry, common, "api_key_env", defaults.api_key_env, where));
    llm.temperature =
        PerModel(flags.temperatures, i, n, "--temperature")
            .value_or(Field(entry, common, "temperature", defaults.temperature, where));
    llm.max_tokens = Field(entry, common, "max_tokens", defaults.max_tokens, where);
    if (std::optional<std::string> price = PerModel(flags.prices, i, n, "--price")) {
      try {
        spec.price = ParsePrice(*price);
      } catch (const std::invalid_argument& e) {
        throw std::invalid_argument(std::string("--price: ") + e.what());
      }
    } else if (entry.contains("price")) {
      spec.price = PriceFromJson(entry["price"], where + ".price");
    } else if (common.contains("price")) {
      spec.price = PriceFromJson(common["price"], "rlvr.json llm.price");
    }
    spec.name = Field(entry, json::object(), "name", llm.model, where);
    if (!names.insert(spec.name).second)
      throw std::invalid_argument("two models are named '" + spec.name +
                                  "': give them different \"name\"s in rlvr.json llm.models");
    specs.push_back(std::move(spec));
  }
  return specs;
}

}  // namespace rlvr
