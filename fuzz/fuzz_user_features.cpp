// Fuzzes the user features reader, read_user_features, applied to a small valid log
// (users u1, u2, u3 and items i1, i2, i3). Input: the features file.
#include <cstddef>
#include <cstdint>
#include <exception>
#include <string>
#include <string_view>
#include <vector>

#include "data/readers.h"
#include "fuzz/fuzz_support.h"

namespace {

// The log, read once: 4 interactions of 3 users with 3 items.
const mind::data::InteractionLog& small_log() {
  static const mind::data::InteractionLog log = [] {
    const std::string path = mind::fuzz::write_file(mind::fuzz::scratch_folder("user_features"), "log.csv",
                                                    "user,item,timestamp\nu1,i1,10\nu2,i2,20\nu1,i3,30\nu3,i1,40\n");
    return mind::data::read_csv_log(path, mind::data::CsvLayout());
  }();
  return log;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view file(reinterpret_cast<const char*>(data), size);
  mind::data::InteractionLog log = small_log();
  const std::string path = mind::fuzz::write_file(mind::fuzz::scratch_folder("user_features"), "features.csv", file);
  try {
    mind::data::read_user_features(path, log);
  } catch (const std::exception&) {
    return 0;  // a clear error is a correct outcome
  }
  mind::fuzz::check_log(log, 4);
  // The log itself is untouched.
  mind::fuzz::require(log.user_ids == small_log().user_ids && log.item_ids == small_log().item_ids);
  mind::fuzz::require(log.interactions.size() == small_log().interactions.size());
  mind::fuzz::require(!log.user_profile.empty());
  // Users without a row hold "(missing)" in every field, so each field has at least one value.
  for (const std::vector<std::string>& values : log.profile_values) mind::fuzz::require(!values.empty());
  return 0;
}
