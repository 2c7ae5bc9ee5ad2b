// The model bandit (loop/model_bandit.h) on simulated models: the better one, or the cheaper one
// at equal quality, gets most calls within 50; one model is always chosen.
#include "harness/loop/model_bandit.h"

#include <random>

#include <gtest/gtest.h>

namespace rlvr {
namespace {

struct SimulatedModel {
  double success = 0;  // chance a candidate is a real speed-up (promoted or passed)
  ModelPrice price;
};

// Share of the first `calls` requests that went to model 0, averaged over `seeds` runs; each
// request yields two candidates, each a success (speed-up 10%) with the model's chance, else a
// near miss one time in four.
double ShareOfFirst(const std::vector<SimulatedModel>& models, int calls, int seeds) {
  double share = 0;
  for (int seed = 1; seed <= seeds; ++seed) {
    std::vector<std::optional<ModelPrice>> prices;
    for (const SimulatedModel& m : models) prices.push_back(m.price);
    ModelBandit bandit(prices, seed);
    std::mt19937_64 world(seed * 7919);
    std::uniform_real_distribution<double> u(0, 1);
    int first = 0;
    for (int call = 0; call < calls; ++call) {
      size_t m = bandit.Choose();
      if (m == 0) ++first;
      bandit.RecordRequest(
          m, 3000, 1000,
          (3000 * models[m].price.input_per_million + 1000 * models[m].price.output_per_million) /
              1e6);
      for (int c = 0; c < 2; ++c) {
        if (u(world) < models[m].success) {
          bandit.RecordCandidate(m, CandidateOutcome::kPassed, 0.1);
        } else if (u(world) < 0.25) {
          bandit.RecordCandidate(m, CandidateOutcome::kNearMiss, 0);
        } else {
          bandit.RecordCandidate(m, CandidateOutcome::kFailed, 0);
        }
      }
    }
    share += static_cast<double>(first) / calls;
  }
  return share / seeds;
}

ModelPrice Price(double in, double out) {
  ModelPrice p;
  p.input_per_million = in;
  p.output_per_million = out;
  return p;
}

TEST(ModelBandit, TwiceAsLikelyToSucceedGetsMostCalls) {
  for (double success : {0.2, 0.3, 0.4}) {
    double share = ShareOfFirst({{success, Price(2, 8)}, {success / 2, Price(2, 8)}}, 50, 200);
    EXPECT_GE(share, 0.7) << "success " << success;
  }
}

TEST(ModelBandit, EqualQualityTheCheaperGetsMostCalls) {
  EXPECT_GE(ShareOfFirst({{0.3, Price(1, 4)}, {0.3, Price(2, 8)}}, 50, 200), 0.7);
  // And not by its position: the cheaper second.
  EXPECT_LE(ShareOfFirst({{0.3, Price(2, 8)}, {0.3, Price(1, 4)}}, 50, 200), 0.3);
}

TEST(ModelBandit, EqualModelsShareTheCalls) {
  double share = ShareOfFirst({{0.3, Price(2, 8)}, {0.3, Price(2, 8)}}, 50, 200);
  EXPECT_GT(share, 0.35);
  EXPECT_LT(share, 0.65);
}

TEST(ModelBandit, UnpricedModelsAreJudgedPerRequest) {
  std::vector<std::optional<ModelPrice>> prices = {std::nullopt, Price(100, 100)};
  ModelBandit bandit(prices, 3);
  // With a model unpriced, dollars do not count: value per request decides.
  for (int i = 0; i < 40; ++i) {
    size_t m = bandit.Choose();
    bandit.RecordRequest(m, 1000, 1000, 0);
    bandit.RecordCandidate(m, m == 1 ? CandidateOutcome::kPassed : CandidateOutcome::kFailed, 0.1);
  }
  EXPECT_GT(bandit.Requests(1), bandit.Requests(0));
}

TEST(ModelBandit, OneModelIsAlwaysChosen) {
  ModelBandit bandit({std::nullopt}, 1);
  for (int i = 0; i < 10; ++i) {
    EXPECT_EQ(bandit.Choose(), 0u);
    bandit.RecordRequest(0, 10, 10, 0);
    bandit.RecordCandidate(0, CandidateOutcome::kFailed, 0);
  }
  EXPECT_EQ(bandit.Requests(0), 10);
}

}  // namespace
}  // namespace rlvr
