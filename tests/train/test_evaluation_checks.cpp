// Evaluations that would mean nothing (train/evaluation_checks.h): a log without validation or
// test users is refused before training, and a log whose targets are all in the history warns.
#include <doctest/doctest.h>

#include <stdexcept>

#include "data/dataset.h"
#include "train/evaluation_checks.h"

using namespace mind;

namespace {

// `users` users with the items 0,1,2 repeated (`repeat`) or distinct items 0..5 (otherwise).
data::InteractionLog log_of(int users, bool repeat) {
  data::InteractionLog log;
  log.source = "test.csv";
  for (int item = 0; item < 6; ++item) log.item_ids.push_back(std::to_string(item));
  for (int user = 0; user < users; ++user) {
    log.user_ids.push_back(std::to_string(user));
    for (int t = 0; t < 6; ++t)
      log.interactions.push_back({static_cast<uint32_t>(user), static_cast<uint32_t>(repeat ? t % 3 : (t + user) % 6), t});
  }
  return log;
}

}  // namespace

TEST_CASE("evaluation checks: a log too small for validation and test users is refused, suggesting --split none") {
  const data::Dataset tiny = data::build_dataset(log_of(3, false));
  CHECK_THROWS_WITH_AS(train::require_evaluated_users(tiny), doctest::Contains("test.csv: too small to evaluate: 3 users give 0 validation and 0 test users"),
                       std::invalid_argument);
  CHECK_THROWS_WITH_AS(train::require_evaluated_users(tiny), doctest::Contains("--split none"), std::invalid_argument);
  CHECK_NOTHROW(train::require_evaluated_users(data::build_dataset(log_of(40, false))));
}

TEST_CASE("evaluation checks: every target already in the history warns, pointing to the flag that keeps it") {
  const data::Dataset repeated = data::build_dataset(log_of(40, true));
  const std::optional<std::string> warning =
      train::all_targets_in_history_warning(repeated, data::Split::test, true, "--no-exclude-history");
  REQUIRE(warning.has_value());
  CHECK(warning->find("every target of the 4 test users is already in their history") != std::string::npos);
  CHECK(warning->find("--no-exclude-history") != std::string::npos);
  // Not when the history is kept, nor when some target is new.
  CHECK(!train::all_targets_in_history_warning(repeated, data::Split::test, false, "--no-exclude-history"));
  const data::Dataset distinct = data::build_dataset(log_of(40, false));
  CHECK(!train::all_targets_in_history_warning(distinct, data::Split::valid, true, "--no-exclude-history"));
}
