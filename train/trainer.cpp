// The training loop and everything around it, in the order a run does it.
#include "train/trainer.h"

#include <omp.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
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
#include "train/export.h"
#include "train/interrupt.h"
#include "train/output_folder.h"
#include "train/parameter_check.h"
#include "train/progress.h"
#include "train/sharded_step.h"

namespace mind::train {

namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

// Each batch is cut into this many slices, trained side by side (train/sharded_step.h). Fixed, so
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
                  const data::EvalResult& result, double samples_per_second, double seconds) {
    append({{"epoch", epoch},
            {"step", step},
            {"split", split},
            {"model", model},
            {"loss", std::isfinite(loss) ? nlohmann::ordered_json(loss) : nlohmann::ordered_json()},
            {"recall@20", result.at_20.recall},
            {"recall@50", result.at_50.recall},
            {"hitrate@20", result.at_20.hit_rate},
            {"hitrate@50", result.at_50.hit_rate},
            {"ndcg@20", result.at_20.ndcg},
            {"ndcg@50", result.at_50.ndcg},
            {"users", result.user_count},
            {"samples_per_second", samples_per_second},
            {"seconds", seconds}});
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
  out << what << ": Recall@20 " << format_metric(result.at_20.recall) << "  Recall@50 "
      << format_metric(result.at_50.recall) << "  HitRate@20 " << format_metric(result.at_20.hit_rate)
      << "  HitRate@50 " << format_metric(result.at_50.hit_rate) << "  NDCG@20 " << format_metric(result.at_20.ndcg)
      << "  NDCG@50 " << format_metric(result.at_50.ndcg) << "  (" << result.user_count << " users)" << std::endl;
}

void print_table(std::ostream& out, const std::string& title, const data::EvalResult& result) {
  out << "\n" << title << " (" << result.user_count << " users)\n"
      << "              @20      @50\n"
      << "  Recall   " << format_metric(result.at_20.recall) << "   " << format_metric(result.at_50.recall) << "\n"
      << "  HitRate  " << format_metric(result.at_20.hit_rate) << "   " << format_metric(result.at_50.hit_rate) << "\n"
      << "  NDCG     " << format_metric(result.at_20.ndcg) << "   " << format_metric(result.at_50.ndcg) << "\n";
}

void print_dataset_summary(std::ostream& out, const data::Dataset& dataset) {
  const auto evaluated = [&](data::Split split) { return data::evaluation_users(dataset, split).size(); };
  out << "data: " << dataset.source << ": " << dataset.user_count << " users (" << dataset.train_users.size()
      << " train, " << dataset.valid_users.size() << " valid, " << dataset.test_users.size() << " test), "
      << dataset.item_count << " items, " << dataset.interaction_count << " interactions, "
      << dataset.category_names.size() << " categories, " << dataset.field_count() << " profile fields\n"
      << "protocol v1: " << dataset.training_sample_count << " training samples; evaluated users: "
      << evaluated(data::Split::valid) << " valid, " << evaluated(data::Split::test) << " test";
  if (dataset.valid_users_too_short + dataset.test_users_too_short > 0)
    out << " (" << dataset.valid_users_too_short + dataset.test_users_too_short
        << " held-out users with fewer than 2 interactions left out)";
  out << "\n";
}

void write_text_file(const std::string& path, const std::string& text) {
  io::AtomicFileWriter writer(path);
  writer.write(text.data(), text.size());
  writer.commit();
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
  export_id_maps(options.out, dataset);
  return report;
}

}  // namespace

TrainOptions load_run_options(const std::string& folder) {
  const std::string path = folder + "/run.json";
  std::ifstream file(path);
  if (!file) throw std::runtime_error("--resume " + folder + ": no run.json there (is it a mind_train output folder?)");
  std::stringstream text;
  text << file.rdbuf();
  return options_from_json(io::parse_json(text.str(), path), path);
}

TrainReport run_training(const TrainOptions& options, std::ostream& out) {
  if (options.threads > 0) omp_set_num_threads(static_cast<int>(options.threads));
  if (options.batch_size < 1) throw std::invalid_argument("--batch-size must be at least 1");
  if (options.epochs < 0) throw std::invalid_argument("--epochs must not be negative");
  if (options.max_steps < 0) throw std::invalid_argument("--max-steps must not be negative");
  if (!(options.learning_rate > 0.0f) || !std::isfinite(options.learning_rate))
    throw std::invalid_argument("--lr must be a positive number");
  if (options.eval_every < 0) throw std::invalid_argument("--eval-every must not be negative");
  if (options.patience < 0) throw std::invalid_argument("--patience must not be negative");
  if (options.clip_norm < 0.0f) throw std::invalid_argument("--clip-norm must not be negative");
  if (options.model.model != "most_popular")  // all but the M < N check, which needs the data
    models::validate_config(options.model, std::numeric_limits<int64_t>::max());
  const bool resuming = !options.resume.empty();
  const std::string folder = options.out;
  prepare_output_folder(folder);

  // ---- data ---------------------------------------------------------------------------------
  const auto load_start = Clock::now();
  const data::InteractionLog log = data::load_interactions(options.data);
  if (!options.export_data.empty()) {
    std::filesystem::create_directories(options.export_data);
    data::export_synthetic_csv(log, options.export_data);
    out << "wrote the log as CSV to " << options.export_data << "\n";
  }
  const data::Dataset dataset = data::build_dataset(log);
  print_dataset_summary(out, dataset);
  out << "loaded in " << format_metric(seconds_since(load_start)) << " s\n";
  // Rewritten on --resume too, so that the epochs / max steps / patience it was given are what a
  // later plain `--resume` (after a Ctrl-C, say) continues to.
  write_text_file(folder + "/run.json", io::dump_json(options_to_json(options)) + "\n");
  MetricsLog metrics(folder + "/metrics.jsonl");
  if (options.model.model == "most_popular") return run_most_popular(options, dataset, metrics, out);

  // ---- model, optimizer, batches --------------------------------------------------------------
  models::ModelConfig config = options.model;
  Rng init_rng(stream_seed(options.seed, 0));
  const models::Catalogue catalogue = models::catalogue_of(dataset);
  std::unique_ptr<models::Model> model = models::make_model(config, catalogue, init_rng);
  std::vector<Tensor> parameters = model->parameters();
  // Forward and backward run on slices of each batch, side by side (train/sharded_step.h).
  ShardedStep sharded_step(*model, catalogue, batch_slices);
  // Room for what the run will write, checked now rather than at the first save: the model and
  // best checkpoints, the optimizer's two moments, a temporary copy of the largest file while it
  // is replaced, and the exported item and test-user embeddings. (On --resume the files exist
  // already: only the temporary copy and the exports are new.)
  uint64_t model_bytes = 0;
  for (const Tensor& tensor : model->checkpoint_tensors()) model_bytes += static_cast<uint64_t>(tensor.numel()) * 4;
  const uint64_t export_bytes =
      static_cast<uint64_t>(dataset.item_count + dataset.test_users.size() * config.interests) * config.dim * 4;
  require_free_space(folder, (resuming ? 2 : 6) * model_bytes + export_bytes);
  nn::AdamSettings adam;
  adam.learning_rate = options.learning_rate;
  nn::AdamWithLazyTables optimizer(parameters, adam);
  data::TrainBatcher batcher(dataset, options.batch_size, config.max_len, stream_seed(options.seed, 1));
  Rng negative_rng(stream_seed(options.seed, 2));
  Rng routing_rng(stream_seed(options.seed, 3));
  TrainState state;
  if (resuming) {
    load_model(folder + "/checkpoint.safetensors", *model);
    load_optimizer(folder + "/optimizer.safetensors", optimizer);
    state = load_train_state(folder + "/train_state.json");
    // The three files are written one after the other: a run killed between two of them (kill -9,
    // power cut) leaves files from different steps, which must not be trained on silently.
    if (optimizer.step_count() != state.step)
      throw std::runtime_error("--resume " + folder + ": optimizer.safetensors is at step " +
                               std::to_string(optimizer.step_count()) + " but train_state.json at step " +
                               std::to_string(state.step) + " (was a save cut short?)");
    batcher.restore(state.batcher);
    negative_rng.set_state(state.negative_rng);
    routing_rng.set_state(state.routing_rng);
    out << "resumed from " << folder << " at step " << state.step << " (" << state.epochs_completed
        << " epochs completed)\n";
  }
  out << "model: " << config.model << ", d=" << config.dim << ", K=" << config.interests << ", L=" << config.max_len
      << ", " << parameters.size() << " parameter tensors; batches of " << options.batch_size << ", "
      << batcher.batches_per_epoch() << " per epoch\n";

  // ---- the loop -------------------------------------------------------------------------------
  TrainReport report;
  report.first_losses = state.first_losses;
  Progress progress(options.quiet);
  data::Batch batch;
  double loss_sum = state.loss_sum_since_validation;
  int64_t loss_count = state.losses_since_validation;
  int64_t samples_since_eval = 0, steps_this_run = 0;
  int64_t timed_samples = 0;
  Clock::time_point timing_start = Clock::now();
  const auto run_start = Clock::now();
  auto since_eval = Clock::now();
  bool stop = state.finished || (options.max_steps > 0 && state.step >= options.max_steps);
  // The losses since the last validation are the steps since it (a run interrupted between two
  // validations and resumed still validates at the end, as the uninterrupted run does).
  int64_t last_evaluated_step = state.step - loss_count;

  auto validate = [&]() {
    const auto start = Clock::now();
    const double rate = samples_since_eval / std::max(1e-9, std::chrono::duration<double>(start - since_eval).count());
    const double mean_loss = loss_count > 0 ? loss_sum / loss_count : NAN;
    progress.finish();
    Evaluation evaluation = evaluate(*model, dataset, data::Split::valid, options.exclude_history,
                                     options.eval_batch_size, false);
    metrics.evaluation(state.epochs_completed, state.step, "valid", config.model, mean_loss, evaluation.metrics, rate,
                       seconds_since(run_start));
    out << "epoch " << state.epochs_completed << " step " << state.step << " loss " << format_metric(mean_loss) << "  ";
    print_evaluation(out, "valid", evaluation.metrics);
    if (evaluation.metrics.at_50.recall > state.best_recall) {
      state.best_recall = evaluation.metrics.at_50.recall;
      state.best_step = state.step;
      state.evaluations_without_improvement = 0;
      require_finite_parameters(*model, state.step, folder + "/best.safetensors");
      save_model(folder + "/best.safetensors", *model);
    } else {
      ++state.evaluations_without_improvement;
      if (options.patience > 0 && state.evaluations_without_improvement >= options.patience) {
        out << "early stop: valid Recall@50 has not improved for " << options.patience << " evaluations (best "
            << format_metric(state.best_recall) << " at step " << state.best_step << ")\n";
        state.finished = true;
        stop = true;
      }
    }
    last_evaluated_step = state.step;
    loss_sum = 0.0;
    loss_count = 0;
    samples_since_eval = 0;
    since_eval = Clock::now();
  };

  // From here to the last save, Ctrl-C / SIGTERM only ask the loop to stop after the current step.
  std::optional<InterruptGuard> interrupt(std::in_place);
  int interrupted_by = 0;
  while (!stop && state.epochs_completed < options.epochs) {
    const int64_t batches_done = (batcher.state().cursor + options.batch_size - 1) / options.batch_size;
    progress.start("epoch " + std::to_string(state.epochs_completed + 1) + "/" + std::to_string(options.epochs),
                   batcher.batches_per_epoch());
    int64_t batch_in_epoch = batches_done;
    while (!stop && batcher.next(batch)) {
      const std::vector<int32_t> negatives =
          config.loss == "sampled" ? model->sampler().sample(config.negatives, negative_rng) : std::vector<int32_t>();
      if (options.before_step_for_testing) options.before_step_for_testing(state.step + 1, *model);
      optimizer.zero_grad();
      const ShardedStepResult forward_backward = sharded_step.run(batch, negatives, &routing_rng);
      if (!forward_backward.nonfinite.empty()) {
        progress.finish();
        throw NonFiniteError("step " + std::to_string(state.step + 1) + ": " + forward_backward.nonfinite +
                             describe_parameters(*model, folder));
      }
      const float loss = forward_backward.loss;
      try {
        if (options.clip_norm > 0.0f)
          nn::clip_grad_norm(parameters, options.clip_norm);
        else
          nn::gradient_norm(parameters);  // throws naming the first parameter with a NaN/Inf gradient
      } catch (const std::runtime_error& error) {
        progress.finish();
        throw NonFiniteError("step " + std::to_string(state.step + 1) + ": " + error.what() +
                             describe_parameters(*model, folder));
      }
      optimizer.step();
      ++state.step;
      ++steps_this_run;
      if (report.first_losses.size() < 20) report.first_losses.push_back(loss);
      loss_sum += loss;
      ++loss_count;
      samples_since_eval += batch.size;
      if (steps_this_run == 20) timing_start = Clock::now();  // --max-steps timing skips 20 warm-up steps
      if (steps_this_run > 20) timed_samples += batch.size;
      progress.update(++batch_in_epoch, samples_since_eval / std::max(1e-9, seconds_since(since_eval)), loss_sum / loss_count);
      if (options.eval_every > 0 && state.step % options.eval_every == 0) validate();
      if (options.max_steps > 0 && state.step >= options.max_steps) stop = true;
      // A signal that arrives when the run is ending anyway changes nothing.
      if (!stop && interrupt->signal_received() != 0) {
        interrupted_by = interrupt->signal_received();
        stop = true;
      }
    }
    if (stop) break;
    // The epoch is exhausted.
    ++state.epochs_completed;
    if (options.eval_every == 0) validate();
    batcher.start_epoch();
  }
  progress.finish();
  report.training_seconds = seconds_since(run_start);
  report.steps = state.step;
  report.epochs_completed = state.epochs_completed;
  state.batcher = batcher.state();
  state.negative_rng = negative_rng.state();
  state.routing_rng = routing_rng.state();
  state.first_losses = report.first_losses;
  if (interrupted_by != 0) {
    // Everything a resume needs, and nothing more: no final validation (the uninterrupted run
    // validates on its own schedule), no test evaluation, no export.
    state.loss_sum_since_validation = loss_sum;
    state.losses_since_validation = loss_count;
    require_finite_parameters(*model, state.step, folder + "/checkpoint.safetensors");
    save_model(folder + "/checkpoint.safetensors", *model);
    save_optimizer(folder + "/optimizer.safetensors", optimizer);
    save_train_state(folder + "/train_state.json", state);
    report.interrupted_by_signal = interrupted_by;
    out << "interrupted at step " << state.step << "; resume with: mind_train --resume " << folder << std::endl;
    return report;
  }
  report.samples_per_second = samples_since_eval / std::max(1e-9, seconds_since(since_eval));
  if (options.max_steps > 0 && steps_this_run > 20) {
    report.samples_per_second = timed_samples / std::max(1e-9, seconds_since(timing_start));
    metrics.timing(config.model, state.step, report.samples_per_second);
    out << "timing: " << format_metric(report.samples_per_second) << " samples/s over steps 21.." << state.step << "\n";
  }
  if (last_evaluated_step != state.step || state.best_recall < 0.0) validate();

  // ---- save, then evaluate the best weights on the test users ----------------------------------
  state.loss_sum_since_validation = loss_sum;  // 0 after the final validation
  state.losses_since_validation = loss_count;
  require_finite_parameters(*model, state.step, folder + "/checkpoint.safetensors");
  save_model(folder + "/checkpoint.safetensors", *model);
  save_optimizer(folder + "/optimizer.safetensors", optimizer);
  save_train_state(folder + "/train_state.json", state);
  interrupt.reset();  // the saved state is complete: Ctrl-C ends the program again
  load_model(folder + "/best.safetensors", *model);
  out << "best valid Recall@50 " << format_metric(state.best_recall) << " at step " << state.best_step
      << "; testing those weights\n";
  Evaluation test = evaluate(*model, dataset, data::Split::test, options.exclude_history, options.eval_batch_size, true);
  report.test = test.metrics;
  report.diagnostics = test.diagnostics;
  metrics.evaluation(state.epochs_completed, state.step, "test", config.model, NAN, test.metrics,
                     report.samples_per_second, seconds_since(run_start));
  print_table(out, "test metrics, " + config.model, test.metrics);
  if (test.diagnostics.interest_count > 0) {
    out << "interests: purity " << format_metric(test.diagnostics.purity) << " (share of an interest's top-20 in its main category, "
        << test.diagnostics.interest_count << " interests)";
    if (test.diagnostics.user_count > 0)
      out << "; coverage " << format_metric(test.diagnostics.coverage) << " (share of planted categories some interest finds)";
    out << "\n";
  }
  export_id_maps(folder, dataset);
  export_embeddings(folder, dataset, item_vectors(*model), config.dim, test.encoded);
  out << "wrote " << folder << "/: checkpoint.safetensors (last), best.safetensors, optimizer.safetensors, "
      << "train_state.json, run.json, metrics.jsonl, items.tsv, users.tsv, item_embeddings.npy, "
      << "user_interests.npy, user_interest_counts.npy, test_users.tsv\n";
  return report;
}

}  // namespace mind::train
