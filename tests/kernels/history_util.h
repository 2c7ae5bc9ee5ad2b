// The protocol of the History suite (history_test.cpp): a kernel's result must depend on the
// inputs of the call and on nothing else, above all not on earlier calls. Benchmarks call a
// kernel many times on similar inputs, so a kernel that remembers its last inputs or result (by
// pointer or by content) or updates its last result incrementally can look far faster than it
// is. CheckHistory runs one kernel, in one process, on
//   X; unrelated Y and Z (own buffers); Y's values copied into X's buffers; X copied into fresh
//   buffers; X restored into its original buffers, twice in a row; then there, one element, one
//   row and another element changed in place, a call after each; X restored once more,
// and demands: every result matches the plain reference within the kernel's tolerance; the same
// input values give BIT-IDENTICAL results whichever buffers hold them and whatever came before;
// inputs are bit-unchanged by every call; the output is fully written when the call returns
// (it is poisoned with NaN before each call) and stays put afterwards (no work left running on
// the thread pool).
#pragma once

#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <new>
#include <string>
#include <vector>

#include "kernels/splitmix64.h"

namespace rlvr::history {

// 64-byte aligned storage, so "the same values in fresh buffers" also means the same alignment:
// a kernel whose rounding depends on where its data starts (peeling to alignment) is not
// history-dependent and must not fail here.
template <typename T>
struct AlignedAllocator {
  using value_type = T;
  AlignedAllocator() = default;
  template <typename U>
  AlignedAllocator(const AlignedAllocator<U>&) {}
  T* allocate(size_t n) {
    size_t bytes = (n * sizeof(T) + 63) / 64 * 64;
    void* p = std::aligned_alloc(64, bytes == 0 ? 64 : bytes);
    if (p == nullptr) throw std::bad_alloc();
    return static_cast<T*>(p);
  }
  void deallocate(T* p, size_t) { std::free(p); }
  template <typename U>
  bool operator==(const AlignedAllocator<U>&) const {
    return true;
  }
};
template <typename T>
using Buffer = std::vector<T, AlignedAllocator<T>>;

// n floats uniform in [lo, hi) from a SplitMix64 stream seeded with `seed`.
inline Buffer<float> RandomFloats(size_t n, uint64_t seed, float lo = -1.0f, float hi = 1.0f) {
  Buffer<float> v(n);
  for (float& x : v) x = lo + (hi - lo) * static_cast<float>(SplitMix64(seed) >> 40) * 0x1.0p-24f;
  return v;
}

inline float RandomFloat(uint64_t& state, float lo, float hi) {
  return lo + (hi - lo) * static_cast<float>(SplitMix64(state) >> 40) * 0x1.0p-24f;
}

// A quiet NaN with a payload no arithmetic produces: the output before each call.
inline float Poison() {
  uint32_t bits = 0x7fc0deadu;
  float f;
  std::memcpy(&f, &bits, sizeof f);
  return f;
}

inline void FillPoison(float* out, size_t n) {
  const float poison = Poison();
  for (size_t i = 0; i < n; ++i) out[i] = poison;
}

// Fails at the first NaN (the poison, or any other: these kernels give finite results on finite
// inputs).
inline ::testing::AssertionResult FullyWritten(const float* out, size_t n) {
  for (size_t i = 0; i < n; ++i) {
    if (std::isnan(out[i])) {
      return ::testing::AssertionFailure()
             << "output[" << i << "] of " << n << " is NaN after return (left unwritten?)";
    }
  }
  return ::testing::AssertionSuccess();
}

// Fails at the first float whose bits differ.
inline ::testing::AssertionResult BitIdentical(const float* got, const float* want, size_t n) {
  for (size_t i = 0; i < n; ++i) {
    if (std::memcmp(&got[i], &want[i], sizeof(float)) != 0) {
      return ::testing::AssertionFailure()
             << "first difference at [" << i << "] of " << n << ": " << got[i] << " vs " << want[i];
    }
  }
  return ::testing::AssertionSuccess();
}

// One input buffer of a kernel call, as raw bytes: copied, compared and perturbed generically.
struct Bytes {
  void* data;
  size_t size;
};

// The bytes of all buffers, concatenated.
inline std::vector<unsigned char> Snapshot(const std::vector<Bytes>& buffers) {
  std::vector<unsigned char> all;
  for (const Bytes& b : buffers) {
    const auto* p = static_cast<const unsigned char*>(b.data);
    all.insert(all.end(), p, p + b.size);
  }
  return all;
}

inline ::testing::AssertionResult Unchanged(const std::vector<Bytes>& buffers,
                                            const std::vector<unsigned char>& before) {
  size_t offset = 0;
  for (size_t k = 0; k < buffers.size(); ++k) {
    if (std::memcmp(buffers[k].data, before.data() + offset, buffers[k].size) != 0) {
      return ::testing::AssertionFailure() << "input buffer " << k << " was modified by the call";
    }
    offset += buffers[k].size;
  }
  return ::testing::AssertionSuccess();
}

// Copies the values of `from` into the buffers of `to` (same shapes).
inline void CopyValues(const std::vector<Bytes>& from, const std::vector<Bytes>& to) {
  ASSERT_EQ(from.size(), to.size());
  for (size_t k = 0; k < from.size(); ++k) {
    ASSERT_EQ(from[k].size, to[k].size);
    std::memcpy(to[k].data, from[k].data, from[k].size);
  }
}

// The protocol in the header comment, for a Case that provides
//   using Inputs = ...;                      // copyable: a copy owns fresh buffers
//   Inputs Make(uint64_t seed) const;        // one input set, all values drawn from seed
//   std::vector<Bytes> Buffers(Inputs&) const;  // every input the kernel reads (not scratch)
//   size_t OutputSize() const;
//   void Run(Inputs&, float* out) const;     // one kernel call
//   ::testing::AssertionResult MatchesReference(const Inputs&, const float* out) const;
//   void PerturbElement(Inputs&, uint64_t seed) const;  // change one input value in place
//   void PerturbRow(Inputs&, uint64_t seed) const;      // change one row of an input in place
// `label` names the case in failure messages.
template <typename Case>
void CheckHistory(const Case& c, uint64_t seed, const std::string& label) {
  SCOPED_TRACE(label);
  using Inputs = typename Case::Inputs;
  const size_t n = c.OutputSize();
  Inputs x = c.Make(seed), y = c.Make(seed ^ 0x1111), z = c.Make(seed ^ 0x2222);
  Buffer<float> out_x(n), out_y(n), out_z(n), out_fresh(n);

  // One call: poison, run, then every per-call check. Returns the output as it was at return.
  auto call = [&](Inputs& in, Buffer<float>& out, const char* what) {
    SCOPED_TRACE(what);
    FillPoison(out.data(), n);
    const std::vector<Bytes> buffers = c.Buffers(in);
    const std::vector<unsigned char> before = Snapshot(buffers);
    c.Run(in, out.data());
    std::vector<float> at_return(out.begin(), out.end());
    EXPECT_TRUE(FullyWritten(at_return.data(), n));
    EXPECT_TRUE(Unchanged(buffers, before));
    EXPECT_TRUE(c.MatchesReference(in, at_return.data()));
    // The reference took a while: a result still being written by the pool shows up now.
    EXPECT_TRUE(BitIdentical(out.data(), at_return.data(), n)) << "output changed after return";
    return at_return;
  };

  const std::vector<float> first_x = call(x, out_x, "X, first call");
  const std::vector<float> first_y = call(y, out_y, "Y");
  call(z, out_z, "Z");

  Inputs x_values = x;  // fresh buffers holding X
  CopyValues(c.Buffers(y), c.Buffers(x));
  EXPECT_TRUE(BitIdentical(call(x, out_x, "Y's values in X's buffers").data(), first_y.data(), n))
      << "Y's values in X's buffers vs Y in its own";

  Inputs x_fresh = x_values;
  EXPECT_TRUE(
      BitIdentical(call(x_fresh, out_fresh, "X in fresh buffers").data(), first_x.data(), n))
      << "X in fresh buffers vs the first call";

  CopyValues(c.Buffers(x_values), c.Buffers(x));
  EXPECT_TRUE(BitIdentical(call(x, out_x, "X restored").data(), first_x.data(), n))
      << "X again in its original buffers vs the first call";

  // The very same call again, straight after: a kernel that skips work on a repeat is caught by
  // the poison.
  EXPECT_TRUE(BitIdentical(call(x, out_x, "X repeated").data(), first_x.data(), n))
      << "X repeated vs the first call";

  // Consecutive calls on the same buffers with small in-place changes: the case benchmarks make.
  c.PerturbElement(x, seed ^ 0x3333);
  call(x, out_x, "X with one element changed");
  c.PerturbRow(x, seed ^ 0x4444);
  call(x, out_x, "X with one row changed");
  c.PerturbElement(x, seed ^ 0x5555);
  call(x, out_x, "X with another element changed");

  // Back to X: an incremental update of the previous result would drift from the direct one.
  CopyValues(c.Buffers(x_values), c.Buffers(x));
  EXPECT_TRUE(BitIdentical(call(x, out_x, "X restored after changes").data(), first_x.data(), n))
      << "X restored after in-place changes vs the first call";
}

}  // namespace rlvr::history
