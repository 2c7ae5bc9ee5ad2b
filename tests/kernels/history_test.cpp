// History independence (issue 15): each kernel, run through the protocol of history_util.h, must
// give results that depend only on the inputs of the call: bit-identical for the same values
// whatever came before and wherever they are stored, the plain reference's within the kernel's
// tolerance after in-place changes, inputs untouched, output fully written at return. Shapes
// include the benchmarks' (which a kernel might special-case) as well as tiny and odd ones.
// Test names start with the kernel's name so a per-target filter selects them (History.Gemm*).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <numeric>
#include <span>
#include <string>
#include <vector>

#include "kernels/activation.h"
#include "kernels/attention.h"
#include "kernels/decoder.h"
#include "kernels/gemm.h"
#include "kernels/quant.h"
#include "kernels/reference/gemm_ref.h"
#include "kernels/reference/ops_ref.h"
#include "kernels/rmsnorm.h"
#include "kernels/rope.h"
#include "kernels/sampler.h"
#include "kernels/softmax.h"
#include "kernels/thread_pool.h"
#include "tests/common/test_seed.h"
#include "tests/kernels/history_util.h"

namespace rlvr {
namespace {

using history::Buffer;
using history::Bytes;
using history::CheckHistory;
using history::RandomFloat;
using history::RandomFloats;

template <typename T, typename A>
Bytes BytesOf(std::vector<T, A>& v) {
  return {v.data(), v.size() * sizeof(T)};
}
template <typename T>
Bytes BytesOfValue(T& value) {
  return {&value, sizeof(T)};
}

std::string Shape(std::initializer_list<int> dims) {
  std::string s;
  for (int d : dims) {
    if (!s.empty()) s += 'x';
    s += std::to_string(d);
  }
  return s;
}

// Sets `count` consecutive values of v, starting at a random place, to new random values.
void Rewrite(float* v, size_t n, size_t count, uint64_t seed, float lo = -1.0f, float hi = 1.0f) {
  count = std::min(count, n);
  size_t start = SplitMix64(seed) % (n - count + 1);
  for (size_t i = 0; i < count; ++i) v[start + i] = RandomFloat(seed, lo, hi);
}

// Element-wise |got - want| <= abs + rel * |want|.
::testing::AssertionResult WithinElementwise(const float* got, const float* want, size_t n,
                                             double abs, double rel) {
  for (size_t i = 0; i < n; ++i) {
    double allowed = abs + rel * std::fabs(static_cast<double>(want[i]));
    if (!(std::fabs(static_cast<double>(got[i]) - want[i]) <= allowed)) {
      return ::testing::AssertionFailure() << "entry " << i << ": " << got[i] << " vs reference "
                                           << want[i] << " (allowed " << allowed << ")";
    }
  }
  return ::testing::AssertionSuccess();
}

::testing::AssertionResult WithinNormwise(const float* got, const float* want, size_t n,
                                          double tolerance) {
  double error = MaxRelativeError(got, want, n);
  if (error <= tolerance) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure()
         << "normwise relative error " << error << " > tolerance " << tolerance;
}

// --- GEMM, Linear, MatVec -------------------------------------------------------------------

// gemm_test.cpp's tolerance for a K-term float dot product: 8 * (sqrt(K) + 2) * eps, normwise.
double DotTolerance(int K) {
  return 8.0 * (std::sqrt(static_cast<double>(K)) + 2.0) * std::numeric_limits<float>::epsilon();
}

// Normwise check of `samples` random entries (plus the first and last, and one random entry in
// every row and every column) of an M x N product whose entry (i, j) is entry(i, j): for outputs
// too large to recompute whole in a fast test. Every row and column is seen, so a result left
// stale after a change to one row of A or one column of B is always caught (random samples alone
// missed it in about one seed of a hundred: RedTeam arena_stash passed History in a CI run).
template <typename Entry>
::testing::AssertionResult SampledWithin(const float* got, int M, int N, Entry entry,
                                         double tolerance, uint64_t seed, int samples = 256) {
  const size_t n = static_cast<size_t>(M) * N;
  double max_error = 0.0, max_want = 0.0;
  for (int s = -2 - M - N; s < samples; ++s) {
    size_t index;
    if (s < -2 - N) {  // row s + 2 + M + N, a random column
      index = static_cast<size_t>(s + 2 + M + N) * N + SplitMix64(seed) % N;
    } else if (s < -2) {  // column s + 2 + N, a random row
      index = (SplitMix64(seed) % M) * N + static_cast<size_t>(s + 2 + N);
    } else {
      index = s == -2 ? 0 : s == -1 ? n - 1 : SplitMix64(seed) % n;
    }
    double want = entry(static_cast<int>(index / N), static_cast<int>(index % N));
    max_error = std::max(max_error, std::fabs(got[index] - want));
    if (std::isnan(got[index])) max_error = std::numeric_limits<double>::infinity();
    max_want = std::max(max_want, std::fabs(want));
  }
  double error = max_want > 0 ? max_error / max_want : max_error;
  if (error <= tolerance) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure()
         << "sampled normwise relative error " << error << " > tolerance " << tolerance;
}

struct GemmCase {
  int M, N, K;
  float alpha = 1.0f;
  bool sampled = false;  // check sampled entries only (large shapes)
  struct Inputs {
    Buffer<float> A, B;
  };
  Inputs Make(uint64_t seed) const {
    return {RandomFloats(size_t(M) * K, seed), RandomFloats(size_t(K) * N, ~seed)};
  }
  std::vector<Bytes> Buffers(Inputs& in) const { return {BytesOf(in.A), BytesOf(in.B)}; }
  size_t OutputSize() const { return size_t(M) * N; }
  void Run(Inputs& in, float* out) const {
    Gemm(in.A.data(), in.B.data(), out, M, N, K, alpha, 0.0f);
  }
  ::testing::AssertionResult MatchesReference(const Inputs& in, const float* out) const {
    if (sampled) {
      return SampledWithin(
          out, M, N,
          [&](int i, int j) { return alpha * GemmRefEntry(in.A.data(), in.B.data(), N, K, i, j); },
          DotTolerance(K), TestSeedFor(M * 31 + N));
    }
    std::vector<float> want(OutputSize());
    GemmRef(in.A.data(), in.B.data(), want.data(), M, N, K, alpha, 0.0f);
    return WithinNormwise(out, want.data(), want.size(), DotTolerance(K));
  }
  void PerturbElement(Inputs& in, uint64_t seed) const {
    Rewrite(in.A.data(), in.A.size(), 1, seed);
  }
  // A full row of B, as the benchmark does: every entry of C changes.
  void PerturbRow(Inputs& in, uint64_t seed) const {
    int row = static_cast<int>(SplitMix64(seed) % K);
    for (int j = 0; j < N; ++j) in.B[size_t(row) * N + j] = RandomFloat(seed, -1.0f, 1.0f);
  }
};

TEST(History, GemmTinyAndOdd) {
  const GemmCase cases[] = {
      {1, 1, 1}, {3, 5, 7}, {17, 31, 65}, {127, 129, 67}, {13, 700, 100, 0.5f}, {200, 33, 300}};
  uint64_t salt = 15000;
  for (const GemmCase& c : cases) {
    CheckHistory(c, TestSeedFor(++salt), "Gemm " + Shape({c.M, c.N, c.K}));
  }
}

TEST(History, GemmBenchmarkShapes) {
  CheckHistory(GemmCase{256, 256, 256}, TestSeedFor(15100), "Gemm 256");
  CheckHistory(GemmCase{1024, 1024, 1024, 1.0f, /*sampled=*/true}, TestSeedFor(15101), "Gemm 1024");
}

struct LinearCase {
  int M, N, K;
  bool sampled = false;  // check sampled entries only (large shapes)
  struct Inputs {
    Buffer<float> x, W;
  };
  Inputs Make(uint64_t seed) const {
    return {RandomFloats(size_t(M) * K, seed), RandomFloats(size_t(N) * K, ~seed)};
  }
  std::vector<Bytes> Buffers(Inputs& in) const { return {BytesOf(in.x), BytesOf(in.W)}; }
  size_t OutputSize() const { return size_t(M) * N; }
  void Run(Inputs& in, float* out) const { Linear(in.x.data(), in.W.data(), out, M, N, K); }
  ::testing::AssertionResult MatchesReference(const Inputs& in, const float* out) const {
    if (sampled) {
      auto entry = [&](int i, int j) {
        double sum = 0.0;
        for (int k = 0; k < K; ++k)
          sum += double(in.x[size_t(i) * K + k]) * in.W[size_t(j) * K + k];
        return sum;
      };
      return SampledWithin(out, M, N, entry, DotTolerance(K), TestSeedFor(M * 31 + N));
    }
    std::vector<float> want(OutputSize());
    LinearRef(in.x.data(), in.W.data(), want.data(), M, N, K);
    return WithinNormwise(out, want.data(), want.size(), DotTolerance(K));
  }
  void PerturbElement(Inputs& in, uint64_t seed) const {
    Rewrite(in.x.data(), in.x.size(), 1, seed);
  }
  void PerturbRow(Inputs& in, uint64_t seed) const {
    int row = static_cast<int>(SplitMix64(seed) % N);
    Rewrite(in.W.data() + size_t(row) * K, K, K, seed);
  }
};

TEST(History, LinearTinyOddAndBenchmarkShapes) {
  const LinearCase cases[] = {
      {1, 1, 1},      {3, 17, 31},           {7, 65, 130},         {1, 2048, 768},
      {1, 768, 2048}, {32, 2048, 768, true}, {32, 768, 2048, true}};
  uint64_t salt = 15200;
  for (const LinearCase& c : cases) {
    CheckHistory(c, TestSeedFor(++salt), "Linear " + Shape({c.M, c.N, c.K}));
  }
}

struct MatVecCase {
  int N, K;
  bool sampled = false;  // check sampled rows only (large shapes)
  struct Inputs {
    Buffer<float> W, x;
  };
  Inputs Make(uint64_t seed) const {
    return {RandomFloats(size_t(N) * K, seed), RandomFloats(K, ~seed)};
  }
  std::vector<Bytes> Buffers(Inputs& in) const { return {BytesOf(in.W), BytesOf(in.x)}; }
  size_t OutputSize() const { return N; }
  void Run(Inputs& in, float* out) const { MatVec(in.W.data(), in.x.data(), out, N, K); }
  ::testing::AssertionResult MatchesReference(const Inputs& in, const float* out) const {
    if (sampled) {
      auto entry = [&](int i, int) {
        double sum = 0.0;
        for (int k = 0; k < K; ++k) sum += double(in.W[size_t(i) * K + k]) * in.x[k];
        return sum;
      };
      return SampledWithin(out, N, 1, entry, DotTolerance(K), TestSeedFor(N));
    }
    std::vector<float> want(N);
    MatVecRef(in.W.data(), in.x.data(), want.data(), N, K);
    return WithinNormwise(out, want.data(), want.size(), DotTolerance(K));
  }
  void PerturbElement(Inputs& in, uint64_t seed) const { Rewrite(in.x.data(), K, 1, seed); }
  void PerturbRow(Inputs& in, uint64_t seed) const {
    int row = static_cast<int>(SplitMix64(seed) % N);
    Rewrite(in.W.data() + size_t(row) * K, K, K, seed);
  }
};

TEST(History, MatVecTinyOddAndBenchmarkShapes) {
  const MatVecCase cases[] = {{1, 1},     {3, 17}, {65, 31}, {1024, 1024}, {4096, 4096, true},
                              {4099, 257}};
  uint64_t salt = 15300;
  for (const MatVecCase& c : cases) {
    CheckHistory(c, TestSeedFor(++salt), "MatVec " + Shape({c.N, c.K}));
  }
}

// --- Softmax, RMSNorm, RoPE, SiLU/SwiGLU ----------------------------------------------------

// The tolerances of softmax_test.cpp: 1e-5 relative plus 1e-7 absolute. Softmax works in place,
// so Run copies the logits into the output buffer first.
struct SoftmaxCase {
  int rows, cols;  // rows == 0: Softmax over cols values; else SoftmaxRows
  struct Inputs {
    Buffer<float> logits;
  };
  // Logits in [-10, 10] with, in each row, one outlier 80-100 above the rest at a position drawn
  // from the seed (first, last or anywhere): a kernel that shifts by some other logit than the
  // maximum overflows on them (the first-logit shift of tests/fixtures/redteam).
  Inputs Make(uint64_t seed) const {
    Inputs in{RandomFloats(OutputSize(), seed, -10.0f, 10.0f)};
    for (int r = 0; r < std::max(rows, 1); ++r) {
      uint64_t draw = (seed + 0x9e3779b97f4a7c15ull * uint64_t(r + 1)) >> 7;
      int at = draw % 3 == 0 ? 0 : draw % 3 == 1 ? cols - 1 : int((draw >> 3) % uint64_t(cols));
      in.logits.data()[size_t(r) * cols + at] = 90.0f + float((draw >> 20) % 11);
    }
    return in;
  }
  std::vector<Bytes> Buffers(Inputs& in) const { return {BytesOf(in.logits)}; }
  size_t OutputSize() const { return size_t(std::max(rows, 1)) * cols; }
  void Run(Inputs& in, float* out) const {
    std::memcpy(out, in.logits.data(), OutputSize() * sizeof(float));
    if (rows == 0) {
      Softmax(out, cols);
    } else {
      SoftmaxRows(out, rows, cols);
    }
  }
  ::testing::AssertionResult MatchesReference(const Inputs& in, const float* out) const {
    std::vector<float> want(OutputSize());
    for (int r = 0; r < std::max(rows, 1); ++r) {
      SoftmaxRef(in.logits.data() + size_t(r) * cols, want.data() + size_t(r) * cols, cols);
    }
    return WithinElementwise(out, want.data(), want.size(), 1e-7, 1e-5);
  }
  void PerturbElement(Inputs& in, uint64_t seed) const {
    Rewrite(in.logits.data(), in.logits.size(), 1, seed, -10.0f, 10.0f);
  }
  void PerturbRow(Inputs& in, uint64_t seed) const {
    Rewrite(in.logits.data(), in.logits.size(), std::min(cols, 64), seed, -10.0f, 10.0f);
  }
};

TEST(History, SoftmaxSizes) {
  uint64_t salt = 15400;
  for (int n : {1, 2, 7, 33, 1000, 32000, 32001}) {
    CheckHistory(SoftmaxCase{0, n}, TestSeedFor(++salt), "Softmax " + std::to_string(n));
  }
}

TEST(History, SoftmaxRows) {
  uint64_t salt = 15450;
  for (auto [rows, cols] : {std::pair{1, 1}, std::pair{3, 37}, std::pair{12, 129}}) {
    CheckHistory(SoftmaxCase{rows, cols}, TestSeedFor(++salt),
                 "SoftmaxRows " + Shape({rows, cols}));
  }
}

// rmsnorm_test.cpp: 1e-5 relative, 1e-6 absolute.
struct RmsNormCase {
  int n;
  struct Inputs {
    Buffer<float> x, weight;
  };
  Inputs Make(uint64_t seed) const { return {RandomFloats(n, seed), RandomFloats(n, ~seed)}; }
  std::vector<Bytes> Buffers(Inputs& in) const { return {BytesOf(in.x), BytesOf(in.weight)}; }
  size_t OutputSize() const { return n; }
  void Run(Inputs& in, float* out) const { RmsNorm(in.x.data(), in.weight.data(), out, n); }
  ::testing::AssertionResult MatchesReference(const Inputs& in, const float* out) const {
    std::vector<float> want(n);
    RmsNormRef(in.x.data(), in.weight.data(), want.data(), n);
    return WithinElementwise(out, want.data(), n, 1e-6, 1e-5);
  }
  void PerturbElement(Inputs& in, uint64_t seed) const { Rewrite(in.x.data(), n, 1, seed); }
  void PerturbRow(Inputs& in, uint64_t seed) const { Rewrite(in.weight.data(), n, 16, seed); }
};

TEST(History, RmsNormSizes) {
  uint64_t salt = 15500;
  for (int n : {1, 5, 17, 768, 4096, 4097}) {
    CheckHistory(RmsNormCase{n}, TestSeedFor(++salt), "RmsNorm " + std::to_string(n));
  }
}

// rope_test.cpp: 2e-6 absolute. In place, so Run copies the vectors into the output first. The
// cos/sin tables are inputs too (each set has its own).
struct RopeCase {
  int n_heads, head_dim, pos, max_positions;
  struct Inputs {
    Buffer<float> vec;
    RopeCache cache;
  };
  Inputs Make(uint64_t seed) const {
    return {RandomFloats(OutputSize(), seed, -2.0f, 2.0f), RopeCache(head_dim, max_positions)};
  }
  std::vector<Bytes> Buffers(Inputs& in) const {
    return {BytesOf(in.vec), BytesOf(in.cache.cos), BytesOf(in.cache.sin)};
  }
  size_t OutputSize() const { return size_t(n_heads) * head_dim; }
  void Run(Inputs& in, float* out) const {
    std::memcpy(out, in.vec.data(), OutputSize() * sizeof(float));
    ApplyRope(out, n_heads, head_dim, pos, in.cache);
  }
  ::testing::AssertionResult MatchesReference(const Inputs& in, const float* out) const {
    std::vector<float> want(in.vec.begin(), in.vec.end());
    RopeRef(want.data(), n_heads, head_dim, pos, in.cache.theta);
    return WithinElementwise(out, want.data(), want.size(), 2e-6, 0.0);
  }
  void PerturbElement(Inputs& in, uint64_t seed) const {
    Rewrite(in.vec.data(), in.vec.size(), 1, seed, -2.0f, 2.0f);
  }
  void PerturbRow(Inputs& in, uint64_t seed) const {
    int head = static_cast<int>(SplitMix64(seed) % n_heads);
    Rewrite(in.vec.data() + size_t(head) * head_dim, head_dim, head_dim, seed, -2.0f, 2.0f);
  }
};

TEST(History, RopeShapes) {
  const RopeCase cases[] = {
      {1, 2, 0, 4}, {3, 6, 7, 16}, {12, 64, 1000, 2048}, {4, 128, 2047, 2048}, {5, 10, 13, 20}};
  uint64_t salt = 15600;
  for (const RopeCase& c : cases) {
    CheckHistory(c, TestSeedFor(++salt),
                 "Rope " + Shape({c.n_heads, c.head_dim}) + " pos " + std::to_string(c.pos));
  }
}

// activation_test.cpp: 1e-6 relative, 1e-7 absolute.
struct SwiGLUCase {
  int n;
  struct Inputs {
    Buffer<float> gate, up;
  };
  Inputs Make(uint64_t seed) const {
    return {RandomFloats(n, seed, -6.0f, 6.0f), RandomFloats(n, ~seed)};
  }
  std::vector<Bytes> Buffers(Inputs& in) const { return {BytesOf(in.gate), BytesOf(in.up)}; }
  size_t OutputSize() const { return n; }
  void Run(Inputs& in, float* out) const { SwiGLU(in.gate.data(), in.up.data(), out, n); }
  ::testing::AssertionResult MatchesReference(const Inputs& in, const float* out) const {
    std::vector<float> want(n);
    SwiGLURef(in.gate.data(), in.up.data(), want.data(), n);
    return WithinElementwise(out, want.data(), n, 1e-7, 1e-6);
  }
  void PerturbElement(Inputs& in, uint64_t seed) const {
    Rewrite(in.gate.data(), n, 1, seed, -6.0f, 6.0f);
  }
  void PerturbRow(Inputs& in, uint64_t seed) const { Rewrite(in.up.data(), n, 16, seed); }
};

TEST(History, SwiGLUSizes) {
  uint64_t salt = 15700;
  for (int n : {1, 15, 2048, 2049}) {
    CheckHistory(SwiGLUCase{n}, TestSeedFor(++salt), "SwiGLU " + std::to_string(n));
  }
}

// In place, so Run copies x into the output first.
struct SiluCase {
  int n;
  struct Inputs {
    Buffer<float> x;
  };
  Inputs Make(uint64_t seed) const { return {RandomFloats(n, seed, -6.0f, 6.0f)}; }
  std::vector<Bytes> Buffers(Inputs& in) const { return {BytesOf(in.x)}; }
  size_t OutputSize() const { return n; }
  void Run(Inputs& in, float* out) const {
    std::memcpy(out, in.x.data(), n * sizeof(float));
    Silu(out, n);
  }
  ::testing::AssertionResult MatchesReference(const Inputs& in, const float* out) const {
    std::vector<float> want(n);
    SiluRef(in.x.data(), want.data(), n);
    return WithinElementwise(out, want.data(), n, 1e-7, 1e-6);
  }
  void PerturbElement(Inputs& in, uint64_t seed) const {
    Rewrite(in.x.data(), n, 1, seed, -6.0f, 6.0f);
  }
  void PerturbRow(Inputs& in, uint64_t seed) const {
    Rewrite(in.x.data(), n, 16, seed, -6.0f, 6.0f);
  }
};

TEST(History, SiluSizes) {
  uint64_t salt = 15750;
  for (int n : {1, 17, 2048, 2049}) {
    CheckHistory(SiluCase{n}, TestSeedFor(++salt), "Silu " + std::to_string(n));
  }
}

// --- Attention --------------------------------------------------------------------------------

// attention_test.cpp: 2e-6 absolute. The KV cache (keys, values, length) and the queries are
// inputs; the scratch is the kernel's and belongs to the set.
struct AttentionCase {
  int n_layers, max_positions, n_kv_heads, group, head_dim, layer, start_pos, n_q;
  int n_heads() const { return n_kv_heads * group; }
  struct Inputs {
    KVCache cache;
    Buffer<float> q;
    AttentionScratch scratch;
  };
  Inputs Make(uint64_t seed) const {
    Inputs in{KVCache(n_layers, max_positions, n_kv_heads, head_dim),
              RandomFloats(OutputSize(), seed, -2.0f, 2.0f),
              AttentionScratch(max_positions, DefaultPool().threads())};
    uint64_t state = ~seed;
    for (float& v : in.cache.k) v = RandomFloat(state, -1.0f, 1.0f);
    for (float& v : in.cache.v) v = RandomFloat(state, -1.0f, 1.0f);
    in.cache.length = start_pos + n_q;
    return in;
  }
  std::vector<Bytes> Buffers(Inputs& in) const {
    return {BytesOf(in.cache.k), BytesOf(in.cache.v), BytesOfValue(in.cache.length), BytesOf(in.q)};
  }
  size_t OutputSize() const { return size_t(n_q) * n_heads() * head_dim; }
  void Run(Inputs& in, float* out) const {
    Attention(in.q.data(), in.cache, layer, start_pos, n_q, n_heads(), out, in.scratch);
  }
  ::testing::AssertionResult MatchesReference(const Inputs& in, const float* out) const {
    std::vector<float> want(OutputSize());
    AttentionRef(in.q.data(), in.cache, layer, start_pos, n_q, n_heads(), want.data());
    return WithinElementwise(out, want.data(), want.size(), 2e-6, 0.0);
  }
  void PerturbElement(Inputs& in, uint64_t seed) const {
    Rewrite(in.q.data(), in.q.size(), 1, seed, -2.0f, 2.0f);
  }
  // The key row of one attended position.
  void PerturbRow(Inputs& in, uint64_t seed) const {
    int pos = static_cast<int>(SplitMix64(seed) % (start_pos + 1));
    Rewrite(in.cache.K(layer, pos), in.cache.row_size(), in.cache.row_size(), seed);
  }
};

TEST(History, AttentionShapes) {
  const AttentionCase cases[] = {
      {1, 1, 1, 1, 1, 0, 0, 1},        {2, 17, 2, 2, 7, 1, 9, 3},
      {1, 40, 3, 1, 16, 0, 39, 1},     {1, 512, 4, 3, 64, 0, 511, 1},  // BM_Attention/512
      {1, 2048, 4, 3, 64, 0, 2047, 1}, {2, 33, 1, 4, 128, 1, 20, 13}};
  uint64_t salt = 15800;
  for (const AttentionCase& c : cases) {
    CheckHistory(c, TestSeedFor(++salt),
                 "Attention kv " + Shape({c.n_kv_heads, c.group, c.head_dim}) + " start " +
                     std::to_string(c.start_pos) + " n_q " + std::to_string(c.n_q));
  }
}

// --- Quantized matrix-vector products ---------------------------------------------------------

// W is drawn directly as random blocks (scales in [2^-8, 2^-7), values in [-127, 127] or any
// nibble), so large W are cheap to make.
void RandomBlocks(BlockQ8_0* blocks, size_t count, uint64_t seed) {
  for (size_t b = 0; b < count; ++b) {
    blocks[b].d = static_cast<uint16_t>((7u << 10) | (SplitMix64(seed) & 0x3ff));
    for (int j = 0; j < kQuantBlock; j += 8) {
      uint64_t bits = SplitMix64(seed);
      for (int i = 0; i < 8; ++i, bits >>= 8) {
        blocks[b].qs[j + i] = static_cast<int8_t>(static_cast<int>(bits & 0xff) % 255 - 127);
      }
    }
  }
}
void RandomBlocks(BlockQ4_0* blocks, size_t count, uint64_t seed) {
  for (size_t b = 0; b < count; ++b) {
    blocks[b].d = static_cast<uint16_t>((7u << 10) | (SplitMix64(seed) & 0x3ff));
    uint64_t low = SplitMix64(seed), high = SplitMix64(seed);
    std::memcpy(blocks[b].qs, &low, 8);
    std::memcpy(blocks[b].qs + 8, &high, 8);
  }
}

// quant_test.cpp's bound: per row, sum over k of |w_k| * (x's Q8_0 rounding bound in k's block
// + 1e-5 |x_k|) + 1e-6 (the kernels quantize x, the reference does not).
template <typename Block>
struct QuantMatVecCase {
  using MatVecFn = void (*)(const Block*, const float*, float*, int, int, BlockQ8_0*);
  using RefFn = void (*)(const Block*, const float*, float*, int, int);
  using DequantizeFn = void (*)(const Block*, float*, int);
  MatVecFn matvec;
  RefFn matvec_ref;
  DequantizeFn dequantize_ref;
  int N, K;
  struct Inputs {
    Buffer<Block> W;
    Buffer<float> x;
    Buffer<BlockQ8_0> scratch;
  };
  Inputs Make(uint64_t seed) const {
    Inputs in{Buffer<Block>(size_t(N) * K / kQuantBlock), RandomFloats(K, ~seed, -3.0f, 3.0f),
              Buffer<BlockQ8_0>(K / kQuantBlock)};
    RandomBlocks(in.W.data(), in.W.size(), seed);
    return in;
  }
  std::vector<Bytes> Buffers(Inputs& in) const { return {BytesOf(in.W), BytesOf(in.x)}; }
  size_t OutputSize() const { return N; }
  void Run(Inputs& in, float* out) const {
    matvec(in.W.data(), in.x.data(), out, N, K, in.scratch.data());
  }
  // Rows checked: all of them, or for large N the first, the last and 64 random ones.
  ::testing::AssertionResult MatchesReference(const Inputs& in, const float* out) const {
    const int blocks = K / kQuantBlock;
    std::vector<int> rows;
    if (N <= 512) {
      for (int n = 0; n < N; ++n) rows.push_back(n);
    } else {
      uint64_t seed = TestSeedFor(N + K);
      rows = {0, N - 1};
      for (int s = 0; s < 64; ++s) rows.push_back(static_cast<int>(SplitMix64(seed) % N));
    }
    std::vector<double> x_err(blocks);
    for (int b = 0; b < blocks; ++b) {
      double amax = 0.0;
      for (int j = 0; j < kQuantBlock; ++j) {
        amax = std::max(amax, std::fabs(static_cast<double>(in.x[b * kQuantBlock + j])));
      }
      const double d = amax / 127.0;
      x_err[b] = 0.5 * d + 127.0 * std::fabs(HalfToFloatRef(FloatToHalf(d)) - d) + 1e-6 * d;
    }
    std::vector<float> row(K);
    for (int n : rows) {
      const Block* w = in.W.data() + size_t(n) * blocks;
      float want = 0.0f;
      matvec_ref(w, in.x.data(), &want, 1, K);
      dequantize_ref(w, row.data(), K);
      double tol = 1e-6;
      for (int k = 0; k < K; ++k) {
        tol += std::fabs(row[k]) * (x_err[k / kQuantBlock] + 1e-5 * std::fabs(in.x[k]));
      }
      if (!(std::fabs(out[n] - want) <= tol)) {
        return ::testing::AssertionFailure() << "row " << n << ": " << out[n] << " vs reference "
                                             << want << " (allowed " << tol << ")";
      }
    }
    return ::testing::AssertionSuccess();
  }
  void PerturbElement(Inputs& in, uint64_t seed) const {
    Rewrite(in.x.data(), K, 1, seed, -3.0f, 3.0f);
  }
  void PerturbRow(Inputs& in, uint64_t seed) const {
    const int blocks = K / kQuantBlock;
    int row = static_cast<int>(SplitMix64(seed) % N);
    RandomBlocks(in.W.data() + size_t(row) * blocks, blocks, seed);
  }
};

TEST(History, QuantMatVecQ8_0) {
  uint64_t salt = 15900;
  for (auto [N, K] : {std::pair{1, 32}, std::pair{17, 96}, std::pair{33, 256},
                      std::pair{4096, 4096}, std::pair{301, 4096}}) {
    CheckHistory(QuantMatVecCase<BlockQ8_0>{MatVecQ8_0, MatVecQ8_0Ref, DequantizeQ8_0Ref, N, K},
                 TestSeedFor(++salt), "MatVecQ8_0 " + Shape({N, K}));
  }
}

TEST(History, QuantMatVecQ4_0) {
  uint64_t salt = 15950;
  for (auto [N, K] :
       {std::pair{1, 32}, std::pair{17, 96}, std::pair{33, 256}, std::pair{4096, 4096}}) {
    CheckHistory(QuantMatVecCase<BlockQ4_0>{MatVecQ4_0, MatVecQ4_0Ref, DequantizeQ4_0Ref, N, K},
                 TestSeedFor(++salt), "MatVecQ4_0 " + Shape({N, K}));
  }
}

// --- Sampler ----------------------------------------------------------------------------------

// The sampler's output is a token and its state (the random stream) is part of its contract, so
// it gets its own protocol: from a Reset() the tokens drawn for given logits must be the same
// whatever was sampled before, from which buffers, and by which Sampler object; logits are
// never modified; and an in-place change that makes one token dominate must be followed.
std::vector<int> Draw(Sampler& sampler, const float* logits, int count) {
  sampler.Reset();
  std::vector<int> tokens(count);
  for (int& t : tokens) t = sampler.Sample(logits);
  return tokens;
}

void CheckSamplerHistory(int vocab, SamplerConfig config, uint64_t seed, const std::string& label) {
  SCOPED_TRACE(label);
  constexpr int kDraws = 8;
  Buffer<float> x = RandomFloats(vocab, seed, -10.0f, 10.0f);
  Buffer<float> y = RandomFloats(vocab, ~seed, -10.0f, 10.0f);
  Buffer<float> z = RandomFloats(vocab, seed ^ 0x2222, -10.0f, 10.0f);
  const Buffer<float> x_values = x, y_values = y;
  Sampler sampler(vocab, config);

  auto draw = [&](Sampler& s, Buffer<float>& logits) {
    Buffer<float> before = logits;
    std::vector<int> tokens = Draw(s, logits.data(), kDraws);
    EXPECT_TRUE(history::BitIdentical(logits.data(), before.data(), vocab)) << "logits modified";
    for (int t : tokens) EXPECT_TRUE(t >= 0 && t < vocab) << "token " << t;
    return tokens;
  };

  const std::vector<int> first_x = draw(sampler, x);
  const std::vector<int> first_y = draw(sampler, y);
  draw(sampler, z);
  std::memcpy(x.data(), y_values.data(), vocab * sizeof(float));
  EXPECT_EQ(draw(sampler, x), first_y) << "Y's values in X's buffer";
  std::memcpy(x.data(), x_values.data(), vocab * sizeof(float));
  EXPECT_EQ(draw(sampler, x), first_x) << "X restored";
  Buffer<float> x_fresh = x_values;
  Sampler fresh_sampler(vocab, config);
  EXPECT_EQ(draw(fresh_sampler, x_fresh), first_x) << "X in a fresh buffer, fresh sampler";
  EXPECT_EQ(draw(sampler, x), first_x) << "X repeated";

  // In place: make a random token dominate by far (every other logit at least 40 below: its
  // probability is 1 - vocab * exp(-40 / T) at worst), then another one.
  uint64_t state = seed ^ 0x3333;
  for (int round = 0; round < 3; ++round) {
    int winner = static_cast<int>(SplitMix64(state) % vocab);
    x[winner] = 60.0f;
    std::vector<int> tokens = draw(sampler, x);
    for (int t : tokens) EXPECT_EQ(t, winner) << "after making token " << winner << " dominate";
    x[winner] = x_values[winner];
  }
  EXPECT_EQ(draw(sampler, x), first_x) << "X restored after changes";
  // Greedy is fully determined: the argmax of the current logits.
  if (config.temperature == 0.0f) {
    int argmax = static_cast<int>(std::max_element(x.begin(), x.end()) - x.begin());
    EXPECT_EQ(first_x[0], argmax);
  }
}

TEST(History, SamplerGreedyTopKTopP) {
  uint64_t salt = 16000;
  for (int vocab : {1, 7, 1000, 32000}) {
    CheckSamplerHistory(vocab, {.temperature = 0.0f}, TestSeedFor(++salt),
                        "greedy " + std::to_string(vocab));
    CheckSamplerHistory(vocab, {.temperature = 0.8f, .top_k = 40, .seed = 1}, TestSeedFor(++salt),
                        "top-k " + std::to_string(vocab));
    CheckSamplerHistory(vocab, {.temperature = 0.8f, .top_p = 0.9f, .seed = 1}, TestSeedFor(++salt),
                        "top-p " + std::to_string(vocab));
    CheckSamplerHistory(vocab, {.temperature = 1.3f, .seed = 5}, TestSeedFor(++salt),
                        "temperature " + std::to_string(vocab));
  }
}

// --- Decoder ----------------------------------------------------------------------------------

// The decoder's history is its KV cache, by contract; nothing else may carry over. From the same
// context the next-token logits must be bit-identical whatever was decoded before (in this
// decoder or another) and whether the context came back by Reset or Truncate; and after a token
// changes, they must match a fresh decoder prefilling the new context (decoder_test.cpp's 1e-5
// normwise: prefill and decode differ in summation order). The logits buffer is poisoned before
// every call.
ModelConfig HistoryDecoderConfig() {
  ModelConfig c;
  c.vocab = 300;
  c.dim = 48;
  c.n_layers = 2;
  c.n_heads = 4;
  c.n_kv_heads = 2;
  c.head_dim = 12;
  c.ffn_dim = 96;
  c.max_positions = 40;
  return c;
}

std::vector<int> RandomTokens(int n, int vocab, uint64_t seed) {
  std::vector<int> tokens(n);
  for (int& t : tokens) t = static_cast<int>(SplitMix64(seed) % vocab);
  return tokens;
}

void CheckDecoderHistory(const ModelWeights& weights, int length, uint64_t seed,
                         const std::string& label) {
  SCOPED_TRACE(label);
  const int vocab = weights.config.vocab;
  const std::vector<int> x = RandomTokens(length, vocab, seed);
  const std::vector<int> y = RandomTokens(length, vocab, ~seed);
  Decoder decoder(weights);

  // Prefills all but the last token, steps the last; returns the logits as at return.
  auto run = [&](Decoder& d, const std::vector<int>& tokens, const char* what) {
    SCOPED_TRACE(what);
    d.Reset();
    if (tokens.size() > 1) d.Prefill(std::span<const int>(tokens.data(), tokens.size() - 1));
    history::FillPoison(const_cast<float*>(d.logits()), vocab);
    const float* logits = d.Step(tokens.back());
    EXPECT_TRUE(history::FullyWritten(logits, vocab));
    return std::vector<float>(logits, logits + vocab);
  };
  auto reference = [&](const std::vector<int>& tokens) {
    Decoder fresh(weights);
    const float* logits = fresh.Prefill(tokens);
    return std::vector<float>(logits, logits + vocab);
  };

  const std::vector<float> first_x = run(decoder, x, "X");
  EXPECT_LE(MaxRelativeError(first_x.data(), reference(x).data(), vocab), 1e-5);
  const std::vector<float> first_y = run(decoder, y, "Y");
  {
    Decoder other(weights);
    run(other, RandomTokens(length, vocab, seed ^ 0x2222), "Z in another decoder");
  }
  EXPECT_TRUE(history::BitIdentical(run(decoder, x, "X again").data(), first_x.data(), vocab));
  Decoder fresh(weights);
  EXPECT_TRUE(
      history::BitIdentical(run(fresh, x, "X in a fresh decoder").data(), first_x.data(), vocab));
  EXPECT_TRUE(history::BitIdentical(run(decoder, y, "Y again").data(), first_y.data(), vocab));

  // Change the last token, by Truncate (the benchmark's rewind), then a middle one.
  std::vector<int> changed = x;
  decoder.Reset();
  decoder.Prefill(x);
  decoder.Truncate(length - 1);
  changed.back() = (x.back() + 1) % vocab;
  history::FillPoison(const_cast<float*>(decoder.logits()), vocab);
  const float* logits = decoder.Step(changed.back());
  ASSERT_TRUE(history::FullyWritten(logits, vocab));
  EXPECT_LE(MaxRelativeError(logits, reference(changed).data(), vocab), 1e-5)
      << "last token changed after Truncate";
  changed[length / 2] = (changed[length / 2] + 7) % vocab;
  const std::vector<float> middle = run(decoder, changed, "middle token changed");
  EXPECT_LE(MaxRelativeError(middle.data(), reference(changed).data(), vocab), 1e-5)
      << "middle token changed";
  EXPECT_TRUE(history::BitIdentical(run(decoder, x, "X restored").data(), first_x.data(), vocab));
}

TEST(History, DecoderSmall) {
  const ModelWeights weights = RandomWeights(HistoryDecoderConfig(), TestSeedFor(16100), 0.2f);
  uint64_t salt = 16100;
  for (int length : {1, 2, 9, 40}) {
    CheckDecoderHistory(weights, length, TestSeedFor(++salt), "length " + std::to_string(length));
  }
}

TEST(History, DecoderMvp) {
  const ModelWeights weights = RandomWeights(MvpConfig(), TestSeedFor(16200));
  CheckDecoderHistory(weights, 17, TestSeedFor(16201), "MVP, 17 tokens");
}

}  // namespace
}  // namespace rlvr
