// Verdict presentation lives in verify/verdict.cpp (Verdict::ToJson, Verdict::Render, declared in
// verify/evaluate.h); this header adds the inverse, for tools that read a verdict back.
#pragma once

#include <nlohmann/json.hpp>

#include "harness/verify/evaluate.h"

namespace rlvr {

// Inverse of Verdict::ToJson (fields missing from `json` keep their defaults).
Verdict VerdictFromJson(const nlohmann::json& json);

}  // namespace rlvr
