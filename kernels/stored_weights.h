// StoredWeights: a LLaMA-style decoder's weights as the decoder multiplies them, every matrix a
// StoredMatrix in its own storage type (F32 views of ModelWeights, quantized copies, or blocks
// mapped straight from a GGUF file). ModelWeights stays the float form training uses; this is
// the form inference reads, so a quantized model streams its quantized bytes per token.
#pragma once

#include <memory>
#include <vector>

#include "kernels/model_config.h"
#include "kernels/stored_matrix.h"
#include "kernels/weights.h"

namespace rlvr {

struct StoredLayer {
  std::vector<float> input_norm;  // [dim]
  std::vector<float> post_norm;   // [dim]
  StoredMatrix q_proj;            // [q_dim, dim], rotate_half RoPE layout
  StoredMatrix k_proj;            // [kv_dim, dim], rotate_half RoPE layout
  StoredMatrix v_proj;            // [kv_dim, dim]
  StoredMatrix o_proj;            // [dim, q_dim]
  StoredMatrix gate_proj;         // [ffn_dim, dim]
  StoredMatrix up_proj;           // [ffn_dim, dim]
  StoredMatrix down_proj;         // [dim, ffn_dim]
};

struct StoredWeights {
  ModelConfig config;
  StoredMatrix embed_tokens;  // [vocab, dim]
  std::vector<StoredLayer> layers;
  std::vector<float> final_norm;  // [dim]
  StoredMatrix head;              // [vocab, dim]; the same bytes as embed_tokens when tied
  // Owners of the bytes the matrices point into (a mapped file, quantized buffers). Copies of a
  // StoredWeights share them.
  std::vector<std::shared_ptr<const void>> owners;

  // Bytes one decode step reads: every layer matrix and norm, the final norm, the head and one
  // embedding row, in their stored types.
  double BytesReadPerToken() const;

  // Throws std::invalid_argument naming the first matrix whose shape or type does not fit the
  // config (every matrix valid per CheckStoredMatrix, with the shape the config implies).
  void Check() const;
};

// F32 views of w's matrices (no copy of them; w must outlive the result). Throws
// std::invalid_argument if a matrix has the wrong number of floats.
StoredWeights ViewWeights(const ModelWeights& w);

// Every matrix of w (embedding and head included) quantized or converted to `type` with the
// kernels' quantizers (QuantizeQ8_0, QuantizeQ4_K, ...; with covering_kquants the faster
// QuantizeQ4_KCovering / QuantizeQ6_KCovering, as benchmarks use). Throws std::invalid_argument
// if a row length is not a multiple of the type's block.
StoredWeights ConvertWeights(const ModelWeights& w, StoredType type, bool covering_kquants = false);

}  // namespace rlvr
