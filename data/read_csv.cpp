// The generic delimited-log reader: a header row, three named columns (user, item, time), one
// interaction per row. MovieLens' ratings.csv is read by it too, with integer ids required.
// Feature files are read in read_features.cpp.
#include <cstdint>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "data/readers.h"
#include "data/text_fields.h"
#include "data/text_ids.h"
#include "data/text_reader.h"

namespace mind::data {

namespace {

std::string trim_spaces(std::string_view text) {
  size_t begin = 0;
  size_t end = text.size();
  while (begin < end && (text[begin] == ' ' || text[begin] == '\t')) ++begin;
  while (end > begin && (text[end - 1] == ' ' || text[end - 1] == '\t')) --end;
  return std::string(text.substr(begin, end - begin));
}

std::string join_for_message(const std::vector<std::string>& names) {
  std::string joined;
  for (const std::string& name : names) {
    if (!joined.empty()) joined += ", ";
    joined += quote_for_message(name);
  }
  return joined;
}

// Position of the column called `name` in the header; an error if it is absent or repeated.
size_t find_column(const TextReader& reader, const std::vector<std::string>& header,
                   const std::string& name, const std::string& role) {
  const size_t found = find_header_column(reader, header, name);
  if (found == header.size() && header.size() == 1) {
    // One column: most likely the file uses a delimiter other than the one detected.
    for (const char candidate : {';', '|', ' ', ':'}) {
      if (header[0].find(candidate) == std::string::npos) continue;
      reader.fail("the header has a single column " + quote_for_message(header[0]) + ": is the file separated by " +
                  delimiter_name(candidate) + "? Then say so with --delimiter '" + std::string(1, candidate) + "'");
    }
  }
  if (found == header.size()) {
    reader.fail("no column '" + name + "' (the " + role + " column) in the header; its columns are " +
                join_for_message(header) + " (name the columns with --columns user=COL,item=COL,time=COL)");
  }
  return found;
}

// The header's delimiter when none is given: TSV headers hold tabs, CSV headers do not.
char detect_delimiter(std::string_view header_line) {
  return header_line.find('\t') != std::string_view::npos ? '\t' : ',';
}

}  // namespace

CsvLayout parse_csv_layout(const std::string& columns, const std::string& delimiter) {
  CsvLayout layout;
  bool user_given = false;
  bool item_given = false;
  bool time_given = false;
  std::vector<std::string_view> parts;
  if (!columns.empty()) split_fields(columns, ",", parts);
  for (const std::string_view part : parts) {
    const size_t equals = part.find('=');
    const std::string key = trim_spaces(part.substr(0, equals == std::string_view::npos ? 0 : equals));
    const std::string column = equals == std::string_view::npos ? "" : trim_spaces(part.substr(equals + 1));
    if (equals == std::string_view::npos || column.empty()) {
      throw std::runtime_error("--columns '" + columns + "': each part must be KEY=COLUMN, got '" +
                               std::string(part) + "'");
    }
    bool* given = nullptr;
    if (key == "user") {
      layout.user_column = column;
      given = &user_given;
    } else if (key == "item") {
      layout.item_column = column;
      given = &item_given;
    } else if (key == "time") {
      layout.time_column = column;
      given = &time_given;
    } else {
      throw std::runtime_error("--columns '" + columns + "': unknown key '" + key +
                               "' (the keys are user, item and time)");
    }
    if (*given) throw std::runtime_error("--columns '" + columns + "': key '" + key + "' given twice");
    *given = true;
  }

  if (delimiter.empty()) {
    layout.delimiter = 0;
  } else if (delimiter == "tab" || delimiter == "\\t" || delimiter == "\t") {
    layout.delimiter = '\t';
  } else if (delimiter == "comma") {
    layout.delimiter = ',';
  } else if (delimiter.size() == 1 && delimiter[0] != '"' && delimiter[0] != '\n' && delimiter[0] != '\r') {
    layout.delimiter = delimiter[0];
  } else {
    throw std::runtime_error("--delimiter '" + delimiter +
                             "': expected one character (not a quote or a line break), 'tab' or 'comma'");
  }
  return layout;
}

InteractionLog read_csv_log(const std::string& path, const CsvLayout& layout, ProgressReport progress) {
  TextReader reader(path, std::move(progress));
  const char delimiter = layout.delimiter != 0 ? layout.delimiter : detect_delimiter(reader.peek_line());
  std::vector<std::string_view> fields;
  if (!reader.next_record(delimiter, fields)) {
    throw std::runtime_error(path + ":1: the file is empty (expected a header row naming the columns, "
                             "then one interaction per row)");
  }
  if (fields.size() == 1 && fields[0].empty()) reader.fail("empty line where the header row should be");
  // Copied: the views die with the next record.
  const std::vector<std::string> header(fields.begin(), fields.end());
  const size_t user_column = find_column(reader, header, layout.user_column, "user");
  const size_t item_column = find_column(reader, header, layout.item_column, "item");
  const size_t time_column = find_column(reader, header, layout.time_column, "time");
  if (user_column == item_column || user_column == time_column || item_column == time_column) {
    reader.fail("the user, item and time columns must be three different columns");
  }
  const std::string separator_name = delimiter_name(delimiter) + " (as in the header)";

  InteractionLog log;
  log.source = path;
  IdIndex users;
  IdIndex items;
  while (reader.next_record(delimiter, fields)) {
    expect_field_count(reader, fields, header.size(), separator_name);
    const std::string_view user_text = fields[user_column];
    const std::string_view item_text = fields[item_column];
    const std::string_view time_text = fields[time_column];
    if (time_text == header[time_column] && user_text == header[user_column] &&
        item_text == header[item_column]) {
      reader.fail("the header row appears again (were two files joined?)");
    }
    if (user_text.empty()) reader.fail("empty user id (column '" + header[user_column] + "')");
    if (item_text.empty()) reader.fail("empty item id (column '" + header[item_column] + "')");
    check_text(reader, user_text, "user id");
    check_text(reader, item_text, "item id");
    if (layout.integer_ids) {
      parse_uint64(reader, user_text, "user id");
      parse_uint64(reader, item_text, "item id");
    }
    Interaction interaction;
    interaction.user = users.add(user_text);
    interaction.item = items.add(item_text);
    if (interaction.user == IdIndex::not_found) reader.fail("too many distinct users (limit 2^32 - 2)");
    if (interaction.item == IdIndex::not_found) reader.fail("too many distinct items (limit 2^32 - 2)");
    interaction.timestamp = parse_int64(reader, time_text, "timestamp");
    log.interactions.push_back(interaction);
  }
  if (log.interactions.empty()) {
    reader.fail("no interactions: the file has a header row and nothing after it");
  }
  log.user_ids = users.take_ids();
  log.item_ids = items.take_ids();
  return log;
}

}  // namespace mind::data
