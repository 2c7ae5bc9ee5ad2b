// ModelWeights: the float32 parameters of a LLaMA-style decoder under their Hugging Face names,
// loaded from / saved to safetensors, or drawn at random from a seed (for benchmarks and tests).
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "kernels/model_config.h"

namespace rlvr {

// One decoder layer; matrices are row-major [out, in] as in torch.nn.Linear.
struct LayerWeights {
  std::vector<float> input_norm;  // [dim]            input_layernorm
  std::vector<float> q_proj;      // [q_dim, dim]
  std::vector<float> k_proj;      // [kv_dim, dim]
  std::vector<float> v_proj;      // [kv_dim, dim]
  std::vector<float> o_proj;      // [dim, q_dim]
  std::vector<float> post_norm;   // [dim]            post_attention_layernorm
  std::vector<float> gate_proj;   // [ffn_dim, dim]
  std::vector<float> up_proj;     // [ffn_dim, dim]
  std::vector<float> down_proj;   // [dim, ffn_dim]
};

struct ModelWeights {
  ModelConfig config;
  std::vector<float> embed_tokens;  // [vocab, dim]
  std::vector<LayerWeights> layers;
  std::vector<float> final_norm;  // [dim]
  std::vector<float> lm_head;     // [vocab, dim]; empty when config.tie_embeddings

  const float* head() const { return config.tie_embeddings ? embed_tokens.data() : lm_head.data(); }

  // Bytes of weights one decode step reads: every layer matrix and norm, the final norm, the
  // head, and one embedding row (the roofline for a memory-bound decode).
  double BytesReadPerToken() const;
};

// Fills data[0, n) with center + uniform(-half_width, half_width) from a splitmix64 stream
// (advancing state), so a seed names the same values on every platform.
void FillSeededUniform(float* data, size_t n, uint64_t& state, float center, float half_width);

// Seeded random weights: matrices uniform with standard deviation `scale` (N(0, scale)-like),
// norm weights 1 + uniform(-0.1, 0.1) so a misplaced norm weight changes results.
ModelWeights RandomWeights(const ModelConfig& config, uint64_t seed, float scale = 0.02f);

// Loads weights with the shapes `config` implies from a safetensors file (F32/F16/BF16).
// lm_head.weight absent means the head is tied to embed_tokens (the returned config says so).
// Throws SafeTensorsError on a missing tensor or a wrong shape, naming both.
ModelWeights LoadWeights(const std::string& path, const ModelConfig& config);

// Writes every tensor under its Hugging Face name (lm_head only if untied), with the config in
// the file's __metadata__ so LoadConfig can recover it.
void SaveWeights(const std::string& path, const ModelWeights& weights);

// The config stored by SaveWeights (or by tests/golden/make_golden.py) in a safetensors file's
// __metadata__. Throws SafeTensorsError naming the file and the missing or invalid key.
ModelConfig LoadConfig(const std::string& path);
ModelConfig ConfigFromMetadata(const std::map<std::string, std::string>& metadata,
                               const std::string& path);
std::map<std::string, std::string> ConfigToMetadata(const ModelConfig& config);

}  // namespace rlvr
