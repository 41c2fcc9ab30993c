// An interaction log as read from disk (or generated), before protocol v1 touches it:
// original ids as strings, rows in file order, optional item and user features.
// Readers (data/readers_*.cpp) fill it; data/dataset.h turns it into the remapped, split dataset.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace mind::data {

// One row of the log. `user` and `item` index InteractionLog::user_ids / item_ids.
struct Interaction {
  uint32_t user = 0;
  uint32_t item = 0;
  int64_t timestamp = 0;
};

struct InteractionLog {
  std::string source;                 // the path read, or "synthetic"
  std::vector<std::string> user_ids;  // original user ids, in order of first appearance
  std::vector<std::string> item_ids;  // original item ids, in order of first appearance
  std::vector<Interaction> interactions;  // in file order (protocol v1 keeps ties in this order)
  // Rows that repeat an earlier row exactly (same user, item and timestamp). Protocol v1 keeps
  // every row, so they stay in `interactions`; load_interactions counts them so that the
  // programs can say how many there are.
  uint64_t duplicate_rows = 0;

  // Item side (optional). Either empty, or one entry per item_ids entry.
  std::vector<std::string> item_titles;
  std::vector<std::vector<uint32_t>> item_categories;  // indices into category_names
  std::vector<std::string> category_names;

  // User profile (optional): categorical fields. Either empty, or one row per user_ids entry,
  // each row holding one value index per field into profile_values[field].
  std::vector<std::string> profile_field_names;
  std::vector<std::vector<std::string>> profile_values;
  std::vector<std::vector<uint32_t>> user_profile;

  // Ground truth planted by the synthetic generator (empty for real data):
  // the one true category of each item and the planted interest categories of each user.
  std::vector<uint32_t> true_item_category;
  std::vector<std::vector<uint32_t>> true_user_interests;
};

}  // namespace mind::data
