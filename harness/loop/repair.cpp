#include "harness/loop/repair.h"

#include <algorithm>

#include "harness/base/text_cut.h"
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
                   const Verdict& verdict, size_t max_chars) {
  constexpr size_t kMaxErrorChars = 6000;  // RepairRequest's own bound
  size_t used = RepairRequest(verdict.failed_gate, "").size();
  for (const ChatMessage& m : conversation) used += m.content.size();
  size_t room = max_chars > used ? max_chars - used : 0;
  std::string error =
      CutMiddle(FailureText(verdict), std::min(kMaxErrorChars, room / 2), "the failure text");
  room = room > error.size() ? room - error.size() : 0;
  conversation.push_back({"assistant", CutMiddle(reply, room, "your reply")});
  conversation.push_back({"user", RepairRequest(verdict.failed_gate, error, kMaxErrorChars)});
}

}  // namespace rlvr
