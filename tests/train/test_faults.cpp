// Fault injection in the trainer: a NaN planted in a parameter or produced by an op, a save cut
// short at many points, and Ctrl-C / SIGTERM followed by --resume. Each test checks what the
// user is told and that no good file on disk is lost or changed.
#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

#include <cfloat>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <functional>
#include <memory>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "data/dataset.h"
#include "data/load.h"
#include "nn/adam.h"
#include "io/atomic_file.h"
#include "io/json.h"
#include "train/checkpoint.h"
#include "train/output_folder.h"
#include "train/trainer.h"
#include "training_helpers.h"

using namespace mind;

using testing::file_bytes;
using testing::fresh_folder;

namespace {

// A quarter of the usual tiny run (120 users: 9 steps of 128 an epoch), so that a test can afford
// several runs under AddressSanitizer.
train::TrainOptions small_options(const std::string& out) {
  train::TrainOptions options = testing::tiny_options(out);
  options.data.synthetic.users = 120;
  options.batch_size = 128;
  options.eval_batch_size = 32;
  return options;
}

// The value of a model tensor by checkpoint name (the test plants faults through it).
Tensor tensor_named(const models::Model& model, const std::string& name) {
  for (const Tensor& tensor : model.checkpoint_tensors())
    if (tensor.name() == name) return tensor;
  FAIL("the model has no tensor " << name);
  return Tensor();
}

// The files of an output folder with their bytes, to prove a failure changed none of them.
std::vector<std::pair<std::string, std::string>> folder_contents(const std::string& folder) {
  std::set<std::string> names;
  for (const auto& entry : std::filesystem::directory_iterator(folder)) names.insert(entry.path().filename().string());
  std::vector<std::pair<std::string, std::string>> contents;
  for (const std::string& name : names) contents.push_back({name, file_bytes(folder + "/" + name)});
  return contents;
}

// Turns the simulated write failure off again however the test leaves the scope.
struct WriteFailureAfter {
  explicit WriteFailureAfter(int64_t byte_count) { io::set_write_failure_after_bytes_for_testing(byte_count); }
  ~WriteFailureAfter() { io::set_write_failure_after_bytes_for_testing(-1); }
};

// The deterministic part of metrics.jsonl (seconds and samples/s are timings).
std::vector<std::string> metrics_without_timings(const std::string& folder) {
  std::vector<std::string> lines;
  std::istringstream text(file_bytes(folder + "/metrics.jsonl"));
  for (std::string line; std::getline(text, line);) {
    nlohmann::ordered_json record = io::parse_json(line, "metrics.jsonl");
    record.erase("seconds");
    record.erase("samples_per_second");
    lines.push_back(io::dump_json(record));
  }
  return lines;
}

// train_state.json without its wall-clock `seconds`, the one value no two runs share.
std::string state_without_seconds(const std::string& folder) {
  nlohmann::ordered_json state = nlohmann::ordered_json::parse(file_bytes(folder + "/train_state.json"));
  state.erase("seconds");
  return state.dump();
}

}  // namespace

TEST_CASE("faults: a NaN planted in a parameter stops a resumed run naming the step and the parameter") {
  const std::string out = fresh_folder("nan_parameter");
  std::ostringstream log;
  train::TrainOptions options = small_options(out);
  options.epochs = 1;
  const train::TrainReport first = train::run_training(options, log);
  REQUIRE(first.steps == 9);
  const auto before = folder_contents(out);  // checkpoint, best, optimizer, train_state, ...

  struct Planted {
    std::string parameter;
    int64_t element;
    std::string message_end;
  };
  const std::vector<Planted> plantings = {
      // The last layer's bias reaches the loss: the graph walk finds the NaN in the parameter.
      {"mlp.1.bias", 3,
       "step 11: the loss is nan in the slice of batch rows 0..63; first non-finite value: the parameter 'mlp.1.bias' "
       "[8] holds nan at element 3; "
       "the parameter 'mlp.1.bias' [8] holds nan at element 3."},
      // In the first layer a NaN weight may die in the relu going forward (the SIMD max gives
      // relu(nan) = 0) but not going backward: then the gradient check catches it.
      {"mlp.0.weight", 5, "the parameter 'mlp.0.weight' [16, 16] holds nan at element 5."}};
  for (const Planted& planted : plantings) {
    CAPTURE(planted.parameter);
    train::TrainOptions resumed = options;
    resumed.epochs = 2;
    resumed.resume = out;
    resumed.before_step_for_testing = [&](int64_t step, const models::Model& model) {
      if (step == 11) tensor_named(model, planted.parameter).data()[planted.element] = NAN;
    };
    try {
      train::run_training(resumed, log);
      FAIL("training should have stopped on the planted NaN");
    } catch (const train::NonFiniteError& error) {
      const std::string message = error.what();
      INFO(message);
      CHECK(message.rfind("step 11: ", 0) == 0);
      CHECK(message.ends_with(planted.message_end + " The checkpoints already in " + out + " are untouched."));
    }
    // run.json is rewritten with the new epoch count on --resume; every other file is as it was.
    const auto after = folder_contents(out);
    REQUIRE(after.size() == before.size());
    for (size_t i = 0; i < before.size(); ++i) {
      INFO(before[i].first);
      CHECK(after[i].first == before[i].first);
      if (before[i].first != "run.json") CHECK(after[i].second == before[i].second);
    }
  }
  std::filesystem::remove_all(out);
}

TEST_CASE("faults: an op overflowing from finite weights stops training naming the step, the op and the parameter") {
  const std::string out = fresh_folder("nan_op");
  std::ostringstream log;
  train::TrainOptions options = small_options(out);
  options.eval_every = 2;  // best.safetensors exists from step 2
  std::string best_before;
  options.before_step_for_testing = [&](int64_t step, const models::Model& model) {
    if (step != 3) return;
    best_before = file_bytes(out + "/best.safetensors");
    // Finite, but the first layer's dot products sum many of them: the result overflows to inf.
    Tensor weight = tensor_named(model, "mlp.0.weight");
    for (int64_t i = 0; i < weight.numel(); ++i) weight.data()[i] = FLT_MAX;
  };
  try {
    train::run_training(options, log);
    FAIL("training should have stopped on the overflow");
  } catch (const train::NonFiniteError& error) {
    const std::string message = error.what();
    INFO(message);
    CHECK(message.rfind("step 3: the loss is ", 0) == 0);
    // The first MLP layer, applied to each of the K = 4 interests of the first slice's 64 users
    // (train/sliced_step.h). (inf or nan, at an element that depends on the summation order of
    // the build's kernels)
    CHECK(message.find("first non-finite value: the op 'linear' [64, 4, 16] holds ") != std::string::npos);
    CHECK(message.find("the loss is nan in the slice of batch rows 0..63; ") != std::string::npos);
    CHECK(message.find(" (its inputs are finite); ") != std::string::npos);
    CHECK(message.find("; no parameter holds NaN/Inf (largest value: 'mlp.0.weight' (3.40282e+38 at element 0))") !=
          std::string::npos);
  }
  REQUIRE(!best_before.empty());
  CHECK(file_bytes(out + "/best.safetensors") == best_before);
  CHECK(!std::filesystem::exists(out + "/checkpoint.safetensors"));  // never written from bad weights
  std::filesystem::remove_all(out);
}

TEST_CASE("faults: weights that turned non-finite are never saved over the last good checkpoint") {
  // With fresh routing logits the stored ones are read by no forward step, so a NaN there does
  // not show in the loss: only the check before each save can catch it.
  const std::string out = fresh_folder("nan_before_save");
  std::ostringstream log;
  train::TrainOptions options = small_options(out);
  options.epochs = 1;
  options.eval_every = 1;
  options.model.fresh_routing_logits = true;
  std::string best_before;
  options.before_step_for_testing = [&](int64_t step, const models::Model& model) {
    if (step != 2) return;
    best_before = file_bytes(out + "/best.safetensors");
    tensor_named(model, "routing.logits").data()[0] = INFINITY;
  };
  try {
    train::run_training(options, log);
    FAIL("training should have refused to save non-finite weights");
  } catch (const train::NonFiniteError& error) {
    const std::string message = error.what();
    INFO(message);
    CHECK(message.rfind("step ", 0) == 0);
    CHECK(message.find(": not saving " + out + "/") != std::string::npos);
    CHECK(message.find(".safetensors: the parameter 'routing.logits' [4, 20] holds inf at element 0. The previous "
                       "file is untouched.") != std::string::npos);
  }
  REQUIRE(!best_before.empty());
  CHECK(file_bytes(out + "/best.safetensors") == best_before);
  CHECK(!std::filesystem::exists(out + "/checkpoint.safetensors"));
  std::filesystem::remove_all(out);
}

namespace {

// Where a write can be cut short in a safetensors file of `size` bytes: before anything, inside
// the 8-byte header length, inside the JSON header, at the start of the data, inside the data,
// one byte before the end.
std::vector<int64_t> safetensors_cut_points(const std::string& bytes) {
  uint64_t header_length = 0;
  for (int i = 7; i >= 0; --i) header_length = header_length * 256 + static_cast<unsigned char>(bytes[i]);
  const int64_t size = static_cast<int64_t>(bytes.size());
  const int64_t data_start = 8 + static_cast<int64_t>(header_length);
  REQUIRE(data_start < size);
  return {0, 1, 7, 8, 8 + static_cast<int64_t>(header_length) / 2, data_start - 1, data_start,
          (data_start + size) / 2, size - 1};
}

}  // namespace

TEST_CASE("faults: a checkpoint save cut short at any point leaves the previous files loadable and bit-identical") {
  const std::string out = fresh_folder("cut_save"), scratch = fresh_folder("cut_save_scratch");
  std::filesystem::create_directories(scratch);
  std::ostringstream log;
  train::TrainOptions options = small_options(out);
  options.epochs = 1;
  train::run_training(options, log);
  const auto before = folder_contents(out);

  // The run's model, optimizer and state, rebuilt and loaded as --resume does, then changed so
  // that a completed save would change every file.
  const data::Dataset dataset = data::build_dataset(data::load_interactions(options.data));
  Rng rng(1);
  const std::unique_ptr<models::Model> model = models::make_model(options.model, models::catalogue_of(dataset), rng);
  train::load_model(out + "/checkpoint.safetensors", *model);
  for (Tensor tensor : model->checkpoint_tensors())
    for (int64_t i = 0; i < tensor.numel(); ++i) tensor.data()[i] += 0.5f;
  nn::AdamWithLazyTables optimizer(model->parameters());  // step 0: unlike the saved one
  train::TrainState state = train::load_train_state(out + "/train_state.json");
  ++state.step;
  state.first_losses.push_back(1.0);

  struct Save {
    std::string file;
    std::function<void(const std::string& path)> write;
  };
  const std::vector<Save> saves = {
      {"checkpoint.safetensors", [&](const std::string& path) { train::save_model(path, *model); }},
      {"best.safetensors", [&](const std::string& path) { train::save_model(path, *model); }},
      {"optimizer.safetensors", [&](const std::string& path) { train::save_optimizer(path, optimizer); }},
      {"train_state.json", [&](const std::string& path) { train::save_train_state(path, state); }}};
  for (const Save& save : saves) {
    save.write(scratch + "/" + save.file);  // the new file in full, to find its cut points
    const std::string new_bytes = file_bytes(scratch + "/" + save.file);
    REQUIRE(new_bytes != file_bytes(out + "/" + save.file));
    std::vector<int64_t> cut_points = {0, 1, static_cast<int64_t>(new_bytes.size()) / 2,
                                       static_cast<int64_t>(new_bytes.size()) - 1};
    if (save.file.ends_with(".safetensors")) cut_points = safetensors_cut_points(new_bytes);
    for (int64_t cut : cut_points) {
      INFO(save.file << " cut after " << cut << " of " << new_bytes.size() << " bytes");
      {
        WriteFailureAfter failure(cut);
        CHECK_THROWS_WITH(save.write(out + "/" + save.file), doctest::Contains("simulated write failure"));
      }
      // Nothing changed, and no temporary file was left behind.
      CHECK(folder_contents(out) == before);
    }
  }
  // The previous files still load, and a resume from them ends where an uninterrupted run does.
  train::load_model(out + "/best.safetensors", *model);
  train::load_model(out + "/checkpoint.safetensors", *model);
  train::load_optimizer(out + "/optimizer.safetensors", optimizer);
  CHECK(train::load_train_state(out + "/train_state.json").step == 9);
  train::TrainOptions resumed = options;
  resumed.epochs = 2;
  resumed.resume = out;
  train::run_training(resumed, log);
  train::TrainOptions straight = small_options(scratch + "/straight");
  straight.epochs = 2;
  train::run_training(straight, log);
  CHECK(file_bytes(out + "/checkpoint.safetensors") == file_bytes(scratch + "/straight/checkpoint.safetensors"));
  std::filesystem::remove_all(out);
  std::filesystem::remove_all(scratch);
}

namespace {

struct Interruption {
  int64_t step;
  int signal_number;
};

// Runs two epochs of 9 steps, validating every 4 steps with early stopping, once straight and
// once for each interruption: stopped by the signal at that step (on 1 thread), then resumed
// (on 2 threads, as results must not depend on it). Everything must end bit-identical.
void check_interrupt_and_resume(const std::vector<Interruption>& interruptions) {
  const std::string straight_folder = fresh_folder("straight_run");
  std::ostringstream log;
  train::TrainOptions options = small_options(straight_folder);
  options.eval_every = 4;
  options.patience = 3;
  options.threads = 2;
  const train::TrainReport straight = train::run_training(options, log);
  REQUIRE(straight.steps == 18);
  REQUIRE(straight.first_losses.size() == 18);

  for (const Interruption at : interruptions) {
    CAPTURE(at.step);
    const std::string folder = fresh_folder("interrupted_run");
    train::TrainOptions first_part = options;
    first_part.out = folder;
    first_part.threads = 1;
    first_part.before_step_for_testing = [&](int64_t step, const models::Model&) {
      if (step == at.step) std::raise(at.signal_number);  // as Ctrl-C would, in the middle of the run
    };
    std::ostringstream first_log;
    const train::TrainReport interrupted = train::run_training(first_part, first_log);
    CHECK(interrupted.interrupted_by_signal == at.signal_number);
    CHECK(interrupted.steps == at.step);  // the step under way was finished
    CHECK(first_log.str().find("interrupted at step " + std::to_string(at.step) + "; resume with: mind_train --resume " +
                               folder + "\n") != std::string::npos);
    const train::TrainState saved = train::load_train_state(folder + "/train_state.json");
    CHECK(saved.step == at.step);
    CHECK(!saved.finished);
    CHECK(!std::filesystem::exists(folder + "/item_embeddings.npy"));  // no test, no export

    train::TrainOptions rest = train::load_run_options(folder);
    rest.resume = folder;
    rest.out = folder;
    rest.quiet = true;
    rest.threads = 2;
    const train::TrainReport resumed = train::run_training(rest, log);
    CHECK(resumed.interrupted_by_signal == 0);
    CHECK(resumed.steps == straight.steps);
    CHECK(resumed.first_losses == straight.first_losses);
    CHECK(resumed.test.user_count == straight.test.user_count);
    CHECK(resumed.test.at_50.recall == straight.test.at_50.recall);
    CHECK(resumed.test.at_20.ndcg == straight.test.at_20.ndcg);
    for (const char* file : {"checkpoint.safetensors", "best.safetensors", "optimizer.safetensors",
                             "item_embeddings.npy", "user_interests.npy"}) {
      INFO(file);
      CHECK(file_bytes(folder + "/" + file) == file_bytes(straight_folder + "/" + file));
    }
    CHECK(state_without_seconds(folder) == state_without_seconds(straight_folder));
    // The same validation lines with the same mean losses: none lost, none written twice.
    CHECK(metrics_without_timings(folder) == metrics_without_timings(straight_folder));
    std::filesystem::remove_all(folder);
  }
  std::filesystem::remove_all(straight_folder);
}

}  // namespace

TEST_CASE("faults: Ctrl-C right after a validation or on the very last step, then --resume, ends bit-identical") {
  // At step 8 the validation line is already written (the resumed run must not write it again);
  // at step 18 the final validation is still to do (the resumed run must do it).
  check_interrupt_and_resume({Interruption{8, SIGINT}, Interruption{18, SIGINT}});
}

TEST_CASE("faults: SIGTERM or Ctrl-C between validations or at an epoch's end, then --resume, ends bit-identical") {
  // At step 3 the mean loss of steps 1-3 must reach the next validation line; at step 9 the
  // epoch's end comes after the resume.
  check_interrupt_and_resume({Interruption{3, SIGTERM}, Interruption{9, SIGINT}});
}

TEST_CASE("faults: --resume refuses an optimizer state and a training state from different steps") {
  const std::string out = fresh_folder("mismatched_state");
  std::ostringstream log;
  train::TrainOptions options = small_options(out);
  options.epochs = 1;
  train::run_training(options, log);
  // As if the run had been killed between saving optimizer.safetensors and train_state.json.
  train::TrainState state = train::load_train_state(out + "/train_state.json");
  state.step = 5;
  train::save_train_state(out + "/train_state.json", state);
  train::TrainOptions resumed = options;
  resumed.epochs = 2;
  resumed.resume = out;
  const std::string expected =
      "--resume " + out + ": optimizer.safetensors is at step 9 but train_state.json at step 5 (was a save cut short?)";
  CHECK_THROWS_WITH_AS(train::run_training(resumed, log), expected.c_str(), std::runtime_error);
  std::filesystem::remove_all(out);
}

TEST_CASE("faults: an --out that cannot be written or has no room is refused before any training") {
  // A path under a regular file cannot be a folder, even for root (who ignores permissions).
  const std::string parent = fresh_folder("out_under_file");
  std::filesystem::create_directories(parent);
  const std::string file = parent + "/a_file";
  { std::ofstream(file) << "not a folder"; }
  try {
    train::prepare_output_folder(file + "/run", train::OutputUse::fresh);
    FAIL("an --out under a regular file was accepted");
  } catch (const std::runtime_error& error) {
    const std::string message = error.what();
    CHECK(message.rfind("--out " + file + "/run: cannot create the folder: ", 0) == 0);
  }
  // The whole run stops there: nothing is loaded or trained.
  train::TrainOptions options = testing::tiny_options(file + "/run");
  std::ostringstream log;
  CHECK_THROWS_WITH_AS(train::run_training(options, log), doctest::Contains("cannot create the folder"),
                       std::runtime_error);
  CHECK(log.str().find("data:") == std::string::npos);

  // A full disk, as the run would meet it at its first save: asked for more than the file system
  // has, the check names the folder, what is free and what is needed.
  train::prepare_output_folder(parent + "/space", train::OutputUse::fresh);
  train::require_free_space(parent, 1);  // a byte is always there
  try {
    train::require_free_space(parent, uint64_t{1} << 62);
    FAIL("4 EiB of free space were found");
  } catch (const std::runtime_error& error) {
    const std::string message = error.what();
    CHECK(message.rfind("--out " + parent + ": only ", 0) == 0);
    CHECK(message.find(" free there, and this run writes about 4398046511104 MiB") != std::string::npos);
  }
  std::filesystem::remove_all(parent);
}
