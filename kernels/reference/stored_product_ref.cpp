#include "kernels/reference/stored_product_ref.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <vector>

#include "kernels/reference/kquant_ref.h"
#include "kernels/reference/ops_ref.h"

namespace rlvr {

void DequantizeStoredRowRef(const StoredMatrix& W, int row, float* out) {
  const uint8_t* r = W.Row(row);
  const int n = W.cols;
  switch (W.type) {
    case StoredType::kF32:
      for (int i = 0; i < n; ++i) out[i] = reinterpret_cast<const float*>(r)[i];
      break;
    case StoredType::kF16:
      for (int i = 0; i < n; ++i) out[i] = HalfToFloatRef(reinterpret_cast<const uint16_t*>(r)[i]);
      break;
    case StoredType::kBF16:
      for (int i = 0; i < n; ++i) {
        const uint32_t bits = static_cast<uint32_t>(reinterpret_cast<const uint16_t*>(r)[i]) << 16;
        float f;
        static_assert(sizeof f == sizeof bits);
        std::copy_n(reinterpret_cast<const unsigned char*>(&bits), 4,
                    reinterpret_cast<unsigned char*>(&f));
        out[i] = f;
      }
      break;
    case StoredType::kQ8_0:
      DequantizeQ8_0Ref(reinterpret_cast<const BlockQ8_0*>(r), out, n);
      break;
    case StoredType::kQ4_0:
      DequantizeQ4_0Ref(reinterpret_cast<const BlockQ4_0*>(r), out, n);
      break;
    case StoredType::kQ4_K:
      DequantizeQ4_KRef(reinterpret_cast<const BlockQ4_K*>(r), out, n);
      break;
    case StoredType::kQ6_K:
      DequantizeQ6_KRef(reinterpret_cast<const BlockQ6_K*>(r), out, n);
      break;
  }
}

namespace {

// The K-quants' input: a step per 16 values, a multiple 1..64 of the 256-value block's amax / 8128.
void RoundInputInGroupsRef(const float* x, float* out, int K) {
  for (int b = 0; b < K; b += 256) {
    float amax = 0.0f;
    for (int i = b; i < b + 256; ++i) amax = std::max(amax, std::fabs(x[i]));
    const float d = amax / 8128.0f;
    for (int g = b; g < b + 256; g += 16) {
      if (!std::isnormal(d)) {
        std::fill_n(out + g, 16, 0.0f);
        continue;
      }
      float group_max = 0.0f;
      for (int i = g; i < g + 16; ++i) group_max = std::max(group_max, std::fabs(x[i]));
      const int k = std::clamp(static_cast<int>(std::ceil(group_max * (64.0f / amax))), 1, 64);
      const float inverse = 1.0f / (d * static_cast<float>(k));
      for (int i = g; i < g + 16; ++i) {
        const float code = std::clamp(std::nearbyint(x[i] * inverse), -127.0f, 127.0f);
        out[i] = (code * static_cast<float>(k)) * d;
      }
    }
  }
}

}  // namespace

void RoundInputRef(StoredType type, const float* x, float* out, int K) {
  if (type == StoredType::kQ4_K || type == StoredType::kQ6_K) {
    RoundInputInGroupsRef(x, out, K);
    return;
  }
  int block = 0;
  if (type == StoredType::kQ8_0 || type == StoredType::kQ4_0) block = 32;
  if (block == 0) {
    std::copy_n(x, K, out);
    return;
  }
  for (int b = 0; b < K; b += block) {
    float amax = 0.0f;
    for (int i = b; i < b + block; ++i) amax = std::max(amax, std::fabs(x[i]));
    const float d = amax / 127.0f;
    const float inverse = amax > 0.0f ? 127.0f / amax : 0.0f;
    for (int i = b; i < b + block; ++i) {
      const float code = std::clamp(std::nearbyint(x[i] * inverse), -127.0f, 127.0f);
      out[i] = code * d;
    }
  }
}

namespace {

void Product(const StoredMatrix& W, const float* x, int n, double* y, bool round_input) {
  std::vector<float> w(W.cols), xr(W.cols);
  for (int r = 0; r < n; ++r) {
    const float* xrow = x + static_cast<size_t>(r) * W.cols;
    if (round_input) {
      RoundInputRef(W.type, xrow, xr.data(), W.cols);
    } else {
      std::copy_n(xrow, W.cols, xr.data());
    }
    for (int i = 0; i < W.rows; ++i) {
      DequantizeStoredRowRef(W, i, w.data());
      double sum = 0.0;
      for (int k = 0; k < W.cols; ++k) sum += static_cast<double>(w[k]) * xr[k];
      y[static_cast<size_t>(r) * W.rows + i] = sum;
    }
  }
}

}  // namespace

void StoredProductRef(const StoredMatrix& W, const float* x, int n, double* y) {
  Product(W, x, n, y, true);
}

void StoredProductExactRef(const StoredMatrix& W, const float* x, int n, double* y) {
  Product(W, x, n, y, false);
}

}  // namespace rlvr
