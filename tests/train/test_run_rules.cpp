// Issue 20's rules for a run folder across time: --split none trains on everyone; run.json keeps
// each input file absolute with a fingerprint and --resume refuses a changed one; an --out holding
// a run or foreign files is refused (unless --resume / --overwrite); periodic checkpoints, saved so
// that a kill mid-save never mixes two steps, let a crashed run resume exactly.
#include <doctest/doctest.h>

#include <nlohmann/json.hpp>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>

#include "io/npy.h"
#include "train/input_files.h"
#include "train/output_folder.h"
#include "train/resume_files.h"
#include "train/trainer.h"
#include "training_helpers.h"

using namespace mind;

using testing::file_bytes;
using testing::fresh_folder;
using testing::tiny_options;

namespace {

std::vector<std::string> folder_entries(const std::string& folder) {
  std::vector<std::string> names;
  for (const auto& entry : std::filesystem::directory_iterator(folder)) names.push_back(entry.path().filename().string());
  return names;
}

int64_t count_lines_containing(const std::string& path, const std::string& text) {
  std::ifstream file(path);
  int64_t count = 0;
  for (std::string line; std::getline(file, line);) count += line.find(text) != std::string::npos;
  return count;
}

// A small generic log: 60 users, 12 interactions each, over 50 items.
void write_log(const std::string& path) {
  std::ofstream file(path);
  file << "user,item,timestamp\n";
  for (int user = 0; user < 60; ++user)
    for (int t = 0; t < 12; ++t) file << "u" << user << ",i" << (user * 7 + t * (1 + user % 3)) % 50 << "," << t << "\n";
}

train::TrainOptions csv_options(const std::string& log, const std::string& out) {
  train::TrainOptions options = tiny_options(out);
  options.data.data = log;
  options.model.negatives = 10;
  options.model.hidden = {16};
  options.model.profile_width = 4;
  options.epochs = 1;
  return options;
}

}  // namespace

TEST_CASE("run rules: --split none trains every t >= 1 of every user, evaluates nothing, and serves the last weights") {
  const std::string out = fresh_folder("split_none");
  train::TrainOptions options = tiny_options(out);
  options.data.split = "none";
  std::ostringstream log;
  const train::TrainReport report = train::run_training(options, log);
  INFO(log.str());
  CHECK(log.str().find("(400 train, 0 valid, 0 test)") != std::string::npos);
  CHECK(log.str().find("nothing evaluated; best.safetensors holds the last weights") != std::string::npos);
  CHECK(report.test.user_count == 0);
  CHECK(report.epochs_completed == 2);  // the given --epochs: no early stop
  // Every user's whole sequence trained: 400 users, so more steps than the held-out run's 320 users.
  const train::TrainReport held_out = [&] {
    const std::string folder = fresh_folder("split_users");
    std::ostringstream other;
    const train::TrainReport result = train::run_training(tiny_options(folder), other);
    std::filesystem::remove_all(folder);
    return result;
  }();
  CHECK(report.steps > held_out.steps);
  CHECK(file_bytes(out + "/best.safetensors") == file_bytes(out + "/checkpoint.safetensors"));
  CHECK(count_lines_containing(out + "/metrics.jsonl", "\"split\"") == 0);  // no valid, no test line
  CHECK(!std::filesystem::exists(out + "/test_metrics_by_user.tsv"));
  // The test users' files are there with zero rows; every user's interests are exported.
  CHECK(io::load_npy(out + "/user_interests.npy").shape == std::vector<int64_t>{0, 4, 8});
  CHECK(io::load_npy(out + "/user_interest_counts.npy").shape == std::vector<int64_t>{0});
  CHECK(io::load_npy(out + "/all_user_interests.npy").shape == std::vector<int64_t>{400, 4, 8});
  std::filesystem::remove_all(out);
}

TEST_CASE("run rules: --split none refuses what needs held-out users") {
  const std::string out = fresh_folder("split_none_refusals");
  std::ostringstream log;
  train::TrainOptions validated = tiny_options(out);
  validated.data.split = "none";
  validated.eval_every = 5;
  CHECK_THROWS_WITH_AS(train::run_training(validated, log),
                       doctest::Contains("--eval-every 5: --split none holds out no users"), std::invalid_argument);
  train::TrainOptions popular = tiny_options(out);
  popular.data.split = "none";
  popular.model.model = "most_popular";
  CHECK_THROWS_WITH_AS(train::run_training(popular, log), doctest::Contains("--split none: --model most_popular"),
                       std::invalid_argument);
  std::filesystem::remove_all(out);
}

TEST_CASE("run rules: every file a run leaves is in the one list of run files") {
  for (const char* split : {"users", "none"}) {
    INFO(split);
    const std::string out = fresh_folder(std::string("listed_") + split);
    train::TrainOptions options = tiny_options(out);
    options.data.split = split;
    options.epochs = 1;
    std::ostringstream log;
    train::run_training(options, log);
    const std::vector<std::string> names = folder_entries(out);
    CHECK(names.size() >= 20);
    for (const std::string& name : names) CHECK_MESSAGE(train::is_run_file(name), name << " is not in run_file_names()");
    std::filesystem::remove_all(out);
  }
  CHECK(train::is_run_file("best.safetensors.tmp-4242"));  // a killed save's temporary
  CHECK(!train::is_run_file("best.safetensors.tmp-"));
  CHECK(!train::is_run_file("best.safetensors.tmp-12x"));
  CHECK(!train::is_run_file("notes.txt"));
}

TEST_CASE("run rules: an --out holding a run is refused unless --resume or --overwrite; --overwrite removes the old run") {
  const std::string out = fresh_folder("overwrite");
  std::ostringstream log;
  train::TrainOptions first = tiny_options(out);
  first.epochs = 1;
  train::run_training(first, log);
  REQUIRE(std::filesystem::exists(out + "/test_metrics_by_user.tsv"));
  const std::string first_checkpoint = file_bytes(out + "/checkpoint.safetensors");

  train::TrainOptions again = first;
  try {
    train::run_training(again, log);
    FAIL("a second run into a run folder was accepted");
  } catch (const std::runtime_error& error) {
    const std::string message = error.what();
    CHECK(message.find("--out " + out + " already holds a run (") != std::string::npos);
    CHECK(message.find("--resume " + out + ", replace it with --overwrite") != std::string::npos);
  }
  CHECK(file_bytes(out + "/checkpoint.safetensors") == first_checkpoint);  // untouched

  // --overwrite with --split none: the old run's test file must not survive into the new run.
  again.overwrite = true;
  again.data.split = "none";
  train::run_training(again, log);
  CHECK(!std::filesystem::exists(out + "/test_metrics_by_user.tsv"));
  CHECK(file_bytes(out + "/checkpoint.safetensors") != first_checkpoint);
  CHECK(count_lines_containing(out + "/metrics.jsonl", "\"valid\"") == 0);  // the old run's lines are gone

  // The same command line with --resume added continues the run: --overwrite then removes nothing.
  train::TrainOptions resumed = again;
  resumed.resume = out;
  resumed.epochs = 3;
  std::ostringstream resumed_log;
  train::run_training(resumed, resumed_log);
  CHECK(resumed_log.str().find("note: --overwrite does nothing with --resume") != std::string::npos);
  CHECK(resumed_log.str().find("resumed from " + out + " at step ") != std::string::npos);
  std::filesystem::remove_all(out);
}

TEST_CASE("run rules: an --out holding files mind_train did not write is refused, naming one, even with --overwrite") {
  const std::string out = fresh_folder("foreign");
  std::filesystem::create_directories(out);
  { std::ofstream(out + "/notes.txt") << "mine"; }
  { std::ofstream(out + "/run.json") << "{}"; }
  for (bool overwrite : {false, true}) {
    train::TrainOptions options = tiny_options(out);
    options.overwrite = overwrite;
    std::ostringstream log;
    CHECK_THROWS_WITH_AS(train::run_training(options, log),
                         doctest::Contains("the folder holds notes.txt, which mind_train did not write"),
                         std::runtime_error);
  }
  CHECK(std::filesystem::exists(out + "/notes.txt"));
  CHECK(std::filesystem::exists(out + "/run.json"));  // nothing removed before the refusal
  std::filesystem::remove_all(out);
}

TEST_CASE("run rules: the content hash is fixed, and sees one changed byte") {
  const std::string folder = fresh_folder("hash");
  std::filesystem::create_directories(folder);
  { std::ofstream(folder + "/empty"); }
  { std::ofstream(folder + "/text") << "user,item,timestamp\nu1,i1,1\n"; }
  { std::ofstream(folder + "/text2") << "user,item,timestamp\nu1,i2,1\n"; }
  // Recorded from this implementation: a run.json written today must verify tomorrow.
  CHECK(train::content_hash(folder + "/empty") == 0xef46db3751d8e999ULL);
  CHECK(train::content_hash(folder + "/text") == 0x9077d78b55803bf5ULL);
  CHECK(train::content_hash(folder + "/text") != train::content_hash(folder + "/text2"));
  CHECK_THROWS_WITH_AS(train::content_hash(folder + "/missing"), doctest::Contains("/missing: cannot open"),
                       std::runtime_error);
  std::filesystem::remove_all(folder);
}

TEST_CASE("run rules: run.json keeps each input absolute with a fingerprint; --resume refuses a changed input") {
  const std::string folder = fresh_folder("fingerprint");
  std::filesystem::create_directories(folder);
  const std::string log_path = folder + "/log.csv", out = folder + "/run";
  write_log(log_path);
  // Relative paths, as typed in the folder above.
  const std::filesystem::path working = std::filesystem::current_path();
  std::filesystem::current_path(folder);
  std::ostringstream log;
  train::run_training(csv_options("log.csv", "run"), log);
  std::filesystem::current_path(working);

  const train::TrainOptions saved = train::load_run_options(out);
  CHECK(saved.data.data == std::filesystem::canonical(log_path).string());
  const std::vector<train::InputFile> inputs = train::load_run_inputs(out);
  REQUIRE(inputs.size() == 1);
  CHECK(inputs[0].path == saved.data.data);
  CHECK(inputs[0].bytes == std::filesystem::file_size(log_path));
  CHECK(inputs[0].hash == train::content_hash(log_path));

  // Resumed from another directory: the absolute path still finds the log.
  train::TrainOptions resume = saved;
  resume.resume = resume.out = out;
  resume.epochs = 2;
  resume.quiet = true;
  train::run_training(resume, log);
  CHECK(log.str().find("resumed from " + out) != std::string::npos);

  // The same size, one item renamed: refused, naming the file, before anything is trained.
  std::string text = file_bytes(log_path);
  text.replace(text.find("u0,i0"), 5, "u0,i9");
  { std::ofstream(log_path, std::ios::binary) << text; }
  const std::string checkpoint = file_bytes(out + "/checkpoint.safetensors");
  resume.epochs = 3;
  const std::string changed = "--resume " + out + ": the input file " + saved.data.data + " changed: same size, other content";
  CHECK_THROWS_WITH_AS(train::run_training(resume, log), doctest::Contains(changed.c_str()), std::runtime_error);
  // A grown log: refused with both sizes.
  { std::ofstream(log_path, std::ios::app) << "u1,i3,99\n"; }
  CHECK_THROWS_WITH_AS(train::run_training(resume, log), doctest::Contains(" bytes when the run started, "),
                       std::runtime_error);
  CHECK(file_bytes(out + "/checkpoint.safetensors") == checkpoint);
  std::filesystem::remove_all(folder);
}

TEST_CASE("run rules: a save cut short is completed when marked, dropped when not") {
  const std::string folder = fresh_folder("two_phase");
  std::filesystem::create_directories(folder);
  const auto write = [](const std::string& path, const std::string& text) { std::ofstream(path) << text; };
  for (const std::string& name : train::resume_file_names()) write(folder + "/" + name, "old");
  // Killed while staging: no mark, so the previous save stays.
  write(train::staged_path(folder, "checkpoint.safetensors"), "new");
  CHECK(train::recover_resume_files(folder).find("dropped") != std::string::npos);
  for (const std::string& name : train::resume_file_names()) CHECK(file_bytes(folder + "/" + name) == "old");
  CHECK(folder_entries(folder).size() == 3);
  // Killed between two renames: the mark is there, so the rest move into place.
  write(folder + "/checkpoint.safetensors", "new");
  write(train::staged_path(folder, "optimizer.safetensors"), "new");
  write(train::staged_path(folder, "train_state.json"), "new");
  write(folder + "/" + train::commit_mark_name, "complete\n");
  CHECK(train::recover_resume_files(folder).find("completed") != std::string::npos);
  for (const std::string& name : train::resume_file_names()) CHECK(file_bytes(folder + "/" + name) == "new");
  CHECK(folder_entries(folder).size() == 3);
  CHECK(train::recover_resume_files(folder).empty());
  std::filesystem::remove_all(folder);
}

TEST_CASE("run rules: --checkpoint-every N saves every N steps; a crashed run resumes from there exactly") {
  const std::string straight = fresh_folder("periodic_straight"), crashed = fresh_folder("periodic_crashed");
  std::ostringstream log;
  train::TrainOptions options = tiny_options(straight);
  options.checkpoint_every = 4;
  options.eval_every = 3;  // the killed run validated at step 9, after its last save
  train::run_training(options, log);

  // A crash at step 11 (an exception out of the loop saves nothing, as SIGKILL): steps 9..10 are lost.
  train::TrainOptions crashing = options;
  crashing.out = crashed;
  crashing.before_step_for_testing = [](int64_t step, const models::Model&) {
    if (step == 11) throw std::runtime_error("simulated crash");
  };
  CHECK_THROWS_WITH(train::run_training(crashing, log), "simulated crash");
  train::TrainOptions resume = train::load_run_options(crashed);
  resume.resume = resume.out = crashed;
  resume.quiet = true;
  std::ostringstream resumed_log;
  train::run_training(resume, resumed_log);
  CHECK(resumed_log.str().find("resumed from " + crashed + " at step 8 ") != std::string::npos);
  for (const char* file : {"checkpoint.safetensors", "optimizer.safetensors", "best.safetensors"}) {
    INFO(file);
    CHECK(file_bytes(straight + "/" + file) == file_bytes(crashed + "/" + file));
  }
  // The validation at step 9 was logged by the crashed run and again by the resumed one: once only.
  CHECK(count_lines_containing(crashed + "/metrics.jsonl", "\"step\":9,") == 1);
  CHECK(count_lines_containing(crashed + "/metrics.jsonl", "\"valid\"") ==
        count_lines_containing(straight + "/metrics.jsonl", "\"valid\""));
  std::filesystem::remove_all(straight);
  std::filesystem::remove_all(crashed);
}

TEST_CASE("run rules: --checkpoint-every 0 saves at the end of every epoch") {
  const std::string out = fresh_folder("epoch_saves");
  std::ostringstream log;
  train::TrainOptions options = tiny_options(out);
  options.epochs = 3;
  int64_t steps_per_epoch = 0;
  options.before_step_for_testing = [&](int64_t step, const models::Model&) {
    // At the first step of epoch 3 the last save is the end of epoch 2.
    if (steps_per_epoch == 0 && std::filesystem::exists(out + "/train_state.json")) steps_per_epoch = step - 1;
    if (steps_per_epoch > 0 && step == 2 * steps_per_epoch + 1) throw std::runtime_error("simulated crash");
  };
  CHECK_THROWS(train::run_training(options, log));
  REQUIRE(steps_per_epoch > 0);
  const std::string state = file_bytes(out + "/train_state.json");
  CHECK(state.find("\"step\":" + std::to_string(2 * steps_per_epoch)) != std::string::npos);
  CHECK(state.find("\"epochs_completed\":2") != std::string::npos);
  std::filesystem::remove_all(out);
}
