// Recall, HitRate and NDCG of protocol v1, and their averages. Sums run in double in a fixed order
// so the averages printed to 4 decimals agree with any other implementation.
#include "data/metrics.h"

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <string>

namespace mind::data {

RankingMetrics ranking_metrics(const int32_t* ranked, int64_t ranked_length,
                               const std::vector<int32_t>& targets, int64_t cutoff) {
  if (targets.empty()) throw std::runtime_error("ranking_metrics: empty target set");
  if (cutoff < 1) {
    throw std::runtime_error("ranking_metrics: cutoff must be at least 1, got " +
                             std::to_string(cutoff));
  }
  const int64_t examined = std::min(cutoff, ranked_length);
  int64_t hits = 0;
  double discounted_gain = 0.0;
  for (int64_t rank = 0; rank < examined; ++rank) {
    const int32_t item = ranked[rank];
    if (item < 0) break;
    if (std::binary_search(targets.begin(), targets.end(), item)) {
      ++hits;
      discounted_gain += 1.0 / std::log2(static_cast<double>(rank + 2));
    }
  }
  // The ideal list puts min(|T|, N) targets at the top.
  const int64_t ideal_hits = std::min(static_cast<int64_t>(targets.size()), cutoff);
  double ideal_gain = 0.0;
  for (int64_t rank = 0; rank < ideal_hits; ++rank) {
    ideal_gain += 1.0 / std::log2(static_cast<double>(rank + 2));
  }
  RankingMetrics metrics;
  metrics.recall = static_cast<double>(hits) / static_cast<double>(targets.size());
  metrics.hit_rate = hits > 0 ? 1.0 : 0.0;
  metrics.ndcg = discounted_gain / ideal_gain;
  return metrics;
}

void MetricsAccumulator::add(int32_t user, const int32_t* ranked, int64_t ranked_length,
                             const std::vector<int32_t>& targets) {
  const RankingMetrics at_20 = ranking_metrics(ranked, ranked_length, targets, 20);
  const RankingMetrics at_50 = ranking_metrics(ranked, ranked_length, targets, 50);
  sum_at_20_.recall += at_20.recall;
  sum_at_20_.hit_rate += at_20.hit_rate;
  sum_at_20_.ndcg += at_20.ndcg;
  sum_at_50_.recall += at_50.recall;
  sum_at_50_.hit_rate += at_50.hit_rate;
  sum_at_50_.ndcg += at_50.ndcg;
  users_.push_back({user, at_20, at_50});
}

EvalResult MetricsAccumulator::result() const {
  EvalResult result;
  result.user_count = static_cast<int64_t>(users_.size());
  result.users = users_;
  if (users_.empty()) return result;
  const double users = static_cast<double>(users_.size());
  result.at_20 = {sum_at_20_.recall / users, sum_at_20_.hit_rate / users, sum_at_20_.ndcg / users};
  result.at_50 = {sum_at_50_.recall / users, sum_at_50_.hit_rate / users, sum_at_50_.ndcg / users};
  return result;
}

EvalResult evaluate_ranked_lists(const std::vector<EvalUser>& eval_users, const int32_t* ranked,
                                 int64_t list_length) {
  MetricsAccumulator accumulator;
  for (size_t row = 0; row < eval_users.size(); ++row) {
    accumulator.add(eval_users[row].user, ranked + row * list_length, list_length, eval_users[row].targets);
  }
  return accumulator.result();
}

}  // namespace mind::data
