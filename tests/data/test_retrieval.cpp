// Exact retrieval: a hand-computed ranking (max over live interests, ties to the lower index,
// dead interests ignored, history excluded, -1 tail), then the fast version against the
// reference on odd sizes where the SIMD tails and the item blocks' edges run, and with many
// users (groups of packed live interests, 1 and 2 threads).
#include <doctest/doctest.h>
#include <omp.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <span>
#include <stdexcept>
#include <string>
#include <vector>

#include "autograd/random.h"
#include "data/retrieval.h"

using namespace mind::data;

namespace {

// Items (d = 2): e0 = (1,0), e1 = (0,1), e2 = (1,1), e3 = (-1,0), e4 = (1,0).
// One user, K = 3: v0 = (1,0), v1 = (0,2), v2 = (100,100) (dead unless the count reaches 3).
struct HandCase {
  std::vector<float> items = {1, 0, 0, 1, 1, 1, -1, 0, 1, 0};  // [5, 2]
  std::vector<float> interests = {1, 0, 0, 2, 100, 100};       // [1, 3, 2]
  std::vector<int32_t> counts = {2};                           // [1]
  std::vector<int32_t> history = {1, 4};

  RetrievalInputs inputs(bool exclude) const {
    RetrievalInputs result;
    result.item_embeddings = items.data();
    result.item_count = 5;
    result.width = 2;
    result.user_interests = interests.data();
    result.interest_counts = counts.data();
    result.user_count = 1;
    result.max_interests = 3;
    result.excluded = {std::span<const int32_t>(history)};
    result.exclude_history = exclude;
    return result;
  }
};

// Small integers make every dot product exact in float, whatever the summation order, so the
// fast and reference scores are bit-identical and ties are real ties.
std::vector<float> small_integers(mind::Rng& rng, int64_t count) {
  std::vector<float> values(count);
  for (float& value : values) value = static_cast<float>(static_cast<int64_t>(rng.below(7)) - 3);
  return values;
}

}  // namespace

TEST_CASE("retrieval: a hand-computed ranking with two live interests and ties") {
  const HandCase hand;
  // Scores: e0 max(1,0)=1, e1 max(0,2)=2, e2 max(1,2)=2, e3 max(-1,0)=0, e4 1.
  // v2 = (100,100) is dead and must not count. Ties go to the lower index.
  CHECK(retrieve_top_n(hand.inputs(false), 5) == std::vector<int32_t>{1, 2, 0, 4, 3});
  CHECK(retrieve_top_n_reference(hand.inputs(false), 5) == std::vector<int32_t>{1, 2, 0, 4, 3});
  CHECK(retrieve_top_n(hand.inputs(false), 2) == std::vector<int32_t>{1, 2});
}

TEST_CASE("retrieval: ranked lists carry each item's score and the interest that found it") {
  const HandCase hand;
  // e1 and e2 score 2 through v1 (e2 gets 1 from v0); e0 and e4 score 1 through v0; e3 scores 0
  // through v1 (v0 gives -1).
  for (const RankedLists& lists : {retrieve_ranked(hand.inputs(false), 7), retrieve_ranked_reference(hand.inputs(false), 7)}) {
    CHECK(lists.top_n == 7);
    CHECK(lists.items == std::vector<int32_t>{1, 2, 0, 4, 3, -1, -1});
    CHECK(lists.interests == std::vector<int32_t>{1, 1, 0, 0, 1, -1, -1});
    CHECK(lists.scores[0] == 2.0f);
    CHECK(lists.scores[1] == 2.0f);
    CHECK(lists.scores[2] == 1.0f);
    CHECK(lists.scores[3] == 1.0f);
    CHECK(lists.scores[4] == 0.0f);
    CHECK(lists.scores[5] == -std::numeric_limits<float>::infinity());
  }
  // A tie between two interests goes to the lower-numbered one: v0 = v1 = (1, 0).
  HandCase tied;
  tied.interests = {1, 0, 1, 0, 0, 0};
  const RankedLists lists = retrieve_ranked(tied.inputs(false), 1);
  CHECK(lists.items == std::vector<int32_t>{0});
  CHECK(lists.interests == std::vector<int32_t>{0});
}

TEST_CASE("retrieval: one live interest ranks by that interest alone") {
  HandCase hand;
  hand.counts = {1};  // scores: e0 1, e1 0, e2 1, e3 -1, e4 1
  CHECK(retrieve_top_n(hand.inputs(false), 5) == std::vector<int32_t>{0, 2, 4, 1, 3});
  hand.counts = {3};  // v2 dominates: e2 200, e0 = e1 = e4 100, e3 0 (max(-1, 0, -100))
  CHECK(retrieve_top_n(hand.inputs(false), 5) == std::vector<int32_t>{2, 0, 1, 4, 3});
}

TEST_CASE("retrieval: history items are excluded and -1 fills a short list") {
  const HandCase hand;  // excluding 1 and 4 from 1, 2, 0, 4, 3
  CHECK(retrieve_top_n(hand.inputs(true), 5) == std::vector<int32_t>{2, 0, 3, -1, -1});
  CHECK(retrieve_top_n_reference(hand.inputs(true), 5) == std::vector<int32_t>{2, 0, 3, -1, -1});
  CHECK(retrieve_top_n(hand.inputs(false), 7) == std::vector<int32_t>{1, 2, 0, 4, 3, -1, -1});
}

TEST_CASE("retrieval: a NaN score ranks last, like -infinity") {
  HandCase hand;
  hand.items[4] = std::numeric_limits<float>::quiet_NaN();  // e2 = (NaN, 1): both dots are NaN
  CHECK(retrieve_top_n(hand.inputs(false), 5) == std::vector<int32_t>{1, 0, 4, 3, 2});
  CHECK(retrieve_top_n_reference(hand.inputs(false), 5) == std::vector<int32_t>{1, 0, 4, 3, 2});
}

TEST_CASE("retrieval: fast equals reference on odd sizes, ties, exclusions and short lists") {
  mind::Rng rng(2024);
  const int64_t widths[] = {1, 3, 17, 65};
  const int64_t item_counts[] = {1, 7, 37, 513, 1030};  // 513 and 1030 cross the 512-item blocks
  const int64_t top_ns[] = {1, 5, 50};
  int64_t cases = 0;
  for (int64_t width : widths) {
    for (int64_t item_count : item_counts) {
      const int64_t user_count = 21;  // more than one group of 16 users
      const int64_t max_interests = 3;
      const std::vector<float> items = small_integers(rng, item_count * width);  // [N, d]
      const std::vector<float> interests =
          small_integers(rng, user_count * max_interests * width);  // [U, K, d]
      std::vector<int32_t> counts(user_count);                      // [U]
      std::vector<std::vector<int32_t>> histories(user_count);
      for (int64_t user = 0; user < user_count; ++user) {
        counts[user] = 1 + static_cast<int32_t>(rng.below(max_interests));
        const int64_t history_length = static_cast<int64_t>(rng.below(item_count + 1));
        for (int64_t i = 0; i < history_length; ++i) {
          histories[user].push_back(static_cast<int32_t>(rng.below(item_count)));  // repeats ok
        }
      }
      RetrievalInputs inputs;
      inputs.item_embeddings = items.data();
      inputs.item_count = item_count;
      inputs.width = width;
      inputs.user_interests = interests.data();
      inputs.interest_counts = counts.data();
      inputs.user_count = user_count;
      inputs.max_interests = max_interests;
      for (const std::vector<int32_t>& history : histories) inputs.excluded.emplace_back(history);
      for (bool exclude : {true, false}) {
        inputs.exclude_history = exclude;
        for (int64_t top_n : top_ns) {
          const std::vector<int32_t> fast = retrieve_top_n(inputs, top_n);
          const std::vector<int32_t> reference = retrieve_top_n_reference(inputs, top_n);
          INFO("width " << width << ", items " << item_count << ", top " << top_n
                        << ", exclude " << exclude);
          CHECK(fast == reference);
          // With scores and interests: the same lists, and the same scores and interests (small
          // integers make every score exact, and ties between interests go to the lower one).
          const RankedLists fast_ranked = retrieve_ranked(inputs, top_n);
          const RankedLists reference_ranked = retrieve_ranked_reference(inputs, top_n);
          CHECK(fast_ranked.items == reference);
          CHECK(reference_ranked.items == reference);
          CHECK(fast_ranked.scores == reference_ranked.scores);
          CHECK(fast_ranked.interests == reference_ranked.interests);
          ++cases;
        }
      }
    }
  }
  CHECK(cases == 120);
}

TEST_CASE("retrieval: fast equals reference with many users, 1 and 2 threads") {
  // Enough users that the groups grow past the smallest size (8 users) and the thread count
  // changes how they are cut; every user has 1..K live interests, so the packed rows of live
  // interests start at a different place for each member of a group.
  mind::Rng rng(99);
  const int64_t width = 5, item_count = 1100, max_interests = 4, user_count = 300;
  const std::vector<float> items = small_integers(rng, item_count * width);                     // [N, d]
  const std::vector<float> interests = small_integers(rng, user_count * max_interests * width);  // [U, K, d]
  std::vector<int32_t> counts(user_count);                                                       // [U]
  std::vector<std::vector<int32_t>> histories(user_count);
  for (int64_t user = 0; user < user_count; ++user) {
    counts[user] = 1 + static_cast<int32_t>(rng.below(max_interests));
    for (int64_t i = 0; i < 40; ++i) histories[user].push_back(static_cast<int32_t>(rng.below(item_count)));
  }
  RetrievalInputs inputs;
  inputs.item_embeddings = items.data();
  inputs.item_count = item_count;
  inputs.width = width;
  inputs.user_interests = interests.data();
  inputs.interest_counts = counts.data();
  inputs.user_count = user_count;
  inputs.max_interests = max_interests;
  for (const std::vector<int32_t>& history : histories) inputs.excluded.emplace_back(history);
  const std::vector<int32_t> reference = retrieve_top_n_reference(inputs, 50);
  const int threads_before = omp_get_max_threads();
  for (int threads : {1, 2}) {
    omp_set_num_threads(threads);
    INFO("threads " << threads);
    CHECK(retrieve_top_n(inputs, 50) == reference);
  }
  omp_set_num_threads(threads_before);
  // Small integers give many equal scores: the lists must hold ties in item order.
  int64_t tied_neighbours = 0;
  for (int64_t user = 0; user < user_count; ++user)
    for (int64_t rank = 1; rank < 50; ++rank) {
      const int32_t before = reference[user * 50 + rank - 1], after = reference[user * 50 + rank];
      float score_before = -1e30f, score_after = -1e30f;
      for (int32_t interest = 0; interest < counts[user]; ++interest) {
        float dot_before = 0.0f, dot_after = 0.0f;
        for (int64_t k = 0; k < width; ++k) {
          dot_before += interests[(user * max_interests + interest) * width + k] * items[before * width + k];
          dot_after += interests[(user * max_interests + interest) * width + k] * items[after * width + k];
        }
        score_before = std::max(score_before, dot_before);
        score_after = std::max(score_after, dot_after);
      }
      if (score_before == score_after) {
        ++tied_neighbours;
        CHECK(before < after);
      }
    }
  CHECK(tied_neighbours > 1000);  // the case really exercises ties
}

TEST_CASE("retrieval: with real-valued embeddings fast and reference rank the same scores") {
  mind::Rng rng(7);
  const int64_t width = 64;
  const int64_t item_count = 777;
  const int64_t max_interests = 4;
  const int64_t user_count = 5;
  std::vector<float> items(item_count * width);                     // [N, d]
  std::vector<float> interests(user_count * max_interests * width);  // [U, K, d]
  for (float& value : items) value = static_cast<float>(rng.normal());
  for (float& value : interests) value = static_cast<float>(rng.normal());
  const std::vector<int32_t> counts = {4, 1, 2, 3, 4};
  RetrievalInputs inputs;
  inputs.item_embeddings = items.data();
  inputs.item_count = item_count;
  inputs.width = width;
  inputs.user_interests = interests.data();
  inputs.interest_counts = counts.data();
  inputs.user_count = user_count;
  inputs.max_interests = max_interests;
  inputs.exclude_history = false;
  const int64_t top_n = 50;
  const std::vector<int32_t> fast = retrieve_top_n(inputs, top_n);
  const std::vector<int32_t> reference = retrieve_top_n_reference(inputs, top_n);
  // Summation order may differ in the last bits, so compare the scores at each rank (in double).
  const auto score = [&](int64_t user, int32_t item) {
    double best = -1e300;
    for (int64_t interest = 0; interest < counts[user]; ++interest) {
      double sum = 0.0;
      for (int64_t k = 0; k < width; ++k) {
        sum += static_cast<double>(interests[(user * max_interests + interest) * width + k]) *
               items[item * width + k];
      }
      best = std::max(best, sum);
    }
    return best;
  };
  for (int64_t user = 0; user < user_count; ++user) {
    for (int64_t rank = 0; rank < top_n; ++rank) {
      CHECK(score(user, fast[user * top_n + rank]) ==
            doctest::Approx(score(user, reference[user * top_n + rank])).epsilon(1e-5));
      if (rank > 0) {
        CHECK(score(user, fast[user * top_n + rank]) <=
              score(user, fast[user * top_n + rank - 1]) + 1e-4);
      }
    }
  }
}

TEST_CASE("retrieval: a few users get the same lists with 1 and 2 threads, near-ties included") {
  // The thread count changes how users are cut into groups, so a user's live interests share a
  // product with a different number of rows (kernels.h: each score must still be summed in the
  // same order). Each item here is a permutation of one of a few base vectors, and each interest
  // is a constant vector, so many scores are equal in exact arithmetic and differ in float only
  // by how their sums were rounded: a change of summation order reorders them.
  mind::Rng rng(31);
  const int64_t width = 64, item_count = 1300, max_interests = 4;
  std::vector<float> bases(3 * width);
  for (float& value : bases) value = static_cast<float>(rng.normal());
  std::vector<float> items(item_count * width);  // [N, d]
  for (int64_t item = 0; item < item_count; ++item) {
    std::vector<float> row(bases.begin() + (item % 3) * width, bases.begin() + (item % 3 + 1) * width);
    for (int64_t k = width - 1; k > 0; --k) std::swap(row[k], row[rng.below(static_cast<uint64_t>(k + 1))]);
    std::copy(row.begin(), row.end(), items.begin() + item * width);
  }
  const int threads_before = omp_get_max_threads();
  for (int64_t user_count = 1; user_count <= 6; ++user_count) {
    std::vector<float> interests(user_count * max_interests * width);  // [U, K, d]
    for (int64_t row = 0; row < user_count * max_interests; ++row) {
      const float level = static_cast<float>(rng.normal());
      std::fill(interests.begin() + row * width, interests.begin() + (row + 1) * width, level);
    }
    std::vector<int32_t> counts(user_count);
    for (int32_t& count : counts) count = 1 + static_cast<int32_t>(rng.below(max_interests));
    RetrievalInputs inputs;
    inputs.item_embeddings = items.data();
    inputs.item_count = item_count;
    inputs.width = width;
    inputs.user_interests = interests.data();
    inputs.interest_counts = counts.data();
    inputs.user_count = user_count;
    inputs.max_interests = max_interests;
    inputs.exclude_history = false;
    std::vector<int32_t> lists[2];
    for (int threads = 1; threads <= 2; ++threads) {
      omp_set_num_threads(threads);
      lists[threads - 1] = retrieve_top_n(inputs, 200);
    }
    INFO("users " << user_count);
    CHECK(lists[0] == lists[1]);
  }
  omp_set_num_threads(threads_before);
}

TEST_CASE("retrieval: inconsistent inputs are rejected with a message") {
  HandCase hand;
  hand.counts = {0};
  CHECK_THROWS_WITH_AS(retrieve_top_n(hand.inputs(false), 5),
                       doctest::Contains("user row 0 has interest count 0, expected 1..3"),
                       std::runtime_error);
  HandCase out_of_range;
  out_of_range.history = {9};
  CHECK_THROWS_WITH_AS(retrieve_top_n(out_of_range.inputs(true), 5),
                       doctest::Contains("excludes item 9 outside the catalogue of 5"),
                       std::runtime_error);
  RetrievalInputs missing = hand.inputs(true);
  hand.counts = {1};
  missing.interest_counts = hand.counts.data();
  missing.excluded.clear();
  CHECK_THROWS_WITH_AS(retrieve_top_n(missing, 5),
                       doctest::Contains("0 exclusion lists for 1 users"), std::runtime_error);
  CHECK_THROWS_WITH_AS(retrieve_top_n(hand.inputs(false), 0), doctest::Contains("top_n must be"),
                       std::runtime_error);
}
