// The training loop and everything around it, in the order a run does it.
#include "train/trainer.h"

#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <limits>
#include <optional>
#include <sstream>

#include "data/export_csv.h"
#include "data/most_popular.h"
#include "nn/adam.h"
#include "io/atomic_file.h"
#include "io/json.h"
#include "nn/clip.h"
#include "train/checkpoint.h"
#include "train/evaluate.h"
#include "train/evaluation_checks.h"
#include "train/export.h"
#include "train/input_files.h"
#include "train/interrupt.h"
#include "train/memory_estimate.h"
#include "train/option_table.h"
#include "train/output_folder.h"
#include "train/parameter_check.h"
#include "train/progress.h"
#include "train/resume_files.h"
#include "train/sliced_step.h"
#include "train/threads.h"

namespace mind::train {

namespace {

using Clock = std::chrono::steady_clock;

// --split users (protocol v1) validates and tests; --split none trains on everyone, evaluates nothing.
bool holds_out_users(const TrainOptions& options) { return options.data.split != "none"; }

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

// Each batch is cut into this many slices, trained side by side (train/sliced_step.h). Fixed, so
// that results never depend on --threads.
constexpr int64_t batch_slices = 2;

// One --seed, several independent streams: the model's initial values, the epoch shuffles, the
// shared negatives and (optionally) fresh routing logits each get their own generator.
uint64_t stream_seed(uint64_t seed, uint64_t stream) { return seed * 0x9e3779b97f4a7c15ULL + stream; }

std::string format_metric(double value) {
  char text[32];
  std::snprintf(text, sizeof(text), "%.4f", value);
  return text;
}

// Appends one evaluation (or timing) record to DIR/metrics.jsonl.
class MetricsLog {
 public:
  explicit MetricsLog(const std::string& path) : path_(path) {}

  void evaluation(int64_t epoch, int64_t step, const char* split, const std::string& model, double loss,
                  const data::EvalResult& result, double samples_per_second, double seconds,
                  const data::InterestDiagnostics* diagnostics = nullptr) {
    // A mean over zero users is no number: null, never a 0 that reads as a measured result.
    const auto metric = [&](double value) {
      return result.user_count > 0 ? nlohmann::ordered_json(value) : nlohmann::ordered_json();
    };
    nlohmann::ordered_json line = {{"epoch", epoch},
                                   {"step", step},
                                   {"split", split},
                                   {"model", model},
                                   {"loss", std::isfinite(loss) ? nlohmann::ordered_json(loss) : nlohmann::ordered_json()},
                                   {"recall@20", metric(result.at_20.recall)},
                                   {"recall@50", metric(result.at_50.recall)},
                                   {"hitrate@20", metric(result.at_20.hit_rate)},
                                   {"hitrate@50", metric(result.at_50.hit_rate)},
                                   {"ndcg@20", metric(result.at_20.ndcg)},
                                   {"ndcg@50", metric(result.at_50.ndcg)},
                                   {"users", result.user_count},
                                   {"samples_per_second", samples_per_second},
                                   {"seconds", seconds}};
    if (diagnostics != nullptr) {  // the test line: what the interests look like (data/diagnostics.h)
      const auto or_null = [](int64_t count, double value) {
        return count > 0 ? nlohmann::ordered_json(value) : nlohmann::ordered_json();
      };
      line["purity"] = or_null(diagnostics->interest_count, diagnostics->purity);
      line["coverage"] = or_null(diagnostics->user_count, diagnostics->coverage);
      line["interest_collapse"] = or_null(diagnostics->collapse_user_count, diagnostics->interest_collapse);
      line["users_with_live_interests"] = diagnostics->users_with_live_interests;  // users with 1, 2, .., K live interests
    }
    append(line);
  }

  void timing(const std::string& model, int64_t steps, double samples_per_second) {
    append({{"split", "train"}, {"model", model}, {"steps", steps}, {"samples_per_second", samples_per_second}});
  }

 private:
  void append(const nlohmann::ordered_json& line) {
    std::ofstream file(path_, std::ios::app);
    file << io::dump_json(line) << "\n";
    if (!file) throw std::runtime_error(path_ + ": cannot append the metrics line");
  }
  std::string path_;
};

void print_evaluation(std::ostream& out, const std::string& what, const data::EvalResult& result) {
  if (result.user_count == 0) {
    out << what << ": no evaluated users, no metrics" << std::endl;
    return;
  }
  out << what << ": Recall@20 " << format_metric(result.at_20.recall) << "  Recall@50 "
      << format_metric(result.at_50.recall) << "  HitRate@20 " << format_metric(result.at_20.hit_rate)
      << "  HitRate@50 " << format_metric(result.at_50.hit_rate) << "  NDCG@20 " << format_metric(result.at_20.ndcg)
      << "  NDCG@50 " << format_metric(result.at_50.ndcg) << "  (" << result.user_count << " users)" << std::endl;
}

void print_table(std::ostream& out, const std::string& title, const data::EvalResult& result) {
  if (result.user_count == 0) {
    out << "\n" << title << ": no evaluated users, no metrics" << std::endl;
    return;
  }
  out << "\n" << title << " (" << result.user_count << " users)\n"
      << "              @20      @50\n"
      << "  Recall   " << format_metric(result.at_20.recall) << "   " << format_metric(result.at_50.recall) << "\n"
      << "  HitRate  " << format_metric(result.at_20.hit_rate) << "   " << format_metric(result.at_50.hit_rate) << "\n"
      << "  NDCG     " << format_metric(result.at_20.ndcg) << "   " << format_metric(result.at_50.ndcg) << "\n";
}

void print_diagnostics(std::ostream& out, const data::InterestDiagnostics& diagnostics) {
  if (diagnostics.interest_count > 0) {
    out << "interests: purity " << format_metric(diagnostics.purity) << " (share of an interest's top-20 in its main category, "
        << diagnostics.interest_count << " interests)";
    if (diagnostics.user_count > 0)
      out << "; coverage " << format_metric(diagnostics.coverage) << " (share of planted categories some interest finds)";
    out << "\n";
  }
  if (diagnostics.users_with_live_interests.size() > 1) {
    out << "interests: live per user";
    for (size_t k = 0; k < diagnostics.users_with_live_interests.size(); ++k)
      out << (k ? ", " : " ") << k + 1 << ": " << diagnostics.users_with_live_interests[k];
    out << " users";
    if (diagnostics.collapse_user_count > 0)
      out << "; collapse " << format_metric(diagnostics.interest_collapse)
          << " (mean cosine between a user's live interests, " << diagnostics.collapse_user_count << " users with 2+)";
    out << "\n";
  }
}

// `duplicate_rows`: rows repeating an earlier row exactly, which protocol v1 keeps (said, not hidden).
void print_dataset_summary(std::ostream& out, const data::Dataset& dataset, uint64_t duplicate_rows) {
  const auto evaluated = [&](data::Split split) { return data::evaluation_users(dataset, split).size(); };
  out << "data: " << dataset.source << ": " << dataset.user_count << " users (" << dataset.train_users.size()
      << " train, " << dataset.valid_users.size() << " valid, " << dataset.test_users.size() << " test), "
      << dataset.item_count << " items, " << dataset.interaction_count << " interactions, "
      << dataset.category_names.size() << " categories, " << dataset.field_count() << " profile fields";
  if (duplicate_rows > 0) out << ", " << duplicate_rows << " exact duplicate rows (kept: protocol v1 counts every row)";
  out << "\n"
      << "protocol v1: " << dataset.training_sample_count << " training samples; evaluated users: "
      << evaluated(data::Split::valid) << " valid, " << evaluated(data::Split::test) << " test";
  if (dataset.valid_users_too_short + dataset.test_users_too_short > 0)
    out << " (" << dataset.valid_users_too_short + dataset.test_users_too_short
        << " held-out users with fewer than 2 interactions left out)";
  out << "\n";
}

// The end of a NaN/Inf message: which of the model's tensors holds a non-finite value, or when
// none does (an op overflowed from finite inputs), the largest value, the usual culprit.
std::string describe_parameters(const models::Model& model, const std::string& folder) {
  const std::string nonfinite = first_nonfinite_parameter(model);
  const std::string parameters = nonfinite.empty()
      ? "no parameter holds NaN/Inf (largest value: " + largest_parameter_value(model) + ")"
      : "the parameter " + nonfinite;
  return "; " + parameters + ". The checkpoints already in " + folder + " are untouched.";
}

// A checkpoint is written only from finite weights, so a blow-up never replaces a good file.
void require_finite_parameters(const models::Model& model, int64_t step, const std::string& path) {
  const std::string nonfinite = first_nonfinite_parameter(model);
  if (!nonfinite.empty())
    throw NonFiniteError("step " + std::to_string(step) + ": not saving " + path + ": the parameter " + nonfinite +
                         ". The previous file is untouched.");
}

// Most-Popular needs no training: validate, test, write the id maps.
TrainReport run_most_popular(const TrainOptions& options, const data::Dataset& dataset, MetricsLog& metrics,
                             std::ostream& out) {
  TrainReport report;
  const auto start = Clock::now();
  const data::EvalResult valid = data::evaluate_most_popular(dataset, data::Split::valid, options.exclude_history);
  metrics.evaluation(0, 0, "valid", "most_popular", NAN, valid, 0.0, seconds_since(start));
  print_evaluation(out, "valid", valid);
  report.test = data::evaluate_most_popular(dataset, data::Split::test, options.exclude_history);
  metrics.evaluation(0, 0, "test", "most_popular", NAN, report.test, 0.0, seconds_since(start));
  print_table(out, "test metrics, most_popular", report.test);
  write_metrics_by_user(options.out + "/test_metrics_by_user.tsv", dataset, report.test);
  export_serving_data(options.out, dataset);
  return report;
}


// ---- the steps of a run, in the order run_training takes them --------------------------------

// Options in range, threads set, the output folder ready.
void prepare(const TrainOptions& options) {
  check_options(options);
  use_threads(options.threads, std::cerr);
  if (!holds_out_users(options) && options.model.model == "most_popular")
    throw std::invalid_argument("--split none: --model most_popular learns nothing and would evaluate nothing; "
                                "use the default --split users");
  if (!holds_out_users(options) && options.eval_every > 0)
    throw std::invalid_argument("--eval-every " + std::to_string(options.eval_every) +
                                ": --split none holds out no users, so there is nothing to validate");
  if (options.model.model != "most_popular")  // all but the M < N check, which needs the data
    models::validate_config(options.model, std::numeric_limits<int64_t>::max());
  // A mistyped path leaves no output folder behind (--resume checks its inputs' fingerprints).
  if (options.resume.empty()) data::require_inputs_exist(options.data);
  prepare_output_folder(options.out, !options.resume.empty() ? OutputUse::resume
                                     : options.overwrite     ? OutputUse::overwrite
                                                             : OutputUse::fresh);
}

// Reads (or generates) the log, optionally writes it as CSV, and builds protocol v1's splits.
data::Dataset load_data(const TrainOptions& options, std::ostream& out) {
  const auto load_start = Clock::now();
  out << "loading " << options.data.data << " ..." << std::endl;  // a large log takes seconds: say what is under way
  Progress progress(options.quiet);
  const data::InteractionLog log = data::load_interactions(options.data, loading_progress(progress));
  progress.finish();
  if (!options.export_data.empty()) {
    std::filesystem::create_directories(options.export_data);
    data::export_synthetic_csv(log, options.export_data);
    out << "wrote the log as CSV to " << options.export_data << "\n";
  }
  const data::UserSplit split = holds_out_users(options) ? data::UserSplit::users : data::UserSplit::none;
  data::Dataset dataset = data::build_dataset(log, static_cast<int>(options.data.fold), split);
  print_dataset_summary(out, dataset, log.duplicate_rows);
  out << "loaded in " << format_metric(seconds_since(load_start)) << " s" << std::endl;
  if (holds_out_users(options)) {  // --split none evaluates nothing
    require_evaluated_users(dataset);
    for (data::Split evaluated : {data::Split::valid, data::Split::test})
      if (const std::optional<std::string> warning =
              all_targets_in_history_warning(dataset, evaluated, options.exclude_history, "--no-exclude-history"))
        std::cerr << *warning << std::endl;
  }
  return dataset;
}

// Room for what the run will write, checked before the first step rather than at the first
// save: the model and best checkpoints, the optimizer's two moments, a temporary copy of the
// largest file while it is replaced, and the exports (train/export.h). (On --resume the files
// exist already: only the temporary copy and the exports are new.)
void require_room_for_outputs(const TrainOptions& options, const data::Dataset& dataset, const models::Model& model) {
  uint64_t model_bytes = 0;
  for (const Tensor& tensor : model.checkpoint_tensors()) model_bytes += static_cast<uint64_t>(tensor.numel()) * 4;
  require_free_space(options.out,
                     (options.resume.empty() ? 6 : 2) * model_bytes + export_bytes(dataset, options.model));
}

nn::AdamSettings adam_settings(const TrainOptions& options) {
  nn::AdamSettings adam;
  adam.learning_rate = options.learning_rate;
  adam.weight_decay = options.weight_decay;
  return adam;
}

// Everything a training run builds before its first step and works on until the end.
class TrainingRun {
 public:
  // Builds the model, the sliced step, the optimizer, the batches and the random streams.
  TrainingRun(const TrainOptions& options, const data::Dataset& dataset, MetricsLog& metrics, std::ostream& out)
      : options_(options),
        dataset_(dataset),
        metrics_(metrics),
        out_(out),
        folder_(options.out),
        config_(options.model),
        init_rng_(stream_seed(options.seed, 0)),
        catalogue_(models::catalogue_of(dataset)),
        model_(models::make_model(config_, catalogue_, init_rng_)),
        parameters_(model_->parameters()),
        sliced_step_(*model_, catalogue_, batch_slices),
        optimizer_(parameters_, adam_settings(options)),
        batcher_(dataset, options.batch_size, config_.max_len, stream_seed(options.seed, 1)),
        negative_rng_(stream_seed(options.seed, 2)),
        routing_rng_(stream_seed(options.seed, 3)),
        progress_(options.quiet) {
    require_room_for_outputs(options, dataset, *model_);
  }

  // --resume: the model, the optimizer and the loop's position as the last save left them.
  void restore() {
    const std::string recovered = recover_resume_files(folder_);
    if (!recovered.empty()) out_ << "--resume " << folder_ << ": " << recovered << "\n";
    load_model(folder_ + "/checkpoint.safetensors", *model_);
    load_optimizer(folder_ + "/optimizer.safetensors", optimizer_);
    state_ = load_train_state(folder_ + "/train_state.json");
    // The three files are written one after the other: a run killed between two of them (kill -9,
    // power cut) leaves files from different steps, which must not be trained on silently.
    if (optimizer_.step_count() != state_.step)
      throw std::runtime_error("--resume " + folder_ + ": optimizer.safetensors is at step " +
                               std::to_string(optimizer_.step_count()) + " but train_state.json at step " +
                               std::to_string(state_.step) + " (was a save cut short?)");
    batcher_.restore(state_.batcher);
    drop_metrics_after_step(folder_ + "/metrics.jsonl", state_.step);  // the resumed run writes them again
    negative_rng_.set_state(state_.negative_rng);
    routing_rng_.set_state(state_.routing_rng);
    out_ << "resumed from " << folder_ << " at step " << state_.step << " (" << state_.epochs_completed
         << " epochs completed)\n";
  }

  // The epochs, each a pass of steps with validations on the way, until the last epoch, the
  // step limit, early stopping or a signal (`interrupt` is asked after every step and between
  // evaluation batches). Returns the signal that stopped it, or 0.
  int train(const InterruptGuard& interrupt) {
    interrupt_ = &interrupt;
    out_ << "model: " << config_.model << ", d=" << config_.dim << ", K=" << config_.interests
         << ", L=" << config_.max_len << ", " << parameters_.size() << " parameter tensors; batches of "
         << options_.batch_size << ", " << batcher_.batches_per_epoch() << " per epoch\n";
    report_.first_losses = state_.first_losses;
    loss_sum_ = state_.loss_sum_since_validation;
    loss_count_ = state_.losses_since_validation;
    // The losses since the last validation are the steps since it (a run interrupted between two
    // validations and resumed still validates at the end, as the uninterrupted run does).
    last_evaluated_step_ = state_.step - loss_count_;
    run_start_ = timing_start_ = since_validation_ = Clock::now();
    first_step_ = state_.step;
    stop_ = state_.finished || (options_.max_steps > 0 && state_.step >= options_.max_steps);
    const std::string idle = nothing_to_train();
    if (!idle.empty()) out_ << idle << std::endl;
    // A validation the last run was interrupted in comes first, where the uninterrupted run had it.
    if (validation_due()) validate();
    while (!stop_ && state_.epochs_completed < options_.epochs) {
      train_epoch(interrupt);
      if (stop_) break;
      ++state_.epochs_completed;  // the epoch is exhausted
      const bool validated = options_.eval_every != 0 || !holds_out_users(options_) || validate();
      batcher_.start_epoch();     // also when Ctrl-C cut that validation short: the resume repeats it
      if (!validated) break;
      // --checkpoint-every 0: a save after each epoch (the last one is saved below, as the run ends).
      if (!stop_ && options_.checkpoint_every == 0 && state_.epochs_completed < options_.epochs) save_for_resume();
    }
    progress_.finish();
    report_.training_seconds = seconds_since(run_start_);
    report_.steps = state_.step;
    report_.epochs_completed = state_.epochs_completed;
    if (interrupted_by_ == 0) {
      report_timing();
      if (!holds_out_users(options_)) {
        // --split none: nothing to choose the best weights by, so the served weights are the last.
        require_finite_parameters(*model_, state_.step, folder_ + "/best.safetensors");
        save_model(folder_ + "/best.safetensors", *model_);
      } else if (last_evaluated_step_ != state_.step || state_.best_recall < 0.0) {
        validate();
      }
    }
    save_for_resume();
    return interrupted_by_;
  }

  // --split none: no test; the last weights exported, the test users' files with zero rows.
  TrainReport export_without_test() {
    out_ << "--split none: trained on every user for " << state_.epochs_completed << " epochs (" << state_.step
         << " steps); nothing evaluated; best.safetensors holds the last weights\n";
    const EncodedUsers no_test_users = encode_users(*model_, dataset_, {}, options_.eval_batch_size);  // [0, K, d]
    if (options_.before_export_for_testing) options_.before_export_for_testing();
    const std::vector<std::string> exported = export_with_progress(no_test_users);
    out_ << "wrote " << folder_ << "/: checkpoint.safetensors, best.safetensors (both the last weights), "
         << "optimizer.safetensors, train_state.json, run.json";
    for (const std::string& file : exported) out_ << ", " << file;
    out_ << "\n";
    return report_;
  }

  // The best weights on the test users, then the id maps and the embeddings.
  TrainReport test_and_export() {
    if (!holds_out_users(options_)) return export_without_test();
    if (state_.tested_step == state_.step) {
      out_ << "the run was already tested at step " << state_.step << " (the test line is in " << folder_
           << "/metrics.jsonl): nothing new to test or export" << std::endl;
      return report_;
    }
    load_model(folder_ + "/best.safetensors", *model_);
    out_ << "best valid Recall@50 " << format_metric(state_.best_recall) << " at step " << state_.best_step
         << "; testing those weights" << std::endl;
    Evaluation test = evaluate(*model_, dataset_, data::Split::test, options_.exclude_history,
                               options_.eval_batch_size, true, evaluation_watch("test (encode, rank, then diagnose)"));
    progress_.finish();
    if (!test.completed || interrupt_->signal_received() != 0) {
      interrupted_by_ = interrupt_->signal_received();
      return interrupted_report();
    }
    report_.test = test.metrics;
    report_.diagnostics = test.diagnostics;
    metrics_.evaluation(state_.epochs_completed, state_.step, "test", config_.model, NAN, test.metrics,
                        report_.samples_per_second, elapsed_seconds(), &test.diagnostics);
    write_metrics_by_user(folder_ + "/test_metrics_by_user.tsv", dataset_, test.metrics);
    print_table(out_, "test metrics, " + config_.model, test.metrics);
    print_diagnostics(out_, test.diagnostics);
    if (options_.before_export_for_testing) options_.before_export_for_testing();
    const std::vector<std::string> exported = export_with_progress(test.encoded);
    out_ << "wrote " << folder_ << "/: checkpoint.safetensors (last), best.safetensors, optimizer.safetensors, "
         << "train_state.json, run.json, metrics.jsonl, test_metrics_by_user.tsv";
    for (const std::string& file : exported) out_ << ", " << file;
    out_ << std::endl;
    // Recorded after the export: a run stopped in the test or the export is tested again on --resume.
    state_.tested_step = state_.step;
    state_.seconds = elapsed_seconds();  // a later resume's seconds continue after the test line's
    save_train_state(folder_ + "/train_state.json", state_);
    return report_;
  }

  TrainReport interrupted_report() {
    report_.interrupted_by_signal = interrupted_by_;
    out_ << "interrupted at step " << state_.step << "; resume with: mind_train --resume " << folder_ << std::endl;
    return report_;
  }

 private:
  // Why a run (a --resume, usually) has no step to take, or "" when it has.
  std::string nothing_to_train() const {
    if (state_.finished)
      return "nothing to train: the run stopped early at step " + std::to_string(state_.step) + " (--patience " +
             std::to_string(options_.patience) + ")";
    if (options_.max_steps > 0 && state_.step >= options_.max_steps)
      return "nothing to train: step " + std::to_string(state_.step) + " has reached --max-steps " +
             std::to_string(options_.max_steps) + " (saved with the run); give a larger --max-steps, or --max-steps 0 "
             "for no limit";
    if (state_.epochs_completed >= options_.epochs)
      return "nothing to train: the run has completed " + std::to_string(state_.epochs_completed) + " of --epochs " +
             std::to_string(options_.epochs) + "; give a larger --epochs to train further";
    return "";
  }

  // A validation point (every --eval-every steps, or an epoch's end) whose validation has not run:
  // the previous run was interrupted in it.
  bool validation_due() const {
    if (loss_count_ == 0 || state_.step == 0) return false;
    return options_.eval_every > 0 ? state_.step % options_.eval_every == 0 : batcher_.state().cursor == 0;
  }

  // Training seconds over every run of this folder, the resumed ones included.
  double elapsed_seconds() const { return state_.seconds + seconds_since(run_start_); }

  // export_run (train/export.h) with its progress on stderr once it has taken 2 s; a signal does
  // not cut it short. Returns the files written.
  std::vector<std::string> export_with_progress(const EncodedUsers& test_users) {
    const std::vector<std::string> files =
        export_run(folder_, dataset_, *model_, test_users, options_.eval_batch_size,
                   counting_progress(progress_, "export: every user's interests", "users"));
    progress_.finish();
    return files;
  }

  // Progress of an evaluation on stderr once it has taken 2 s, and the question "go on?" asked
  // between its batches. Its work counts each user two or three times (train/evaluate.h), as
  // `label` says.
  BetweenBatches evaluation_watch(const std::string& label) {
    const Clock::time_point start = Clock::now();
    return [this, label, start, started = false](int64_t done, int64_t total) mutable {
      if (!started) {
        progress_.start(label, total, "user passes", "user passes", 2.0);
        started = true;
      }
      progress_.update(done, static_cast<double>(done) / std::max(1e-9, seconds_since(start)), NAN);
      return interrupt_->signal_received() == 0;
    };
  }

  // One epoch's steps, from where the batcher stands (mid-epoch after a resume).
  void train_epoch(const InterruptGuard& interrupt) {
    const int64_t batches_done = (batcher_.state().cursor + options_.batch_size - 1) / options_.batch_size;
    progress_.start("epoch " + std::to_string(state_.epochs_completed + 1) + "/" + std::to_string(options_.epochs),
                    batcher_.batches_per_epoch());
    int64_t batch_in_epoch = batches_done;
    while (!stop_ && batcher_.next(batch_)) {
      const float loss = step(batch_);
      count_step(loss, batch_.size);
      progress_.update(++batch_in_epoch, samples_since_validation_ / std::max(1e-9, seconds_since(since_validation_)),
                       loss_sum_ / loss_count_);
      if (options_.eval_every > 0 && state_.step % options_.eval_every == 0 && !validate()) break;
      if (options_.checkpoint_every > 0 && state_.step % options_.checkpoint_every == 0) save_for_resume();
      if (options_.max_steps > 0 && state_.step >= options_.max_steps) stop_ = true;
      // A signal that arrives when the run is ending anyway changes nothing.
      if (!stop_ && interrupt.signal_received() != 0) {
        interrupted_by_ = interrupt.signal_received();
        stop_ = true;
      }
    }
  }

  // One optimizer step: shared negatives, forward and backward on the slices, clipping, Adam.
  // Returns the batch's loss; a NaN/Inf stops the run saying where it appeared.
  float step(const data::Batch& batch) {
    const std::vector<int32_t> negatives =
        config_.loss == "sampled" ? model_->sampler().sample(config_.negatives, negative_rng_) : std::vector<int32_t>();
    if (options_.before_step_for_testing) options_.before_step_for_testing(state_.step + 1, *model_);
    optimizer_.zero_grad();
    const SlicedStepResult forward_backward = sliced_step_.run(batch, negatives, &routing_rng_);
    if (!forward_backward.nonfinite.empty()) {
      progress_.finish();
      throw NonFiniteError("step " + std::to_string(state_.step + 1) + ": " + forward_backward.nonfinite +
                           describe_parameters(*model_, folder_));
    }
    try {
      if (options_.clip_norm > 0.0f)
        nn::clip_grad_norm(parameters_, options_.clip_norm);
      else
        nn::gradient_norm(parameters_);  // throws naming the first parameter with a NaN/Inf gradient
    } catch (const std::runtime_error& error) {
      progress_.finish();
      throw NonFiniteError("step " + std::to_string(state_.step + 1) + ": " + error.what() +
                           describe_parameters(*model_, folder_));
    }
    optimizer_.step();
    return forward_backward.loss;
  }

  // The step's loss and samples into the running means and the --max-steps timing.
  void count_step(float loss, int64_t samples) {
    ++state_.step;
    ++steps_this_run_;
    if (report_.first_losses.size() < 20) report_.first_losses.push_back(loss);
    loss_sum_ += loss;
    ++loss_count_;
    samples_since_validation_ += samples;
    if (steps_this_run_ == 20) timing_start_ = Clock::now();  // --max-steps timing skips 20 warm-up steps
    if (steps_this_run_ > 20) timed_samples_ += samples;
  }

  // Recall@50 on the validation users; a better one saves best.safetensors, too many worse ones
  // in a row stop the run (--patience). A signal during it stops the run and changes nothing
  // (returns false): the resumed run validates here again.
  bool validate() {
    const auto start = Clock::now();
    const double rate = samples_since_validation_ /
                        std::max(1e-9, std::chrono::duration<double>(start - since_validation_).count());
    const double mean_loss = loss_count_ > 0 ? loss_sum_ / loss_count_ : NAN;
    progress_.finish();
    Evaluation evaluation = evaluate(*model_, dataset_, data::Split::valid, options_.exclude_history,
                                     options_.eval_batch_size, false, evaluation_watch("valid (encode, then rank)"));
    progress_.finish();
    if (!evaluation.completed) {
      interrupted_by_ = interrupt_->signal_received();
      stop_ = true;
      return false;
    }
    metrics_.evaluation(state_.epochs_completed, state_.step, "valid", config_.model, mean_loss, evaluation.metrics,
                        rate, elapsed_seconds());
    out_ << "epoch " << state_.epochs_completed << " step " << state_.step << " loss " << format_metric(mean_loss)
         << "  ";
    print_evaluation(out_, "valid", evaluation.metrics);
    if (evaluation.metrics.at_50.recall > state_.best_recall) {
      state_.best_recall = evaluation.metrics.at_50.recall;
      state_.best_step = state_.step;
      state_.evaluations_without_improvement = 0;
      require_finite_parameters(*model_, state_.step, folder_ + "/best.safetensors");
      save_model(folder_ + "/best.safetensors", *model_);
    } else {
      ++state_.evaluations_without_improvement;
      if (options_.patience > 0 && state_.evaluations_without_improvement >= options_.patience) {
        out_ << "early stop: valid Recall@50 has not improved for " << options_.patience << " evaluations (best "
             << format_metric(state_.best_recall) << " at step " << state_.best_step << ")\n";
        state_.finished = true;
        stop_ = true;
      }
    }
    last_evaluated_step_ = state_.step;
    loss_sum_ = 0.0;
    loss_count_ = 0;
    samples_since_validation_ = 0;
    since_validation_ = Clock::now();
    return true;
  }

  // Samples per second since the last validation, or with --max-steps from the 21st step on.
  void report_timing() {
    report_.samples_per_second = samples_since_validation_ / std::max(1e-9, seconds_since(since_validation_));
    if (options_.max_steps > 0 && steps_this_run_ > 20) {
      report_.samples_per_second = timed_samples_ / std::max(1e-9, seconds_since(timing_start_));
      metrics_.timing(config_.model, state_.step, report_.samples_per_second);
      out_ << "timing: " << format_metric(report_.samples_per_second) << " samples/s over steps " << first_step_ + 21
           << ".." << state_.step << std::endl;
    }
  }

  // The last model, the optimizer and the loop's position: everything --resume needs. (After an
  // interruption nothing more: no final validation, no test, no export.)
  void save_for_resume() {
    state_.batcher = batcher_.state();
    state_.negative_rng = negative_rng_.state();
    state_.routing_rng = routing_rng_.state();
    state_.first_losses = report_.first_losses;
    state_.loss_sum_since_validation = loss_sum_;  // 0 after a final validation
    state_.losses_since_validation = loss_count_;
    state_.seconds = elapsed_seconds();
    require_finite_parameters(*model_, state_.step, folder_ + "/checkpoint.safetensors");
    save_model(staged_path(folder_, "checkpoint.safetensors"), *model_);
    save_optimizer(staged_path(folder_, "optimizer.safetensors"), optimizer_);
    save_train_state(staged_path(folder_, "train_state.json"), state_);
    commit_resume_files(folder_);  // the three change together, even under SIGKILL
  }

  // What the run was given and works on.
  const TrainOptions& options_;
  const data::Dataset& dataset_;
  MetricsLog& metrics_;
  std::ostream& out_;
  const std::string folder_;
  const models::ModelConfig config_;
  // Built in this order (the model's initial values come first from their own stream).
  Rng init_rng_;
  const models::Catalogue catalogue_;
  std::unique_ptr<models::Model> model_;
  std::vector<Tensor> parameters_;
  SlicedStep sliced_step_;
  nn::AdamWithLazyTables optimizer_;
  data::TrainBatcher batcher_;
  Rng negative_rng_, routing_rng_;
  Progress progress_;
  data::Batch batch_;
  // Where the loop is, and what it has seen since the last validation.
  TrainState state_;
  TrainReport report_;
  bool stop_ = false;
  int interrupted_by_ = 0;
  double loss_sum_ = 0.0;
  int64_t loss_count_ = 0;
  int64_t samples_since_validation_ = 0;
  int64_t last_evaluated_step_ = 0;
  int64_t steps_this_run_ = 0;
  int64_t first_step_ = 0;  // the step this run started from (0, or where --resume took over)
  const InterruptGuard* interrupt_ = nullptr;
  int64_t timed_samples_ = 0;
  Clock::time_point run_start_, timing_start_, since_validation_;
};

}  // namespace

TrainReport run_training(const TrainOptions& given, std::ostream& out) {
  TrainOptions options = given;
  make_paths_absolute(options);  // run.json then means the same files from any directory
  prepare(options);
  // The original command line with --resume added is accepted, --overwrite included; it removes nothing then.
  if (options.overwrite && !options.resume.empty())
    out << "note: --overwrite does nothing with --resume: the run in " << options.resume << " is continued\n";
  const std::vector<InputFile> inputs = fingerprint_inputs(options.data);
  if (!options.resume.empty()) require_same_inputs(options.resume, load_run_inputs(options.resume), inputs);
  const data::Dataset dataset = load_data(options, out);
  MetricsLog metrics(options.out + "/metrics.jsonl");
  // run.json is written only once every check has passed: a refused run must not leave one, or
  // the corrected command would find "a run" in --out. It is rewritten on --resume too, so that
  // the epochs / max steps / patience given then are what a later plain `--resume` continues to.
  if (options.model.model == "most_popular") {
    save_run_options(options.out, options, inputs);
    return run_most_popular(options, dataset, metrics, out);
  }

  // Before the model allocates anything: what the data rules out (M < N), then a size that can
  // never fit, naming its flag.
  models::validate_config(options.model, dataset.item_count);
  const int64_t evaluated_users = static_cast<int64_t>(std::max(data::evaluation_users(dataset, data::Split::valid).size(),
                                                                data::evaluation_users(dataset, data::Split::test).size()));
  require_memory(estimate_memory(options, models::catalogue_of(dataset), evaluated_users), available_memory_bytes());
  TrainingRun run(options, dataset, metrics, out);  // checks the room for the run's files
  save_run_options(options.out, options, inputs);
  if (!options.resume.empty()) run.restore();
  // From the first step to the end of the export, Ctrl-C / SIGTERM only ask the run to stop at the
  // next step or evaluation batch, leaving a resumable state; after it, they end the program again.
  const InterruptGuard interrupt;
  const int interrupted_by = run.train(interrupt);
  if (interrupted_by != 0) return run.interrupted_report();
  TrainReport report = run.test_and_export();
  // A signal during the export let it finish (cutting it would leave a half-written folder), but
  // the program still ends as interrupted, like in every other phase.
  if (report.interrupted_by_signal == 0 && interrupt.signal_received() != 0) {
    report.interrupted_by_signal = interrupt.signal_received();
    out << "interrupted during the export, after finishing it: " << options.out
        << " holds the complete, tested run (nothing to resume)" << std::endl;
  }
  return report;
}

}  // namespace mind::train
