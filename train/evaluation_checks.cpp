#include "train/evaluation_checks.h"

#include <algorithm>
#include <stdexcept>
#include <unordered_set>

namespace mind::train {

void require_evaluated_users(const data::Dataset& dataset) {
  const size_t valid = data::evaluation_users(dataset, data::Split::valid).size();
  const size_t test = data::evaluation_users(dataset, data::Split::test).size();
  if (valid > 0 && test > 0) return;
  throw std::invalid_argument(
      dataset.source + ": too small to evaluate: " + std::to_string(dataset.user_count) + " users give " +
      std::to_string(valid) + " validation and " + std::to_string(test) +
      " test users with 2 or more interactions (protocol v1 holds out 1 user in 10 for each, see --fold, and "
      "evaluates those with 2+ interactions), so every metric would be over zero users. Use a log with more users "
      "(20 or more, with 2+ interactions each), or --split none to train on every user without evaluation");
}

std::optional<std::string> all_targets_in_history_warning(const data::Dataset& dataset, data::Split split,
                                                          bool exclude_history, const std::string& keep_history_flag) {
  if (!exclude_history) return std::nullopt;
  const std::vector<data::EvalUser> users = data::evaluation_users(dataset, split);
  if (users.empty()) return std::nullopt;
  for (const data::EvalUser& user : users) {
    const std::span<const int32_t> history = data::evaluation_history(dataset, user);
    const std::unordered_set<int32_t> seen(history.begin(), history.end());
    for (int32_t target : user.targets)
      if (seen.count(target) == 0) return std::nullopt;  // something is left to find
  }
  return "warning: every target of the " + std::to_string(users.size()) + " " +
         (split == data::Split::valid ? "validation" : "test") +
         " users is already in their history, and protocol v1 excludes the history from the candidates: Recall is "
         "0 whatever the model learns. For a log of repeated interactions, evaluate with " + keep_history_flag;
}

}  // namespace mind::train
