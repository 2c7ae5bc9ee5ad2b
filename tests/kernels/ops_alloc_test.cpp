// Proves the op kernels allocate nothing per call once warmed up (the first call may create the
// thread pool).
#include <gtest/gtest.h>

#include <vector>

#include "kernels/activation.h"
#include "kernels/attention.h"
#include "kernels/quant.h"
#include "kernels/rmsnorm.h"
#include "kernels/rope.h"
#include "kernels/sampler.h"
#include "kernels/softmax.h"
#include "tests/common/alloc_counter.h"
#include "tests/common/test_seed.h"
#include "tests/kernels/ops_test_util.h"

namespace rlvr {
namespace {

TEST(AllocSampler, SampleAllocatesNothingInEveryMode) {
  test::Rng rng(TestSeedFor(801));
  const int vocab = 32000;
  const std::vector<float> logits = rng.Vector(vocab, -10.0f, 10.0f);
  const SamplerConfig configs[] = {
      {.temperature = 0.0f},
      {.temperature = 0.8f},
      {.temperature = 0.8f, .top_k = 40},
      {.temperature = 0.8f, .top_p = 0.9f},
      {.temperature = 0.8f, .top_k = 40, .top_p = 0.9f},
  };
  for (const SamplerConfig& config : configs) {
    Sampler sampler(vocab, config);
    sampler.Sample(logits.data());
    AllocationScope scope;
    int sum = 0;
    for (int i = 0; i < 5; ++i) sum += sampler.Sample(logits.data());
    sampler.Reset();
    sum += sampler.Sample(logits.data());
    EXPECT_EQ(scope.count(), 0u) << "T=" << config.temperature << " k=" << config.top_k
                                 << " p=" << config.top_p;
    EXPECT_GE(sum, 0);
  }
}

TEST(AllocAttention, DecodeAndPrefillAllocateNothing) {
  test::Rng rng(TestSeedFor(802));
  const int positions = 512, n_kv = 4, n_heads = 12, head_dim = 64;
  KVCache cache(2, positions, n_kv, head_dim);
  for (float& x : cache.k) x = rng.Uniform(-1.0f, 1.0f);
  for (float& x : cache.v) x = rng.Uniform(-1.0f, 1.0f);
  const int n_q = 16;
  std::vector<float> q = rng.Vector(static_cast<size_t>(n_q) * n_heads * head_dim);
  std::vector<float> out(q.size());
  for (int threads : {1, 2}) {
    AttentionScratch scratch(positions, threads);
    Attention(q.data(), cache, 1, positions - 1, 1, n_heads, out.data(), scratch);  // warm-up
    AllocationScope scope;
    Attention(q.data(), cache, 1, positions - 1, 1, n_heads, out.data(), scratch);
    Attention(q.data(), cache, 0, 100, n_q, n_heads, out.data(), scratch);
    EXPECT_EQ(scope.count(), 0u) << "threads=" << threads;
  }
}

TEST(AllocOps, ElementwiseRopeAndQuantizedMatVecAllocateNothing) {
  test::Rng rng(TestSeedFor(803));
  const int n = 4096, N = 512, K = 4096;
  std::vector<float> x = rng.Vector(n), w = rng.Vector(n), out(n), up = rng.Vector(n);
  RopeCache rope(64, 128);
  std::vector<float> w_float = rng.Vector(static_cast<size_t>(N) * K);
  std::vector<BlockQ8_0> w8(static_cast<size_t>(N) * K / kQuantBlock);
  std::vector<BlockQ4_0> w4(w8.size());
  QuantizeQ8_0(w_float.data(), w8.data(), N * K);
  QuantizeQ4_0(w_float.data(), w4.data(), N * K);
  std::vector<BlockQ8_0> scratch(K / kQuantBlock);
  std::vector<float> y(N);

  auto run_all = [&] {
    Softmax(out.data(), n);
    SoftmaxRows(out.data(), 4, n / 4);
    RmsNorm(x.data(), w.data(), out.data(), n);
    ApplyRope(out.data(), n / 64, 64, 77, rope);
    Silu(out.data(), n);
    SwiGLU(x.data(), up.data(), out.data(), n);
    MatVecQ8_0(w8.data(), x.data(), y.data(), N, K, scratch.data());
    MatVecQ4_0(w4.data(), x.data(), y.data(), N, K, scratch.data());
    QuantizeQ8_0(x.data(), scratch.data(), K);
    DequantizeQ8_0(scratch.data(), out.data(), K);
  };
  run_all();  // warm-up: the matvecs may start the thread pool
  AllocationScope scope;
  run_all();
  EXPECT_EQ(scope.count(), 0u);
}

}  // namespace
}  // namespace rlvr
