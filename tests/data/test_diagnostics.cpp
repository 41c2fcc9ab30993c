// Interest diagnostics on a hand-made catalogue where each interest's top-20 is known:
// purity (single and multi-category items), coverage of planted categories, dead interests
// ignored, neither measured without categories; interest collapse and live counts; and many
// users ranked in batches.
#include <doctest/doctest.h>

#include <cstdint>
#include <stdexcept>
#include <utility>
#include <vector>

#include "data/diagnostics.h"

using namespace mind::data;

namespace {

// 40 items, d = 2: items 0-11 are category 0 at (1, 0); 12-29 category 1 at (0, 1);
// 30-39 category 2 at (0.9, 0).
struct Catalogue {
  Dataset dataset;
  std::vector<float> items;  // [40, 2]
  Catalogue() {
    dataset.item_count = 40;
    dataset.user_count = 2;
    dataset.category_names = {"c0", "c1", "c2"};
    for (int32_t item = 0; item < 40; ++item) {
      const int32_t category = item < 12 ? 0 : (item < 30 ? 1 : 2);
      dataset.item_categories.push_back({category});
      dataset.true_item_category.push_back(category);
      items.push_back(category == 0 ? 1.0f : (category == 2 ? 0.9f : 0.0f));
      items.push_back(category == 1 ? 1.0f : 0.0f);
    }
    dataset.true_user_interests = {{0, 1}, {1, 2}};
  }
};

// Row 0: interests (1,0) and (0,1), both live. Row 1: (-1,0) live, (1,0) dead.
//   (1,0):  12 items of c0 score 1, then c2 at 0.9 (8 of them) -> majority c0, purity 12/20
//   (0,1):  18 items of c1 score 1, then ties at 0 to the lowest indices 0, 1 (c0) -> c1, 18/20
//   (-1,0): c1 scores 0 (18), then c2 at -0.9 (2) -> c1, 18/20
const std::vector<float> interests = {1, 0, 0, 1, -1, 0, 1, 0};  // [2, 2, 2]
const std::vector<int32_t> counts = {2, 1};
const std::vector<int32_t> users = {0, 1};

RetrievalInputs inputs_for(const Catalogue& catalogue) {
  RetrievalInputs inputs;
  inputs.item_embeddings = catalogue.items.data();
  inputs.item_count = 40;
  inputs.width = 2;
  inputs.user_interests = interests.data();
  inputs.interest_counts = counts.data();
  inputs.user_count = 2;
  inputs.max_interests = 2;
  return inputs;
}

}  // namespace

TEST_CASE("diagnostics: purity and coverage on a hand-made catalogue") {
  const Catalogue catalogue;
  const InterestDiagnostics result =
      diagnose_interests(catalogue.dataset, inputs_for(catalogue), users.data());
  CHECK(result.interest_count == 3);  // the dead interest of row 1 is not examined
  CHECK(result.purity == doctest::Approx((0.6 + 0.9 + 0.9) / 3.0));
  // User 0 planted {c0, c1}, majorities {c0, c1}: 1. User 1 planted {c1, c2}, majority {c1}: 1/2.
  CHECK(result.user_count == 2);
  CHECK(result.coverage == doctest::Approx(0.75));
}

TEST_CASE("diagnostics: an item with several categories counts for each of them") {
  Catalogue catalogue;
  for (int32_t item = 30; item < 40; ++item) catalogue.dataset.item_categories[item] = {2, 0};
  // (1,0): 12 items of c0 plus 8 items tagged {c2, c0} -> c0 on all 20: purity 1.
  // The others are unchanged (0.9 each); coverage uses the single true category: unchanged.
  const InterestDiagnostics result =
      diagnose_interests(catalogue.dataset, inputs_for(catalogue), users.data());
  CHECK(result.purity == doctest::Approx((1.0 + 0.9 + 0.9) / 3.0));
  CHECK(result.coverage == doctest::Approx(0.75));
}

TEST_CASE("diagnostics: interest collapse and the live-interest counts") {
  // Row 0 of the shared inputs: (1, 0) and (0, 1), cosine 0; row 1 has one live interest (no
  // pair). So one user measured, collapse 0, and one user each with 1 and 2 live interests.
  const Catalogue catalogue;
  const InterestDiagnostics result = diagnose_interests(catalogue.dataset, inputs_for(catalogue), users.data());
  CHECK(result.collapse_user_count == 1);
  CHECK(result.interest_collapse == doctest::Approx(0.0));
  CHECK(result.users_with_live_interests == std::vector<int64_t>{1, 1});

  // K = 3, d = 2. Row 0: (1, 0), (2, 0), (0, 3): cosines 1, 0, 0 -> mean 1/3. Row 1: (1, 1),
  // (−1, −1): cosine −1. Row 2: (1, 0) and a zero vector (counted as cosine 0) -> 0. Row 3: one
  // live interest, the two dead ones (equal to it) ignored. Collapse (1/3 − 1 + 0) / 3 = −2/9.
  const std::vector<float> vectors = {1, 0, 2, 0, 0, 3,  1, 1, -1, -1, 5, 5,  1, 0, 0, 0, 7, 7,  1, 0, 1, 0, 1, 0};
  const std::vector<int32_t> live = {3, 2, 2, 1};
  RetrievalInputs inputs = inputs_for(catalogue);
  inputs.user_interests = vectors.data();
  inputs.interest_counts = live.data();
  inputs.user_count = 4;
  inputs.max_interests = 3;
  Dataset no_categories;
  no_categories.item_count = 40;
  const InterestDiagnostics measured = diagnose_interests(no_categories, inputs, nullptr);
  CHECK(measured.interest_count == 0);  // no purity without categories, but collapse all the same
  CHECK(measured.collapse_user_count == 3);
  CHECK(measured.interest_collapse == doctest::Approx(-2.0 / 9.0));
  CHECK(measured.users_with_live_interests == std::vector<int64_t>{1, 2, 1});
}

TEST_CASE("diagnostics: purity and coverage are not measured without categories or truth") {
  Catalogue catalogue;
  catalogue.dataset.item_categories.clear();
  catalogue.dataset.true_item_category.clear();
  const InterestDiagnostics result =
      diagnose_interests(catalogue.dataset, inputs_for(catalogue), users.data());
  CHECK(result.interest_count == 0);
  CHECK(result.purity == 0.0);
  CHECK(result.user_count == 0);

  Catalogue no_truth;
  no_truth.dataset.true_user_interests.clear();
  const InterestDiagnostics purity_only =
      diagnose_interests(no_truth.dataset, inputs_for(no_truth), nullptr);
  CHECK(purity_only.interest_count == 3);
  CHECK(purity_only.user_count == 0);
}

TEST_CASE("diagnostics: inconsistent inputs are rejected") {
  Catalogue catalogue;
  catalogue.dataset.item_categories[5] = {7};
  CHECK_THROWS_WITH_AS(diagnose_interests(catalogue.dataset, inputs_for(catalogue), users.data()),
                       doctest::Contains("category of item 5 is 7"), std::runtime_error);
  const Catalogue fine;
  CHECK_THROWS_WITH_AS(diagnose_interests(fine.dataset, inputs_for(fine), nullptr),
                       doctest::Contains("no valid dense user"), std::runtime_error);
}

TEST_CASE("diagnostics: many users are ranked in batches that report, change nothing and can stop") {
  // The two rows of the shared inputs repeated 2100 times: 6300 live interests, two batches.
  // Every figure must equal the two-row one.
  const int64_t copies = 2100;
  std::vector<float> many_interests;
  std::vector<int32_t> many_counts, many_users;
  for (int64_t copy = 0; copy < copies; ++copy) {
    many_interests.insert(many_interests.end(), interests.begin(), interests.end());
    many_counts.insert(many_counts.end(), counts.begin(), counts.end());
    many_users.insert(many_users.end(), users.begin(), users.end());
  }
  const Catalogue catalogue;
  RetrievalInputs inputs = inputs_for(catalogue);
  inputs.user_interests = many_interests.data();
  inputs.interest_counts = many_counts.data();
  inputs.user_count = 2 * copies;
  const int64_t live_total = 3 * copies;
  REQUIRE(live_total > diagnostics_batch_interests);

  std::vector<std::pair<int64_t, int64_t>> calls;
  bool completed = false;
  const InterestDiagnostics result = diagnose_interests(
      catalogue.dataset, inputs, many_users.data(),
      [&calls](int64_t done, int64_t total) {
        calls.emplace_back(done, total);
        return true;
      },
      &completed);
  CHECK(completed);
  CHECK(calls == std::vector<std::pair<int64_t, int64_t>>{{diagnostics_batch_interests, live_total},
                                                         {live_total, live_total}});
  CHECK(result.interest_count == live_total);
  CHECK(result.purity == doctest::Approx((0.6 + 0.9 + 0.9) / 3.0).epsilon(1e-12));
  CHECK(result.user_count == 2 * copies);
  CHECK(result.coverage == doctest::Approx(0.75).epsilon(1e-12));

  // Asked to stop after the first batch (Ctrl-C): no second call, and the result says so.
  int64_t stop_calls = 0;
  diagnose_interests(
      catalogue.dataset, inputs, many_users.data(),
      [&stop_calls](int64_t, int64_t) {
        ++stop_calls;
        return false;
      },
      &completed);
  CHECK(stop_calls == 1);
  CHECK_FALSE(completed);
}
