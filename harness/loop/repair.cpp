#include "harness/loop/repair.h"

#include "harness/loop/prompt.h"

namespace rlvr {

bool Repairable(const Verdict& v) {
  return !v.promotable && !v.failed_gate.empty() && v.failed_gate != "benchmark";
}

std::string FailureText(const Verdict& v) {
  const GateResult* gate = v.FindGate(v.failed_gate);
  std::string text = v.message;
  if (gate) {
    if (!gate->message.empty() && gate->message != text) text += "\n" + gate->message;
    if (!gate->detail.empty()) text += "\n" + gate->detail;
  }
  return text;
}

void AddRepairTurn(std::vector<ChatMessage>& conversation, const std::string& reply,
                   const Verdict& verdict) {
  conversation.push_back({"assistant", reply});
  conversation.push_back({"user", RepairRequest(verdict.failed_gate, FailureText(verdict))});
}

}  // namespace rlvr
