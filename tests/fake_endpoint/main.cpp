// rlvr_fake_endpoint: serves a scripted OpenAI-compatible endpoint on 127.0.0.1 for offline
// runs of `rlvr iterate` (see tests/fake_endpoint/fake_endpoint.h for the script format).
// Usage: rlvr_fake_endpoint SCRIPT.json [PORT]   (port 0 or absent = ephemeral; printed)
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <thread>

#include "tests/fake_endpoint/fake_endpoint.h"

namespace {
volatile std::sig_atomic_t g_stop = 0;
extern "C" void OnSignal(int) {
  g_stop = 1;
}
}  // namespace

int main(int argc, char** argv) {
  if (argc < 2 || argc > 3) {
    std::fprintf(stderr, "usage: %s SCRIPT.json [PORT]\n", argv[0]);
    return 2;
  }
  try {
    auto endpoint = rlvr::FakeEndpoint::FromFile(argv[1]);
    endpoint->Start(argc == 3 ? std::atoi(argv[2]) : 0);
    std::printf("%s\n", endpoint->base_url().c_str());
    std::fflush(stdout);
    std::signal(SIGINT, OnSignal);
    std::signal(SIGTERM, OnSignal);
    while (!g_stop) std::this_thread::sleep_for(std::chrono::milliseconds(100));
    endpoint->Stop();
    std::fprintf(stderr, "rlvr_fake_endpoint: served %zu requests\n", endpoint->requests().size());
  } catch (const std::exception& e) {
    std::fprintf(stderr, "rlvr_fake_endpoint: %s\n", e.what());
    return 1;
  }
  return 0;
}
