// rlvr_make_gguf: writes a llama-architecture GGUF file of seeded random weights in one storage
// type, with a llama (SentencePiece-style) vocabulary llama.cpp accepts (<unk>, <s>, </s>, the
// 256 byte tokens <0x00>..<0xFF>, then placeholders), so rlvr-lm and llama.cpp can be timed on
// the same file (tests/llama_cpp/compare.sh).
//
//   rlvr_make_gguf OUT.gguf TYPE [85m|12x768]     TYPE: F32 F16 BF16 Q8_0 Q4_0 Q4_K Q6_K
#include <chrono>
#include <cstdio>
#include <string>
#include <vector>

#include "kernels/gguf.h"
#include "kernels/stored_weights.h"

namespace rlvr {
namespace {

// llama.cpp's convert_hf_to_gguf.py order of attn_q / attn_k rows (interleaved RoPE pairs).
std::vector<float> PermuteLikeLlamaCpp(const std::vector<float>& w, int n_head, int head_dim,
                                       int cols) {
  std::vector<float> out(w.size());
  const int half = head_dim / 2;
  size_t o = 0;
  for (int h = 0; h < n_head; ++h) {
    for (int j = 0; j < half; ++j) {
      for (int i = 0; i < 2; ++i) {
        const size_t row = static_cast<size_t>(h) * head_dim + i * half + j;
        for (int c = 0; c < cols; ++c) out[o++] = w[row * cols + c];
      }
    }
  }
  return out;
}

int Main(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(stderr, "usage: rlvr_make_gguf OUT.gguf TYPE [85m|12x768]\n");
    return 2;
  }
  const std::string out = argv[1], type_name = argv[2];
  const std::string shape = argc > 3 ? argv[3] : "85m";
  StoredType type = StoredType::kF32;
  bool found = false;
  for (StoredType t : {StoredType::kF32, StoredType::kF16, StoredType::kBF16, StoredType::kQ8_0,
                       StoredType::kQ4_0, StoredType::kQ4_K, StoredType::kQ6_K}) {
    if (type_name == StoredTypeName(t)) {
      type = t;
      found = true;
    }
  }
  if (!found || (shape != "85m" && shape != "12x768")) {
    std::fprintf(stderr, "rlvr_make_gguf: unknown type '%s' or shape '%s'\n", type_name.c_str(),
                 shape.c_str());
    return 2;
  }
  ModelConfig c = Config85M();
  if (shape == "12x768") {  // the same layers, a small untied vocabulary: layers dominate
    c.vocab = 4096;
    c.tie_embeddings = false;
  }
  const auto start = std::chrono::steady_clock::now();
  ModelWeights w = RandomWeights(c, 0x85eed + 1, 0.02f);
  for (LayerWeights& l : w.layers) {
    l.q_proj = PermuteLikeLlamaCpp(l.q_proj, c.n_heads, c.head_dim, c.dim);
    l.k_proj = PermuteLikeLlamaCpp(l.k_proj, c.n_kv_heads, c.head_dim, c.dim);
  }
  const StoredWeights s = ConvertWeights(w, type);

  std::vector<GgufValue> tokens, scores, types;
  auto token = [&](const std::string& text, int32_t kind) {
    tokens.push_back(GgufValue::String(text));
    scores.push_back(GgufValue::Float32(0.0f));
    types.push_back(GgufValue::Int32(kind));
  };
  token("<unk>", 2);
  token("<s>", 3);
  token("</s>", 3);
  for (int b = 0; b < 256; ++b) {
    char name[8];
    std::snprintf(name, sizeof name, "<0x%02X>", b);
    token(name, 6);
  }
  while (static_cast<int>(tokens.size()) < c.vocab) token("t" + std::to_string(tokens.size()), 1);

  std::vector<std::pair<std::string, GgufValue>> meta = {
      {"general.architecture", GgufValue::String("llama")},
      {"general.name", GgufValue::String("rlvr random " + shape + " " + type_name)},
      {"llama.embedding_length", GgufValue::Uint32(c.dim)},
      {"llama.block_count", GgufValue::Uint32(c.n_layers)},
      {"llama.attention.head_count", GgufValue::Uint32(c.n_heads)},
      {"llama.attention.head_count_kv", GgufValue::Uint32(c.n_kv_heads)},
      {"llama.rope.dimension_count", GgufValue::Uint32(c.head_dim)},
      {"llama.feed_forward_length", GgufValue::Uint32(c.ffn_dim)},
      {"llama.context_length", GgufValue::Uint32(c.max_positions)},
      {"llama.rope.freq_base", GgufValue::Float32(c.rope_theta)},
      {"llama.attention.layer_norm_rms_epsilon", GgufValue::Float32(c.norm_eps)},
      {"tokenizer.ggml.model", GgufValue::String("llama")},
      {"tokenizer.ggml.tokens", GgufValue::Array(GgufValueType::kString, tokens)},
      {"tokenizer.ggml.scores", GgufValue::Array(GgufValueType::kFloat32, scores)},
      {"tokenizer.ggml.token_type", GgufValue::Array(GgufValueType::kInt32, types)},
      {"tokenizer.ggml.bos_token_id", GgufValue::Uint32(1)},
      {"tokenizer.ggml.eos_token_id", GgufValue::Uint32(2)},
  };
  std::vector<GgufTensorToWrite> tensors;
  auto matrix = [&](const std::string& name, const StoredMatrix& m) {
    tensors.push_back({name,
                       {static_cast<uint64_t>(m.cols), static_cast<uint64_t>(m.rows)},
                       static_cast<GgmlType>(m.type),
                       m.data});
  };
  auto norm = [&](const std::string& name, const std::vector<float>& v) {
    tensors.push_back({name, {v.size()}, GgmlType::kF32, v.data()});
  };
  matrix("token_embd.weight", s.embed_tokens);
  for (int i = 0; i < c.n_layers; ++i) {
    const StoredLayer& l = s.layers[i];
    const std::string p = "blk." + std::to_string(i) + ".";
    norm(p + "attn_norm.weight", l.input_norm);
    matrix(p + "attn_q.weight", l.q_proj);
    matrix(p + "attn_k.weight", l.k_proj);
    matrix(p + "attn_v.weight", l.v_proj);
    matrix(p + "attn_output.weight", l.o_proj);
    norm(p + "ffn_norm.weight", l.post_norm);
    matrix(p + "ffn_gate.weight", l.gate_proj);
    matrix(p + "ffn_up.weight", l.up_proj);
    matrix(p + "ffn_down.weight", l.down_proj);
  }
  norm("output_norm.weight", s.final_norm);
  if (!c.tie_embeddings) matrix("output.weight", s.head);
  WriteGguf(out, meta, tensors);
  std::fprintf(stderr, "rlvr_make_gguf: %s (%s, %s) in %.1f s\n", out.c_str(), shape.c_str(),
               type_name.c_str(),
               std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
  return 0;
}

}  // namespace
}  // namespace rlvr

int main(int argc, char** argv) {
  return rlvr::Main(argc, argv);
}
