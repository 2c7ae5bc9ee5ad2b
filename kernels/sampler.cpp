#include "kernels/sampler.h"

#include <algorithm>
#include <bit>
#include <cmath>
#include <stdexcept>
#include <string>

#include "kernels/splitmix64.h"

namespace rlvr {

namespace {

// Uniform in [0, 1) with 53 random bits.
double NextUniform(uint64_t& state) {
  return static_cast<double>(SplitMix64(state) >> 11) * 0x1.0p-53;
}

// Larger logit first; equal logits by lower token id, so the order is total and deterministic.
bool Before(const std::pair<float, int>& a, const std::pair<float, int>& b) {
  return a.first > b.first || (a.first == b.first && a.second < b.second);
}

// Lowest index of the largest value. Each of the independent lanes (they vectorize) keeps its
// own maximum and where it first saw it; the lowest such index among the lanes holding the overall
// maximum is the answer. NaN never compares greater, so it is skipped.
int Argmax(const float* logits, int n) {
  constexpr int kLanes = 16;
  float lane_max[kLanes];
  int lane_index[kLanes];
  for (int l = 0; l < kLanes; ++l) {
    lane_max[l] = -INFINITY;
    lane_index[l] = n;
  }
  int i = 0;
  for (; i + kLanes <= n; i += kLanes) {
    for (int l = 0; l < kLanes; ++l) {
      const bool greater = logits[i + l] > lane_max[l];
      lane_max[l] = greater ? logits[i + l] : lane_max[l];
      lane_index[l] = greater ? i + l : lane_index[l];
    }
  }
  float best = -INFINITY;
  int best_index = n;
  for (int l = 0; l < kLanes; ++l) {
    if (lane_max[l] > best || (lane_max[l] == best && lane_index[l] < best_index)) {
      best = lane_max[l];
      best_index = lane_index[l];
    }
  }
  for (; i < n; ++i) {
    if (logits[i] > best) {  // tail indices are above every lane index: ties keep the lane's
      best = logits[i];
      best_index = i;
    }
  }
  return best_index < n ? best_index : 0;  // 0 when every logit is NaN or -inf
}

// Moves the k best candidates (by Before) into c[0, k), unordered. For small k a heap of the k
// best seen so far, whose worst member sits on top, rejects most candidates with one comparison;
// for large k nth_element is cheaper.
void SelectTopK(std::pair<float, int>* c, int n, int k) {
  if (k > n / 8) {
    std::nth_element(c, c + k - 1, c + n, Before);
    return;
  }
  std::make_heap(c, c + k, Before);
  for (int i = k; i < n; ++i) {
    if (Before(c[i], c[0])) {
      std::pop_heap(c, c + k, Before);
      c[k - 1] = c[i];
      std::push_heap(c, c + k, Before);
    }
  }
}

// Puts the largest candidates first, sorted, until their weights reach `target`; returns how many
// that takes (at least one). Sorting only a growing prefix (nth_element, then sort of the new
// chunk) costs O(n + kept log kept) instead of a full sort when the nucleus is small.
int SelectNucleus(std::pair<float, int>* c, int n, double target) {
  double mass = 0.0;
  int sorted = 0;
  int chunk = 64;
  while (sorted < n) {
    const int end = n - sorted <= chunk ? n : sorted + chunk;
    if (end < n) std::nth_element(c + sorted, c + end - 1, c + n, Before);
    std::sort(c + sorted, c + end, Before);
    for (; sorted < end; ++sorted) {
      mass += c[sorted].first;
      if (mass >= target) return sorted + 1;
    }
    chunk *= 4;
  }
  return n;
}

// Narrows the candidates for SelectNucleus without changing its answer: a histogram of the
// weights (all in [0, 1]) over buckets of ratio 2^(1/8), read from the float's exponent and top
// mantissa bits, shows the bucket where the descending mass first reaches `target`. Everything
// above that bucket is surely in the nucleus, everything below surely not, so only candidates in
// or above it are moved to the front; returns their count.
int PrefilterNucleus(std::pair<float, int>* c, int n, double target) {
  constexpr int kBuckets = 1024;  // (bits >> 20) of a float in [0, 1] is at most 127 * 8
  double mass[kBuckets] = {};
  auto bucket = [](float w) { return static_cast<int>(std::bit_cast<uint32_t>(w) >> 20); };
  for (int i = 0; i < n; ++i) mass[bucket(c[i].first)] += c[i].first;
  double cumulative = 0.0;
  int cut = kBuckets - 1;
  for (; cut > 0; --cut) {
    cumulative += mass[cut];
    if (cumulative >= target && cumulative > 0.0) break;  // > 0: top_p = 0 keeps the top token
  }
  return static_cast<int>(
      std::partition(c, c + n, [&](const auto& x) { return bucket(x.first) >= cut; }) - c);
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
  // T = 0 is greedy, and so is a temperature too small for 1/T to be finite (a subnormal T):
  // softmax(logit / T) puts all its mass on the maximum, while 0 * inf would make it NaN.
  if (config_.temperature == 0.0f || std::isinf(1.0f / config_.temperature))
    return Argmax(logits, vocab_size_);

  auto* c = candidates_.data();
  int n = vocab_size_;
  // NaN would break the strict ordering the sorts rely on; it is treated as impossible (-inf).
  for (int i = 0; i < n; ++i) c[i] = {std::isnan(logits[i]) ? -INFINITY : logits[i], i};

  // Top-k on logits is the same cut as on probabilities (softmax is monotonic).
  if (config_.top_k > 0 && config_.top_k < n) {
    SelectTopK(c, n, config_.top_k);
    n = config_.top_k;
  }
  // Probabilities of the kept candidates, softmax(logit / T) renormalized over them, as Hugging
  // Face's logits warpers do (top-p sees the distribution after top-k). Unnormalized weights
  // suffice: the draw scales by their total.
  float max = c[0].first;
  for (int i = 1; i < n; ++i) max = c[i].first > max ? c[i].first : max;
  if (max == -INFINITY) max = 0.0f;  // all -inf: every weight becomes 0 and the last is drawn
  const float inv_t = 1.0f / config_.temperature;
  double total = 0.0;
  for (int i = 0; i < n; ++i) {
    c[i].first = std::exp((c[i].first - max) * inv_t);
    total += c[i].first;
  }

  if (config_.top_p < 1.0f) {
    // Smallest prefix (sorted descending) whose mass reaches top_p; always at least one token.
    const double target = config_.top_p * total;
    n = SelectNucleus(c, PrefilterNucleus(c, n, target), target);
    total = 0.0;
    for (int i = 0; i < n; ++i) total += c[i].first;
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
