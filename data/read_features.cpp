// Feature files for any log: item categories (and titles) and categorical user profile fields.
// Both are delimited files with a header (comma or tab, detected as for logs) keyed by the
// log's original ids. MovieLens' own movies/users files are read in read_movielens.cpp.
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "data/readers.h"
#include "data/text_features.h"
#include "data/text_fields.h"
#include "data/text_ids.h"
#include "data/text_reader.h"

namespace mind::data {

namespace {

constexpr size_t absent = SIZE_MAX;

// Position of the column called `name` in the header, or `absent`; repeated names are an error.
size_t column_of(const TextReader& reader, const std::vector<std::string>& header, std::string_view name) {
  const size_t found = find_header_column(reader, header, name);
  return found == header.size() ? absent : found;
}

// Reads the header row of a feature file (delimiter detected from it) into `header`.
char read_header(TextReader& reader, std::vector<std::string>& header, const std::string& expected) {
  const char delimiter = reader.peek_line().find('\t') != std::string_view::npos ? '\t' : ',';
  std::vector<std::string_view> fields;
  if (!reader.next_record(delimiter, fields)) {
    throw std::runtime_error(reader.path() + ":1: the file is empty (expected a header row: " + expected +
                             ")");
  }
  header.assign(fields.begin(), fields.end());
  return delimiter;
}

}  // namespace

void read_item_features(const std::string& path, InteractionLog& log, ProgressReport progress) {
  if (!log.item_categories.empty() || !log.item_titles.empty()) {
    throw std::runtime_error(path + ": the log already has item features (from " + log.source +
                             "); an item features file cannot be added to it");
  }
  TextReader reader(path, std::move(progress));
  std::vector<std::string> header;
  const char delimiter = read_header(reader, header, "item,categories[,title]");
  const size_t item_column = column_of(reader, header, "item");
  const size_t categories_column = column_of(reader, header, "categories");
  const size_t title_column = column_of(reader, header, "title");
  if (item_column == absent || categories_column == absent) {
    reader.fail("the header must have the columns 'item' and 'categories' (and optionally 'title')");
  }
  const std::string separator_name = delimiter_name(delimiter) + " (as in the header)";

  const IdIndex items(log.item_ids);
  IdIndex category_names;
  std::vector<std::vector<uint32_t>> item_categories(log.item_ids.size());  // [items][categories]
  std::vector<std::string> item_titles;                                    // [items] if titled
  if (title_column != absent) item_titles.resize(log.item_ids.size());
  std::vector<bool> listed(log.item_ids.size(), false);  // [items]
  size_t row_count = 0;
  std::vector<std::string_view> fields;
  while (reader.next_record(delimiter, fields)) {
    expect_field_count(reader, fields, header.size(), separator_name);
    const std::string_view item_text = fields[item_column];
    const uint32_t item = items.find(item_text);
    if (item == IdIndex::not_found) {
      reader.fail("item " + quote_for_message(item_text) + " is not in the interaction log " + log.source);
    }
    if (listed[item]) reader.fail("item " + quote_for_message(item_text) + " is listed twice");
    listed[item] = true;
    parse_category_list(reader, fields[categories_column], category_names, item_categories[item]);
    if (title_column != absent) {
      check_text(reader, fields[title_column], "title");
      item_titles[item] = std::string(fields[title_column]);
    }
    ++row_count;
  }
  if (row_count == 0) reader.fail("no items: the file has a header row and nothing after it");
  log.item_categories = std::move(item_categories);
  log.item_titles = std::move(item_titles);
  log.category_names = category_names.take_ids();
}

void read_user_features(const std::string& path, InteractionLog& log, ProgressReport progress) {
  if (!log.user_profile.empty()) {
    throw std::runtime_error(path + ": the log already has user profiles (from " + log.source +
                             "); a user features file cannot be added to it");
  }
  TextReader reader(path, std::move(progress));
  std::vector<std::string> header;
  const char delimiter = read_header(reader, header, "user,FIELD[,FIELD...]");
  const size_t user_column = column_of(reader, header, "user");
  if (user_column == absent) reader.fail("the header must have a column 'user'");
  if (header.size() < 2) reader.fail("the header names no profile field besides 'user'");
  std::vector<std::string> field_names;
  std::vector<size_t> field_columns;
  for (size_t column = 0; column < header.size(); ++column) {
    if (column == user_column) continue;
    if (header[column].empty()) {
      reader.fail("column " + std::to_string(column + 1) + " of the header has no name");
    }
    if (column_of(reader, header, header[column]) != column) {
      reader.fail("column '" + header[column] + "' appears twice in the header");
    }
    check_text(reader, header[column], "field name");
    field_names.push_back(header[column]);
    field_columns.push_back(column);
  }
  const std::string separator_name = delimiter_name(delimiter) + " (as in the header)";

  const IdIndex users(log.user_ids);
  ProfileBuilder profile(log.user_ids.size(), field_names);
  std::vector<std::string_view> fields;
  std::vector<std::string_view> values(field_columns.size());  // [fields]
  size_t row_count = 0;
  while (reader.next_record(delimiter, fields)) {
    expect_field_count(reader, fields, header.size(), separator_name);
    const std::string_view user_text = fields[user_column];
    const uint32_t user = users.find(user_text);
    if (user == IdIndex::not_found) {
      reader.fail("user " + quote_for_message(user_text) + " is not in the interaction log " + log.source);
    }
    if (profile.has_row(user)) reader.fail("user " + quote_for_message(user_text) + " is listed twice");
    for (size_t field = 0; field < field_columns.size(); ++field) {
      values[field] = fields[field_columns[field]];
      check_text(reader, values[field], "value of '" + field_names[field] + "'");
    }
    profile.set_row(user, values);
    ++row_count;
  }
  if (row_count == 0) reader.fail("no users: the file has a header row and nothing after it");
  profile.move_into(log);
}

}  // namespace mind::data
