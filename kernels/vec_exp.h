// ExpFast: a branch-free float exp (Cephes polynomial, about 2 ulp) written so that loops calling
// it auto-vectorize; std::exp stays scalar without -ffast-math. Shared by the softmax, activation
// and attention kernels.
#pragma once

#include <bit>
#include <cstdint>

namespace rlvr {

inline float ExpFast(float x) {
  // Beyond these bounds exp under/overflows float; the selects at the end give exactly 0 / inf.
  constexpr float kLow = -87.3f;
  constexpr float kHigh = 88.3f;
  const float clamped = x < kLow ? kLow : (x > kHigh ? kHigh : x);
  // n = round(x / ln 2) by the 1.5 * 2^23 trick (exact for |n| < 2^22, vectorizes everywhere).
  constexpr float kRound = 12582912.0f;
  const float n = (clamped * 1.44269504088896341f + kRound) - kRound;
  // r = x - n ln 2 in two steps (Cody-Waite) so r keeps full precision.
  float r = clamped - n * 0.693359375f;
  r = r - n * -2.12194440e-4f;
  float p = 1.9875691500e-4f;
  p = p * r + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  p = p * r * r + r + 1.0f;
  const float scale =
      std::bit_cast<float>(static_cast<uint32_t>(static_cast<int32_t>(n) + 127) << 23);
  float result = p * scale;
  result = x < kLow ? 0.0f : result;
  result = x > kHigh ? __builtin_inff() : result;
  return result;
}

}  // namespace rlvr
