// Evaluations that would mean nothing, caught before they are reported as numbers:
//  - a log too small to have validation or test users (protocol v1 holds out 1 user in 10, and a
//    held-out user needs 2+ interactions) would train and then print "Recall 0.0000 (0 users)";
//  - when every target of every evaluated user is already in their history, excluding the history
//    (protocol v1) leaves nothing to find, and Recall is exactly 0 whatever the model learnt.
#pragma once
#include <optional>
#include <string>

#include "data/dataset.h"

namespace mind::train {

// Throws std::invalid_argument when the validation or the test split has no evaluated user,
// saying how many users each split has and what to do instead.
void require_evaluated_users(const data::Dataset& dataset);

// With history exclusion on: a warning line when every target of every evaluated user of `split`
// is in that user's history (so Recall is 0 by construction), pointing to `keep_history_flag`
// (mind_train's --no-exclude-history, mind_most_popular's --keep-history).
std::optional<std::string> all_targets_in_history_warning(const data::Dataset& dataset, data::Split split,
                                                          bool exclude_history, const std::string& keep_history_flag);

}  // namespace mind::train
