#include "kernels/stored_weights.h"

#include <bit>
#include <cstring>
#include <stdexcept>
#include <string>

#include "kernels/kquant.h"
#include "kernels/quant.h"

namespace rlvr {

namespace {

void CheckShape(const StoredMatrix& m, int rows, int cols, const std::string& name) {
  CheckStoredMatrix(m, name.c_str());
  if (m.rows != rows || m.cols != cols) {
    throw std::invalid_argument("StoredWeights: '" + name + "' is [" + std::to_string(m.rows) +
                                ", " + std::to_string(m.cols) + "], its config needs [" +
                                std::to_string(rows) + ", " + std::to_string(cols) + "]");
  }
}

void CheckNorm(const std::vector<float>& v, int n, const std::string& name) {
  if (v.size() != static_cast<size_t>(n)) {
    throw std::invalid_argument("StoredWeights: '" + name + "' has " + std::to_string(v.size()) +
                                " floats, its config needs " + std::to_string(n));
  }
}

StoredMatrix View(const std::vector<float>& v, int rows, int cols, const std::string& name) {
  if (v.size() != static_cast<size_t>(rows) * cols) {
    throw std::invalid_argument("ViewWeights: '" + name + "' has " + std::to_string(v.size()) +
                                " floats, its config needs " +
                                std::to_string(static_cast<size_t>(rows) * cols));
  }
  return F32Matrix(v.data(), rows, cols);
}

}  // namespace

double StoredWeights::BytesReadPerToken() const {
  const double norm = static_cast<double>(config.dim) * sizeof(float);
  double bytes = static_cast<double>(head.Bytes()) + embed_tokens.RowBytes() + norm;
  for (const StoredLayer& l : layers) {
    bytes += 2 * norm;
    for (const StoredMatrix* m :
         {&l.q_proj, &l.k_proj, &l.v_proj, &l.o_proj, &l.gate_proj, &l.up_proj, &l.down_proj}) {
      bytes += static_cast<double>(m->Bytes());
    }
  }
  return bytes;
}

void StoredWeights::Check() const {
  const ModelConfig& c = config;
  c.Validate();
  CheckShape(embed_tokens, c.vocab, c.dim, "token embedding");
  CheckShape(head, c.vocab, c.dim, "output head");
  if (layers.size() != static_cast<size_t>(c.n_layers)) {
    throw std::invalid_argument("StoredWeights: " + std::to_string(layers.size()) +
                                " layers, config says " + std::to_string(c.n_layers));
  }
  for (int i = 0; i < c.n_layers; ++i) {
    const StoredLayer& l = layers[i];
    const std::string p = "layer " + std::to_string(i) + " ";
    CheckNorm(l.input_norm, c.dim, p + "input norm");
    CheckNorm(l.post_norm, c.dim, p + "post-attention norm");
    CheckShape(l.q_proj, c.q_dim(), c.dim, p + "q_proj");
    CheckShape(l.k_proj, c.kv_dim(), c.dim, p + "k_proj");
    CheckShape(l.v_proj, c.kv_dim(), c.dim, p + "v_proj");
    CheckShape(l.o_proj, c.dim, c.q_dim(), p + "o_proj");
    CheckShape(l.gate_proj, c.ffn_dim, c.dim, p + "gate_proj");
    CheckShape(l.up_proj, c.ffn_dim, c.dim, p + "up_proj");
    CheckShape(l.down_proj, c.dim, c.ffn_dim, p + "down_proj");
  }
  CheckNorm(final_norm, c.dim, "final norm");
}

StoredWeights ViewWeights(const ModelWeights& w) {
  const ModelConfig& c = w.config;
  c.Validate();
  StoredWeights s;
  s.config = c;
  s.embed_tokens = View(w.embed_tokens, c.vocab, c.dim, "model.embed_tokens.weight");
  s.head = c.tie_embeddings ? s.embed_tokens : View(w.lm_head, c.vocab, c.dim, "lm_head.weight");
  s.final_norm = w.final_norm;
  if (w.layers.size() != static_cast<size_t>(c.n_layers)) {
    throw std::invalid_argument("ViewWeights: " + std::to_string(w.layers.size()) +
                                " layers of weights, config says " + std::to_string(c.n_layers));
  }
  s.layers.resize(c.n_layers);
  for (int i = 0; i < c.n_layers; ++i) {
    const LayerWeights& l = w.layers[i];
    StoredLayer& o = s.layers[i];
    const std::string p = "model.layers." + std::to_string(i) + ".";
    o.input_norm = l.input_norm;
    o.post_norm = l.post_norm;
    o.q_proj = View(l.q_proj, c.q_dim(), c.dim, p + "self_attn.q_proj.weight");
    o.k_proj = View(l.k_proj, c.kv_dim(), c.dim, p + "self_attn.k_proj.weight");
    o.v_proj = View(l.v_proj, c.kv_dim(), c.dim, p + "self_attn.v_proj.weight");
    o.o_proj = View(l.o_proj, c.dim, c.q_dim(), p + "self_attn.o_proj.weight");
    o.gate_proj = View(l.gate_proj, c.ffn_dim, c.dim, p + "mlp.gate_proj.weight");
    o.up_proj = View(l.up_proj, c.ffn_dim, c.dim, p + "mlp.up_proj.weight");
    o.down_proj = View(l.down_proj, c.dim, c.ffn_dim, p + "mlp.down_proj.weight");
  }
  s.Check();
  return s;
}

namespace {

// `m` (an F32 view) converted to `type` in a buffer that `owners` keeps.
StoredMatrix Convert(const StoredMatrix& m, StoredType type, bool covering,
                     std::vector<std::shared_ptr<const void>>& owners) {
  StoredMatrix out{type, nullptr, m.rows, m.cols};
  if (m.cols % StoredBlockValues(type) != 0) {
    throw std::invalid_argument(std::string("ConvertWeights: rows of ") + std::to_string(m.cols) +
                                " values do not split into " + StoredTypeName(type) +
                                " blocks of " + std::to_string(StoredBlockValues(type)));
  }
  auto bytes = std::make_shared<std::vector<uint8_t>>(out.Bytes());
  const float* src = static_cast<const float*>(m.data);
  const size_t count = static_cast<size_t>(m.rows) * m.cols;
  uint8_t* dst = bytes->data();
  switch (type) {
    case StoredType::kF32:
      std::memcpy(dst, src, count * sizeof(float));
      break;
    case StoredType::kF16:
      for (size_t i = 0; i < count; ++i) {
        const uint16_t h = FloatToHalf(src[i]);
        std::memcpy(dst + 2 * i, &h, 2);
      }
      break;
    case StoredType::kBF16:
      for (size_t i = 0; i < count; ++i) {
        // Round to nearest even on the dropped 16 bits (finite weights).
        const uint32_t bits = std::bit_cast<uint32_t>(src[i]);
        const uint16_t h = static_cast<uint16_t>((bits + 0x7fffu + ((bits >> 16) & 1u)) >> 16);
        std::memcpy(dst + 2 * i, &h, 2);
      }
      break;
    default:
      for (int r = 0; r < m.rows; ++r) {
        const float* row = src + static_cast<size_t>(r) * m.cols;
        uint8_t* to = dst + out.RowBytes() * r;
        switch (type) {
          case StoredType::kQ8_0:
            QuantizeQ8_0(row, reinterpret_cast<BlockQ8_0*>(to), m.cols);
            break;
          case StoredType::kQ4_0:
            QuantizeQ4_0(row, reinterpret_cast<BlockQ4_0*>(to), m.cols);
            break;
          case StoredType::kQ4_K:
            if (covering) {
              QuantizeQ4_KCovering(row, reinterpret_cast<BlockQ4_K*>(to), m.cols);
            } else {
              QuantizeQ4_K(row, reinterpret_cast<BlockQ4_K*>(to), m.cols);
            }
            break;
          case StoredType::kQ6_K:
            if (covering) {
              QuantizeQ6_KCovering(row, reinterpret_cast<BlockQ6_K*>(to), m.cols);
            } else {
              QuantizeQ6_K(row, reinterpret_cast<BlockQ6_K*>(to), m.cols);
            }
            break;
          default:
            break;
        }
      }
  }
  out.data = bytes->data();
  owners.push_back(std::move(bytes));
  return out;
}

}  // namespace

StoredWeights ConvertWeights(const ModelWeights& w, StoredType type, bool covering_kquants) {
  const StoredWeights view = ViewWeights(w);
  StoredWeights s = view;
  s.embed_tokens = Convert(view.embed_tokens, type, covering_kquants, s.owners);
  s.head = w.config.tie_embeddings ? s.embed_tokens
                                   : Convert(view.head, type, covering_kquants, s.owners);
  for (size_t i = 0; i < s.layers.size(); ++i) {
    const StoredLayer& from = view.layers[i];
    StoredLayer& to = s.layers[i];
    to.q_proj = Convert(from.q_proj, type, covering_kquants, s.owners);
    to.k_proj = Convert(from.k_proj, type, covering_kquants, s.owners);
    to.v_proj = Convert(from.v_proj, type, covering_kquants, s.owners);
    to.o_proj = Convert(from.o_proj, type, covering_kquants, s.owners);
    to.gate_proj = Convert(from.gate_proj, type, covering_kquants, s.owners);
    to.up_proj = Convert(from.up_proj, type, covering_kquants, s.owners);
    to.down_proj = Convert(from.down_proj, type, covering_kquants, s.owners);
  }
  return s;
}

}  // namespace rlvr
