// SiLU and the SwiGLU gate of LLaMA's feed-forward block.
#pragma once

namespace rlvr {

// x = x * sigmoid(x), in place.
void Silu(float* x, int n);

// out = silu(gate) * up; out may alias gate or up.
void SwiGLU(const float* gate, const float* up, float* out, int n);

}  // namespace rlvr
