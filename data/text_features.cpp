// Category lists and the profile table builder (see text_features.h).
#include "data/text_features.h"

#include <algorithm>
#include <utility>

#include "data/readers.h"
#include "data/text_fields.h"

namespace mind::data {

void parse_category_list(const TextReader& reader, std::string_view text, IdIndex& names,
                         std::vector<uint32_t>& categories) {
  if (text.empty()) return;
  size_t start = 0;
  for (;;) {
    const size_t stop = std::min(text.find('|', start), text.size());
    const std::string_view name = text.substr(start, stop - start);
    if (name.empty()) {
      reader.fail("empty category name in " + quote_for_message(text));
    }
    check_text(reader, name, "category name");
    const uint32_t index = names.add(name);
    if (index == IdIndex::not_found) reader.fail("too many distinct categories");
    if (std::find(categories.begin(), categories.end(), index) != categories.end()) {
      reader.fail("category '" + std::string(name) + "' is listed twice in " +
                  quote_for_message(text));
    }
    categories.push_back(index);
    if (stop == text.size()) return;
    start = stop + 1;
  }
}

ProfileBuilder::ProfileBuilder(size_t user_count, std::vector<std::string> field_names)
    : field_names_(std::move(field_names)),
      values_(field_names_.size()),
      rows_(user_count),
      has_row_(user_count, false) {}

void ProfileBuilder::set_row(uint32_t user, const std::vector<std::string_view>& values) {
  std::vector<uint32_t>& row = rows_[user];
  row.resize(field_names_.size());
  for (size_t field = 0; field < field_names_.size(); ++field) {
    const std::string_view value = values[field].empty() ? missing_profile_value : values[field];
    row[field] = values_[field].add(value);
  }
  has_row_[user] = true;
}

void ProfileBuilder::move_into(InteractionLog& log) {
  for (size_t user = 0; user < rows_.size(); ++user) {
    if (has_row_[user]) continue;
    std::vector<uint32_t>& row = rows_[user];
    row.resize(field_names_.size());
    for (size_t field = 0; field < field_names_.size(); ++field) {
      row[field] = values_[field].add(missing_profile_value);
    }
  }
  log.profile_field_names = std::move(field_names_);
  log.profile_values.clear();
  for (IdIndex& field_values : values_) log.profile_values.push_back(field_values.take_ids());
  log.user_profile = std::move(rows_);
}

}  // namespace mind::data
