// Fuzzes the MovieLens CSV layout (ratings.csv, then movies.csv) reader, read_movielens_csv.
// Input: the files of one folder in that order, separated by "\n@@@\n"; a file the input does
// not reach is absent from the folder (the metadata files are optional).
#include <cstddef>
#include <cstdint>
#include <exception>
#include <string>
#include <string_view>
#include <vector>

#include "data/readers.h"
#include "fuzz/fuzz_support.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  const std::vector<std::string_view> parts = mind::fuzz::split_files(input, 2);
  const std::filesystem::path& folder = mind::fuzz::scratch_folder("movielens_csv");
  mind::fuzz::write_folder(folder, {"ratings.csv", "movies.csv"}, parts);
  mind::data::InteractionLog log;
  try {
    log = mind::data::read_movielens_csv(folder.string());
  } catch (const std::exception&) {
    return 0;  // a clear error is a correct outcome
  }
  mind::fuzz::check_log(log, mind::fuzz::count_lines(parts[0]), true);
  // MovieLens ids are integers.
  for (const std::string& id : log.user_ids) mind::fuzz::require(id.find_first_not_of("0123456789") == std::string::npos);
  for (const std::string& id : log.item_ids) mind::fuzz::require(id.find_first_not_of("0123456789") == std::string::npos);
  return 0;
}
