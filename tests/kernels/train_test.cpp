// Training (kernels/backward.h, kernels/adam.h, kernels/trainer.h): every backward against its
// plain double reference (kernels/reference/train_ref.h) and against central finite differences
// of a forward computed in double, on random shapes including tiny and odd ones; the whole
// training step against the double reference, finite differences of the reference loss, and
// PyTorch autograd fixtures (tests/fixtures/train, written by make_train_fixtures.py); the loss
// falling on a small text corpus; no allocation per step.
//
// Tolerances (normwise = max |got - want| / max |want| over a tensor):
//   fast backward op vs double reference     products: DotTolerance(length of the sums), ~1e-5
//                                            for K = 100; attention, SwiGLU 1e-5; RMSNorm's dx
//                                            and cross-entropy's dlogits relative to the terms
//                                            that cancel (see there); Adam 1e-6 + 1e-5 lr steps
//   double reference vs finite differences   1e-5 normwise (central differences in double);
//   fast backward vs finite differences      1e-4 normwise
//   fast training step vs double reference   loss 1e-5 relative, gradients 2e-4 normwise/tensor
//   vs PyTorch float64 autograd              the same
//   N Adam steps vs reference / PyTorch      weights within 5e-5 absolute, but for at most
//                                            1 + 1/1000 of them (within lr): StepWeightsMatch
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <fstream>
#include <functional>
#include <limits>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "kernels/adam.h"
#include "kernels/backward.h"
#include "kernels/mat.h"
#include "kernels/reference/gemm_ref.h"
#include "kernels/reference/ops_ref.h"
#include "kernels/reference/train_ref.h"
#include "kernels/rope.h"
#include "kernels/safetensors.h"
#include "kernels/splitmix64.h"
#include "kernels/trainer.h"
#include "kernels/weights.h"
#include "tests/common/alloc_counter.h"
#include "tests/common/test_seed.h"
#include "tests/kernels/input_regimes.h"

namespace rlvr {
namespace {

using DVec = std::vector<double>;

std::vector<float> Random(size_t n, uint64_t seed, float lo = -1.0f, float hi = 1.0f) {
  std::vector<float> v(n);
  FillRandom(v.data(), n, seed, lo, hi);
  return v;
}

DVec ToD(const std::vector<float>& v) {
  return DVec(v.begin(), v.end());
}

// Normwise relative error within tolerance.
::testing::AssertionResult Normwise(const float* got, const float* want, size_t n,
                                    double tolerance) {
  const double error = MaxRelativeError(got, want, n);
  if (error <= tolerance) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << "normwise relative error " << error << " > " << tolerance;
}
::testing::AssertionResult Normwise(const std::vector<float>& got, const std::vector<float>& want,
                                    double tolerance) {
  if (got.size() != want.size()) {
    return ::testing::AssertionFailure() << "sizes " << got.size() << " vs " << want.size();
  }
  return Normwise(got.data(), want.data(), got.size(), tolerance);
}

// Gradients are added into what the buffer held: the error of an accumulated result is relative
// to the larger of the result and the prior contents (they may cancel), normwise.
::testing::AssertionResult Accumulated(const std::vector<float>& got,
                                       const std::vector<float>& want,
                                       const std::vector<float>& initial, double tolerance) {
  double error = 0.0, scale = 0.0;
  for (size_t i = 0; i < want.size(); ++i) {
    const double e = std::fabs(double(got[i]) - want[i]);
    error = std::isnan(got[i]) ? INFINITY : std::max(error, e);
    scale = std::max({scale, double(std::fabs(want[i])), double(std::fabs(initial[i]))});
  }
  if (scale > 0) error /= scale;
  if (error <= tolerance) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << "relative error " << error << " > " << tolerance;
}

// A K-term float dot product: 8 * (sqrt(K) + 2) * eps, as gemm_test.cpp.
double DotTolerance(int K) {
  return 8.0 * (std::sqrt(static_cast<double>(K)) + 2.0) * std::numeric_limits<float>::epsilon();
}

// Finite differences (central, h = 1e-5, in double) carry ~1e-11 absolute rounding, and the
// gradients under test are rounded to float: normwise 1e-5 for the double references, 1e-4 for
// the fast paths (whose forwards, e.g. attention's probabilities, are float too).
constexpr double kFdTolerance = 1e-5;
constexpr double kFastFdTolerance = 1e-4;

// Checks grad (of the scalar f at x) against central finite differences in double at every
// index (or `samples` random ones when x is large): normwise over the checked entries.
::testing::AssertionResult MatchesFiniteDifferences(const std::function<double(const DVec&)>& f,
                                                    const DVec& x, const std::vector<float>& grad,
                                                    double tolerance, uint64_t seed,
                                                    size_t samples = 64) {
  const double h = 1e-5;
  DVec probe = x;
  double max_error = 0.0, max_grad = 0.0;
  const bool all = x.size() <= samples;
  const size_t count = all ? x.size() : samples;
  for (size_t s = 0; s < count; ++s) {
    const size_t i = all ? s : SplitMix64(seed) % x.size();
    probe[i] = x[i] + h;
    const double plus = f(probe);
    probe[i] = x[i] - h;
    const double minus = f(probe);
    probe[i] = x[i];
    const double fd = (plus - minus) / (2 * h);
    max_error = std::max(max_error, std::fabs(fd - grad[i]));
    max_grad = std::max(max_grad, std::fabs(fd));
  }
  const double error = max_grad > 0 ? max_error / max_grad : max_error;
  if (error <= tolerance) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure()
         << "gradient vs finite differences: normwise error " << error << " > " << tolerance;
}

double Dot(const DVec& a, const DVec& b) {
  double s = 0.0;
  for (size_t i = 0; i < a.size(); ++i) s += a[i] * b[i];
  return s;
}

// --- Double forwards, for the finite differences ------------------------------------------------

DVec LinearD(const DVec& x, const DVec& W, int M, int N, int K) {
  DVec y(size_t(M) * N, 0.0);
  for (int i = 0; i < M; ++i)
    for (int j = 0; j < N; ++j)
      for (int k = 0; k < K; ++k)
        y[size_t(i) * N + j] += x[size_t(i) * K + k] * W[size_t(j) * K + k];
  return y;
}

DVec RmsNormD(const DVec& x, const DVec& w, int rows, int n, double eps) {
  DVec y(x.size());
  for (int r = 0; r < rows; ++r) {
    double ss = 0.0;
    for (int j = 0; j < n; ++j) ss += x[size_t(r) * n + j] * x[size_t(r) * n + j];
    const double inv = 1.0 / std::sqrt(ss / n + eps);
    for (int j = 0; j < n; ++j) y[size_t(r) * n + j] = x[size_t(r) * n + j] * inv * w[j];
  }
  return y;
}

DVec SoftmaxD(const DVec& x, int rows, int cols) {
  DVec y(x.size());
  for (int r = 0; r < rows; ++r) {
    double max = -INFINITY, sum = 0.0;
    for (int j = 0; j < cols; ++j) max = std::max(max, x[size_t(r) * cols + j]);
    for (int j = 0; j < cols; ++j)
      sum += y[size_t(r) * cols + j] = std::exp(x[size_t(r) * cols + j] - max);
    for (int j = 0; j < cols; ++j) y[size_t(r) * cols + j] /= sum;
  }
  return y;
}

DVec AttentionD(const DVec& q, const DVec& k, const DVec& v, int T, int H, int KVH, int hd) {
  DVec out(size_t(T) * H * hd, 0.0);
  const double scale = 1.0 / std::sqrt(double(hd));
  for (int h = 0; h < H; ++h) {
    const int g = h / (H / KVH);
    for (int i = 0; i < T; ++i) {
      DVec s(i + 1);
      for (int j = 0; j <= i; ++j) {
        for (int d = 0; d < hd; ++d)
          s[j] += q[(size_t(i) * H + h) * hd + d] * k[(size_t(j) * KVH + g) * hd + d];
        s[j] *= scale;
      }
      const DVec p = SoftmaxD(s, 1, i + 1);
      for (int j = 0; j <= i; ++j)
        for (int d = 0; d < hd; ++d)
          out[(size_t(i) * H + h) * hd + d] += p[j] * v[(size_t(j) * KVH + g) * hd + d];
    }
  }
  return out;
}

// --- Linear
// ----------------------------------------------------------------------------------------

struct LinearShape {
  int M, N, K;
};
const LinearShape kLinearShapes[] = {{1, 1, 1},    {3, 5, 7},     {17, 31, 65},
                                     {64, 48, 32}, {130, 67, 33}, {2, 300, 129}};

TEST(TrainOps, LinearBackwardMatchesReference) {
  uint64_t salt = 13500;
  for (const LinearShape& s : kLinearShapes) {
    SCOPED_TRACE(std::to_string(s.M) + "x" + std::to_string(s.N) + "x" + std::to_string(s.K));
    const auto dy = Random(size_t(s.M) * s.N, TestSeedFor(++salt));
    const auto x = Random(size_t(s.M) * s.K, TestSeedFor(++salt));
    const auto W = Random(size_t(s.N) * s.K, TestSeedFor(++salt));
    // Start from non-zero gradients: the backward must add, not overwrite.
    auto dx = Random(x.size(), TestSeedFor(++salt)), dx_ref = dx;
    const auto dx0 = dx;
    auto dW = Random(W.size(), TestSeedFor(++salt)), dW_ref = dW;
    const auto dW0 = dW;
    std::vector<float> scratch(size_t(s.M) * s.N);
    LinearBackwardInput(dy.data(), W.data(), dx.data(), s.M, s.N, s.K);
    LinearBackwardWeight(dy.data(), x.data(), dW.data(), s.M, s.N, s.K, scratch.data());
    LinearBackwardInputRef(dy.data(), W.data(), dx_ref.data(), s.M, s.N, s.K);
    LinearBackwardWeightRef(dy.data(), x.data(), dW_ref.data(), s.M, s.N, s.K);
    EXPECT_TRUE(Accumulated(dx, dx_ref, dx0, DotTolerance(s.N)));
    EXPECT_TRUE(Accumulated(dW, dW_ref, dW0, DotTolerance(s.M)));
  }
}

TEST(TrainOps, LinearBackwardMatchesFiniteDifferences) {
  const int M = 5, N = 7, K = 6;
  const auto x = Random(M * K, TestSeedFor(13600)), W = Random(N * K, TestSeedFor(13601));
  const auto c = Random(M * N, TestSeedFor(13602));  // L = sum c * y, so dy = c
  std::vector<float> dx(x.size()), dW(W.size()), scratch(M * N), dx_ref(x.size()), dW_ref(W.size());
  LinearBackwardInput(c.data(), W.data(), dx.data(), M, N, K);
  LinearBackwardWeight(c.data(), x.data(), dW.data(), M, N, K, scratch.data());
  LinearBackwardInputRef(c.data(), W.data(), dx_ref.data(), M, N, K);
  LinearBackwardWeightRef(c.data(), x.data(), dW_ref.data(), M, N, K);
  const DVec xd = ToD(x), Wd = ToD(W), cd = ToD(c);
  auto by_x = [&](const DVec& p) { return Dot(cd, LinearD(p, Wd, M, N, K)); };
  auto by_W = [&](const DVec& p) { return Dot(cd, LinearD(xd, p, M, N, K)); };
  EXPECT_TRUE(MatchesFiniteDifferences(by_x, xd, dx_ref, kFdTolerance, 1));
  EXPECT_TRUE(MatchesFiniteDifferences(by_W, Wd, dW_ref, kFdTolerance, 2));
  EXPECT_TRUE(MatchesFiniteDifferences(by_x, xd, dx, kFastFdTolerance, 3));
  EXPECT_TRUE(MatchesFiniteDifferences(by_W, Wd, dW, kFastFdTolerance, 4));
}

// --- RMSNorm
// ---------------------------------------------------------------------------------------

TEST(TrainOps, RmsNormBackwardMatchesReferenceAndFiniteDifferences) {
  const int shapes[][2] = {{1, 1}, {1, 2}, {3, 7}, {5, 17}, {4, 64}, {2, 257}};
  uint64_t salt = 13700;
  for (const auto& s : shapes) {
    const int rows = s[0], n = s[1];
    SCOPED_TRACE(std::to_string(rows) + "x" + std::to_string(n));
    const auto x = Random(size_t(rows) * n, TestSeedFor(++salt), -2.0f, 2.0f);
    const auto w = Random(n, TestSeedFor(++salt), 0.5f, 1.5f);
    const auto c = Random(x.size(), TestSeedFor(++salt));
    auto dx = Random(x.size(), TestSeedFor(++salt)), dx_ref = dx;
    const auto dx0 = dx;
    auto dw = Random(n, TestSeedFor(++salt)), dw_ref = dw;
    const auto dw0 = dw;
    RmsNormBackward(x.data(), w.data(), c.data(), dx.data(), dw.data(), rows, n, 1e-5f);
    RmsNormBackwardRef(x.data(), w.data(), c.data(), dx_ref.data(), dw_ref.data(), rows, n, 1e-5f);
    // dx = inv * dy * w - inv^3 / n * x * sum(dy w x) cancels (almost fully for n = 1, where the
    // exact result is inv * dy * w * eps / (x^2 + eps)): the error is relative to the terms.
    double terms = 0.0;
    for (int r = 0; r < rows; ++r) {
      double ss = 0.0;
      for (int j = 0; j < n; ++j) ss += double(x[size_t(r) * n + j]) * x[size_t(r) * n + j];
      const double inv = 1.0 / std::sqrt(ss / n + 1e-5);
      for (int j = 0; j < n; ++j) {
        terms = std::max(terms, inv * std::fabs(double(c[size_t(r) * n + j]) * w[j]));
      }
    }
    for (size_t i = 0; i < dx.size(); ++i) {
      ASSERT_NEAR(dx[i], dx_ref[i], DotTolerance(n) * (terms + 1.0)) << "dx[" << i << "]";
    }
    EXPECT_TRUE(Accumulated(dw, dw_ref, dw0, DotTolerance(rows) + DotTolerance(n)));

    // For n = 1 the exact dx is ~eps / x^2 of its terms, below what differences resolve.
    if (n == 1) continue;
    std::vector<float> gx(x.size()), gw(n);
    RmsNormBackwardRef(x.data(), w.data(), c.data(), gx.data(), gw.data(), rows, n, 1e-5f);
    const DVec xd = ToD(x), wd = ToD(w), cd = ToD(c);
    EXPECT_TRUE(MatchesFiniteDifferences(
        [&](const DVec& p) { return Dot(cd, RmsNormD(p, wd, rows, n, 1e-5)); }, xd, gx,
        kFdTolerance, TestSeedFor(++salt)));
    EXPECT_TRUE(MatchesFiniteDifferences(
        [&](const DVec& p) { return Dot(cd, RmsNormD(xd, p, rows, n, 1e-5)); }, wd, gw,
        kFdTolerance, TestSeedFor(++salt)));
  }
}

// --- Softmax
// ---------------------------------------------------------------------------------------

TEST(TrainOps, SoftmaxBackwardMatchesReferenceAndFiniteDifferences) {
  const int shapes[][2] = {{1, 1}, {2, 3}, {3, 17}, {4, 100}, {1, 1000}};
  uint64_t salt = 13800;
  for (const auto& s : shapes) {
    const int rows = s[0], cols = s[1];
    SCOPED_TRACE(std::to_string(rows) + "x" + std::to_string(cols));
    const auto x = Random(size_t(rows) * cols, TestSeedFor(++salt), -4.0f, 4.0f);
    const auto c = Random(x.size(), TestSeedFor(++salt));
    std::vector<float> y(x.size());
    for (int r = 0; r < rows; ++r)
      SoftmaxRef(x.data() + size_t(r) * cols, y.data() + size_t(r) * cols, cols);
    auto dx = Random(x.size(), TestSeedFor(++salt)), dx_ref = dx;
    const auto dx0 = dx;
    SoftmaxBackward(y.data(), c.data(), dx.data(), rows, cols);
    SoftmaxBackwardRef(y.data(), c.data(), dx_ref.data(), rows, cols);
    EXPECT_TRUE(Accumulated(dx, dx_ref, dx0, DotTolerance(cols)));
    std::vector<float> g(x.size());
    SoftmaxBackwardRef(y.data(), c.data(), g.data(), rows, cols);
    const DVec cd = ToD(c);
    EXPECT_TRUE(
        MatchesFiniteDifferences([&](const DVec& p) { return Dot(cd, SoftmaxD(p, rows, cols)); },
                                 ToD(x), g, kFdTolerance, TestSeedFor(++salt)));
  }
}

// --- Cross-entropy
// ---------------------------------------------------------------------------------

TEST(TrainOps, CrossEntropyMatchesReferenceAndFiniteDifferences) {
  const int shapes[][2] = {{1, 1}, {1, 2}, {3, 5}, {7, 33}, {16, 256}, {2, 5000}};
  uint64_t salt = 13900;
  for (const auto& s : shapes) {
    const int rows = s[0], vocab = s[1];
    SCOPED_TRACE(std::to_string(rows) + "x" + std::to_string(vocab));
    const auto logits = Random(size_t(rows) * vocab, TestSeedFor(++salt), -6.0f, 6.0f);
    std::vector<int> targets(rows);
    uint64_t state = TestSeedFor(++salt);
    for (int& t : targets) t = static_cast<int>(SplitMix64(state) % vocab);
    std::vector<float> d(logits.size()), d_ref(logits.size());
    const float loss =
        CrossEntropyForwardBackward(logits.data(), targets.data(), d.data(), rows, vocab, 1.0f);
    const float loss_ref = CrossEntropyForwardBackwardRef(logits.data(), targets.data(),
                                                          d_ref.data(), rows, vocab, 1.0f);
    EXPECT_NEAR(loss, loss_ref, 1e-5 * std::max(1.0f, std::fabs(loss_ref)));
    // dlogits[target] = p - 1 cancels when p is near 1: the error is a few float ulps of the
    // per-row scale 1 / rows, not of the (possibly tiny) result.
    for (size_t i = 0; i < d.size(); ++i) {
      ASSERT_NEAR(d[i], d_ref[i], 1e-6 / rows) << "dlogits[" << i << "]";
    }
    // In place (dlogits aliasing logits), with a scale.
    auto inplace = logits;
    const float loss2 = CrossEntropyForwardBackward(inplace.data(), targets.data(), inplace.data(),
                                                    rows, vocab, 0.5f);
    EXPECT_EQ(loss2, loss);
    for (float& v : d) v *= 0.5f;
    EXPECT_TRUE(Normwise(inplace, d, 1e-6));

    auto mean_ce = [&](const DVec& z) {
      double total = 0.0;
      for (int r = 0; r < rows; ++r) {
        double max = -INFINITY, sum = 0.0;
        for (int j = 0; j < vocab; ++j) max = std::max(max, z[size_t(r) * vocab + j]);
        for (int j = 0; j < vocab; ++j) sum += std::exp(z[size_t(r) * vocab + j] - max);
        total += std::log(sum) + max - z[size_t(r) * vocab + targets[r]];
      }
      return total / rows;
    };
    EXPECT_NEAR(loss_ref, mean_ce(ToD(logits)), 1e-6);
    EXPECT_TRUE(
        MatchesFiniteDifferences(mean_ce, ToD(logits), d_ref, kFdTolerance, TestSeedFor(++salt)));
  }
}

// --- SwiGLU
// ----------------------------------------------------------------------------------------

TEST(TrainOps, SwiGLUBackwardMatchesReferenceAndFiniteDifferences) {
  const size_t sizes[] = {1, 3, 17, 100, 4099};
  uint64_t salt = 14000;
  for (size_t n : sizes) {
    SCOPED_TRACE(n);
    const auto gate = Random(n, TestSeedFor(++salt), -8.0f, 8.0f);
    const auto up = Random(n, TestSeedFor(++salt), -2.0f, 2.0f);
    const auto c = Random(n, TestSeedFor(++salt));
    auto dg = Random(n, TestSeedFor(++salt)), dg_ref = dg;
    const auto dg0 = dg;
    auto du = Random(n, TestSeedFor(++salt)), du_ref = du;
    const auto du0 = du;
    SwiGLUBackward(gate.data(), up.data(), c.data(), dg.data(), du.data(), n);
    SwiGLUBackwardRef(gate.data(), up.data(), c.data(), dg_ref.data(), du_ref.data(), n);
    // silu'(g) = s (1 + g (1 - s)) cancels near its zero at g ~ -1.28: 1e-5 normwise.
    EXPECT_TRUE(Accumulated(dg, dg_ref, dg0, 1e-5));
    EXPECT_TRUE(Accumulated(du, du_ref, du0, 1e-5));
    std::vector<float> gg(n), gu(n);
    SwiGLUBackwardRef(gate.data(), up.data(), c.data(), gg.data(), gu.data(), n);
    const DVec gd = ToD(gate), ud = ToD(up), cd = ToD(c);
    auto forward = [&](const DVec& g, const DVec& u) {
      double s = 0.0;
      for (size_t i = 0; i < n; ++i) s += cd[i] * g[i] / (1.0 + std::exp(-g[i])) * u[i];
      return s;
    };
    EXPECT_TRUE(MatchesFiniteDifferences([&](const DVec& p) { return forward(p, ud); }, gd, gg,
                                         kFdTolerance, TestSeedFor(++salt)));
    EXPECT_TRUE(MatchesFiniteDifferences([&](const DVec& p) { return forward(gd, p); }, ud, gu,
                                         kFdTolerance, TestSeedFor(++salt)));
  }
}

// --- RoPE
// ------------------------------------------------------------------------------------------

// RoPE is linear in its input, so its backward is its adjoint: <RopeBackward(dy), x> = <dy,
// Rope(x)> for all x, dy. Checked for the fast and the reference backward, and fast vs reference.
TEST(TrainOps, RopeBackwardIsTheAdjointOfRope) {
  const int shapes[][3] = {{1, 2, 0}, {2, 6, 3}, {3, 8, 11}, {4, 64, 500}};  // heads, dim, pos
  uint64_t salt = 14100;
  for (const auto& s : shapes) {
    const int heads = s[0], hd = s[1], pos = s[2];
    SCOPED_TRACE(std::to_string(heads) + "x" + std::to_string(hd) + "@" + std::to_string(pos));
    const RopeCache cache(hd, 512, 10000.0f);
    const auto x = Random(size_t(heads) * hd, TestSeedFor(++salt));
    const auto dy = Random(x.size(), TestSeedFor(++salt));
    auto rotated = x;
    RopeRef(rotated.data(), heads, hd, pos, 10000.0f);
    auto back = dy, back_ref = dy;
    RopeBackward(back.data(), heads, hd, pos, cache);
    RopeBackwardRef(back_ref.data(), heads, hd, pos, 10000.0f);
    EXPECT_TRUE(Normwise(back, back_ref, 1e-6));
    const double lhs = Dot(ToD(back_ref), ToD(x)), lhs_fast = Dot(ToD(back), ToD(x));
    const double rhs = Dot(ToD(dy), ToD(rotated));
    EXPECT_NEAR(lhs, rhs, 1e-5 * (1.0 + std::fabs(rhs)));
    EXPECT_NEAR(lhs_fast, rhs, 1e-5 * (1.0 + std::fabs(rhs)));
  }
}

// --- Causal attention
// ------------------------------------------------------------------------------

struct AttentionShape {
  int T, H, KVH, hd;
};
const AttentionShape kAttentionShapes[] = {{1, 1, 1, 1}, {2, 1, 1, 3},  {5, 2, 1, 4},
                                           {9, 4, 2, 6}, {17, 3, 3, 5}, {33, 8, 2, 16}};

TEST(TrainOps, CausalAttentionMatchesReference) {
  uint64_t salt = 14200;
  for (const AttentionShape& s : kAttentionShapes) {
    SCOPED_TRACE("T" + std::to_string(s.T) + " H" + std::to_string(s.H) + " KV" +
                 std::to_string(s.KVH) + " hd" + std::to_string(s.hd));
    const size_t qn = size_t(s.T) * s.H * s.hd, kvn = size_t(s.T) * s.KVH * s.hd;
    const auto q = Random(qn, TestSeedFor(++salt), -2.0f, 2.0f);
    const auto k = Random(kvn, TestSeedFor(++salt), -2.0f, 2.0f);
    const auto v = Random(kvn, TestSeedFor(++salt));
    const auto dout = Random(qn, TestSeedFor(++salt));
    const size_t pn = size_t(s.H) * s.T * s.T;
    // Garbage before the call: the forward must write every output, zeros above the diagonal.
    std::vector<float> out(qn, NAN), probs(pn, 7.0f), out_ref(qn), probs_ref(pn);
    CausalAttentionForward(q.data(), k.data(), v.data(), out.data(), probs.data(), s.T, s.H, s.KVH,
                           s.hd);
    CausalAttentionForwardRef(q.data(), k.data(), v.data(), out_ref.data(), probs_ref.data(), s.T,
                              s.H, s.KVH, s.hd);
    EXPECT_TRUE(Normwise(out, out_ref, 1e-5));
    EXPECT_TRUE(Normwise(probs, probs_ref, 1e-5));
    for (int h = 0; h < s.H; ++h)
      for (int i = 0; i < s.T; ++i)
        for (int j = i + 1; j < s.T; ++j) ASSERT_EQ(probs[(size_t(h) * s.T + i) * s.T + j], 0.0f);

    auto dq = Random(qn, TestSeedFor(++salt)), dq_ref = dq;

    const auto dq0 = dq;
    auto dk = Random(kvn, TestSeedFor(++salt)), dk_ref = dk;
    const auto dk0 = dk;
    auto dv = Random(kvn, TestSeedFor(++salt)), dv_ref = dv;
    const auto dv0 = dv;
    std::vector<float> scratch(s.T);
    CausalAttentionBackward(q.data(), k.data(), v.data(), probs.data(), dout.data(), dq.data(),
                            dk.data(), dv.data(), scratch.data(), s.T, s.H, s.KVH, s.hd);
    CausalAttentionBackwardRef(q.data(), k.data(), v.data(), dout.data(), dq_ref.data(),
                               dk_ref.data(), dv_ref.data(), s.T, s.H, s.KVH, s.hd);
    EXPECT_TRUE(Accumulated(dq, dq_ref, dq0, 1e-5));
    EXPECT_TRUE(Accumulated(dk, dk_ref, dk0, 1e-5));
    EXPECT_TRUE(Accumulated(dv, dv_ref, dv0, 1e-5));
  }
}

TEST(TrainOps, CausalAttentionBackwardMatchesFiniteDifferences) {
  uint64_t salt = 14300;
  for (const AttentionShape& s : kAttentionShapes) {
    if (s.T > 17) continue;  // the finite differences run the double forward per entry
    SCOPED_TRACE("T" + std::to_string(s.T) + " H" + std::to_string(s.H));
    const size_t qn = size_t(s.T) * s.H * s.hd, kvn = size_t(s.T) * s.KVH * s.hd;
    const auto q = Random(qn, TestSeedFor(++salt), -2.0f, 2.0f);
    const auto k = Random(kvn, TestSeedFor(++salt), -2.0f, 2.0f);
    const auto v = Random(kvn, TestSeedFor(++salt));
    const auto c = Random(qn, TestSeedFor(++salt));
    std::vector<float> dq(qn), dk(kvn), dv(kvn), fq(qn), fk(kvn), fv(kvn), out(qn),
        probs(size_t(s.H) * s.T * s.T), scratch(s.T);
    CausalAttentionBackwardRef(q.data(), k.data(), v.data(), c.data(), dq.data(), dk.data(),
                               dv.data(), s.T, s.H, s.KVH, s.hd);
    CausalAttentionForward(q.data(), k.data(), v.data(), out.data(), probs.data(), s.T, s.H, s.KVH,
                           s.hd);
    CausalAttentionBackward(q.data(), k.data(), v.data(), probs.data(), c.data(), fq.data(),
                            fk.data(), fv.data(), scratch.data(), s.T, s.H, s.KVH, s.hd);
    const DVec qd = ToD(q), kd = ToD(k), vd = ToD(v), cd = ToD(c);
    auto by_q = [&](const DVec& p) {
      return Dot(cd, AttentionD(p, kd, vd, s.T, s.H, s.KVH, s.hd));
    };
    auto by_k = [&](const DVec& p) {
      return Dot(cd, AttentionD(qd, p, vd, s.T, s.H, s.KVH, s.hd));
    };
    auto by_v = [&](const DVec& p) {
      return Dot(cd, AttentionD(qd, kd, p, s.T, s.H, s.KVH, s.hd));
    };
    EXPECT_TRUE(MatchesFiniteDifferences(by_q, qd, dq, kFdTolerance, TestSeedFor(++salt)));
    EXPECT_TRUE(MatchesFiniteDifferences(by_k, kd, dk, kFdTolerance, TestSeedFor(++salt)));
    EXPECT_TRUE(MatchesFiniteDifferences(by_v, vd, dv, kFdTolerance, TestSeedFor(++salt)));
    EXPECT_TRUE(MatchesFiniteDifferences(by_q, qd, fq, kFastFdTolerance, TestSeedFor(++salt)));
    EXPECT_TRUE(MatchesFiniteDifferences(by_k, kd, fk, kFastFdTolerance, TestSeedFor(++salt)));
    EXPECT_TRUE(MatchesFiniteDifferences(by_v, vd, fv, kFastFdTolerance, TestSeedFor(++salt)));
  }
}

// --- Adam
// ------------------------------------------------------------------------------------------

TEST(TrainAdam, MatchesReferenceOverSteps) {
  const AdamConfig configs[] = {{}, {3e-2f, 0.8f, 0.95f, 1e-6f, 0.1f}};
  uint64_t salt = 14400;
  for (const AdamConfig& config : configs) {
    const size_t n = 1001;
    auto p = Random(n, TestSeedFor(++salt)), p_ref = p;
    std::vector<float> m(n), v(n), m_ref(n), v_ref(n);
    for (int step = 1; step <= 10; ++step) {
      const auto g = Random(n, TestSeedFor(++salt), -1e-2f, 1e-2f);
      AdamStep(p.data(), g.data(), m.data(), v.data(), n, step, config);
      AdamStepRef(p_ref.data(), g.data(), m_ref.data(), v_ref.data(), n, step, config);
    }
    double max_diff = 0.0, moved = 0.0;
    const auto start = Random(n, TestSeedFor(salt - 10));
    for (size_t i = 0; i < n; ++i) {
      max_diff = std::max(max_diff, double(std::fabs(p[i] - p_ref[i])));
      moved = std::max(moved, double(std::fabs(p_ref[i] - start[i])));
    }
    // Each step moves a weight by at most ~lr; float rounding of the update is ~1e-6 of that.
    EXPECT_LE(max_diff, 1e-6 + 1e-5 * config.lr * 10) << "lr " << config.lr;
    EXPECT_GT(moved, config.lr) << "the parameters barely moved";
    EXPECT_TRUE(Normwise(m, m_ref, 1e-6));
    EXPECT_TRUE(Normwise(v, v_ref, 1e-6));
  }
}

// Step 1 of Adam moves every parameter by lr * g / (|g| + eps): about lr in the gradient's
// direction.
TEST(TrainAdam, FirstStepMovesByLearningRate) {
  float p[3] = {1.0f, -1.0f, 0.5f};
  const float g[3] = {0.25f, -4.0f, 0.0f};
  float m[3] = {}, v[3] = {};
  AdamConfig config;
  config.lr = 0.1f;
  AdamStep(p, g, m, v, 3, 1, config);
  EXPECT_NEAR(p[0], 0.9f, 1e-6);
  EXPECT_NEAR(p[1], -0.9f, 1e-6);
  EXPECT_EQ(p[2], 0.5f);
  config.weight_decay = 0.5f;  // decoupled: p *= 1 - lr * wd before the update
  float q[1] = {2.0f}, mq[1] = {}, vq[1] = {};
  const float gq[1] = {0.0f};
  AdamStep(q, gq, mq, vq, 1, 1, config);
  EXPECT_NEAR(q[0], 2.0f * (1.0f - 0.05f), 1e-6);
}

// --- Input regimes ------------------------------------------------------------------------------
//
// The backward ops and Adam on the named regimes of input_regimes.h, on tiny, odd and
// vector-width +/- 1 sizes (the 16-lane partial sums of backward.cpp and their scalar tails).
// Which regimes each contract admits, and each tolerance, is stated at the test.

// Adam (adam.h: PyTorch's float update), one step at a time from the same state as the double
// reference, for gradients in every finite regime: narrow 1e-2, wide and extreme up to 1e18 (v
// accumulates (1 - beta2) g^2 <= 1e33, far from float overflow; beyond ~1e19 PyTorch's float v
// overflows too), outliers 1e3, denormals (g^2 underflows to 0 in float and in the reference's
// rounded v alike), signed zeros, constant, ties. Tolerances per element: m within 1e-6 of
// beta1 |m| + (1 - beta1) |g| (the lerp's few roundings), v within 1e-6 of v's terms, and the
// parameter within 4 ulps of itself (the decay product and the subtraction) plus 1e-5 of the
// update's scale lr / c1 * (beta1 |m| + (1 - beta1) |g|) / (sqrt(v / c2) + eps): float rounding of
// m, v, the square root and two divisions is a few ulps of that, 1e-5 is ~170 ulps.
TEST(TrainAdam, MatchesReferenceInEveryRegime) {
  test::Rng rng(TestSeedFor(14410));
  const test::RegimeLimits limits{.narrow = 1e-2f, .limit = 1e18f, .outlier = 1e3f};
  const AdamConfig configs[] = {{}, {3e-2f, 0.8f, 0.95f, 1e-6f, 0.1f}};
  std::vector<int> sizes = test::RegimeSizes(rng, 3000, 2);
  sizes.push_back(0);
  for (const AdamConfig& config : configs) {
    for (test::Regime regime : test::FiniteRegimes()) {
      for (int n : sizes) {
        SCOPED_TRACE(std::string(test::RegimeName(regime)) + " n=" + std::to_string(n) + " lr " +
                     std::to_string(config.lr));
        std::vector<float> p = rng.Vector(n), m(n, 0.0f), v(n, 0.0f);
        for (int step = 1; step <= 3; ++step) {
          const std::vector<float> g = test::RegimeRow(regime, n, rng, limits);
          std::vector<float> p_ref = p, m_ref = m, v_ref = v;
          const std::vector<float> m0 = m;
          AdamStep(p.data(), g.data(), m.data(), v.data(), n, step, config);
          AdamStepRef(p_ref.data(), g.data(), m_ref.data(), v_ref.data(), n, step, config);
          const double c1 = 1.0 - std::pow(double(config.beta1), step);
          const double c2 = 1.0 - std::pow(double(config.beta2), step);
          for (int i = 0; i < n; ++i) {
            const double m_terms =
                config.beta1 * std::fabs(m0[i]) + (1.0 - config.beta1) * std::fabs(double(g[i]));
            ASSERT_NEAR(m[i], m_ref[i], 1e-6 * m_terms) << "m[" << i << "] step " << step;
            ASSERT_NEAR(v[i], v_ref[i], 1e-6 * v_ref[i]) << "v[" << i << "] step " << step;
            const double update =
                config.lr / c1 * m_terms / (std::sqrt(double(v_ref[i]) / c2) + config.eps);
            const double tol = 4.0 * 0x1.0p-24 * std::fabs(p_ref[i]) + 1e-5 * update;
            ASSERT_NEAR(p[i], p_ref[i], tol) << "param[" << i << "] step " << step << " g " << g[i];
          }
        }
      }
    }
  }
}

// lr = 0 leaves every parameter exactly as it was (the decoupled decay 1 - 0 * wd is exactly 1,
// and the update 0 * m / denom is 0), whatever the gradients; the moments still advance as the
// reference's.
TEST(TrainAdam, ZeroLearningRateLeavesTheWeights) {
  test::Rng rng(TestSeedFor(14411));
  AdamConfig config;
  config.lr = 0.0f;
  config.weight_decay = 0.1f;
  for (test::Regime regime : test::FiniteRegimes()) {
    const int n = rng.Int(1, 100);
    const std::vector<float> start = rng.Vector(n, -10.0f, 10.0f);
    std::vector<float> p = start, m(n), v(n), p_ref = start, m_ref(n), v_ref(n);
    // m and v are weighted sums of the gradients (weights <= 1) and their squares: their float
    // rounding is within 1e-5 of the sums of |g| and g^2 (m may cancel to far below them).
    std::vector<double> sum_g(n), sum_g2(n);
    for (int step = 1; step <= 3; ++step) {
      const auto g = test::RegimeRow(regime, n, rng, {.narrow = 1.0f, .limit = 1e6f});
      AdamStep(p.data(), g.data(), m.data(), v.data(), n, step, config);
      AdamStepRef(p_ref.data(), g.data(), m_ref.data(), v_ref.data(), n, step, config);
      for (int i = 0; i < n; ++i) {
        sum_g[i] += std::fabs(g[i]);
        sum_g2[i] += double(g[i]) * g[i];
      }
    }
    for (int i = 0; i < n; ++i) {
      ASSERT_EQ(p[i], start[i]) << test::RegimeName(regime) << " param " << i;
      ASSERT_NEAR(m[i], m_ref[i], 1e-5 * sum_g[i]) << test::RegimeName(regime);
      ASSERT_NEAR(v[i], v_ref[i], 1e-5 * sum_g2[i]) << test::RegimeName(regime);
    }
  }
}

// Cross-entropy over logits in every finite regime (narrow 6, wide and extreme up to 1e20, an
// outlier of 1e3 first, last, in the middle, anywhere and at index 1, denormals, signed zeros,
// constant rows, ties). The max subtraction keeps every exponent <= 0, so no regime overflows;
// where a probability is not negligible its logit is within ~100 of the maximum and the float
// difference is exact, so the tolerances of CrossEntropyMatchesReferenceAndFiniteDifferences
// hold: dlogits within 1e-6 / rows absolute, the loss within 1e-5 relative (1e-5 absolute near 0).
TEST(TrainOps, CrossEntropyMatchesReferenceInEveryRegime) {
  test::Rng rng(TestSeedFor(14412));
  const test::RegimeLimits limits{.narrow = 6.0f, .limit = 1e20f, .outlier = 1e3f};
  std::vector<int> vocabs = test::RegimeSizes(rng, 2000, 2);
  std::vector<test::Regime> regimes = test::FiniteRegimes();
  for (test::Regime regime : regimes) {
    for (int vocab : vocabs) {
      for (int at_one = 0; at_one < (regime == test::Regime::kOutlierRandom ? 2 : 1); ++at_one) {
        const int rows = rng.Int(1, 3);
        SCOPED_TRACE(std::string(test::RegimeName(regime)) + (at_one ? " at index 1" : "") +
                     " vocab " + std::to_string(vocab) + " rows " + std::to_string(rows));
        std::vector<float> logits;
        std::vector<int> targets(rows);
        for (int r = 0; r < rows; ++r) {
          auto row = test::RegimeRow(regime, vocab, rng, limits);
          if (at_one && vocab > 1) row[1] = limits.outlier;
          logits.insert(logits.end(), row.begin(), row.end());
          targets[r] = rng.Int(0, vocab - 1);
        }
        std::vector<float> d(logits.size()), d_ref(logits.size());
        const float loss =
            CrossEntropyForwardBackward(logits.data(), targets.data(), d.data(), rows, vocab);
        const float loss_ref = CrossEntropyForwardBackwardRef(logits.data(), targets.data(),
                                                              d_ref.data(), rows, vocab);
        ASSERT_NEAR(loss, loss_ref, 1e-5 * std::max(1.0f, std::fabs(loss_ref)));
        for (size_t i = 0; i < d.size(); ++i) {
          ASSERT_NEAR(d[i], d_ref[i], 1e-6 / rows) << "dlogits[" << i << "]";
        }
      }
    }
  }
}

// RMSNorm's backward for x in every finite regime up to 1e10 (narrow 2, outlier 1e4, denormal
// rows whose mean square is below eps, constant rows, ties ...), against the double reference
// with the tolerance of RmsNormBackwardMatchesReferenceAndFiniteDifferences (relative to the
// terms inv * |dy w| that cancel). Beyond ~1e12 the kernel's inv^3 (< 1e-36) falls into float's
// subnormals: see RmsNormBackwardAtLargeMagnitudes below.
void CheckRmsNormBackwardRegimes(const test::RegimeLimits& limits, uint64_t salt) {
  test::Rng rng(TestSeedFor(salt));
  for (test::Regime regime : test::FiniteRegimes()) {
    for (int n : test::RegimeSizes(rng, 600, 2)) {
      const int rows = rng.Int(1, 3);
      SCOPED_TRACE(std::string(test::RegimeName(regime)) + " n=" + std::to_string(n) + " rows " +
                   std::to_string(rows));
      std::vector<float> x;
      for (int r = 0; r < rows; ++r) {
        const auto row = test::RegimeRow(regime, n, rng, limits);
        x.insert(x.end(), row.begin(), row.end());
      }
      const auto w = rng.Vector(n, 0.5f, 1.5f), dy = rng.Vector(x.size());
      // dx from zero: added to O(1) contents, a wrong dx of a large-magnitude row (~1e-10) would
      // vanish in their rounding (adding is checked in RmsNormBackwardMatchesReference...).
      std::vector<float> dx(x.size(), 0.0f), dx_ref = dx;
      auto dw = rng.Vector(n), dw_ref = dw;
      const auto dw0 = dw;
      RmsNormBackward(x.data(), w.data(), dy.data(), dx.data(), dw.data(), rows, n, 1e-5f);
      RmsNormBackwardRef(x.data(), w.data(), dy.data(), dx_ref.data(), dw_ref.data(), rows, n,
                         1e-5f);
      for (int r = 0; r < rows; ++r) {
        double ss = 0.0;
        for (int j = 0; j < n; ++j) ss += double(x[size_t(r) * n + j]) * x[size_t(r) * n + j];
        const double inv = 1.0 / std::sqrt(ss / n + 1e-5);
        double terms = 0.0;
        for (int j = 0; j < n; ++j)
          terms = std::max(terms, inv * std::fabs(dy[size_t(r) * n + j] * w[j]));
        for (int j = 0; j < n; ++j) {
          const size_t i = size_t(r) * n + j;
          ASSERT_NEAR(dx[i], dx_ref[i], DotTolerance(n) * terms + 1e-37) << "dx[" << i << "]";
        }
      }
      ASSERT_TRUE(Accumulated(dw, dw_ref, dw0, DotTolerance(rows) + DotTolerance(n)));
    }
  }
}

TEST(TrainOps, RmsNormBackwardMatchesReferenceInEveryRegime) {
  CheckRmsNormBackwardRegimes({.narrow = 2.0f, .limit = 1e10f, .outlier = 1e4f}, 14413);
}

// The forward's contract (rmsnorm_test.cpp) admits |x| up to 1e17. RmsNormBackward once computed
// inv * inv * inv, which for |x| >~ 1e12 (inv <~ 1e-12) is below FLT_MIN and lost its precision in
// float subnormals (at 1e15 it was 0 or one subnormal ulp), so dx came out wrong although the
// result (~inv) is an ordinary float.
TEST(TrainOps, RmsNormBackwardAtLargeMagnitudes) {
  CheckRmsNormBackwardRegimes({.narrow = 2.0f, .limit = 1e17f, .outlier = 1e15f}, 14414);
}

// The linear backward products with dy and x (or W) in every finite regime up to 1e15 (sums of
// up to ~300 products stay far below float overflow), checked normwise against the magnitude of
// the terms: max |got - want| <= DotTolerance(length) * max (sum |dy| |W| + |initial|), which is
// what the kernel's float GEMM guarantees whatever cancels (as gemm_test.cpp's
// ErrorAgainstMagnitude). Shapes from 1 to past the 32-tile of the transposition.
TEST(TrainOps, LinearBackwardMatchesReferenceInEveryRegime) {
  test::Rng rng(TestSeedFor(14415));
  const test::RegimeLimits limits{.narrow = 1.0f, .limit = 1e15f, .outlier = 1e6f};
  const LinearShape shapes[] = {{1, 1, 1}, {2, 3, 5}, {33, 17, 7}, {31, 65, 16}, {64, 33, 3}};
  for (test::Regime regime : test::FiniteRegimes()) {
    for (const LinearShape& s : shapes) {
      SCOPED_TRACE(std::string(test::RegimeName(regime)) + " " + std::to_string(s.M) + "x" +
                   std::to_string(s.N) + "x" + std::to_string(s.K));
      const auto dy = test::RegimeRow(regime, size_t(s.M) * s.N, rng, limits);
      const auto x = test::RegimeRow(regime, size_t(s.M) * s.K, rng, limits);
      const auto W = rng.Vector(size_t(s.N) * s.K);
      const auto dx0 = rng.Vector(x.size()), dW0 = rng.Vector(W.size());
      auto dx = dx0, dx_ref = dx0, dW = dW0, dW_ref = dW0;
      std::vector<float> scratch(size_t(s.M) * s.N, NAN);
      LinearBackwardInput(dy.data(), W.data(), dx.data(), s.M, s.N, s.K);
      LinearBackwardWeight(dy.data(), x.data(), dW.data(), s.M, s.N, s.K, scratch.data());
      LinearBackwardInputRef(dy.data(), W.data(), dx_ref.data(), s.M, s.N, s.K);
      LinearBackwardWeightRef(dy.data(), x.data(), dW_ref.data(), s.M, s.N, s.K);
      // Magnitudes: sum_j |dy_ij| |W_jk| + |dx0_ik| and sum_i |dy_ij| |x_ik| + |dW0_jk|.
      double mag_x = 0.0, err_x = 0.0, mag_w = 0.0, err_w = 0.0;
      for (int i = 0; i < s.M; ++i) {
        for (int k = 0; k < s.K; ++k) {
          double m = std::fabs(dx0[size_t(i) * s.K + k]);
          for (int j = 0; j < s.N; ++j) {
            m += std::fabs(double(dy[size_t(i) * s.N + j]) * W[size_t(j) * s.K + k]);
          }
          mag_x = std::max(mag_x, m);
          err_x = std::max(
              err_x, std::fabs(double(dx[size_t(i) * s.K + k]) - dx_ref[size_t(i) * s.K + k]));
        }
      }
      for (int j = 0; j < s.N; ++j) {
        for (int k = 0; k < s.K; ++k) {
          double m = std::fabs(dW0[size_t(j) * s.K + k]);
          for (int i = 0; i < s.M; ++i) {
            m += std::fabs(double(dy[size_t(i) * s.N + j]) * x[size_t(i) * s.K + k]);
          }
          mag_w = std::max(mag_w, m);
          err_w = std::max(
              err_w, std::fabs(double(dW[size_t(j) * s.K + k]) - dW_ref[size_t(j) * s.K + k]));
        }
      }
      EXPECT_LE(err_x, DotTolerance(s.N) * mag_x);
      EXPECT_LE(err_w, DotTolerance(s.M) * mag_w);
    }
  }
  // Empty products add nothing.
  std::vector<float> a(4, 1.0f), b(4, 1.0f), out(4, 7.0f), scratch(4);
  LinearBackwardInput(a.data(), b.data(), out.data(), 0, 2, 2);
  LinearBackwardWeight(a.data(), b.data(), out.data(), 2, 2, 0, scratch.data());
  LinearBackwardWeight(a.data(), b.data(), out.data(), 0, 2, 2, scratch.data());
  EXPECT_EQ(out, std::vector<float>(4, 7.0f));
}

// --- The whole training step
// -----------------------------------------------------------------------

struct TrainCase {
  const char* name;
  ModelConfig config;
  int batch, seq_len;
};

ModelConfig Config(int vocab, int dim, int layers, int heads, int kv_heads, int head_dim, int ffn,
                   int max_positions, bool tied) {
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

std::vector<TrainCase> TrainCases() {
  return {
      {"tiny", Config(5, 4, 1, 1, 1, 4, 3, 2, false), 1, 1},
      {"gqa", Config(37, 24, 2, 4, 2, 6, 40, 12, false), 2, 9},
      {"tied", Config(19, 16, 1, 2, 2, 8, 24, 8, true), 3, 5},
      {"mha odd", Config(23, 12, 3, 3, 3, 4, 17, 11, false), 1, 11},
  };
}

std::vector<int> RandomTokens(int batch, int seq_len, int vocab, uint64_t seed) {
  std::vector<int> t(size_t(batch) * (seq_len + 1));
  for (int& x : t) x = static_cast<int>(SplitMix64(seed) % vocab);
  return t;
}

// Every gradient tensor in a fixed order, with a name for messages.
std::vector<std::pair<std::string, const std::vector<float>*>> Named(const ModelWeights& w) {
  std::vector<std::pair<std::string, const std::vector<float>*>> t;
  t.push_back({"model.embed_tokens.weight", &w.embed_tokens});
  for (size_t i = 0; i < w.layers.size(); ++i) {
    const LayerWeights& l = w.layers[i];
    const std::string p = "model.layers." + std::to_string(i) + ".";
    t.push_back({p + "input_layernorm.weight", &l.input_norm});
    t.push_back({p + "self_attn.q_proj.weight", &l.q_proj});
    t.push_back({p + "self_attn.k_proj.weight", &l.k_proj});
    t.push_back({p + "self_attn.v_proj.weight", &l.v_proj});
    t.push_back({p + "self_attn.o_proj.weight", &l.o_proj});
    t.push_back({p + "post_attention_layernorm.weight", &l.post_norm});
    t.push_back({p + "mlp.gate_proj.weight", &l.gate_proj});
    t.push_back({p + "mlp.up_proj.weight", &l.up_proj});
    t.push_back({p + "mlp.down_proj.weight", &l.down_proj});
  }
  t.push_back({"model.norm.weight", &w.final_norm});
  if (!w.config.tie_embeddings) t.push_back({"lm_head.weight", &w.lm_head});
  return t;
}

constexpr double kGradientTolerance = 2e-4;  // normwise per tensor, float step vs double

::testing::AssertionResult GradientsMatch(const ModelWeights& got, const ModelWeights& want,
                                          double tolerance) {
  const auto g = Named(got), w = Named(want);
  if (g.size() != w.size()) return ::testing::AssertionFailure() << "tensor counts differ";
  for (size_t i = 0; i < g.size(); ++i) {
    auto r = Normwise(*g[i].second, *w[i].second, tolerance);
    if (!r) return r << " in " << g[i].first;
  }
  return ::testing::AssertionSuccess();
}

TEST(Trainer, GradientsMatchDoubleReference) {
  uint64_t salt = 14500;
  for (const TrainCase& tc : TrainCases()) {
    SCOPED_TRACE(tc.name);
    ModelWeights w = RandomWeights(tc.config, TestSeedFor(++salt), 0.3f);
    const auto tokens = RandomTokens(tc.batch, tc.seq_len, tc.config.vocab, TestSeedFor(++salt));
    Trainer trainer(w, tc.batch, tc.seq_len);
    const float loss = trainer.ComputeGradients(tokens);
    ModelWeights ref;
    const double loss_ref = TrainingLossRef(w, tokens, tc.batch, tc.seq_len, &ref);
    EXPECT_NEAR(loss, loss_ref, 1e-5 * loss_ref);
    EXPECT_TRUE(GradientsMatch(trainer.gradients(), ref, kGradientTolerance));
    // A second call on the same tokens overwrites, not accumulates.
    EXPECT_EQ(trainer.ComputeGradients(tokens), loss);
    EXPECT_TRUE(GradientsMatch(trainer.gradients(), ref, kGradientTolerance));
  }
}

// Central finite differences of the double reference loss, perturbing a few entries of every
// tensor (the float weights hold w +- h exactly enough: the actual step is used).
TEST(Trainer, ReferenceGradientsMatchFiniteDifferences) {
  uint64_t salt = 14600;
  for (const TrainCase& tc : TrainCases()) {
    SCOPED_TRACE(tc.name);
    ModelWeights w = RandomWeights(tc.config, TestSeedFor(++salt), 0.3f);
    const auto tokens = RandomTokens(tc.batch, tc.seq_len, tc.config.vocab, TestSeedFor(++salt));
    ModelWeights grads;
    TrainingLossRef(w, tokens, tc.batch, tc.seq_len, &grads);
    const auto params = Named(w);
    const auto g = Named(grads);
    uint64_t pick = TestSeedFor(++salt);
    for (size_t t = 0; t < params.size(); ++t) {
      auto* tensor = const_cast<std::vector<float>*>(params[t].second);
      double max_grad = 0.0;
      for (float x : *g[t].second) max_grad = std::max(max_grad, double(std::fabs(x)));
      for (int s = 0; s < 4; ++s) {
        const size_t i = SplitMix64(pick) % tensor->size();
        const float original = (*tensor)[i];
        const float up = original + 1e-4f, down = original - 1e-4f;
        (*tensor)[i] = up;
        const double plus = TrainingLossRef(w, tokens, tc.batch, tc.seq_len);
        (*tensor)[i] = down;
        const double minus = TrainingLossRef(w, tokens, tc.batch, tc.seq_len);
        (*tensor)[i] = original;
        const double fd = (plus - minus) / (double(up) - double(down));
        // h = 1e-4: truncation error O(h^2 * third derivative), ~1e-6 relative here; the
        // double loss's rounding adds ~1e-12.
        EXPECT_NEAR((*g[t].second)[i], fd, 5e-5 * max_grad + 1e-8)
            << params[t].first << "[" << i << "]";
      }
    }
  }
}

constexpr int kSteps = 6;
// Weights after kSteps Adam steps: each step moves a weight by about lr at most, so differences
// in the gradients' rounding show up as a small fraction of lr per step.
constexpr double kStepWeightTolerance = 5e-5;

// Weights after Adam steps, compared with an awareness of Adam's conditioning: its update
// m / (sqrt(v) + eps) is about sign(gradient) * lr, so an entry whose gradient is at the
// rounding level of its tensor may legitimately step the other way. Demands: every weight
// within kStepWeightTolerance except at most 1 + 1/1000 of them, and those within lr.
::testing::AssertionResult StepWeightsMatch(
    const std::vector<std::pair<std::string, const std::vector<float>*>>& got,
    const std::vector<std::pair<std::string, const std::vector<float>*>>& want, double lr) {
  size_t total = 0, outliers = 0;
  for (size_t t = 0; t < got.size(); ++t) {
    const std::vector<float>& a = *got[t].second;
    const std::vector<float>& b = *want[t].second;
    if (a.size() != b.size()) return ::testing::AssertionFailure() << got[t].first << " sizes";
    for (size_t i = 0; i < a.size(); ++i) {
      const double diff = std::fabs(double(a[i]) - b[i]);
      if (!(diff <= lr)) {
        return ::testing::AssertionFailure() << got[t].first << "[" << i << "]: " << a[i] << " vs "
                                             << b[i] << ", more than lr apart";
      }
      if (diff > kStepWeightTolerance) ++outliers;
    }
    total += a.size();
  }
  if (outliers <= 1 + total / 1000) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure()
         << outliers << " of " << total << " weights differ by more than " << kStepWeightTolerance;
}

// kSteps steps, each checked from the state the trainer reached: its gradients against the
// double reference at its current weights, and its update against AdamStepRef applied with those
// gradients to moments kept beside it. (Whole trajectories are compared with PyTorch's below;
// over several steps Adam amplifies rounding-level gradient differences, see StepWeightsMatch.)
TEST(Trainer, StepsMatchDoubleReference) {
  uint64_t salt = 14700;
  for (const TrainCase& tc : TrainCases()) {
    SCOPED_TRACE(tc.name);
    const ModelWeights initial = RandomWeights(tc.config, TestSeedFor(++salt), 0.3f);
    AdamConfig adam;
    adam.lr = 1e-2f;
    adam.weight_decay = 0.01f;
    ModelWeights w = initial;
    Trainer trainer(w, tc.batch, tc.seq_len, adam);
    ModelWeights m_ref = initial, v_ref = initial;
    for (ModelWeights* z : {&m_ref, &v_ref}) {
      for (auto& t : Named(*z)) {
        auto* data = const_cast<std::vector<float>*>(t.second);
        std::fill(data->begin(), data->end(), 0.0f);
      }
    }
    for (int step = 1; step <= kSteps; ++step) {
      SCOPED_TRACE("step " + std::to_string(step));
      const auto tokens = RandomTokens(tc.batch, tc.seq_len, tc.config.vocab, TestSeedFor(++salt));
      ModelWeights before = w;
      const float loss = trainer.Step(tokens);
      ModelWeights grads;
      const double loss_ref = TrainingLossRef(before, tokens, tc.batch, tc.seq_len, &grads);
      EXPECT_NEAR(loss, loss_ref, 1e-5 * loss_ref);
      EXPECT_TRUE(GradientsMatch(trainer.gradients(), grads, kGradientTolerance));
      const auto p = Named(before), g = Named(trainer.gradients()), m = Named(m_ref),
                 v = Named(v_ref), got = Named(w);
      for (size_t t = 0; t < p.size(); ++t) {
        AdamStepRef(const_cast<float*>(p[t].second->data()), g[t].second->data(),
                    const_cast<float*>(m[t].second->data()),
                    const_cast<float*>(v[t].second->data()), p[t].second->size(), step, adam);
        for (size_t i = 0; i < p[t].second->size(); ++i) {
          // As TrainAdam.MatchesReferenceOverSteps: float rounding of one update.
          ASSERT_NEAR((*got[t].second)[i], (*p[t].second)[i], 1e-6 + 1e-5 * adam.lr)
              << got[t].first << "[" << i << "]";
        }
      }
    }
    EXPECT_EQ(trainer.steps(), kSteps);
    double moved = 0.0;
    const auto end = Named(w), start = Named(initial);
    for (size_t t = 0; t < end.size(); ++t) {
      for (size_t i = 0; i < end[t].second->size(); ++i) {
        moved = std::max(moved, double(std::fabs((*end[t].second)[i] - (*start[t].second)[i])));
      }
    }
    EXPECT_GT(moved, adam.lr) << "training did not move the weights";
  }
}

TEST(Trainer, RejectsBadArguments) {
  ModelWeights w = RandomWeights(TrainCases()[1].config, TestSeedFor(14800), 0.3f);
  EXPECT_THROW(Trainer(w, 0, 4), std::invalid_argument);
  EXPECT_THROW(Trainer(w, 1, 13), std::invalid_argument);  // max_positions 12
  ModelWeights broken = w;
  broken.layers[1].up_proj.pop_back();
  EXPECT_THROW(Trainer(broken, 1, 4), std::invalid_argument);
  Trainer trainer(w, 2, 4);
  std::vector<int> tokens(2 * 5, 1);
  EXPECT_THROW(trainer.ComputeGradients(std::span<const int>(tokens.data(), 9)),
               std::invalid_argument);
  tokens[7] = w.config.vocab;
  EXPECT_THROW(trainer.Step(tokens), std::out_of_range);
  tokens[7] = -1;
  EXPECT_THROW(trainer.Step(tokens), std::out_of_range);
  EXPECT_EQ(trainer.steps(), 0);
}

// --- PyTorch autograd fixtures -------------------------------------------------------------------

std::string FixturePath(const std::string& file) {
  return std::string(RLVR_FIXTURES_DIR) + "/train/" + file;
}

double Meta(const SafeTensorsFile& f, const std::string& key) {
  return std::stod(f.metadata().at(key));
}

// A tensor of whatever shape the file gives it, flattened; it must hold `size` floats.
std::vector<float> ReadFlat(const SafeTensorsFile& f, const std::string& name, size_t size) {
  const std::vector<int64_t> shape = f.Info(name).shape;
  std::vector<float> values = f.Read(name, shape);
  EXPECT_EQ(values.size(), size) << name;
  values.resize(size);
  return values;
}

// PyTorch's float64 gradients at the initial weights, and the weights after `steps` float32
// AdamW steps (torch.optim.AdamW, foreach=False) on the same batch every step.
void CheckTorchFixture(const std::string& name) {
  SCOPED_TRACE(name);
  const std::string weights_path = FixturePath(name + ".weights.safetensors");
  const ModelConfig config = LoadConfig(weights_path);
  const ModelWeights initial = LoadWeights(weights_path, config);
  const SafeTensorsFile expected =
      SafeTensorsFile::Open(FixturePath(name + ".expected.safetensors"));
  const int batch = static_cast<int>(Meta(expected, "batch"));
  const int seq_len = static_cast<int>(Meta(expected, "seq_len"));
  const int steps = static_cast<int>(Meta(expected, "steps"));
  AdamConfig adam;
  adam.lr = static_cast<float>(Meta(expected, "lr"));
  adam.beta1 = static_cast<float>(Meta(expected, "beta1"));
  adam.beta2 = static_cast<float>(Meta(expected, "beta2"));
  adam.eps = static_cast<float>(Meta(expected, "eps"));
  adam.weight_decay = static_cast<float>(Meta(expected, "weight_decay"));
  const auto token_values = expected.Read("tokens", {batch, seq_len + 1});
  const std::vector<int> tokens(token_values.begin(), token_values.end());
  const float loss0 = expected.Read("loss0", {1})[0];
  const auto losses = expected.Read("losses", {steps});

  ModelWeights w = initial;
  Trainer trainer(w, batch, seq_len, adam);
  EXPECT_NEAR(trainer.ComputeGradients(tokens), loss0, 1e-5 * loss0);
  for (const auto& [tensor_name, grad] : Named(trainer.gradients())) {
    const auto want = ReadFlat(expected, "grad." + tensor_name, grad->size());
    EXPECT_TRUE(Normwise(*grad, want, kGradientTolerance)) << tensor_name;
  }
  // The reference agrees with PyTorch as well.
  ModelWeights ref;
  EXPECT_NEAR(TrainingLossRef(initial, tokens, batch, seq_len, &ref), loss0, 1e-6 * loss0);
  for (const auto& [tensor_name, grad] : Named(ref)) {
    const auto want = ReadFlat(expected, "grad." + tensor_name, grad->size());
    EXPECT_TRUE(Normwise(*grad, want, 1e-5)) << "reference " << tensor_name;
  }

  for (int s = 0; s < steps; ++s) {
    EXPECT_NEAR(trainer.Step(tokens), losses[s], 1e-4 * losses[s]) << "step " << s + 1;
  }
  std::vector<std::vector<float>> finals;
  const auto got = Named(w);
  for (const auto& [tensor_name, param] : got) {
    finals.push_back(ReadFlat(expected, "final." + tensor_name, param->size()));
  }
  std::vector<std::pair<std::string, const std::vector<float>*>> want;
  for (size_t t = 0; t < got.size(); ++t) want.push_back({got[t].first, &finals[t]});
  EXPECT_TRUE(StepWeightsMatch(got, want, adam.lr));
}

TEST(TrainerTorch, UntiedAdamMatchesPyTorch) {
  CheckTorchFixture("untied");
}
TEST(TrainerTorch, TiedAdamWMatchesPyTorch) {
  CheckTorchFixture("tied");
}

// --- Loss falls on a small text corpus -----------------------------------------------------------

TEST(TrainerCorpus, LossDecreasesOnText) {
  std::ifstream in(FixturePath("corpus.txt"), std::ios::binary);
  ASSERT_TRUE(in) << FixturePath("corpus.txt");
  std::stringstream text;
  text << in.rdbuf();
  const std::string corpus = text.str();
  ASSERT_GT(corpus.size(), 1000u);
  ModelConfig config = Config(128, 32, 2, 4, 2, 8, 64, 32, false);  // byte-level, ASCII text
  for (unsigned char ch : corpus) ASSERT_LT(ch, 128) << "corpus must be ASCII";
  ModelWeights w = RandomWeights(config, TestSeedFor(14900), 0.1f);
  const int batch = 4, seq_len = 32;
  AdamConfig adam;
  adam.lr = 1e-2f;
  Trainer trainer(w, batch, seq_len, adam);
  // Held-out windows: the loss on them must fall too, not only on the batches trained.
  std::vector<int> held_out(size_t(batch) * (seq_len + 1));
  for (int b = 0; b < batch; ++b)
    for (int t = 0; t <= seq_len; ++t)
      held_out[size_t(b) * (seq_len + 1) + t] = corpus[(b * 401 + 7 + t) % corpus.size()];
  Trainer evaluator(w, batch, seq_len);
  const float held_out_before = evaluator.ComputeGradients(held_out);
  std::vector<int> tokens(held_out.size());
  uint64_t offsets = TestSeedFor(14901);
  float first = 0.0f, last = 0.0f;
  const int steps = 60;
  for (int step = 0; step < steps; ++step) {
    for (int b = 0; b < batch; ++b) {
      const size_t start = SplitMix64(offsets) % (corpus.size() - seq_len - 1);
      for (int t = 0; t <= seq_len; ++t) tokens[size_t(b) * (seq_len + 1) + t] = corpus[start + t];
    }
    const float loss = trainer.Step(tokens);
    if (step == 0) first = loss;
    if (step >= steps - 5) last += loss / 5;
  }
  const float held_out_after = evaluator.ComputeGradients(held_out);
  EXPECT_NEAR(first, std::log(128.0f), 1.0f);  // a random model is about uniform
  EXPECT_LT(last, 0.75f * first) << "first " << first << ", last five " << last;
  EXPECT_LT(held_out_after, 0.8f * held_out_before);
}

// --- No allocation per step
// -------------------------------------------------------------------------

TEST(AllocTrain, StepAllocatesNothing) {
  const TrainCase tc = TrainCases()[1];
  ModelWeights w = RandomWeights(tc.config, TestSeedFor(15000), 0.3f);
  Trainer trainer(w, tc.batch, tc.seq_len);
  const auto tokens = RandomTokens(tc.batch, tc.seq_len, tc.config.vocab, TestSeedFor(15001));
  trainer.Step(tokens);  // warm-up: thread pool and GEMM packing buffers
  AllocationScope scope;
  float sum = 0.0f;
  for (int i = 0; i < 3; ++i) sum += trainer.Step(tokens);
  sum += trainer.ComputeGradients(tokens);
  trainer.ApplyAdam();
  EXPECT_EQ(scope.count(), 0u);
  EXPECT_TRUE(std::isfinite(sum));
}

TEST(AllocTrain, BackwardOpsAllocateNothing) {
  const int M = 33, N = 40, K = 24, T = 9, H = 4, KVH = 2, hd = 6;
  auto a = Random(size_t(M) * std::max(N, K), 1), b = Random(size_t(N) * K, 2);
  std::vector<float> out(size_t(M) * std::max(N, K) * 2), out2(out.size()), scratch(size_t(M) * N);
  std::vector<int> targets(M, 3);
  const RopeCache cache(hd, T, 10000.0f);
  LinearBackwardWeight(a.data(), b.data(), out.data(), M, N, K, scratch.data());  // warm-up
  AllocationScope scope;
  LinearBackwardInput(a.data(), b.data(), out.data(), M, N, K);
  LinearBackwardWeight(a.data(), b.data(), out.data(), M, N, K, scratch.data());
  RmsNormBackward(a.data(), b.data(), a.data(), out.data(), out2.data(), M, K);
  SoftmaxBackward(a.data(), b.data(), out.data(), 3, K);
  CrossEntropyForwardBackward(a.data(), targets.data(), out.data(), M, N);
  SwiGLUBackward(a.data(), b.data(), a.data(), out.data(), out2.data(), 100);
  RopeBackward(out.data(), H, hd, 3, cache);
  CausalAttentionForward(a.data(), b.data(), b.data(), out.data(), out2.data(), T, H, KVH, hd);
  CausalAttentionBackward(a.data(), b.data(), b.data(), out2.data(), a.data(), out.data(),
                          out.data() + 500, out.data() + 800, scratch.data(), T, H, KVH, hd);
  float p[4] = {}, m[4] = {}, v[4] = {};
  AdamStep(p, a.data(), m, v, 4, 1, AdamConfig{});
  EXPECT_EQ(scope.count(), 0u);
}

}  // namespace
}  // namespace rlvr
