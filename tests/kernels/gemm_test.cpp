// Gemm, Linear and MatVec against the double-accumulation references in
// kernels/reference/gemm_ref.h, on shapes that hit every edge of the blocking (1, odd sizes,
// non-multiples of the micro-tile, K beyond one K block, N beyond one N block), with alpha/beta
// variants, NaN in C under beta == 0, and 1, 2 and the default number of threads.
#include "kernels/gemm.h"

#include <gtest/gtest.h>

#include <cfloat>
#include <cmath>
#include <limits>
#include <stdexcept>
#include <vector>

#include "kernels/reference/gemm_ref.h"
#include "tests/common/test_seed.h"
#include "tests/kernels/input_regimes.h"

namespace rlvr {
namespace {

constexpr double kEps = std::numeric_limits<float>::epsilon();

// Error allowed for a K-term float dot product, relative to the magnitude of its terms
// (ErrorAgainstMagnitude): rounding errors of random sign grow like sqrt(K) * eps; the factor 8 and
// the +2 (alpha, beta and the final rounding) leave margin without admitting a real bug (dropping
// or corrupting even one term gives errors near 1/K of the magnitude, thousands of times more).
double Tolerance(int K) {
  return 8.0 * (std::sqrt(static_cast<double>(K)) + 2.0) * kEps;
}

std::vector<float> Abs(std::vector<float> v) {
  for (float& x : v) x = std::fabs(x);
  return v;
}

// max_i |got[i] - want[i]| over max_i magnitude[i], where magnitude is the same product computed
// on the absolute values (sum_k |a_ik| |b_kj|, the scale of a dot product's rounding error).
// Why not the error relative to |want|: with one or a few outputs (N = 1, M = 1) the sum of random
// terms can cancel to near zero, and an honest kernel's rounding error then looked 4x over the
// tolerance for about 6% of random seeds, failing honest candidates.
double ErrorAgainstMagnitude(const float* got, const float* want, const float* magnitude,
                             size_t n) {
  double max_error = 0.0, max_magnitude = 0.0;
  for (size_t i = 0; i < n; ++i) {
    if (!std::isfinite(got[i]) && std::isfinite(want[i]))
      return std::numeric_limits<double>::infinity();
    max_error = std::fmax(max_error, std::fabs(double(got[i]) - double(want[i])));
    max_magnitude = std::fmax(max_magnitude, double(magnitude[i]));
  }
  return max_magnitude > 0.0 ? max_error / max_magnitude : max_error;
}

const int kSizes[] = {1, 3, 17, 31, 64, 65, 127, 200};

std::vector<float> Random(size_t n, uint64_t salt) {
  std::vector<float> v(n);
  FillRandom(v.data(), n, TestSeedFor(salt));
  return v;
}

struct Shape {
  int M, N, K;
};

void ExpectGemmMatchesReference(Shape s, float alpha, float beta, ThreadPool* pool, uint64_t salt) {
  std::vector<float> A = Random(size_t(s.M) * s.K, salt);
  std::vector<float> B = Random(size_t(s.K) * s.N, salt + 1);
  std::vector<float> C = Random(size_t(s.M) * s.N, salt + 2);
  std::vector<float> want = C, magnitude = Abs(C);
  GemmRef(A.data(), B.data(), want.data(), s.M, s.N, s.K, alpha, beta);
  GemmRef(Abs(A).data(), Abs(B).data(), magnitude.data(), s.M, s.N, s.K, std::fabs(alpha),
          std::fabs(beta));
  Gemm(A.data(), B.data(), C.data(), s.M, s.N, s.K, alpha, beta, pool);
  EXPECT_LE(ErrorAgainstMagnitude(C.data(), want.data(), magnitude.data(), C.size()),
            Tolerance(s.K))
      << "M=" << s.M << " N=" << s.N << " K=" << s.K << " alpha=" << alpha << " beta=" << beta
      << " threads=" << (pool ? pool->threads() : DefaultPool().threads());
}

TEST(Gemm, AllEdgeSizesSingleThread) {
  ThreadPool pool(1);
  uint64_t salt = 0;
  for (int M : kSizes) {
    for (int N : kSizes) {
      int K = kSizes[(M + N) % 8];  // a different K for each (M, N) pair, all eight appear
      ExpectGemmMatchesReference({M, N, K}, 1.0f, 0.0f, &pool, salt += 3);
    }
  }
}

TEST(Gemm, AllEdgeSizesTwoThreads) {
  ThreadPool pool(2);
  uint64_t salt = 1000;
  for (int M : kSizes) {
    for (int K : kSizes) {
      int N = kSizes[(M * 3 + K) % 8];
      ExpectGemmMatchesReference({M, N, K}, 1.0f, 0.0f, &pool, salt += 3);
    }
  }
}

TEST(Gemm, BlockBoundaries) {
  // Large enough to be split over threads by rows and by columns, K spanning several K blocks,
  // M spanning several M blocks, N beyond one N block on a single task.
  ThreadPool two(2), one(1);
  const Shape shapes[] = {{200, 200, 200}, {13, 700, 100}, {300, 40, 90}, {500, 33, 600},
                          {3, 2100, 20},   {97, 65, 1031}, {1, 4097, 3}};
  uint64_t salt = 2000;
  for (Shape s : shapes) {
    ExpectGemmMatchesReference(s, 1.0f, 0.0f, &two, salt += 3);
    ExpectGemmMatchesReference(s, 1.0f, 0.0f, &one, salt += 3);
    ExpectGemmMatchesReference(s, 1.0f, 0.0f, nullptr, salt += 3);
  }
}

TEST(Gemm, AlphaBetaVariants) {
  ThreadPool pool(2);
  const float variants[][2] = {{1.0f, 1.0f}, {0.5f, 0.0f}, {-2.0f, 0.25f}, {1.5f, -1.0f},
                               {0.0f, 0.5f}, {0.0f, 0.0f}, {3.0f, 1.0f}};
  const Shape shapes[] = {{1, 1, 1}, {17, 31, 65}, {127, 64, 3}, {200, 129, 300}};
  uint64_t salt = 3000;
  for (auto [alpha, beta] : variants) {
    for (Shape s : shapes) ExpectGemmMatchesReference(s, alpha, beta, &pool, salt += 3);
  }
}

TEST(Gemm, BetaZeroIgnoresNaNInC) {
  ThreadPool pool(2);
  const float nan = std::numeric_limits<float>::quiet_NaN();
  const Shape shapes[] = {{1, 1, 1}, {17, 65, 31}, {200, 127, 300}, {13, 700, 100}};
  uint64_t salt = 4000;
  for (Shape s : shapes) {
    for (float alpha : {1.0f, 0.0f, -0.5f}) {
      std::vector<float> A = Random(size_t(s.M) * s.K, salt += 2);
      std::vector<float> B = Random(size_t(s.K) * s.N, salt + 1);
      std::vector<float> C(size_t(s.M) * s.N, nan), want(C.size(), nan), magnitude(C.size());
      GemmRef(A.data(), B.data(), want.data(), s.M, s.N, s.K, alpha, 0.0f);
      GemmRef(Abs(A).data(), Abs(B).data(), magnitude.data(), s.M, s.N, s.K, std::fabs(alpha),
              0.0f);
      Gemm(A.data(), B.data(), C.data(), s.M, s.N, s.K, alpha, 0.0f, &pool);
      for (size_t i = 0; i < C.size(); ++i) {
        ASSERT_FALSE(std::isnan(C[i])) << "entry " << i << " M=" << s.M << " N=" << s.N;
      }
      EXPECT_LE(ErrorAgainstMagnitude(C.data(), want.data(), magnitude.data(), C.size()),
                Tolerance(s.K));
    }
  }
}

TEST(Gemm, MatOverloadAndShapeCheck) {
  Mat A(31, 17), B(17, 65), C(31, 65), want(31, 65);
  A.FillRandom(TestSeedFor(5000));
  B.FillRandom(TestSeedFor(5001));
  GemmRef(A.data.data(), B.data.data(), want.data.data(), 31, 65, 17);
  Gemm(A, B, C);
  EXPECT_LE(MaxRelativeError(C.data.data(), want.data.data(), C.size()), Tolerance(17));
  Mat wrong(30, 65);
  EXPECT_THROW(Gemm(A, B, wrong), std::invalid_argument);
  Mat wrong_inner(16, 65);
  EXPECT_THROW(Gemm(A, wrong_inner, C), std::invalid_argument);
}

TEST(Gemm, ReferenceAgreesWithHandComputedProduct) {
  // Guards the reference itself: [1 2; 3 4] * [5 6; 7 8] = [19 22; 43 50].
  const float A[] = {1, 2, 3, 4}, B[] = {5, 6, 7, 8};
  float C[] = {1, 1, 1, 1};
  GemmRef(A, B, C, 2, 2, 2, 2.0f, 1.0f);
  EXPECT_EQ(C[0], 39.0f);
  EXPECT_EQ(C[1], 45.0f);
  EXPECT_EQ(C[2], 87.0f);
  EXPECT_EQ(C[3], 101.0f);
  float fast[] = {1, 1, 1, 1};
  Gemm(A, B, fast, 2, 2, 2, 2.0f, 1.0f);
  for (int i = 0; i < 4; ++i) EXPECT_EQ(fast[i], C[i]);
}

void ExpectLinearMatchesReference(Shape s, ThreadPool* pool, uint64_t salt) {
  std::vector<float> x = Random(size_t(s.M) * s.K, salt);
  std::vector<float> W = Random(size_t(s.N) * s.K, salt + 1);
  std::vector<float> y(size_t(s.M) * s.N, std::numeric_limits<float>::quiet_NaN());
  std::vector<float> want(y.size()), magnitude(y.size());
  LinearRef(x.data(), W.data(), want.data(), s.M, s.N, s.K);
  LinearRef(Abs(x).data(), Abs(W).data(), magnitude.data(), s.M, s.N, s.K);
  Linear(x.data(), W.data(), y.data(), s.M, s.N, s.K, pool);
  EXPECT_LE(ErrorAgainstMagnitude(y.data(), want.data(), magnitude.data(), y.size()),
            Tolerance(s.K))
      << "M=" << s.M << " N=" << s.N << " K=" << s.K;
}

TEST(Linear, EdgeSizes) {
  ThreadPool two(2), one(1);
  uint64_t salt = 6000;
  // Small M takes the unpacked dot-product path (AVX-512), larger M the packed GEMM path.
  for (int M : {1, 2, 3, 6, 7, 12, 17, 64, 130}) {
    for (int N : kSizes) {
      int K = kSizes[(M + N * 5) % 8];
      ExpectLinearMatchesReference({M, N, K}, &two, salt += 2);
      ExpectLinearMatchesReference({M, N, K}, &one, salt += 2);
    }
  }
}

TEST(Linear, DecoderSizes) {
  uint64_t salt = 7000;
  const Shape shapes[] = {
      {1, 768, 2048}, {1, 2048, 768}, {7, 2048, 768}, {32, 768, 2048}, {128, 768, 512}};
  for (Shape s : shapes) ExpectLinearMatchesReference(s, nullptr, salt += 2);
}

TEST(Linear, MatchesGemmWithTransposedWeights) {
  const int M = 9, N = 37, K = 70;
  std::vector<float> x = Random(size_t(M) * K, 8000), W = Random(size_t(N) * K, 8001);
  std::vector<float> Wt(size_t(K) * N), y(size_t(M) * N), via_gemm(y.size());
  for (int n = 0; n < N; ++n) {
    for (int k = 0; k < K; ++k) Wt[size_t(k) * N + n] = W[size_t(n) * K + k];
  }
  Linear(x.data(), W.data(), y.data(), M, N, K);
  Gemm(x.data(), Wt.data(), via_gemm.data(), M, N, K);
  EXPECT_LE(MaxRelativeError(y.data(), via_gemm.data(), y.size()), Tolerance(K));
}

void ExpectMatVecMatchesReference(int N, int K, ThreadPool* pool, uint64_t salt) {
  std::vector<float> W = Random(size_t(N) * K, salt), x = Random(K, salt + 1);
  std::vector<float> y(N, std::numeric_limits<float>::quiet_NaN()), want(N), magnitude(N);
  MatVecRef(W.data(), x.data(), want.data(), N, K);
  MatVecRef(Abs(W).data(), Abs(x).data(), magnitude.data(), N, K);
  MatVec(W.data(), x.data(), y.data(), N, K, pool);
  EXPECT_LE(ErrorAgainstMagnitude(y.data(), want.data(), magnitude.data(), N), Tolerance(K))
      << "N=" << N << " K=" << K;
}

TEST(MatVec, EdgeSizes) {
  ThreadPool two(2), one(1);
  uint64_t salt = 9000;
  for (int N : kSizes) {
    for (int K : kSizes) {
      ExpectMatVecMatchesReference(N, K, &two, salt += 2);
      ExpectMatVecMatchesReference(N, K, &one, salt += 2);
    }
  }
}

TEST(MatVec, LargeParallel) {
  ThreadPool two(2);
  uint64_t salt = 9500;
  for (auto [N, K] : {std::pair{4099, 257}, std::pair{1024, 1024}, std::pair{5, 20000}}) {
    ExpectMatVecMatchesReference(N, K, &two, salt += 2);
    ExpectMatVecMatchesReference(N, K, nullptr, salt += 2);
  }
}

// Input regimes (input_regimes.h) for the matrix operand, the other operand uniform in [-1, 1]:
// the contract (gemm.h) admits every finite regime; the limit 1e15 keeps every product and K-term
// sum far below FLT_MAX, the outlier is 1e6. Infinities and NaN are outside it (beta == 0 with NaN
// in C is tested above). Each output is held to its own magnitude (sum_k |a_ik| |b_kj|, as
// ErrorAgainstMagnitude, but per element, so a small row next to a huge one is still checked):
// |got - want| <= Tolerance(K) * magnitude + (K + 2) 2^-149, the last term for subnormal products,
// which round to a multiple of 2^-149 (absolute, not relative) — a kernel flushing denormal
// inputs to zero returns 0 there and fails by the whole magnitude.
void ExpectWithinOwnMagnitude(const std::vector<float>& got, const std::vector<float>& want,
                              const std::vector<float>& magnitude, int K, const char* what,
                              test::Regime regime, int rows, int cols) {
  for (size_t i = 0; i < got.size(); ++i) {
    const double tol = Tolerance(K) * magnitude[i] + (K + 2) * double(FLT_TRUE_MIN);
    ASSERT_LE(std::fabs(double(got[i]) - double(want[i])), tol)
        << what << " " << test::RegimeName(regime) << " " << rows << "x" << cols << " K=" << K
        << " i=" << i << " got " << got[i] << " want " << want[i];
  }
}

constexpr test::RegimeLimits kGemmLimits{.narrow = 1.0f, .limit = 1e15f, .outlier = 1e6f};

TEST(MatVec, InputRegimes) {
  test::Rng rng(TestSeedFor(9900));
  ThreadPool one(1);
  for (test::Regime regime : test::FiniteRegimes()) {
    for (auto [N, K] : {std::pair{1, 1}, std::pair{3, 17}, std::pair{17, 65}, std::pair{65, 200}}) {
      const std::vector<float> W = test::RegimeRow(regime, size_t(N) * K, rng, kGemmLimits);
      const std::vector<float> x = rng.Vector(K);
      std::vector<float> y(N, std::numeric_limits<float>::quiet_NaN()), want(N), magnitude(N);
      MatVecRef(W.data(), x.data(), want.data(), N, K);
      MatVecRef(Abs(W).data(), Abs(x).data(), magnitude.data(), N, K);
      MatVec(W.data(), x.data(), y.data(), N, K, &one);
      ExpectWithinOwnMagnitude(y, want, magnitude, K, "MatVec", regime, N, K);
    }
  }
}

TEST(Gemm, InputRegimes) {
  test::Rng rng(TestSeedFor(9901));
  ThreadPool one(1);
  for (test::Regime regime : test::FiniteRegimes()) {
    for (Shape s : {Shape{1, 1, 1}, Shape{3, 5, 17}, Shape{17, 33, 65}, Shape{65, 31, 130}}) {
      const std::vector<float> A = test::RegimeRow(regime, size_t(s.M) * s.K, rng, kGemmLimits);
      const std::vector<float> B = rng.Vector(size_t(s.K) * s.N);
      std::vector<float> C(size_t(s.M) * s.N, std::numeric_limits<float>::quiet_NaN());
      std::vector<float> want(C.size()), magnitude(C.size());
      GemmRef(A.data(), B.data(), want.data(), s.M, s.N, s.K, 1.0f, 0.0f);
      GemmRef(Abs(A).data(), Abs(B).data(), magnitude.data(), s.M, s.N, s.K, 1.0f, 0.0f);
      Gemm(A.data(), B.data(), C.data(), s.M, s.N, s.K, 1.0f, 0.0f, &one);
      ExpectWithinOwnMagnitude(C, want, magnitude, s.K, "Gemm", regime, s.M, s.N);
    }
  }
}

}  // namespace
}  // namespace rlvr
