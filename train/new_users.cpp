// New users' histories from the command line or a file (train/new_users.h).
#include "train/new_users.h"

#include <algorithm>
#include <stdexcept>
#include <unordered_map>
#include <utility>

#include "data/readers.h"
#include "data/text_fields.h"
#include "data/text_reader.h"

namespace mind::train {

namespace {

// Maps original ids to item indices and collects each user's known items.
class HistoryBuilder {
 public:
  explicit HistoryBuilder(const data::Dataset& data) {
    for (int64_t item = 0; item < data.item_count; ++item)
      item_index_.emplace(data.item_original_ids[item], static_cast<int32_t>(item));
  }

  // One history entry; `timestamp` orders a user's entries (stable).
  void add(const std::string& user, const std::string& item, int64_t timestamp) {
    auto [user_entry, new_user] = user_row_.try_emplace(user, rows_.size());
    if (new_user) rows_.push_back({user, {}});
    const auto item_entry = item_index_.find(item);
    if (item_entry == item_index_.end()) {
      ++result_.unknown_items;
      if (unknown_seen_.emplace(item, true).second) result_.unknown_ids.push_back(item);
      return;
    }
    rows_[user_entry->second].second.push_back({timestamp, item_entry->second});
  }

  NewUsers finish() {
    for (auto& [id, timed] : rows_) {
      std::stable_sort(timed.begin(), timed.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
      if (timed.empty()) {
        result_.empty_users.push_back(id);
        continue;
      }
      NewUser user{id, {}};
      for (const auto& entry : timed) user.items.push_back(entry.second);
      result_.users.push_back(std::move(user));
    }
    return std::move(result_);
  }

 private:
  std::unordered_map<std::string, int32_t> item_index_;
  std::unordered_map<std::string, size_t> user_row_;
  std::vector<std::pair<std::string, std::vector<std::pair<int64_t, int32_t>>>> rows_;
  std::unordered_map<std::string, bool> unknown_seen_;
  NewUsers result_;
};

size_t find_column(const data::TextReader& reader, const std::vector<std::string>& header, const std::string& name,
                   bool required) {
  const size_t found = data::find_header_column(reader, header, name);
  if (found == header.size() && required)
    reader.fail("the header has no column '" + name + "' (expected user,item[,timestamp])");
  return found;
}

}  // namespace

NewUsers parse_history_list(const std::string& list, const data::Dataset& data) {
  HistoryBuilder builder(data);
  int64_t position = 0;
  size_t start = 0;
  while (start <= list.size()) {
    const size_t comma = std::min(list.find(',', start), list.size());
    const std::string item = list.substr(start, comma - start);
    if (item.empty()) throw std::runtime_error("--history '" + list + "': an empty item id (two commas, or one at an end)");
    const std::string problem = data::text_rule_problem(item);
    if (!problem.empty()) throw std::runtime_error("--history: the item id " + data::quote_for_message(item) + " " + problem);
    builder.add("(new user)", item, position++);
    start = comma + 1;
  }
  return builder.finish();
}

NewUsers read_histories_file(const std::string& path, const data::Dataset& data,
                             const data::ProgressReport& progress) {
  data::TextReader reader(path, progress);
  const std::string_view first_line = reader.peek_line();
  const char delimiter = first_line.find('\t') != std::string_view::npos ? '\t' : ',';
  std::vector<std::string_view> fields;
  if (!reader.next_record(delimiter, fields))
    throw std::runtime_error(path + ":1: the file is empty (expected a header row user,item[,timestamp])");
  const std::vector<std::string> header(fields.begin(), fields.end());
  const size_t user_column = find_column(reader, header, "user", true);
  const size_t item_column = find_column(reader, header, "item", true);
  const size_t time_column = find_column(reader, header, "timestamp", false);
  HistoryBuilder builder(data);
  int64_t row = 0;
  while (reader.next_record(delimiter, fields)) {
    data::expect_field_count(reader, fields, header.size(), data::delimiter_name(delimiter) + " (as in the header)");
    if (fields[user_column].empty()) reader.fail("empty user id");
    if (fields[item_column].empty()) reader.fail("empty item id");
    // The project's one text rule (data/text_fields.h), as in every reader: the ids go into the
    // output's TSV rows and the messages about unknown items.
    data::check_text(reader, fields[user_column], "user id");
    data::check_text(reader, fields[item_column], "item id");
    const int64_t timestamp =
        time_column < header.size() ? data::parse_int64(reader, fields[time_column], "timestamp") : row;
    builder.add(std::string(fields[user_column]), std::string(fields[item_column]), timestamp);
    ++row;
  }
  if (row == 0) reader.fail("no rows after the header");
  return builder.finish();
}

std::string describe_skipped(const NewUsers& users, const std::string& source) {
  std::string text;
  if (users.unknown_items > 0) {
    text += source + ": skipped " + std::to_string(users.unknown_items) + " history entr" +
            (users.unknown_items == 1 ? "y" : "ies") + " with " + std::to_string(users.unknown_ids.size()) +
            " item id" + (users.unknown_ids.size() == 1 ? "" : "s") + " the run does not know:";
    const size_t shown = std::min<size_t>(users.unknown_ids.size(), 10);
    for (size_t i = 0; i < shown; ++i) text += " " + users.unknown_ids[i];
    if (shown < users.unknown_ids.size()) text += " ...";
    text += "\n";
  }
  if (!users.empty_users.empty()) {
    text += source + ": skipped " + std::to_string(users.empty_users.size()) + " user" +
            (users.empty_users.size() == 1 ? "" : "s") + " with no item the run knows:";
    const size_t shown = std::min<size_t>(users.empty_users.size(), 10);
    for (size_t i = 0; i < shown; ++i) text += " " + users.empty_users[i];
    if (shown < users.empty_users.size()) text += " ...";
    text += "\n";
  }
  return text;
}

std::vector<std::string> parse_profile(const std::string& text, const data::Dataset& data) {
  std::vector<std::string> profile(data.field_count());
  if (text.empty()) return profile;
  size_t start = 0;
  while (start <= text.size()) {
    const size_t comma = std::min(text.find(',', start), text.size());
    const std::string entry = text.substr(start, comma - start);
    const size_t equals = entry.find('=');
    if (equals == std::string::npos || equals == 0 || equals + 1 == entry.size())
      throw std::runtime_error("--profile '" + text + "': expected FIELD=VALUE, got '" + entry + "'");
    const std::string field_name = entry.substr(0, equals), value = entry.substr(equals + 1);
    const auto field = std::find(data.profile_field_names.begin(), data.profile_field_names.end(), field_name);
    if (field == data.profile_field_names.end()) {
      std::string fields;
      for (const std::string& name : data.profile_field_names) fields += (fields.empty() ? "" : ", ") + name;
      throw std::runtime_error("--profile: the run has no profile field '" + field_name + "' (it has: " +
                               (fields.empty() ? "none" : fields) + ")");
    }
    const std::vector<std::string>& values = data.profile_values[field - data.profile_field_names.begin()];
    if (std::find(values.begin(), values.end(), value) == values.end())
      throw std::runtime_error("--profile: the run has no value '" + value + "' of the field '" + field_name + "'");
    profile[field - data.profile_field_names.begin()] = value;
    start = comma + 1;
  }
  return profile;
}

int32_t append_new_user(data::Dataset& data, const NewUser& user, const std::vector<std::string>& profile) {
  for (int64_t field = 0; field < data.field_count(); ++field) {
    const std::vector<std::string>& values = data.profile_values[field];
    const std::string wanted = profile[field].empty() ? std::string(data::missing_profile_value) : profile[field];
    const auto value = std::find(values.begin(), values.end(), wanted);
    if (value == values.end())
      throw std::runtime_error("the run's profile field '" + data.profile_field_names[field] + "' has no value '" +
                               std::string(data::missing_profile_value) +
                               "' for a user without a profile: give new users one with --profile " +
                               data.profile_field_names[field] + "=VALUE");
    data.user_profile.push_back(static_cast<int32_t>(value - values.begin()));
  }
  data.user_original_ids.push_back(user.id);
  data.sequences.push_back(user.items);
  return static_cast<int32_t>(data.user_count++);
}

}  // namespace mind::train
