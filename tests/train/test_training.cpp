// End-to-end runs of the trainer on a tiny synthetic dataset: a golden trace (the first losses
// and the final metrics of a fixed-seed run, so a refactor that changes the numbers is caught),
// exact resume, thread-count independence, NaN reporting, and the exported files.
#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "io/json.h"
#include "io/npy.h"
#include "io/safetensors.h"
#include "train/trainer.h"
#include "training_helpers.h"

using namespace mind;

using testing::file_bytes;
using testing::fresh_folder;
using testing::tiny_options;

TEST_CASE("training: a fixed-seed tiny run reproduces its golden losses and metrics") {
  const std::string out = fresh_folder("golden");
  std::ostringstream log;
  const train::TrainReport report = train::run_training(tiny_options(out), log);
  INFO(log.str());
  REQUIRE(report.first_losses.size() >= 5);
  // Recorded from this implementation (any build, any thread count); they only change if the
  // model, the data path or the random streams change.
  const std::vector<double> golden_losses = {3.4334362, 3.5509520, 3.5691562, 3.4364319, 3.6028738,
                                             3.5697448, 3.6515801, 3.0498424, 3.4710107, 3.6224108};
  for (size_t i = 0; i < golden_losses.size(); ++i) {
    INFO("step " << i + 1 << ": loss " << report.first_losses[i]);
    CHECK(report.first_losses[i] == doctest::Approx(golden_losses[i]).epsilon(1e-4));
  }
  // Metrics are rank-based: a last-bit difference (a build with other SIMD lanes sums dot
  // products in another order) may swap two close items, so they get an absolute tolerance.
  CHECK(report.test.user_count == 40);
  CHECK(report.test.at_50.recall == doctest::Approx(0.4083333).epsilon(0.02));
  CHECK(report.test.at_20.ndcg == doctest::Approx(0.1176817).epsilon(0.02));
  // It learned something: far above chance (50 of 300 items ≈ 0.17 recall at random).
  CHECK(report.test.at_50.recall > 0.3);
  std::filesystem::remove_all(out);
}

TEST_CASE("training: an interrupted and resumed run ends byte-identical to an uninterrupted one") {
  const std::string straight = fresh_folder("straight"), resumed = fresh_folder("resumed");
  std::ostringstream log;
  train::run_training(tiny_options(straight), log);

  train::TrainOptions first_half = tiny_options(resumed);
  first_half.epochs = 1;
  train::run_training(first_half, log);
  train::TrainOptions second_half = train::load_run_options(resumed);
  second_half.epochs = 2;
  second_half.resume = resumed;
  second_half.out = resumed;
  second_half.quiet = true;
  train::run_training(second_half, log);

  for (const char* file : {"checkpoint.safetensors", "optimizer.safetensors", "best.safetensors", "item_embeddings.npy"}) {
    INFO(file);
    CHECK(file_bytes(straight + "/" + file) == file_bytes(resumed + "/" + file));
  }
  std::filesystem::remove_all(straight);
  std::filesystem::remove_all(resumed);
}

TEST_CASE("training: 1 and 2 threads give byte-identical checkpoints") {
  const std::string one = fresh_folder("one_thread"), two = fresh_folder("two_threads");
  std::ostringstream log;
  train::TrainOptions options = tiny_options(one);
  options.epochs = 1;
  options.threads = 1;
  train::run_training(options, log);
  options.out = two;
  options.threads = 2;
  train::run_training(options, log);
  CHECK(file_bytes(one + "/checkpoint.safetensors") == file_bytes(two + "/checkpoint.safetensors"));
  std::filesystem::remove_all(one);
  std::filesystem::remove_all(two);
}

TEST_CASE("training: hard negatives, the routing penalty, sampled interests and weight decay give byte-identical checkpoints on 1 and 2 threads, and resume exactly") {
  // Sampled interest selection, hard negatives, the routing penalty and AdamW together.
  const auto with_mechanisms = [](const std::string& out) {
    train::TrainOptions options = tiny_options(out);
    options.model.attention.sample = true;
    options.model.hard_negative_beta = 0.5f;
    options.model.routing_regularization = 0.1f;
    options.model.routing_gradient = true;
    options.weight_decay = 0.01f;
    return options;
  };
  const std::string one = fresh_folder("mechanisms_one"), two = fresh_folder("mechanisms_two"),
                    resumed = fresh_folder("mechanisms_resumed"), plain = fresh_folder("mechanisms_plain");
  std::ostringstream log;
  train::TrainOptions options = with_mechanisms(one);
  options.threads = 1;
  train::run_training(options, log);
  options = with_mechanisms(two);
  options.threads = 2;
  train::run_training(options, log);
  CHECK(file_bytes(one + "/checkpoint.safetensors") == file_bytes(two + "/checkpoint.safetensors"));

  // run.json keeps the four, so a resume continues with them and ends on the same bytes.
  train::TrainOptions first_half = with_mechanisms(resumed);
  first_half.epochs = 1;
  train::run_training(first_half, log);
  train::TrainOptions second_half = train::load_run_options(resumed);
  CHECK(second_half.model.attention.sample);
  CHECK(second_half.model.hard_negative_beta == 0.5f);
  CHECK(second_half.model.routing_regularization == 0.1f);
  CHECK(second_half.weight_decay == 0.01f);
  second_half.epochs = 2;
  second_half.resume = resumed;
  second_half.out = resumed;
  train::run_training(second_half, log);
  CHECK(file_bytes(one + "/checkpoint.safetensors") == file_bytes(resumed + "/checkpoint.safetensors"));

  // And they do change training: the same run without them ends elsewhere.
  train::run_training(tiny_options(plain), log);
  CHECK(file_bytes(one + "/checkpoint.safetensors") != file_bytes(plain + "/checkpoint.safetensors"));
  for (const std::string& folder : {one, two, resumed, plain}) std::filesystem::remove_all(folder);
}

TEST_CASE("training: the exported files have the documented shapes and names") {
  const std::string out = fresh_folder("export");
  std::ostringstream log;
  train::TrainOptions options = tiny_options(out);
  options.epochs = 1;
  train::run_training(options, log);
  const io::NpyArray items = io::load_npy(out + "/item_embeddings.npy");
  CHECK(items.shape.size() == 2);
  CHECK(items.shape[1] == 8);
  const io::NpyArray interests = io::load_npy(out + "/user_interests.npy");
  const io::NpyArray counts = io::load_npy(out + "/user_interest_counts.npy");
  REQUIRE(interests.shape.size() == 3);
  CHECK(interests.shape[1] == 4);
  CHECK(interests.shape[2] == 8);
  REQUIRE(counts.shape == std::vector<int64_t>{interests.shape[0]});
  // Rows past a user's live count are zero, and each count is in 1..K.
  for (int64_t u = 0; u < interests.shape[0]; ++u) {
    const int32_t live = counts.int32_values[u];
    CHECK(live >= 1);
    CHECK(live <= 4);
    for (int64_t j = live; j < 4; ++j)
      for (int64_t k = 0; k < 8; ++k) CHECK(interests.float32_values[(u * 4 + j) * 8 + k] == 0.0f);
  }
  const io::SafetensorsFile checkpoint = io::load_safetensors(out + "/checkpoint.safetensors");
  for (const char* name : {"item_embedding.weight", "category_embedding.weight", "profile.age_band.weight",
                           "profile.segment.weight", "routing.bilinear.weight", "routing.logits", "mlp.0.weight",
                           "mlp.0.bias", "mlp.1.weight", "mlp.1.bias"})
    CHECK_MESSAGE(checkpoint.find(name) != nullptr, name);
  CHECK(checkpoint.get("mlp.0.weight").shape == std::vector<int64_t>{16, 8 + 2 * 4});  // [hidden, d + profile]
  CHECK(checkpoint.get_metadata("model") == "mind");
  std::ifstream items_tsv(out + "/items.tsv");
  std::string header;
  std::getline(items_tsv, header);
  CHECK(header == "index\toriginal_id");
  std::filesystem::remove_all(out);
}

TEST_CASE("training: a NaN stops the run with the step and where it appeared") {
  const std::string out = fresh_folder("nan");
  std::ostringstream log;
  train::TrainOptions options = tiny_options(out);
  options.learning_rate = 1e30f;  // the first update throws the weights to ±1e30: inf follows
  try {
    train::run_training(options, log);
    FAIL("training should have stopped on a non-finite value");
  } catch (const train::NonFiniteError& error) {
    const std::string message = error.what();
    INFO(message);
    CHECK(message.find("step ") != std::string::npos);
    CHECK((message.find("the op '") != std::string::npos || message.find("parameter '") != std::string::npos));
  }
  std::filesystem::remove_all(out);
}

TEST_CASE("training: bad options are refused naming the flag, before any work") {
  std::ostringstream log;
  train::TrainOptions options = tiny_options(fresh_folder("bad"));
  options.model.interests = 0;
  CHECK_THROWS_WITH_AS(train::run_training(options, log), doctest::Contains("--interests"), std::invalid_argument);
  options = tiny_options(fresh_folder("bad"));
  options.model.negatives = 1000;  // M ≥ N
  CHECK_THROWS_WITH_AS(train::run_training(options, log), doctest::Contains("--negatives"), std::invalid_argument);
  options = tiny_options("/proc/mind_cannot_write_here");
  CHECK_THROWS_WITH_AS(train::run_training(options, log), doctest::Contains("--out"), std::runtime_error);
  std::filesystem::remove_all(fresh_folder("bad"));
}
