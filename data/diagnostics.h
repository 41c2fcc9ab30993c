// Are the learned interests really separate interests? On any data: interest collapse (do a
// user's interests point the same way?) and how many live interests dynamic K leaves each user.
// On data with item categories: purity (does an interest's top-20 sit in one category?) and, on
// synthetic data, coverage (does some interest find each planted category?). Read-only: it
// trains nothing.
#pragma once
#include <cstdint>
#include <vector>

#include "data/dataset.h"
#include "data/progress_report.h"
#include "data/retrieval.h"

namespace mind::data {

struct InterestDiagnostics {
  // Purity: for each live interest, its own top-20 items over the whole catalogue (history not
  // excluded); the share of them carrying the category most common among them (ties: lowest
  // category index; with several categories per item, an item counts for each). Mean over all
  // live interests of all users. 0 and interest_count 0 when the dataset has no categories.
  int64_t interest_count = 0;
  double purity = 0.0;
  // Coverage (synthetic truth only): a planted category of a user is covered when it is the
  // majority true category of some live interest's top-20. Share covered per user, mean over
  // users with planted interests. 0 and user_count 0 without ground truth.
  int64_t user_count = 0;
  double coverage = 0.0;
  // Interest collapse: for each user with two or more live interests, the mean cosine over the
  // pairs i < j of them (a zero vector counts as cosine 0); mean over those users. 1: the
  // interests all point one way, as if the user had one. collapse_user_count: those users.
  int64_t collapse_user_count = 0;
  double interest_collapse = 0.0;
  // users_with_live_interests[k − 1]: users with exactly k live interests, k = 1..K (dynamic K
  // gives K'_u = max(1, min(K, floor(log2 n_u))), so short histories get fewer).
  std::vector<int64_t> users_with_live_interests;
};

// Size of each interest's own list in both measures.
constexpr int64_t diagnostics_list_length = 20;

// `interests` gives item embeddings and user interests (its exclusion fields are ignored);
// `users` [interests.user_count] maps each interest row to its dense user (for the truth).
// Purity and coverage rank the catalogue for every live interest: at 60 000 users that takes
// seconds, so it is done in batches of diagnostics_batch_interests, and `between_batches`
// (optional) is called after each with (interests ranked, live interests in all). When it
// returns false the work stops there and `*completed` (if given) is set to false; the result
// is then incomplete.
InterestDiagnostics diagnose_interests(const Dataset& dataset, const RetrievalInputs& interests,
                                       const int32_t* users, const BetweenBatches& between_batches = nullptr,
                                       bool* completed = nullptr);

// Live interests ranked at a time by diagnose_interests (a batch takes about 0.2 s at 10^4 items).
constexpr int64_t diagnostics_batch_interests = 4096;

}  // namespace mind::data
