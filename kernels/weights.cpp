#include "kernels/weights.h"

#include <cmath>
#include <cstdio>
#include <type_traits>

#include "kernels/safetensors.h"
#include "kernels/splitmix64.h"

namespace rlvr {

namespace {

std::vector<float> Uniform(size_t n, uint64_t& state, float center, float half_width) {
  std::vector<float> v(n);
  FillSeededUniform(v.data(), n, state, center, half_width);
  return v;
}

std::string LayerName(int layer, const char* suffix) {
  return "model.layers." + std::to_string(layer) + "." + suffix;
}

// Every tensor of the model with its Hugging Face name and shape, pointing at its buffer.
// Buffer is std::vector<float> or const std::vector<float>.
template <typename Buffer>
struct NamedTensor {
  std::string name;
  std::vector<int64_t> shape;
  Buffer* data;
};

// Weights is ModelWeights or const ModelWeights.
template <typename Weights>
auto NamedTensors(Weights& w) {
  const ModelConfig& c = w.config;
  const int64_t d = c.dim, q = c.q_dim(), kv = c.kv_dim(), f = c.ffn_dim, v = c.vocab;
  std::vector<NamedTensor<std::remove_reference_t<decltype((w.embed_tokens))>>> t;
  t.push_back({"model.embed_tokens.weight", {v, d}, &w.embed_tokens});
  for (int i = 0; i < c.n_layers; ++i) {
    auto& l = w.layers[i];
    t.push_back({LayerName(i, "input_layernorm.weight"), {d}, &l.input_norm});
    t.push_back({LayerName(i, "self_attn.q_proj.weight"), {q, d}, &l.q_proj});
    t.push_back({LayerName(i, "self_attn.k_proj.weight"), {kv, d}, &l.k_proj});
    t.push_back({LayerName(i, "self_attn.v_proj.weight"), {kv, d}, &l.v_proj});
    t.push_back({LayerName(i, "self_attn.o_proj.weight"), {d, q}, &l.o_proj});
    t.push_back({LayerName(i, "post_attention_layernorm.weight"), {d}, &l.post_norm});
    t.push_back({LayerName(i, "mlp.gate_proj.weight"), {f, d}, &l.gate_proj});
    t.push_back({LayerName(i, "mlp.up_proj.weight"), {f, d}, &l.up_proj});
    t.push_back({LayerName(i, "mlp.down_proj.weight"), {d, f}, &l.down_proj});
  }
  t.push_back({"model.norm.weight", {d}, &w.final_norm});
  if (!c.tie_embeddings) t.push_back({"lm_head.weight", {v, d}, &w.lm_head});
  return t;
}

size_t Elements(const std::vector<int64_t>& shape) {
  size_t n = 1;
  for (int64_t s : shape) n *= static_cast<size_t>(s);
  return n;
}

}  // namespace

void FillSeededUniform(float* data, size_t n, uint64_t& state, float center, float half_width) {
  for (size_t i = 0; i < n; ++i) {
    const float unit = static_cast<float>(SplitMix64(state) >> 40) * (1.0f / 16777216.0f);
    data[i] = center + half_width * (2.0f * unit - 1.0f);
  }
}

double ModelWeights::BytesReadPerToken() const {
  const double floats = static_cast<double>(config.LayerParameters()) * config.n_layers +
                        config.dim /* final norm */ + config.HeadParameters() +
                        config.dim /* embedding row */;
  return floats * sizeof(float);
}

ModelWeights RandomWeights(const ModelConfig& config, uint64_t seed, float scale) {
  config.Validate();
  ModelWeights w;
  w.config = config;
  w.layers.resize(config.n_layers);
  uint64_t state = seed;
  // Uniform(-a, a) has standard deviation a / sqrt(3).
  const float half_width = scale * std::sqrt(3.0f);
  for (auto& t : NamedTensors(w)) {
    const bool is_norm = t.shape.size() == 1;
    *t.data = is_norm ? Uniform(Elements(t.shape), state, 1.0f, 0.1f)
                      : Uniform(Elements(t.shape), state, 0.0f, half_width);
  }
  return w;
}

ModelWeights LoadWeights(const std::string& path, const ModelConfig& config) {
  config.Validate();
  const SafeTensorsFile file = SafeTensorsFile::Open(path);
  ModelWeights w;
  w.config = config;
  w.config.tie_embeddings = !file.Has("lm_head.weight");
  w.layers.resize(config.n_layers);
  for (auto& t : NamedTensors(w)) *t.data = file.Read(t.name, t.shape);
  return w;
}

void SaveWeights(const std::string& path, const ModelWeights& weights) {
  std::vector<TensorToWrite> tensors;
  for (const auto& t : NamedTensors(weights)) {
    if (t.data->size() != Elements(t.shape)) {
      throw SafeTensorsError("SaveWeights '" + path + "': tensor '" + t.name + "' holds " +
                             std::to_string(t.data->size()) + " floats, shape " +
                             ShapeToString(t.shape) + " needs " +
                             std::to_string(Elements(t.shape)));
    }
    tensors.push_back({t.name, t.shape, t.data->data()});
  }
  WriteSafeTensors(path, tensors, ConfigToMetadata(weights.config));
}

std::map<std::string, std::string> ConfigToMetadata(const ModelConfig& c) {
  auto f = [](float x) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.9g", x);  // round-trips a float exactly
    return std::string(buf);
  };
  return {{"vocab", std::to_string(c.vocab)},
          {"dim", std::to_string(c.dim)},
          {"n_layers", std::to_string(c.n_layers)},
          {"n_heads", std::to_string(c.n_heads)},
          {"n_kv_heads", std::to_string(c.n_kv_heads)},
          {"head_dim", std::to_string(c.head_dim)},
          {"ffn_dim", std::to_string(c.ffn_dim)},
          {"max_positions", std::to_string(c.max_positions)},
          {"rope_theta", f(c.rope_theta)},
          {"norm_eps", f(c.norm_eps)},
          {"tie_embeddings", c.tie_embeddings ? "true" : "false"}};
}

ModelConfig ConfigFromMetadata(const std::map<std::string, std::string>& m,
                               const std::string& path) {
  auto get = [&](const char* key) -> const std::string& {
    auto it = m.find(key);
    if (it == m.end()) {
      throw SafeTensorsError("safetensors file '" + path + "': __metadata__ has no config key '" +
                             key + "'");
    }
    return it->second;
  };
  auto bad = [&](const char* key) {
    return SafeTensorsError("safetensors file '" + path + "': __metadata__ key '" + key +
                            "' has invalid value '" + get(key) + "'");
  };
  auto integer = [&](const char* key) {
    const std::string& s = get(key);
    size_t used = 0;
    long v = 0;
    try {
      v = std::stol(s, &used);
    } catch (const std::exception&) {
      throw bad(key);
    }
    if (used != s.size() || v < INT32_MIN || v > INT32_MAX) throw bad(key);
    return static_cast<int>(v);
  };
  auto real = [&](const char* key) {
    const std::string& s = get(key);
    size_t used = 0;
    float v = 0;
    try {
      v = std::stof(s, &used);
    } catch (const std::exception&) {
      throw bad(key);
    }
    if (used != s.size()) throw bad(key);
    return v;
  };
  ModelConfig c;
  c.vocab = integer("vocab");
  c.dim = integer("dim");
  c.n_layers = integer("n_layers");
  c.n_heads = integer("n_heads");
  c.n_kv_heads = integer("n_kv_heads");
  c.head_dim = integer("head_dim");
  c.ffn_dim = integer("ffn_dim");
  c.max_positions = integer("max_positions");
  c.rope_theta = real("rope_theta");
  c.norm_eps = real("norm_eps");
  const std::string& tie = get("tie_embeddings");
  if (tie != "true" && tie != "false") throw bad("tie_embeddings");
  c.tie_embeddings = tie == "true";
  try {
    c.Validate();
  } catch (const std::invalid_argument& e) {
    throw SafeTensorsError("safetensors file '" + path + "': " + e.what());
  }
  return c;
}

ModelConfig LoadConfig(const std::string& path) {
  return ConfigFromMetadata(SafeTensorsFile::Open(path).metadata(), path);
}

}  // namespace rlvr
