// train_state.json: every field survives a save and load exactly (64-bit generator words and
// doubles included), and a damaged file is refused naming the file and the field.
#include <doctest/doctest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <limits>
#include <string>

#include "train/checkpoint.h"
#include "training_helpers.h"

using namespace mind;

namespace {

train::TrainState unusual_state() {
  train::TrainState state;
  state.step = 123456789012;
  state.epochs_completed = 3;
  state.batcher.epoch = 3;
  state.batcher.cursor = 77;
  state.batcher.epoch_start_rng = {std::numeric_limits<uint64_t>::max(), 1, 2, 9007199254740993u};  // 2^53 + 1
  state.negative_rng = {5, 6, 7, 8};
  state.routing_rng = {0, 0, 0, 18446744073709551557u};
  state.best_recall = 0.1 + 0.2;  // not 0.3: the digits must survive exactly
  state.best_step = 99;
  state.evaluations_without_improvement = 1;
  state.finished = true;
  state.loss_sum_since_validation = 12.345678901234567;
  state.losses_since_validation = 4;
  state.first_losses = {6.9, 6.8999999999999995, 1e-300};
  return state;
}

// The message of the std::runtime_error that loading `text` as train_state.json throws.
std::string load_error_of(const std::string& path, const std::string& text) {
  { std::ofstream(path, std::ios::binary) << text; }
  try {
    train::load_train_state(path);
  } catch (const std::runtime_error& error) {
    return error.what();
  }
  return "(no exception)";
}

}  // namespace

TEST_CASE("train state: every field survives save and load exactly") {
  const std::string folder = testing::fresh_folder("train_state_round_trip");
  std::filesystem::create_directories(folder);
  const std::string path = folder + "/train_state.json";
  const train::TrainState saved = unusual_state();
  train::save_train_state(path, saved);
  const train::TrainState loaded = train::load_train_state(path);
  CHECK(loaded.step == saved.step);
  CHECK(loaded.epochs_completed == saved.epochs_completed);
  CHECK(loaded.batcher.epoch == saved.batcher.epoch);
  CHECK(loaded.batcher.cursor == saved.batcher.cursor);
  CHECK(loaded.batcher.epoch_start_rng == saved.batcher.epoch_start_rng);
  CHECK(loaded.negative_rng == saved.negative_rng);
  CHECK(loaded.routing_rng == saved.routing_rng);
  CHECK(loaded.best_recall == saved.best_recall);
  CHECK(loaded.best_step == saved.best_step);
  CHECK(loaded.evaluations_without_improvement == saved.evaluations_without_improvement);
  CHECK(loaded.finished == saved.finished);
  CHECK(loaded.loss_sum_since_validation == saved.loss_sum_since_validation);
  CHECK(loaded.losses_since_validation == saved.losses_since_validation);
  CHECK(loaded.first_losses == saved.first_losses);
  // The generator words are strings, so that readers holding numbers as doubles keep them.
  CHECK(testing::file_bytes(path).find("\"routing_rng\":[\"0\",\"0\",\"0\",\"18446744073709551557\"]") !=
        std::string::npos);
  std::filesystem::remove_all(folder);
}

TEST_CASE("train state: a NaN is refused on saving and the previous file is kept") {
  const std::string folder = testing::fresh_folder("train_state_nan");
  std::filesystem::create_directories(folder);
  const std::string path = folder + "/train_state.json";
  train::save_train_state(path, unusual_state());
  const std::string before = testing::file_bytes(path);
  train::TrainState broken = unusual_state();
  broken.first_losses[1] = std::nan("");
  CHECK_THROWS_WITH_AS(train::save_train_state(path, broken), doctest::Contains("cannot write NaN at /first_losses/1"),
                       std::runtime_error);
  CHECK(testing::file_bytes(path) == before);
  std::filesystem::remove_all(folder);
}

TEST_CASE("train state: a damaged file is refused naming the file and the field") {
  const std::string folder = testing::fresh_folder("train_state_damaged");
  std::filesystem::create_directories(folder);
  const std::string path = folder + "/train_state.json";
  train::save_train_state(path, unusual_state());
  const std::string good = testing::file_bytes(path);
  // Replaces the first `from` in the good file by `to`.
  auto edited = [&good](const std::string& from, const std::string& to) {
    std::string text = good;
    const size_t at = text.find(from);
    REQUIRE_MESSAGE(at != std::string::npos, from);
    return text.replace(at, from.size(), to);
  };
  CHECK(load_error_of(path, edited("\"step\":123456789012", "\"step\":\"12\"")) ==
        path + ": \"step\" is a string, expected an integer");
  CHECK(load_error_of(path, edited("\"step\":123456789012", "\"step\":1.5")) ==
        path + ": \"step\" is 1.5, expected an integer");
  CHECK(load_error_of(path, edited("\"finished\":true,", "")) == path + ": missing \"finished\"");
  CHECK(load_error_of(path, edited("\"best_recall\":", "\"best_recall\":\"x\",\"unused\":")) ==
        path + ": \"best_recall\" is a string, expected a number");
  const std::string rng_problem =
      path + ": \"negative_rng\" must be an array of 4 unsigned integers written as strings";
  CHECK(load_error_of(path, edited("[\"5\",\"6\",\"7\",\"8\"]", "[\"5\",\"6\",\"7\"]")) == rng_problem);
  CHECK(load_error_of(path, edited("[\"5\",\"6\",\"7\",\"8\"]", "[\"5\",\"6\",\"7\",8]")) == rng_problem);
  CHECK(load_error_of(path, edited("[\"5\",\"6\",\"7\",\"8\"]", "[\"5\",\"6\",\"7\",\"-8\"]")) == rng_problem);
  CHECK(load_error_of(path, edited("[\"5\",\"6\",\"7\",\"8\"]", "[\"5\",\"6\",\"7\",\"8x\"]")) == rng_problem);
  CHECK(load_error_of(path, edited("\"first_losses\":[", "\"first_losses\":[null,")) ==
        path + ": \"first_losses\" must be an array of numbers");
  CHECK(load_error_of(path, "[1, 2]") == path + ": expected a JSON object, got an array");
  CHECK(load_error_of(path, good.substr(0, 40)).rfind(path + ": parse error at line 1", 0) == 0);
  std::filesystem::remove_all(folder);
}
