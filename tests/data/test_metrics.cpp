// Recall, HitRate and NDCG on hand-computed lists: hits at known ranks, the ideal DCG over
// min(|T|, N), a hit just past the cutoff, a list cut short by -1, a target that was in the
// history (never rankable, still in |T|), and the averages over users at 20 and 50.
#include <doctest/doctest.h>

#include <stdexcept>
#include <vector>

#include "data/metrics.h"

using namespace mind::data;

TEST_CASE("metrics: two hits at ranks 1 and 3 among three targets") {
  const std::vector<int32_t> ranked = {5, 3, 9, 1};
  const std::vector<int32_t> targets = {1, 3, 7};
  const RankingMetrics metrics = ranking_metrics(ranked.data(), 4, targets, 20);
  CHECK(metrics.recall == doctest::Approx(2.0 / 3.0));
  CHECK(metrics.hit_rate == 1.0);
  // (1/log2 3 + 1/log2 5) / (1 + 1/log2 3 + 1/log2 4) = 1.0616063 / 2.1309298
  CHECK(metrics.ndcg == doctest::Approx(0.49818925746641285));
}

TEST_CASE("metrics: the ideal DCG counts min(|T|, N) positions") {
  const std::vector<int32_t> ranked = {1, 2, 3};
  const std::vector<int32_t> targets = {1, 2, 3};
  const RankingMetrics cut = ranking_metrics(ranked.data(), 3, targets, 2);
  CHECK(cut.recall == doctest::Approx(2.0 / 3.0));  // |T| = 3 even though N = 2
  CHECK(cut.ndcg == doctest::Approx(1.0));          // both slots hold targets: ideal
  const RankingMetrics full = ranking_metrics(ranked.data(), 3, targets, 20);
  CHECK(full.recall == 1.0);
  CHECK(full.ndcg == doctest::Approx(1.0));
}

TEST_CASE("metrics: a target just past the cutoff does not count") {
  const std::vector<int32_t> ranked = {9, 8, 1};
  const std::vector<int32_t> targets = {1};
  const RankingMetrics metrics = ranking_metrics(ranked.data(), 3, targets, 2);
  CHECK(metrics.recall == 0.0);
  CHECK(metrics.hit_rate == 0.0);
  CHECK(metrics.ndcg == 0.0);
  CHECK(ranking_metrics(ranked.data(), 3, targets, 3).ndcg == doctest::Approx(0.5));  // 1/log2(4)
}

TEST_CASE("metrics: a list ended by -1 (fewer candidates than N)") {
  const std::vector<int32_t> ranked = {4, -1, -1};
  const std::vector<int32_t> targets = {4, 6};
  const RankingMetrics metrics = ranking_metrics(ranked.data(), 3, targets, 20);
  CHECK(metrics.recall == 0.5);
  CHECK(metrics.hit_rate == 1.0);
  CHECK(metrics.ndcg == doctest::Approx(0.6131471927654584));  // 1 / (1 + 1/log2 3)
}

TEST_CASE("metrics: a target that was in the history still counts in |T|") {
  // Targets {2, 5}; item 2 was also in the history, so retrieval excluded it and it can never be
  // ranked. Protocol v1 still divides by |T| = 2, and the ideal DCG still has two slots.
  const std::vector<int32_t> ranked = {5, 7, 8};
  const std::vector<int32_t> targets = {2, 5};
  const RankingMetrics metrics = ranking_metrics(ranked.data(), 3, targets, 20);
  CHECK(metrics.recall == 0.5);
  CHECK(metrics.ndcg == doctest::Approx(0.6131471927654584));
}

TEST_CASE("metrics: averages over users at 20 and at 50") {
  std::vector<int32_t> first(50);   // target 100 at rank 0
  std::vector<int32_t> second(50);  // target 200 at rank 30: only @50 sees it
  for (int32_t rank = 0; rank < 50; ++rank) {
    first[rank] = rank == 0 ? 100 : 1000 + rank;
    second[rank] = rank == 30 ? 200 : 2000 + rank;
  }
  MetricsAccumulator accumulator;
  accumulator.add(7, first.data(), 50, {100});
  accumulator.add(3, second.data(), 50, {200, 300});
  const EvalResult result = accumulator.result();
  CHECK(result.user_count == 2);
  // Each user's own row, in the order added; the means above are their averages.
  REQUIRE(result.users.size() == 2);
  CHECK(result.users[0].user == 7);
  CHECK(result.users[0].at_20.recall == 1.0);
  CHECK(result.users[0].at_50.ndcg == 1.0);
  CHECK(result.users[1].user == 3);
  CHECK(result.users[1].at_20.hit_rate == 0.0);
  CHECK(result.users[1].at_50.recall == 0.5);
  CHECK(result.users[1].at_50.ndcg == doctest::Approx(0.2 / 1.6309297535714575));
  CHECK(result.at_20.recall == doctest::Approx(0.5));   // (1 + 0) / 2
  CHECK(result.at_20.hit_rate == doctest::Approx(0.5));
  CHECK(result.at_20.ndcg == doctest::Approx(0.5));     // (1 + 0) / 2
  CHECK(result.at_50.recall == doctest::Approx(0.75));  // (1 + 1/2) / 2
  CHECK(result.at_50.hit_rate == doctest::Approx(1.0));
  // second user: (1/log2 32) / (1 + 1/log2 3) = 0.2 / 1.6309298
  CHECK(result.at_50.ndcg == doctest::Approx((1.0 + 0.2 / 1.6309297535714575) / 2.0));

  std::vector<EvalUser> users(2);
  users[0].user = 7;
  users[0].targets = {100};
  users[1].user = 3;
  users[1].targets = {200, 300};
  std::vector<int32_t> both = first;  // [2, 50]
  both.insert(both.end(), second.begin(), second.end());
  const EvalResult same = evaluate_ranked_lists(users, both.data(), 50);
  CHECK(same.at_50.ndcg == result.at_50.ndcg);
  CHECK(same.at_20.recall == result.at_20.recall);
  REQUIRE(same.users.size() == 2);
  CHECK(same.users[0].user == 7);
  CHECK(same.users[1].user == 3);
  CHECK(same.users[1].at_50.ndcg == result.users[1].at_50.ndcg);
}

TEST_CASE("metrics: no users gives zeros, an empty target set is an error") {
  const EvalResult empty = MetricsAccumulator().result();
  CHECK(empty.user_count == 0);
  CHECK(empty.users.empty());
  CHECK(empty.at_20.recall == 0.0);
  const std::vector<int32_t> ranked = {1};
  CHECK_THROWS_AS(ranking_metrics(ranked.data(), 1, {}, 20), std::runtime_error);
  CHECK_THROWS_AS(ranking_metrics(ranked.data(), 1, {1}, 0), std::runtime_error);
}
