// Tests for harness/lm/generate.h and the rlvr-lm program, on the tiny LLaMA-style model of the
// golden tests (vocab 512) with a tokenizer made to fit it: the 256 single bytes plus the 256
// pairs of " etaoinshrdlucmf", 512 ranks in all.
#include "harness/lm/generate.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "harness/base/process.h"
#include "kernels/gguf.h"
#include "kernels/quant.h"
#include "kernels/stored_weights.h"

namespace rlvr {
namespace {

namespace fs = std::filesystem;
using testing::HasSubstr;

const std::string kModelPath = std::string(RLVR_FIXTURES_DIR) + "/golden/tiny_llama.safetensors";
constexpr char kPrompt[] = "the cat sat on the mat";

std::vector<TokenEntry> TinyRanks() {
  std::vector<TokenEntry> ranks;
  for (int b = 0; b < 256; ++b) ranks.push_back({std::string(1, static_cast<char>(b)), TokenId(b)});
  const std::string letters = " etaoinshrdlucmf";
  for (char x : letters) {
    for (char y : letters) {
      ranks.push_back({std::string{x, y}, static_cast<TokenId>(ranks.size())});
    }
  }
  return ranks;
}

Tokenizer TinyTokenizer() {
  return Tokenizer(TinyRanks(), {});
}

std::string Base64(const std::string& bytes) {
  static const char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  size_t i = 0;
  for (; i + 3 <= bytes.size(); i += 3) {
    const uint32_t v =
        (uint8_t(bytes[i]) << 16) | (uint8_t(bytes[i + 1]) << 8) | uint8_t(bytes[i + 2]);
    for (int s = 18; s >= 0; s -= 6) out += kAlphabet[(v >> s) & 63];
  }
  if (bytes.size() - i == 1) {
    const uint32_t v = uint8_t(bytes[i]) << 16;
    out += {kAlphabet[v >> 18], kAlphabet[(v >> 12) & 63], '=', '='};
  } else if (bytes.size() - i == 2) {
    const uint32_t v = (uint8_t(bytes[i]) << 16) | (uint8_t(bytes[i + 1]) << 8);
    out += {kAlphabet[v >> 18], kAlphabet[(v >> 12) & 63], kAlphabet[(v >> 6) & 63], '='};
  }
  return out;
}

std::string TempPath(const std::string& name) {
  return (fs::temp_directory_path() / ("rlvr_generate_" + std::to_string(getpid()) + "_" + name))
      .string();
}

// The tiny rank file on disk, for the program.
std::string WriteTinyRankFile() {
  const std::string path = TempPath("tiny.tiktoken");
  std::ofstream out(path, std::ios::binary);
  for (const TokenEntry& e : TinyRanks()) out << Base64(e.bytes) << ' ' << e.rank << '\n';
  return path;
}

class GenerateTest : public testing::Test {
 protected:
  static void SetUpTestSuite() { weights_ = new ModelWeights(LoadModel(kModelPath)); }
  static void TearDownTestSuite() {
    delete weights_;
    weights_ = nullptr;
  }

  GenerateResult Run(const GenerateOptions& options, std::string_view prompt = kPrompt,
                     const std::function<void(std::string_view)>& on_text = {}) {
    Decoder decoder(*weights_);
    return GenerateText(decoder, tokenizer_, prompt, options, on_text);
  }

  static ModelWeights* weights_;
  Tokenizer tokenizer_ = TinyTokenizer();
};
ModelWeights* GenerateTest::weights_ = nullptr;

GenerateOptions Sampled(uint64_t seed, int max_tokens = 24) {
  GenerateOptions o;
  o.max_tokens = max_tokens;
  o.sampler.temperature = 1.0f;
  o.sampler.top_k = 100;
  o.sampler.top_p = 0.95f;
  o.sampler.seed = seed;
  return o;
}

TEST_F(GenerateTest, TheTinyTokenizerFitsTheTinyModel) {
  EXPECT_EQ(weights_->config.vocab, 512);
  EXPECT_EQ(tokenizer_.vocab_size(), 512u);
  const GenerateResult r = Run(Sampled(1, 1));
  EXPECT_EQ(r.prompt_tokens.size(), tokenizer_.EncodeOrdinary(kPrompt).size());
  EXPECT_LT(r.prompt_tokens.size(), std::string(kPrompt).size());  // merges were used
}

TEST_F(GenerateTest, SameSeedSameTokensOtherSeedOtherTokens) {
  const GenerateResult a = Run(Sampled(42));
  const GenerateResult b = Run(Sampled(42));
  const GenerateResult c = Run(Sampled(43));
  ASSERT_EQ(a.tokens.size(), 24u);
  EXPECT_EQ(a.tokens, b.tokens);
  EXPECT_EQ(a.text, b.text);
  EXPECT_NE(a.tokens, c.tokens);
}

TEST_F(GenerateTest, GreedyIsTheArgmaxOfTheDecodersLogitsStepByStep) {
  GenerateOptions greedy;
  greedy.max_tokens = 20;
  greedy.sampler.temperature = 0.0f;
  const GenerateResult r = Run(greedy);
  ASSERT_EQ(r.tokens.size(), 20u);

  Decoder decoder(*weights_);
  std::vector<int> prompt;
  for (TokenId id : tokenizer_.EncodeOrdinary(kPrompt)) prompt.push_back(static_cast<int>(id));
  EXPECT_EQ(r.prompt_tokens, prompt);
  const float* logits = decoder.Prefill(prompt);
  std::vector<int> expected;
  for (int n = 0; n < 20; ++n) {
    int best = 0;
    for (int i = 1; i < 512; ++i) {
      if (logits[i] > logits[best]) best = i;
    }
    expected.push_back(best);
    logits = decoder.Step(best);
  }
  EXPECT_EQ(r.tokens, expected);
  std::vector<TokenId> ids(expected.begin(), expected.end());
  EXPECT_EQ(r.text, tokenizer_.Decode(ids));
}

TEST_F(GenerateTest, MaxTokensIsRespected) {
  for (int max_tokens : {0, 1, 5, 17}) {
    const GenerateResult r = Run(Sampled(7, max_tokens));
    EXPECT_EQ(r.tokens.size(), static_cast<size_t>(max_tokens));
    EXPECT_EQ(r.stop, StopReason::kMaxTokens);
  }
}

TEST_F(GenerateTest, StopsWhenTheContextIsFull) {
  const GenerateResult r = Run(Sampled(7, 1000));
  EXPECT_EQ(r.stop, StopReason::kContextFull);
  // Every position holds a token, and the logits after the last one give one more.
  EXPECT_EQ(r.prompt_tokens.size() + r.tokens.size(), 64u + 1u);
}

TEST_F(GenerateTest, AnEndTokenStopsAndIsNotPrinted) {
  GenerateOptions greedy;
  greedy.max_tokens = 20;
  greedy.sampler.temperature = 0.0f;
  const GenerateResult full = Run(greedy);
  ASSERT_GE(full.tokens.size(), 4u);
  // The first token that is not among the first two (so the stop lands after them).
  size_t stop_at = 2;
  while (stop_at < full.tokens.size() &&
         (full.tokens[stop_at] == full.tokens[0] || full.tokens[stop_at] == full.tokens[1])) {
    ++stop_at;
  }
  ASSERT_LT(stop_at, full.tokens.size());
  greedy.end_tokens = {full.tokens[stop_at]};
  const GenerateResult r = Run(greedy);
  EXPECT_EQ(r.stop, StopReason::kEndToken);
  ASSERT_EQ(r.tokens.size(), stop_at + 1);
  EXPECT_EQ(r.tokens.back(), full.tokens[stop_at]);
  std::vector<TokenId> printed(full.tokens.begin(), full.tokens.begin() + stop_at);
  EXPECT_EQ(r.text, tokenizer_.Decode(printed));
}

TEST_F(GenerateTest, StreamsTheTextOnCharacterBoundariesAndReportsSpeed) {
  std::vector<std::string> pieces;
  const GenerateResult r =
      Run(Sampled(5, 40), kPrompt, [&](std::string_view piece) { pieces.emplace_back(piece); });
  std::string streamed;
  for (const std::string& p : pieces) {
    EXPECT_FALSE(p.empty());
    streamed += p;
  }
  EXPECT_EQ(streamed, r.text);
  EXPECT_GT(r.prefill_seconds, 0.0);
  EXPECT_GT(r.decode_seconds, 0.0);
  EXPECT_GT(r.TokensPerSecond(), 0.0);
  EXPECT_TRUE(std::isfinite(r.TokensPerSecond()));
  EXPECT_NEAR(r.TokensPerSecond(), 40.0 / (r.prefill_seconds + r.decode_seconds), 1e-6);
}

TEST_F(GenerateTest, AMultiByteCharacterIsNeverSplitAcrossPieces) {
  // Find a seed whose continuation holds a two-byte character made of two byte tokens (a lead
  // byte 0xC2..0xDF, then a continuation byte); the piece holding its lead must hold both bytes.
  bool found = false;
  for (uint64_t seed = 0; seed < 400 && !found; ++seed) {
    GenerateOptions o = Sampled(seed, 60);
    o.sampler.temperature = 3.0f;  // flatter, so byte tokens come up often
    o.sampler.top_k = 0;
    o.sampler.top_p = 1.0f;
    std::vector<std::string> pieces;
    const GenerateResult r =
        Run(o, kPrompt, [&](std::string_view piece) { pieces.emplace_back(piece); });
    for (size_t i = 0; i + 1 < r.tokens.size(); ++i) {
      const int lead = r.tokens[i], next = r.tokens[i + 1];
      if (lead < 0xC2 || lead > 0xDF || next < 0x80 || next > 0xBF) continue;
      found = true;
      const std::string character{static_cast<char>(lead), static_cast<char>(next)};
      bool whole = false;
      for (const std::string& p : pieces) {
        if (p.find(character) != std::string::npos) whole = true;
      }
      EXPECT_TRUE(whole) << "seed " << seed << ": the character was split";
      break;
    }
  }
  EXPECT_TRUE(found) << "no seed produced a two-byte character; pick another prompt";
}

TEST_F(GenerateTest, IdsTheTokenizerCannotDecodeAreNeverSampled) {
  // Only the 256 byte tokens: ids 256..511 of the model have no text.
  std::vector<TokenEntry> bytes = TinyRanks();
  bytes.resize(256);
  const Tokenizer byte_tokenizer(bytes, {});
  Decoder decoder(*weights_);
  GenerateOptions o = Sampled(3, 60);
  o.sampler.top_k = 0;
  o.sampler.top_p = 1.0f;
  const GenerateResult r = GenerateText(decoder, byte_tokenizer, "ab", o);
  ASSERT_EQ(r.tokens.size(), 60u);
  for (int t : r.tokens) EXPECT_LT(t, 256);
}

TEST_F(GenerateTest, APromptTheModelCannotTakeIsAClearError) {
  const Tokenizer cl100k =
      LoadLmTokenizer(std::string(RLVR_FIXTURES_DIR) + "/tokenizer/cl100k_base.tiktoken");
  EXPECT_EQ(cl100k.vocab_size(), 100277u);  // the special tokens were added
  Decoder decoder(*weights_);
  try {
    GenerateText(decoder, cl100k, "Hello world", Sampled(1));
    FAIL() << "no error";
  } catch (const LmLoadError& e) {
    EXPECT_THAT(e.what(), HasSubstr("outside the model's vocabulary (512 ids)"));
  }
  EXPECT_THROW(GenerateText(decoder, tokenizer_, "", Sampled(1)), LmLoadError);
}

TEST_F(GenerateTest, HuggingFaceConfigJsonGivesTheSameConfig) {
  const std::string path = TempPath("config.json");
  {
    std::ofstream out(path);
    out << R"({"vocab_size": 512, "hidden_size": 64, "num_hidden_layers": 2,
      "num_attention_heads": 4, "num_key_value_heads": 2, "intermediate_size": 128,
      "max_position_embeddings": 64, "rope_theta": 10000.0, "rms_norm_eps": 1e-05,
      "tie_word_embeddings": false, "architectures": ["LlamaForCausalLM"]})";
  }
  EXPECT_EQ(ConfigFromHfJson(path), weights_->config);
  const ModelWeights w = LoadModel(kModelPath, path);
  EXPECT_EQ(w.lm_head, weights_->lm_head);
  {
    std::ofstream out(path);
    out << R"({"vocab_size": 512})";
  }
  try {
    ConfigFromHfJson(path);
    FAIL() << "no error";
  } catch (const LmLoadError& e) {
    EXPECT_THAT(e.what(), HasSubstr("'hidden_size'"));
  }
  fs::remove(path);
}

// llama.cpp's convert_hf_to_gguf.py permutation of attn_q / attn_k rows, written as numpy's
// w.reshape(n_head, 2, head_dim / 2, cols).swapaxes(1, 2).reshape(w.shape).
std::vector<float> PermuteLikeLlamaCpp(const std::vector<float>& w, int n_head, int head_dim,
                                       int cols) {
  std::vector<float> out(w.size());
  const int half = head_dim / 2;
  size_t o = 0;
  for (int h = 0; h < n_head; ++h) {
    for (int j = 0; j < half; ++j) {  // swapped axes: (h, j, i)
      for (int i = 0; i < 2; ++i) {
        const size_t row = static_cast<size_t>(h) * head_dim + i * half + j;
        for (int c = 0; c < cols; ++c) out[o++] = w[row * cols + c];
      }
    }
  }
  return out;
}

// matrices: F32, or Q8_0 (every matrix quantized by QuantizeQ8_0; norms stay F32).
std::string WriteTinyGguf(const ModelWeights& w, const std::string& arch,
                          GgmlType matrices = GgmlType::kF32) {
  const ModelConfig& c = w.config;
  std::vector<std::pair<std::string, GgufValue>> meta = {
      {"general.architecture", GgufValue::String(arch)},
      {"llama.embedding_length", GgufValue::Uint32(c.dim)},
      {"llama.block_count", GgufValue::Uint32(c.n_layers)},
      {"llama.attention.head_count", GgufValue::Uint32(c.n_heads)},
      {"llama.attention.head_count_kv", GgufValue::Uint32(c.n_kv_heads)},
      {"llama.rope.dimension_count", GgufValue::Uint32(c.head_dim)},
      {"llama.feed_forward_length", GgufValue::Uint32(c.ffn_dim)},
      {"llama.context_length", GgufValue::Uint32(c.max_positions)},
      {"llama.rope.freq_base", GgufValue::Float32(c.rope_theta)},
      {"llama.attention.layer_norm_rms_epsilon", GgufValue::Float32(c.norm_eps)},
  };
  std::vector<std::vector<float>> keep;  // the permuted copies must outlive the write
  std::vector<std::vector<BlockQ8_0>> blocks;
  blocks.reserve(64);
  std::vector<GgufTensorToWrite> tensors;
  auto add = [&](const std::string& name, const std::vector<float>& data, uint64_t cols,
                 uint64_t rows) {
    std::vector<uint64_t> dims =
        rows == 0 ? std::vector<uint64_t>{cols} : std::vector<uint64_t>{cols, rows};
    if (rows == 0 || matrices == GgmlType::kF32) {
      tensors.push_back({name, dims, GgmlType::kF32, data.data()});
      return;
    }
    blocks.emplace_back(data.size() / kQuantBlock);
    QuantizeQ8_0(data.data(), blocks.back().data(), static_cast<int>(data.size()));
    tensors.push_back({name, dims, GgmlType::kQ8_0, blocks.back().data()});
  };
  keep.reserve(2 * c.n_layers);
  add("token_embd.weight", w.embed_tokens, c.dim, c.vocab);
  for (int l = 0; l < c.n_layers; ++l) {
    const LayerWeights& L = w.layers[l];
    const std::string p = "blk." + std::to_string(l) + ".";
    keep.push_back(PermuteLikeLlamaCpp(L.q_proj, c.n_heads, c.head_dim, c.dim));
    add(p + "attn_q.weight", keep.back(), c.dim, c.q_dim());
    keep.push_back(PermuteLikeLlamaCpp(L.k_proj, c.n_kv_heads, c.head_dim, c.dim));
    add(p + "attn_k.weight", keep.back(), c.dim, c.kv_dim());
    add(p + "attn_norm.weight", L.input_norm, c.dim, 0);
    add(p + "attn_v.weight", L.v_proj, c.dim, c.kv_dim());
    add(p + "attn_output.weight", L.o_proj, c.q_dim(), c.dim);
    add(p + "ffn_norm.weight", L.post_norm, c.dim, 0);
    add(p + "ffn_gate.weight", L.gate_proj, c.dim, c.ffn_dim);
    add(p + "ffn_up.weight", L.up_proj, c.dim, c.ffn_dim);
    add(p + "ffn_down.weight", L.down_proj, c.ffn_dim, c.dim);
  }
  add("output_norm.weight", w.final_norm, c.dim, 0);
  add("output.weight", w.lm_head, c.dim, c.vocab);
  const std::string path = TempPath(arch + GgmlTypeName(matrices) + ".gguf");
  WriteGguf(path, meta, tensors);
  return path;
}

double RelativeDistance(const float* a, const float* b, int n) {
  double err = 0, norm = 0;
  for (int i = 0; i < n; ++i) {
    err += (static_cast<double>(a[i]) - b[i]) * (static_cast<double>(a[i]) - b[i]);
    norm += static_cast<double>(b[i]) * b[i];
  }
  return std::sqrt(err / norm);
}

TEST_F(GenerateTest, GgufWeightsAsStoredGiveTheFloatPathsLogits) {
  const std::vector<int> prompt = {1, 5, 9, 33, 2};
  const int vocab = weights_->config.vocab;
  // F32: the mapped file's matrices are the float weights, so the logits are bitwise equal.
  const std::string f32 = WriteTinyGguf(*weights_, "llama");
  const StoredWeights mapped = LoadGgufStored(f32);
  EXPECT_EQ(mapped.config, weights_->config);
  EXPECT_EQ(mapped.layers[0].q_proj.type, StoredType::kF32);
  Decoder stored_decoder(mapped), float_decoder(*weights_);
  const float* a = stored_decoder.Prefill(prompt);
  const float* b = float_decoder.Prefill(prompt);
  EXPECT_EQ(0, std::memcmp(a, b, vocab * sizeof(float)));
  fs::remove(f32);

  // Q8_0: the decoder multiplies the blocks; its logits stay within the 8-bit input rounding
  // of the same file dequantized to float (the --float-weights path).
  const std::string q8 = WriteTinyGguf(*weights_, "llama", GgmlType::kQ8_0);
  const StoredWeights blocks = LoadGgufStored(q8);
  EXPECT_EQ(blocks.layers[0].q_proj.type, StoredType::kQ8_0);
  EXPECT_LT(blocks.BytesReadPerToken(), 0.3 * ViewWeights(*weights_).BytesReadPerToken());
  const ModelWeights dequantized = LoadModel(q8);
  Decoder q8_decoder(blocks), dequantized_decoder(dequantized);
  const float* q = q8_decoder.Prefill(prompt);
  const float* d = dequantized_decoder.Prefill(prompt);
  const double distance = RelativeDistance(q, d, vocab);
  EXPECT_LT(distance, 0.02);
  EXPECT_GT(distance, 0.0);  // the activations were rounded: not the float path in disguise
  GenerateOptions greedy;
  greedy.max_tokens = 8;
  greedy.sampler.temperature = 0.0f;
  const GenerateResult from_blocks = GenerateText(q8_decoder, tokenizer_, kPrompt, greedy);
  EXPECT_EQ(from_blocks.tokens.size(), 8u);
  fs::remove(q8);
}

TEST_F(GenerateTest, GgufLlamaGivesTheSameWeightsAndTokens) {
  const std::string path = WriteTinyGguf(*weights_, "llama");
  const ModelWeights g = LoadModel(path);
  EXPECT_EQ(g.config, weights_->config);
  EXPECT_EQ(g.embed_tokens, weights_->embed_tokens);
  EXPECT_EQ(g.lm_head, weights_->lm_head);
  for (int l = 0; l < g.config.n_layers; ++l) {
    EXPECT_EQ(g.layers[l].q_proj, weights_->layers[l].q_proj) << l;
    EXPECT_EQ(g.layers[l].k_proj, weights_->layers[l].k_proj) << l;
    EXPECT_EQ(g.layers[l].down_proj, weights_->layers[l].down_proj) << l;
  }
  Decoder decoder(g);
  const GenerateResult from_gguf = GenerateText(decoder, tokenizer_, kPrompt, Sampled(9));
  EXPECT_EQ(from_gguf.tokens, Run(Sampled(9)).tokens);
  fs::remove(path);

  const std::string other = WriteTinyGguf(*weights_, "gpt2");
  try {
    LoadModel(other);
    FAIL() << "no error";
  } catch (const LmLoadError& e) {
    EXPECT_THAT(e.what(), HasSubstr("architecture 'gpt2' is not supported"));
  }
  fs::remove(other);
}

ProcessResult RlvrLm(std::vector<std::string> args) {
  args.insert(args.begin(), RLVR_LM_BINARY);
  RunOptions options;
  options.limits.wall_seconds = 120;
  return RunProcess(args, options);
}

TEST_F(GenerateTest, TheProgramPrintsTheSameTextAsTheLibraryAndItsSpeed) {
  const std::string ranks = WriteTinyRankFile();
  const std::vector<std::string> args = {
      "--model", kModelPath, "--tokenizer",   ranks, "--prompt", kPrompt, "--max-tokens", "16",
      "--seed",  "77",       "--temperature", "0.9", "--top-k",  "50",    "--top-p",      "0.9"};
  const ProcessResult a = RlvrLm(args);
  ASSERT_TRUE(a.ok()) << a.Describe() << "\n" << a.err;
  const ProcessResult b = RlvrLm(args);
  ASSERT_TRUE(b.ok()) << b.Describe() << "\n" << b.err;
  EXPECT_EQ(a.out, b.out);

  GenerateOptions o;
  o.max_tokens = 16;
  o.sampler = {.temperature = 0.9f, .top_k = 50, .top_p = 0.9f, .seed = 77};
  EXPECT_EQ(a.out, Run(o).text + "\n");
  EXPECT_THAT(a.err, HasSubstr("generated: 16 tokens,"));
  EXPECT_THAT(a.err, HasSubstr("tokens/s (stopped: max tokens)"));

  std::vector<std::string> other_seed = args;
  other_seed[9] = "78";
  const ProcessResult c = RlvrLm(other_seed);
  ASSERT_TRUE(c.ok()) << c.err;
  EXPECT_NE(a.out, c.out);
  fs::remove(ranks);
}

TEST_F(GenerateTest, TheProgramRunsAGgufModelAndReportsErrors) {
  const std::string ranks = WriteTinyRankFile();
  const std::string gguf = WriteTinyGguf(*weights_, "llama");
  const ProcessResult g = RlvrLm({"--model", gguf, "--tokenizer", ranks, "--prompt", kPrompt,
                                  "--max-tokens", "8", "--temperature", "0"});
  ASSERT_TRUE(g.ok()) << g.Describe() << "\n" << g.err;
  GenerateOptions greedy;
  greedy.max_tokens = 8;
  greedy.sampler.temperature = 0.0f;
  EXPECT_EQ(g.out, Run(greedy).text + "\n");
  fs::remove(gguf);

  const ProcessResult missing =
      RlvrLm({"--model", TempPath("absent.safetensors"), "--tokenizer", ranks, "--prompt", "x"});
  EXPECT_EQ(missing.exit_code, 1);
  EXPECT_THAT(missing.err, HasSubstr("absent.safetensors"));

  const ProcessResult usage = RlvrLm({"--model", kModelPath});
  EXPECT_EQ(usage.exit_code, 2);
  EXPECT_THAT(usage.err, HasSubstr("--tokenizer"));
  fs::remove(ranks);
}

}  // namespace
}  // namespace rlvr
