// ModelConfig: the shape of a LLaMA-style decoder (sizes, RoPE base, norm epsilon, tied head),
// with the presets the tests and benchmarks use and a check that the sizes fit together.
#pragma once

#include <cstddef>
#include <stdexcept>
#include <string>

namespace rlvr {

struct ModelConfig {
  int vocab = 0;
  int dim = 0;  // width of the residual stream
  int n_layers = 0;
  int n_heads = 0;     // query heads
  int n_kv_heads = 0;  // key/value heads, shared by n_heads / n_kv_heads query heads each
  int head_dim = 0;
  int ffn_dim = 0;  // hidden width of the SwiGLU feed-forward block
  int max_positions = 0;
  float rope_theta = 10000.0f;
  float norm_eps = 1e-5f;
  bool tie_embeddings = false;  // true: the output head reuses the token embedding

  int q_dim() const { return n_heads * head_dim; }
  int kv_dim() const { return n_kv_heads * head_dim; }

  // Float parameters of one decoder layer (two norms, four attention and three FFN matrices).
  size_t LayerParameters() const {
    const size_t d = dim, q = q_dim(), kv = kv_dim(), f = ffn_dim;
    return 2 * d + q * d + 2 * kv * d + d * q + 3 * f * d;
  }
  size_t HeadParameters() const { return static_cast<size_t>(vocab) * dim; }

  // Throws std::invalid_argument naming the first field that is out of range or inconsistent.
  void Validate() const {
    auto fail = [](const std::string& what) {
      throw std::invalid_argument("ModelConfig: " + what);
    };
    auto positive = [&](int value, const char* name) {
      if (value <= 0) fail(std::string(name) + " must be positive, got " + std::to_string(value));
    };
    positive(vocab, "vocab");
    positive(dim, "dim");
    positive(n_layers, "n_layers");
    positive(n_heads, "n_heads");
    positive(n_kv_heads, "n_kv_heads");
    positive(head_dim, "head_dim");
    positive(ffn_dim, "ffn_dim");
    positive(max_positions, "max_positions");
    if (n_heads % n_kv_heads != 0) {
      fail("n_heads (" + std::to_string(n_heads) + ") must be a multiple of n_kv_heads (" +
           std::to_string(n_kv_heads) + ")");
    }
    if (head_dim % 2 != 0) fail("head_dim must be even for RoPE, got " + std::to_string(head_dim));
    if (!(rope_theta > 0.0f)) fail("rope_theta must be positive");
    if (!(norm_eps > 0.0f)) fail("norm_eps must be positive");
  }

  bool operator==(const ModelConfig&) const = default;
};

// The first milestone's model: 2 layers, dim 256, GQA 4:2, 32000-token vocabulary, own head.
inline ModelConfig MvpConfig() {
  ModelConfig c;
  c.vocab = 32000;
  c.dim = 256;
  c.n_layers = 2;
  c.n_heads = 4;
  c.n_kv_heads = 2;
  c.head_dim = 64;
  c.ffn_dim = 1024;
  c.max_positions = 1024;
  return c;
}

// A ~85M-class model (12 layers, dim 768, GQA 12:4). Tied embeddings, so its ~101M f32
// parameters (~400 MB) are read once per decoded token.
inline ModelConfig Config85M() {
  ModelConfig c;
  c.vocab = 32768;
  c.dim = 768;
  c.n_layers = 12;
  c.n_heads = 12;
  c.n_kv_heads = 4;
  c.head_dim = 64;
  c.ffn_dim = 2048;
  c.max_positions = 1024;
  c.tie_embeddings = true;
  return c;
}

}  // namespace rlvr
