#include "harness/loopbench/settings.h"

#include <algorithm>
#include <set>

namespace rlvr {
namespace {

using nlohmann::json;

[[noreturn]] void Bad(const std::string& key, const std::string& why) {
  throw LoopBenchSettingsError("loop bench settings: \"" + key + "\" " + why);
}

void CheckKeys(const json& object, const std::set<std::string>& known, const std::string& where) {
  if (!object.is_object()) Bad(where.empty() ? "(top level)" : where, "must be a JSON object");
  for (const auto& [key, value] : object.items()) {
    if (!known.count(key)) Bad(where + key, "is not a setting");
  }
}

template <typename T>
T Get(const json& object, const std::string& key, const std::string& path, T fallback) {
  if (!object.contains(key)) return fallback;
  try {
    return object.at(key).get<T>();
  } catch (const json::exception&) {
    Bad(path + key, "has the wrong type");
  }
}

int Positive(const json& object, const std::string& key, int fallback) {
  const json& value = object.contains(key) ? object.at(key) : json(fallback);
  if (!value.is_number_integer() || value.get<int64_t>() < 1 || value.get<int64_t>() > 1000000)
    Bad(key, "must be a whole number of at least 1");
  return value.get<int>();
}

double NonNegative(const json& object, const std::string& key, const std::string& path,
                   double fallback) {
  double value = Get<double>(object, key, path, fallback);
  if (!(value >= 0)) Bad(path + key, "must be a number of at least 0");
  return value;
}

LoopBenchModel ParseModel(const json& object, const std::string& path) {
  CheckKeys(object,
            {"name", "quality", "price", "latency_seconds", "prompt_tokens", "completion_tokens",
             "report_usage"},
            path);
  LoopBenchModel model;
  model.name = Get<std::string>(object, "name", path, model.name);
  if (model.name.empty()) Bad(path + "name", "must not be empty");
  model.quality = NonNegative(object, "quality", path, model.quality);
  model.price_text = Get<std::string>(object, "price", path, "");
  if (!model.price_text.empty()) {
    try {
      model.price = ParsePrice(model.price_text);
    } catch (const std::invalid_argument& e) {
      Bad(path + "price", std::string("is not a price: ") + e.what());
    }
  }
  model.latency_seconds = NonNegative(object, "latency_seconds", path, 0);
  model.prompt_tokens = Get<int64_t>(object, "prompt_tokens", path, 0);
  model.completion_tokens = Get<int64_t>(object, "completion_tokens", path, 0);
  if (model.prompt_tokens < 0 || model.completion_tokens < 0)
    Bad(path + "prompt_tokens", "and completion_tokens must be at least 0");
  model.report_usage = Get<bool>(object, "report_usage", path, true);
  return model;
}

}  // namespace

LoopBenchSettings ParseLoopBenchSettings(const json& json_settings) {
  const json& j = json_settings;
  CheckKeys(j,
            {"library", "targets", "strategies", "seeds", "proposals", "candidates", "class_mix",
             "models", "repeat_rate", "no_sanitizers", "bench_rounds"},
            "");
  LoopBenchSettings s;
  s.library = Get<std::string>(j, "library", "", s.library.string());
  if (s.library.empty()) Bad("library", "must name a folder");
  s.targets = Get<std::vector<std::string>>(j, "targets", "", {});
  s.strategies = Get<std::vector<std::string>>(j, "strategies", "", s.strategies);
  if (s.strategies.empty()) Bad("strategies", "must name at least one strategy");
  for (const std::string& name : s.strategies) {
    if (std::find(KnownStrategies().begin(), KnownStrategies().end(), name) ==
        KnownStrategies().end())
      Bad("strategies", "names an unknown strategy '" + name +
                            "' (known: greedy, best-of-n, independent, archive)");
  }
  s.seeds = Positive(j, "seeds", s.seeds);
  s.proposals = Positive(j, "proposals", s.proposals);
  s.candidates = Positive(j, "candidates", s.candidates);
  if (j.contains("class_mix")) {
    if (!j["class_mix"].is_object()) Bad("class_mix", "must be an object of label: weight");
    for (const auto& [label, weight] : j["class_mix"].items()) {
      if (std::find(ProposalLabels().begin(), ProposalLabels().end(), label) ==
          ProposalLabels().end())
        Bad("class_mix", "names an unknown label '" + label +
                             "' (known: faster, neutral, slower, wrong, cheat, malformed)");
      if (!weight.is_number() || weight.get<double>() < 0)
        Bad("class_mix." + label, "must be a weight of at least 0");
      s.class_mix[label] = weight.get<double>();
    }
  }
  if (j.contains("models")) {
    if (!j["models"].is_array() || j["models"].empty())
      Bad("models", "must be a non-empty array of models");
    s.models.clear();
    std::set<std::string> names;
    for (size_t i = 0; i < j["models"].size(); ++i) {
      s.models.push_back(ParseModel(j["models"][i], "models[" + std::to_string(i) + "]."));
      if (!names.insert(s.models.back().name).second)
        Bad("models", "names '" + s.models.back().name + "' twice");
    }
  }
  s.repeat_rate = NonNegative(j, "repeat_rate", "", s.repeat_rate);
  if (s.repeat_rate > 1) Bad("repeat_rate", "must be between 0 and 1");
  s.no_sanitizers = Get<bool>(j, "no_sanitizers", "", s.no_sanitizers);
  s.bench_rounds = Get<int>(j, "bench_rounds", "", s.bench_rounds);
  if (s.bench_rounds < 0) Bad("bench_rounds", "must be at least 0");
  return s;
}

json LoopBenchSettingsJson(const LoopBenchSettings& s) {
  json models = json::array();
  for (const LoopBenchModel& m : s.models) {
    models.push_back({{"name", m.name},
                      {"quality", m.quality},
                      {"price", m.price_text},
                      {"latency_seconds", m.latency_seconds},
                      {"prompt_tokens", m.prompt_tokens},
                      {"completion_tokens", m.completion_tokens},
                      {"report_usage", m.report_usage}});
  }
  return {{"library", s.library.string()}, {"targets", s.targets},
          {"strategies", s.strategies},    {"seeds", s.seeds},
          {"proposals", s.proposals},      {"candidates", s.candidates},
          {"class_mix", s.class_mix},      {"models", models},
          {"repeat_rate", s.repeat_rate},  {"no_sanitizers", s.no_sanitizers},
          {"bench_rounds", s.bench_rounds}};
}

}  // namespace rlvr
