// The conversation the model sees: system instructions (goal, constraints, editable files, the
// reply format), the target's editable and context files, its baseline figures next to the
// reference figures (OpenBLAS, hardware peaks) and the recent attempts with their verdicts. The
// whole prompt is kept under a size bound by dropping the oldest history first, then context
// files; the editable files are never cut. Repair turns carry a failed candidate's exact error.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "harness/bench/roofline.h"
#include "harness/ledger/ledger.h"
#include "harness/llm/client.h"

namespace rlvr {

struct PromptFile {
  std::string path;  // relative to the repository root
  std::string content;
};

struct PromptInput {
  std::string target;
  std::string description;
  std::vector<PromptFile> editable;
  std::vector<PromptFile> context;
  std::vector<std::string> primary;    // primary benchmark names
  nlohmann::json baseline;             // baselines/<target>.json; null if none recorded
  std::vector<AttemptRecord> history;  // recent attempts on this target, most recent first
  // The best earlier candidates the model may build on or combine (SelectInspirations), with the
  // gate and figures that stopped them; dropped first when the prompt is over its bound.
  std::vector<AttemptRecord> inspirations;
  std::vector<BenchmarkHeadroom> headroom;  // each primary benchmark against its roofline
  size_t max_chars = 120000;                // bound on the whole prompt (~30k tokens)
  // From the repository and rlvr.json, not assumed: "C" or "C++" (from the editable files), the
  // gates that will judge the candidate (one line each, as configured for this target), and how
  // formatting is checked.
  std::string language = "C++";
  std::vector<std::string> checks;
  std::string formatting;
  // Which new global names the build gate accepts (rlvr.json "symbols"), e.g. "new helpers must
  // be static; a new global name must start with xxh_". Empty: not mentioned.
  std::string naming;
};

// The naming rule for the prompt, from the target's symbol rules and the language.
std::string NamingRule(const std::string& language, const std::string& namespace_name,
                       const std::string& prefix);

// "C" when every editable file is C (.c, or .h beside no C++ source), else "C++".
std::string LanguageOf(const std::vector<std::string>& editable_paths);

std::vector<ChatMessage> BuildPrompt(const PromptInput& input);

// From a target's earlier attempts (any order), the best `k` to show as inspirations: passed but
// not promoted (fastest first), then near misses (right but not faster: failed at the benchmark
// gate, or a pass without it), each with a patch; no two with the same patch; repeats skipped.
std::vector<AttemptRecord> SelectInspirations(const std::vector<AttemptRecord>& attempts, size_t k);

// "BM_Gemm/1024  12.3 ms  GFLOPS=174 (primary)" lines for benchmarks and references.
std::string FormatBaselineFigures(const nlohmann::json& baseline,
                                  const std::vector<std::string>& primary);

// One history line: "round 3.1 failed at build: error: 'x' was not declared ... (ratio 1.02)".
std::string SummarizeAttempt(const AttemptRecord& attempt, size_t excerpt_chars = 400);

// The user turn that asks for a corrected patch after a failure at `failed_gate`.
std::string RepairRequest(const std::string& failed_gate, const std::string& error,
                          size_t max_error_chars = 6000);

// Concatenated text of a conversation, for the ledger's prompt column.
std::string FlattenConversation(const std::vector<ChatMessage>& messages);

}  // namespace rlvr
