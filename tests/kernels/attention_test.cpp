#include "kernels/attention.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <stdexcept>
#include <vector>

#include "kernels/reference/ops_ref.h"
#include "tests/common/test_seed.h"
#include "tests/kernels/input_regimes.h"
#include "tests/kernels/ops_test_util.h"

namespace rlvr {
namespace {

// Outputs are convex combinations of V in [-1, 1]; float dots, exp and sums over up to ~300
// positions against double: 2e-6 absolute.
constexpr float kAbsTol = 2e-6f;

void FillCache(KVCache& cache, test::Rng& rng) {
  for (float& x : cache.k) x = rng.Uniform(-1.0f, 1.0f);
  for (float& x : cache.v) x = rng.Uniform(-1.0f, 1.0f);
}

struct Shape {
  int n_layers, max_positions, n_kv_heads, group, head_dim;
};

void CheckAgainstReference(const Shape& s, int threads, test::Rng& rng, int trials) {
  KVCache cache(s.n_layers, s.max_positions, s.n_kv_heads, s.head_dim);
  FillCache(cache, rng);
  AttentionScratch scratch(s.max_positions, threads);
  const int n_heads = s.n_kv_heads * s.group;
  for (int trial = 0; trial < trials; ++trial) {
    const int layer = rng.Int(0, s.n_layers - 1);
    const int start_pos = rng.Int(0, s.max_positions - 1);
    // Alternate decode steps (n_q == 1) with prefill chunks.
    const int n_q = trial % 2 == 0 ? 1 : rng.Int(1, s.max_positions - start_pos);
    const size_t size = static_cast<size_t>(n_q) * n_heads * s.head_dim;
    std::vector<float> q = rng.Vector(size, -2.0f, 2.0f);
    std::vector<float> got(size, -99.0f), want(size);
    Attention(q.data(), cache, layer, start_pos, n_q, n_heads, got.data(), scratch);
    AttentionRef(q.data(), cache, layer, start_pos, n_q, n_heads, want.data());
    for (size_t i = 0; i < size; ++i) {
      ASSERT_NEAR(got[i], want[i], kAbsTol)
          << "kv_heads=" << s.n_kv_heads << " group=" << s.group << " head_dim=" << s.head_dim
          << " start=" << start_pos << " n_q=" << n_q << " layer=" << layer << " i=" << i;
    }
  }
}

TEST(AttentionTest, MatchesReferenceOnRandomShapes) {
  test::Rng rng(TestSeedFor(501));
  std::vector<Shape> shapes = {{1, 1, 1, 1, 1},
                               {2, 5, 1, 3, 3},
                               {2, 17, 2, 2, 7},
                               {1, 64, 4, 3, 64},
                               {3, 40, 3, 1, 16},
                               // head_dim 32/64/128 take the AVX-512 path where available
                               {1, 50, 2, 2, 32},
                               {2, 33, 1, 4, 128}};
  for (int i = 0; i < 6; ++i) {
    shapes.push_back(
        {rng.Int(1, 3), rng.Int(1, 300), rng.Int(1, 4), rng.Int(1, 4), rng.Int(1, 80)});
  }
  for (const Shape& s : shapes) CheckAgainstReference(s, 1, rng, 6);
}

TEST(AttentionTest, ThreadedScratchGivesSameResults) {
  test::Rng rng(TestSeedFor(502));
  CheckAgainstReference({2, 300, 4, 3, 64}, 2, rng, 6);
  CheckAgainstReference({1, 129, 2, 1, 33}, 3, rng, 6);
}

TEST(AttentionTest, PrefillEqualsSuccessiveDecodeSteps) {
  test::Rng rng(TestSeedFor(503));
  const int positions = 23, n_kv = 2, group = 3, head_dim = 16, n_heads = n_kv * group;
  KVCache cache(1, positions, n_kv, head_dim);
  FillCache(cache, rng);
  AttentionScratch scratch(positions);
  const size_t row = static_cast<size_t>(n_heads) * head_dim;
  std::vector<float> q = rng.Vector(positions * row);
  std::vector<float> prefill(positions * row), decode(positions * row);
  Attention(q.data(), cache, 0, 0, positions, n_heads, prefill.data(), scratch);
  for (int p = 0; p < positions; ++p) {
    Attention(q.data() + p * row, cache, 0, p, 1, n_heads, decode.data() + p * row, scratch);
  }
  for (size_t i = 0; i < prefill.size(); ++i) ASSERT_NEAR(prefill[i], decode[i], 1e-6f);
}

TEST(AttentionTest, FirstPositionCopiesItsValue) {
  // Attending to a single position gives weight 1 to it, whatever the query.
  KVCache cache(1, 4, 1, 3);
  cache.v = {0.5f, -0.25f, 2.0f, 9, 9, 9, 9, 9, 9, 9, 9, 9};
  for (float& k : cache.k) k = 1.0f;
  AttentionScratch scratch(4);
  std::vector<float> q = {3.0f, -1.0f, 7.0f, 0.1f, 0.2f, 0.3f};
  std::vector<float> out(6);
  Attention(q.data(), cache, 0, 0, 1, 2, out.data(), scratch);
  for (int h = 0; h < 2; ++h) {
    EXPECT_FLOAT_EQ(out[h * 3 + 0], 0.5f);
    EXPECT_FLOAT_EQ(out[h * 3 + 1], -0.25f);
    EXPECT_FLOAT_EQ(out[h * 3 + 2], 2.0f);
  }
}

// Regimes the contract admits (attention.h: causal softmax(q k / sqrt(d)) v over finite caches):
// q from every finite regime of input_regimes.h (narrow = 2, limit = 64, outlier = 64: scores
// spread far beyond exp's range, so the softmax must shift by the maximum), keys narrow, tied
// (constant rows: uniform weights), denormal or signed zeros, and an outlier key of 500 in every
// coordinate at the first, last, middle or a random position (with q > 0 there, one score is at
// least 88 above all others wherever it sits). Values narrow, or wide up to 1e30 (an output is a
// convex combination of them). Infinities and NaN in q/k/v are outside the contract (no defined
// result; the reference would give NaN).
// Tolerance per output: the kernel's float dot products err by about sqrt(d) u of the sum of
// |q_d k_d| (random signs; the gemm tests bound the same kind of sum by 8 (sqrt(K) + 2) eps), an
// output moves by at most 2 max|v| times the largest score error (the weights sum to 1), and the
// exp, the float sum over positions and the weighted sum add about sqrt(T) u relative: so
// 2 max|v| (8 (sqrt(d) + 2) eps scale max_t sum_d |q_d k_td| + 8 (sqrt(T) + 2) eps) + kAbsTol
// max|v|.
enum class KeyRegime {
  kNarrow,
  kTied,
  kDenormal,
  kSignedZeros,
  kOutlierFirst,
  kOutlierLast,
  kOutlierMiddle,
  kOutlierRandom
};

TEST(AttentionTest, MatchesReferenceInEveryRegime) {
  test::Rng rng(TestSeedFor(504));
  const double eps = std::numeric_limits<float>::epsilon();
  const test::RegimeLimits q_limits{.narrow = 2.0f, .limit = 64.0f, .outlier = 64.0f};
  const KeyRegime key_regimes[] = {KeyRegime::kNarrow,        KeyRegime::kTied,
                                   KeyRegime::kDenormal,      KeyRegime::kSignedZeros,
                                   KeyRegime::kOutlierFirst,  KeyRegime::kOutlierLast,
                                   KeyRegime::kOutlierMiddle, KeyRegime::kOutlierRandom};
  int case_index = 0;
  for (test::Regime q_regime : test::FiniteRegimes()) {
    for (KeyRegime k_regime : key_regimes) {
      ++case_index;
      const int head_dims[] = {1, 3, 16, 32, 33, 64, 128};
      const int head_dim = head_dims[case_index % 7];
      const int n_kv = rng.Int(1, 2), group = rng.Int(1, 2), n_heads = n_kv * group;
      const int positions = rng.Int(1, 40);
      KVCache cache(1, positions, n_kv, head_dim);
      const bool outlier = k_regime >= KeyRegime::kOutlierFirst;
      const int start_pos = outlier ? positions - 1 : rng.Int(0, positions - 1);
      const float tied = rng.Uniform(-1.0f, 1.0f);
      for (float& x : cache.k) {
        switch (k_regime) {
          case KeyRegime::kTied:
            x = tied;
            break;
          case KeyRegime::kDenormal:
            x = rng.Uniform(-1.0f, 1.0f) * 1e-39f;
            break;
          case KeyRegime::kSignedZeros:
            x = rng.Int(0, 1) ? 0.0f : -0.0f;
            break;
          default:
            x = rng.Uniform(-1.0f, 1.0f);
        }
      }
      if (outlier) {
        const int at = k_regime == KeyRegime::kOutlierFirst    ? 0
                       : k_regime == KeyRegime::kOutlierLast   ? positions - 1
                       : k_regime == KeyRegime::kOutlierMiddle ? positions / 2
                                                               : rng.Int(0, positions - 1);
        for (int d = 0; d < cache.row_size(); ++d) cache.K(0, at)[d] = 500.0f;
      }
      const float v_range = case_index % 3 == 0 ? 1e30f : 1.0f;
      for (float& x : cache.v) x = rng.Uniform(-v_range, v_range);
      const int n_q = positions - start_pos;
      const size_t size = static_cast<size_t>(n_q) * n_heads * head_dim;
      std::vector<float> q = test::RegimeRow(q_regime, size, rng, q_limits);
      if (outlier) {
        for (float& x : q) x = std::fabs(x) + 0.5f;  // every score with the outlier key is >= 88
      }
      AttentionScratch scratch(positions);
      std::vector<float> got(size, -99.0f), want(size);
      Attention(q.data(), cache, 0, start_pos, n_q, n_heads, got.data(), scratch);
      AttentionRef(q.data(), cache, 0, start_pos, n_q, n_heads, want.data());
      const double scale = 1.0 / std::sqrt(static_cast<double>(head_dim));
      const int group_size = n_heads / n_kv;
      for (int i = 0; i < n_q; ++i) {
        for (int h = 0; h < n_heads; ++h) {
          const float* qh = q.data() + (static_cast<size_t>(i) * n_heads + h) * head_dim;
          const int kv = h / group_size;
          double max_abs_dot = 0.0;
          const int length = start_pos + i + 1;
          for (int t = 0; t < length; ++t) {
            double abs_dot = 0.0;
            for (int d = 0; d < head_dim; ++d)
              abs_dot += std::fabs(double(qh[d]) * cache.K(0, t)[kv * head_dim + d]);
            max_abs_dot = std::max(max_abs_dot, abs_dot);
          }
          const double score_error = 8 * (std::sqrt(head_dim) + 2) * eps * scale * max_abs_dot;
          const double tol =
              v_range * (2 * (score_error + 8 * (std::sqrt(length) + 2) * eps) + kAbsTol);
          for (int d = 0; d < head_dim; ++d) {
            const size_t o = (static_cast<size_t>(i) * n_heads + h) * head_dim + d;
            ASSERT_TRUE(std::isfinite(got[o])) << test::RegimeName(q_regime) << " keys "
                                               << static_cast<int>(k_regime) << " o=" << o;
            ASSERT_NEAR(got[o], want[o], tol)
                << "q " << test::RegimeName(q_regime) << ", keys " << static_cast<int>(k_regime)
                << ", head_dim=" << head_dim << " positions=" << positions << " i=" << i
                << " h=" << h << " d=" << d;
          }
        }
      }
    }
  }
}

TEST(AttentionTest, RejectsBadArguments) {
  KVCache cache(2, 8, 2, 4);
  AttentionScratch scratch(8);
  AttentionScratch small(4);
  std::vector<float> q(8 * 6 * 4), out(q.size());
  EXPECT_THROW(Attention(q.data(), cache, 0, 0, 1, 3, out.data(), scratch), std::invalid_argument);
  EXPECT_THROW(Attention(q.data(), cache, 2, 0, 1, 4, out.data(), scratch), std::invalid_argument);
  EXPECT_THROW(Attention(q.data(), cache, 0, 7, 2, 4, out.data(), scratch), std::invalid_argument);
  EXPECT_THROW(Attention(q.data(), cache, 0, 5, 1, 4, out.data(), small), std::invalid_argument);
  EXPECT_THROW(KVCache(0, 8, 2, 4), std::invalid_argument);
  EXPECT_THROW(AttentionScratch(0), std::invalid_argument);
}

}  // namespace
}  // namespace rlvr
