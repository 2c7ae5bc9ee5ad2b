// The machine's sustained read bandwidth, measured in this process: the roofline a memory-bound
// kernel (one decode step streams every weight once) is judged against. Benchmarks report their
// weight bytes per second as a share of it ("bw_share"), so the figure means the same on a
// 33 GB/s Zen 4 as on a 71 GB/s Zen 5, and is never a constant from another machine.
#pragma once

#include <cstddef>

#include "kernels/thread_pool.h"

namespace rlvr {

// A buffer of `bytes` floats (all 1.0f) far beyond the caches, 2 MiB-aligned and huge-page
// advised, and the pool that streams it: each of the pool's threads sums one contiguous share.
class ReadStream {
 public:
  // Precondition: bytes is a multiple of 64. Throws std::bad_alloc if it cannot be allocated.
  explicit ReadStream(size_t bytes, ThreadPool& pool);
  ~ReadStream();
  ReadStream(const ReadStream&) = delete;
  ReadStream& operator=(const ReadStream&) = delete;

  // Reads the whole buffer once on every thread of the pool; returns the sum of its values (the
  // float count), which the caller checks so the reads cannot be optimised away.
  double ReadOnce();
  size_t bytes() const { return bytes_; }

 private:
  float* data_;
  size_t bytes_;
  ThreadPool& pool_;
};

// Bytes per second of a full read of a 256 MiB buffer by the default pool (the same threads the
// kernels use): the median of every such read in this process, after three more reads now
// (~20-60 ms; the buffer is made on first call, ~0.3 s). Other tenants' traffic makes single
// reads swing (24-87 GB/s here within minutes), so each benchmark measures again right after its
// timing and the median of the whole process, robust to a spike either way, is the roofline.
double MeasuredReadBandwidth();

}  // namespace rlvr
