// Proves the allocation counter (tests/common/alloc_counter.h) sees every kind of heap allocation
// the zero-allocation gates rely on, and nothing else.
#include "tests/common/alloc_counter.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <memory>
#include <string>
#include <thread>
#include <vector>

namespace rlvr {
namespace {

// Keeps the optimiser from deleting an allocation whose result is otherwise unused (allowed for
// new-expressions since C++14, and done for malloc/free pairs by GCC).
void Escape(void* p) {
  asm volatile("" : : "g"(p) : "memory");
}

TEST(AllocCounter, CountsOperatorNew) {
  AllocationScope scope;
  int* p = new int(42);
  Escape(p);
  delete p;
  EXPECT_EQ(scope.count(), 1u);
}

TEST(AllocCounter, CountsArrayAndAlignedNew) {
  AllocationScope scope;
  float* a = new float[17];
  Escape(a);
  struct alignas(128) Wide {
    float v[32];
  };
  Wide* w = new Wide;
  Escape(w);
  delete w;
  delete[] a;
  EXPECT_EQ(scope.count(), 2u);
}

TEST(AllocCounter, CountsMallocFamily) {
  AllocationScope scope;
  void* a = std::malloc(100);
  Escape(a);
  void* b = std::calloc(10, 10);
  Escape(b);
  a = std::realloc(a, 1000);
  Escape(a);
  void* c = std::aligned_alloc(64, 256);
  Escape(c);
  std::free(c);
  std::free(b);
  std::free(a);
  EXPECT_EQ(scope.count(), 4u);
}

TEST(AllocCounter, CountsVectorGrowth) {
  std::vector<int> v;
  v.reserve(1);
  v.push_back(1);
  AllocationScope scope;
  v.push_back(2);  // capacity 1 -> grows once
  Escape(v.data());
  EXPECT_EQ(scope.count(), 1u);
  EXPECT_EQ(v.size(), 2u);
}

TEST(AllocCounter, CountsAllocationsOnOtherThreads) {
  std::thread worker;  // created before the scope: thread start-up allocates
  AllocationScope scope;
  uint64_t before = AllocationCount();
  worker = std::thread([] {
    auto p = std::make_unique<std::string>(64, 'x');
    Escape(p.get());
  });
  worker.join();
  // The thread's own start-up allocation (its state block) plus the string object and buffer.
  EXPECT_GE(AllocationCount() - before, 2u);
  EXPECT_GE(scope.count(), 2u);
}

TEST(AllocCounter, ZeroForArithmetic) {
  volatile float x = 1.5f;
  AllocationScope scope;
  float sum = 0.0f;
  for (int i = 0; i < 1000; ++i) sum += x * static_cast<float>(i);
  Escape(&sum);
  int stack[64];
  for (int i = 0; i < 64; ++i) stack[i] = i;
  Escape(stack);
  EXPECT_EQ(scope.count(), 0u);
}

}  // namespace
}  // namespace rlvr
