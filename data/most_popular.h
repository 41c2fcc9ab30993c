// Most-Popular, the baseline every model must beat (docs/design.md §2.8): each evaluated user gets the
// most frequent training items, minus their history. Dense item ids are already in descending
// training frequency (ties by original id), so the list is simply the lowest indices left.
#pragma once
#include <cstdint>
#include <vector>

#include "data/dataset.h"
#include "data/metrics.h"

namespace mind::data {

// The top_n lowest item indices not in the user's evaluation history (all of it, not only the
// last L) when exclude_history; -1 fills the tail if the catalogue runs out.
std::vector<int32_t> most_popular_top_n(const Dataset& dataset, const EvalUser& eval_user,
                                        int64_t top_n, bool exclude_history);

// Most-Popular's Recall/HitRate/NDCG @20 and @50 on the evaluated users of a split.
EvalResult evaluate_most_popular(const Dataset& dataset, Split split, bool exclude_history);

}  // namespace mind::data
