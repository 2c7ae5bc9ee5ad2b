// Mat: a dense row-major float32 matrix in one contiguous buffer (stride == cols). The common
// currency of the kernels; vectors are plain float pointers.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace rlvr {

struct Mat {
  int rows = 0;
  int cols = 0;
  std::vector<float> data;

  Mat() = default;
  Mat(int rows, int cols) : rows(rows), cols(cols), data(static_cast<size_t>(rows) * cols) {}

  int stride() const { return cols; }
  size_t size() const { return data.size(); }
  float* row(int i) { return data.data() + static_cast<size_t>(i) * cols; }
  const float* row(int i) const { return data.data() + static_cast<size_t>(i) * cols; }
  float& at(int i, int j) { return row(i)[j]; }
  float at(int i, int j) const { return row(i)[j]; }

  // Fills with values uniform in [lo, hi) from a fixed generator, so a seed names the data.
  void FillRandom(uint64_t seed, float lo = -1.0f, float hi = 1.0f);
};

// Same generator as Mat::FillRandom, for plain buffers.
void FillRandom(float* data, size_t n, uint64_t seed, float lo = -1.0f, float hi = 1.0f);

}  // namespace rlvr
