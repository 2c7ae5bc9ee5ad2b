// rlvr_logprobs: prints the next-token log-probabilities (natural log, one per line, in id order)
// that rlvr's decoder gives after a prompt of token ids, on a GGUF file's weights as stored, for
// tests/llama_cpp/kld.sh to set beside llama.cpp's.
//
//   rlvr_logprobs MODEL.gguf ID,ID,...
#include <cmath>
#include <cstdio>
#include <sstream>
#include <string>
#include <vector>

#include "harness/lm/generate.h"

int main(int argc, char** argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: rlvr_logprobs MODEL.gguf ID,ID,...\n");
    return 2;
  }
  try {
    const rlvr::StoredWeights weights = rlvr::LoadGgufStored(argv[1]);
    std::vector<int> ids;
    std::stringstream list(argv[2]);
    for (std::string id; std::getline(list, id, ',');) ids.push_back(std::stoi(id));
    rlvr::Decoder decoder(weights);
    const float* logits = decoder.Prefill(ids);
    const int vocab = weights.config.vocab;
    double max = logits[0];
    for (int i = 1; i < vocab; ++i) max = std::fmax(max, logits[i]);
    double sum = 0;
    for (int i = 0; i < vocab; ++i) sum += std::exp(logits[i] - max);
    const double log_sum = max + std::log(sum);
    for (int i = 0; i < vocab; ++i) std::printf("%.9g\n", logits[i] - log_sum);
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "rlvr_logprobs: %s\n", e.what());
    return 1;
  }
}
