// Ranking metrics of protocol v1 (docs/design.md §3.5): Recall@N, HitRate@N and NDCG@N of a ranked
// list against a user's target set, per user and averaged over users, for N = 20 and 50.
// It does not produce the lists (data/retrieval.h, data/most_popular.h).
#pragma once
#include <cstdint>
#include <vector>

#include "data/dataset.h"

namespace mind::data {

struct RankingMetrics {
  double recall = 0.0;    // |R_N ∩ T| / |T|
  double hit_rate = 0.0;  // 1 if R_N ∩ T is not empty
  double ndcg = 0.0;      // Σ_{r<N, R_N[r]∈T} 1/log2(r+2) / Σ_{r<min(|T|,N)} 1/log2(r+2)
};

// Metrics of one ranked list (distinct items, best first; a -1 ends it early, as retrieval
// leaves when there were fewer candidates than N) against `targets`, ascending and distinct as
// EvalUser holds them. |T| counts every target, including one that was in the history and so
// could never be ranked: protocol v1 divides by the whole target set.
// Throws if targets is empty or cutoff < 1.
RankingMetrics ranking_metrics(const int32_t* ranked, int64_t ranked_length,
                               const std::vector<int32_t>& targets, int64_t cutoff);

// One evaluated user's metrics: the rows whose means EvalResult holds, kept so that two models
// can be compared user by user (paired differences) rather than only by their means.
struct UserMetrics {
  int32_t user = 0;  // dense user index
  RankingMetrics at_20;
  RankingMetrics at_50;
};

// Averages over the evaluated users (0 everywhere when user_count is 0), and each user's own.
struct EvalResult {
  int64_t user_count = 0;
  RankingMetrics at_20;
  RankingMetrics at_50;
  std::vector<UserMetrics> users;  // [user_count], in the order they were added
};

// Sums per-user metrics in the order users are added (so the averages are reproducible).
class MetricsAccumulator {
 public:
  // `ranked` needs no more than 50 entries; a shorter list is treated as ending in -1. `user` is
  // the dense index the row belongs to.
  void add(int32_t user, const int32_t* ranked, int64_t ranked_length, const std::vector<int32_t>& targets);
  EvalResult result() const;

 private:
  RankingMetrics sum_at_20_;
  RankingMetrics sum_at_50_;
  std::vector<UserMetrics> users_;
};

// Scores the ranked lists [eval_users.size(), list_length] (row r belongs to eval_users[r]).
EvalResult evaluate_ranked_lists(const std::vector<EvalUser>& eval_users, const int32_t* ranked,
                                 int64_t list_length);

}  // namespace mind::data
