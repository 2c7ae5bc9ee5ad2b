// Text generation for rlvr-lm: loading a LLaMA-style model (safetensors with its config in the
// metadata or a Hugging Face config.json, or a llama.cpp GGUF file) and a tiktoken rank file,
// and the generation loop (encode the prompt, prefill, sample until max tokens, an end token or a
// full context, stream the decoded text, time prefill and decode).
#pragma once

#include <functional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "kernels/decoder.h"
#include "kernels/model_config.h"
#include "kernels/sampler.h"
#include "kernels/stored_weights.h"
#include "kernels/tokenizer.h"
#include "kernels/weights.h"

namespace rlvr {

// A model or tokenizer that cannot be used (unreadable config, GGUF of another architecture,
// a tokenizer whose ids do not fit the model). what() says which file and why.
class LmLoadError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// A ModelConfig from a Hugging Face config.json (vocab_size, hidden_size, num_hidden_layers,
// num_attention_heads, num_key_value_heads (default num_attention_heads), head_dim (default
// hidden_size / num_attention_heads), intermediate_size, max_position_embeddings, rope_theta
// (default 10000), rms_norm_eps (default 1e-5), tie_word_embeddings (default false)).
ModelConfig ConfigFromHfJson(const std::string& path);

// Loads a decoder's weights. ".gguf" files are read as llama.cpp's "llama" architecture
// (token_embd, blk.N.attn_q ..., output_norm, output; the config from llama.* metadata), with
// attn_q and attn_k un-permuted back from llama.cpp's interleaved RoPE layout to the rotate_half
// layout the decoder uses. Anything else is safetensors with Hugging Face names; its config comes
// from config_json if non-empty, else from the file's __metadata__ (as SaveWeights writes it).
ModelWeights LoadModel(const std::string& model_path, const std::string& config_json = "");

// The GGUF part of LoadModel.
ModelWeights LoadGgufModel(const std::string& path);

// A llama GGUF file's weights as stored, for the decoder to multiply without dequantizing:
// matrices of types F32, F16, BF16, Q8_0, Q4_0, Q4_K and Q6_K point into the file, mapped
// read-only (so resident memory stays near the file's size), except attn_q and attn_k, whose
// rows are copied into rotate_half order; norms are read as float. Throws LmLoadError naming the
// tensor for another type, a wrong shape or bytes outside the file, GgufError for a malformed
// file.
StoredWeights LoadGgufStored(const std::string& path);

// A tokenizer from a tiktoken rank file. cl100k_base's special tokens are added when the file is
// cl100k_base-sized (largest rank 100255) and they collide with no rank; otherwise none.
Tokenizer LoadLmTokenizer(const std::string& ranks_path);

struct GenerateOptions {
  int max_tokens = 32;  // new tokens at most (an end token counts and stops)
  SamplerConfig sampler;
  // Ids that end the generation (not printed). Empty: <|endoftext|> if the tokenizer has it.
  std::vector<int> end_tokens;
  bool use_default_end_token = true;  // false: only end_tokens end it
};

enum class StopReason { kMaxTokens, kEndToken, kContextFull };
const char* StopReasonName(StopReason reason);  // "max tokens", "end token", "context full"

struct GenerateResult {
  std::vector<int> prompt_tokens;
  std::vector<int> tokens;  // generated, including the end token if one stopped it
  std::string text;         // decoded generated tokens, without the end token
  StopReason stop = StopReason::kMaxTokens;
  double prefill_seconds = 0;  // encode not included
  double decode_seconds = 0;   // sampling and decoder steps after prefill

  // Generated tokens per second of prefill + decode time (what a user waits for each token).
  double TokensPerSecond() const;
  double PrefillTokensPerSecond() const;
  // Decoder steps per second after prefill (tokens after the first over decode_seconds): the
  // figure to set beside llama.cpp's decode speed.
  double DecodeTokensPerSecond() const;
};

// Generates a continuation of `prompt` (encoded as ordinary text; it must give at least one token
// and every id must be below the model's vocabulary, else LmLoadError). The decoder is reset
// first. Ids the tokenizer cannot decode are never sampled (their logits are masked). Each
// decoded piece of text goes to on_text as soon as it ends on a UTF-8 character boundary, so
// multi-token characters are never split. Same seed, same prompt, same weights: same tokens.
GenerateResult GenerateText(Decoder& decoder, const Tokenizer& tokenizer, std::string_view prompt,
                            const GenerateOptions& options,
                            const std::function<void(std::string_view)>& on_text = {});

}  // namespace rlvr
