// The LLaMA-style decoder: KV cache bookkeeping, decode-vs-prefill agreement, generation, weight
// loading through safetensors, config presets and the errors for bad input. (Agreement with an
// independent implementation is golden_test.cpp.)
#include "kernels/decoder.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "kernels/safetensors.h"
#include "tests/common/test_seed.h"

namespace rlvr {
namespace {

namespace fs = std::filesystem;

// Small enough to run in milliseconds; GQA with two query heads per kv head.
ModelConfig SmallConfig() {
  ModelConfig c;
  c.vocab = 300;
  c.dim = 48;
  c.n_layers = 2;
  c.n_heads = 4;
  c.n_kv_heads = 2;
  c.head_dim = 12;
  c.ffn_dim = 96;
  c.max_positions = 40;
  return c;
}

// Weight scale large enough that logits vary by O(1) and mistakes show.
ModelWeights SmallWeights(uint64_t salt, bool tied = false) {
  ModelConfig c = SmallConfig();
  c.tie_embeddings = tied;
  return RandomWeights(c, TestSeedFor(salt), /*scale=*/0.2f);
}

std::vector<int> Tokens(int n, int vocab, uint64_t seed) {
  std::vector<int> t(n);
  for (int i = 0; i < n; ++i) t[i] = static_cast<int>((seed + 7919ULL * i * i + 31ULL * i) % vocab);
  return t;
}

// Largest |a - b| relative to the largest |b| (normwise): different summation orders in
// MatVec and Linear give float rounding differences well below kTolerance.
constexpr double kTolerance = 1e-5;
double RelativeError(const float* a, const float* b, int n) {
  double err = 0.0, scale = 0.0;
  for (int i = 0; i < n; ++i) {
    err = std::max(err, std::fabs(static_cast<double>(a[i]) - b[i]));
    scale = std::max(scale, std::fabs(static_cast<double>(b[i])));
  }
  return scale > 0 ? err / scale : err;
}

std::string TempPath(const std::string& name) {
  return (fs::temp_directory_path() / ("rlvr_decoder_" + std::to_string(getpid()) + "_" + name))
      .string();
}

TEST(DecoderConfig, PresetsHaveTheDocumentedShapes) {
  const ModelConfig mvp = MvpConfig();
  EXPECT_NO_THROW(mvp.Validate());
  EXPECT_EQ(mvp.n_layers, 2);
  EXPECT_EQ(mvp.dim, 256);
  EXPECT_EQ(mvp.n_heads, 4);
  EXPECT_EQ(mvp.n_kv_heads, 2);
  EXPECT_EQ(mvp.head_dim, 64);
  EXPECT_EQ(mvp.ffn_dim, 1024);
  EXPECT_EQ(mvp.vocab, 32000);
  const ModelConfig big = Config85M();
  EXPECT_NO_THROW(big.Validate());
  EXPECT_EQ(big.n_layers, 12);
  EXPECT_EQ(big.dim, 768);
  EXPECT_EQ(big.n_heads, 12);
  EXPECT_EQ(big.n_kv_heads, 4);
  EXPECT_EQ(big.ffn_dim, 2048);
  EXPECT_EQ(big.vocab, 32768);
  // 12 * (2*768 + 768*768 + 2*256*768 + 768*768 + 3*2048*768) + 32768*768 (tied head).
  EXPECT_EQ(big.LayerParameters() * big.n_layers + big.HeadParameters(), 100'681'728u);
}

TEST(DecoderConfig, ValidateNamesTheBadField) {
  ModelConfig c = SmallConfig();
  c.n_kv_heads = 3;
  try {
    c.Validate();
    FAIL() << "n_heads 4 with n_kv_heads 3 accepted";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("n_kv_heads"), std::string::npos) << e.what();
  }
  c = SmallConfig();
  c.head_dim = 7;
  EXPECT_THROW(c.Validate(), std::invalid_argument);
  c = SmallConfig();
  c.vocab = 0;
  EXPECT_THROW(c.Validate(), std::invalid_argument);
}

TEST(Decoder, CacheLengthGrowsByOnePerDecodedToken) {
  const ModelWeights w = SmallWeights(1);
  Decoder decoder(w);
  EXPECT_EQ(decoder.position(), 0);
  const std::vector<int> tokens = Tokens(10, w.config.vocab, 5);
  for (int i = 0; i < 10; ++i) {
    decoder.Step(tokens[i]);
    EXPECT_EQ(decoder.position(), i + 1);
    EXPECT_EQ(decoder.cache().length, i + 1);
  }
  decoder.Prefill(std::span<const int>(tokens.data(), 4));
  EXPECT_EQ(decoder.position(), 14);
  decoder.Reset();
  EXPECT_EQ(decoder.position(), 0);
}

TEST(Decoder, StepByStepMatchesPrefillOfEachPrefix) {
  const ModelWeights w = SmallWeights(2);
  const int vocab = w.config.vocab;
  const std::vector<int> tokens = Tokens(20, vocab, 11);
  // Logits after every position, decoding one token at a time.
  Decoder stepper(w);
  std::vector<float> stepped;
  for (int t : tokens) {
    const float* logits = stepper.Step(t);
    stepped.insert(stepped.end(), logits, logits + vocab);
  }
  for (int length : {1, 2, 5, 13, 20}) {
    for (int max_batch : {64, 4}) {
      Decoder prefiller(w, max_batch);
      const float* logits = prefiller.Prefill(std::span<const int>(tokens.data(), length));
      EXPECT_LT(RelativeError(logits, &stepped[static_cast<size_t>(length - 1) * vocab], vocab),
                kTolerance)
          << "prefix " << length << " max_batch " << max_batch;
      // The cache holds the same keys: continuing by steps matches too.
      if (length < 20) {
        logits = prefiller.Step(tokens[length]);
        EXPECT_LT(RelativeError(logits, &stepped[static_cast<size_t>(length) * vocab], vocab),
                  kTolerance)
            << "step after prefix " << length;
      }
    }
  }
}

TEST(Decoder, TruncateRewindsToAnEarlierPosition) {
  const ModelWeights w = SmallWeights(12);
  const std::vector<int> tokens = Tokens(9, w.config.vocab, 23);
  Decoder decoder(w), fresh(w);
  decoder.Prefill(tokens);
  decoder.Truncate(4);
  EXPECT_EQ(decoder.position(), 4);
  const std::vector<int> other = {tokens[0], tokens[1], tokens[2], tokens[3], 42};
  const float* rewound = decoder.Step(42);
  const float* want = fresh.Prefill(other);
  EXPECT_LT(RelativeError(rewound, want, w.config.vocab), kTolerance);
  EXPECT_THROW(decoder.Truncate(6), std::out_of_range);
  EXPECT_THROW(decoder.Truncate(-1), std::out_of_range);
}

TEST(Decoder, EarlierTokensChangeLaterLogits) {
  // Attention must actually read the cache: changing token 0 changes the logits at position 5.
  const ModelWeights w = SmallWeights(3);
  std::vector<int> a = Tokens(6, w.config.vocab, 3), b = a;
  b[0] = (a[0] + 1) % w.config.vocab;
  Decoder da(w), db(w);
  const float* la = da.Prefill(a);
  const float* lb = db.Prefill(b);
  EXPECT_GT(RelativeError(la, lb, w.config.vocab), 1e-3);
}

TEST(Decoder, GenerateGreedyFollowsArgmaxOfSteps) {
  const ModelWeights w = SmallWeights(4);
  Decoder decoder(w);
  Sampler greedy(w.config.vocab, {.temperature = 0.0f});
  const std::vector<int> prompt = Tokens(5, w.config.vocab, 17);
  const std::vector<int> generated = decoder.Generate(prompt, 8, greedy);
  ASSERT_EQ(generated.size(), 8u);
  EXPECT_EQ(decoder.position(), 5 + 7);  // the last sampled token is not run

  Decoder check(w);
  const float* logits = check.Prefill(prompt);
  for (int token : generated) {
    const int argmax = static_cast<int>(std::max_element(logits, logits + w.config.vocab) - logits);
    EXPECT_EQ(token, argmax);
    logits = check.Step(token);
  }
  // Generate restarts from an empty cache, so a second call repeats the first.
  EXPECT_EQ(decoder.Generate(prompt, 8, greedy), generated);
}

TEST(Decoder, GenerateRejectsEmptyPromptAndOverlongRequests) {
  const ModelWeights w = SmallWeights(5);
  Decoder decoder(w);
  Sampler sampler(w.config.vocab, {.temperature = 0.0f});
  EXPECT_THROW(decoder.Generate({}, 3, sampler), std::invalid_argument);
  const std::vector<int> prompt = Tokens(30, w.config.vocab, 1);
  EXPECT_THROW(decoder.Generate(prompt, 12, sampler), std::length_error);  // 30 + 11 > 40
  EXPECT_EQ(decoder.Generate(prompt, 11, sampler).size(), 11u);            // 30 + 10 fits
}

TEST(Decoder, BadTokenOrFullContextIsAnErrorAndChangesNothing) {
  const ModelWeights w = SmallWeights(6);
  Decoder decoder(w);
  decoder.Step(1);
  EXPECT_THROW(decoder.Step(-1), std::out_of_range);
  EXPECT_THROW(decoder.Step(w.config.vocab), std::out_of_range);
  const std::vector<int> mixed = {1, 2, w.config.vocab + 5};
  try {
    decoder.Prefill(mixed);
    FAIL() << "out-of-vocabulary token accepted";
  } catch (const std::out_of_range& e) {
    EXPECT_NE(std::string(e.what()).find("index 2"), std::string::npos) << e.what();
  }
  EXPECT_EQ(decoder.position(), 1);
  const std::vector<int> too_long(w.config.max_positions, 3);
  EXPECT_THROW(decoder.Prefill(too_long), std::length_error);
  EXPECT_EQ(decoder.position(), 1);
  const std::vector<int> fill(w.config.max_positions - 1, 3);
  decoder.Prefill(fill);
  EXPECT_EQ(decoder.position(), w.config.max_positions);
  EXPECT_THROW(decoder.Step(3), std::length_error);
}

TEST(Decoder, RejectsWeightsThatDoNotMatchTheirConfig) {
  ModelWeights w = SmallWeights(7);
  w.layers[1].up_proj.pop_back();
  try {
    Decoder decoder(w);
    FAIL() << "short up_proj accepted";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("model.layers.1.mlp.up_proj.weight"), std::string::npos)
        << e.what();
  }
  ModelWeights untied = SmallWeights(8);
  untied.lm_head.clear();
  EXPECT_THROW(Decoder{untied}, std::invalid_argument);
}

TEST(Decoder, WeightsRoundTripThroughSafeTensors) {
  for (bool tied : {false, true}) {
    const ModelWeights w = SmallWeights(9, tied);
    const std::string path = TempPath(tied ? "tied.safetensors" : "untied.safetensors");
    SaveWeights(path, w);
    EXPECT_EQ(SafeTensorsFile::Open(path).Has("lm_head.weight"), !tied);
    const ModelConfig config = LoadConfig(path);
    EXPECT_EQ(config, w.config);
    const ModelWeights loaded = LoadWeights(path, config);
    fs::remove(path);
    EXPECT_EQ(loaded.config.tie_embeddings, tied);
    EXPECT_EQ(loaded.embed_tokens, w.embed_tokens);
    EXPECT_EQ(loaded.lm_head, w.lm_head);
    EXPECT_EQ(loaded.final_norm, w.final_norm);
    for (int l = 0; l < config.n_layers; ++l) {
      EXPECT_EQ(loaded.layers[l].q_proj, w.layers[l].q_proj);
      EXPECT_EQ(loaded.layers[l].down_proj, w.layers[l].down_proj);
      EXPECT_EQ(loaded.layers[l].post_norm, w.layers[l].post_norm);
    }
    const std::vector<int> tokens = Tokens(6, config.vocab, 2);
    Decoder a(w), b(loaded);
    const float* la = a.Prefill(tokens);
    const float* lb = b.Prefill(tokens);
    EXPECT_TRUE(std::equal(la, la + config.vocab, lb)) << "tied=" << tied;
  }
}

TEST(Decoder, LoadWeightsNamesMissingTensorsAndWrongShapes) {
  const ModelWeights w = SmallWeights(10);
  const std::string path = TempPath("shapes.safetensors");
  SaveWeights(path, w);
  ModelConfig wider = w.config;
  wider.ffn_dim = 128;
  try {
    LoadWeights(path, wider);
    FAIL() << "ffn_dim mismatch accepted";
  } catch (const SafeTensorsError& e) {
    EXPECT_NE(std::string(e.what()).find("'model.layers.0.mlp.gate_proj.weight': expected shape "
                                         "[128, 48], found [96, 48]"),
              std::string::npos)
        << e.what();
  }
  ModelConfig deeper = w.config;
  deeper.n_layers = 3;
  try {
    LoadWeights(path, deeper);
    FAIL() << "missing layer accepted";
  } catch (const SafeTensorsError& e) {
    EXPECT_NE(std::string(e.what()).find("'model.layers.2.input_layernorm.weight': missing"),
              std::string::npos)
        << e.what();
  }
  fs::remove(path);
}

TEST(Decoder, LoadConfigNamesMissingOrInvalidMetadata) {
  const float x[1] = {1};
  const std::string path = TempPath("meta.safetensors");
  std::map<std::string, std::string> meta = ConfigToMetadata(SmallConfig());
  meta.erase("ffn_dim");
  WriteSafeTensors(path, {{"x", {1}, x}}, meta);
  try {
    LoadConfig(path);
    FAIL() << "missing ffn_dim accepted";
  } catch (const SafeTensorsError& e) {
    EXPECT_NE(std::string(e.what()).find("'ffn_dim'"), std::string::npos) << e.what();
  }
  meta = ConfigToMetadata(SmallConfig());
  meta["dim"] = "48x";
  WriteSafeTensors(path, {{"x", {1}, x}}, meta);
  EXPECT_THROW(LoadConfig(path), SafeTensorsError);
  fs::remove(path);
}

}  // namespace
}  // namespace rlvr
