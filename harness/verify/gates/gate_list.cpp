#include "harness/verify/gates/gate.h"

#include <cstdio>

#include "harness/candidate/build.h"

namespace rlvr {

extern const Gate kScopeGate;
extern const Gate kApplyGate;
extern const Gate kFormatGate;
extern const Gate kBuildGate;
extern const Gate kTestsGate;
extern const Gate kHistoryGate;
extern const Gate kPortableGate;
extern const Gate kSanitizersGate;
extern const Gate kAllocationsGate;
extern const Gate kBenchmarkGate;

const std::vector<const Gate*>& VerifierGates() {
  static const std::vector<const Gate*> gates = {
      &kScopeGate,   &kApplyGate,    &kFormatGate,     &kBuildGate,       &kTestsGate,
      &kHistoryGate, &kPortableGate, &kSanitizersGate, &kAllocationsGate, &kBenchmarkGate};
  return gates;
}

std::vector<std::string> GateContext::BinaryTargets() const {
  // Test or benchmark commands (ctest, scripts) may need any program of the build: build all.
  // So may a differential oracle program.
  if (!target.UsesGoogleTest() || target.UsesBenchCommand() || target.oracle.enabled()) return {};
  return {TargetNameOf(project.build.test_binary), TargetNameOf(project.build.bench_binary)};
}

void GateContext::Log(const std::string& line) const {
  if (options.verbose) std::fprintf(stderr, "[rlvr evaluate] %s\n", line.c_str());
}

void GateContext::Step(const std::string& step) const {
  if (progress != nullptr) progress->Step(step);
}

void GateContext::Detail(const std::string& detail) const {
  if (progress != nullptr) progress->Detail(detail);
}

GateResult Pass(std::string message, std::string detail) {
  return {"", GateStatus::kPass, 0, std::move(message), std::move(detail)};
}
GateResult Fail(std::string message, std::string detail) {
  return {"", GateStatus::kFail, 0, std::move(message), std::move(detail)};
}
GateResult Skip(std::string message) {
  return {"", GateStatus::kSkipped, 0, std::move(message), ""};
}

std::string JoinNames(const std::vector<std::string>& items, const char* separator) {
  std::string out;
  for (const auto& item : items) out += (out.empty() ? "" : separator) + item;
  return out;
}

}  // namespace rlvr
