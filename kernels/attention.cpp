#include "kernels/attention.h"

#include <cmath>
#include <stdexcept>
#include <string>

#include "kernels/thread_pool.h"
#include "kernels/vec_exp.h"

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

// Partial sums in independent lanes so the loop vectorizes without -ffast-math.
float Dot(const float* a, const float* b, int n) {
  constexpr int kLanes = 16;
  float lane[kLanes] = {};
  int i = 0;
  for (; i + kLanes <= n; i += kLanes) {
    for (int l = 0; l < kLanes; ++l) lane[l] += a[i + l] * b[i + l];
  }
  float sum = 0.0f;
  for (int l = 0; l < kLanes; ++l) sum += lane[l];
  for (; i < n; ++i) sum += a[i] * b[i];
  return sum;
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
  const int row = cache.row_size();
  const int i = item / job.n_heads;
  const int h = item % job.n_heads;
  const int pos = job.start_pos + i;
  const int kv_offset = (h / job.group) * head_dim;
  const float* qh = job.q + static_cast<size_t>(item) * head_dim;
  float* oh = job.out + static_cast<size_t>(item) * head_dim;
  const float scale = 1.0f / std::sqrt(static_cast<float>(head_dim));

  const float* k = cache.K(job.layer, 0) + kv_offset;
  float max = -INFINITY;
  for (int t = 0; t <= pos; ++t) {
    const float s = Dot(qh, k + static_cast<size_t>(t) * row, head_dim) * scale;
    scores[t] = s;
    max = s > max ? s : max;
  }
  for (int t = 0; t <= pos; ++t) scores[t] = ExpFast(scores[t] - max);
  float sum = 0.0f;
  for (int t = 0; t <= pos; ++t) sum += scores[t];
  const float inv = 1.0f / sum;  // sum >= 1: the maximum contributes exp(0)

  for (int d = 0; d < head_dim; ++d) oh[d] = 0.0f;
  const float* v = cache.V(job.layer, 0) + kv_offset;
  for (int t = 0; t <= pos; ++t) {
    const float w = scores[t] * inv;
    const float* vt = v + static_cast<size_t>(t) * row;
    for (int d = 0; d < head_dim; ++d) oh[d] += w * vt[d];
  }
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
