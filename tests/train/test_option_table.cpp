// The option table (train/option_table.h) against everything it drives: every option set to a
// value other than its default survives run.json, its command-line text and the checkpoint
// metadata; ranges name the flag; --resume refuses a changed locked option with both values.
// The tests walk the table, so a new row is covered without being listed here; the first test
// fails until the new option is given a non-default value below.
#include <doctest/doctest.h>

#include <filesystem>

#include "autograd/random.h"
#include "io/safetensors.h"
#include "train/checkpoint.h"
#include "train/option_table.h"
#include "training_helpers.h"

using namespace mind;

namespace {

// Every option at a value other than its default (and other than what "2d"/"4d" give).
train::TrainOptions unusual_options() {
  train::TrainOptions options;
  data::DataOptions& data = options.data;
  data.data = "some/folder";
  data.format = "csv";
  data.columns = "user=u,item=i,time=t";
  data.delimiter = "tab";
  data.item_features = "items.csv";
  data.user_features = "users.csv";
  data.fold = 3;
  data.split = "none";
  data.synthetic.seed = 77;
  data.synthetic.users = 123;
  data.synthetic.items = 456;
  data.synthetic.categories = 12;
  data.synthetic.max_interests = 3;
  data.synthetic.min_length = 5;
  data.synthetic.max_length = 9;
  data.synthetic.zipf_exponent = 0.75;
  data.synthetic.category_zipf_exponent = 0.125;
  data.synthetic.noise = 0.3;
  data.synthetic.segment_correlation = 0.2;
  data.synthetic.segments = 3;
  data.synthetic.age_bands = 2;
  models::ModelConfig& model = options.model;
  model.model = "comirec_dr";
  model.dim = 12;
  model.interests = 3;
  model.max_len = 7;
  model.routing_iterations = 2;
  model.routing_softmax = nn::RoutingSoftmax::over_behaviours;
  model.dynamic_interests = false;
  model.routing_gradient = true;
  model.fresh_routing_logits = true;
  model.squash_power = 0.3f;  // not exact in binary: the text must still read back to the same float
  model.attention.hard = false;
  model.attention.power = 2.5f;
  model.hidden = {20, 10};
  model.use_categories = false;
  model.profile_width = 5;
  model.attention_width = 9;
  model.negatives = 33;
  model.loss = "full";
  model.diversity_weight = 0.1f;
  model.hard_negative_beta = 0.25f;
  model.routing_regularization = -0.5f;
  model.attention.sample = true;
  options.batch_size = 32;
  options.epochs = 7;
  options.max_steps = 99;
  options.learning_rate = 3e-4f;
  options.clip_norm = 5.0f;
  options.weight_decay = 0.01f;
  options.seed = 18446744073709551557ULL;  // above 2^53: a JSON double would round it
  options.threads = 2;
  options.eval_every = 11;
  options.patience = 4;
  options.exclude_history = false;
  options.eval_batch_size = 50;
  options.out = "elsewhere";
  options.resume = "earlier";
  options.overwrite = true;
  options.checkpoint_every = 25;
  options.export_data = "csv_copy";
  options.quiet = true;
  return options;
}

}  // namespace

TEST_CASE("option table: every option is set to a non-default value by the round-trip tests") {
  const train::TrainOptions defaults, unusual = unusual_options();
  for (const train::Option& option : train::option_table()) {
    INFO(option.flag << " " << option.run_key);
    CHECK(option.format(unusual) != option.format(defaults));
    CHECK(option.check(unusual) == "");
    CHECK(option.check(defaults) == "");
  }
}

TEST_CASE("option table: run.json keeps every saved option") {
  const train::TrainOptions unusual = unusual_options();
  const train::TrainOptions loaded =
      train::options_from_json(nlohmann::json::parse(train::options_to_json(unusual).dump()), "run.json");
  for (const train::Option& option : train::option_table()) {
    if (option.run_key.empty()) continue;
    INFO(option.flag << " " << option.run_key);
    CHECK(option.format(loaded) == option.format(unusual));
  }
  CHECK(loaded.seed == unusual.seed);
  CHECK(loaded.model.squash_power == unusual.model.squash_power);  // bit for bit
}

TEST_CASE("option table: run.json writes a float as its shortest text, which reads back bit for bit") {
  train::TrainOptions options;  // the default learning rate 1e-3f is not exact in binary
  const std::string text = train::options_to_json(options).dump();
  CHECK(text.find("\"learning_rate\":0.001,") != std::string::npos);
  CHECK(text.find("0.0010000000474974513") == std::string::npos);
  options.model.squash_power = 0.3f;
  options.learning_rate = 1.0f / 3.0f;
  const train::TrainOptions loaded =
      train::options_from_json(nlohmann::json::parse(train::options_to_json(options).dump()), "run.json");
  CHECK(loaded.learning_rate == options.learning_rate);
  CHECK(loaded.model.squash_power == options.model.squash_power);
}

TEST_CASE("option table: the text of every flag reads back as the same value") {
  const train::TrainOptions unusual = unusual_options();
  train::TrainOptions parsed;
  for (const train::Option& option : train::option_table()) {
    if (option.flag.empty()) continue;
    INFO(option.flag);
    option.parse(parsed, option.is_switch() ? "" : option.format(unusual));
    CHECK(option.format(parsed) == option.format(unusual));
  }
}

TEST_CASE("option table: the widths '2d' and '4d' follow --dim") {
  train::TrainOptions options;
  train::find_option("--dim").parse(options, "10");
  train::find_option("--hidden").parse(options, "2d,7");
  train::find_option("--attention-width").parse(options, "4d");
  CHECK(options.model.hidden == std::vector<int64_t>{20, 7});
  CHECK(options.model.attention_width == 40);
}

TEST_CASE("option table: a checkpoint's metadata holds every option with a metadata key") {
  const std::string folder = testing::fresh_folder("metadata");
  std::filesystem::create_directories(folder);
  train::TrainOptions unusual = unusual_options();
  // Training-only options that are not in the metadata, set back where a model can be built with
  // the unusual full softmax and soft attention.
  unusual.model.hard_negative_beta = 0.0f;
  unusual.model.attention.sample = false;
  unusual.model.use_categories = true;  // the catalogue below has categories, so "true" is kept
  models::Catalogue catalogue;
  catalogue.item_count = 50;
  catalogue.category_count = 5;
  for (int32_t item = 0; item < 50; ++item) catalogue.item_categories.push_back({item % 5});
  Rng rng(1);
  const std::unique_ptr<models::Model> model = models::make_model(unusual.model, catalogue, rng);
  train::save_model(folder + "/model.safetensors", *model);
  const io::SafetensorsFile file = io::load_safetensors(folder + "/model.safetensors");
  int64_t keys = 0;
  for (const train::Option& option : train::option_table()) {
    if (option.metadata_key.empty()) continue;
    INFO(option.flag << " as " << option.metadata_key);
    CHECK(file.get_metadata(option.metadata_key) == option.format(unusual));
    ++keys;
  }
  CHECK(file.get_metadata("items") == "50");
  // The keys are part of the checkpoint format (Python readers use them): same names, same order.
  std::vector<std::string> names;
  for (const auto& [key, value] : file.metadata) names.push_back(key);
  CHECK(names == std::vector<std::string>{"format", "model", "d", "K", "L", "R", "routing_softmax", "dynamic_k",
                                          "routing_gradient", "squash_power", "attention_power", "hidden",
                                          "use_categories", "profile_width", "items"});
  CHECK(keys == 13);
  std::filesystem::remove_all(folder);
}

TEST_CASE("option table: a value out of range is refused naming the flag and the value") {
  train::TrainOptions options;
  options.model.dim = 0;
  CHECK_THROWS_WITH_AS(train::check_options(options), "--dim must be at least 1, got 0", std::invalid_argument);
  options = train::TrainOptions();
  options.model.squash_power = 1.5f;
  CHECK_THROWS_WITH_AS(train::check_options(options), "--squash-power must be in (0, 1], got 1.5", std::invalid_argument);
  options = train::TrainOptions();
  options.model.loss = "hinge";
  CHECK_THROWS_WITH_AS(train::check_options(options), "--loss must be one of sampled|full, got 'hinge'",
                       std::invalid_argument);
  options = train::TrainOptions();
  options.learning_rate = 0.0f;
  CHECK_THROWS_WITH_AS(train::check_options(options), "--lr must be greater than 0, got 0", std::invalid_argument);
  CHECK_THROWS_WITH_AS(train::find_option("--dim").parse(options, "12x"), "--dim: '12x' is not an integer",
                       std::invalid_argument);
  CHECK_THROWS_WITH_AS(train::find_option("--attention-power").parse(options, "soft"),
                       "--attention-power must be a number or 'hard', got 'soft'", std::invalid_argument);
}

TEST_CASE("option table: --resume refuses a changed locked option with both values, and takes the others") {
  const train::TrainOptions saved;
  train::TrainOptions resumed = saved;
  train::find_option("--dim").parse(resumed, "64");  // the same value: fine
  train::find_option("--epochs").parse(resumed, "9");
  train::find_option("--threads").parse(resumed, "1");
  train::find_option("--quiet").parse(resumed, "");
  CHECK_NOTHROW(train::check_resume_changes(saved, resumed));
  train::find_option("--dim").parse(resumed, "32");
  CHECK_THROWS_WITH_AS(train::check_resume_changes(saved, resumed),
                       "--dim cannot change on --resume: the run has '64', the command line says '32'",
                       std::invalid_argument);
  resumed = saved;
  train::find_option("--squash-power").parse(resumed, "0.5");  // was silently ignored before the table
  CHECK_THROWS_WITH_AS(train::check_resume_changes(saved, resumed),
                       "--squash-power cannot change on --resume: the run has '1', the command line says '0.5'",
                       std::invalid_argument);
}

TEST_CASE("option table: run.json with an unknown, a missing or a mistyped key is refused naming it") {
  nlohmann::json saved = train::options_to_json(train::TrainOptions());
  nlohmann::json extra = saved;
  extra["model"]["dimension"] = 3;
  CHECK_THROWS_WITH_AS(train::options_from_json(extra, "x/run.json"), "x/run.json: unknown key /model/dimension",
                       std::runtime_error);
  nlohmann::json missing = saved;
  missing["model"].erase("dim");
  CHECK_THROWS_WITH_AS(train::options_from_json(missing, "x/run.json"), "x/run.json: no /model/dim", std::runtime_error);
  nlohmann::json mistyped = saved;
  mistyped["model"]["dim"] = 6.5;
  CHECK_THROWS_WITH_AS(train::options_from_json(mistyped, "x/run.json"),
                       doctest::Contains("x/run.json: /model/dim: expected an integer"), std::runtime_error);
  nlohmann::json out_of_range = saved;
  out_of_range["model"]["dim"] = 0;
  CHECK_THROWS_WITH_AS(train::options_from_json(out_of_range, "x/run.json"),
                       "x/run.json: --dim must be at least 1, got 0", std::runtime_error);
}

TEST_CASE("option table: a negative seed and a number past its type are refused, not wrapped") {
  train::TrainOptions options;
  CHECK_THROWS_WITH_AS(train::find_option("--seed").parse(options, "-1"), "--seed must be at least 0, got -1",
                       std::invalid_argument);
  CHECK_THROWS_WITH_AS(train::find_option("--dim").parse(options, "99999999999999999999"),
                       "--dim: '99999999999999999999' is out of range (at most 9223372036854775807)",
                       std::invalid_argument);
  CHECK(options.seed == train::TrainOptions().seed);
}

TEST_CASE("option table: every NUMBER option refuses NaN and infinity, naming the flag") {
  int number_rows = 0;
  for (const train::Option& option : train::option_table()) {
    if (option.type_name != "NUMBER" || option.flag.empty()) continue;
    ++number_rows;
    for (const char* value : {"nan", "inf", "-inf"}) {
      train::TrainOptions options;
      option.parse(options, value);
      INFO(option.flag << " " << value);
      CHECK_THROWS_WITH_AS(train::check_options(options), doctest::Contains((option.flag + " must be a finite number").c_str()),
                           std::invalid_argument);
    }
  }
  CHECK(number_rows >= 10);  // --lr, --clip-norm, --diversity-weight, ...
  train::TrainOptions options;
  train::find_option("--attention-power").parse(options, "inf");
  CHECK_THROWS_WITH_AS(train::check_options(options), doctest::Contains("--attention-power"), std::invalid_argument);
}

TEST_CASE("option table: every numeric option states its range, and the width options theirs") {
  for (const train::Option& option : train::option_table()) {
    INFO(option.flag);
    if (option.type_name == "INT" || option.type_name == "NUMBER") CHECK(!option.range_text.empty());
  }
  CHECK(train::find_option("--threads").range_text == ">= 0");
  CHECK(train::find_option("--fold").range_text == "[0, 9]");
  CHECK(train::find_option("--lr").range_text == "> 0, finite");
  CHECK(train::find_option("--seed").range_text == "[0, 2^64-1]");
  CHECK(train::find_option("--hidden").range_text == "each >= 1");
}
