// Causal multi-head attention with grouped-query heads (n_heads query heads share n_kv_heads
// key/value heads) over an explicit KV cache.
#pragma once

#include <cstddef>
#include <vector>

namespace rlvr {

// Keys and values of every layer, laid out [layer][position][kv_head][head_dim].
struct KVCache {
  int n_layers = 0;
  int max_positions = 0;
  int n_kv_heads = 0;
  int head_dim = 0;
  int length = 0;  // positions filled so far; the decoder advances it one per token
  std::vector<float> k;
  std::vector<float> v;

  KVCache(int n_layers, int max_positions, int n_kv_heads, int head_dim);

  int row_size() const { return n_kv_heads * head_dim; }
  float* K(int layer, int pos) { return k.data() + Offset(layer, pos); }
  float* V(int layer, int pos) { return v.data() + Offset(layer, pos); }
  const float* K(int layer, int pos) const { return k.data() + Offset(layer, pos); }
  const float* V(int layer, int pos) const { return v.data() + Offset(layer, pos); }
  void Clear() { length = 0; }

 private:
  std::size_t Offset(int layer, int pos) const {
    return (static_cast<std::size_t>(layer) * max_positions + pos) * row_size();
  }
};

// Scores buffer for Attention, sized once so the call does not allocate. With threads > 1,
// Attention spreads its (query, head) pairs over up to that many threads of DefaultPool(), each
// with its own scores row (so do not use threads > 1 from inside a task of that pool).
struct AttentionScratch {
  int threads = 0;
  int max_positions = 0;
  std::vector<float> scores;  // [threads][max_positions]
  explicit AttentionScratch(int max_positions, int threads = 1);
};

// For the n_q query positions start_pos .. start_pos + n_q - 1 (q laid out
// [n_q][n_heads][head_dim]), attends causally to cache positions 0 .. position (inclusive) of
// `layer`, whose keys and values must already be written. Writes out [n_q][n_heads][head_dim].
// Scale is 1/sqrt(head_dim).
void Attention(const float* q, const KVCache& cache, int layer, int start_pos, int n_q, int n_heads,
               float* out, AttentionScratch& scratch);

}  // namespace rlvr
