#include "kernels/reference/gemm_ref.h"

#include <cmath>
#include <limits>

namespace rlvr {

void GemmRef(const float* A, const float* B, float* C, int M, int N, int K, float alpha,
             float beta) {
  for (int i = 0; i < M; ++i) {
    for (int j = 0; j < N; ++j) {
      double sum = GemmRefEntry(A, B, N, K, i, j);
      double prior = beta == 0.0f ? 0.0 : static_cast<double>(beta) * C[size_t(i) * N + j];
      C[size_t(i) * N + j] = static_cast<float>(alpha * sum + prior);
    }
  }
}

double GemmRefEntry(const float* A, const float* B, int N, int K, int i, int j) {
  double sum = 0.0;
  for (int k = 0; k < K; ++k) {
    sum += static_cast<double>(A[size_t(i) * K + k]) * B[size_t(k) * N + j];
  }
  return sum;
}

void LinearRef(const float* x, const float* W, float* y, int M, int N, int K) {
  for (int m = 0; m < M; ++m) {
    for (int n = 0; n < N; ++n) {
      double sum = 0.0;
      for (int k = 0; k < K; ++k) {
        sum += static_cast<double>(x[size_t(m) * K + k]) * W[size_t(n) * K + k];
      }
      y[size_t(m) * N + n] = static_cast<float>(sum);
    }
  }
}

void MatVecRef(const float* W, const float* x, float* y, int N, int K) {
  LinearRef(x, W, y, 1, N, K);
}

double MaxRelativeError(const float* got, const float* want, size_t n) {
  double max_error = 0.0;
  double max_want = 0.0;
  for (size_t i = 0; i < n; ++i) {
    if (!std::isfinite(got[i]) && std::isfinite(want[i])) {
      return std::numeric_limits<double>::infinity();
    }
    max_error = std::fmax(max_error, std::fabs(double(got[i]) - double(want[i])));
    max_want = std::fmax(max_want, std::fabs(double(want[i])));
  }
  return max_want > 0.0 ? max_error / max_want : max_error;
}

}  // namespace rlvr
