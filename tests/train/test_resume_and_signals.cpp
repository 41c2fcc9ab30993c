// Resuming and stopping, beyond bit-identity (test_faults.cpp): Ctrl-C in the final validation
// stops the run; a resume with nothing to train says why and does not test again; the timing line
// and metrics.jsonl's seconds count across a resume.
#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

#include <csignal>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "train/checkpoint.h"
#include "train/trainer.h"
#include "training_helpers.h"

using namespace mind;

namespace {

train::TrainOptions small_options(const std::string& out) {
  train::TrainOptions options = testing::tiny_options(out);
  options.data.synthetic.users = 120;
  options.batch_size = 128;
  options.eval_batch_size = 4;  // several evaluation batches, so that a signal lands between two
  options.quiet = true;
  return options;
}

std::vector<nlohmann::json> metrics_lines(const std::string& folder) {
  std::vector<nlohmann::json> lines;
  if (!std::filesystem::exists(folder + "/metrics.jsonl")) return lines;
  std::istringstream text(testing::file_bytes(folder + "/metrics.jsonl"));
  for (std::string line; std::getline(text, line);) lines.push_back(nlohmann::json::parse(line));
  return lines;
}

int count_split(const std::vector<nlohmann::json>& lines, const std::string& split) {
  int count = 0;
  for (const nlohmann::json& line : lines)
    if (line.at("split").get<std::string>() == split) ++count;
  return count;
}

train::TrainOptions resumed(const std::string& folder) {
  train::TrainOptions options = train::load_run_options(folder);
  options.resume = folder;
  options.out = folder;
  options.quiet = true;
  return options;
}

}  // namespace

TEST_CASE("resume and signals: Ctrl-C during the final validation stops the run, and --resume tests it") {
  const std::string folder = testing::fresh_folder("signal_in_final_validation");
  train::TrainOptions options = small_options(folder);
  options.epochs = 1;
  options.max_steps = 4;  // the run ends at step 4: the signal lands in its last step, then the final validation
  options.before_step_for_testing = [](int64_t step, const models::Model&) {
    if (step == 4) std::raise(SIGINT);
  };
  std::ostringstream log;
  const train::TrainReport interrupted = train::run_training(options, log);
  INFO(log.str());
  CHECK(interrupted.interrupted_by_signal == SIGINT);
  CHECK(log.str().find("interrupted at step 4; resume with: mind_train --resume " + folder) != std::string::npos);
  CHECK(!std::filesystem::exists(folder + "/item_embeddings.npy"));  // no test, no export
  CHECK(count_split(metrics_lines(folder), "valid") == 0);           // the validation was cut short
  CHECK(train::load_train_state(folder + "/train_state.json").tested_step == -1);

  std::ostringstream resumed_log;
  const train::TrainReport finished = train::run_training(resumed(folder), resumed_log);
  INFO(resumed_log.str());
  CHECK(finished.interrupted_by_signal == 0);
  CHECK(finished.test.user_count > 0);
  CHECK(std::filesystem::exists(folder + "/item_embeddings.npy"));
  const std::vector<nlohmann::json> lines = metrics_lines(folder);
  CHECK(count_split(lines, "valid") == 1);
  CHECK(count_split(lines, "test") == 1);
  std::filesystem::remove_all(folder);
}

TEST_CASE("resume and signals: SIGTERM during the export finishes it, then reports the signal") {
  for (const std::string split : {"users", "none"}) {
    CAPTURE(split);
    const std::string folder = testing::fresh_folder("signal_in_export");
    train::TrainOptions options = small_options(folder);
    options.epochs = 1;
    options.data.split = split;
    options.before_export_for_testing = [] { std::raise(SIGTERM); };
    std::ostringstream log;
    const train::TrainReport report = train::run_training(options, log);
    INFO(log.str());
    CHECK(report.interrupted_by_signal == SIGTERM);
    CHECK(log.str().find("interrupted during the export, after finishing it: " + folder) != std::string::npos);
    for (const char* file : {"item_embeddings.npy", "user_interests.npy", "best.safetensors"})
      CHECK(std::filesystem::exists(folder + "/" + file));
    if (split == "users") {
      CHECK(report.test.user_count > 0);
      CHECK(train::load_train_state(folder + "/train_state.json").tested_step == report.steps);
      CHECK(count_split(metrics_lines(folder), "test") == 1);
    }
    std::filesystem::remove_all(folder);
  }
}

TEST_CASE("resume and signals: a resume with nothing to train says why and appends no second test line") {
  const std::string folder = testing::fresh_folder("nothing_to_train");
  train::TrainOptions options = small_options(folder);
  options.epochs = 1;
  std::ostringstream log;
  train::run_training(options, log);
  REQUIRE(count_split(metrics_lines(folder), "test") == 1);

  std::ostringstream again;
  train::run_training(resumed(folder), again);
  INFO(again.str());
  CHECK(again.str().find("nothing to train: the run has completed 1 of --epochs 1; give a larger --epochs") !=
        std::string::npos);
  CHECK(again.str().find("the run was already tested at step 9") != std::string::npos);
  CHECK(count_split(metrics_lines(folder), "test") == 1);

  // A --max-steps saved with the run: the resume says that it is what stops it.
  const std::string limited = testing::fresh_folder("max_steps_saved");
  options = small_options(limited);
  options.epochs = 1;
  options.max_steps = 3;
  train::run_training(options, log);
  train::TrainOptions more_epochs = resumed(limited);
  more_epochs.epochs = 5;
  std::ostringstream limited_log;
  const train::TrainReport still = train::run_training(more_epochs, limited_log);
  INFO(limited_log.str());
  CHECK(still.steps == 3);
  CHECK(limited_log.str().find("nothing to train: step 3 has reached --max-steps 3 (saved with the run); give a "
                               "larger --max-steps, or --max-steps 0 for no limit") != std::string::npos);
  std::filesystem::remove_all(folder);
  std::filesystem::remove_all(limited);
}

TEST_CASE("resume and signals: the timing line counts this run's steps, and seconds continue across a resume") {
  const std::string folder = testing::fresh_folder("timing_across_resume");
  train::TrainOptions options = small_options(folder);
  options.epochs = 10;
  options.max_steps = 5;
  std::ostringstream log;
  train::run_training(options, log);
  const double seconds_before = metrics_lines(folder).back().at("seconds").get<double>();
  const double saved_seconds = train::load_train_state(folder + "/train_state.json").seconds;
  CHECK(saved_seconds >= seconds_before);

  train::TrainOptions longer = resumed(folder);
  longer.max_steps = 30;
  std::ostringstream resumed_log;
  train::run_training(longer, resumed_log);
  INFO(resumed_log.str());
  CHECK(resumed_log.str().find(" samples/s over steps 26..30\n") != std::string::npos);
  for (const nlohmann::json& line : metrics_lines(folder))
    if (line.contains("step") && line.at("step").get<int64_t>() > 5)
      CHECK(line.at("seconds").get<double>() >= saved_seconds);
  std::filesystem::remove_all(folder);
}

TEST_CASE("resume and signals: train_state.json keeps seconds and tested_step, and a file without them loads") {
  const std::string folder = testing::fresh_folder("state_seconds_tested");
  std::filesystem::create_directories(folder);
  const std::string path = folder + "/train_state.json";
  train::TrainState state;
  state.seconds = 12.345678901234567;
  state.tested_step = 77;
  train::save_train_state(path, state);
  const train::TrainState loaded = train::load_train_state(path);
  CHECK(loaded.seconds == state.seconds);
  CHECK(loaded.tested_step == 77);
  // An older file, written before these keys: seconds start at 0 and the run counts as untested.
  nlohmann::ordered_json older = nlohmann::ordered_json::parse(testing::file_bytes(path));
  older.erase("seconds");
  older.erase("tested_step");
  { std::ofstream(path) << older.dump(); }
  const train::TrainState old = train::load_train_state(path);
  CHECK(old.seconds == 0.0);
  CHECK(old.tested_step == -1);
  std::filesystem::remove_all(folder);
}
