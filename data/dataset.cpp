// Protocol v1: the remapping, sorting and split of data/dataset.h, plus the training samples and
// the evaluation cut. Every choice here is fixed by docs/design.md §3 so that two implementations give
// the same dense ids, the same split and therefore the same Most-Popular numbers to the digit.
#include "data/dataset.h"

#include <algorithm>
#include <cstddef>
#include <limits>
#include <stdexcept>
#include <utility>

namespace mind::data {

namespace {

// An optional '-' then at least one digit: the ids that compare numerically.
bool is_integer_id(const std::string& id) {
  size_t start = 0;
  if (!id.empty() && id[0] == '-') start = 1;
  if (start == id.size()) return false;
  for (size_t i = start; i < id.size(); ++i) {
    if (id[i] < '0' || id[i] > '9') return false;
  }
  return true;
}

// -1, 0 or +1 as the value of integer id a is below, equal to or above b's. Works on the digits
// themselves, so ids longer than any machine integer still compare correctly.
int compare_integer_values(const std::string& a, const std::string& b) {
  const bool a_negative = a[0] == '-';
  const bool b_negative = b[0] == '-';
  size_t a_start = a_negative ? 1 : 0;
  size_t b_start = b_negative ? 1 : 0;
  while (a_start + 1 < a.size() && a[a_start] == '0') ++a_start;
  while (b_start + 1 < b.size() && b[b_start] == '0') ++b_start;
  const bool a_zero = a.size() - a_start == 1 && a[a_start] == '0';
  const bool b_zero = b.size() - b_start == 1 && b[b_start] == '0';
  // "-0" is zero, not negative.
  const int a_sign = a_zero ? 0 : (a_negative ? -1 : 1);
  const int b_sign = b_zero ? 0 : (b_negative ? -1 : 1);
  if (a_sign != b_sign) return a_sign < b_sign ? -1 : 1;
  if (a_sign == 0) return 0;
  int magnitude = 0;  // compare |a| with |b|
  const size_t a_digits = a.size() - a_start;
  const size_t b_digits = b.size() - b_start;
  if (a_digits != b_digits) {
    magnitude = a_digits < b_digits ? -1 : 1;
  } else {
    const int c = a.compare(a_start, a_digits, b, b_start, b_digits);
    magnitude = c < 0 ? -1 : (c > 0 ? 1 : 0);
  }
  return a_sign > 0 ? magnitude : -magnitude;
}

// Sorts `subset` (indices into `ids`) by original id: numerically when every id of the subset is
// an integer, else by bytes. Equal values written differently ("7", "07") fall back to the bytes
// so the order stays total. Throws on a repeated id: the log would be ambiguous.
std::vector<uint32_t> sort_by_original_id(const std::vector<std::string>& ids,
                                          std::vector<uint32_t> subset, const char* what,
                                          const std::string& source) {
  bool all_integers = true;
  for (uint32_t index : subset) {
    if (!is_integer_id(ids[index])) {
      all_integers = false;
      break;
    }
  }
  std::sort(subset.begin(), subset.end(), [&](uint32_t left, uint32_t right) {
    if (all_integers) {
      const int by_value = compare_integer_values(ids[left], ids[right]);
      if (by_value != 0) return by_value < 0;
    }
    return ids[left] < ids[right];
  });
  for (size_t i = 1; i < subset.size(); ++i) {
    if (ids[subset[i - 1]] == ids[subset[i]]) {
      throw std::runtime_error(source + ": " + what + " id '" + ids[subset[i]] +
                               "' appears twice in the log's id list");
    }
  }
  return subset;
}

// Throws unless the optional per-item or per-user table is empty or has one entry per id.
void check_table_length(size_t table_length, size_t expected, const char* table, const char* per,
                        const std::string& source) {
  if (table_length != 0 && table_length != expected) {
    throw std::runtime_error(source + ": " + table + " has " + std::to_string(table_length) +
                             " entries but the log has " + std::to_string(expected) + " " + per);
  }
}

void check_log(const InteractionLog& log) {
  const std::string& source = log.source;
  const size_t user_total = log.user_ids.size();
  const size_t item_total = log.item_ids.size();
  for (size_t row = 0; row < log.interactions.size(); ++row) {
    const Interaction& interaction = log.interactions[row];
    if (interaction.user >= user_total) {
      throw std::runtime_error(source + ": interaction #" + std::to_string(row) +
                               " refers to user index " + std::to_string(interaction.user) +
                               " but the log lists " + std::to_string(user_total) + " users");
    }
    if (interaction.item >= item_total) {
      throw std::runtime_error(source + ": interaction #" + std::to_string(row) +
                               " refers to item index " + std::to_string(interaction.item) +
                               " but the log lists " + std::to_string(item_total) + " items");
    }
  }
  check_table_length(log.item_categories.size(), item_total, "item_categories", "items", source);
  check_table_length(log.item_titles.size(), item_total, "item_titles", "items", source);
  check_table_length(log.true_item_category.size(), item_total, "true_item_category", "items",
                     source);
  check_table_length(log.user_profile.size(), user_total, "user_profile", "users", source);
  check_table_length(log.true_user_interests.size(), user_total, "true_user_interests", "users",
                     source);
  const size_t category_total = log.category_names.size();
  const auto check_category = [&](uint32_t category, const char* table, size_t owner) {
    if (category >= category_total) {
      throw std::runtime_error(source + ": " + table + " of entry " + std::to_string(owner) +
                               " refers to category " + std::to_string(category) +
                               " but there are " + std::to_string(category_total) +
                               " category names");
    }
  };
  for (size_t item = 0; item < log.item_categories.size(); ++item) {
    for (uint32_t category : log.item_categories[item]) {
      check_category(category, "item_categories", item);
    }
  }
  for (size_t item = 0; item < log.true_item_category.size(); ++item) {
    check_category(log.true_item_category[item], "true_item_category", item);
  }
  for (size_t user = 0; user < log.true_user_interests.size(); ++user) {
    for (uint32_t category : log.true_user_interests[user]) {
      check_category(category, "true_user_interests", user);
    }
  }
  const size_t field_total = log.profile_field_names.size();
  if (!log.user_profile.empty() && log.profile_values.size() != field_total) {
    throw std::runtime_error(source + ": " + std::to_string(field_total) +
                             " profile fields but value lists for " +
                             std::to_string(log.profile_values.size()));
  }
  for (size_t user = 0; user < log.user_profile.size(); ++user) {
    const std::vector<uint32_t>& row = log.user_profile[user];
    if (row.size() != field_total) {
      throw std::runtime_error(source + ": the profile of user '" + log.user_ids[user] + "' has " +
                               std::to_string(row.size()) + " fields, expected " +
                               std::to_string(field_total));
    }
    for (size_t field = 0; field < field_total; ++field) {
      if (row[field] >= log.profile_values[field].size()) {
        throw std::runtime_error(source + ": profile field '" + log.profile_field_names[field] +
                                 "' of user '" + log.user_ids[user] + "' has value index " +
                                 std::to_string(row[field]) + " of " +
                                 std::to_string(log.profile_values[field].size()));
      }
    }
  }
  const size_t int32_limit = static_cast<size_t>(std::numeric_limits<int32_t>::max());
  if (user_total > int32_limit || item_total > int32_limit) {
    throw std::runtime_error(source + ": more than 2^31-1 users or items; dense ids are int32");
  }
}

// Dense item order: items seen in training users by descending training frequency, then the
// items seen only in held-out users by descending held-out frequency; ties by original id,
// compared numerically when every id of the catalogue is an integer.
struct ItemOrder {
  std::vector<uint32_t> dense_to_original;  // [item_count] original item index
  int64_t train_item_count = 0;
};

ItemOrder order_items(const InteractionLog& log, const std::vector<uint32_t>& active_items,
                      const std::vector<int64_t>& train_frequency,
                      const std::vector<int64_t>& held_out_frequency) {
  const std::vector<uint32_t> items_in_id_order =
      sort_by_original_id(log.item_ids, active_items, "item", log.source);
  std::vector<int64_t> id_rank(log.item_ids.size(), 0);  // [original items]
  for (size_t rank = 0; rank < items_in_id_order.size(); ++rank) {
    id_rank[items_in_id_order[rank]] = static_cast<int64_t>(rank);
  }
  std::vector<uint32_t> train_items;
  std::vector<uint32_t> held_out_only_items;
  for (uint32_t item : items_in_id_order) {
    if (train_frequency[item] > 0) {
      train_items.push_back(item);
    } else {
      held_out_only_items.push_back(item);
    }
  }
  std::sort(train_items.begin(), train_items.end(), [&](uint32_t left, uint32_t right) {
    if (train_frequency[left] != train_frequency[right]) {
      return train_frequency[left] > train_frequency[right];
    }
    return id_rank[left] < id_rank[right];
  });
  std::sort(held_out_only_items.begin(), held_out_only_items.end(),
            [&](uint32_t left, uint32_t right) {
              if (held_out_frequency[left] != held_out_frequency[right]) {
                return held_out_frequency[left] > held_out_frequency[right];
              }
              return id_rank[left] < id_rank[right];
            });
  ItemOrder order;
  order.train_item_count = static_cast<int64_t>(train_items.size());
  order.dense_to_original = train_items;
  order.dense_to_original.insert(order.dense_to_original.end(), held_out_only_items.begin(),
                                 held_out_only_items.end());
  return order;
}

// Categories, titles and true categories, reordered to dense item indices.
void copy_item_side(const InteractionLog& log, const std::vector<uint32_t>& items_in_dense_order,
                    Dataset& dataset) {
  const int64_t item_count = static_cast<int64_t>(items_in_dense_order.size());
  dataset.category_names = log.category_names;
  if (!log.item_categories.empty()) {
    dataset.item_categories.resize(item_count);
    for (int64_t item = 0; item < item_count; ++item) {
      for (uint32_t category : log.item_categories[items_in_dense_order[item]]) {
        dataset.item_categories[item].push_back(static_cast<int32_t>(category));
      }
    }
  }
  if (!log.item_titles.empty()) {
    for (int64_t item = 0; item < item_count; ++item) {
      dataset.item_titles.push_back(log.item_titles[items_in_dense_order[item]]);
    }
  }
  if (!log.true_item_category.empty()) {
    for (int64_t item = 0; item < item_count; ++item) {
      dataset.true_item_category.push_back(
          static_cast<int32_t>(log.true_item_category[items_in_dense_order[item]]));
    }
  }
}

// Profile fields and planted interests, reordered to dense user indices.
void copy_user_side(const InteractionLog& log, const std::vector<uint32_t>& users_in_id_order,
                    Dataset& dataset) {
  const int64_t user_count = static_cast<int64_t>(users_in_id_order.size());
  if (!log.user_profile.empty()) {
    dataset.profile_field_names = log.profile_field_names;
    dataset.profile_values = log.profile_values;
    for (const std::vector<std::string>& values : log.profile_values) {
      dataset.profile_cardinalities.push_back(static_cast<int32_t>(values.size()));
    }
    const int64_t field_count = dataset.field_count();
    dataset.user_profile.resize(user_count * field_count);  // [user_count, F]
    for (int64_t user = 0; user < user_count; ++user) {
      const std::vector<uint32_t>& row = log.user_profile[users_in_id_order[user]];
      for (int64_t field = 0; field < field_count; ++field) {
        dataset.user_profile[user * field_count + field] = static_cast<int32_t>(row[field]);
      }
    }
  }
  if (!log.true_user_interests.empty()) {
    dataset.true_user_interests.resize(user_count);
    for (int64_t user = 0; user < user_count; ++user) {
      for (uint32_t category : log.true_user_interests[users_in_id_order[user]]) {
        dataset.true_user_interests[user].push_back(static_cast<int32_t>(category));
      }
    }
  }
}

}  // namespace

const char* split_name(Split split) {
  switch (split) {
    case Split::train:
      return "train";
    case Split::valid:
      return "valid";
    case Split::test:
      return "test";
  }
  return "unknown";
}

const std::vector<int32_t>& Dataset::users_of(Split split) const {
  if (split == Split::valid) return valid_users;
  if (split == Split::test) return test_users;
  return train_users;
}

Dataset build_dataset(const InteractionLog& log, int fold, UserSplit user_split) {
  if (fold < 0 || fold > 9) {
    throw std::invalid_argument("--fold must be between 0 and 9, got " + std::to_string(fold));
  }
  check_log(log);
  Dataset dataset;
  dataset.source = log.source;
  dataset.interaction_count = static_cast<int64_t>(log.interactions.size());

  // Users: only those with at least one interaction exist for the protocol (another
  // implementation reading the same interaction file would never see the others).
  std::vector<int64_t> rows_per_original_user(log.user_ids.size(), 0);
  for (const Interaction& interaction : log.interactions) {
    ++rows_per_original_user[interaction.user];
  }
  std::vector<uint32_t> active_users;
  for (size_t user = 0; user < log.user_ids.size(); ++user) {
    if (rows_per_original_user[user] > 0) active_users.push_back(static_cast<uint32_t>(user));
  }
  dataset.users_without_interactions =
      static_cast<int64_t>(log.user_ids.size() - active_users.size());
  const std::vector<uint32_t> users_in_id_order =
      sort_by_original_id(log.user_ids, active_users, "user", log.source);
  const int64_t user_count = static_cast<int64_t>(users_in_id_order.size());
  dataset.user_count = user_count;
  std::vector<int32_t> dense_user(log.user_ids.size(), -1);  // [original users]
  for (int64_t user = 0; user < user_count; ++user) {
    dense_user[users_in_id_order[user]] = static_cast<int32_t>(user);
    dataset.user_original_ids.push_back(log.user_ids[users_in_id_order[user]]);
  }

  // Split by position in id order: fold -> test, the position before it -> valid, the rest ->
  // train (fold 9: 8 -> valid, 9 -> test); with UserSplit::none everyone trains.
  dataset.fold = fold;
  const int64_t valid_position = (fold + 9) % 10;
  dataset.user_split.resize(user_count);
  for (int64_t user = 0; user < user_count; ++user) {
    const int64_t position = user % 10;
    const Split split = user_split == UserSplit::none ? Split::train
                        : position == valid_position  ? Split::valid
                        : position == fold            ? Split::test
                                                      : Split::train;
    dataset.user_split[user] = split;
    if (split == Split::train) dataset.train_users.push_back(static_cast<int32_t>(user));
    if (split == Split::valid) dataset.valid_users.push_back(static_cast<int32_t>(user));
    if (split == Split::test) dataset.test_users.push_back(static_cast<int32_t>(user));
  }

  // Each user's rows in file order, then a stable sort by timestamp keeps ties in file order.
  // [user_count][m_u] (timestamp, original item) pairs
  std::vector<std::vector<std::pair<int64_t, uint32_t>>> timed_sequences(user_count);
  for (int64_t user = 0; user < user_count; ++user) {
    timed_sequences[user].reserve(rows_per_original_user[users_in_id_order[user]]);
  }
  for (const Interaction& interaction : log.interactions) {
    timed_sequences[dense_user[interaction.user]].push_back(
        {interaction.timestamp, interaction.item});
  }
  for (std::vector<std::pair<int64_t, uint32_t>>& sequence : timed_sequences) {
    std::stable_sort(
        sequence.begin(), sequence.end(),
        [](const std::pair<int64_t, uint32_t>& left, const std::pair<int64_t, uint32_t>& right) {
          return left.first < right.first;
        });
  }

  // Items: count in training users and in held-out users separately.
  std::vector<int64_t> train_frequency(log.item_ids.size(), 0);
  std::vector<int64_t> held_out_frequency(log.item_ids.size(), 0);
  for (int64_t user = 0; user < user_count; ++user) {
    std::vector<int64_t>& counts =
        dataset.user_split[user] == Split::train ? train_frequency : held_out_frequency;
    for (const std::pair<int64_t, uint32_t>& entry : timed_sequences[user]) ++counts[entry.second];
  }
  std::vector<uint32_t> active_items;
  for (size_t item = 0; item < log.item_ids.size(); ++item) {
    if (train_frequency[item] + held_out_frequency[item] > 0) {
      active_items.push_back(static_cast<uint32_t>(item));
    }
  }
  dataset.items_without_interactions =
      static_cast<int64_t>(log.item_ids.size() - active_items.size());
  const ItemOrder item_order = order_items(log, active_items, train_frequency, held_out_frequency);
  const std::vector<uint32_t>& items_in_dense_order = item_order.dense_to_original;
  const int64_t item_count = static_cast<int64_t>(items_in_dense_order.size());
  dataset.item_count = item_count;
  dataset.train_item_count = item_order.train_item_count;
  std::vector<int32_t> dense_item(log.item_ids.size(), -1);  // [original items]
  for (int64_t item = 0; item < item_count; ++item) {
    const uint32_t original = items_in_dense_order[item];
    dense_item[original] = static_cast<int32_t>(item);
    dataset.item_original_ids.push_back(log.item_ids[original]);
    dataset.item_train_frequency.push_back(train_frequency[original]);
  }

  // Sequences in dense item ids.
  dataset.sequences.resize(user_count);
  for (int64_t user = 0; user < user_count; ++user) {
    const std::vector<std::pair<int64_t, uint32_t>>& timed = timed_sequences[user];
    if (timed.size() > static_cast<size_t>(std::numeric_limits<int32_t>::max())) {
      throw std::runtime_error(log.source + ": user '" + dataset.user_original_ids[user] +
                               "' has more than 2^31-1 interactions");
    }
    std::vector<int32_t>& sequence = dataset.sequences[user];
    sequence.reserve(timed.size());
    for (const std::pair<int64_t, uint32_t>& entry : timed) {
      sequence.push_back(dense_item[entry.second]);
    }
    const int64_t length = static_cast<int64_t>(sequence.size());
    const Split split = dataset.user_split[user];
    if (split == Split::train) dataset.training_sample_count += length - 1;
    if (split == Split::valid && length < 2) ++dataset.valid_users_too_short;
    if (split == Split::test && length < 2) ++dataset.test_users_too_short;
  }

  copy_item_side(log, items_in_dense_order, dataset);
  copy_user_side(log, users_in_id_order, dataset);
  return dataset;
}

std::vector<TrainSample> training_samples(const Dataset& dataset) {
  std::vector<TrainSample> samples;
  samples.reserve(dataset.training_sample_count);
  for (int32_t user : dataset.train_users) {
    const int32_t length = static_cast<int32_t>(dataset.sequences[user].size());
    for (int32_t position = 1; position < length; ++position) samples.push_back({user, position});
  }
  return samples;
}

std::span<const int32_t> evaluation_history(const Dataset& dataset, const EvalUser& eval_user) {
  const std::vector<int32_t>& sequence = dataset.sequences[eval_user.user];
  return std::span<const int32_t>(sequence.data(), eval_user.history_length);
}

int64_t evaluation_history_length(int64_t sequence_length) {
  if (sequence_length < 2) {
    throw std::runtime_error("evaluation_history_length: a sequence of " +
                             std::to_string(sequence_length) +
                             " interactions has no evaluation cut (at least 2 needed)");
  }
  // ceil(8 m / 10) in integers: 0.8 has no exact binary form, so ceil(0.8 * m) in floating point
  // leaves every implementation to hope its rounding lands on the same side of an integer.
  const int64_t ceiling = (8 * sequence_length + 9) / 10;
  return std::clamp<int64_t>(ceiling, 1, sequence_length - 1);
}

std::vector<EvalUser> evaluation_users(const Dataset& dataset, Split split) {
  std::vector<EvalUser> result;
  for (int32_t user : dataset.users_of(split)) {
    const std::vector<int32_t>& sequence = dataset.sequences[user];
    const int64_t length = static_cast<int64_t>(sequence.size());
    if (length < 2) continue;  // counted in Dataset::*_users_too_short
    EvalUser eval_user;
    eval_user.user = user;
    eval_user.history_length = static_cast<int32_t>(evaluation_history_length(length));
    eval_user.targets.assign(sequence.begin() + eval_user.history_length, sequence.end());
    std::sort(eval_user.targets.begin(), eval_user.targets.end());
    eval_user.targets.erase(std::unique(eval_user.targets.begin(), eval_user.targets.end()),
                            eval_user.targets.end());
    result.push_back(std::move(eval_user));
  }
  return result;
}

}  // namespace mind::data
