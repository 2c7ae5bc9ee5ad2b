// ThreadPool: every task runs exactly once, Run returns only when all are done, one thread means
// inline execution, concurrent callers are serialised, and runs go inline while workers lag.
#include "kernels/thread_pool.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <memory>
#include <thread>
#include <vector>

namespace rlvr {
namespace {

struct Counts {
  std::vector<std::atomic<int>> hits;
  explicit Counts(int n) : hits(n) {}
};

void CountTask(void* ctx, int task) {
  static_cast<Counts*>(ctx)->hits[task].fetch_add(1, std::memory_order_relaxed);
}

TEST(ThreadPool, ThreadsCountsTheCaller) {
  EXPECT_EQ(ThreadPool(1).threads(), 1);
  EXPECT_EQ(ThreadPool(3).threads(), 3);
  EXPECT_EQ(ThreadPool(0).threads(), 1);
  EXPECT_EQ(ThreadPool(-5).threads(), 1);
  EXPECT_GE(DefaultPool().threads(), 1);
}

TEST(ThreadPool, EveryTaskRunsExactlyOnceOverManyRuns) {
  for (int threads : {1, 2, 4}) {
    ThreadPool pool(threads);
    for (int tasks : {1, 2, 3, 7, 64, 1000}) {
      for (int repetition = 0; repetition < 200; ++repetition) {
        Counts counts(tasks);
        pool.Run(tasks, CountTask, &counts);
        for (int t = 0; t < tasks; ++t) {
          ASSERT_EQ(counts.hits[t].load(), 1)
              << "threads=" << threads << " tasks=" << tasks << " task=" << t;
        }
      }
    }
  }
}

TEST(ThreadPool, ZeroOrNegativeTasksCallNothing) {
  ThreadPool pool(2);
  Counts counts(1);
  pool.Run(0, CountTask, &counts);
  pool.Run(-3, CountTask, &counts);
  EXPECT_EQ(counts.hits[0].load(), 0);
}

TEST(ThreadPool, SingleThreadRunsInlineInOrder) {
  ThreadPool pool(1);
  std::vector<int> order;
  order.reserve(10);
  std::thread::id caller = std::this_thread::get_id();
  bool all_on_caller = true;
  auto body = [&](int task) {
    order.push_back(task);
    all_on_caller = all_on_caller && std::this_thread::get_id() == caller;
  };
  pool.ParallelFor(10, body);
  EXPECT_TRUE(all_on_caller);
  ASSERT_EQ(order.size(), 10u);
  for (int i = 0; i < 10; ++i) EXPECT_EQ(order[i], i);
}

TEST(ThreadPool, RunReturnsOnlyAfterAllTasksFinish) {
  ThreadPool pool(2);
  for (int repetition = 0; repetition < 100; ++repetition) {
    std::atomic<int> finished{0};
    auto body = [&](int) {
      volatile double x = 0;
      for (int i = 0; i < 20000; ++i) x = x + 1.0;  // long enough for the worker to take some
      finished.fetch_add(1);
    };
    pool.ParallelFor(8, body);
    ASSERT_EQ(finished.load(), 8);
  }
}

TEST(ThreadPool, UsesWorkerThreads) {
  ThreadPool pool(2);
  std::thread::id caller = std::this_thread::get_id();
  std::atomic<bool> saw_worker{false};
  // Tasks that wait a little give the woken worker time to claim one.
  for (int attempt = 0; attempt < 100 && !saw_worker.load(); ++attempt) {
    auto body = [&](int) {
      if (std::this_thread::get_id() != caller) saw_worker = true;
      std::this_thread::sleep_for(std::chrono::microseconds(200));
    };
    pool.ParallelFor(4, body);
  }
  EXPECT_TRUE(saw_worker.load());
}

TEST(ThreadPool, ConcurrentCallersAreSerialised) {
  ThreadPool pool(2);
  constexpr int kTasks = 50;
  Counts a(kTasks), b(kTasks);
  std::thread other([&] {
    for (int i = 0; i < 200; ++i) pool.Run(kTasks, CountTask, &a);
  });
  for (int i = 0; i < 200; ++i) pool.Run(kTasks, CountTask, &b);
  other.join();
  for (int t = 0; t < kTasks; ++t) {
    EXPECT_EQ(a.hits[t].load(), 200);
    EXPECT_EQ(b.hits[t].load(), 200);
  }
}

TEST(ThreadPool, NestedRunExecutesInlineWithoutDeadlock) {
  ThreadPool pool(2);
  constexpr int kOuter = 6, kInner = 5;
  std::atomic<int> inner_calls{0};
  std::atomic<int> mismatches{0};
  auto outer = [&](int) {
    std::thread::id me = std::this_thread::get_id();
    auto inner = [&](int) {
      inner_calls.fetch_add(1);
      if (std::this_thread::get_id() != me) mismatches.fetch_add(1);
    };
    pool.ParallelFor(kInner, inner);
  };
  pool.ParallelFor(kOuter, outer);
  EXPECT_EQ(inner_calls.load(), kOuter * kInner);
  EXPECT_EQ(mismatches.load(), 0);
}

// A worker that holds its task far longer than the caller works (as when another process holds
// its core) sends the following runs inline: all their tasks run on the caller, each once, nested
// runs included; after kInlineRunsAfterLag of them the pool uses its workers again.
TEST(ThreadPool, LaggingWorkersSendRunsInline) {
  ThreadPool pool(2);
  const std::thread::id caller = std::this_thread::get_id();
  std::atomic<int> on_worker{0};
  auto lagging = [&](int) {
    if (std::this_thread::get_id() == caller) {
      std::this_thread::sleep_for(std::chrono::microseconds(200));  // the worker claims a task
    } else {
      on_worker.fetch_add(1);
      std::this_thread::sleep_for(std::chrono::milliseconds(4));
    }
  };
  int runs = 0;
  while (pool.inline_runs_after_lag() == 0 && runs < 20 * ThreadPool::kLagWindowRuns) {
    pool.ParallelFor(2, lagging);
    ++runs;
  }
  std::printf("lag detected after %d runs (%d tasks ran on the worker)\n", runs, on_worker.load());
  ASSERT_GT(pool.inline_runs_after_lag(), 0) << "workers lagged 20x the caller, never noticed";
  ASSERT_GT(on_worker.load(), 0);
  // Inline runs: every task on the caller, exactly once, nested runs too.
  on_worker = 0;
  Counts counts(6);
  std::atomic<int> nested{0};
  auto body = [&](int t) {
    CountTask(&counts, t);
    auto inner = [&](int) { nested.fetch_add(1); };
    pool.ParallelFor(3, inner);
    if (std::this_thread::get_id() != caller) on_worker.fetch_add(1);
  };
  pool.ParallelFor(6, body);
  for (int t = 0; t < 6; ++t) EXPECT_EQ(counts.hits[t].load(), 1);
  EXPECT_EQ(nested.load(), 18);
  EXPECT_EQ(on_worker.load(), 0);
  // After the inline stretch the workers are used again.
  for (int i = 0; i < ThreadPool::kInlineRunsAfterLag; ++i) pool.Run(2, CountTask, &counts);
  bool saw_worker = false;
  for (int attempt = 0; attempt < 50 && !saw_worker; ++attempt) {
    auto probe = [&](int) {
      if (std::this_thread::get_id() != caller) saw_worker = true;
      std::this_thread::sleep_for(std::chrono::microseconds(300));
    };
    pool.ParallelFor(4, probe);
  }
  EXPECT_TRUE(saw_worker) << "the pool never tried its workers again";
}

// Balanced tasks on a pool whose worker keeps up never trigger the inline stretch.
TEST(ThreadPool, WorkersThatKeepUpStayInUse) {
  ThreadPool pool(2);
  // 10 ms each: a worker started a few ms late under a loaded machine still keeps up.
  auto balanced = [](int) { std::this_thread::sleep_for(std::chrono::milliseconds(10)); };
  for (int i = 0; i < 2 * ThreadPool::kLagWindowRuns; ++i) pool.ParallelFor(2, balanced);
  EXPECT_EQ(pool.inline_runs_after_lag(), 0);
}

TEST(ThreadPool, DestroysCleanlyWhileIdle) {
  for (int i = 0; i < 20; ++i) {
    auto pool = std::make_unique<ThreadPool>(3);
    Counts counts(5);
    pool->Run(5, CountTask, &counts);
    pool.reset();
    for (int t = 0; t < 5; ++t) ASSERT_EQ(counts.hits[t].load(), 1);
  }
}

}  // namespace
}  // namespace rlvr
