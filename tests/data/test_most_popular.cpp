// Most-Popular on a hand-made log, through the whole protocol (remapping, split, cut): its lists
// and its metrics, with and without history exclusion, all worked out by hand.
#include <doctest/doctest.h>

#include <stdexcept>
#include <string>
#include <vector>

#include "data/most_popular.h"

using namespace mind::data;

namespace {

// Users "0".."9": "8" valid, "9" test, the rest train (one row per item, times 1, 2, ...).
//   train: 0: 1 2 3 | 1: 1 2 | 2: 1 4 | 3: 5 2 | 4: 1 | 5: 6 | 6: 3 | 7: 7
//   counts 1:4, 2:3, 3:2, then 4, 5, 6, 7 once each (ties by numeric id)
//   -> dense 1:0, 2:1, 3:2, 4:3, 5:4, 6:5, 7:6; held-out only 8 and 9, twice each -> 8:7, 9:8.
//   valid "8": 2 8 1 9 | 8 (m = 5, cut 4) -> history {1, 7, 0, 8}, targets {7} (in the history)
//   test  "9": 4 9 1 2 | 5 (m = 5, cut 4) -> history {3, 8, 0, 1}, targets {4}
Dataset hand_dataset() {
  const std::vector<std::vector<std::string>> sequences = {
      {"1", "2", "3"}, {"1", "2"}, {"1", "4"}, {"5", "2"}, {"1"}, {"6"}, {"3"}, {"7"},
      {"2", "8", "1", "9", "8"}, {"4", "9", "1", "2", "5"}};
  InteractionLog log;
  log.source = "hand-made";
  for (size_t user = 0; user < sequences.size(); ++user) {
    log.user_ids.push_back(std::to_string(user));
    for (size_t step = 0; step < sequences[user].size(); ++step) {
      const std::string& item = sequences[user][step];
      uint32_t index = 0;
      while (index < log.item_ids.size() && log.item_ids[index] != item) ++index;
      if (index == log.item_ids.size()) log.item_ids.push_back(item);
      const int64_t timestamp = static_cast<int64_t>(step + 1);
      log.interactions.push_back({static_cast<uint32_t>(user), index, timestamp});
    }
  }
  return build_dataset(log);
}

}  // namespace

TEST_CASE("most popular: the dataset behind the hand-computed numbers") {
  const Dataset dataset = hand_dataset();
  CHECK(dataset.item_original_ids ==
        std::vector<std::string>{"1", "2", "3", "4", "5", "6", "7", "8", "9"});
  CHECK(dataset.item_train_frequency == std::vector<int64_t>{4, 3, 2, 1, 1, 1, 1, 0, 0});
}

TEST_CASE("most popular: lists are the lowest indices outside the history") {
  const Dataset dataset = hand_dataset();
  const std::vector<EvalUser> test = evaluation_users(dataset, Split::test);
  REQUIRE(test.size() == 1);
  CHECK(test[0].targets == std::vector<int32_t>{4});
  CHECK(most_popular_top_n(dataset, test[0], 3, true) == std::vector<int32_t>{2, 4, 5});
  CHECK(most_popular_top_n(dataset, test[0], 7, true) ==
        std::vector<int32_t>{2, 4, 5, 6, 7, -1, -1});  // only 5 items are left
  CHECK(most_popular_top_n(dataset, test[0], 4, false) == std::vector<int32_t>{0, 1, 2, 3});
  CHECK_THROWS_AS(most_popular_top_n(dataset, test[0], 0, true), std::runtime_error);
}

TEST_CASE("most popular: hand-computed metrics on the test and valid users") {
  const Dataset dataset = hand_dataset();
  // Test: list 2 4 5 6 7 -> the target 4 at rank 1: NDCG = 1/log2(3).
  const EvalResult test = evaluate_most_popular(dataset, Split::test, true);
  CHECK(test.user_count == 1);
  CHECK(test.at_20.recall == 1.0);
  CHECK(test.at_20.hit_rate == 1.0);
  CHECK(test.at_20.ndcg == doctest::Approx(0.6309297535714575));
  CHECK(test.at_50.ndcg == doctest::Approx(0.6309297535714575));
  // Without exclusion: list 0 1 2 3 4 ... -> the target at rank 4: NDCG = 1/log2(6).
  const EvalResult test_kept = evaluate_most_popular(dataset, Split::test, false);
  CHECK(test_kept.at_20.recall == 1.0);
  CHECK(test_kept.at_20.ndcg == doctest::Approx(0.38685280723454163));
  // Valid: the only target (7) is in the history, so with exclusion nothing can be found.
  const EvalResult valid = evaluate_most_popular(dataset, Split::valid, true);
  CHECK(valid.user_count == 1);
  CHECK(valid.at_50.recall == 0.0);
  CHECK(valid.at_50.hit_rate == 0.0);
  CHECK(valid.at_50.ndcg == 0.0);
  // Without exclusion it sits at rank 7: NDCG = 1/log2(9).
  const EvalResult valid_kept = evaluate_most_popular(dataset, Split::valid, false);
  CHECK(valid_kept.at_20.hit_rate == 1.0);
  CHECK(valid_kept.at_20.ndcg == doctest::Approx(0.31546487678572877));
}
