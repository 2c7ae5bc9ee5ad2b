// Adam with bias correction and optional decoupled weight decay, element-wise over a parameter
// matrix (any flat float buffer): the update of torch.optim.AdamW (torch.optim.Adam when
// weight_decay is 0), step by step in float as PyTorch's single-tensor path computes it.
#pragma once

#include <cstddef>

namespace rlvr {

struct AdamConfig {
  float lr = 1e-3f;
  float beta1 = 0.9f;
  float beta2 = 0.999f;
  float eps = 1e-8f;
  float weight_decay = 0.0f;  // decoupled (AdamW): param *= 1 - lr * weight_decay first
};

// Step `step` (1 for the first) on n parameters: m and v are the first and second moment
// estimates (zero before step 1), updated in place with grad, then
//   param -= lr / (1 - beta1^step) * m / (sqrt(v) / sqrt(1 - beta2^step) + eps).
void AdamStep(float* param, const float* grad, float* m, float* v, size_t n, int step,
              const AdamConfig& config);

}  // namespace rlvr
