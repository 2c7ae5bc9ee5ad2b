#include "harness/lm/generate.h"

#include <algorithm>
#include <chrono>
#include <cstring>
#include <fstream>
#include <limits>
#include <memory>

#include <nlohmann/json.hpp>

#include "kernels/gguf.h"
#include "kernels/mapped_file.h"

namespace rlvr {

namespace {

using Clock = std::chrono::steady_clock;

double SecondsSince(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

int JsonInt(const nlohmann::json& j, const std::string& key, const std::string& path) {
  if (!j.contains(key) || !j[key].is_number_integer()) {
    throw LmLoadError("config '" + path + "': missing or non-integer '" + key + "'");
  }
  return j[key].get<int>();
}

// llama.cpp's convert script stores each head's rows of attn_q / attn_k interleaved (row 2j + i
// of a head holds rotate_half row i * head_dim / 2 + j); this puts them back.
std::vector<float> UnpermuteRope(const std::vector<float>& w, int n_heads, int head_dim, int cols) {
  std::vector<float> out(w.size());
  const int half = head_dim / 2;
  for (int h = 0; h < n_heads; ++h) {
    for (int i = 0; i < 2; ++i) {
      for (int j = 0; j < half; ++j) {
        const size_t to = static_cast<size_t>(h * head_dim + i * half + j) * cols;
        const size_t from = static_cast<size_t>(h * head_dim + 2 * j + i) * cols;
        std::copy_n(w.begin() + from, cols, out.begin() + to);
      }
    }
  }
  return out;
}

// How many trailing bytes of `text` start a UTF-8 sequence that is not complete yet.
size_t IncompleteUtf8Tail(std::string_view text) {
  const size_t n = text.size();
  for (size_t back = 1; back <= 3 && back <= n; ++back) {
    const unsigned char c = static_cast<unsigned char>(text[n - back]);
    if ((c & 0xC0) == 0x80) continue;  // continuation byte: keep looking for the lead
    const size_t need = (c & 0xE0) == 0xC0   ? 2
                        : (c & 0xF0) == 0xE0 ? 3
                        : (c & 0xF8) == 0xF0 ? 4
                                             : 1;
    return need > back ? back : 0;
  }
  return 0;
}

}  // namespace

ModelConfig ConfigFromHfJson(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw LmLoadError("config '" + path + "': cannot be read");
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(in);
  } catch (const nlohmann::json::exception& e) {
    throw LmLoadError("config '" + path + "': not JSON: " + e.what());
  }
  if (!j.is_object()) throw LmLoadError("config '" + path + "': not a JSON object");
  ModelConfig c;
  c.vocab = JsonInt(j, "vocab_size", path);
  c.dim = JsonInt(j, "hidden_size", path);
  c.n_layers = JsonInt(j, "num_hidden_layers", path);
  c.n_heads = JsonInt(j, "num_attention_heads", path);
  c.n_kv_heads =
      j.contains("num_key_value_heads") ? JsonInt(j, "num_key_value_heads", path) : c.n_heads;
  c.head_dim = j.contains("head_dim") && !j["head_dim"].is_null() ? JsonInt(j, "head_dim", path)
               : c.n_heads > 0                                    ? c.dim / c.n_heads
                                                                  : 0;
  c.ffn_dim = JsonInt(j, "intermediate_size", path);
  c.max_positions = JsonInt(j, "max_position_embeddings", path);
  if (j.contains("rope_theta")) c.rope_theta = j["rope_theta"].get<float>();
  if (j.contains("rms_norm_eps")) c.norm_eps = j["rms_norm_eps"].get<float>();
  if (j.contains("tie_word_embeddings")) c.tie_embeddings = j["tie_word_embeddings"].get<bool>();
  try {
    c.Validate();
  } catch (const std::invalid_argument& e) {
    throw LmLoadError("config '" + path + "': " + e.what());
  }
  return c;
}

namespace {

// The config of a llama-architecture GGUF file, from its llama.* metadata.
ModelConfig GgufLlamaConfig(const GgufFile& f) {
  const std::string& path = f.path();
  const std::string arch = f.GetString("general.architecture");
  if (arch != "llama") {
    throw LmLoadError("GGUF file '" + path + "': architecture '" + arch +
                      "' is not supported (only 'llama')");
  }
  ModelConfig c;
  c.dim = static_cast<int>(f.GetUint("llama.embedding_length"));
  c.n_layers = static_cast<int>(f.GetUint("llama.block_count"));
  c.n_heads = static_cast<int>(f.GetUint("llama.attention.head_count"));
  c.n_kv_heads = f.HasKey("llama.attention.head_count_kv")
                     ? static_cast<int>(f.GetUint("llama.attention.head_count_kv"))
                     : c.n_heads;
  c.head_dim = f.HasKey("llama.rope.dimension_count")
                   ? static_cast<int>(f.GetUint("llama.rope.dimension_count"))
                   : (c.n_heads > 0 ? c.dim / c.n_heads : 0);
  c.ffn_dim = static_cast<int>(f.GetUint("llama.feed_forward_length"));
  c.max_positions = static_cast<int>(f.GetUint("llama.context_length"));
  if (f.HasKey("llama.rope.freq_base")) {
    c.rope_theta = static_cast<float>(f.GetFloat("llama.rope.freq_base"));
  }
  if (f.HasKey("llama.attention.layer_norm_rms_epsilon")) {
    c.norm_eps = static_cast<float>(f.GetFloat("llama.attention.layer_norm_rms_epsilon"));
  }
  const std::vector<int64_t> embd_shape = f.Info("token_embd.weight").Shape();
  if (embd_shape.size() != 2) {
    throw LmLoadError("GGUF file '" + path + "': token_embd.weight is not a matrix");
  }
  c.vocab = static_cast<int>(embd_shape[0]);
  c.tie_embeddings = !f.Has("output.weight");
  try {
    c.Validate();
  } catch (const std::invalid_argument& e) {
    throw LmLoadError("GGUF file '" + path + "': " + e.what());
  }

  return c;
}

// Rows of a RoPE matrix in the stored type with llama.cpp's interleaved order undone (blocks
// never straddle rows, so rows move whole): row h * head_dim + i * half + j comes from row
// h * head_dim + 2j + i.
StoredMatrix UnpermuteRopeRows(const StoredMatrix& m, int n_heads, int head_dim,
                               std::vector<std::shared_ptr<const void>>& owners) {
  auto bytes = std::make_shared<std::vector<uint8_t>>(m.Bytes());
  const size_t row_bytes = m.RowBytes();
  const int half = head_dim / 2;
  for (int h = 0; h < n_heads; ++h) {
    for (int i = 0; i < 2; ++i) {
      for (int j = 0; j < half; ++j) {
        std::memcpy(bytes->data() + row_bytes * (h * head_dim + i * half + j),
                    m.Row(h * head_dim + 2 * j + i), row_bytes);
      }
    }
  }
  StoredMatrix out = m;
  out.data = bytes->data();
  owners.push_back(std::move(bytes));
  return out;
}

}  // namespace

ModelWeights LoadGgufModel(const std::string& path) {
  const GgufFile f = GgufFile::Open(path);
  const ModelConfig c = GgufLlamaConfig(f);
  const int64_t d = c.dim, q = c.q_dim(), kv = c.kv_dim(), ff = c.ffn_dim;
  ModelWeights w;
  w.config = c;
  w.embed_tokens = f.ReadFloat("token_embd.weight", {c.vocab, d});
  w.layers.resize(c.n_layers);
  for (int i = 0; i < c.n_layers; ++i) {
    const std::string p = "blk." + std::to_string(i) + ".";
    LayerWeights& l = w.layers[i];
    l.input_norm = f.ReadFloat(p + "attn_norm.weight", {d});
    l.q_proj =
        UnpermuteRope(f.ReadFloat(p + "attn_q.weight", {q, d}), c.n_heads, c.head_dim, c.dim);
    l.k_proj =
        UnpermuteRope(f.ReadFloat(p + "attn_k.weight", {kv, d}), c.n_kv_heads, c.head_dim, c.dim);
    l.v_proj = f.ReadFloat(p + "attn_v.weight", {kv, d});
    l.o_proj = f.ReadFloat(p + "attn_output.weight", {d, q});
    l.post_norm = f.ReadFloat(p + "ffn_norm.weight", {d});
    l.gate_proj = f.ReadFloat(p + "ffn_gate.weight", {ff, d});
    l.up_proj = f.ReadFloat(p + "ffn_up.weight", {ff, d});
    l.down_proj = f.ReadFloat(p + "ffn_down.weight", {d, ff});
  }
  w.final_norm = f.ReadFloat("output_norm.weight", {d});
  if (!c.tie_embeddings) w.lm_head = f.ReadFloat("output.weight", {c.vocab, d});
  return w;
}

StoredWeights LoadGgufStored(const std::string& path) {
  const GgufFile f = GgufFile::Open(path);
  const ModelConfig c = GgufLlamaConfig(f);
  std::shared_ptr<const MappedFile> map;
  try {
    map = MappedFile::Open(path);
  } catch (const std::runtime_error& e) {
    throw LmLoadError("GGUF file '" + path + "': " + e.what());
  }
  StoredWeights w;
  w.config = c;
  w.owners.push_back(map);
  auto matrix = [&](const std::string& name, int rows, int cols) {
    const GgufTensorInfo& t = f.Info(name);
    if (t.Shape() != std::vector<int64_t>{rows, cols}) {
      throw LmLoadError("GGUF file '" + path + "': tensor '" + name + "' is not [" +
                        std::to_string(rows) + ", " + std::to_string(cols) + "]");
    }
    if (!IsStoredType(static_cast<uint32_t>(t.type))) {
      throw LmLoadError("GGUF file '" + path + "': tensor '" + name + "' has type " +
                        GgmlTypeName(t.type) +
                        ", which the decoder cannot multiply (F32, F16, BF16, Q8_0, Q4_0, Q4_K, "
                        "Q6_K)");
    }
    StoredMatrix m{static_cast<StoredType>(t.type), nullptr, rows, cols};
    const uint64_t start = f.data_offset() + t.offset;
    if (m.Bytes() != t.bytes || start > map->size() || map->size() - start < t.bytes) {
      throw LmLoadError("GGUF file '" + path + "': tensor '" + name + "' lies outside the file");
    }
    m.data = map->data() + start;
    return m;
  };
  const int d = c.dim, q = c.q_dim(), kv = c.kv_dim(), ff = c.ffn_dim;
  w.embed_tokens = matrix("token_embd.weight", c.vocab, d);
  w.head = c.tie_embeddings ? w.embed_tokens : matrix("output.weight", c.vocab, d);
  w.final_norm = f.ReadFloat("output_norm.weight", {d});
  w.layers.resize(c.n_layers);
  for (int i = 0; i < c.n_layers; ++i) {
    const std::string p = "blk." + std::to_string(i) + ".";
    StoredLayer& l = w.layers[i];
    l.input_norm = f.ReadFloat(p + "attn_norm.weight", {d});
    l.post_norm = f.ReadFloat(p + "ffn_norm.weight", {d});
    l.q_proj =
        UnpermuteRopeRows(matrix(p + "attn_q.weight", q, d), c.n_heads, c.head_dim, w.owners);
    l.k_proj =
        UnpermuteRopeRows(matrix(p + "attn_k.weight", kv, d), c.n_kv_heads, c.head_dim, w.owners);
    l.v_proj = matrix(p + "attn_v.weight", kv, d);
    l.o_proj = matrix(p + "attn_output.weight", d, q);
    l.gate_proj = matrix(p + "ffn_gate.weight", ff, d);
    l.up_proj = matrix(p + "ffn_up.weight", ff, d);
    l.down_proj = matrix(p + "ffn_down.weight", d, ff);
  }
  try {
    w.Check();
  } catch (const std::invalid_argument& e) {
    throw LmLoadError("GGUF file '" + path + "': " + e.what());
  }
  return w;
}

ModelWeights LoadModel(const std::string& model_path, const std::string& config_json) {
  if (model_path.ends_with(".gguf")) return LoadGgufModel(model_path);
  const ModelConfig config =
      config_json.empty() ? LoadConfig(model_path) : ConfigFromHfJson(config_json);
  return LoadWeights(model_path, config);
}

Tokenizer LoadLmTokenizer(const std::string& ranks_path) {
  const std::vector<TokenEntry> ranks = LoadTiktokenRanks(ranks_path);
  TokenId largest = 0;
  for (const TokenEntry& e : ranks) largest = std::max(largest, e.rank);
  std::vector<TokenEntry> specials;
  if (largest == 100255) {
    specials = Cl100kSpecialTokens();
    for (const TokenEntry& s : specials) {
      if (s.rank <= largest) specials.clear();
      if (specials.empty()) break;
    }
  }
  return Tokenizer(ranks, specials);
}

const char* StopReasonName(StopReason reason) {
  switch (reason) {
    case StopReason::kMaxTokens:
      return "max tokens";
    case StopReason::kEndToken:
      return "end token";
    case StopReason::kContextFull:
      return "context full";
  }
  return "?";
}

double GenerateResult::TokensPerSecond() const {
  const double seconds = prefill_seconds + decode_seconds;
  return seconds > 0 ? static_cast<double>(tokens.size()) / seconds : 0.0;
}

double GenerateResult::DecodeTokensPerSecond() const {
  return tokens.size() > 1 && decode_seconds > 0
             ? static_cast<double>(tokens.size() - 1) / decode_seconds
             : 0.0;
}

double GenerateResult::PrefillTokensPerSecond() const {
  return prefill_seconds > 0 ? static_cast<double>(prompt_tokens.size()) / prefill_seconds : 0.0;
}

GenerateResult GenerateText(Decoder& decoder, const Tokenizer& tokenizer, std::string_view prompt,
                            const GenerateOptions& options,
                            const std::function<void(std::string_view)>& on_text) {
  const int vocab = decoder.config().vocab;
  GenerateResult result;
  for (TokenId id : tokenizer.EncodeOrdinary(prompt)) {
    if (id >= static_cast<TokenId>(vocab)) {
      throw LmLoadError("prompt token " + std::to_string(id) +
                        " is outside the model's vocabulary (" + std::to_string(vocab) +
                        " ids): the tokenizer does not fit the model");
    }
    result.prompt_tokens.push_back(static_cast<int>(id));
  }
  if (result.prompt_tokens.empty()) throw LmLoadError("the prompt encodes to no tokens");
  if (static_cast<int>(result.prompt_tokens.size()) > decoder.config().max_positions) {
    throw LmLoadError("the prompt has " + std::to_string(result.prompt_tokens.size()) +
                      " tokens, more than the model's " +
                      std::to_string(decoder.config().max_positions) + " positions");
  }

  std::vector<int> end_tokens = options.end_tokens;
  if (end_tokens.empty() && options.use_default_end_token) {
    try {
      end_tokens.push_back(static_cast<int>(tokenizer.SpecialTokenId("<|endoftext|>")));
    } catch (const std::invalid_argument&) {
      // No <|endoftext|>: only max tokens or a full context end the generation.
    }
  }

  // Ids the tokenizer cannot decode (gaps, or a model vocabulary larger than the tokenizer's) get
  // -inf so they are never sampled; the copy is only made when there are such ids.
  std::vector<char> decodable(vocab, 1);
  bool any_undecodable = false;
  for (int id = 0; id < vocab; ++id) {
    const TokenId one[1] = {static_cast<TokenId>(id)};
    try {
      tokenizer.Decode(one);
    } catch (const std::out_of_range&) {
      decodable[id] = 0;
      any_undecodable = true;
    }
  }
  std::vector<float> masked(any_undecodable ? vocab : 0);
  Sampler sampler(vocab, options.sampler);

  std::string pending;  // decoded bytes not yet given to on_text (an unfinished UTF-8 character)
  auto emit = [&](bool flush) {
    const size_t hold = flush ? 0 : IncompleteUtf8Tail(pending);
    if (pending.size() > hold) {
      const std::string_view ready(pending.data(), pending.size() - hold);
      if (on_text) on_text(ready);
      pending.erase(0, ready.size());
    }
  };

  decoder.Reset();
  const Clock::time_point prefill_start = Clock::now();
  const float* logits = decoder.Prefill(result.prompt_tokens);
  result.prefill_seconds = SecondsSince(prefill_start);

  const Clock::time_point decode_start = Clock::now();
  result.stop = StopReason::kMaxTokens;
  for (int n = 0; n < options.max_tokens; ++n) {
    if (any_undecodable) {
      for (int id = 0; id < vocab; ++id) {
        masked[id] = decodable[id] ? logits[id] : -std::numeric_limits<float>::infinity();
      }
      logits = masked.data();
    }
    const int token = sampler.Sample(logits);
    result.tokens.push_back(token);
    if (std::find(end_tokens.begin(), end_tokens.end(), token) != end_tokens.end()) {
      result.stop = StopReason::kEndToken;
      break;
    }
    const TokenId one[1] = {static_cast<TokenId>(token)};
    const size_t before = pending.size();
    tokenizer.DecodeTo(one, &pending);
    result.text.append(pending, before, std::string::npos);
    emit(false);
    if (n + 1 == options.max_tokens) break;
    if (decoder.position() >= decoder.config().max_positions) {
      result.stop = StopReason::kContextFull;
      break;
    }
    logits = decoder.Step(token);
  }
  result.decode_seconds = SecondsSince(decode_start);
  emit(true);
  return result;
}

}  // namespace rlvr
