#include "kernels/rmsnorm.h"

#include <cmath>

namespace rlvr {

void RmsNorm(const float* x, const float* weight, float* out, int n, float eps) {
  if (n <= 0) return;
  // Independent partial sums vectorize without -ffast-math and also lose less precision than
  // one long sequential sum.
  constexpr int kLanes = 16;
  float lane[kLanes] = {};
  int i = 0;
  for (; i + kLanes <= n; i += kLanes) {
    for (int l = 0; l < kLanes; ++l) lane[l] += x[i + l] * x[i + l];
  }
  float sum = 0.0f;
  for (int l = 0; l < kLanes; ++l) sum += lane[l];
  for (; i < n; ++i) sum += x[i] * x[i];
  const float scale = 1.0f / std::sqrt(sum / static_cast<float>(n) + eps);
  for (int j = 0; j < n; ++j) out[j] = x[j] * scale * weight[j];
}

}  // namespace rlvr
