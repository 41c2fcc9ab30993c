// Reading a run folder back: the text tables, the CSR lists and the profile, each checked
// against the others so that a folder assembled from two runs, or cut short, is refused.
#include "train/run_folder.h"

#include <filesystem>
#include <fstream>
#include <stdexcept>

#include "data/text_fields.h"
#include "io/npy.h"
#include "train/trainer.h"

namespace mind::train {

namespace {

[[noreturn]] void fail(const std::string& path, const std::string& problem) {
  throw std::runtime_error(path + ": " + problem);
}

std::string require_file(const std::string& folder, const std::string& name) {
  const std::string path = folder + "/" + name;
  std::error_code error;
  if (!std::filesystem::is_regular_file(path, error))
    fail(path, "missing (the run did not finish, or an older mind_train wrote it: train again to serve from it)");
  return path;
}

// The rows of a header-first TSV table, each split at its tabs into exactly `columns` fields.
std::vector<std::vector<std::string>> read_table(const std::string& path, const std::vector<std::string>& header) {
  std::ifstream file(path, std::ios::binary);
  if (!file) fail(path, "cannot open");
  std::vector<std::vector<std::string>> rows;
  std::string line;
  int64_t line_number = 0;
  while (std::getline(file, line)) {
    ++line_number;
    std::vector<std::string> fields;
    size_t start = 0;
    while (true) {
      const size_t tab = line.find('\t', start);
      fields.push_back(line.substr(start, tab == std::string::npos ? std::string::npos : tab - start));
      if (tab == std::string::npos) break;
      start = tab + 1;
    }
    if (fields.size() != header.size())
      fail(path + ":" + std::to_string(line_number),
           "expected " + std::to_string(header.size()) + " tab-separated fields, got " + std::to_string(fields.size()));
    // The text rule every reader applies (data/text_fields.h); it also catches a file edited
    // into CRLF line ends, whose ids would otherwise end in a carriage return.
    for (const std::string& field : fields)
      if (const std::string problem = data::text_rule_problem(field); !problem.empty())
        fail(path + ":" + std::to_string(line_number), "the field " + data::quote_for_message(field) + " " + problem);
    if (line_number == 1) {
      if (fields != header) fail(path + ":1", "unexpected header (expected the columns " + header[0] + ", " + header[1] + ", ...)");
      continue;
    }
    rows.push_back(std::move(fields));
  }
  if (line_number == 0) fail(path, "empty (expected a header row)");
  return rows;
}

int64_t parse_index(const std::string& text, const std::string& where) {
  size_t used = 0;
  int64_t value = -1;
  try {
    value = std::stoll(text, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  if (used != text.size() || text.empty() || value < 0) fail(where, "'" + text + "' is not an index");
  return value;
}

// index<TAB>value tables: the values in index order; the indices must be 0, 1, 2, ...
std::vector<std::string> read_index_table(const std::string& path, const std::string& value_column,
                                          const std::string& index_column = "index") {
  const std::vector<std::vector<std::string>> rows = read_table(path, {index_column, value_column});
  std::vector<std::string> values;
  for (size_t row = 0; row < rows.size(); ++row) {
    const std::string where = path + ":" + std::to_string(row + 2);
    if (parse_index(rows[row][0], where) != static_cast<int64_t>(row))
      fail(where, "row " + std::to_string(row) + " has index " + rows[row][0]);
    values.push_back(rows[row][1]);
  }
  return values;
}

io::NpyArray load_array(const std::string& path, const char* descr, const std::vector<int64_t>& shape) {
  io::NpyArray array = io::load_npy(path);
  if (array.descr != descr) fail(path, "holds '" + array.descr + "' values, expected '" + descr + "'");
  if (array.shape != shape) {
    std::string expected, got;
    for (int64_t dimension : shape) expected += (expected.empty() ? "" : ", ") + std::to_string(dimension);
    for (int64_t dimension : array.shape) got += (got.empty() ? "" : ", ") + std::to_string(dimension);
    fail(path, "has shape (" + got + "), expected (" + expected + ") for this run");
  }
  return array;
}

// CSR lists: `offsets_name` int64 [lists + 1] from 0, non-decreasing, ending at the size of
// `values_name`, int32 values each in [0, limit).
std::vector<std::vector<int32_t>> read_lists(const std::string& folder, const std::string& offsets_name,
                                             const std::string& values_name, int64_t lists, int64_t limit,
                                             const std::string& limit_name) {
  const std::string offsets_path = require_file(folder, offsets_name);
  const std::string values_path = require_file(folder, values_name);
  const io::NpyArray values = io::load_npy(values_path);
  if (values.descr != "<i4" || values.shape.size() != 1) fail(values_path, "expected a one-dimensional int32 array");
  const std::vector<int64_t> offsets = load_array(offsets_path, "<i8", {lists + 1}).int64_values;
  if (offsets.front() != 0 || offsets.back() != values.shape[0])
    fail(offsets_path, "must run from 0 to the " + std::to_string(values.shape[0]) + " values of " + values_name);
  std::vector<std::vector<int32_t>> result(lists);
  for (int64_t list = 0; list < lists; ++list) {
    if (offsets[list + 1] < offsets[list]) fail(offsets_path, "offset " + std::to_string(list + 1) + " decreases");
    for (int64_t at = offsets[list]; at < offsets[list + 1]; ++at) {
      const int32_t value = values.int32_values[at];
      if (value < 0 || value >= limit)
        fail(values_path, "value " + std::to_string(at) + " is " + std::to_string(value) + ", outside the " +
                              std::to_string(limit) + " " + limit_name);
      result[list].push_back(value);
    }
  }
  return result;
}

void read_profile(const std::string& folder, data::Dataset& data) {
  const std::string fields_path = folder + "/profile_fields.tsv";
  if (!std::filesystem::exists(fields_path)) return;  // no profile fields
  const std::vector<std::vector<std::string>> rows =
      read_table(fields_path, {"field_index", "field_name", "value_index", "value"});
  for (size_t row = 0; row < rows.size(); ++row) {
    const std::string where = fields_path + ":" + std::to_string(row + 2);
    const int64_t field = parse_index(rows[row][0], where);
    const int64_t value = parse_index(rows[row][2], where);
    if (field == data.field_count()) {  // a new field starts with its value 0
      data.profile_field_names.push_back(rows[row][1]);
      data.profile_values.emplace_back();
    }
    if (field != data.field_count() - 1 || rows[row][1] != data.profile_field_names.back() ||
        value != static_cast<int64_t>(data.profile_values.back().size()))
      fail(where, "expected field " + std::to_string(data.field_count() - 1) + " value " +
                      std::to_string(data.profile_values.back().size()) + " or the next field's value 0");
    data.profile_values.back().push_back(rows[row][3]);
  }
  for (const std::vector<std::string>& values : data.profile_values)
    data.profile_cardinalities.push_back(static_cast<int32_t>(values.size()));
  const std::string profile_path = require_file(folder, "user_profile.npy");
  data.user_profile = load_array(profile_path, "<i4", {data.user_count, data.field_count()}).int32_values;
  for (int64_t user = 0; user < data.user_count; ++user)
    for (int64_t field = 0; field < data.field_count(); ++field) {
      const int32_t value = data.user_profile[user * data.field_count() + field];
      if (value < 0 || value >= data.profile_cardinalities[field])
        fail(profile_path, "user " + std::to_string(user) + " has value " + std::to_string(value) + " of field '" +
                               data.profile_field_names[field] + "', which has " +
                               std::to_string(data.profile_cardinalities[field]) + " values");
    }
}

}  // namespace

RunFolder read_run_folder(const std::string& folder) {
  std::error_code error;
  if (!std::filesystem::is_directory(folder, error)) throw std::runtime_error("--run " + folder + ": no such folder");
  if (!std::filesystem::is_regular_file(folder + "/run.json", error))
    throw std::runtime_error("--run " + folder + ": no run.json there (is it a mind_train output folder?)");
  RunFolder run;
  run.folder = folder;
  run.options = load_run_options(folder);
  data::Dataset& data = run.data;
  data.source = folder;
  data.item_original_ids = read_index_table(require_file(folder, "items.tsv"), "original_id");
  data.user_original_ids = read_index_table(require_file(folder, "users.tsv"), "original_id");
  data.category_names = read_index_table(require_file(folder, "categories.tsv"), "name");
  data.item_count = static_cast<int64_t>(data.item_original_ids.size());
  data.user_count = static_cast<int64_t>(data.user_original_ids.size());
  const int64_t category_count = static_cast<int64_t>(data.category_names.size());
  if (category_count > 0)
    data.item_categories = read_lists(folder, "item_category_offsets.npy", "item_category_indices.npy",
                                      data.item_count, category_count, "categories of categories.tsv");
  data.sequences = read_lists(folder, "user_history_offsets.npy", "user_history_items.npy", data.user_count,
                              data.item_count, "items of items.tsv");
  for (const std::vector<int32_t>& sequence : data.sequences) data.interaction_count += sequence.size();
  const std::string titles_path = folder + "/item_titles.tsv";
  if (std::filesystem::exists(titles_path)) {
    data.item_titles = read_index_table(titles_path, "title");
    if (static_cast<int64_t>(data.item_titles.size()) != data.item_count)
      fail(titles_path, std::to_string(data.item_titles.size()) + " titles for the " +
                            std::to_string(data.item_count) + " items of items.tsv");
  }
  read_profile(folder, data);
  return run;
}

ExportedVectors read_exported_vectors(const RunFolder& run, bool with_user_interests) {
  const std::string& folder = run.folder;
  const int64_t items = run.data.item_count, users = run.data.user_count;
  ExportedVectors vectors;
  const std::string items_path = require_file(folder, "item_embeddings.npy");
  const io::NpyArray item_array = io::load_npy(items_path);
  if (item_array.descr != "<f4" || item_array.shape.size() != 2 || item_array.shape[0] != items)
    fail(items_path, "expected float32 [" + std::to_string(items) + ", d] (one row per item of items.tsv)");
  vectors.width = item_array.shape[1];
  vectors.items = item_array.float32_values;
  if (!with_user_interests) return vectors;
  const std::string interests_path = require_file(folder, "all_user_interests.npy");
  const io::NpyArray interests = io::load_npy(interests_path);
  if (interests.descr != "<f4" || interests.shape.size() != 3 || interests.shape[0] != users ||
      interests.shape[2] != vectors.width || interests.shape[1] < 1)
    fail(interests_path, "expected float32 [" + std::to_string(users) + ", K, " + std::to_string(vectors.width) +
                             "] (one row per user of users.tsv)");
  vectors.interest_count = interests.shape[1];
  vectors.user_interests = interests.float32_values;
  const std::string counts_path = require_file(folder, "all_user_interest_counts.npy");
  const std::vector<int64_t> counts = load_array(counts_path, "<i8", {users}).int64_values;
  for (int64_t user = 0; user < users; ++user) {
    if (counts[user] < 1 || counts[user] > vectors.interest_count)
      fail(counts_path, "user " + std::to_string(user) + " has " + std::to_string(counts[user]) +
                            " live interests, expected 1.." + std::to_string(vectors.interest_count));
    vectors.user_counts.push_back(static_cast<int32_t>(counts[user]));
  }
  return vectors;
}

}  // namespace mind::train
