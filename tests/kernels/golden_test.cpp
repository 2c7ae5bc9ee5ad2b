// Checks the decoder against logits from an independent PyTorch implementation of the same LLaMA
// architecture (tests/golden/make_golden.py, fixtures in tests/fixtures/golden/). The reference
// ran in float64; the decoder runs in float32, so logits (magnitude up to ~4) must agree within
// kAbsTolerance + kRelTolerance * |expected| at every position.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <string>
#include <vector>

#include "kernels/decoder.h"
#include "kernels/safetensors.h"
#include "kernels/weights.h"

namespace rlvr {
namespace {

constexpr double kAbsTolerance = 1e-4;
constexpr double kRelTolerance = 1e-4;

const std::string kWeightsPath = std::string(RLVR_FIXTURES_DIR) + "/golden/tiny_llama.safetensors";
const std::string kExpectedPath = std::string(RLVR_FIXTURES_DIR) + "/golden/expected.safetensors";

struct Golden {
  ModelWeights weights;
  std::vector<int> tokens;
  std::vector<float> logits;  // [tokens][vocab]
};

Golden LoadGolden() {
  Golden g;
  g.weights = LoadWeights(kWeightsPath, LoadConfig(kWeightsPath));
  const SafeTensorsFile expected = SafeTensorsFile::Open(kExpectedPath);
  const std::vector<int64_t> token_shape = expected.Info("tokens").shape;
  const int n = token_shape.empty() ? 0 : static_cast<int>(token_shape[0]);
  for (float t : expected.Read("tokens", {n})) g.tokens.push_back(static_cast<int>(t));
  g.logits = expected.Read("logits", {n, g.weights.config.vocab});
  return g;
}

// Largest |got - want| / (kAbs + kRel * |want|): <= 1 means within tolerance.
double WorstScaledError(const float* got, const float* want, int n) {
  double worst = 0.0;
  for (int i = 0; i < n; ++i) {
    const double error = std::fabs(static_cast<double>(got[i]) - want[i]);
    worst = std::max(worst, error / (kAbsTolerance + kRelTolerance * std::fabs(want[i])));
  }
  return worst;
}

TEST(Golden, FixtureIsTheDocumentedTinyModel) {
  const Golden g = LoadGolden();
  const ModelConfig& c = g.weights.config;
  EXPECT_EQ(c.vocab, 512);
  EXPECT_EQ(c.dim, 64);
  EXPECT_EQ(c.n_layers, 2);
  EXPECT_EQ(c.n_heads, 4);
  EXPECT_EQ(c.n_kv_heads, 2);
  EXPECT_EQ(c.head_dim, 16);
  EXPECT_FALSE(c.tie_embeddings);  // lm_head.weight is in the file
  ASSERT_EQ(g.tokens.size(), 16u);
}

TEST(Golden, DecodeMatchesPyTorchAtEveryPosition) {
  const Golden g = LoadGolden();
  const int vocab = g.weights.config.vocab;
  Decoder decoder(g.weights);
  double worst_abs = 0.0;
  for (size_t t = 0; t < g.tokens.size(); ++t) {
    const float* logits = decoder.Step(g.tokens[t]);
    EXPECT_LE(WorstScaledError(logits, &g.logits[t * vocab], vocab), 1.0) << "position " << t;
    for (int i = 0; i < vocab; ++i) {
      worst_abs =
          std::max(worst_abs, std::fabs(static_cast<double>(logits[i]) - g.logits[t * vocab + i]));
    }
  }
  std::printf("largest |logit - PyTorch| over %zu positions: %.3g\n", g.tokens.size(), worst_abs);
}

TEST(Golden, PrefillMatchesPyTorchWholeAndInChunks) {
  const Golden g = LoadGolden();
  const int vocab = g.weights.config.vocab;
  const int n = static_cast<int>(g.tokens.size());
  for (int max_batch : {64, 5}) {
    Decoder decoder(g.weights, max_batch);
    const float* logits = decoder.Prefill(g.tokens);
    EXPECT_LE(WorstScaledError(logits, &g.logits[static_cast<size_t>(n - 1) * vocab], vocab), 1.0)
        << "max_batch " << max_batch;
  }
  // A prefix by prefill, then the rest token by token, as generation does.
  Decoder decoder(g.weights);
  const int prefix = 7;
  const float* logits = decoder.Prefill(std::span<const int>(g.tokens.data(), prefix));
  EXPECT_LE(WorstScaledError(logits, &g.logits[static_cast<size_t>(prefix - 1) * vocab], vocab),
            1.0);
  for (int t = prefix; t < n; ++t) {
    logits = decoder.Step(g.tokens[t]);
    EXPECT_LE(WorstScaledError(logits, &g.logits[static_cast<size_t>(t) * vocab], vocab), 1.0)
        << "position " << t;
  }
}

// Negative control: the comparison must notice the other RoPE convention. Permuting the rows of
// every head of q_proj and k_proj alike leaves q.k unchanged, and only changes which pairs RoPE
// rotates together: with (2i, 2i+1) moved to (i, i + head_dim/2), the rotate_half kernel computes
// the interleaved (GPT-J / Meta checkpoint) convention on the original model.
TEST(Golden, DetectsInterleavedRopeConvention) {
  Golden g = LoadGolden();
  const ModelConfig& c = g.weights.config;
  const int hd = c.head_dim, half = hd / 2;
  auto permute_heads = [&](std::vector<float>& w, int heads) {
    const std::vector<float> original = w;
    for (int h = 0; h < heads; ++h) {
      for (int j = 0; j < hd; ++j) {
        const int from = j < half ? 2 * j : 2 * (j - half) + 1;
        std::copy_n(&original[static_cast<size_t>(h * hd + from) * c.dim], c.dim,
                    &w[static_cast<size_t>(h * hd + j) * c.dim]);
      }
    }
  };
  for (LayerWeights& l : g.weights.layers) {
    permute_heads(l.q_proj, c.n_heads);
    permute_heads(l.k_proj, c.n_kv_heads);
  }
  Decoder decoder(g.weights);
  double worst = 0.0;
  for (size_t t = 0; t < g.tokens.size(); ++t) {
    const float* logits = decoder.Step(g.tokens[t]);
    worst = std::max(worst, WorstScaledError(logits, &g.logits[t * c.vocab], c.vocab));
  }
  std::printf("interleaved RoPE: worst error %.3g x tolerance\n", worst);
  EXPECT_GT(worst, 100.0) << "the golden comparison cannot tell the RoPE conventions apart";
}

}  // namespace
}  // namespace rlvr
