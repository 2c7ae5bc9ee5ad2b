#include "harness/loopbench/bench.h"

#include <chrono>
#include <fstream>
#include <memory>
#include <set>

#include <fmt/format.h>

#include "harness/base/config.h"
#include "harness/base/run_lock.h"
#include "harness/git/worktree.h"
#include "harness/ledger/ledger.h"
#include "harness/llm/simulated.h"
#include "harness/loop/loop.h"
#include "harness/loopbench/bench_repo.h"
#include "harness/loopbench/verdict_cache.h"
#include "harness/verify/evaluate.h"

namespace rlvr {
namespace {

namespace fs = std::filesystem;

// A run's share of proposals, counted over all its models: once `left` replies were served the
// next request ends the run the way a replay's last reply does (an exhausted LlmError).
struct ProposalBudget {
  int left = 0;
  int served = 0;
};

class BudgetedSource : public LlmSource {
 public:
  BudgetedSource(LlmSource& inner, ProposalBudget& budget) : inner_(inner), budget_(budget) {}

  LlmResponse Complete(const std::string& target, const std::vector<ChatMessage>& messages,
                       int n) override {
    if (budget_.left <= 0)
      throw LlmError("the run's proposals are all served", /*permanent=*/true, /*exhausted=*/true);
    LlmResponse response = inner_.Complete(target, messages, std::min(n, budget_.left));
    budget_.left -= static_cast<int>(response.replies.size());
    budget_.served += static_cast<int>(response.replies.size());
    return response;
  }
  std::string model() const override { return inner_.model(); }
  std::string endpoint() const override { return inner_.endpoint(); }

 private:
  LlmSource& inner_;
  ProposalBudget& budget_;
};

std::vector<const Target*> BenchTargets(const Project& project, const LoopBenchSettings& settings,
                                        const std::vector<Proposal>& proposals) {
  std::vector<const Target*> targets;
  for (const std::string& name : settings.targets) {
    const Target* target = project.FindTarget(name);
    if (target == nullptr)
      throw LoopBenchSettingsError("loop bench settings: \"targets\" names '" + name +
                                   "', which rlvr.json does not have");
    targets.push_back(target);
  }
  if (targets.empty()) {
    for (const Target& t : project.targets) targets.push_back(&t);
  }
  for (const Target* target : targets) {
    bool served = false;
    for (const Proposal& p : proposals) {
      auto weight = settings.class_mix.find(p.label);
      served |=
          p.target == target->name && (settings.class_mix.empty() ||
                                       (weight != settings.class_mix.end() && weight->second > 0));
    }
    if (!served)
      throw LoopBenchSettingsError("loop bench: the proposal library has no proposal for target '" +
                                   target->name + "' of a label \"class_mix\" gives weight");
  }
  return targets;
}

std::string SettingsTag(const LoopBenchSettings& settings) {
  return fmt::format("sanitizers={} bench_rounds={}", !settings.no_sanitizers,
                     settings.bench_rounds);
}

}  // namespace

LoopBenchResult RunLoopBench(const LoopBenchSettings& settings,
                             const std::vector<Proposal>& proposals, const LoopBenchPaths& paths,
                             std::ostream& out) {
  fs::path user_root = fs::absolute(paths.repo_root);
  fs::path work =
      paths.work_dir.empty() ? user_root / ".rlvr" / "loop-bench" : fs::absolute(paths.work_dir);
  // The default work folder lies in the user's state folder, which git ignores as a whole.
  if (paths.work_dir.empty()) EnsureStateDir(user_root / ".rlvr");
  fs::create_directories(work);
  BenchRepo repo = PrepareBenchRepo(user_root, work);
  EnsureStateDir(repo.root / ".rlvr");
  RunLock lock(repo.root, "rlvr loop-bench");
  Project project = LoadProject(repo.root);
  std::vector<const Target*> targets = BenchTargets(project, settings, proposals);
  std::vector<std::string> target_names;
  for (const Target* t : targets) target_names.push_back(t->name);

  EvaluateOptions options;
  options.sanitizers = !settings.no_sanitizers;
  options.bench_rounds = settings.bench_rounds;
  Evaluator evaluator(project, options);
  ReusingJudge judge(evaluator, work / "verdicts.json", SettingsTag(settings));

  std::map<std::string, std::optional<ModelPrice>> prices;
  std::map<std::string, bool> usage_reported;
  for (const LoopBenchModel& m : settings.models) {
    prices[m.name] = m.price;
    usage_reported[m.name] = m.report_usage;
  }
  SimulatedModel lookup(proposals, SimulatedModelSettings{});
  auto proposal_of = [&](const std::string& reply) { return lookup.ProposalOfReply(reply); };

  LoopBenchResult result;
  result.start_commit = repo.start_commit;
  fs::create_directories(work / "ledgers");
  fs::create_directories(work / "logs");
  out << fmt::format(
      "rlvr loop-bench: {} strategy(ies) x {} seed(s), {} proposal(s) a run, on "
      "{} at {} (clone in {})\n",
      settings.strategies.size(), settings.seeds, settings.proposals, fmt::join(target_names, ", "),
      repo.start_commit.substr(0, 12), repo.root.string());
  for (const std::string& strategy : settings.strategies) {
    for (int seed = 1; seed <= settings.seeds; ++seed) {
      ResetBenchRepo(repo);
      std::string name = fmt::format("{}-seed{}", strategy, seed);
      fs::path ledger_path = work / "ledgers" / (name + ".sqlite");
      fs::remove(ledger_path);
      fs::remove(fs::path(ledger_path.string() + "-journal"));
      Ledger ledger(ledger_path);

      ProposalBudget budget{settings.proposals, 0};
      std::vector<std::unique_ptr<SimulatedModel>> models;
      std::vector<std::unique_ptr<BudgetedSource>> sources;
      std::vector<LoopModel> loop_models;
      for (size_t i = 0; i < settings.models.size(); ++i) {
        const LoopBenchModel& m = settings.models[i];
        SimulatedModelSettings simulated;
        simulated.name = m.name;
        simulated.class_weights = settings.class_mix;
        simulated.quality = m.quality;
        simulated.latency_seconds = m.latency_seconds;
        simulated.prompt_tokens = m.prompt_tokens;
        simulated.completion_tokens = m.completion_tokens;
        simulated.report_usage = m.report_usage;
        simulated.repeat_rate = settings.repeat_rate;
        // Each model its own stream, each seed its own draw: seed 3's model 2 draws from 3002.
        simulated.seed = static_cast<uint64_t>(seed) * 1000 + i + 1;
        models.push_back(std::make_unique<SimulatedModel>(proposals, simulated));
        sources.push_back(std::make_unique<BudgetedSource>(*models.back(), budget));
        loop_models.push_back({m.name, sources.back().get(), m.price});
      }
      LoopSettings loop;
      loop.targets = target_names;
      loop.candidates = settings.candidates;
      loop.strategy = strategy;
      nlohmann::json recorded = LoopBenchSettingsJson(settings);
      recorded["loop_bench"] = {{"strategy", strategy}, {"seed", seed}};

      std::ofstream log(work / "logs" / (name + ".log"), std::ios::trunc);
      auto start = std::chrono::steady_clock::now();
      LoopResult loop_result = RunLoop(project, judge, loop_models, ledger, loop, recorded, log);
      RunMetrics metrics;
      metrics.strategy = strategy;
      metrics.seed = seed;
      metrics.stop_reason = loop_result.stop_reason;
      metrics.proposals = budget.served;
      metrics.wall_seconds =
          std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
      MeasureRun(ledger, ledger.LastRun()->id, targets, proposal_of, prices, usage_reported,
                 &metrics);
      result.false_promotions += metrics.false_promotions;
      out << fmt::format(
                 "  {:<12} seed {:<3} {:>3} proposal(s) {:>2} promotion(s) {:>2} false  "
                 "speed-up {:.3f}x  {:.0f} s  ({})\n",
                 strategy, seed, metrics.proposals, metrics.promotions, metrics.false_promotions,
                 metrics.speedup, metrics.wall_seconds, metrics.stop_reason)
          << std::flush;
      result.runs.push_back(std::move(metrics));
      if (loop_result.stopped_by_signal) {
        result.interrupted = true;
        break;
      }
    }
    if (result.interrupted) break;
  }
  ResetBenchRepo(repo);
  result.judged = judge.judged();
  result.reused = judge.reused();
  result.strategies = SummariseStrategies(settings.strategies, result.runs);
  return result;
}

}  // namespace rlvr
