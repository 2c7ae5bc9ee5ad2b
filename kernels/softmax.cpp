#include "kernels/softmax.h"

#include <cmath>
#include <limits>

#include "kernels/vec_exp.h"

namespace rlvr {

namespace {

// Independent partial maxima/sums let the compiler vectorize without -ffast-math
// (a single float accumulator would force a strictly sequential loop).
constexpr int kLanes = 16;

float MaxOf(const float* x, int n) {
  float lane[kLanes];
  for (int l = 0; l < kLanes; ++l) lane[l] = -std::numeric_limits<float>::infinity();
  int i = 0;
  for (; i + kLanes <= n; i += kLanes) {
    for (int l = 0; l < kLanes; ++l) lane[l] = lane[l] > x[i + l] ? lane[l] : x[i + l];
  }
  float m = -std::numeric_limits<float>::infinity();
  for (int l = 0; l < kLanes; ++l) m = lane[l] > m ? lane[l] : m;
  for (; i < n; ++i) m = x[i] > m ? x[i] : m;
  return m;
}

}  // namespace

void Softmax(float* x, int n) {
  if (n <= 0) return;
  const float max = MaxOf(x, n);
  if (max == -std::numeric_limits<float>::infinity()) {
    // Every entry is -inf: no entry is preferred, so the limit of softmax is uniform.
    for (int i = 0; i < n; ++i) x[i] = 1.0f / static_cast<float>(n);
    return;
  }
  for (int i = 0; i < n; ++i) x[i] = ExpFast(x[i] - max);
  float lane[kLanes] = {};
  int i = 0;
  for (; i + kLanes <= n; i += kLanes) {
    for (int l = 0; l < kLanes; ++l) lane[l] += x[i + l];
  }
  float sum = 0.0f;
  for (int l = 0; l < kLanes; ++l) sum += lane[l];
  for (; i < n; ++i) sum += x[i];
  // sum >= 1 because the maximum contributes exp(0).
  const float inv = 1.0f / sum;
  for (int j = 0; j < n; ++j) x[j] *= inv;
}

void SoftmaxRows(float* x, int rows, int cols) {
  for (int r = 0; r < rows; ++r) Softmax(x + static_cast<size_t>(r) * cols, cols);
}

}  // namespace rlvr
