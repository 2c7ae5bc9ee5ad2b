// The models a loop run asks: one or more OpenAI-compatible endpoints (or stand-ins), each with
// its own name for the ledger and its price (llm/price.h). Which one a request goes to is the
// model bandit's choice (loop/model_bandit.h); one model is the simple case.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "harness/llm/client.h"
#include "harness/llm/price.h"

namespace rlvr {

struct LoopModel {
  std::string name;  // as the ledger records it: the source's model() unless set otherwise
  LlmSource* source = nullptr;      // not owned; must outlive the run
  std::optional<ModelPrice> price;  // unset: costs are not known (tokens still counted)
};

}  // namespace rlvr
