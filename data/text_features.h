// Pieces shared by the feature readers and the MovieLens readers: turning "Action|Comedy" into
// category indices, and building the user profile table (one categorical value per field per
// user). Reading the files themselves is in data/read_features.cpp and data/read_movielens.cpp.
#pragma once
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "data/interaction_log.h"
#include "data/text_ids.h"
#include "data/text_reader.h"

namespace mind::data {

// Appends to `categories` the index in `names` of each '|'-separated name in `text`, adding
// new names to `names`. An empty `text` means no categories. An empty name ("a||b") or a name
// given twice is an error naming the reader's file and line.
void parse_category_list(const TextReader& reader, std::string_view text, IdIndex& names,
                         std::vector<uint32_t>& categories);

// Collects profile rows, then moves them into an InteractionLog.
class ProfileBuilder {
 public:
  ProfileBuilder(size_t user_count, std::vector<std::string> field_names);

  size_t field_count() const { return field_names_.size(); }
  bool has_row(uint32_t user) const { return has_row_[user]; }
  // One value per field; an empty value stands for missing_profile_value.
  void set_row(uint32_t user, const std::vector<std::string_view>& values);
  // Users without a row get missing_profile_value in every field (that value, if needed, is
  // the last of each field's values).
  void move_into(InteractionLog& log);

 private:
  std::vector<std::string> field_names_;
  std::vector<IdIndex> values_;              // one per field
  std::vector<std::vector<uint32_t>> rows_;  // [users][fields] value indices
  std::vector<bool> has_row_;                // [users]
};

}  // namespace mind::data
