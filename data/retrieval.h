// Exact top-N retrieval for multi-interest users (docs/design.md §2.9):
// score(i) = max over the user's live interests j of v_j · e_i, over the whole catalogue, the
// user's history left out. A plain reference and a fast version (the engine's GEMM over groups
// of users and blocks of items, a bounded heap per user, OpenMP over groups) ranking alike.
// No approximate search here: export embeddings for that (§6).
#pragma once
#include <cstdint>
#include <span>
#include <vector>

namespace mind::data {

// The inputs, as raw row-major arrays owned by the caller.
struct RetrievalInputs {
  const float* item_embeddings = nullptr;   // [item_count, width]
  int64_t item_count = 0;
  int64_t width = 0;                        // d
  const float* user_interests = nullptr;    // [user_count, max_interests, width]
  const int32_t* interest_counts = nullptr; // [user_count], live interests are rows 0..count-1
  int64_t user_count = 0;
  int64_t max_interests = 0;                // K
  // The items each user may not be recommended (their full history), one span per user, read
  // only when exclude_history is true. Repeats and any order are fine.
  std::vector<std::span<const int32_t>> excluded;  // [user_count]
  bool exclude_history = true;
};

// Ranked lists with what serving shows: each item's score and the live interest that gave it
// (the lowest-numbered one on a tie). All three are [user_count, top_n]; an unfilled tail has
// item -1, score -infinity and interest -1.
struct RankedLists {
  int64_t top_n = 0;
  std::vector<int32_t> items;
  std::vector<float> scores;
  std::vector<int32_t> interests;
};

// Ranked lists, [user_count, top_n] item indices, best first. Ties go to the lower item index;
// a NaN score counts as -infinity; -1 fills the tail when fewer than top_n items are candidates.
// Throws std::runtime_error on inconsistent inputs (sizes < 1, a count outside 1..K, an excluded
// item outside the catalogue, a missing exclusion list).
std::vector<int32_t> retrieve_top_n(const RetrievalInputs& inputs, int64_t top_n);

// The same ranking, written as plainly as possible: score every item with a scalar loop, sort.
std::vector<int32_t> retrieve_top_n_reference(const RetrievalInputs& inputs, int64_t top_n);

// retrieve_top_n and its reference, with scores and interests. The fast version's scores come
// from the same GEMM that ranks, so they may differ from the reference's in the last bits.
RankedLists retrieve_ranked(const RetrievalInputs& inputs, int64_t top_n);
RankedLists retrieve_ranked_reference(const RetrievalInputs& inputs, int64_t top_n);

}  // namespace mind::data
