#include "harness/loop/prompt.h"

#include <algorithm>
#include <set>

#include <fmt/format.h>

#include "harness/base/secrets.h"

namespace rlvr {
namespace {

using nlohmann::json;

std::string OneLine(std::string text, size_t max) {
  for (char& c : text) {
    if (c == '\n' || c == '\r' || c == '\t') c = ' ';
  }
  // Collapse runs of spaces so compiler output stays readable in one line.
  std::string out;
  for (char c : text) {
    if (c == ' ' && !out.empty() && out.back() == ' ') continue;
    out += c;
  }
  if (out.size() > max) out = out.substr(0, max) + "...";
  return out;
}

std::string FormatNs(double ns) {
  if (ns >= 1e9) return fmt::format("{:.3f} s", ns / 1e9);
  if (ns >= 1e6) return fmt::format("{:.3f} ms", ns / 1e6);
  if (ns >= 1e3) return fmt::format("{:.3f} us", ns / 1e3);
  return fmt::format("{:.1f} ns", ns);
}

std::string FormatEntries(const json& entries, const std::vector<std::string>& primary) {
  std::string out;
  if (!entries.is_object()) return out;
  for (const auto& [name, value] : entries.items()) {
    if (!value.is_object()) continue;
    std::string line = "  " + name;
    if (value.contains("median_ns") && value["median_ns"].is_number()) {
      line += "  " + FormatNs(value["median_ns"].get<double>());
    }
    if (value.contains("counters") && value["counters"].is_object()) {
      for (const auto& [counter, v] : value["counters"].items()) {
        if (v.is_number()) line += fmt::format("  {}={:.4g}", counter, v.get<double>());
      }
    }
    if (std::find(primary.begin(), primary.end(), name) != primary.end()) {
      line += "  (primary)";
    }
    out += line + "\n";
  }
  return out;
}

// The fence is labelled by the file's own language (a C kernel may have C++ tests).
std::string FileBlock(const PromptFile& file, const std::string& language) {
  bool c = file.path.ends_with(".c") || (file.path.ends_with(".h") && language == "C");
  return fmt::format("--- {} ---\n```{}\n{}{}```\n\n", file.path, c ? "c" : "cpp", file.content,
                     file.content.empty() || file.content.back() == '\n' ? "" : "\n");
}

std::string SystemInstructions(const PromptInput& in) {
  std::string files;
  for (const PromptFile& f : in.editable) files += "  " + f.path + "\n";
  std::string checks;
  for (const std::string& line : in.checks) checks += "  - " + line + "\n";
  if (checks.empty()) checks = "  - the repository's tests, then a side-by-side benchmark\n";
  return fmt::format(
      "You are optimising the performance of a {} kernel (target '{}').\n"
      "Goal: make the primary benchmark faster while keeping results identical within the "
      "tests' tolerances.\n"
      "Constraints:\n"
      "- You may edit ONLY these files:\n{}"
      "- Keep the public interface (headers, function signatures) unchanged.\n"
      "- A kernel computes on its arguments only: its output must depend only on its inputs (no "
      "state kept between calls, no caching of results), and it may not read the environment, "
      "files or clocks, start processes or threads, or use inline assembly. Compiler "
      "intrinsics are fine. No new dependencies.\n"
      "- Formatting: {}\n"
      "{}"
      "- Your change is judged by these gates, in order; any failure rejects it:\n{}"
      "Reply format: a short explanation, then the change as either\n"
      "(a) a unified diff (```diff fenced, paths relative to the repository root, a/ b/ "
      "prefixes allowed), or\n"
      "(b) one or more SEARCH/REPLACE blocks:\n"
      "path/to/file\n"
      "<<<<<<< SEARCH\n"
      "exact existing lines\n"
      "=======\n"
      "replacement lines\n"
      ">>>>>>> REPLACE\n"
      "The SEARCH text must match the current file exactly, once.\n",
      in.language, in.target, files,
      in.formatting.empty() ? "keep the file's existing style" : in.formatting,
      in.naming.empty() ? std::string() : "- Names: " + in.naming + "\n", checks);
}

}  // namespace

std::string NamingRule(const std::string& language, const std::string& namespace_name,
                       const std::string& prefix) {
  std::string local = language == "C" ? "make new helper functions and variables `static`"
                                      : "put new helpers in an anonymous namespace or make "
                                        "them `static`";
  std::vector<std::string> allowed;
  if (!namespace_name.empty() && language != "C")
    allowed.push_back(fmt::format("inside namespace {}", namespace_name));
  if (!prefix.empty()) allowed.push_back(fmt::format("starting with {}", prefix));
  if (allowed.empty()) return local + "; no new global symbols";
  return fmt::format("{}; a new global symbol must be named {}", local, fmt::join(allowed, " or "));
}

std::string LanguageOf(const std::vector<std::string>& editable_paths) {
  bool c = false, cxx = false;
  for (const std::string& path : editable_paths) {
    if (path.ends_with(".c"))
      c = true;
    else if (!path.ends_with(".h"))
      cxx = true;
  }
  return c && !cxx ? "C" : "C++";
}

std::string FormatBaselineFigures(const json& baseline, const std::vector<std::string>& primary) {
  if (!baseline.is_object()) return "(no baseline recorded yet)\n";
  std::string out;
  std::string metric = baseline.value("metric", "real_time");
  out += fmt::format("Current baseline ({}, commit {}, {}):\n", metric,
                     baseline.value("commit", "?").substr(0, 12), baseline.value("cpu", "?"));
  out += FormatEntries(baseline.value("benchmarks", json::object()), primary);
  json refs = baseline.value("references", json::object());
  if (refs.is_object() && !refs.empty()) {
    out += "Reference figures (what good looks like on this machine):\n";
    out += FormatEntries(refs, {});
  }
  return out;
}

std::string SummarizeAttempt(const AttemptRecord& a, size_t excerpt_chars) {
  std::string line = fmt::format("round {}.{}", a.round, a.candidate);
  if (a.repair > 0) line += fmt::format(".{}", a.repair);
  line += " " + a.verdict;
  if (a.failed_gate) line += " at " + *a.failed_gate;
  if (a.primary_ratio) line += fmt::format(" (primary ratio {:.3f})", *a.primary_ratio);
  std::string detail = a.message;
  // The failing gate's own message carries the compiler error or failing test.
  json gates = json::parse(a.gates_json.empty() ? "null" : a.gates_json, nullptr, false);
  if (gates.is_array()) {
    for (const json& g : gates) {
      if (g.is_object() && g.value("status", "") == "fail" && g.contains("message") &&
          g["message"].is_string()) {
        std::string gm = g["message"].get<std::string>();
        if (gm != detail) detail += (detail.empty() ? "" : ": ") + gm;
        // The first compiler error or failing assertion, as the evaluator captured it.
        if (g.contains("detail") && g["detail"].is_string()) {
          detail += " | " + g["detail"].get<std::string>();
        }
        break;
      }
    }
  }
  if (!detail.empty()) line += ": " + OneLine(detail, excerpt_chars);
  return line;
}

std::string RepairRequest(const std::string& failed_gate, const std::string& error,
                          size_t max_error_chars) {
  std::string shown = error.size() > max_error_chars
                          ? error.substr(0, max_error_chars) + "\n[... truncated]"
                          : error;
  return RedactSecrets(fmt::format(
      "Your change failed the '{}' gate:\n```\n{}\n```\n"
      "Reply with a corrected change in the same format, against the ORIGINAL files shown "
      "above (your failed change was not applied).",
      failed_gate, shown));
}

std::vector<AttemptRecord> SelectInspirations(const std::vector<AttemptRecord>& attempts,
                                              size_t k) {
  auto ratio = [](const AttemptRecord& a) { return a.primary_ratio.value_or(1e9); };
  std::vector<AttemptRecord> passed, near;
  for (const AttemptRecord& a : attempts) {
    if (a.patch.empty() || a.repeat_of) continue;
    if (a.verdict == "passed") {
      passed.push_back(a);
    } else if (a.verdict == "failed" && a.failed_gate.value_or("") == "benchmark") {
      near.push_back(a);
    }
  }
  auto fastest = [&](const AttemptRecord& x, const AttemptRecord& y) {
    return ratio(x) < ratio(y);
  };
  std::stable_sort(passed.begin(), passed.end(), fastest);
  std::stable_sort(near.begin(), near.end(), fastest);
  std::vector<AttemptRecord> out;
  std::set<std::string> patches;
  for (const std::vector<AttemptRecord>* list : {&passed, &near}) {
    for (const AttemptRecord& a : *list) {
      if (out.size() >= k) return out;
      if (patches.insert(a.patch).second) out.push_back(a);
    }
  }
  return out;
}

namespace {

constexpr size_t kInspirationPatchChars = 6000;

std::string InspirationBlock(const AttemptRecord& a) {
  std::string why = a.verdict == "passed"
                        ? "passed every gate, not promoted (another was faster or HEAD moved)"
                        : "right but not faster enough: " + OneLine(a.message, 300);
  std::string ratio =
      a.primary_ratio ? fmt::format(", {:.3f}x the time of its HEAD", *a.primary_ratio) : "";
  std::string patch = a.patch.size() > kInspirationPatchChars
                          ? a.patch.substr(0, kInspirationPatchChars) + "\n[... cut]\n"
                          : a.patch;
  return fmt::format("- attempt {} ({}{}):\n```diff\n{}```\n", a.id, why, ratio, patch);
}

}  // namespace

std::vector<ChatMessage> BuildPrompt(const PromptInput& in) {
  std::string system = SystemInstructions(in);
  std::string head = fmt::format("Target: {}\n{}\n\n", in.target, in.description);
  std::string editable =
      "Editable files (as committed at HEAD: your change is applied to exactly this):\n\n";
  for (const PromptFile& f : in.editable) editable += FileBlock(f, in.language);
  std::string figures = FormatBaselineFigures(in.baseline, in.primary) + "\n";
  if (!in.headroom.empty()) {
    figures += "Headroom (the primary benchmarks against the machine's measured peaks):\n";
    for (const BenchmarkHeadroom& h : in.headroom) figures += "  " + DescribeHeadroom(h) + "\n";
    figures += "\n";
  }
  std::string tail =
      "Propose ONE focused optimisation of the editable files. Explain briefly, then give the "
      "change in the reply format.\n";

  size_t fixed = system.size() + head.size() + editable.size() + figures.size() + tail.size();
  size_t budget = in.max_chars > fixed ? in.max_chars - fixed : 0;

  // History first claims its share from the newest attempt backwards, so trimming drops the
  // oldest; context files take what remains, in listed order, and are dropped from the end.
  std::vector<std::string> history_lines;
  for (const AttemptRecord& a : in.history) history_lines.push_back("- " + SummarizeAttempt(a));
  std::vector<std::string> context_blocks;
  for (const PromptFile& f : in.context) context_blocks.push_back(FileBlock(f, in.language));

  size_t context_total = 0;
  for (const auto& b : context_blocks) context_total += b.size();
  size_t history_total = 0;
  for (const auto& l : history_lines) history_total += l.size() + 1;
  std::vector<std::string> inspiration_blocks;
  for (const AttemptRecord& a : in.inspirations) inspiration_blocks.push_back(InspirationBlock(a));
  size_t inspiration_total = 0;
  for (const auto& b : inspiration_blocks) inspiration_total += b.size();

  // Inspirations go first (the weakest last), then history, then context files.
  size_t inspiration_keep = inspiration_blocks.size();
  while (inspiration_keep > 0 && context_total + history_total + inspiration_total > budget) {
    inspiration_total -= inspiration_blocks[inspiration_keep - 1].size();
    --inspiration_keep;
  }

  // Oldest history goes first until everything fits, then context files from the end.
  size_t history_keep = history_lines.size();
  while (history_keep > 0 && context_total + history_total > budget) {
    history_total -= history_lines[history_keep - 1].size() + 1;
    --history_keep;
  }
  size_t context_keep = context_blocks.size();
  std::vector<std::string> dropped_context;
  while (context_keep > 0 && context_total + history_total > budget) {
    context_total -= context_blocks[context_keep - 1].size();
    dropped_context.push_back(in.context[context_keep - 1].path);
    --context_keep;
  }

  std::string user = head;
  user += editable;
  if (context_keep > 0 || !dropped_context.empty()) {
    user += "Context files (read-only):\n\n";
    for (size_t i = 0; i < context_keep; ++i) user += context_blocks[i];
    if (!dropped_context.empty()) {
      user += "(omitted for size:";
      for (auto it = dropped_context.rbegin(); it != dropped_context.rend(); ++it) {
        user += " " + *it;
      }
      user += ")\n\n";
    }
  }
  user += figures;
  if (inspiration_keep > 0) {
    user +=
        "Earlier candidates you may build on or combine (each was judged against the HEAD of "
        "its time; your change must still apply to the files shown above):\n";
    for (size_t i = 0; i < inspiration_keep; ++i) user += inspiration_blocks[i];
    user += "\n";
  }
  if (history_keep > 0) {
    user += "Recent attempts on this target (newest first; learn from the failures):\n";
    for (size_t i = 0; i < history_keep; ++i) user += history_lines[i] + "\n";
    if (history_keep < history_lines.size()) {
      user += fmt::format("({} older attempts omitted)\n", history_lines.size() - history_keep);
    }
    user += "\n";
  }
  user += tail;
  // Nothing a candidate printed (failure excerpts of earlier attempts) may carry a key back out.
  return {{"system", RedactSecrets(system)}, {"user", RedactSecrets(user)}};
}

std::string FlattenConversation(const std::vector<ChatMessage>& messages) {
  std::string out;
  for (const ChatMessage& m : messages) out += "## " + m.role + "\n" + m.content + "\n\n";
  return out;
}

}  // namespace rlvr
