#include "kernels/thread_pool.h"

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#endif

namespace rlvr {

namespace {
// How long an idle thread polls before sleeping on a condition variable. Kernels are called back
// to back (one decoder layer after another), so a short spin saves the futex wake-up (~10-50 us)
// on most calls, while a bounded one does not steal the core when the pool is really idle.
constexpr int kSpinIterations = 2500;  // ~50 us at ~20 ns per pause (Zen 5)

// One step of a spin-wait. Every kYieldEvery steps it yields the core: on a machine whose cores
// are all busy (other processes), a pure spin would take time slices from the very thread it
// waits for; on an idle machine sched_yield returns at once.
inline void SpinStep(int step) {
  constexpr int kYieldEvery = 64;
  if (step % kYieldEvery == kYieldEvery - 1) {
    std::this_thread::yield();
    return;
  }
#if defined(__x86_64__) || defined(__i386__)
  _mm_pause();
#endif
}

// Set while this thread runs a task of some pool: a Run from inside a task (a kernel calling
// another kernel) executes inline instead of deadlocking on the busy pool.
thread_local bool t_in_task = false;

int ThreadsFromEnvironment() {
  unsigned hardware = std::thread::hardware_concurrency();
  int fallback = hardware == 0 ? 1 : static_cast<int>(hardware);
  const char* text = std::getenv("RLVR_THREADS");
  if (text == nullptr || *text == '\0') return fallback;
  char* end = nullptr;
  errno = 0;
  long value = std::strtol(text, &end, 10);
  if (errno != 0 || end == text || *end != '\0' || value < 1 || value > 1024) {
    std::fprintf(stderr, "RLVR_THREADS='%s' is not an integer in [1, 1024]; using %d threads\n",
                 text, fallback);
    return fallback;
  }
  return static_cast<int>(value);
}
}  // namespace

ThreadPool::ThreadPool(int threads) {
  int extra = threads > 1 ? threads - 1 : 0;
  workers_.reserve(extra);
  for (int i = 0; i < extra; ++i) workers_.emplace_back([this] { WorkerLoop(); });
}

ThreadPool::~ThreadPool() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
    generation_.fetch_add(1, std::memory_order_release);
  }
  wake_.notify_all();
  for (std::thread& worker : workers_) worker.join();
}

void ThreadPool::Run(int tasks, void (*fn)(void*, int), void* ctx) {
  if (tasks <= 0) return;
  if (workers_.empty() || tasks == 1 || t_in_task) {
    for (int task = 0; task < tasks; ++task) fn(ctx, task);
    return;
  }
  std::lock_guard<std::mutex> run_lock(run_mu_);
  if (inline_runs_left_ > 0) {
    --inline_runs_left_;
    ++inline_runs_total_;
    // As a task: a nested Run must not wait for run_mu_, which this thread holds.
    t_in_task = true;
    for (int task = 0; task < tasks; ++task) fn(ctx, task);
    t_in_task = false;
    return;
  }
  const auto start = std::chrono::steady_clock::now();
  {
    std::lock_guard<std::mutex> lock(mu_);
    fn_ = fn;
    ctx_ = ctx;
    tasks_ = tasks;
    next_task_ = 0;
    pending_.store(tasks, std::memory_order_relaxed);
    generation_.fetch_add(1, std::memory_order_release);
  }
  wake_.notify_all();
  DrainTasks();
  const auto drained = std::chrono::steady_clock::now();
  bool done = false;
  for (int spin = 0; spin < kSpinIterations && !done; ++spin) {
    done = pending_.load(std::memory_order_acquire) == 0;
    if (!done) SpinStep(spin);
  }
  if (!done) {
    std::unique_lock<std::mutex> lock(mu_);
    done_.wait(lock, [this] { return pending_.load(std::memory_order_acquire) == 0; });
  }
  WatchLag(drained - start, std::chrono::steady_clock::now() - drained);
}

void ThreadPool::WatchLag(std::chrono::nanoseconds own, std::chrono::nanoseconds waited) {
  window_own_ns_ += own.count();
  window_wait_ns_ += waited.count();
  if (++window_runs_ < kLagWindowRuns) return;
  if (window_wait_ns_ > window_own_ns_) inline_runs_left_ = kInlineRunsAfterLag;
  window_runs_ = 0;
  window_own_ns_ = window_wait_ns_ = 0;
}

void ThreadPool::DrainTasks() {
  for (;;) {
    void (*fn)(void*, int);
    void* ctx;
    int task;
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (next_task_ >= tasks_) return;
      task = next_task_++;
      fn = fn_;
      ctx = ctx_;
    }
    t_in_task = true;
    fn(ctx, task);
    t_in_task = false;
    if (pending_.fetch_sub(1, std::memory_order_acq_rel) == 1) {
      // Taking the lock orders this notify after a waiter's predicate check: no lost wake-up.
      std::lock_guard<std::mutex> lock(mu_);
      done_.notify_all();
    }
  }
}

void ThreadPool::WorkerLoop() {
  unsigned seen = 0;
  for (;;) {
    for (int spin = 0; spin < kSpinIterations; ++spin) {
      if (generation_.load(std::memory_order_acquire) != seen) break;
      SpinStep(spin);
    }
    {
      std::unique_lock<std::mutex> lock(mu_);
      wake_.wait(lock, [&] { return generation_.load(std::memory_order_relaxed) != seen; });
      if (stop_) return;
      seen = generation_.load(std::memory_order_relaxed);
    }
    DrainTasks();
  }
}

ThreadPool& DefaultPool() {
  static ThreadPool pool(ThreadsFromEnvironment());
  return pool;
}

}  // namespace rlvr
