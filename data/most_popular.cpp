// Most-Popular: walk the catalogue from the most popular item, skipping the user's history.
// Scored by the same metric code as every model, so its numbers are comparable.
#include "data/most_popular.h"

#include <algorithm>
#include <stdexcept>
#include <string>

namespace mind::data {

std::vector<int32_t> most_popular_top_n(const Dataset& dataset, const EvalUser& eval_user,
                                        int64_t top_n, bool exclude_history) {
  if (top_n < 1) {
    throw std::runtime_error("most_popular_top_n: top_n must be at least 1, got " +
                             std::to_string(top_n));
  }
  std::vector<int32_t> history;  // sorted copy of the evaluation history, for lookups
  if (exclude_history) {
    const std::vector<int32_t>& sequence = dataset.sequences[eval_user.user];
    history.assign(sequence.begin(), sequence.begin() + eval_user.history_length);
    std::sort(history.begin(), history.end());
  }
  std::vector<int32_t> ranked(top_n, -1);  // [top_n]
  int64_t filled = 0;
  for (int64_t item = 0; item < dataset.item_count && filled < top_n; ++item) {
    if (std::binary_search(history.begin(), history.end(), static_cast<int32_t>(item))) continue;
    ranked[filled] = static_cast<int32_t>(item);
    ++filled;
  }
  return ranked;
}

EvalResult evaluate_most_popular(const Dataset& dataset, Split split, bool exclude_history) {
  const int64_t list_length = 50;  // the largest N reported; @20 reads its first 20 entries
  MetricsAccumulator accumulator;
  for (const EvalUser& eval_user : evaluation_users(dataset, split)) {
    const std::vector<int32_t> ranked =
        most_popular_top_n(dataset, eval_user, list_length, exclude_history);
    accumulator.add(eval_user.user, ranked.data(), list_length, eval_user.targets);
  }
  return accumulator.result();
}

}  // namespace mind::data
