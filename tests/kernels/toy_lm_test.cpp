// The toy language model (embedding + linear head): logits against plain dot products, loading
// through safetensors, and errors for bad tokens and mismatched files.
#include "kernels/toy_lm.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <string>
#include <vector>

#include "kernels/safetensors.h"
#include "tests/common/test_seed.h"

namespace rlvr {
namespace {

namespace fs = std::filesystem;

std::string TempPath(const std::string& name) {
  return (fs::temp_directory_path() / ("rlvr_toy_lm_" + std::to_string(getpid()) + "_" + name))
      .string();
}

TEST(ToyLm, LogitsAreDotProductsOfEmbeddingAndHeadRows) {
  const ToyLmWeights w = RandomToyLmWeights(1000, 96, TestSeedFor(301), 0.5f);
  ToyLm lm(w);
  for (int token : {0, 1, 517, 999}) {
    const float* logits = lm.Forward(token);
    double worst = 0.0, largest = 0.0;
    for (int v = 0; v < w.vocab; ++v) {
      double want = 0.0;
      for (int k = 0; k < w.dim; ++k) {
        want += static_cast<double>(w.embed[static_cast<size_t>(token) * w.dim + k]) *
                w.head[static_cast<size_t>(v) * w.dim + k];
      }
      worst = std::max(worst, std::fabs(logits[v] - want));
      largest = std::max(largest, std::fabs(want));
    }
    EXPECT_GT(largest, 0.1);
    EXPECT_LT(worst / largest, 1e-5) << "token " << token;
  }
}

TEST(ToyLm, SeedNamesTheWeights) {
  const ToyLmWeights a = RandomToyLmWeights(50, 8, 7), b = RandomToyLmWeights(50, 8, 7);
  const ToyLmWeights c = RandomToyLmWeights(50, 8, 8);
  EXPECT_EQ(a.embed, b.embed);
  EXPECT_EQ(a.head, b.head);
  EXPECT_NE(a.embed, c.embed);
  EXPECT_NE(a.embed, a.head);
}

TEST(ToyLm, RoundTripsThroughSafeTensors) {
  const ToyLmWeights w = RandomToyLmWeights(64, 16, TestSeedFor(302));
  const std::string path = TempPath("toy.safetensors");
  SaveToyLmWeights(path, w);
  const ToyLmWeights loaded = LoadToyLmWeights(path);
  fs::remove(path);
  EXPECT_EQ(loaded.vocab, 64);
  EXPECT_EQ(loaded.dim, 16);
  EXPECT_EQ(loaded.embed, w.embed);
  EXPECT_EQ(loaded.head, w.head);
}

TEST(ToyLm, LoadNamesMismatchedHead) {
  const std::vector<float> embed(64 * 16, 0.1f), head(63 * 16, 0.2f);
  const std::string path = TempPath("bad_head.safetensors");
  WriteSafeTensors(path, {{"model.embed_tokens.weight", {64, 16}, embed.data()},
                          {"lm_head.weight", {63, 16}, head.data()}});
  try {
    LoadToyLmWeights(path);
    FAIL() << "head of 63 rows accepted for a vocabulary of 64";
  } catch (const SafeTensorsError& e) {
    EXPECT_NE(
        std::string(e.what()).find("'lm_head.weight': expected shape [64, 16], found [63, 16]"),
        std::string::npos)
        << e.what();
  }
  WriteSafeTensors(path, {{"model.embed_tokens.weight", {64, 16}, embed.data()}});
  EXPECT_THROW(LoadToyLmWeights(path), SafeTensorsError);
  fs::remove(path);
}

TEST(ToyLm, RejectsTokensOutsideTheVocabulary) {
  const ToyLmWeights w = RandomToyLmWeights(10, 4, 1);
  ToyLm lm(w);
  EXPECT_THROW(lm.Forward(-1), std::out_of_range);
  EXPECT_THROW(lm.Forward(10), std::out_of_range);
  EXPECT_NO_THROW(lm.Forward(9));
}

}  // namespace
}  // namespace rlvr
