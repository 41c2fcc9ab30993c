// Protocol v1 (docs/design.md §3) applied to an InteractionLog: dense ids, time-sorted sequences,
// the deterministic user split, training samples and the evaluation cut.
// It does not batch (data/batcher.h), rank (data/retrieval.h) or score (data/metrics.h).
#pragma once
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "data/interaction_log.h"

namespace mind::data {

enum class Split : int8_t { train = 0, valid = 1, test = 2 };

// The fold of protocol v1 itself: the user at position u (in original-id order) is a test user
// when u % 10 == fold, a validation user when u % 10 == (fold + 9) % 10, else a training user.
// Fold 9 (valid 8, test 9) is the split every figure before folds existed was measured on; the
// ten folds 0..9 make each user a test user exactly once.
constexpr int protocol_v1_fold = 9;

// "train", "valid" or "test".
const char* split_name(Split split);

// The log after protocol v1. Users and items are dense indices from 0; every per-user or
// per-item vector is indexed by them. Optional parts (categories, titles, profile, synthetic
// truth) are empty when the log had none.
struct Dataset {
  std::string source;
  int64_t user_count = 0;
  int64_t item_count = 0;
  int64_t interaction_count = 0;
  int fold = protocol_v1_fold;  // which tenth of the users is tested (build_dataset)

  // Dense index -> original id. Users are in original-id order (numeric when every id is an
  // integer); items in descending training frequency, then the held-out-only items.
  std::vector<std::string> user_original_ids;  // [user_count]
  std::vector<std::string> item_original_ids;  // [item_count]
  std::vector<int64_t> item_train_frequency;   // [item_count], non-increasing
  int64_t train_item_count = 0;  // items 0..train_item_count-1 occur in training users

  std::vector<std::vector<int32_t>> sequences;  // [user_count][m_u] item indices, oldest first
  std::vector<Split> user_split;                // [user_count]
  std::vector<int32_t> train_users;             // ascending user indices of each split
  std::vector<int32_t> valid_users;
  std::vector<int32_t> test_users;

  // Item side.
  std::vector<std::vector<int32_t>> item_categories;  // [item_count][c_i] into category_names
  std::vector<std::string> category_names;
  std::vector<std::string> item_titles;  // [item_count]

  // User profile: F categorical fields, value v of field f means profile_values[f][v].
  std::vector<std::string> profile_field_names;          // [F]
  std::vector<int32_t> profile_cardinalities;            // [F]
  std::vector<std::vector<std::string>> profile_values;  // [F][cardinality]
  std::vector<int32_t> user_profile;                     // [user_count, F] row-major

  // Synthetic ground truth in dense indices.
  std::vector<int32_t> true_item_category;               // [item_count]
  std::vector<std::vector<int32_t>> true_user_interests;  // [user_count][k_u] category indices

  // Counts the trainer prints.
  int64_t training_sample_count = 0;       // sum over train users of (m_u - 1)
  int64_t valid_users_too_short = 0;       // valid users with < 2 interactions: not evaluated
  int64_t test_users_too_short = 0;        // test users with < 2 interactions: not evaluated
  int64_t users_without_interactions = 0;  // listed in the log but with no row: left out
  int64_t items_without_interactions = 0;  // listed in the log but with no row: left out

  int64_t field_count() const { return static_cast<int64_t>(profile_field_names.size()); }
  const std::vector<int32_t>& users_of(Split split) const;
};

// Which users train: `users` holds out a tenth for validation and a tenth for testing (protocol
// v1, with the fold); `none` holds out nobody, so every user is a training user and every t >= 1
// of every sequence is a training sample (the final model, trained after the settings were chosen
// on the held-out users; nothing can then be evaluated).
enum class UserSplit : int8_t { users = 0, none = 1 };

// Applies protocol v1 with the given fold (0..9), or with `UserSplit::none` its ordering without
// the held-out users. Throws std::runtime_error naming the source and the problem when the log is
// inconsistent (an index out of range, a feature table of the wrong length, duplicate ids), or
// std::invalid_argument naming --fold when the fold is out of range.
Dataset build_dataset(const InteractionLog& log, int fold = protocol_v1_fold, UserSplit split = UserSplit::users);

// One training sample: the target is sequences[user][position] and the history is the up to L
// items before it (L belongs to the batcher). position >= 1.
struct TrainSample {
  int32_t user = 0;
  int32_t position = 0;
};

// All training samples in their canonical order: train users ascending, then position
// ascending. The batcher shuffles this order; other code may rely on it.
std::vector<TrainSample> training_samples(const Dataset& dataset);

// An evaluated user: the history is sequences[user][0 .. history_length), of which a model sees
// the last L; the targets are the distinct items of the rest, ascending. A target may also be in
// the history: it is then excluded from the candidates yet still counts in |T| (protocol v1).
struct EvalUser {
  int32_t user = 0;
  int32_t history_length = 0;
  std::vector<int32_t> targets;
};

// The user's whole evaluation history, sequences[user][0 .. history_length): the items retrieval
// excludes (RetrievalInputs::excluded takes exactly this).
std::span<const int32_t> evaluation_history(const Dataset& dataset, const EvalUser& eval_user);

// The evaluation cut of protocol v1 for a sequence of m >= 2 interactions:
// ceil(0.8 m) clamped to [1, m - 1], computed in integers.
int64_t evaluation_history_length(int64_t sequence_length);

// Every user of the split with at least 2 interactions, ascending. (Split::train is allowed, for
// measuring how well a model fits its own training users.)
std::vector<EvalUser> evaluation_users(const Dataset& dataset, Split split);

}  // namespace mind::data
