// Protocol v1 on hand-made logs: user order and split (integer and string ids), stable time
// sort, item remapping with its tie rules, training samples, the evaluation cut, carried-over
// features and the errors on inconsistent logs. Every expected value is worked out by hand.
#include <doctest/doctest.h>

#include <span>
#include <stdexcept>
#include <string>
#include <vector>

#include "data/dataset.h"

using namespace mind::data;

namespace {

struct Row {
  std::string user;
  std::string item;
  int64_t timestamp;
};

// A log with ids listed in order of first appearance, as the readers produce it.
InteractionLog make_log(const std::vector<Row>& rows) {
  InteractionLog log;
  log.source = "hand-made";
  for (const Row& row : rows) {
    uint32_t user = 0;
    while (user < log.user_ids.size() && log.user_ids[user] != row.user) ++user;
    if (user == log.user_ids.size()) log.user_ids.push_back(row.user);
    uint32_t item = 0;
    while (item < log.item_ids.size() && log.item_ids[item] != row.item) ++item;
    if (item == log.item_ids.size()) log.item_ids.push_back(row.item);
    log.interactions.push_back({user, item, row.timestamp});
  }
  return log;
}

// Eleven users with integer ids. Worked out by hand:
//   numeric user order 1,2,3,4,5,6,7,8,9,10,100 -> "9" valid (position 8), "10" test (9),
//   "100" train (10). Train item counts: 9:3, then 2,3,11,20,100 twice each (numeric ties:
//   2 < 3 < 11 < 20 < 100) -> dense 9:0, 2:1, 3:2, 11:3, 20:4, 100:5. Held-out only: 40 and 50
//   twice (40 first), 60 and 1000 once (60 first) -> 40:6, 50:7, 60:8, 1000:9.
InteractionLog integer_log() {
  return make_log({
      {"1", "20", 30}, {"1", "3", 10}, {"1", "20", 20},     // sorted: 3, 20, 20
      {"2", "3", 5}, {"2", "100", 5}, {"2", "9", 1},        // tie at 5 keeps file order: 9, 3, 100
      {"10", "40", 5}, {"10", "60", 6}, {"10", "1000", 7},  // test user
      {"3", "9", 7}, {"4", "100", 1}, {"5", "11", 1}, {"6", "2", 1},
      {"7", "2", 1}, {"8", "11", 1}, {"100", "9", 1},
      {"9", "50", 1}, {"9", "40", 2}, {"9", "3", 3}, {"9", "50", 4},  // valid user
  });
}

}  // namespace

TEST_CASE("dataset: integer user ids are ordered numerically and split by position modulo 10") {
  const Dataset dataset = build_dataset(integer_log());
  CHECK(dataset.user_count == 11);
  CHECK(dataset.interaction_count == 20);
  CHECK(dataset.user_original_ids ==
        std::vector<std::string>{"1", "2", "3", "4", "5", "6", "7", "8", "9", "10", "100"});
  CHECK(dataset.valid_users == std::vector<int32_t>{8});
  CHECK(dataset.test_users == std::vector<int32_t>{9});
  CHECK(dataset.train_users == std::vector<int32_t>{0, 1, 2, 3, 4, 5, 6, 7, 10});
  CHECK(dataset.user_split[8] == Split::valid);
  CHECK(dataset.user_split[9] == Split::test);
  CHECK(dataset.user_split[10] == Split::train);
  CHECK(std::string(split_name(Split::valid)) == "valid");
}

TEST_CASE("dataset: --fold F tests position F and validates position F - 1 (mod 10)") {
  // Fold 0 on the eleven users: positions 0 and 10 ("1", "100") test, position 9 ("10") valid.
  const Dataset fold_0 = build_dataset(integer_log(), 0);
  CHECK(fold_0.fold == 0);
  CHECK(fold_0.test_users == std::vector<int32_t>{0, 10});
  CHECK(fold_0.valid_users == std::vector<int32_t>{9});
  CHECK(fold_0.train_users == std::vector<int32_t>{1, 2, 3, 4, 5, 6, 7, 8});
  // The item order follows the fold's training users ("2" .. "9"): 2, 3, 9, 11, 50, 100 twice
  // each (numeric ties), 40 once; held-out only: 20 twice, then 60 and 1000 once.
  CHECK(fold_0.train_item_count == 7);
  CHECK(fold_0.item_original_ids ==
        std::vector<std::string>{"2", "3", "9", "11", "50", "100", "40", "20", "60", "1000"});
  CHECK(fold_0.training_sample_count == 5);  // "2": 2 samples, "9": 3 samples

  // Fold 5: position 5 ("6") test, position 4 ("5") valid.
  const Dataset fold_5 = build_dataset(integer_log(), 5);
  CHECK(fold_5.test_users == std::vector<int32_t>{5});
  CHECK(fold_5.valid_users == std::vector<int32_t>{4});
  CHECK(fold_5.user_split[9] == Split::train);

  // Fold 9 is protocol v1, the default.
  const Dataset fold_9 = build_dataset(integer_log(), 9);
  const Dataset by_default = build_dataset(integer_log());
  CHECK(fold_9.test_users == by_default.test_users);
  CHECK(fold_9.valid_users == by_default.valid_users);
  CHECK(fold_9.item_original_ids == by_default.item_original_ids);
  CHECK(by_default.fold == 9);
}

TEST_CASE("dataset: UserSplit::none trains every user on the whole sequence and holds out nobody") {
  const Dataset held_out = build_dataset(integer_log());
  const Dataset everyone = build_dataset(integer_log(), protocol_v1_fold, UserSplit::none);
  CHECK(everyone.valid_users.empty());
  CHECK(everyone.test_users.empty());
  CHECK(everyone.train_users == std::vector<int32_t>{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10});
  for (Split split : everyone.user_split) CHECK(split == Split::train);
  // Every item is now a training item, and every t >= 1 of every sequence a sample.
  CHECK(everyone.train_item_count == everyone.item_count);
  int64_t samples = 0;
  for (const std::vector<int32_t>& sequence : everyone.sequences) samples += static_cast<int64_t>(sequence.size()) - 1;
  CHECK(everyone.training_sample_count == samples);
  CHECK(everyone.training_sample_count > held_out.training_sample_count);
  CHECK(static_cast<int64_t>(training_samples(everyone).size()) == samples);
}

TEST_CASE("dataset: over the ten folds every user is tested once and validated once") {
  // 23 users "u00".."u22" (string ids, byte order), one interaction each.
  std::vector<Row> rows;
  for (int user = 0; user < 23; ++user) {
    std::string id = user < 10 ? "u0" : "u";
    id += std::to_string(user);
    rows.push_back({id, "i" + std::to_string(user % 4), 1});
  }
  const InteractionLog log = make_log(rows);
  std::vector<int> tested(23, 0);
  std::vector<int> validated(23, 0);
  for (int fold = 0; fold < 10; ++fold) {
    const Dataset dataset = build_dataset(log, fold);
    for (int32_t user : dataset.test_users) {
      CHECK(user % 10 == fold);
      ++tested[user];
    }
    for (int32_t user : dataset.valid_users) {
      CHECK(user % 10 == (fold + 9) % 10);
      ++validated[user];
    }
    CHECK(dataset.train_users.size() + dataset.valid_users.size() + dataset.test_users.size() == 23);
  }
  CHECK(tested == std::vector<int>(23, 1));
  CHECK(validated == std::vector<int>(23, 1));
}

TEST_CASE("dataset: a fold outside 0..9 is an error naming --fold") {
  CHECK_THROWS_WITH_AS(build_dataset(integer_log(), 10), doctest::Contains("--fold must be between 0 and 9, got 10"),
                       std::invalid_argument);
  CHECK_THROWS_WITH_AS(build_dataset(integer_log(), -1), doctest::Contains("got -1"), std::invalid_argument);
}

TEST_CASE("dataset: integer item ids by training frequency, ties numeric, held-out-only last") {
  const Dataset dataset = build_dataset(integer_log());
  CHECK(dataset.item_count == 10);
  CHECK(dataset.train_item_count == 6);
  CHECK(dataset.item_original_ids ==
        std::vector<std::string>{"9", "2", "3", "11", "20", "100", "40", "50", "60", "1000"});
  CHECK(dataset.item_train_frequency == std::vector<int64_t>{3, 2, 2, 2, 2, 2, 0, 0, 0, 0});
}

TEST_CASE("dataset: sequences are sorted by time with ties in file order, in dense ids") {
  const Dataset dataset = build_dataset(integer_log());
  CHECK(dataset.sequences[0] == std::vector<int32_t>{2, 4, 4});  // user "1": 3, 20, 20
  CHECK(dataset.sequences[1] == std::vector<int32_t>{0, 2, 5});  // user "2": 9, 3, 100
  CHECK(dataset.sequences[8] == std::vector<int32_t>{7, 6, 2, 7});  // "9": 50, 40, 3, 50
  CHECK(dataset.sequences[9] == std::vector<int32_t>{6, 8, 9});     // "10": 40, 60, 1000
  CHECK(dataset.sequences[10] == std::vector<int32_t>{0});          // "100": 9
}

TEST_CASE("dataset: training samples are every position t >= 1 of every training user") {
  const Dataset dataset = build_dataset(integer_log());
  CHECK(dataset.training_sample_count == 4);
  const std::vector<TrainSample> samples = training_samples(dataset);
  REQUIRE(samples.size() == 4);
  CHECK(samples[0].user == 0);
  CHECK(samples[0].position == 1);
  CHECK(samples[1].user == 0);
  CHECK(samples[1].position == 2);
  CHECK(samples[2].user == 1);
  CHECK(samples[2].position == 1);
  CHECK(samples[3].user == 1);
  CHECK(samples[3].position == 2);
}

TEST_CASE("dataset: evaluation cut: ceil(0.8 m) clamped to 1..m-1, targets as a set") {
  CHECK(evaluation_history_length(2) == 1);   // ceil(1.6) = 2, clamped to m-1
  CHECK(evaluation_history_length(3) == 2);   // ceil(2.4) = 3 -> 2
  CHECK(evaluation_history_length(4) == 3);   // ceil(3.2) = 4 -> 3
  CHECK(evaluation_history_length(5) == 4);   // exactly 4
  CHECK(evaluation_history_length(6) == 5);   // ceil(4.8) = 5
  CHECK(evaluation_history_length(10) == 8);  // exactly 8
  CHECK(evaluation_history_length(11) == 9);  // ceil(8.8) = 9
  CHECK(evaluation_history_length(20) == 16);
  CHECK(evaluation_history_length(21) == 17);  // ceil(16.8) = 17
  CHECK_THROWS_AS(evaluation_history_length(1), std::runtime_error);

  const Dataset dataset = build_dataset(integer_log());
  const std::vector<EvalUser> valid = evaluation_users(dataset, Split::valid);
  REQUIRE(valid.size() == 1);
  CHECK(valid[0].user == 8);
  CHECK(valid[0].history_length == 3);  // [50, 40, 3 | 50]
  CHECK(valid[0].targets == std::vector<int32_t>{7});  // 50, which is also in the history
  const std::vector<EvalUser> test = evaluation_users(dataset, Split::test);
  REQUIRE(test.size() == 1);
  CHECK(test[0].user == 9);
  CHECK(test[0].history_length == 2);  // [40, 60 | 1000]
  CHECK(test[0].targets == std::vector<int32_t>{9});
  const std::span<const int32_t> history = evaluation_history(dataset, test[0]);
  CHECK(std::vector<int32_t>(history.begin(), history.end()) == std::vector<int32_t>{6, 8});
}

TEST_CASE("dataset: evaluation targets are a sorted set, users with one interaction counted") {
  // 20 users "0".."19": "8" and "18" valid, "9" and "19" test. User "9" has one interaction.
  std::vector<Row> rows;
  for (int user = 0; user < 20; ++user) {
    if (user == 9) continue;
    rows.push_back({std::to_string(user), "a", 1});
  }
  rows.push_back({"9", "a", 1});
  rows.push_back({"19", "b", 2});
  rows.push_back({"19", "c", 3});
  rows.push_back({"19", "a", 4});
  rows.push_back({"19", "c", 5});
  rows.push_back({"19", "b", 6});
  rows.push_back({"19", "c", 7});
  rows.push_back({"19", "b", 8});
  rows.push_back({"19", "c", 9});
  rows.push_back({"19", "c", 10});
  // "19" has m = 10: a b c a c b c b | c c -> cut 8, targets {c}.
  const Dataset dataset = build_dataset(make_log(rows));
  CHECK(dataset.test_users == std::vector<int32_t>{9, 19});
  CHECK(dataset.test_users_too_short == 1);
  CHECK(dataset.valid_users_too_short == 2);  // "8" and "18" have one interaction each
  const std::vector<EvalUser> test = evaluation_users(dataset, Split::test);
  REQUIRE(test.size() == 1);
  CHECK(test[0].user == 19);
  CHECK(test[0].history_length == 8);
  // Only a occurs in training users: a -> 0; held-out only: c (5 times) -> 1, b (3) -> 2.
  CHECK(dataset.item_original_ids == std::vector<std::string>{"a", "c", "b"});
  CHECK(test[0].targets == std::vector<int32_t>{1});
  CHECK(evaluation_users(dataset, Split::valid).empty());
}

TEST_CASE("dataset: string ids: users and item ties ordered by bytes, so 10 comes before 9") {
  // One user id ("a") is not an integer, so every user id compares as a string:
  // "10" < "9" < "a" < ... < "h". Positions: "g" is 8 (valid), "h" is 9 (test).
  InteractionLog log = make_log({
      {"h", "w", 1}, {"h", "q", 2},                                // test
      {"10", "x", 1}, {"10", "9", 2}, {"10", "y", 3}, {"10", "10", 4},
      {"9", "x", 1},
      {"a", "x", 9}, {"b", "y", 9}, {"c", "y", 9}, {"d", "9", 9}, {"e", "10", 9}, {"f", "10", 9},
      {"g", "z", 1}, {"g", "w", 2}, {"g", "z", 3},                 // valid
  });
  const Dataset dataset = build_dataset(log);
  CHECK(dataset.user_original_ids ==
        std::vector<std::string>{"10", "9", "a", "b", "c", "d", "e", "f", "g", "h"});
  CHECK(dataset.valid_users == std::vector<int32_t>{8});
  CHECK(dataset.test_users == std::vector<int32_t>{9});
  // Train counts: x 3, y 3, 10 3, 9 2 -> ties among x, y, "10" by bytes: "10" < "x" < "y".
  // Held out only: w 2, z 2 (tie: "w" < "z"), q 1.
  CHECK(dataset.item_original_ids ==
        std::vector<std::string>{"10", "x", "y", "9", "w", "z", "q"});
  CHECK(dataset.item_train_frequency == std::vector<int64_t>{3, 3, 3, 2, 0, 0, 0});
  CHECK(dataset.train_item_count == 4);
  CHECK(dataset.sequences[0] == std::vector<int32_t>{1, 3, 2, 0});  // "10": x 9 y 10
  CHECK(dataset.sequences[8] == std::vector<int32_t>{5, 4, 5});     // "g": z w z
}

TEST_CASE("dataset: integer ids compare by value: negative, leading zeros, longer than 64 bits") {
  // All integers: -5 < 0 < 7 < 08 (= 8) < 9 < 99999999999999999999999 (beyond 64 bits).
  InteractionLog log = make_log({
      {"99999999999999999999999", "i", 1}, {"9", "i", 1}, {"08", "i", 1},
      {"7", "i", 1}, {"0", "i", 1}, {"-5", "i", 1},
  });
  const Dataset dataset = build_dataset(log);
  CHECK(dataset.user_original_ids ==
        std::vector<std::string>{"-5", "0", "7", "08", "9", "99999999999999999999999"});
}

TEST_CASE("dataset: item categories, titles, profile and synthetic truth follow the remapping") {
  InteractionLog log = make_log({
      {"1", "p", 1}, {"1", "q", 2}, {"2", "q", 1}, {"3", "r", 1},
  });
  // Log item order p, q, r; dense order q (2), then p, r (1 each, by bytes).
  log.category_names = {"drama", "comedy", "noir"};
  log.item_categories = {{0}, {1, 2}, {}};
  log.item_titles = {"P", "Q", "R"};
  log.true_item_category = {0, 1, 2};
  log.profile_field_names = {"gender"};
  log.profile_values = {{"F", "M"}};
  log.user_profile = {{1}, {0}, {1}};
  log.true_user_interests = {{0, 1}, {1}, {2}};
  // An extra user with no interaction: listed but left out, and counted.
  log.user_ids.push_back("0");
  log.user_profile.push_back({0});
  log.true_user_interests.push_back({0});
  const Dataset dataset = build_dataset(log);
  CHECK(dataset.user_count == 3);
  CHECK(dataset.users_without_interactions == 1);
  CHECK(dataset.item_original_ids == std::vector<std::string>{"q", "p", "r"});
  REQUIRE(dataset.item_categories.size() == 3);
  CHECK(dataset.item_categories[0] == std::vector<int32_t>{1, 2});
  CHECK(dataset.item_categories[1] == std::vector<int32_t>{0});
  CHECK(dataset.item_categories[2].empty());
  CHECK(dataset.item_titles == std::vector<std::string>{"Q", "P", "R"});
  CHECK(dataset.true_item_category == std::vector<int32_t>{1, 0, 2});
  CHECK(dataset.category_names == log.category_names);
  CHECK(dataset.field_count() == 1);
  CHECK(dataset.profile_cardinalities == std::vector<int32_t>{2});
  CHECK(dataset.user_profile == std::vector<int32_t>{1, 0, 1});
  REQUIRE(dataset.true_user_interests.size() == 3);
  CHECK(dataset.true_user_interests[0] == std::vector<int32_t>{0, 1});
  CHECK(dataset.true_user_interests[2] == std::vector<int32_t>{2});
}

TEST_CASE("dataset: items listed without any interaction are left out and counted") {
  InteractionLog log = make_log({{"1", "a", 1}, {"1", "b", 2}});
  log.item_ids.push_back("never");
  const Dataset dataset = build_dataset(log);
  CHECK(dataset.item_count == 2);
  CHECK(dataset.items_without_interactions == 1);
}

TEST_CASE("dataset: inconsistent logs are rejected with a message naming the problem") {
  InteractionLog bad_user = make_log({{"1", "a", 1}});
  bad_user.interactions.push_back({5, 0, 2});
  CHECK_THROWS_WITH_AS(build_dataset(bad_user),
                       doctest::Contains("hand-made: interaction #1 refers to user index 5"),
                       std::runtime_error);
  InteractionLog bad_item = make_log({{"1", "a", 1}});
  bad_item.interactions.push_back({0, 3, 2});
  CHECK_THROWS_WITH_AS(build_dataset(bad_item), doctest::Contains("refers to item index 3"),
                       std::runtime_error);
  InteractionLog duplicate = make_log({{"1", "a", 1}, {"2", "a", 1}});
  duplicate.user_ids[1] = duplicate.user_ids[0];  // both users are now "1"
  CHECK_THROWS_WITH_AS(build_dataset(duplicate), doctest::Contains("user id '1' appears twice"),
                       std::runtime_error);
  InteractionLog short_categories = make_log({{"1", "a", 1}, {"1", "b", 1}});
  short_categories.category_names = {"x"};
  short_categories.item_categories = {{0}};
  CHECK_THROWS_WITH_AS(build_dataset(short_categories),
                       doctest::Contains("item_categories has 1 entries but the log has 2 items"),
                       std::runtime_error);
  InteractionLog bad_category = make_log({{"1", "a", 1}});
  bad_category.category_names = {"x"};
  bad_category.item_categories = {{3}};
  CHECK_THROWS_WITH_AS(build_dataset(bad_category), doctest::Contains("refers to category 3"),
                       std::runtime_error);
  InteractionLog bad_profile = make_log({{"1", "a", 1}});
  bad_profile.profile_field_names = {"gender"};
  bad_profile.profile_values = {{"F"}};
  bad_profile.user_profile = {{4}};
  CHECK_THROWS_WITH_AS(build_dataset(bad_profile),
                       doctest::Contains("profile field 'gender' of user '1' has value index 4"),
                       std::runtime_error);
}

TEST_CASE("dataset: an empty log gives an empty dataset, not a crash") {
  InteractionLog log;
  log.source = "empty";
  const Dataset dataset = build_dataset(log);
  CHECK(dataset.user_count == 0);
  CHECK(dataset.item_count == 0);
  CHECK(dataset.training_sample_count == 0);
  CHECK(evaluation_users(dataset, Split::test).empty());
}
