// StoredMatrix: a row-major weight matrix [rows, cols] viewed in the type it is stored in (float,
// half, bfloat16 or one of GGML's block quantizations), so a decoder can multiply by the bytes
// as they are on disk instead of a float copy. A view: it owns nothing; whoever made it keeps
// the bytes alive (StoredWeights, kernels/stored_weights.h).
#pragma once

#include <cstddef>
#include <cstdint>

namespace rlvr {

// The storage types a StoredMatrix may have. The numbers are GGML's (enum ggml_type), so a GGUF
// tensor's type converts by value.
enum class StoredType : uint32_t {
  kF32 = 0,
  kF16 = 1,
  kQ4_0 = 2,
  kQ8_0 = 8,
  kQ4_K = 12,
  kQ6_K = 14,
  kBF16 = 30,
};

// "F32", "Q4_K", ...
const char* StoredTypeName(StoredType type);
// Whether `number` (a GGML type number) is one of the StoredType values.
bool IsStoredType(uint32_t number);
// Values per block (1 for F32/F16/BF16, 32 for Q8_0/Q4_0, 256 for the K-quants).
int StoredBlockValues(StoredType type);
// Bytes per block.
int StoredBlockBytes(StoredType type);

struct StoredMatrix {
  StoredType type = StoredType::kF32;
  const void* data = nullptr;  // rows * RowBytes() bytes; blocks never straddle two rows
  int rows = 0;
  int cols = 0;  // a multiple of StoredBlockValues(type)

  size_t RowBytes() const {
    return static_cast<size_t>(cols / StoredBlockValues(type)) * StoredBlockBytes(type);
  }
  size_t Bytes() const { return RowBytes() * static_cast<size_t>(rows); }
  const uint8_t* Row(int row) const {
    return static_cast<const uint8_t*>(data) + RowBytes() * static_cast<size_t>(row);
  }
};

// A float matrix viewed as F32 (no copy).
inline StoredMatrix F32Matrix(const float* data, int rows, int cols) {
  return StoredMatrix{StoredType::kF32, data, rows, cols};
}

// Throws std::invalid_argument naming `what` unless rows and cols are positive, cols is a
// multiple of the type's block and data is set.
void CheckStoredMatrix(const StoredMatrix& m, const char* what);

// Row `row` of m converted to float: out[0, m.cols).
void DequantizeStoredRow(const StoredMatrix& m, int row, float* out);

}  // namespace rlvr
