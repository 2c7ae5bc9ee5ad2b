#include "kernels/toy_lm.h"

#include <cmath>
#include <stdexcept>

#include "kernels/gemm.h"
#include "kernels/safetensors.h"
#include "kernels/weights.h"

namespace rlvr {

ToyLmWeights RandomToyLmWeights(int vocab, int dim, uint64_t seed, float scale) {
  if (vocab <= 0 || dim <= 0) {
    throw std::invalid_argument("RandomToyLmWeights: vocab and dim must be positive (got " +
                                std::to_string(vocab) + ", " + std::to_string(dim) + ")");
  }
  ToyLmWeights w;
  w.vocab = vocab;
  w.dim = dim;
  w.embed.resize(static_cast<size_t>(vocab) * dim);
  w.head.resize(w.embed.size());
  uint64_t state = seed;
  FillSeededUniform(w.embed.data(), w.embed.size(), state, 0.0f, scale * std::sqrt(3.0f));
  FillSeededUniform(w.head.data(), w.head.size(), state, 0.0f, scale * std::sqrt(3.0f));
  return w;
}

ToyLmWeights LoadToyLmWeights(const std::string& path) {
  const SafeTensorsFile file = SafeTensorsFile::Open(path);
  const TensorInfo& embed = file.Info("model.embed_tokens.weight");
  if (embed.shape.size() != 2 || embed.shape[0] <= 0 || embed.shape[1] <= 0 ||
      embed.shape[0] > INT32_MAX || embed.shape[1] > INT32_MAX) {
    throw SafeTensorsError("safetensors file '" + path +
                           "', tensor 'model.embed_tokens.weight': expected shape [vocab, dim], "
                           "found " +
                           ShapeToString(embed.shape));
  }
  ToyLmWeights w;
  w.vocab = static_cast<int>(embed.shape[0]);
  w.dim = static_cast<int>(embed.shape[1]);
  w.embed = file.Read("model.embed_tokens.weight", embed.shape);
  w.head = file.Read("lm_head.weight", embed.shape);
  return w;
}

void SaveToyLmWeights(const std::string& path, const ToyLmWeights& w) {
  const std::vector<int64_t> shape = {w.vocab, w.dim};
  const size_t n = static_cast<size_t>(w.vocab) * w.dim;
  if (w.embed.size() != n || w.head.size() != n) {
    throw SafeTensorsError("SaveToyLmWeights '" + path + "': buffers do not match shape " +
                           ShapeToString(shape));
  }
  WriteSafeTensors(path, {{"model.embed_tokens.weight", shape, w.embed.data()},
                          {"lm_head.weight", shape, w.head.data()}});
}

ToyLm::ToyLm(const ToyLmWeights& weights, ThreadPool* pool)
    : weights_(weights), pool_(pool ? pool : &DefaultPool()), logits_(weights.vocab) {
  const size_t n = static_cast<size_t>(weights.vocab) * weights.dim;
  if (weights.vocab <= 0 || weights.dim <= 0 || weights.embed.size() != n ||
      weights.head.size() != n) {
    throw std::invalid_argument("ToyLm: weights do not match vocab " +
                                std::to_string(weights.vocab) + " x dim " +
                                std::to_string(weights.dim));
  }
}

const float* ToyLm::Forward(int token) {
  if (token < 0 || token >= weights_.vocab) {
    throw std::out_of_range("ToyLm::Forward: token " + std::to_string(token) +
                            " outside vocabulary [0, " + std::to_string(weights_.vocab) + ")");
  }
  const float* e = weights_.embed.data() + static_cast<size_t>(token) * weights_.dim;
  MatVec(weights_.head.data(), e, logits_.data(), weights_.vocab, weights_.dim, pool_);
  return logits_.data();
}

}  // namespace rlvr
