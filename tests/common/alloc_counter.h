// Counts heap allocations (operator new in all its forms, and malloc/calloc/realloc/aligned
// allocation through the C library) made by any thread, so tests and benchmarks can prove a hot
// path allocates nothing. Linking this file replaces the global operator new/delete.
#pragma once

#include <cstdint>

namespace rlvr {

// Total allocations since process start (monotonic, all threads).
uint64_t AllocationCount();

// Counts the allocations made between construction and count().
class AllocationScope {
 public:
  AllocationScope() : start_(AllocationCount()) {}
  uint64_t count() const { return AllocationCount() - start_; }

 private:
  uint64_t start_;
};

}  // namespace rlvr
