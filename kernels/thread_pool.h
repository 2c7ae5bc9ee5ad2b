// ThreadPool: a persistent set of worker threads for data-parallel kernels. Run() hands out task
// indices without allocating or creating threads, so hot paths can use it every call.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>
#include <vector>

namespace rlvr {

class ThreadPool {
 public:
  // threads counts the calling thread too: ThreadPool(1) runs everything inline. Values < 1 are
  // treated as 1.
  explicit ThreadPool(int threads);
  ~ThreadPool();
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  int threads() const { return static_cast<int>(workers_.size()) + 1; }

  // Calls fn(ctx, task) for every task in [0, tasks), spread over the threads; returns when all
  // are done. fn must not throw. A Run issued from inside a task (of any pool) runs its tasks
  // inline on that thread, so nested kernels cannot deadlock. Calls from several threads at once
  // are serialised.
  //
  // Lagging workers: when other processes hold the cores, a worker may be descheduled while it
  // holds a task, and the caller waits for it far longer than running everything itself would
  // take. So the pool watches each window of kLagWindowRuns runs: if the caller spent more time
  // waiting for workers (after running out of tasks) than running tasks, the next
  // kInlineRunsAfterLag runs execute all their tasks on the caller, then the pool tries its
  // workers again. Which thread runs a task never changes what it computes.
  void Run(int tasks, void (*fn)(void* ctx, int task), void* ctx);

  static constexpr int kLagWindowRuns = 16;
  static constexpr int kInlineRunsAfterLag = 256;

  // How many runs so far were sent inline because workers lagged (for tests and diagnostics).
  long long inline_runs_after_lag() const { return inline_runs_total_; }

  // Convenience over Run for a callable taken by reference (no std::function, no allocation).
  template <typename F>
  void ParallelFor(int tasks, F& f) {
    Run(
        tasks, [](void* c, int t) { (*static_cast<F*>(c))(t); }, &f);
  }

 private:
  void WorkerLoop();
  void DrainTasks();
  // Adds one run's time spent running tasks (own) and waiting for workers afterwards (waited) to
  // the window; at its end, sends the next runs inline if waiting outweighed running.
  void WatchLag(std::chrono::nanoseconds own, std::chrono::nanoseconds waited);

  std::vector<std::thread> workers_;
  std::mutex run_mu_;  // serialises concurrent Run calls
  std::mutex mu_;      // guards the fields below that are not atomic
  std::condition_variable wake_;
  std::condition_variable done_;
  void (*fn_)(void*, int) = nullptr;
  void* ctx_ = nullptr;
  int tasks_ = 0;
  int next_task_ = 0;
  std::atomic<int> pending_{0};          // tasks of the current Run not yet finished
  std::atomic<unsigned> generation_{0};  // bumped by every Run; workers spin on it briefly
  bool stop_ = false;
  // Lag watch, guarded by run_mu_ (see Run).
  int window_runs_ = 0;
  long long window_own_ns_ = 0, window_wait_ns_ = 0;
  int inline_runs_left_ = 0;
  long long inline_runs_total_ = 0;
};

// The process-wide pool the kernels use by default: RLVR_THREADS threads if set, else one per
// hardware thread.
ThreadPool& DefaultPool();

}  // namespace rlvr
