#include "kernels/gemm.h"

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <mutex>
#include <new>
#include <stdexcept>

#if defined(__AVX512F__) || defined(__AVX2__)
// GCC 12's avx512fintrin.h initialises a placeholder from itself (`__m512 __Y = __Y;`) in the
// unpack intrinsics and then warns about it at every use; the warning is about the header.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wuninitialized"
#include <immintrin.h>
#pragma GCC diagnostic pop
#endif

namespace rlvr {

namespace {

// ---------------------------------------------------------------------------------------------
// Blocking (Goto/BLIS scheme). A micro-kernel computes an MR x NR tile of C from a packed A
// sliver (MR rows, k-major) and a packed B sliver (NR columns, k-major). The packed A block
// (MC x KC, 192 KiB) and a B sliver (KC x NR, 64 KiB) live in L2, the B block (KC x NC) in L3.
// KC = 512 / MC = 96 measured ~5% faster than the L1-resident KC = 256 on Zen 5 (1024^3, one
// thread; the L2 keeps up with the micro-kernel and longer K runs halve the C traffic).
#if defined(__AVX512F__)
constexpr int kMR = 12;  // 12 x 2 zmm accumulators + 2 B vectors + broadcast: 27 of 32 zmm
constexpr int kNR = 32;
#elif defined(__AVX2__) && defined(__FMA__)
constexpr int kMR = 6;  // 6 x 2 ymm accumulators: 12 of 16 ymm
constexpr int kNR = 16;
#else
constexpr int kMR = 4;
constexpr int kNR = 8;
#endif
constexpr int kKC = 512;
constexpr int kMC = 8 * kMR;
constexpr int kNC = 64 * kNR;

// Below this many multiply-adds a product runs on the calling thread: waking workers costs more.
constexpr double kParallelMinMacs = 64.0 * 64.0 * 64.0;
// Tasks per thread when splitting: a few more tasks than threads lets a thread that got the CPU
// late (a loaded machine) take less of the work, at the price of some extra re-reads of B.
constexpr int kTasksPerThread = 4;
// MatVec splits rows over the pool above this many weights.
constexpr double kMatVecParallelMinMacs = 64.0 * 1024.0;

// ---------------------------------------------------------------------------------------------
// Packing buffers: one slot per concurrently running task, allocated once and reused, so calls
// after the first make no allocation. A task takes a free slot for its duration.
struct PackSlot {
  float* a = nullptr;  // kMC x kKC
  float* b = nullptr;  // kKC x kNC
  std::atomic<bool> busy{false};
  PackSlot() {
    a = static_cast<float*>(std::aligned_alloc(64, sizeof(float) * kMC * kKC));
    b = static_cast<float*>(std::aligned_alloc(64, sizeof(float) * kKC * kNC));
    if (a == nullptr || b == nullptr) {
      std::free(a);
      std::free(b);
      throw std::bad_alloc();
    }
  }
  ~PackSlot() {
    std::free(a);
    std::free(b);
  }
};

constexpr int kMaxSlots = 256;

class PackArena {
 public:
  // Makes sure at least `count` slots exist (allocates only the first time a count is seen).
  void Reserve(int count) {
    count = std::min(count, kMaxSlots);
    if (allocated_.load(std::memory_order_acquire) >= count) return;
    std::lock_guard<std::mutex> lock(mu_);
    int have = allocated_.load(std::memory_order_relaxed);
    for (int i = have; i < count; ++i) slots_[i] = std::make_unique<PackSlot>();
    if (count > have) allocated_.store(count, std::memory_order_release);
  }

  // A free slot, or nullptr if every slot is in use (more concurrent tasks than reserved).
  PackSlot* Acquire() {
    int n = allocated_.load(std::memory_order_acquire);
    for (int i = 0; i < n; ++i) {
      bool expected = false;
      if (!slots_[i]->busy.load(std::memory_order_relaxed) &&
          slots_[i]->busy.compare_exchange_strong(expected, true, std::memory_order_acquire)) {
        return slots_[i].get();
      }
    }
    return nullptr;
  }

  void Release(PackSlot* slot) { slot->busy.store(false, std::memory_order_release); }

 private:
  std::mutex mu_;
  std::atomic<int> allocated_{0};
  std::unique_ptr<PackSlot> slots_[kMaxSlots];
};

PackArena& Arena() {
  static PackArena arena;
  return arena;
}

// Holds a slot for one task; falls back to a private slot (allocating) if the arena is exhausted,
// which only happens when more threads multiply concurrently than any pool reserved for.
class ScopedSlot {
 public:
  ScopedSlot() : slot_(Arena().Acquire()) {
    if (slot_ == nullptr) {
      owned_ = std::make_unique<PackSlot>();
      slot_ = owned_.get();
    }
  }
  ~ScopedSlot() {
    if (!owned_) Arena().Release(slot_);
  }
  PackSlot* operator->() const { return slot_; }

 private:
  PackSlot* slot_;
  std::unique_ptr<PackSlot> owned_;
};

// ---------------------------------------------------------------------------------------------
// Packing. Rows/columns beyond the matrix edge are zero-filled so the micro-kernel always runs
// full tiles; the store step drops the padding.

// A[rows, kc] (row stride lda) -> slivers of kMR rows: dst[sliver][k][r].
void PackA(const float* A, int lda, int rows, int kc, float* dst) {
  for (int r0 = 0; r0 < rows; r0 += kMR) {
    int mr = std::min(kMR, rows - r0);
    const float* src = A + static_cast<size_t>(r0) * lda;
    if (mr == kMR) {
      for (int k = 0; k < kc; ++k) {
        for (int r = 0; r < kMR; ++r) dst[r] = src[static_cast<size_t>(r) * lda + k];
        dst += kMR;
      }
    } else {
      for (int k = 0; k < kc; ++k) {
        for (int r = 0; r < mr; ++r) dst[r] = src[static_cast<size_t>(r) * lda + k];
        for (int r = mr; r < kMR; ++r) dst[r] = 0.0f;
        dst += kMR;
      }
    }
  }
}

// B[kc, cols] (row stride ldb) -> slivers of kNR columns: dst[sliver][k][c].
void PackB(const float* B, int ldb, int kc, int cols, float* dst) {
  for (int c0 = 0; c0 < cols; c0 += kNR) {
    int nr = std::min(kNR, cols - c0);
    const float* src = B + c0;
    if (nr == kNR) {
      for (int k = 0; k < kc; ++k) {
        std::memcpy(dst, src + static_cast<size_t>(k) * ldb, sizeof(float) * kNR);
        dst += kNR;
      }
    } else {
      for (int k = 0; k < kc; ++k) {
        const float* row = src + static_cast<size_t>(k) * ldb;
        for (int c = 0; c < nr; ++c) dst[c] = row[c];
        for (int c = nr; c < kNR; ++c) dst[c] = 0.0f;
        dst += kNR;
      }
    }
  }
}

#if defined(__AVX512F__)
// out[x * ld_out + i] = in[i * ld_in + x] for a 16 x 16 block: four rounds of in-register
// shuffles (32-bit, 64-bit, then 128-bit lanes twice) instead of 256 scalar moves.
inline void Transpose16x16(const float* in, size_t ld_in, float* out, size_t ld_out) {
  __m512 r[16], t[16];
  for (int i = 0; i < 16; ++i) r[i] = _mm512_loadu_ps(in + i * ld_in);
  for (int i = 0; i < 8; ++i) {
    t[2 * i] = _mm512_unpacklo_ps(r[2 * i], r[2 * i + 1]);
    t[2 * i + 1] = _mm512_unpackhi_ps(r[2 * i], r[2 * i + 1]);
  }
  for (int i = 0; i < 4; ++i) {
    __m512d a = _mm512_castps_pd(t[4 * i]), b = _mm512_castps_pd(t[4 * i + 1]);
    __m512d c = _mm512_castps_pd(t[4 * i + 2]), d = _mm512_castps_pd(t[4 * i + 3]);
    r[4 * i] = _mm512_castpd_ps(_mm512_unpacklo_pd(a, c));
    r[4 * i + 1] = _mm512_castpd_ps(_mm512_unpackhi_pd(a, c));
    r[4 * i + 2] = _mm512_castpd_ps(_mm512_unpacklo_pd(b, d));
    r[4 * i + 3] = _mm512_castpd_ps(_mm512_unpackhi_pd(b, d));
  }
  for (int i = 0; i < 2; ++i) {
    for (int j = 0; j < 4; ++j) {
      t[8 * i + j] = _mm512_shuffle_f32x4(r[8 * i + j], r[8 * i + 4 + j], 0x88);
      t[8 * i + 4 + j] = _mm512_shuffle_f32x4(r[8 * i + j], r[8 * i + 4 + j], 0xDD);
    }
  }
  for (int j = 0; j < 8; ++j) {
    _mm512_storeu_ps(out + j * ld_out, _mm512_shuffle_f32x4(t[j], t[8 + j], 0x88));
    _mm512_storeu_ps(out + (j + 8) * ld_out, _mm512_shuffle_f32x4(t[j], t[8 + j], 0xDD));
  }
}
#endif

// Same as PackB for B = W^T where W is [cols, kc] with row stride ldw (the Linear layout).
void PackBTransposed(const float* W, int ldw, int kc, int cols, float* dst) {
  for (int c0 = 0; c0 < cols; c0 += kNR) {
    int nr = std::min(kNR, cols - c0);
    int k_done = 0;
#if defined(__AVX512F__)
    if (nr == kNR) {  // full sliver: 16 x 16 blocks transposed in registers
      for (; k_done + 16 <= kc; k_done += 16) {
        for (int half = 0; half < kNR; half += 16) {
          Transpose16x16(W + static_cast<size_t>(c0 + half) * ldw + k_done, ldw,
                         dst + static_cast<size_t>(k_done) * kNR + half, kNR);
        }
      }
    }
#endif
    for (int c = 0; c < kNR; ++c) {
      if (c < nr) {
        const float* row = W + static_cast<size_t>(c0 + c) * ldw;
        for (int k = k_done; k < kc; ++k) dst[k * kNR + c] = row[k];
      } else {
        for (int k = k_done; k < kc; ++k) dst[k * kNR + c] = 0.0f;
      }
    }
    dst += static_cast<size_t>(kc) * kNR;
  }
}

// ---------------------------------------------------------------------------------------------
// Micro-kernels: acc[kMR][kNR] = sum_k a[k][r] * b[k][c], then C = alpha * acc + beta * C on the
// valid mr x nr corner. beta == 0 never reads C.

// Writes a full-size accumulator tile (held in `tile`, row stride kNR) to C.
inline void StoreTile(const float* tile, float* C, int ldc, int mr, int nr, float alpha,
                      float beta) {
  for (int r = 0; r < mr; ++r) {
    float* c = C + static_cast<size_t>(r) * ldc;
    const float* t = tile + r * kNR;
    if (beta == 0.0f) {
      for (int j = 0; j < nr; ++j) c[j] = alpha * t[j];
    } else {
      for (int j = 0; j < nr; ++j) c[j] = alpha * t[j] + beta * c[j];
    }
  }
}

#if defined(__AVX512F__)
void MicroKernel(int kc, const float* a, const float* b, float* C, int ldc, int mr, int nr,
                 float alpha, float beta) {
  __m512 acc[kMR][2];
#pragma GCC unroll 12
  for (int r = 0; r < kMR; ++r) {
    acc[r][0] = _mm512_setzero_ps();
    acc[r][1] = _mm512_setzero_ps();
  }
  for (int k = 0; k < kc; ++k) {
    __m512 b0 = _mm512_load_ps(b);
    __m512 b1 = _mm512_load_ps(b + 16);
    _mm_prefetch(reinterpret_cast<const char*>(b + 8 * kNR), _MM_HINT_T0);
#pragma GCC unroll 12
    for (int r = 0; r < kMR; ++r) {
      __m512 ar = _mm512_set1_ps(a[r]);
      acc[r][0] = _mm512_fmadd_ps(ar, b0, acc[r][0]);
      acc[r][1] = _mm512_fmadd_ps(ar, b1, acc[r][1]);
    }
    a += kMR;
    b += kNR;
  }
  const __m512 va = _mm512_set1_ps(alpha);
  if (mr == kMR && nr == kNR) {
    if (beta == 0.0f) {
#pragma GCC unroll 12
      for (int r = 0; r < kMR; ++r) {
        float* c = C + static_cast<size_t>(r) * ldc;
        _mm512_storeu_ps(c, _mm512_mul_ps(va, acc[r][0]));
        _mm512_storeu_ps(c + 16, _mm512_mul_ps(va, acc[r][1]));
      }
    } else {
      const __m512 vb = _mm512_set1_ps(beta);
#pragma GCC unroll 12
      for (int r = 0; r < kMR; ++r) {
        float* c = C + static_cast<size_t>(r) * ldc;
        _mm512_storeu_ps(c, _mm512_fmadd_ps(va, acc[r][0], _mm512_mul_ps(vb, _mm512_loadu_ps(c))));
        _mm512_storeu_ps(
            c + 16, _mm512_fmadd_ps(va, acc[r][1], _mm512_mul_ps(vb, _mm512_loadu_ps(c + 16))));
      }
    }
    return;
  }
  alignas(64) float tile[kMR * kNR];
  for (int r = 0; r < kMR; ++r) {
    _mm512_store_ps(tile + r * kNR, acc[r][0]);
    _mm512_store_ps(tile + r * kNR + 16, acc[r][1]);
  }
  StoreTile(tile, C, ldc, mr, nr, alpha, beta);
}
#elif defined(__AVX2__) && defined(__FMA__)
void MicroKernel(int kc, const float* a, const float* b, float* C, int ldc, int mr, int nr,
                 float alpha, float beta) {
  __m256 acc[kMR][2];
  for (int r = 0; r < kMR; ++r) {
    acc[r][0] = _mm256_setzero_ps();
    acc[r][1] = _mm256_setzero_ps();
  }
  for (int k = 0; k < kc; ++k) {
    __m256 b0 = _mm256_load_ps(b);
    __m256 b1 = _mm256_load_ps(b + 8);
#pragma GCC unroll 6
    for (int r = 0; r < kMR; ++r) {
      __m256 ar = _mm256_broadcast_ss(a + r);
      acc[r][0] = _mm256_fmadd_ps(ar, b0, acc[r][0]);
      acc[r][1] = _mm256_fmadd_ps(ar, b1, acc[r][1]);
    }
    a += kMR;
    b += kNR;
  }
  alignas(32) float tile[kMR * kNR];
  for (int r = 0; r < kMR; ++r) {
    _mm256_store_ps(tile + r * kNR, acc[r][0]);
    _mm256_store_ps(tile + r * kNR + 8, acc[r][1]);
  }
  StoreTile(tile, C, ldc, mr, nr, alpha, beta);
}
#else
void MicroKernel(int kc, const float* a, const float* b, float* C, int ldc, int mr, int nr,
                 float alpha, float beta) {
  float tile[kMR * kNR] = {};
  for (int k = 0; k < kc; ++k) {
    for (int r = 0; r < kMR; ++r) {
      for (int c = 0; c < kNR; ++c) tile[r * kNR + c] += a[r] * b[c];
    }
    a += kMR;
    b += kNR;
  }
  StoreTile(tile, C, ldc, mr, nr, alpha, beta);
}
#endif

// ---------------------------------------------------------------------------------------------
// Driving the blocks. Two ways to split C over threads:
//  - by columns (wide, short C, e.g. Linear on a few tokens): each task owns a column range and
//    packs its own part of B; one Run for the whole product.
//  - by rows (tall C): B is the expensive operand to pack and every task needs all of it, so the
//    threads pack each B block together into one shared buffer (one Run), then each multiplies
//    its rows by it (a second Run).
struct GemmProblem {
  const float* A;
  const float* B;  // B[K,N] row-major, or W[N,K] when b_transposed
  float* C;
  int M, N, K;
  float alpha, beta;
  bool b_transposed;
  int parts;  // tasks per Run

  // The current block when splitting by rows.
  int jc, nc, pc, kc;
  float* packed_b;
};

// Splits [0, extent) into `parts` nearly equal ranges whose boundaries are multiples of `unit`.
inline int SplitPoint(int extent, int parts, int index, int unit) {
  int units = (extent + unit - 1) / unit;
  int at = static_cast<int>(static_cast<long long>(units) * index / parts) * unit;
  return std::min(at, extent);
}

// Packs columns [c0, c1) (relative to jc) of the K block pc of B into packed (sliver-major).
void PackBColumns(const GemmProblem& p, int jc, int c0, int c1, int pc, int kc, float* packed) {
  float* dst = packed + static_cast<size_t>(c0) * kc;  // c0 is a multiple of kNR
  if (p.b_transposed) {
    PackBTransposed(p.B + static_cast<size_t>(jc + c0) * p.K + pc, p.K, kc, c1 - c0, dst);
  } else {
    PackB(p.B + static_cast<size_t>(pc) * p.N + jc + c0, p.N, kc, c1 - c0, dst);
  }
}

// C[m0:m1, jc+c0 : jc+c1] (+)= alpha * A[m0:m1, pc:pc+kc] * packed B block, columns [c0, c1).
void MultiplyRows(const GemmProblem& p, float* packed_a, const float* packed_b, int m0, int m1,
                  int jc, int c0, int c1, int pc, int kc) {
  float beta = pc == 0 ? p.beta : 1.0f;  // later K blocks accumulate onto the first
  for (int ic = m0; ic < m1; ic += kMC) {
    int mc = std::min(kMC, m1 - ic);
    PackA(p.A + static_cast<size_t>(ic) * p.K + pc, p.K, mc, kc, packed_a);
    for (int jr = c0; jr < c1; jr += kNR) {
      int nr = std::min(kNR, c1 - jr);
      const float* b = packed_b + static_cast<size_t>(jr) * kc;
      for (int ir = 0; ir < mc; ir += kMR) {
        int mr = std::min(kMR, mc - ir);
        float* c = p.C + static_cast<size_t>(ic + ir) * p.N + jc + jr;
        MicroKernel(kc, packed_a + static_cast<size_t>(ir) * kc, b, c, p.N, mr, nr, p.alpha, beta);
      }
    }
  }
}

// Column split: the task's columns [n0, n1) over all rows and all of K.
void ColumnTask(void* ctx, int task) {
  const GemmProblem& p = *static_cast<const GemmProblem*>(ctx);
  int n0 = SplitPoint(p.N, p.parts, task, kNR);
  int n1 = SplitPoint(p.N, p.parts, task + 1, kNR);
  if (n0 >= n1) return;
  ScopedSlot slot;
  for (int jc = n0; jc < n1; jc += kNC) {
    int nc = std::min(kNC, n1 - jc);
    for (int pc = 0; pc < p.K; pc += kKC) {
      int kc = std::min(kKC, p.K - pc);
      PackBColumns(p, jc, 0, nc, pc, kc, slot->b);
      MultiplyRows(p, slot->a, slot->b, 0, p.M, jc, 0, nc, pc, kc);
    }
  }
}

// Row split, step 1: the task's share of the current B block's slivers.
void PackBTask(void* ctx, int task) {
  const GemmProblem& p = *static_cast<const GemmProblem*>(ctx);
  int c0 = SplitPoint(p.nc, p.parts, task, kNR);
  int c1 = SplitPoint(p.nc, p.parts, task + 1, kNR);
  if (c0 < c1) PackBColumns(p, p.jc, c0, c1, p.pc, p.kc, p.packed_b);
}

// Row split, step 2: the task's rows times the shared packed B block.
void RowTask(void* ctx, int task) {
  const GemmProblem& p = *static_cast<const GemmProblem*>(ctx);
  int m0 = SplitPoint(p.M, p.parts, task, kMR);
  int m1 = SplitPoint(p.M, p.parts, task + 1, kMR);
  if (m0 >= m1) return;
  ScopedSlot slot;
  MultiplyRows(p, slot->a, p.packed_b, m0, m1, p.jc, 0, p.nc, p.pc, p.kc);
}

// C = beta * C, with beta == 0 writing zeros (BLAS: A and B are not read when alpha == 0).
void ScaleC(float* C, size_t count, float beta) {
  if (beta == 0.0f) {
    std::fill(C, C + count, 0.0f);
  } else if (beta != 1.0f) {
    for (size_t i = 0; i < count; ++i) C[i] *= beta;
  }
}

void RunGemm(GemmProblem p, ThreadPool* pool) {
  if (p.M <= 0 || p.N <= 0) return;
  if (p.K <= 0 || p.alpha == 0.0f) {
    ScaleC(p.C, static_cast<size_t>(p.M) * p.N, p.beta);
    return;
  }
  ThreadPool& workers = pool ? *pool : DefaultPool();
  double macs = static_cast<double>(p.M) * p.N * p.K;
  int threads = macs < kParallelMinMacs ? 1 : workers.threads();
  int row_blocks = (p.M + kMR - 1) / kMR;
  int col_blocks = (p.N + kNR - 1) / kNR;
  // One slot per task plus the shared B block; reserved once, reused by every later call.
  Arena().Reserve(threads == 1 ? 1 : workers.threads() + 1);
  if (threads == 1 || (row_blocks < threads && col_blocks < threads)) {
    p.parts = 1;
    ColumnTask(&p, 0);
  } else if (row_blocks < threads || (p.N > p.M && col_blocks >= threads)) {
    p.parts = std::min(col_blocks, kTasksPerThread * threads);
    workers.Run(p.parts, ColumnTask, &p);
  } else {
    p.parts = std::min(row_blocks, kTasksPerThread * threads);
    ScopedSlot shared;
    p.packed_b = shared->b;
    for (p.jc = 0; p.jc < p.N; p.jc += kNC) {
      p.nc = std::min(kNC, p.N - p.jc);
      for (p.pc = 0; p.pc < p.K; p.pc += kKC) {
        p.kc = std::min(kKC, p.K - p.pc);
        workers.Run(p.parts, PackBTask, &p);  // tasks with no sliver left return at once
        workers.Run(p.parts, RowTask, &p);
      }
    }
  }
}

#if defined(__AVX512F__)
// Horizontal sum through memory: GCC 12's _mm512_reduce_add_ps trips -Wmaybe-uninitialized.
inline float SumLanes(__m512 v) {
  alignas(64) float lanes[16];
  _mm512_store_ps(lanes, v);
  float sum = 0.0f;
  for (float lane : lanes) sum += lane;
  return sum;
}
#endif

// ---------------------------------------------------------------------------------------------
// Linear for few tokens: y = x * W^T is M x N dot products of length K, and both x rows and W
// rows are contiguous along K. Packing W (as the GEMM path does) costs as much as the product
// itself when M is small, so here a 4x4 tile of y is accumulated straight from 4 rows of x and 4
// rows of W, vectorised along K, then the 16 partial-sum vectors are reduced together.
#if defined(__AVX512F__)
constexpr int kLinearDotMaxM = 6;  // measured crossover with the packed GEMM path: 4 < M < 8

// Partial sums of four vectors: 128-bit lane l holds [a0 a1 a2 a3] partials. Arguments by value
// so the accumulators never have their address taken (GCC would spill them every iteration).
inline __m512 ReduceFour(__m512 a0, __m512 a1, __m512 a2, __m512 a3) {
  __m512 s01 = _mm512_add_ps(_mm512_unpacklo_ps(a0, a1), _mm512_unpackhi_ps(a0, a1));
  __m512 s23 = _mm512_add_ps(_mm512_unpacklo_ps(a2, a3), _mm512_unpackhi_ps(a2, a3));
  // Per 128-bit lane: s01 = [a0 a1 a0 a1], s23 = [a2 a3 a2 a3] partials.
  __m512d lo = _mm512_unpacklo_pd(_mm512_castps_pd(s01), _mm512_castps_pd(s23));
  __m512d hi = _mm512_unpackhi_pd(_mm512_castps_pd(s01), _mm512_castps_pd(s23));
  return _mm512_add_ps(_mm512_castpd_ps(lo), _mm512_castpd_ps(hi));
}

// Adds the four 128-bit lanes of each q_g together, landing q_g's totals in lane g.
inline __m512 ReduceLanes(__m512 q0, __m512 q1, __m512 q2, __m512 q3) {
  __m512 u = _mm512_add_ps(_mm512_shuffle_f32x4(q0, q1, 0x88), _mm512_shuffle_f32x4(q0, q1, 0xDD));
  __m512 w = _mm512_add_ps(_mm512_shuffle_f32x4(q2, q3, 0x88), _mm512_shuffle_f32x4(q2, q3, 0xDD));
  return _mm512_add_ps(_mm512_shuffle_f32x4(u, w, 0x88), _mm512_shuffle_f32x4(u, w, 0xDD));
}

// y[m0 : m0+mr, n0 : n0+nr] for mr, nr <= 4. Missing rows repeat the last valid one (computed,
// not stored) so the loop body has no branches.
void LinearDotTile(const float* x, const float* W, float* y, int N, int K, int m0, int mr, int n0,
                   int nr) {
  const float* xr[4];
  const float* wr[4];
  for (int i = 0; i < 4; ++i) {
    xr[i] = x + static_cast<size_t>(m0 + std::min(i, mr - 1)) * K;
    wr[i] = W + static_cast<size_t>(n0 + std::min(i, nr - 1)) * K;
  }
  __m512 acc[16];
  for (__m512& a : acc) a = _mm512_setzero_ps();
  int k = 0;
  for (; k + 16 <= K; k += 16) {
    __m512 wv[4];
    for (int j = 0; j < 4; ++j) wv[j] = _mm512_loadu_ps(wr[j] + k);
#pragma GCC unroll 4
    for (int i = 0; i < 4; ++i) {
      __m512 xv = _mm512_loadu_ps(xr[i] + k);
      for (int j = 0; j < 4; ++j) acc[i * 4 + j] = _mm512_fmadd_ps(xv, wv[j], acc[i * 4 + j]);
    }
  }
  if (k < K) {
    __mmask16 tail = static_cast<__mmask16>((1u << (K - k)) - 1);
    __m512 wv[4];
    for (int j = 0; j < 4; ++j) wv[j] = _mm512_maskz_loadu_ps(tail, wr[j] + k);
    for (int i = 0; i < 4; ++i) {
      __m512 xv = _mm512_maskz_loadu_ps(tail, xr[i] + k);
      for (int j = 0; j < 4; ++j) acc[i * 4 + j] = _mm512_fmadd_ps(xv, wv[j], acc[i * 4 + j]);
    }
  }
  alignas(64) float sums[16];
  _mm512_store_ps(sums, ReduceLanes(ReduceFour(acc[0], acc[1], acc[2], acc[3]),
                                    ReduceFour(acc[4], acc[5], acc[6], acc[7]),
                                    ReduceFour(acc[8], acc[9], acc[10], acc[11]),
                                    ReduceFour(acc[12], acc[13], acc[14], acc[15])));
  for (int i = 0; i < mr; ++i) {
    float* out = y + static_cast<size_t>(m0 + i) * N + n0;
    for (int j = 0; j < nr; ++j) out[j] = sums[i * 4 + j];
  }
}

struct LinearDotProblem {
  const float* x;
  const float* W;
  float* y;
  int M, N, K;
  int parts;
};

// The task's output columns [n0, n1) for every row: W rows stay in cache across the M loop.
void LinearDotTask(void* ctx, int task) {
  const LinearDotProblem& p = *static_cast<const LinearDotProblem*>(ctx);
  int n0 = SplitPoint(p.N, p.parts, task, 4);
  int n1 = SplitPoint(p.N, p.parts, task + 1, 4);
  for (int n = n0; n < n1; n += 4) {
    for (int m = 0; m < p.M; m += 4) {
      LinearDotTile(p.x, p.W, p.y, p.N, p.K, m, std::min(4, p.M - m), n, std::min(4, n1 - n));
    }
  }
}
#endif

// ---------------------------------------------------------------------------------------------
// Dot products for MatVec: four rows of W against x at once, sharing the loads of x.
void DotRows4(const float* w, size_t ldw, const float* x, int K, float* out) {
  const float* w0 = w;
  const float* w1 = w + ldw;
  const float* w2 = w + 2 * ldw;
  const float* w3 = w + 3 * ldw;
  int k = 0;
  float s0 = 0, s1 = 0, s2 = 0, s3 = 0;
#if defined(__AVX512F__)
  __m512 a0 = _mm512_setzero_ps(), a1 = _mm512_setzero_ps();
  __m512 a2 = _mm512_setzero_ps(), a3 = _mm512_setzero_ps();
  for (; k + 16 <= K; k += 16) {
    __m512 xv = _mm512_loadu_ps(x + k);
    a0 = _mm512_fmadd_ps(_mm512_loadu_ps(w0 + k), xv, a0);
    a1 = _mm512_fmadd_ps(_mm512_loadu_ps(w1 + k), xv, a1);
    a2 = _mm512_fmadd_ps(_mm512_loadu_ps(w2 + k), xv, a2);
    a3 = _mm512_fmadd_ps(_mm512_loadu_ps(w3 + k), xv, a3);
  }
  s0 = SumLanes(a0);
  s1 = SumLanes(a1);
  s2 = SumLanes(a2);
  s3 = SumLanes(a3);
#endif
  for (; k < K; ++k) {
    s0 += w0[k] * x[k];
    s1 += w1[k] * x[k];
    s2 += w2[k] * x[k];
    s3 += w3[k] * x[k];
  }
  out[0] = s0;
  out[1] = s1;
  out[2] = s2;
  out[3] = s3;
}

float DotRow(const float* w, const float* x, int K) {
  int k = 0;
  float sum = 0.0f;
#if defined(__AVX512F__)
  __m512 a0 = _mm512_setzero_ps(), a1 = _mm512_setzero_ps();
  for (; k + 32 <= K; k += 32) {
    a0 = _mm512_fmadd_ps(_mm512_loadu_ps(w + k), _mm512_loadu_ps(x + k), a0);
    a1 = _mm512_fmadd_ps(_mm512_loadu_ps(w + k + 16), _mm512_loadu_ps(x + k + 16), a1);
  }
  sum = SumLanes(_mm512_add_ps(a0, a1));
#else
  float partial[8] = {};
  for (; k + 8 <= K; k += 8) {
    for (int i = 0; i < 8; ++i) partial[i] += w[k + i] * x[k + i];
  }
  for (int i = 0; i < 8; ++i) sum += partial[i];
#endif
  for (; k < K; ++k) sum += w[k] * x[k];
  return sum;
}

struct MatVecProblem {
  const float* W;
  const float* x;
  float* y;
  int N, K;
  int parts;
};

void MatVecRows(const MatVecProblem& p, int n0, int n1) {
  int n = n0;
  for (; n + 4 <= n1; n += 4) DotRows4(p.W + static_cast<size_t>(n) * p.K, p.K, p.x, p.K, p.y + n);
  for (; n < n1; ++n) p.y[n] = DotRow(p.W + static_cast<size_t>(n) * p.K, p.x, p.K);
}

void MatVecTask(void* ctx, int task) {
  const MatVecProblem& p = *static_cast<const MatVecProblem*>(ctx);
  MatVecRows(p, SplitPoint(p.N, p.parts, task, 4), SplitPoint(p.N, p.parts, task + 1, 4));
}

}  // namespace

void Gemm(const float* A, const float* B, float* C, int M, int N, int K, float alpha, float beta,
          ThreadPool* pool) {
  RunGemm(GemmProblem{A, B, C, M, N, K, alpha, beta, false, 1, 0, 0, 0, 0, nullptr}, pool);
}

void Gemm(const Mat& A, const Mat& B, Mat& C, float alpha, float beta, ThreadPool* pool) {
  if (A.cols != B.rows || C.rows != A.rows || C.cols != B.cols) {
    char message[160];
    std::snprintf(message, sizeof message, "Gemm: shape mismatch A[%d,%d] * B[%d,%d] -> C[%d,%d]",
                  A.rows, A.cols, B.rows, B.cols, C.rows, C.cols);
    throw std::invalid_argument(message);
  }
  Gemm(A.data.data(), B.data.data(), C.data.data(), A.rows, B.cols, A.cols, alpha, beta, pool);
}

void Linear(const float* x, const float* W, float* y, int M, int N, int K, ThreadPool* pool) {
  if (M == 1) {
    MatVec(W, x, y, N, K, pool);
    return;
  }
#if defined(__AVX512F__)
  if (M <= kLinearDotMaxM && M > 0 && N > 0 && K > 0) {
    ThreadPool& workers = pool ? *pool : DefaultPool();
    LinearDotProblem p{x, W, y, M, N, K, 1};
    if (static_cast<double>(M) * N * K >= kParallelMinMacs) {
      p.parts = std::min(kTasksPerThread * workers.threads(), (N + 3) / 4);
    }
    if (p.parts <= 1) {
      LinearDotTask(&p, 0);
    } else {
      workers.Run(p.parts, LinearDotTask, &p);
    }
    return;
  }
#endif
  RunGemm(GemmProblem{x, W, y, M, N, K, 1.0f, 0.0f, true, 1, 0, 0, 0, 0, nullptr}, pool);
}

void MatVec(const float* W, const float* x, float* y, int N, int K, ThreadPool* pool) {
  if (N <= 0) return;
  if (K <= 0) {
    std::fill(y, y + N, 0.0f);
    return;
  }
  ThreadPool& workers = pool ? *pool : DefaultPool();
  MatVecProblem p{W, x, y, N, K, 1};
  if (static_cast<double>(N) * K >= kMatVecParallelMinMacs) {
    p.parts = std::min(kTasksPerThread * workers.threads(), (N + 3) / 4);
  }
  if (p.parts <= 1) {
    MatVecRows(p, 0, N);
  } else {
    workers.Run(p.parts, MatVecTask, &p);
  }
}

}  // namespace rlvr
