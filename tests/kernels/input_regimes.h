// Named input regimes for the kernel tests: rows that reach the edges of a kernel's contract, not
// only one narrow uniform distribution. A wrong kernel whose failure lies outside the sampled
// inputs (a softmax shifting by the first logit instead of the maximum overflows once some logit
// exceeds the first by ~88) passes tests that only ever draw from [-20, 20] with the maximum first.
//
// Each kernel's test file states which regimes its contract admits, draws rows of each of them on
// random shapes (tiny, odd, vector-width +/- 1, large; RegimeSizes) and compares with the
// reference, plus property checks. Rows are drawn from test::Rng, so a failure replays with the
// same RLVR_TEST_SEED.
//
//   kNarrow          uniform in [-narrow, narrow]: the everyday case
//   kWide            log-uniform magnitudes from 1e-3 * narrow up to `limit`, random signs: wide
//                    spreads inside one row
//   kExtreme         magnitudes in [limit / 2, limit], random signs: the type's useful limit for
//                    this kernel
//   kOutlierFirst    narrow row plus one value `outlier` at index 0 ...
//   kOutlierLast     ... at index n - 1 (the scalar tail of a vectorised loop)
//   kOutlierMiddle   ... at index n / 2
//   kOutlierRandom   ... at a random index
//   kDenormal        subnormal floats (and their sign), about one in eight an exact zero
//   kSignedZeros     +0 and -0, with about a quarter narrow values
//   kConstant        every value the same (a random narrow value)
//   kTies            values from a set of three, so the maximum occurs several times
//   kNegInfMask      narrow row with about half the entries -inf (at least one finite one)
//   kNaN             narrow row with one NaN at a random index
#pragma once

#include <cfloat>
#include <cmath>
#include <limits>
#include <vector>

#include "tests/kernels/ops_test_util.h"

namespace rlvr::test {

enum class Regime {
  kNarrow,
  kWide,
  kExtreme,
  kOutlierFirst,
  kOutlierLast,
  kOutlierMiddle,
  kOutlierRandom,
  kDenormal,
  kSignedZeros,
  kConstant,
  kTies,
  kNegInfMask,
  kNaN,
};

inline const char* RegimeName(Regime r) {
  switch (r) {
    case Regime::kNarrow:
      return "narrow";
    case Regime::kWide:
      return "wide";
    case Regime::kExtreme:
      return "extreme";
    case Regime::kOutlierFirst:
      return "outlier-first";
    case Regime::kOutlierLast:
      return "outlier-last";
    case Regime::kOutlierMiddle:
      return "outlier-middle";
    case Regime::kOutlierRandom:
      return "outlier-random";
    case Regime::kDenormal:
      return "denormal";
    case Regime::kSignedZeros:
      return "signed-zeros";
    case Regime::kConstant:
      return "constant";
    case Regime::kTies:
      return "ties";
    case Regime::kNegInfMask:
      return "-inf-mask";
    case Regime::kNaN:
      return "NaN";
  }
  return "?";
}

// The finite regimes every elementwise/reduction kernel admits; add kNegInfMask/kNaN where the
// contract allows them.
inline std::vector<Regime> FiniteRegimes() {
  return {Regime::kNarrow,        Regime::kWide,        Regime::kExtreme,
          Regime::kOutlierFirst,  Regime::kOutlierLast, Regime::kOutlierMiddle,
          Regime::kOutlierRandom, Regime::kDenormal,    Regime::kSignedZeros,
          Regime::kConstant,      Regime::kTies};
}

// Per-kernel scales of the regimes.
struct RegimeLimits {
  float narrow = 1.0f;     // half-width of the narrow distribution
  float limit = 1e4f;      // largest magnitude the kernel's contract handles (kWide, kExtreme)
  float outlier = 100.0f;  // the outlier's value (placed in a narrow row)
};

inline std::vector<float> RegimeRow(Regime r, size_t n, Rng& rng, const RegimeLimits& lim) {
  std::vector<float> v = rng.Vector(n, -lim.narrow, lim.narrow);
  if (n == 0) return v;
  auto sign = [&] { return rng.Int(0, 1) ? 1.0f : -1.0f; };
  switch (r) {
    case Regime::kNarrow:
      break;
    case Regime::kWide: {
      const float lo = std::log10(1e-3f * lim.narrow), hi = std::log10(lim.limit);
      for (float& x : v) x = sign() * std::fmin(std::pow(10.0f, rng.Uniform(lo, hi)), lim.limit);
      break;
    }
    case Regime::kExtreme:
      for (float& x : v) x = sign() * rng.Uniform(0.5f, 1.0f) * lim.limit;
      break;
    case Regime::kOutlierFirst:
      v[0] = lim.outlier;
      break;
    case Regime::kOutlierLast:
      v[n - 1] = lim.outlier;
      break;
    case Regime::kOutlierMiddle:
      v[n / 2] = lim.outlier;
      break;
    case Regime::kOutlierRandom:
      v[rng.Int(0, static_cast<int>(n) - 1)] = lim.outlier;
      break;
    case Regime::kDenormal:
      for (float& x : v) {
        x = rng.Int(0, 7) == 0 ? 0.0f : sign() * rng.Uniform(0.0f, 1.0f) * FLT_MIN;
      }
      break;
    case Regime::kSignedZeros:
      for (float& x : v) {
        if (rng.Int(0, 3) != 0) x = sign() * 0.0f;
      }
      break;
    case Regime::kConstant: {
      const float c = rng.Uniform(-lim.narrow, lim.narrow);
      for (float& x : v) x = c;
      break;
    }
    case Regime::kTies: {
      const float values[3] = {rng.Uniform(-lim.narrow, lim.narrow),
                               rng.Uniform(-lim.narrow, lim.narrow),
                               rng.Uniform(-lim.narrow, lim.narrow)};
      for (float& x : v) x = values[rng.Int(0, 2)];
      break;
    }
    case Regime::kNegInfMask: {
      const int keep = rng.Int(0, static_cast<int>(n) - 1);
      for (size_t i = 0; i < n; ++i) {
        if (static_cast<int>(i) != keep && rng.Int(0, 1)) v[i] = -INFINITY;
      }
      break;
    }
    case Regime::kNaN:
      v[rng.Int(0, static_cast<int>(n) - 1)] = std::numeric_limits<float>::quiet_NaN();
      break;
  }
  return v;
}

// Tiny sizes, odd sizes, one either side of 8/16/32/64-wide vector loops, and a few random sizes
// up to max_random (for row kernels that is enough; large fixed sizes stay in the older tests).
inline std::vector<int> RegimeSizes(Rng& rng, int max_random, int random_count = 4) {
  std::vector<int> sizes = {1, 2, 3, 5, 7, 15, 16, 17, 31, 33, 63, 65};
  for (int i = 0; i < random_count; ++i) sizes.push_back(rng.Int(1, max_random));
  return sizes;
}

}  // namespace rlvr::test
