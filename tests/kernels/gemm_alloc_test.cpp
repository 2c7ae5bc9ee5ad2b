// Zero-allocation gate for kernels/gemm.h: after one warm-up call (which may allocate packing
// buffers), Gemm, Linear and MatVec allocate nothing, single- and multi-threaded.
#include <gtest/gtest.h>

#include <vector>

#include "kernels/gemm.h"
#include "kernels/thread_pool.h"
#include "tests/common/alloc_counter.h"
#include "tests/common/test_seed.h"

namespace rlvr {
namespace {

struct Operands {
  std::vector<float> a, b, c;
  Operands(int M, int N, int K) : a(size_t(M) * K), b(size_t(K) * N), c(size_t(M) * N) {
    FillRandom(a.data(), a.size(), TestSeedFor(1));
    FillRandom(b.data(), b.size(), TestSeedFor(2));
  }
};

void ExpectGemmAllocationFree(ThreadPool* pool, int M, int N, int K) {
  Operands op(M, N, K);
  Gemm(op.a.data(), op.b.data(), op.c.data(), M, N, K, 1.0f, 0.0f, pool);  // warm-up
  AllocationScope scope;
  for (int i = 0; i < 5; ++i) {
    Gemm(op.a.data(), op.b.data(), op.c.data(), M, N, K, 1.0f, 0.5f, pool);
  }
  EXPECT_EQ(scope.count(), 0u) << "M=" << M << " N=" << N << " K=" << K;
}

TEST(AllocGemm, GemmSingleThread) {
  ThreadPool pool(1);
  ExpectGemmAllocationFree(&pool, 200, 300, 280);
  ExpectGemmAllocationFree(&pool, 3, 5, 7);
}

TEST(AllocGemm, GemmMultiThread) {
  ThreadPool pool(2);
  ExpectGemmAllocationFree(&pool, 256, 256, 256);  // split by rows
  ExpectGemmAllocationFree(&pool, 16, 1000, 100);  // split by columns
}

TEST(AllocGemm, GemmDefaultPool) {
  ExpectGemmAllocationFree(nullptr, 192, 160, 300);
}

TEST(AllocGemm, LinearBatchAndSingleToken) {
  for (int M : {1, 32}) {
    Operands op(M, 768, 512);  // b holds W[768, 512]
    Linear(op.a.data(), op.b.data(), op.c.data(), M, 768, 512);
    AllocationScope scope;
    for (int i = 0; i < 5; ++i) Linear(op.a.data(), op.b.data(), op.c.data(), M, 768, 512);
    EXPECT_EQ(scope.count(), 0u) << "M=" << M;
  }
}

TEST(AllocGemm, MatVecParallel) {
  ThreadPool pool(2);
  Operands op(1, 1024, 1024);
  MatVec(op.b.data(), op.a.data(), op.c.data(), 1024, 1024, &pool);
  AllocationScope scope;
  for (int i = 0; i < 5; ++i) MatVec(op.b.data(), op.a.data(), op.c.data(), 1024, 1024, &pool);
  EXPECT_EQ(scope.count(), 0u);
}

TEST(AllocGemm, ThreadPoolRun) {
  ThreadPool pool(2);
  int sink[64] = {};
  auto body = [&](int task) { sink[task] += task; };
  pool.ParallelFor(64, body);
  AllocationScope scope;
  for (int i = 0; i < 100; ++i) pool.ParallelFor(64, body);
  EXPECT_EQ(scope.count(), 0u);
  EXPECT_EQ(sink[63], 63 * 101);
}

}  // namespace
}  // namespace rlvr
