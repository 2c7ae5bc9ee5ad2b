// RMSNorm as in LLaMA: out = x / sqrt(mean(x^2) + eps) * weight.
#pragma once

namespace rlvr {

// out may alias x.
void RmsNorm(const float* x, const float* weight, float* out, int n, float eps = 1e-5f);

}  // namespace rlvr
