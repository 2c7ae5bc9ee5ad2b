#include "kernels/sampler.h"

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <string>

namespace rlvr {

namespace {

// SplitMix64: one 64-bit word of state, full period, and the same stream on every platform
// (std:: distributions are not portable across standard libraries).
uint64_t NextRandom(uint64_t& state) {
  uint64_t z = (state += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

// Uniform in [0, 1) with 53 random bits.
double NextUniform(uint64_t& state) {
  return static_cast<double>(NextRandom(state) >> 11) * 0x1.0p-53;
}

// Larger logit first; equal logits by lower token id, so the order is total and deterministic.
bool Before(const std::pair<float, int>& a, const std::pair<float, int>& b) {
  return a.first > b.first || (a.first == b.first && a.second < b.second);
}

int Argmax(const float* logits, int n) {
  int best = 0;
  for (int i = 1; i < n; ++i) {
    if (logits[i] > logits[best]) best = i;  // strict: ties keep the lowest index
  }
  return best;
}

}  // namespace

Sampler::Sampler(int vocab_size, SamplerConfig config)
    : vocab_size_(vocab_size), config_(config), rng_state_(config.seed) {
  if (vocab_size <= 0) {
    throw std::invalid_argument("Sampler: vocab_size must be positive, got " +
                                std::to_string(vocab_size));
  }
  if (!(config.temperature >= 0.0f) || std::isinf(config.temperature)) {
    throw std::invalid_argument("Sampler: temperature must be finite and >= 0, got " +
                                std::to_string(config.temperature));
  }
  if (config.top_k < 0) {
    throw std::invalid_argument("Sampler: top_k must be >= 0 (0 disables it), got " +
                                std::to_string(config.top_k));
  }
  if (!(config.top_p >= 0.0f && config.top_p <= 1.0f)) {
    throw std::invalid_argument("Sampler: top_p must be in [0, 1], got " +
                                std::to_string(config.top_p));
  }
  candidates_.resize(vocab_size);
}

void Sampler::Reset() {
  rng_state_ = config_.seed;
}

int Sampler::Sample(const float* logits) {
  if (config_.temperature == 0.0f) return Argmax(logits, vocab_size_);

  auto* c = candidates_.data();
  int n = vocab_size_;
  // NaN would break the strict ordering the sorts rely on; it is treated as impossible (-inf).
  for (int i = 0; i < n; ++i) c[i] = {std::isnan(logits[i]) ? -INFINITY : logits[i], i};

  // Top-k on logits is the same cut as on probabilities (softmax is monotonic).
  if (config_.top_k > 0 && config_.top_k < n) {
    std::nth_element(c, c + config_.top_k - 1, c + n, Before);
    n = config_.top_k;
  }
  const bool nucleus = config_.top_p < 1.0f;
  if (nucleus) std::sort(c, c + n, Before);

  // Probabilities of the kept candidates, softmax(logit / T) renormalized over them, as Hugging
  // Face's logits warpers do (top-p sees the distribution after top-k).
  float max = c[0].first;
  for (int i = 1; i < n; ++i) max = c[i].first > max ? c[i].first : max;
  const float inv_t = 1.0f / config_.temperature;
  if (max == -INFINITY) max = 0.0f;  // all -inf: every weight becomes 0 and the last is drawn
  double total = 0.0;
  for (int i = 0; i < n; ++i) {
    c[i].first = std::exp((c[i].first - max) * inv_t);
    total += c[i].first;
  }

  if (nucleus) {
    // Smallest prefix (sorted descending) whose mass reaches top_p; always at least one token.
    const double target = config_.top_p * total;
    double mass = 0.0;
    int keep = 0;
    while (keep < n) {
      mass += c[keep].first;
      ++keep;
      if (mass >= target) break;
    }
    n = keep;
    total = mass;
  }

  const double r = NextUniform(rng_state_) * total;
  double cumulative = 0.0;
  for (int i = 0; i < n; ++i) {
    cumulative += c[i].first;
    if (r < cumulative) return c[i].second;
  }
  return c[n - 1].second;  // rounding left r at the very top of the mass
}

}  // namespace rlvr
