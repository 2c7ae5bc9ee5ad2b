// RunLoop and the LoopRunner's run (runner.h): targets in turn, budgets, the model call.
#include "harness/loop/loop.h"

#include <unistd.h>

#include <limits>
#include <random>
#include <thread>

#include <fmt/format.h>

#include "harness/base/disk_space.h"
#include "harness/base/secrets.h"
#include "harness/base/signals.h"
#include "harness/loop/runner.h"

namespace rlvr {

LoopResult RunLoop(const Project& project, CandidateJudge& evaluator, LlmSource& llm,
                   Ledger& ledger, const LoopSettings& settings,
                   const nlohmann::json& settings_json, std::ostream& out) {
  LoopModel model;
  model.name = llm.model();
  model.source = &llm;
  return RunLoop(project, evaluator, std::vector<LoopModel>{model}, ledger, settings, settings_json,
                 out);
}

LoopResult RunLoop(const Project& project, CandidateJudge& evaluator,
                   const std::vector<LoopModel>& models, Ledger& ledger,
                   const LoopSettings& settings, const nlohmann::json& settings_json,
                   std::ostream& out) {
  if (models.empty()) throw std::invalid_argument("RunLoop: no model");
  if (settings.max_cost > 0) {
    // A cost budget over unpriced requests would never be reached: refuse rather than overspend.
    for (const LoopModel& m : models) {
      if (!m.price) {
        throw ConfigError("a cost budget (max_cost) needs a price for every model; model '" +
                          m.name + "' has none");
      }
    }
  }
  return LoopRunner(project, evaluator, models, ledger, settings, out).Run(settings_json);
}

LoopRunner::LoopRunner(const Project& project, CandidateJudge& evaluator,
                       std::vector<LoopModel> models, Ledger& ledger, const LoopSettings& settings,
                       std::ostream& out)
    : project_(project),
      evaluator_(evaluator),
      models_(std::move(models)),
      seed_(settings.seed != 0 ? settings.seed : std::random_device{}()),
      strategy_(StrategyOrThrow(settings.strategy)),
      bandit_(
          [&] {
            std::vector<std::optional<ModelPrice>> prices;
            for (const LoopModel& m : models_) prices.push_back(m.price);
            return prices;
          }(),
          seed_),
      rng_(seed_ ^ 0x9e3779b97f4a7c15ULL),
      ledger_(ledger),
      settings_(settings),
      out_(out),
      start_(Clock::now()) {}

Strategy LoopRunner::StrategyOrThrow(const std::string& name) {
  std::optional<Strategy> strategy = ParseStrategy(name);
  if (!strategy)
    throw std::invalid_argument("unknown strategy '" + name + "' (one of " + StrategyNames() + ")");
  return *strategy;
}

double LoopRunner::SecondsSince(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

LoopResult LoopRunner::Run(const nlohmann::json& settings_json) {
  std::vector<const Target*> targets;
  for (const std::string& name : settings_.targets) targets.push_back(&project_.GetTarget(name));
  if (targets.empty()) {
    for (const Target& t : project_.targets) targets.push_back(&t);
  }
  if (targets.empty()) throw ConfigError("rlvr.json has no targets");
  announced_signals_ = StopRequestCount();
  std::atomic<bool> done{false};
  std::thread watcher([&] { WatchStopSignals(done); });
  struct JoinWatcher {
    std::atomic<bool>& done;
    std::thread& thread;
    ~JoinWatcher() {
      done = true;
      thread.join();
    }
  } join_watcher{done, watcher};
  std::string model_names, endpoints;
  for (const LoopModel& m : models_) {
    model_names += (model_names.empty() ? "" : ", ") + m.name;
    endpoints += (endpoints.empty() ? "" : ", ") + m.source->endpoint();
  }
  // The run's strategy and seed are recorded with it, so it can be compared and replayed.
  nlohmann::json recorded = settings_json;
  if (recorded.is_object()) {
    recorded["strategy"] = StrategyName(strategy_);
    recorded["seed"] = seed_;
  }
  run_id_ =
      ledger_.BeginRun(model_names, endpoints, recorded.dump(), getpid(), StrategyName(strategy_));
  Print(fmt::format("rlvr iterate: run {} ({}) with {} at {} on {} target(s)", run_id_,
                    StrategyName(strategy_), model_names, endpoints, targets.size()));
  try {
    // Verdicts of evaluations a killed loop left on the cluster are recorded before anything new.
    if (settings_.executor) RecoverAdopted();
    WarnAboutUncommittedEdits(targets);
    // Replies paid for and left unjudged by a stop are judged before any new request.
    JudgeLeftoverReplies(targets);
    // Rounds go where gains are likely (target_schedule.h); one target is strict turns.
    std::vector<std::string> names;
    std::vector<std::optional<double>> fractions;
    for (const Target* target : targets) {
      names.push_back(target->name);
      fractions.push_back(RooflineFractionAtHead(*target));
    }
    TargetScheduleSettings schedule_settings;
    // 0 = never rested that way.
    schedule_settings.rest_at_fraction =
        settings_.rest_at_fraction > 0 ? settings_.rest_at_fraction : 1e300;
    schedule_settings.rest_after_failures = settings_.rest_after_failures > 0
                                                ? settings_.rest_after_failures
                                                : std::numeric_limits<int>::max();
    schedule_.emplace(names, fractions, schedule_settings);
    PrintRestNotices();
    while (!CheckBudgets()) {
      std::optional<std::string> next = schedule_->Next();
      PrintRestNotices();
      if (!next) {
        stop_reason_ = "every target rested";
        break;
      }
      const Target& target = project_.GetTarget(*next);
      WarnAboutUncommittedEdits({&target});
      // A round is one usable reply judged: rounds where the model could not be used count
      // against --max-endpoint-failures only, not the iteration budget.
      if (settings_.executor ? RunRoundOnExecutor(target) : RunRound(target)) ++result_.rounds;
      if (settings_.max_iterations > 0 && result_.rounds >= settings_.max_iterations &&
          !stop_reason_) {
        stop_reason_ = "max-iterations";
      }
    }
  } catch (const std::exception& e) {
    // The harness itself failed: close the run with the reason if the ledger still takes
    // writes (a storage fault may be the failure), then let the caller report it.
    try {
      ledger_.FinishRun(run_id_, std::string("harness error: ") + e.what());
    } catch (const std::exception&) {
    }
    throw;
  }
  result_.stop_reason = *stop_reason_;
  result_.stopped_by_signal = result_.stop_reason == "stop signal";
  if (!deferred_.empty()) PromoteDeferred();
  if (models_.size() > 1) {
    for (size_t m = 0; m < models_.size(); ++m)
      Print("rlvr iterate: model " + bandit_.Describe(m, models_[m].name));
  }
  ledger_.FinishRun(run_id_, result_.stop_reason);
  Print(fmt::format("rlvr iterate: stopped ({}) after {} round(s), {} attempt(s), {} promotion(s)",
                    result_.stop_reason, result_.rounds, result_.attempts, result_.promotions));
  return result_;
}

void LoopRunner::Print(const std::string& line) {
  std::lock_guard<std::mutex> lock(out_mu_);
  out_ << line << "\n" << std::flush;
}

bool LoopRunner::CheckBudgets() {
  if (stop_reason_) return true;
  if (StopRequested()) {
    stop_reason_ = "stop signal";
  } else if (std::string low = LowDiskSpace(project_.root / ".rlvr", settings_.min_free_disk_bytes);
             !low.empty()) {
    StopForMachineFault(low);
  } else if (settings_.max_hours > 0 && SecondsSince(start_) >= settings_.max_hours * 3600) {
    stop_reason_ = "max-hours";
  } else if (settings_.max_tokens > 0 && tokens_used_ >= settings_.max_tokens) {
    stop_reason_ = "max-tokens";
  } else if (settings_.max_cost > 0 && cost_used_ >= settings_.max_cost) {
    stop_reason_ = "max-cost";
  }
  return stop_reason_.has_value();
}

std::optional<size_t> LoopRunner::ModelIndexOf(const std::string& name) const {
  for (size_t m = 0; m < models_.size(); ++m)
    if (models_[m].name == name) return m;
  return std::nullopt;
}

std::optional<LlmResponse> LoopRunner::Ask(const Target& target, int round, int candidate,
                                           int repair, const std::vector<ChatMessage>& messages,
                                           int n, std::optional<size_t> model) {
  Clock::time_point start = Clock::now();
  asked_model_ = model ? *model : bandit_.Choose();
  ActivityScope activity(this, Phase::kAsking,
                         fmt::format("{} {}.{}{}", target.name, round, candidate,
                                     repair > 0 ? fmt::format(".{}", repair) : std::string()));
  try {
    LlmResponse response = models_[asked_model_].source->Complete(target.name, messages, n);
    // A reply may quote a key: from here on (ledger, reply files, evaluation, repair turns) every
    // copy of it is the same redacted text.
    for (std::string& reply : response.replies) reply = RedactSecrets(reply);
    consecutive_failures_ = 0;
    tokens_used_ += response.prompt_tokens + response.completion_tokens;
    last_call_seconds_ = SecondsSince(start);
    last_call_cost_.reset();
    last_call_cost_estimated_ = response.usage_estimated;
    last_call_cached_tokens_ = response.cached_prompt_tokens;
    if (const std::optional<ModelPrice>& price = models_[asked_model_].price) {
      RequestCost cost = CostOf(*price, response);
      last_call_cost_ = cost.dollars;
      last_call_cost_estimated_ = cost.estimated;
      cost_used_ += cost.dollars;
    }
    bandit_.RecordRequest(asked_model_, response.prompt_tokens, response.completion_tokens,
                          last_call_cost_.value_or(0.0));
    return response;
  } catch (const LlmError& e) {
    // The notice of the signal that cut the request short names the request.
    if (e.cancelled()) AnnounceStopSignals();
    if (e.exhausted()) {
      // A replay that has given all its replies ends the run normally; nothing to record.
      stop_reason_ = "replay exhausted";
      return std::nullopt;
    }
    AttemptRecord a = NewAttempt(target, round, candidate, repair, messages);
    a.verdict = "error";
    a.failed_gate = "llm";
    a.message = e.what();
    a.seconds = SecondsSince(start);
    Record(a);
    if (e.cancelled()) {
      // Our own stop request, not the endpoint's fault: no failure counted.
      CheckBudgets();
      if (!stop_reason_) stop_reason_ = "stop signal";
      return std::nullopt;
    }
    ++consecutive_failures_;
    if (e.permanent()) {
      stop_reason_ = std::string("endpoint error: ") + e.what();
      result_.model_unusable = true;
    } else if (consecutive_failures_ >= settings_.max_endpoint_failures) {
      stop_reason_ = fmt::format("{} consecutive endpoint failures", consecutive_failures_);
      result_.model_unusable = true;
    }
    return std::nullopt;
  }
}

}  // namespace rlvr
