// The decoder over StoredWeights (kernels/stored_weights.h): F32 views give exactly the float
// decoder's logits; each quantized type gives the logits of its own dequantized weights up to the
// input rounding StoredProduct states, prefill and steps agree, and decoding allocates nothing.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <stdexcept>
#include <string>
#include <vector>

#include "kernels/decoder.h"
#include "kernels/stored_weights.h"
#include "tests/common/alloc_counter.h"
#include "tests/common/test_seed.h"

namespace rlvr {
namespace {

// Row lengths (dim, q_dim, ffn_dim) that are multiples of the K-quants' 256.
ModelConfig QuantizableConfig() {
  ModelConfig c;
  c.vocab = 300;
  c.dim = 256;
  c.n_layers = 2;
  c.n_heads = 4;
  c.n_kv_heads = 2;
  c.head_dim = 64;
  c.ffn_dim = 512;
  c.max_positions = 64;
  return c;
}

std::vector<float> Dequantized(const StoredMatrix& m) {
  std::vector<float> out(static_cast<size_t>(m.rows) * m.cols);
  for (int r = 0; r < m.rows; ++r) DequantizeStoredRow(m, r, out.data() + r * m.cols);
  return out;
}

// The float model whose weights are exactly what `s` stores.
ModelWeights DequantizedModel(const StoredWeights& s) {
  ModelWeights w;
  w.config = s.config;
  w.embed_tokens = Dequantized(s.embed_tokens);
  if (!s.config.tie_embeddings) w.lm_head = Dequantized(s.head);
  w.final_norm = s.final_norm;
  for (const StoredLayer& l : s.layers) {
    w.layers.push_back({l.input_norm, Dequantized(l.q_proj), Dequantized(l.k_proj),
                        Dequantized(l.v_proj), Dequantized(l.o_proj), l.post_norm,
                        Dequantized(l.gate_proj), Dequantized(l.up_proj),
                        Dequantized(l.down_proj)});
  }
  return w;
}

double RelativeDistance(const float* a, const float* b, int n) {
  double err = 0, norm = 0;
  for (int i = 0; i < n; ++i) {
    err += (static_cast<double>(a[i]) - b[i]) * (static_cast<double>(a[i]) - b[i]);
    norm += static_cast<double>(b[i]) * b[i];
  }
  return std::sqrt(err / norm);
}

const std::vector<int> kPrompt = {5, 17, 299, 42, 0, 133, 77, 8, 250, 3};

TEST(StoredDecoder, F32ViewsGiveExactlyTheFloatDecodersLogits) {
  const ModelWeights w = RandomWeights(QuantizableConfig(), TestSeedFor(2611), 0.05f);
  const StoredWeights view = ViewWeights(w);
  Decoder a(w), b(view);
  const float* la = a.Prefill(kPrompt);
  const float* lb = b.Prefill(kPrompt);
  EXPECT_EQ(0, std::memcmp(la, lb, w.config.vocab * sizeof(float)));
  la = a.Step(9);
  lb = b.Step(9);
  EXPECT_EQ(0, std::memcmp(la, lb, w.config.vocab * sizeof(float)));
}

TEST(StoredDecoder, QuantizedBlocksGiveTheirDequantizedModelsLogits) {
  const ModelWeights w = RandomWeights(QuantizableConfig(), TestSeedFor(2612), 0.05f);
  for (StoredType type : {StoredType::kF16, StoredType::kBF16, StoredType::kQ8_0, StoredType::kQ4_0,
                          StoredType::kQ4_K, StoredType::kQ6_K}) {
    const StoredWeights stored = ConvertWeights(w, type);
    const ModelWeights dequantized = DequantizedModel(stored);
    Decoder blocks(stored), floats(dequantized), original(w);
    const float* lb = blocks.Prefill(kPrompt);
    const float* lf = floats.Prefill(kPrompt);
    const float* lo = original.Prefill(kPrompt);
    const int v = w.config.vocab;
    const double vs_dequantized = RelativeDistance(lb, lf, v);
    const double vs_float = RelativeDistance(lb, lo, v);
    std::printf("%s: logits %.4f from its dequantized model, %.4f from the float model\n",
                StoredTypeName(type), vs_dequantized, vs_float);
    // Float types run float products: only accumulation order differs. Random uniform weights
    // lose much at 4 bits (no structure to keep): 0.2-0.25 from the float model for Q4_0/Q4_K.
    const bool rounds_input = type != StoredType::kF16 && type != StoredType::kBF16;
    EXPECT_LT(vs_dequantized, rounds_input ? 0.04 : 1e-5) << StoredTypeName(type);
    EXPECT_LT(vs_float, 0.4) << StoredTypeName(type);
    EXPECT_GT(vs_float, 0.0) << StoredTypeName(type) << ": not quantized at all?";
    // Decoding on: steps agree with a fresh prefill of the longer context.
    const float* step = blocks.Step(11);
    const std::vector<float> stepped(step, step + v);
    std::vector<int> longer = kPrompt;
    longer.push_back(11);
    blocks.Reset();
    const float* prefilled = blocks.Prefill(longer);
    EXPECT_LT(RelativeDistance(stepped.data(), prefilled, v), 1e-5) << StoredTypeName(type);
  }
}

TEST(StoredDecoder, QuantizedDecodeAndPrefillAllocateNothing) {
  const ModelWeights w = RandomWeights(QuantizableConfig(), TestSeedFor(2613), 0.05f);
  for (StoredType type : {StoredType::kQ8_0, StoredType::kQ4_K, StoredType::kQ6_K}) {
    const StoredWeights stored = ConvertWeights(w, type);
    Decoder decoder(stored, /*max_batch=*/4);
    decoder.Prefill(kPrompt);  // warm-up: full and partial chunks, steps
    decoder.Step(1);
    decoder.Reset();
    AllocationScope scope;
    decoder.Prefill(kPrompt);
    for (int i = 0; i < 10; ++i) decoder.Step((i * 37) % w.config.vocab);
    EXPECT_EQ(scope.count(), 0u) << StoredTypeName(type);
  }
}

// Prefill multiplies batches by tiled kernels, decode single rows by one-row kernels: both do the
// same arithmetic per output, so prefilled logits equal stepped ones bit for bit (a rounding
// difference would flip 8-bit input codes downstream and grow through the layers).
TEST(StoredDecoder, PrefillGivesTheSteppedLogitsBitForBit) {
  const ModelWeights w = RandomWeights(QuantizableConfig(), TestSeedFor(2615), 0.05f);
  for (StoredType type : {StoredType::kF16, StoredType::kBF16, StoredType::kQ8_0, StoredType::kQ4_0,
                          StoredType::kQ4_K, StoredType::kQ6_K}) {
    const StoredWeights stored = ConvertWeights(w, type);
    for (const size_t n : {size_t{4}, size_t{9}}) {
      const std::vector<int> prompt(kPrompt.begin(), kPrompt.begin() + n);
      Decoder prefilled(stored), stepped(stored);
      const float* lp = prefilled.Prefill(prompt);
      const float* ls = nullptr;
      for (int t : prompt) ls = stepped.Step(t);
      EXPECT_EQ(0, std::memcmp(lp, ls, w.config.vocab * sizeof(float)))
          << StoredTypeName(type) << ", " << n << " tokens: max difference "
          << RelativeDistance(lp, ls, w.config.vocab) << " relative";
    }
  }
}

TEST(StoredDecoder, RejectsMatricesThatDoNotFitTheConfig) {
  const ModelWeights w = RandomWeights(QuantizableConfig(), TestSeedFor(2614), 0.05f);
  StoredWeights stored = ConvertWeights(w, StoredType::kQ8_0);
  stored.layers[1].up_proj.rows -= 1;
  try {
    Decoder decoder(stored);
    FAIL() << "a short up_proj was accepted";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("layer 1 up_proj"), std::string::npos) << e.what();
  }
  EXPECT_THROW(ConvertWeights(RandomWeights(
                                  [] {
                                    ModelConfig c = QuantizableConfig();
                                    c.dim = 128;  // rows of 128 values do not make 256-value blocks
                                    c.n_heads = 2;
                                    c.n_kv_heads = 1;
                                    return c;
                                  }(),
                                  1),
                              StoredType::kQ4_K),
               std::invalid_argument);
}

}  // namespace
}  // namespace rlvr
