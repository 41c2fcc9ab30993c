// load_interactions: format detection and dispatch to the readers (see data/load.h).
// Nothing here parses text; it only decides which reader runs and checks that the options fit it.
#include "data/load.h"

#include <algorithm>
#include <filesystem>
#include <vector>
#include <stdexcept>
#include <string>
#include <utility>

#include "data/readers.h"

namespace mind::data {

namespace {

bool is_file(const std::filesystem::path& path) {
  std::error_code error;
  return std::filesystem::is_regular_file(path, error);
}

std::string lowercase_extension(const std::filesystem::path& path) {
  std::string extension = path.extension().string();
  for (char& character : extension) {
    if (character >= 'A' && character <= 'Z') character = static_cast<char>(character - 'A' + 'a');
  }
  return extension;
}

}  // namespace

std::string detect_format(const std::string& data) {
  if (data == "synthetic") return "synthetic";
  const std::filesystem::path path(data);
  std::error_code error;
  if (std::filesystem::is_directory(path, error)) {
    if (is_file(path / "ratings.csv") && is_file(path / "movies.csv")) return "movielens";
    if (is_file(path / "ratings.dat")) return "movielens-1m";
    if (is_file(path / "u.data")) return "movielens-100k";
    throw std::runtime_error("'" + data + "' is a folder but not a MovieLens one: looked for ratings.csv and "
                             "movies.csv (MovieLens CSV), ratings.dat (MovieLens-1M) and u.data "
                             "(MovieLens-100K) in it");
  }
  if (!std::filesystem::exists(path, error)) {
    throw std::runtime_error("'" + data + "' does not exist (expected a .csv or .tsv log file, a MovieLens "
                             "folder, or the word 'synthetic')");
  }
  const std::string extension = lowercase_extension(path);
  if (extension == ".csv" || extension == ".tsv") return "csv";
  const std::string name = path.filename().string();
  if (name == "ratings.dat" || name == "u.data" || name == "ratings.csv") {
    throw std::runtime_error("'" + data + "' is a MovieLens file: pass the folder that holds it as --data");
  }
  throw std::runtime_error("cannot tell the format of '" + data +
                           "': expected a file ending in .csv or .tsv, a MovieLens folder, or the word "
                           "'synthetic' (use --format csv to read another file as a delimited log)");
}

void require_inputs_exist(const DataOptions& options) {
  std::error_code error;
  if (options.data != "synthetic") {
    if (options.format == "auto") detect_format(options.data);  // its message says what was looked for
    if (!std::filesystem::exists(options.data, error))
      throw std::runtime_error("--data " + options.data + ": no such file or folder");
  }
  for (const auto& [flag, path] : {std::pair<std::string, std::string>{"--item-features", options.item_features},
                                   std::pair<std::string, std::string>{"--user-features", options.user_features}})
    if (!path.empty() && !is_file(path)) throw std::runtime_error(flag + " " + path + ": no such file");
}

uint64_t count_duplicate_rows(const InteractionLog& log) {
  // Group the rows by user (a counting sort), then sort each user's few rows by time and item:
  // an exact duplicate is then the row before it.
  std::vector<uint64_t> first_row(log.user_ids.size() + 1, 0);  // [users + 1]
  for (const Interaction& row : log.interactions) ++first_row[row.user + 1];
  for (size_t user = 0; user < log.user_ids.size(); ++user) first_row[user + 1] += first_row[user];
  std::vector<uint64_t> next = first_row;
  std::vector<std::pair<int64_t, uint32_t>> by_user(log.interactions.size());  // (timestamp, item)
  for (const Interaction& row : log.interactions) by_user[next[row.user]++] = {row.timestamp, row.item};
  uint64_t duplicates = 0;
  for (size_t user = 0; user < log.user_ids.size(); ++user) {
    const auto begin = by_user.begin() + static_cast<std::ptrdiff_t>(first_row[user]);
    const auto end = by_user.begin() + static_cast<std::ptrdiff_t>(first_row[user + 1]);
    std::sort(begin, end);
    for (auto row = begin; row != end; ++row)
      if (row != begin && *row == *(row - 1)) ++duplicates;
  }
  return duplicates;
}

InteractionLog load_interactions(const DataOptions& options, const LoadProgress& progress) {
  const std::string& given = options.format;
  if (given != "auto" && given != "csv" && given != "movielens" && given != "movielens-1m" &&
      given != "movielens-100k" && given != "synthetic") {
    throw std::runtime_error("--format '" + given +
                             "' is not one of auto, csv, movielens, movielens-1m, movielens-100k, synthetic");
  }
  const std::string format = given == "auto" ? detect_format(options.data) : given;
  if (format != "synthetic" && options.data == "synthetic") {
    throw std::runtime_error("--format " + format + " reads a file or folder: give its path with --data");
  }
  if (format != "csv" && (!options.columns.empty() || !options.delimiter.empty())) {
    throw std::runtime_error("--columns and --delimiter apply to CSV/TSV logs only, not to the " + format +
                             " format");
  }

  // The report for reading `path`, or none.
  const auto reading = [&progress](const std::string& path) {
    return progress.reading ? progress.reading(path) : ProgressReport{};
  };
  InteractionLog log;
  if (format == "synthetic") {
    if (options.data != "synthetic") {
      throw std::runtime_error("--format synthetic generates its data: --data must be 'synthetic', got '" +
                               options.data + "'");
    }
    log = generate_synthetic(options.synthetic, progress.generating);
    log.source = "synthetic";
  } else if (format == "csv") {
    log = read_csv_log(options.data, parse_csv_layout(options.columns, options.delimiter), reading(options.data));
  } else if (format == "movielens") {
    log = read_movielens_csv(options.data, reading(options.data + "/ratings.csv"));
  } else if (format == "movielens-1m") {
    log = read_movielens_1m(options.data, reading(options.data + "/ratings.dat"));
  } else {
    log = read_movielens_100k(options.data, reading(options.data + "/u.data"));
  }

  if (!options.item_features.empty())
    read_item_features(options.item_features, log, reading(options.item_features));
  if (!options.user_features.empty())
    read_user_features(options.user_features, log, reading(options.user_features));
  log.duplicate_rows = count_duplicate_rows(log);
  return log;
}

}  // namespace mind::data
