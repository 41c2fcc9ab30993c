// Evaluation under protocol v1: encode the evaluated users' last-L histories into interests,
// retrieve each user's exact top-50 over the whole catalogue (history excluded), and score
// the lists against the held-out targets. Also the interest diagnostics (data/diagnostics.h).
#pragma once
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "data/dataset.h"
#include "data/diagnostics.h"
#include "data/metrics.h"
#include "models/model.h"

namespace mind::train {

// Users' interests as plain arrays, for retrieval and export.
struct EncodedUsers {
  std::vector<data::EvalUser> users;  // who, in row order
  int64_t interest_count = 0;         // K
  int64_t width = 0;                  // d
  std::vector<float> interests;       // [U, K, d]; rows past a user's live count are zero
  std::vector<int32_t> counts;        // [U] live interests
};

// Every item's vector e_i as the model scores it, [N, d].
std::vector<float> item_vectors(const models::Model& model);

// Called between batches of users with (users done, users in all); returning false stops the work
// there (Ctrl-C). Also where the caller shows progress (data/progress_report.h).
using data::BetweenBatches;

// Encodes `users` in batches; with `between_batches`, stops early when it returns false (the
// result is then incomplete: encode_users returns false through `completed`).
EncodedUsers encode_users(const models::Model& model, const data::Dataset& dataset,
                          const std::vector<data::EvalUser>& users, int64_t batch_size,
                          const BetweenBatches& between_batches = nullptr, bool* completed = nullptr);

struct Evaluation {
  bool completed = true;                  // false: stopped by `between_batches`, nothing else is set
  data::EvalResult metrics;
  data::InterestDiagnostics diagnostics;  // computed when asked
  EncodedUsers encoded;
};

// Encodes the split's users and ranks the catalogue for them, `batch_size` users at a time (each
// user's top-50 is exact and independent of the others, so batching changes no figure).
// `between_batches` counts encoding and ranking as two passes over the users, and the diagnostics,
// when asked, as a third (their interests ranked, scaled to users).
Evaluation evaluate(const models::Model& model, const data::Dataset& dataset, data::Split split,
                    bool exclude_history, int64_t batch_size, bool with_diagnostics,
                    const BetweenBatches& between_batches = nullptr);

// Writes `result`'s per-user rows as TSV: the header
//   user<TAB>recall@20<TAB>recall@50<TAB>hitrate@20<TAB>hitrate@50<TAB>ndcg@20<TAB>ndcg@50
// then one row per evaluated user (original id) in evaluation order. Their means are the figures
// in metrics.jsonl; scripts/quality.py pairs the rows of two runs by fold and user.
void write_metrics_by_user(const std::string& path, const data::Dataset& dataset, const data::EvalResult& result);

}  // namespace mind::train
