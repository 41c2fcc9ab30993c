// The synthetic generator: same seed, same log; its documented shape (lengths, categories,
// distinct items, increasing time, profile fields); Zipf popularity; errors on impossible
// options; and the CSV export read back by the readers giving the same protocol-v1 dataset.
#include <doctest/doctest.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

#include "data/dataset.h"
#include "data/export_csv.h"
#include "data/most_popular.h"
#include "data/readers.h"
#include "data/synthetic.h"

using namespace mind::data;

namespace {

SyntheticOptions small_options() {
  SyntheticOptions options;
  options.seed = 7;
  options.users = 60;
  options.items = 300;
  options.categories = 12;
  options.max_interests = 3;
  options.min_length = 5;
  options.max_length = 30;  // above 300 / 12 = 25 items per category: exhausts some categories
  return options;
}

bool same_log(const InteractionLog& a, const InteractionLog& b) {
  if (a.interactions.size() != b.interactions.size()) return false;
  for (size_t row = 0; row < a.interactions.size(); ++row) {
    const Interaction& x = a.interactions[row];
    const Interaction& y = b.interactions[row];
    if (x.user != y.user || x.item != y.item || x.timestamp != y.timestamp) return false;
  }
  return a.user_ids == b.user_ids && a.item_ids == b.item_ids &&
         a.item_categories == b.item_categories && a.user_profile == b.user_profile &&
         a.true_user_interests == b.true_user_interests &&
         a.true_item_category == b.true_item_category;
}

std::filesystem::path fresh_temp_dir(const std::string& name) {
  const std::string unique = "mind_test_synthetic_" + name + "_" + std::to_string(getpid());
  const std::filesystem::path dir = std::filesystem::temp_directory_path() / unique;
  std::filesystem::remove_all(dir);
  return dir;
}

}  // namespace

TEST_CASE("synthetic: the same seed gives the same log, another seed a different one") {
  const SyntheticOptions options = small_options();
  const InteractionLog first = generate_synthetic(options);
  const InteractionLog again = generate_synthetic(options);
  CHECK(same_log(first, again));
  SyntheticOptions other = options;
  other.seed = 8;
  CHECK_FALSE(same_log(first, generate_synthetic(other)));
}

TEST_CASE("synthetic: users, lengths, categories and timestamps are as documented") {
  SyntheticOptions options = small_options();
  options.noise = 0.0;                 // every item then comes from one of the user's interests
  options.segment_correlation = 1.0;   // segment = first interest % segments
  const InteractionLog log = generate_synthetic(options);
  REQUIRE(log.user_ids.size() == 60);
  CHECK(log.user_ids.front() == "0");
  CHECK(log.user_ids.back() == "59");
  REQUIRE(log.category_names.size() == 12);
  CHECK(log.category_names[0] == "c0");
  CHECK(log.category_names[11] == "c11");
  CHECK(log.profile_field_names == std::vector<std::string>{"age_band", "segment"});
  CHECK(log.profile_values[0].size() == 5);
  CHECK(log.profile_values[1].size() == 8);
  REQUIRE(log.item_categories.size() == log.item_ids.size());
  REQUIRE(log.true_item_category.size() == log.item_ids.size());
  for (size_t item = 0; item < log.item_ids.size(); ++item) {
    const uint32_t category = static_cast<uint32_t>(std::stoul(log.item_ids[item]) % 12);
    CHECK(log.item_categories[item] == std::vector<uint32_t>{category});
    CHECK(log.true_item_category[item] == category);
  }
  // Group rows by user (they come user by user).
  std::vector<std::vector<Interaction>> rows_of_user(60);
  for (const Interaction& interaction : log.interactions) {
    rows_of_user[interaction.user].push_back(interaction);
  }
  int64_t outside_interests = 0;
  for (size_t user = 0; user < 60; ++user) {
    const std::vector<Interaction>& rows = rows_of_user[user];
    CHECK(rows.size() >= 5);
    CHECK(rows.size() <= 30);
    const std::vector<uint32_t>& interests = log.true_user_interests[user];
    CHECK(interests.size() >= 1);
    CHECK(interests.size() <= 3);
    CHECK(std::set<uint32_t>(interests.begin(), interests.end()).size() == interests.size());
    std::set<uint32_t> distinct_items;
    for (size_t step = 0; step < rows.size(); ++step) {
      distinct_items.insert(rows[step].item);
      if (step > 0) CHECK(rows[step].timestamp > rows[step - 1].timestamp);
      const uint32_t category = log.true_item_category[rows[step].item];
      if (std::find(interests.begin(), interests.end(), category) == interests.end()) {
        ++outside_interests;
      }
    }
    CHECK(distinct_items.size() == rows.size());  // a user never repeats an item
    CHECK(log.user_profile[user][0] < 5);
    CHECK(log.user_profile[user][1] == interests[0] % 8);
  }
  // Without noise an item outside the interests appears only when a user has exhausted an
  // interest category (25 items each, lengths up to 30): rare, but the fallback is exercised.
  CHECK(outside_interests < static_cast<int64_t>(log.interactions.size()) / 20);
}

TEST_CASE("synthetic: popularity inside a category falls with rank") {
  SyntheticOptions options;
  options.seed = 3;
  options.users = 400;
  options.items = 100;
  options.categories = 1;  // one category: item i has rank i
  options.max_interests = 1;
  options.min_length = 2;
  options.max_length = 4;
  options.noise = 0.0;
  const Dataset dataset = build_dataset(generate_synthetic(options));
  // Dense ids are by training frequency; with 1/(r+1) weights the ranks should mostly survive:
  // the three most frequent training items are catalogue items 0, 1, 2.
  CHECK(dataset.item_original_ids[0] == "0");
  CHECK(dataset.item_original_ids[1] == "1");
  CHECK(dataset.item_original_ids[2] == "2");
}

TEST_CASE("synthetic: the defaults have many more categories than the embedding width") {
  const SyntheticOptions defaults;
  CHECK(defaults.categories == 500);
  CHECK(defaults.categories > 64);  // see the top of synthetic.cpp for why this matters
  CHECK(defaults.users == 6000);
  CHECK(defaults.items == 10000);
}

TEST_CASE("synthetic: impossible options are rejected naming the option") {
  SyntheticOptions no_users = small_options();
  no_users.users = 0;
  CHECK_THROWS_WITH_AS(generate_synthetic(no_users), doctest::Contains("users must be"),
                       std::runtime_error);
  SyntheticOptions short_sequences = small_options();
  short_sequences.min_length = 1;
  short_sequences.max_length = 1;
  CHECK_THROWS_WITH_AS(generate_synthetic(short_sequences),
                       doctest::Contains("max_length must be at least 2"), std::runtime_error);
  SyntheticOptions too_many_interests = small_options();
  too_many_interests.max_interests = 13;
  CHECK_THROWS_WITH_AS(generate_synthetic(too_many_interests),
                       doctest::Contains("max_interests must be in 1..categories"),
                       std::runtime_error);
  SyntheticOptions inverted = small_options();
  inverted.min_length = 10;
  inverted.max_length = 9;
  CHECK_THROWS_WITH_AS(generate_synthetic(inverted), doctest::Contains("is below min_length"),
                       std::runtime_error);
  SyntheticOptions bad_noise = small_options();
  bad_noise.noise = 1.5;
  CHECK_THROWS_WITH_AS(generate_synthetic(bad_noise), doctest::Contains("noise must be in [0, 1]"),
                       std::runtime_error);
}

TEST_CASE("synthetic: the CSV export reads back into the same protocol-v1 dataset") {
  const InteractionLog log = generate_synthetic(small_options());
  const std::filesystem::path dir = fresh_temp_dir("export");
  export_synthetic_csv(log, dir.string());

  std::ifstream interactions_file(dir / "interactions.csv");
  std::string header;
  std::string first_row;
  std::getline(interactions_file, header);
  std::getline(interactions_file, first_row);
  CHECK(header == "user,item,timestamp");
  CHECK(first_row == "0," + log.item_ids[log.interactions[0].item] + "," +
                         std::to_string(log.interactions[0].timestamp));
  std::ifstream interests_file(dir / "user_interests.csv");
  std::string interests_header;
  std::string interests_row;
  std::getline(interests_file, interests_header);
  std::getline(interests_file, interests_row);
  CHECK(interests_header == "user,interests");
  std::string expected_interests = "0,";
  for (size_t i = 0; i < log.true_user_interests[0].size(); ++i) {
    expected_interests += (i > 0 ? "|" : "") + log.category_names[log.true_user_interests[0][i]];
  }
  CHECK(interests_row == expected_interests);

  InteractionLog read_back = read_csv_log((dir / "interactions.csv").string(), CsvLayout{});
  read_item_features((dir / "item_categories.csv").string(), read_back);
  read_user_features((dir / "users.csv").string(), read_back);
  const Dataset original = build_dataset(log);
  const Dataset reread = build_dataset(read_back);
  CHECK(reread.user_original_ids == original.user_original_ids);
  CHECK(reread.item_original_ids == original.item_original_ids);
  CHECK(reread.sequences == original.sequences);
  REQUIRE(reread.item_categories.size() == original.item_categories.size());
  for (int64_t item = 0; item < original.item_count; ++item) {
    // Category indices may be numbered differently; the names must agree.
    CHECK(reread.category_names[reread.item_categories[item][0]] ==
          original.category_names[original.item_categories[item][0]]);
  }
  for (int64_t user = 0; user < original.user_count; ++user) {
    CHECK(reread.profile_values[1][reread.user_profile[user * 2 + 1]] ==
          original.profile_values[1][original.user_profile[user * 2 + 1]]);
  }
  const EvalResult original_result = evaluate_most_popular(original, Split::test, true);
  const EvalResult reread_result = evaluate_most_popular(reread, Split::test, true);
  CHECK(reread_result.at_50.recall == original_result.at_50.recall);
  CHECK(reread_result.at_20.ndcg == original_result.at_20.ndcg);
  std::filesystem::remove_all(dir);
}
