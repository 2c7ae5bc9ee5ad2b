// History independence (history_util.h) of training: Trainer::ComputeGradients and the fused
// cross-entropy must give bit-identical results for the same inputs whatever came before (the
// trainer keeps its workspace between calls, but no state: gradients are overwritten, not
// accumulated, and nothing is skipped because the tokens look familiar), stay within tolerance
// of the double reference after in-place changes, leave their inputs (and the weights) untouched.
// Test names start with History.Train so the train_step target's filter selects them.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "kernels/backward.h"
#include "kernels/reference/gemm_ref.h"
#include "kernels/reference/train_ref.h"
#include "kernels/splitmix64.h"
#include "kernels/trainer.h"
#include "kernels/weights.h"
#include "tests/common/test_seed.h"
#include "tests/kernels/history_util.h"

namespace rlvr {
namespace {

using history::Buffer;
using history::Bytes;
using history::CheckHistory;
using history::RandomFloats;

// Every gradient tensor of w, in a fixed order.
std::vector<const std::vector<float>*> Tensors(const ModelWeights& w) {
  std::vector<const std::vector<float>*> t{&w.embed_tokens};
  for (const LayerWeights& l : w.layers) {
    for (const auto* p : {&l.input_norm, &l.q_proj, &l.k_proj, &l.v_proj, &l.o_proj, &l.post_norm,
                          &l.gate_proj, &l.up_proj, &l.down_proj}) {
      t.push_back(p);
    }
  }
  t.push_back(&w.final_norm);
  if (!w.config.tie_embeddings) t.push_back(&w.lm_head);
  return t;
}

// Output: every gradient, concatenated, then the loss.
struct TrainerGradientsCase {
  ModelConfig config;
  int batch, seq_len;
  uint64_t weight_seed;
  std::unique_ptr<ModelWeights> weights;
  std::unique_ptr<Trainer> trainer;  // one trainer for every call: its workspace is reused

  TrainerGradientsCase(const ModelConfig& c, int batch, int seq_len, uint64_t weight_seed)
      : config(c), batch(batch), seq_len(seq_len), weight_seed(weight_seed) {
    weights = std::make_unique<ModelWeights>(RandomWeights(c, weight_seed, 0.3f));
    trainer = std::make_unique<Trainer>(*weights, batch, seq_len);
  }

  struct Inputs {
    Buffer<int> tokens;
  };
  Inputs Make(uint64_t seed) const {
    Buffer<int> t(size_t(batch) * (seq_len + 1));
    for (int& x : t) x = static_cast<int>(SplitMix64(seed) % config.vocab);
    return {t};
  }
  std::vector<Bytes> Buffers(Inputs& in) const {
    return {{in.tokens.data(), in.tokens.size() * sizeof(int)}};
  }
  size_t OutputSize() const {
    size_t n = 1;
    for (const auto* t : Tensors(*weights)) n += t->size();
    return n;
  }
  void Run(Inputs& in, float* out) const {
    const float loss =
        trainer->ComputeGradients(std::span<const int>(in.tokens.data(), in.tokens.size()));
    for (const auto* t : Tensors(trainer->gradients())) out = std::copy(t->begin(), t->end(), out);
    *out = loss;
  }
  ::testing::AssertionResult MatchesReference(const Inputs& in, const float* out) const {
    ModelWeights grads;
    const double loss = TrainingLossRef(
        *weights, std::span<const int>(in.tokens.data(), in.tokens.size()), batch, seq_len, &grads);
    for (const auto* t : Tensors(grads)) {
      const double error = MaxRelativeError(out, t->data(), t->size());
      if (!(error <= 2e-4)) {
        return ::testing::AssertionFailure() << "gradient normwise error " << error << " > 2e-4";
      }
      out += t->size();
    }
    if (!(std::fabs(*out - loss) <= 1e-5 * loss)) {
      return ::testing::AssertionFailure() << "loss " << *out << " vs reference " << loss;
    }
    // ComputeGradients must not change the weights.
    const ModelWeights fresh = RandomWeights(config, weight_seed, 0.3f);
    const auto a = Tensors(*weights), b = Tensors(fresh);
    for (size_t i = 0; i < a.size(); ++i) {
      if (*a[i] != *b[i]) return ::testing::AssertionFailure() << "weights changed by the call";
    }
    return ::testing::AssertionSuccess();
  }
  void PerturbElement(Inputs& in, uint64_t seed) const {
    in.tokens[SplitMix64(seed) % in.tokens.size()] =
        static_cast<int>(SplitMix64(seed) % config.vocab);
  }
  void PerturbRow(Inputs& in, uint64_t seed) const {
    const size_t row = SplitMix64(seed) % batch;
    for (int t = 0; t <= seq_len; ++t) {
      in.tokens[row * (seq_len + 1) + t] = static_cast<int>(SplitMix64(seed) % config.vocab);
    }
  }
};

ModelConfig SmallConfig(int vocab, int dim, int layers, int heads, int kv_heads, int head_dim,
                        int ffn, int max_positions, bool tied) {
  ModelConfig c;
  c.vocab = vocab;
  c.dim = dim;
  c.n_layers = layers;
  c.n_heads = heads;
  c.n_kv_heads = kv_heads;
  c.head_dim = head_dim;
  c.ffn_dim = ffn;
  c.max_positions = max_positions;
  c.tie_embeddings = tied;
  return c;
}

TEST(History, TrainerGradients) {
  {
    TrainerGradientsCase c(SmallConfig(37, 24, 2, 4, 2, 6, 40, 12, false), 2, 9,
                           TestSeedFor(17000));
    CheckHistory(c, TestSeedFor(17001), "gqa 2x9");
  }
  {
    TrainerGradientsCase c(SmallConfig(19, 16, 1, 2, 1, 8, 23, 8, true), 3, 5, TestSeedFor(17002));
    CheckHistory(c, TestSeedFor(17003), "tied 3x5");
  }
  {
    TrainerGradientsCase c(SmallConfig(5, 4, 1, 1, 1, 4, 3, 2, false), 1, 1, TestSeedFor(17004));
    CheckHistory(c, TestSeedFor(17005), "tiny 1x1");
  }
}

// Output: dlogits, then the loss.
struct CrossEntropyCase {
  int rows, vocab;
  struct Inputs {
    Buffer<float> logits;
    Buffer<int> targets;
  };
  Inputs Make(uint64_t seed) const {
    Inputs in{RandomFloats(size_t(rows) * vocab, seed, -6.0f, 6.0f), Buffer<int>(rows)};
    for (int& t : in.targets) t = static_cast<int>(SplitMix64(seed) % vocab);
    return in;
  }
  std::vector<Bytes> Buffers(Inputs& in) const {
    return {{in.logits.data(), in.logits.size() * sizeof(float)},
            {in.targets.data(), in.targets.size() * sizeof(int)}};
  }
  size_t OutputSize() const { return size_t(rows) * vocab + 1; }
  void Run(Inputs& in, float* out) const {
    out[size_t(rows) * vocab] =
        CrossEntropyForwardBackward(in.logits.data(), in.targets.data(), out, rows, vocab);
  }
  ::testing::AssertionResult MatchesReference(const Inputs& in, const float* out) const {
    std::vector<float> want(size_t(rows) * vocab);
    const float loss = CrossEntropyForwardBackwardRef(in.logits.data(), in.targets.data(),
                                                      want.data(), rows, vocab);
    for (size_t i = 0; i < want.size(); ++i) {
      if (!(std::fabs(out[i] - want[i]) <= 1e-6 / rows)) {
        return ::testing::AssertionFailure()
               << "dlogits[" << i << "] " << out[i] << " vs " << want[i];
      }
    }
    if (!(std::fabs(out[want.size()] - loss) <= 1e-5 * std::max(1.0f, loss))) {
      return ::testing::AssertionFailure() << "loss " << out[want.size()] << " vs " << loss;
    }
    return ::testing::AssertionSuccess();
  }
  void PerturbElement(Inputs& in, uint64_t seed) const {
    in.logits[SplitMix64(seed) % in.logits.size()] = history::RandomFloat(seed, -6.0f, 6.0f);
  }
  void PerturbRow(Inputs& in, uint64_t seed) const {
    const size_t row = SplitMix64(seed) % rows;
    for (int j = 0; j < vocab; ++j)
      in.logits[row * vocab + j] = history::RandomFloat(seed, -6.0f, 6.0f);
    in.targets[row] = static_cast<int>(SplitMix64(seed) % vocab);
  }
};

TEST(History, TrainCrossEntropy) {
  const CrossEntropyCase cases[] = {{1, 1}, {3, 7}, {17, 33}, {64, 256}, {2, 5000}};
  uint64_t salt = 17100;
  for (const CrossEntropyCase& c : cases) {
    CheckHistory(c, TestSeedFor(++salt),
                 "CrossEntropy " + std::to_string(c.rows) + "x" + std::to_string(c.vocab));
  }
}

// The backward products of a linear layer add into their output, so its prior contents are an
// input (`initial`): Run copies them into the output, then calls the kernel.
struct LinearBackwardCase {
  int M, N, K;
  bool weight;  // LinearBackwardWeight (dW[N,K]) or LinearBackwardInput (dx[M,K])
  mutable std::vector<float> scratch = std::vector<float>(size_t(M) * N);
  struct Inputs {
    Buffer<float> dy, other, initial;  // other: W for the input gradient, x for the weight's
  };
  size_t OutputSize() const { return weight ? size_t(N) * K : size_t(M) * K; }
  Inputs Make(uint64_t seed) const {
    return {RandomFloats(size_t(M) * N, seed),
            RandomFloats(weight ? size_t(M) * K : size_t(N) * K, ~seed),
            RandomFloats(OutputSize(), seed ^ 0x77)};
  }
  std::vector<Bytes> Buffers(Inputs& in) const {
    return {{in.dy.data(), in.dy.size() * sizeof(float)},
            {in.other.data(), in.other.size() * sizeof(float)},
            {in.initial.data(), in.initial.size() * sizeof(float)}};
  }
  void Run(Inputs& in, float* out) const {
    std::copy(in.initial.begin(), in.initial.end(), out);
    if (weight) {
      LinearBackwardWeight(in.dy.data(), in.other.data(), out, M, N, K, scratch.data());
    } else {
      LinearBackwardInput(in.dy.data(), in.other.data(), out, M, N, K);
    }
  }
  ::testing::AssertionResult MatchesReference(const Inputs& in, const float* out) const {
    std::vector<float> want(in.initial.begin(), in.initial.end());
    if (weight) {
      LinearBackwardWeightRef(in.dy.data(), in.other.data(), want.data(), M, N, K);
    } else {
      LinearBackwardInputRef(in.dy.data(), in.other.data(), want.data(), M, N, K);
    }
    const int terms = weight ? M : N;
    const double tolerance = 8.0 * (std::sqrt(double(terms)) + 2.0) * 1.1920929e-7;
    // Relative to the larger of the result and the prior contents, which may cancel.
    double error = 0.0, scale = 0.0;
    for (size_t i = 0; i < want.size(); ++i) {
      error = std::isnan(out[i]) ? INFINITY : std::max(error, double(std::fabs(out[i] - want[i])));
      scale = std::max({scale, double(std::fabs(want[i])), double(std::fabs(in.initial[i]))});
    }
    if (scale > 0) error /= scale;
    if (error <= tolerance) return ::testing::AssertionSuccess();
    return ::testing::AssertionFailure() << "normwise error " << error << " > " << tolerance;
  }
  void PerturbElement(Inputs& in, uint64_t seed) const {
    in.dy[SplitMix64(seed) % in.dy.size()] = history::RandomFloat(seed, -1.0f, 1.0f);
  }
  // A row of dy: every entry of dW changes (for dx, one row).
  void PerturbRow(Inputs& in, uint64_t seed) const {
    const size_t row = SplitMix64(seed) % M;
    for (int n = 0; n < N; ++n) in.dy[row * N + n] = history::RandomFloat(seed, -1.0f, 1.0f);
  }
};

TEST(History, TrainLinearBackward) {
  const int shapes[][3] = {{1, 1, 1}, {3, 5, 7}, {17, 31, 65}, {256, 384, 128}, {256, 128, 384}};
  uint64_t salt = 17200;
  for (const auto& s : shapes) {
    for (bool weight : {false, true}) {
      CheckHistory(LinearBackwardCase{s[0], s[1], s[2], weight}, TestSeedFor(++salt),
                   std::string(weight ? "LinearBackwardWeight " : "LinearBackwardInput ") +
                       std::to_string(s[0]) + "x" + std::to_string(s[1]) + "x" +
                       std::to_string(s[2]));
    }
  }
}

}  // namespace
}  // namespace rlvr
