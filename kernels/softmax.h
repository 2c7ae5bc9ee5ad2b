// Numerically stable softmax (subtracts the maximum before exponentiating).
#pragma once

namespace rlvr {

// In place over x[0..n).
void Softmax(float* x, int n);

// In place over each of rows rows of cols values.
void SoftmaxRows(float* x, int rows, int cols);

}  // namespace rlvr
