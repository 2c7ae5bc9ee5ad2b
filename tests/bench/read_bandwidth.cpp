#include "tests/bench/read_bandwidth.h"

#include <sys/mman.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <new>
#include <stdexcept>
#include <vector>

#if defined(__AVX512F__)
#include <immintrin.h>
#endif

namespace rlvr {

namespace {

struct StreamProblem {
  const float* data;
  size_t count;
  int parts;
  double* sums;
};

void StreamTask(void* ctx, int task) {
  const StreamProblem& p = *static_cast<const StreamProblem*>(ctx);
  size_t begin = p.count * task / p.parts, end = p.count * (task + 1) / p.parts;
  begin &= ~size_t{63};
  end = task + 1 == p.parts ? p.count : end & ~size_t{63};
  size_t i = begin;
#if defined(__AVX512F__)
  __m512 a0 = _mm512_setzero_ps(), a1 = _mm512_setzero_ps();
  __m512 a2 = _mm512_setzero_ps(), a3 = _mm512_setzero_ps();
  for (; i + 64 <= end; i += 64) {
    a0 = _mm512_add_ps(a0, _mm512_load_ps(p.data + i));
    a1 = _mm512_add_ps(a1, _mm512_load_ps(p.data + i + 16));
    a2 = _mm512_add_ps(a2, _mm512_load_ps(p.data + i + 32));
    a3 = _mm512_add_ps(a3, _mm512_load_ps(p.data + i + 48));
  }
  alignas(64) float lanes[16];
  _mm512_store_ps(lanes, _mm512_add_ps(_mm512_add_ps(a0, a1), _mm512_add_ps(a2, a3)));
  double sum = 0.0;
  for (float lane : lanes) sum += lane;
#else
  float partial[16] = {};
  for (; i + 16 <= end; i += 16) {
    for (int j = 0; j < 16; ++j) partial[j] += p.data[i + j];
  }
  double sum = 0.0;
  for (float v : partial) sum += v;
#endif
  for (; i < end; ++i) sum += p.data[i];
  p.sums[task] = sum;
}

}  // namespace

ReadStream::ReadStream(size_t bytes, ThreadPool& pool) : bytes_(bytes), pool_(pool) {
  // Huge pages where the kernel allows: touching 256 MiB page by page costs over a second on a
  // virtual machine.
  constexpr size_t kHugePage = size_t{2} << 20;
  const size_t allocated = (bytes + kHugePage - 1) / kHugePage * kHugePage;
  data_ = static_cast<float*>(std::aligned_alloc(kHugePage, allocated));
  if (data_ == nullptr) throw std::bad_alloc();
  madvise(data_, allocated, MADV_HUGEPAGE);  // advice only: without huge pages it is just slower
  std::fill(data_, data_ + bytes / sizeof(float), 1.0f);
}

ReadStream::~ReadStream() {
  std::free(data_);
}

double ReadStream::ReadOnce() {
  std::vector<double> sums(pool_.threads());
  StreamProblem problem{data_, bytes_ / sizeof(float), pool_.threads(), sums.data()};
  pool_.Run(problem.parts, StreamTask, &problem);
  double total = 0.0;
  for (double s : sums) total += s;
  return total;
}

double MeasuredReadBandwidth() {
  static ReadStream stream(size_t{256} << 20, DefaultPool());
  static std::vector<double> rates;  // every read's bytes per second, this process
  static bool warm = false;
  const double expected = static_cast<double>(stream.bytes() / sizeof(float));
  if (!warm) {
    stream.ReadOnce();  // the first read pays for any page faults left
    warm = true;
  }
  for (int pass = 0; pass < 3; ++pass) {
    const auto start = std::chrono::steady_clock::now();
    const double sum = stream.ReadOnce();
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    if (sum != expected) throw std::logic_error("MeasuredReadBandwidth: the stream sum is wrong");
    rates.push_back(static_cast<double>(stream.bytes()) / seconds);
  }
  std::vector<double> sorted = rates;
  std::sort(sorted.begin(), sorted.end());
  const size_t n = sorted.size();
  return n % 2 == 1 ? sorted[n / 2] : (sorted[n / 2 - 1] + sorted[n / 2]) / 2;
}

}  // namespace rlvr
