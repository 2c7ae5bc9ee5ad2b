#include "kernels/adam.h"

#include <cmath>

namespace rlvr {

void AdamStep(float* param, const float* grad, float* m, float* v, size_t n, int step,
              const AdamConfig& config) {
  // The bias corrections in double, then rounded once, as PyTorch computes them in Python floats.
  const double correction1 = 1.0 - std::pow(static_cast<double>(config.beta1), step);
  const double correction2 = 1.0 - std::pow(static_cast<double>(config.beta2), step);
  const float step_size = static_cast<float>(config.lr / correction1);
  const float correction2_sqrt = static_cast<float>(std::sqrt(correction2));
  const float decay = 1.0f - config.lr * config.weight_decay;
  const float beta1 = config.beta1, beta2 = config.beta2;
  const float one_minus_beta1 = 1.0f - beta1, one_minus_beta2 = 1.0f - beta2;
  for (size_t i = 0; i < n; ++i) {
    const float g = grad[i];
    const float mi = m[i] + (g - m[i]) * one_minus_beta1;  // torch: exp_avg.lerp_(grad, 1 - beta1)
    const float vi = v[i] * beta2 + one_minus_beta2 * g * g;
    m[i] = mi;
    v[i] = vi;
    const float denom = std::sqrt(vi) / correction2_sqrt + config.eps;
    param[i] = param[i] * decay - step_size * (mi / denom);
  }
}

}  // namespace rlvr
