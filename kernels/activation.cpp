#include "kernels/activation.h"

#include <cmath>

#include "kernels/vec_exp.h"

namespace rlvr {

void Silu(float* x, int n) {
  for (int i = 0; i < n; ++i) x[i] = x[i] / (1.0f + ExpFast(-x[i]));
}

void SwiGLU(const float* gate, const float* up, float* out, int n) {
  // Element-wise, so aliasing out with gate or up is safe: each element is read before written.
  for (int i = 0; i < n; ++i) {
    const float g = gate[i];
    out[i] = g / (1.0f + ExpFast(-g)) * up[i];
  }
}

}  // namespace rlvr
