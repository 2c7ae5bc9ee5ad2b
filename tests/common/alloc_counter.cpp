#include "tests/common/alloc_counter.h"

#include <atomic>
#include <cstdlib>
#include <new>

#include <dlfcn.h>

// Two layers count allocations: the replaced global operator new (every C++ allocation), and,
// outside sanitizer builds, the C library's malloc family interposed through dlsym(RTLD_NEXT).
// Sanitizers intercept malloc themselves, so there only operator new is counted.
#if defined(__SANITIZE_ADDRESS__)
#define RLVR_INTERPOSE_MALLOC 0
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define RLVR_INTERPOSE_MALLOC 0
#endif
#endif
#ifndef RLVR_INTERPOSE_MALLOC
#define RLVR_INTERPOSE_MALLOC 1
#endif

namespace {
std::atomic<uint64_t> g_allocations{0};
void Count() {
  g_allocations.fetch_add(1, std::memory_order_relaxed);
}
}  // namespace

namespace rlvr {
uint64_t AllocationCount() {
  return g_allocations.load(std::memory_order_relaxed);
}
}  // namespace rlvr

#if RLVR_INTERPOSE_MALLOC
namespace {
using MallocFn = void* (*)(size_t);
using CallocFn = void* (*)(size_t, size_t);
using ReallocFn = void* (*)(void*, size_t);
using FreeFn = void (*)(void*);
using PosixMemalignFn = int (*)(void**, size_t, size_t);

// dlsym may itself call calloc before the real one is known; those few bytes come from here.
alignas(64) char g_bootstrap[8192];
std::atomic<size_t> g_bootstrap_used{0};

void* Bootstrap(size_t n) {
  n = (n + 63) & ~size_t{63};
  size_t at = g_bootstrap_used.fetch_add(n);
  return at + n <= sizeof(g_bootstrap) ? g_bootstrap + at : nullptr;
}
bool FromBootstrap(const void* p) {
  auto* c = static_cast<const char*>(p);
  return c >= g_bootstrap && c < g_bootstrap + sizeof(g_bootstrap);
}

MallocFn real_malloc = nullptr;
CallocFn real_calloc = nullptr;
ReallocFn real_realloc = nullptr;
FreeFn real_free = nullptr;
PosixMemalignFn real_posix_memalign = nullptr;
thread_local bool t_resolving = false;

bool Resolve() {
  if (real_malloc) return true;
  if (t_resolving) return false;
  t_resolving = true;
  real_calloc = reinterpret_cast<CallocFn>(dlsym(RTLD_NEXT, "calloc"));
  real_realloc = reinterpret_cast<ReallocFn>(dlsym(RTLD_NEXT, "realloc"));
  real_free = reinterpret_cast<FreeFn>(dlsym(RTLD_NEXT, "free"));
  real_posix_memalign = reinterpret_cast<PosixMemalignFn>(dlsym(RTLD_NEXT, "posix_memalign"));
  real_malloc = reinterpret_cast<MallocFn>(dlsym(RTLD_NEXT, "malloc"));
  t_resolving = false;
  return real_malloc != nullptr;
}

void* RawMalloc(size_t n) {
  return Resolve() ? real_malloc(n) : Bootstrap(n);
}
void RawFree(void* p) {
  if (p && !FromBootstrap(p) && Resolve()) real_free(p);
}
int RawPosixMemalign(void** out, size_t align, size_t n) {
  return Resolve() ? real_posix_memalign(out, align, n) : ((*out = Bootstrap(n)) ? 0 : 12);
}
}  // namespace

extern "C" {
void* malloc(size_t n) {
  Count();
  return RawMalloc(n);
}
void* calloc(size_t count, size_t n) {
  Count();
  if (!Resolve()) return Bootstrap(count * n);  // static storage starts zeroed
  return real_calloc(count, n);
}
void* realloc(void* p, size_t n) {
  Count();
  if (FromBootstrap(p)) {
    void* q = RawMalloc(n);
    if (q) __builtin_memcpy(q, p, n);  // bootstrap blocks are small; over-read stays in the arena
    return q;
  }
  return Resolve() ? real_realloc(p, n) : nullptr;
}
void free(void* p) {
  RawFree(p);
}
int posix_memalign(void** out, size_t align, size_t n) {
  Count();
  return RawPosixMemalign(out, align, n);
}
void* aligned_alloc(size_t align, size_t n) {
  void* p = nullptr;
  Count();
  return RawPosixMemalign(&p, align < sizeof(void*) ? sizeof(void*) : align, n) == 0 ? p : nullptr;
}
}  // extern "C"
#else
namespace {
void* RawMalloc(size_t n) {
  return std::malloc(n);
}
void RawFree(void* p) {
  std::free(p);
}
int RawPosixMemalign(void** out, size_t align, size_t n) {
  return posix_memalign(out, align, n);
}
}  // namespace
#endif

// operator new counts once and takes its memory without passing through the counted malloc.
void* operator new(std::size_t n) {
  Count();
  void* p = RawMalloc(n ? n : 1);
  if (!p) throw std::bad_alloc();
  return p;
}
void* operator new[](std::size_t n) {
  return operator new(n);
}
void* operator new(std::size_t n, const std::nothrow_t&) noexcept {
  Count();
  return RawMalloc(n ? n : 1);
}
void* operator new[](std::size_t n, const std::nothrow_t&) noexcept {
  return operator new(n, std::nothrow);
}
void* operator new(std::size_t n, std::align_val_t a) {
  Count();
  void* p = nullptr;
  size_t align = static_cast<size_t>(a) < sizeof(void*) ? sizeof(void*) : static_cast<size_t>(a);
  if (RawPosixMemalign(&p, align, n ? n : 1) != 0) throw std::bad_alloc();
  return p;
}
void* operator new[](std::size_t n, std::align_val_t a) {
  return operator new(n, a);
}
void operator delete(void* p) noexcept {
  RawFree(p);
}
void operator delete[](void* p) noexcept {
  RawFree(p);
}
void operator delete(void* p, std::size_t) noexcept {
  RawFree(p);
}
void operator delete[](void* p, std::size_t) noexcept {
  RawFree(p);
}
void operator delete(void* p, std::align_val_t) noexcept {
  RawFree(p);
}
void operator delete[](void* p, std::align_val_t) noexcept {
  RawFree(p);
}
void operator delete(void* p, std::size_t, std::align_val_t) noexcept {
  RawFree(p);
}
void operator delete[](void* p, std::size_t, std::align_val_t) noexcept {
  RawFree(p);
}
