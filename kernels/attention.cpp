#include "kernels/attention.h"

#include <cmath>
#include <stdexcept>
#include <string>

#include "kernels/thread_pool.h"
#include "kernels/vec_exp.h"

#if defined(__AVX512F__)
#include <immintrin.h>
#endif

namespace rlvr {

KVCache::KVCache(int n_layers, int max_positions, int n_kv_heads, int head_dim)
    : n_layers(n_layers), max_positions(max_positions), n_kv_heads(n_kv_heads), head_dim(head_dim) {
  if (n_layers <= 0 || max_positions <= 0 || n_kv_heads <= 0 || head_dim <= 0) {
    throw std::invalid_argument(
        "KVCache: every dimension must be positive (n_layers=" + std::to_string(n_layers) +
        ", max_positions=" + std::to_string(max_positions) + ", n_kv_heads=" +
        std::to_string(n_kv_heads) + ", head_dim=" + std::to_string(head_dim) + ")");
  }
  const size_t size = static_cast<size_t>(n_layers) * max_positions * n_kv_heads * head_dim;
  k.assign(size, 0.0f);
  v.assign(size, 0.0f);
}

AttentionScratch::AttentionScratch(int max_positions, int threads)
    : threads(threads), max_positions(max_positions) {
  if (max_positions <= 0 || threads <= 0) {
    throw std::invalid_argument("AttentionScratch: max_positions and threads must be positive");
  }
  scores.assign(static_cast<size_t>(threads) * max_positions, 0.0f);
}

namespace {

// Independent lanes let these reductions vectorize without -ffast-math; the tree at the end keeps
// the horizontal step short.
constexpr int kLanes = 16;

float ReduceLanes(float* lane) {
  for (int width = kLanes / 2; width > 0; width /= 2) {
    for (int l = 0; l < width; ++l) lane[l] += lane[l + width];
  }
  return lane[0];
}

float Dot(const float* a, const float* b, int n) {
  float lane[kLanes] = {};
  int i = 0;
  for (; i + kLanes <= n; i += kLanes) {
    for (int l = 0; l < kLanes; ++l) lane[l] += a[i + l] * b[i + l];
  }
  float sum = ReduceLanes(lane);
  for (; i < n; ++i) sum += a[i] * b[i];
  return sum;
}

float Sum(const float* x, int n) {
  float lane[kLanes] = {};
  int i = 0;
  for (; i + kLanes <= n; i += kLanes) {
    for (int l = 0; l < kLanes; ++l) lane[l] += x[i + l];
  }
  float sum = ReduceLanes(lane);
  for (; i < n; ++i) sum += x[i];
  return sum;
}

float Max(const float* x, int n) {
  float lane[kLanes];
  for (int l = 0; l < kLanes; ++l) lane[l] = -INFINITY;
  int i = 0;
  for (; i + kLanes <= n; i += kLanes) {
    for (int l = 0; l < kLanes; ++l) lane[l] = x[i + l] > lane[l] ? x[i + l] : lane[l];
  }
  float max = -INFINITY;
  for (int l = 0; l < kLanes; ++l) max = lane[l] > max ? lane[l] : max;
  for (; i < n; ++i) max = x[i] > max ? x[i] : max;
  return max;
}

// scores[t] = scale * dot(q, k_t) for t < length, k_t = k + t * stride.
void ComputeScoresGeneric(const float* q, const float* k, size_t stride, int length, int head_dim,
                          float scale, float* scores) {
  for (int t = 0; t < length; ++t) scores[t] = Dot(q, k + t * stride, head_dim) * scale;
}

// out = sum_t weights[t] * v_t for t < length, v_t = v + t * stride.
void WeightedSumGeneric(const float* weights, const float* v, size_t stride, int length,
                        int head_dim, float* __restrict out) {
  for (int d = 0; d < head_dim; ++d) out[d] = 0.0f;
  for (int t = 0; t < length; ++t) {
    const float w = weights[t];
    const float* __restrict vt = v + t * stride;
    for (int d = 0; d < head_dim; ++d) out[d] += w * vt[d];
  }
}

#if defined(__AVX512F__)
// Sum of the 16 lanes. Written out with full-mask "maskz" intrinsics because in GCC 12 the plain
// ones (and _mm512_reduce_add_ps) start from an undefined vector and trip -Wmaybe-uninitialized.
inline float ReduceAdd(__m512 v) {
  v = _mm512_add_ps(v, _mm512_maskz_shuffle_f32x4(0xffff, v, v, 0x4e));  // + other 256-bit half
  v = _mm512_add_ps(v, _mm512_maskz_shuffle_f32x4(0xffff, v, v, 0xb1));  // + other 128-bit quarter
  __m128 sum = _mm512_maskz_extractf32x4_ps(0xf, v, 0);
  sum = _mm_add_ps(sum, _mm_movehl_ps(sum, sum));
  sum = _mm_add_ss(sum, _mm_movehdup_ps(sum));
  return _mm_cvtss_f32(sum);
}

// head_dim = 16 * kVectors: q and the output accumulators live in registers for the whole pass
// (the generic loops keep the output in memory, one store-to-load round trip per position).
template <int kVectors>
void ComputeScoresAvx512(const float* q, const float* k, size_t stride, int length, float scale,
                         float* scores) {
  __m512 qv[kVectors];
  for (int j = 0; j < kVectors; ++j) qv[j] = _mm512_loadu_ps(q + 16 * j);
  for (int t = 0; t < length; ++t) {
    const float* kt = k + t * stride;
    __m512 acc = _mm512_mul_ps(qv[0], _mm512_loadu_ps(kt));
    for (int j = 1; j < kVectors; ++j)
      acc = _mm512_fmadd_ps(qv[j], _mm512_loadu_ps(kt + 16 * j), acc);
    scores[t] = ReduceAdd(acc) * scale;
  }
}

template <int kVectors>
void WeightedSumAvx512(const float* weights, const float* v, size_t stride, int length,
                       float* out) {
  __m512 acc[kVectors];
  for (int j = 0; j < kVectors; ++j) acc[j] = _mm512_setzero_ps();
  for (int t = 0; t < length; ++t) {
    const __m512 w = _mm512_set1_ps(weights[t]);
    const float* vt = v + t * stride;
    for (int j = 0; j < kVectors; ++j)
      acc[j] = _mm512_fmadd_ps(w, _mm512_loadu_ps(vt + 16 * j), acc[j]);
  }
  for (int j = 0; j < kVectors; ++j) _mm512_storeu_ps(out + 16 * j, acc[j]);
}
#endif

void ComputeScores(const float* q, const float* k, size_t stride, int length, int head_dim,
                   float scale, float* scores) {
#if defined(__AVX512F__)
  switch (head_dim) {
    case 32:
      return ComputeScoresAvx512<2>(q, k, stride, length, scale, scores);
    case 64:
      return ComputeScoresAvx512<4>(q, k, stride, length, scale, scores);
    case 128:
      return ComputeScoresAvx512<8>(q, k, stride, length, scale, scores);
  }
#endif
  ComputeScoresGeneric(q, k, stride, length, head_dim, scale, scores);
}

void WeightedSum(const float* weights, const float* v, size_t stride, int length, int head_dim,
                 float* out) {
#if defined(__AVX512F__)
  switch (head_dim) {
    case 32:
      return WeightedSumAvx512<2>(weights, v, stride, length, out);
    case 64:
      return WeightedSumAvx512<4>(weights, v, stride, length, out);
    case 128:
      return WeightedSumAvx512<8>(weights, v, stride, length, out);
  }
#endif
  WeightedSumGeneric(weights, v, stride, length, head_dim, out);
}

struct AttentionJob {
  const float* q;
  const KVCache* cache;
  int layer;
  int start_pos;
  int n_heads;
  int group;  // query heads per kv head
  int items;  // n_q * n_heads (query, head) pairs
  int tasks;
  float* out;
  AttentionScratch* scratch;
};

// One (query position, head) pair: scores over positions 0..pos, softmax, weighted sum of V.
void AttendOne(const AttentionJob& job, int item, float* scores) {
  const KVCache& cache = *job.cache;
  const int head_dim = cache.head_dim;
  const size_t row = static_cast<size_t>(cache.row_size());
  const int i = item / job.n_heads;
  const int h = item % job.n_heads;
  const int pos = job.start_pos + i;
  const int kv_offset = (h / job.group) * head_dim;
  const float* qh = job.q + static_cast<size_t>(item) * head_dim;
  float* oh = job.out + static_cast<size_t>(item) * head_dim;
  const float scale = 1.0f / std::sqrt(static_cast<float>(head_dim));

  const int length = pos + 1;
  ComputeScores(qh, cache.K(job.layer, 0) + kv_offset, row, length, head_dim, scale, scores);
  const float max = Max(scores, length);
  for (int t = 0; t < length; ++t) scores[t] = ExpFast(scores[t] - max);
  const float inv = 1.0f / Sum(scores, length);  // sum >= 1: the maximum contributes exp(0)
  WeightedSum(scores, cache.V(job.layer, 0) + kv_offset, row, length, head_dim, oh);
  for (int d = 0; d < head_dim; ++d) oh[d] *= inv;
}

// Task `task` of job.tasks takes a contiguous share of the pairs and its own scores row, so no
// two threads share scratch.
void RunTask(void* ctx, int task) {
  const AttentionJob& job = *static_cast<const AttentionJob*>(ctx);
  float* scores =
      job.scratch->scores.data() + static_cast<size_t>(task) * job.scratch->max_positions;
  const int begin = static_cast<int>(static_cast<long long>(job.items) * task / job.tasks);
  const int end = static_cast<int>(static_cast<long long>(job.items) * (task + 1) / job.tasks);
  for (int item = begin; item < end; ++item) AttendOne(job, item, scores);
}

}  // namespace

void Attention(const float* q, const KVCache& cache, int layer, int start_pos, int n_q, int n_heads,
               float* out, AttentionScratch& scratch) {
  if (n_q <= 0) return;
  if (layer < 0 || layer >= cache.n_layers || start_pos < 0 ||
      start_pos + n_q > cache.max_positions || n_heads <= 0 || n_heads % cache.n_kv_heads != 0 ||
      start_pos + n_q > scratch.max_positions) {
    throw std::invalid_argument(
        "Attention: bad arguments (layer " + std::to_string(layer) + " of " +
        std::to_string(cache.n_layers) + ", positions " + std::to_string(start_pos) + ".." +
        std::to_string(start_pos + n_q - 1) + " of " + std::to_string(cache.max_positions) +
        ", scratch for " + std::to_string(scratch.max_positions) + ", n_heads " +
        std::to_string(n_heads) + " must be a multiple of n_kv_heads " +
        std::to_string(cache.n_kv_heads) + ")");
  }
  AttentionJob job{
      q, &cache, layer,   start_pos, n_heads, n_heads / cache.n_kv_heads, n_q * n_heads,
      1, out,    &scratch};
  // Threads only pay off once there is enough work to amortize the hand-off.
  const long long work = static_cast<long long>(n_q) * n_heads * (start_pos + n_q) * cache.head_dim;
  if (scratch.threads > 1 && job.items > 1 && work >= (1 << 16)) {
    ThreadPool& pool = DefaultPool();
    int tasks = pool.threads() < scratch.threads ? pool.threads() : scratch.threads;
    job.tasks = tasks < job.items ? tasks : job.items;
    if (job.tasks > 1) {
      pool.Run(job.tasks, RunTask, &job);
      return;
    }
  }
  RunTask(&job, 0);
}

}  // namespace rlvr
