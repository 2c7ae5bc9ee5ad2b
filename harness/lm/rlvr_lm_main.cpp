// rlvr-lm: generates text from a prompt with the kernels' decoder and sampler, printing the
// continuation as it is produced and then prompt and decode speeds on stderr.
//
//   rlvr-lm --model tiny.safetensors --tokenizer ranks.tiktoken --prompt "Hello" --max-tokens 16
//
// Exit status: 0 done, 1 the model, tokenizer or prompt could not be used, 2 bad arguments.
#include <cstdio>
#include <exception>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <CLI/CLI.hpp>

#include "harness/lm/generate.h"

int main(int argc, char** argv) {
  CLI::App app{"rlvr-lm: generate text with rlvr's LLaMA-style decoder"};
  std::string model_path, config_path, tokenizer_path, prompt;
  rlvr::GenerateOptions options;
  int max_batch = 64;
  bool float_weights = false;
  app.add_option("--model", model_path, "Weights: .safetensors (Hugging Face names) or .gguf")
      ->required();
  app.add_option("--config", config_path,
                 "Hugging Face config.json (default: the safetensors file's own metadata)");
  app.add_option("--tokenizer", tokenizer_path, "tiktoken rank file (e.g. cl100k_base.tiktoken)")
      ->required();
  app.add_option("--prompt", prompt, "Text to continue")->required();
  app.add_option("--max-tokens", options.max_tokens, "New tokens at most")
      ->check(CLI::NonNegativeNumber);
  app.add_option("--seed", options.sampler.seed, "Sampler seed");
  app.add_option("--temperature", options.sampler.temperature, "0 means greedy")
      ->check(CLI::NonNegativeNumber);
  app.add_option("--top-k", options.sampler.top_k, "Keep the k most likely tokens (0: all)")
      ->check(CLI::NonNegativeNumber);
  app.add_option("--top-p", options.sampler.top_p, "Nucleus cut (1: none)")
      ->check(CLI::Range(0.0f, 1.0f));
  app.add_option("--end-token", options.end_tokens,
                 "Token id that ends the generation (repeatable; default <|endoftext|>)");
  app.add_option("--max-batch", max_batch, "Prompt rows per prefill matrix product")
      ->check(CLI::PositiveNumber);
  app.add_flag("--float-weights", float_weights,
               "Dequantize a GGUF file's weights to float at load instead of multiplying them as "
               "stored (slower; for comparisons)");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : 2;  // --help is 0; every usage error is 2
  }

  try {
    // GGUF weights are multiplied as stored (mapped, quantized blocks and all); safetensors and
    // --float-weights load float ModelWeights, which the decoder views as F32.
    const bool as_stored = model_path.ends_with(".gguf") && !float_weights;
    const rlvr::ModelWeights weights =
        as_stored ? rlvr::ModelWeights{} : rlvr::LoadModel(model_path, config_path);
    const rlvr::StoredWeights stored =
        as_stored ? rlvr::LoadGgufStored(model_path) : rlvr::ViewWeights(weights);
    const rlvr::Tokenizer tokenizer = rlvr::LoadLmTokenizer(tokenizer_path);
    rlvr::Decoder decoder(stored, max_batch);
    const rlvr::GenerateResult result =
        rlvr::GenerateText(decoder, tokenizer, prompt, options, [](std::string_view text) {
          std::fwrite(text.data(), 1, text.size(), stdout);
          std::fflush(stdout);
        });
    std::fputc('\n', stdout);
    std::fflush(stdout);
    fmt::print(stderr,
               "prompt: {} tokens, {:.1f} tokens/s\n"
               "generated: {} tokens, {:.1f} tokens/s (stopped: {})\n"
               "decode: {:.1f} tokens/s\n",
               result.prompt_tokens.size(), result.PrefillTokensPerSecond(), result.tokens.size(),
               result.TokensPerSecond(), rlvr::StopReasonName(result.stop),
               result.DecodeTokensPerSecond());
    return 0;
  } catch (const std::exception& e) {
    fmt::print(stderr, "rlvr-lm: {}\n", e.what());
    return 1;
  }
}
