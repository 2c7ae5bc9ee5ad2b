#include "kernels/stored_matrix.h"

#include <bit>
#include <stdexcept>
#include <string>

#include "kernels/kquant.h"
#include "kernels/quant.h"

namespace rlvr {

const char* StoredTypeName(StoredType type) {
  switch (type) {
    case StoredType::kF32:
      return "F32";
    case StoredType::kF16:
      return "F16";
    case StoredType::kBF16:
      return "BF16";
    case StoredType::kQ8_0:
      return "Q8_0";
    case StoredType::kQ4_0:
      return "Q4_0";
    case StoredType::kQ4_K:
      return "Q4_K";
    case StoredType::kQ6_K:
      return "Q6_K";
  }
  return "?";
}

bool IsStoredType(uint32_t number) {
  switch (static_cast<StoredType>(number)) {
    case StoredType::kF32:
    case StoredType::kF16:
    case StoredType::kBF16:
    case StoredType::kQ8_0:
    case StoredType::kQ4_0:
    case StoredType::kQ4_K:
    case StoredType::kQ6_K:
      return true;
  }
  return false;
}

int StoredBlockValues(StoredType type) {
  switch (type) {
    case StoredType::kQ8_0:
    case StoredType::kQ4_0:
      return kQuantBlock;
    case StoredType::kQ4_K:
    case StoredType::kQ6_K:
      return kSuperBlock;
    default:
      return 1;
  }
}

int StoredBlockBytes(StoredType type) {
  switch (type) {
    case StoredType::kF32:
      return 4;
    case StoredType::kF16:
    case StoredType::kBF16:
      return 2;
    case StoredType::kQ8_0:
      return sizeof(BlockQ8_0);
    case StoredType::kQ4_0:
      return sizeof(BlockQ4_0);
    case StoredType::kQ4_K:
      return sizeof(BlockQ4_K);
    case StoredType::kQ6_K:
      return sizeof(BlockQ6_K);
  }
  return 1;
}

void CheckStoredMatrix(const StoredMatrix& m, const char* what) {
  // Names are built only on failure: the check runs on every product, which must not allocate.
  auto name = [&] { return std::string(what) + " (" + StoredTypeName(m.type) + ")"; };
  if (!IsStoredType(static_cast<uint32_t>(m.type))) {
    throw std::invalid_argument(std::string(what) + ": unknown storage type " +
                                std::to_string(static_cast<uint32_t>(m.type)));
  }
  if (m.rows <= 0 || m.cols <= 0) {
    throw std::invalid_argument(name() + ": shape [" + std::to_string(m.rows) + ", " +
                                std::to_string(m.cols) + "] is not positive");
  }
  if (m.cols % StoredBlockValues(m.type) != 0) {
    throw std::invalid_argument(name() + ": row length " + std::to_string(m.cols) +
                                " is not a multiple of the block of " +
                                std::to_string(StoredBlockValues(m.type)));
  }
  if (m.data == nullptr) throw std::invalid_argument(name() + ": no data");
}

void DequantizeStoredRow(const StoredMatrix& m, int row, float* out) {
  const uint8_t* r = m.Row(row);
  const int n = m.cols;
  switch (m.type) {
    case StoredType::kF32:
      for (int i = 0; i < n; ++i) out[i] = reinterpret_cast<const float*>(r)[i];
      return;
    case StoredType::kF16:
      for (int i = 0; i < n; ++i) out[i] = HalfToFloat(reinterpret_cast<const uint16_t*>(r)[i]);
      return;
    case StoredType::kBF16:
      for (int i = 0; i < n; ++i) {
        out[i] = std::bit_cast<float>(static_cast<uint32_t>(reinterpret_cast<const uint16_t*>(r)[i])
                                      << 16);
      }
      return;
    case StoredType::kQ8_0:
      DequantizeQ8_0(reinterpret_cast<const BlockQ8_0*>(r), out, n);
      return;
    case StoredType::kQ4_0:
      DequantizeQ4_0(reinterpret_cast<const BlockQ4_0*>(r), out, n);
      return;
    case StoredType::kQ4_K:
      DequantizeQ4_K(reinterpret_cast<const BlockQ4_K*>(r), out, n);
      return;
    case StoredType::kQ6_K:
      DequantizeQ6_K(reinterpret_cast<const BlockQ6_K*>(r), out, n);
      return;
  }
}

}  // namespace rlvr
