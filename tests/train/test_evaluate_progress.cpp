// How far an evaluation and an export have got, as the trainer's progress line sees it: the test
// evaluation counts three passes over its users (encode, rank, then the diagnostics), can be
// stopped in the diagnostics, and the export reports every user it encodes; none of it changes
// a figure.
#include <doctest/doctest.h>

#include <cstdint>
#include <filesystem>
#include <memory>
#include <utility>
#include <vector>

#include "autograd/random.h"
#include "data/dataset.h"
#include "data/synthetic.h"
#include "models/model.h"
#include "train/evaluate.h"
#include "train/export.h"
#include "training_helpers.h"

using namespace mind;

namespace {

// 2000 synthetic users (200 tested), a MIND model with K = 4 and d = 8 at its initial weights:
// 800 live interests, so the diagnostics need no more than one batch; see the test below.
struct Fixture {
  data::Dataset dataset;
  std::unique_ptr<models::Model> model;
  Fixture() {
    data::SyntheticOptions synthetic;
    synthetic.users = 2000;
    synthetic.items = 300;
    synthetic.categories = 30;
    synthetic.min_length = 20;
    synthetic.max_length = 30;
    dataset = data::build_dataset(data::generate_synthetic(synthetic));
    models::ModelConfig config;
    config.dim = 8;
    config.hidden = {16};
    config.profile_width = 4;
    config.negatives = 40;
    Rng rng(3);
    model = models::make_model(config, models::catalogue_of(dataset), rng);
  }
};

}  // namespace

TEST_CASE("evaluation progress: the test counts three passes, validation two, and both end at their total") {
  const Fixture fixture;
  const int64_t users = static_cast<int64_t>(data::evaluation_users(fixture.dataset, data::Split::test).size());
  REQUIRE(users > 100);
  for (const bool with_diagnostics : {false, true}) {
    CAPTURE(with_diagnostics);
    std::vector<std::pair<int64_t, int64_t>> calls;
    const train::Evaluation evaluation =
        train::evaluate(*fixture.model, fixture.dataset, data::Split::test, true, 64, with_diagnostics,
                        [&calls](int64_t done, int64_t total) {
                          calls.emplace_back(done, total);
                          return true;
                        });
    CHECK(evaluation.completed);
    REQUIRE(!calls.empty());
    const int64_t expected_total = (with_diagnostics ? 3 : 2) * users;
    int64_t previous = 0;
    for (const auto& [done, total] : calls) {
      CHECK(total == expected_total);
      CHECK(done >= previous);
      previous = done;
    }
    CHECK(calls.back().first == expected_total);
    // The progress changes no figure.
    const train::Evaluation silent =
        train::evaluate(*fixture.model, fixture.dataset, data::Split::test, true, 64, with_diagnostics);
    CHECK(silent.metrics.at_50.recall == evaluation.metrics.at_50.recall);
    CHECK(silent.diagnostics.purity == evaluation.diagnostics.purity);
    CHECK(silent.diagnostics.coverage == evaluation.diagnostics.coverage);
  }
}

TEST_CASE("evaluation progress: Ctrl-C in the diagnostics stops the test there") {
  const Fixture fixture;
  const int64_t users = static_cast<int64_t>(data::evaluation_users(fixture.dataset, data::Split::test).size());
  int64_t last_done = 0;
  const train::Evaluation evaluation =
      train::evaluate(*fixture.model, fixture.dataset, data::Split::test, true, 64, true,
                      [&last_done, users](int64_t done, int64_t) {
                        last_done = done;
                        return done <= 2 * users;  // "stop" at the first report of the diagnostics
                      });
  CHECK_FALSE(evaluation.completed);
  CHECK(last_done > 2 * users);
  CHECK(last_done <= 3 * users);
}

TEST_CASE("export progress: every user's interests are reported as encoded, ending at the user count") {
  const Fixture fixture;
  const std::string folder = testing::fresh_folder("export_progress");
  std::filesystem::create_directories(folder);
  const train::EncodedUsers test_users = train::encode_users(*fixture.model, fixture.dataset, {}, 64);
  std::vector<std::pair<uint64_t, uint64_t>> calls;
  train::export_run(folder, fixture.dataset, *fixture.model, test_users, 512,
                    [&calls](uint64_t done, uint64_t total) { calls.emplace_back(done, total); });
  const uint64_t users = static_cast<uint64_t>(fixture.dataset.user_count);
  CHECK(calls == std::vector<std::pair<uint64_t, uint64_t>>{{512, users}, {1024, users}, {1536, users}, {users, users}});
  CHECK(std::filesystem::file_size(folder + "/all_user_interests.npy") > 0);
  std::filesystem::remove_all(folder);
}
