// ThreadPool: every task runs exactly once, Run returns only when all are done, one thread means
// inline execution, and concurrent callers are serialised.
#include "kernels/thread_pool.h"

#include <gtest/gtest.h>

#include <atomic>
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
