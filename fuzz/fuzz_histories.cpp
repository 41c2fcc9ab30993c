// Fuzzes mind_recommend's new-user histories reader, read_histories_file, against a run that
// knows the items "1" to "20". Input: the histories file (CSV or TSV, header user,item[,timestamp]).
#include <cstddef>
#include <cstdint>
#include <exception>
#include <set>
#include <string>
#include <string_view>

#include "data/dataset.h"
#include "data/text_fields.h"
#include "fuzz/fuzz_support.h"
#include "train/new_users.h"

namespace {

constexpr int32_t known_items = 20;

// What the reader needs of a run: its item ids.
const mind::data::Dataset& small_run() {
  static const mind::data::Dataset data = [] {
    mind::data::Dataset dataset;
    dataset.item_count = known_items;
    for (int32_t item = 0; item < known_items; ++item) dataset.item_original_ids.push_back(std::to_string(item + 1));
    return dataset;
  }();
  return data;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view file(reinterpret_cast<const char*>(data), size);
  const std::string path = mind::fuzz::write_file(mind::fuzz::scratch_folder("histories"), "histories.csv", file);
  mind::train::NewUsers users;
  try {
    users = mind::train::read_histories_file(path, small_run());
  } catch (const std::exception&) {
    return 0;  // a clear error is a correct outcome
  }
  // Every user read has at least one known item, in range, and an id that keeps the text rule
  // (it goes into TSV rows); no id is listed twice, whether served or skipped.
  std::set<std::string> ids;
  for (const mind::train::NewUser& user : users.users) {
    mind::fuzz::require(!user.id.empty() && mind::data::text_rule_problem(user.id).empty());
    mind::fuzz::require(ids.insert(user.id).second);
    mind::fuzz::require(!user.items.empty());
    for (int32_t item : user.items) mind::fuzz::require(item >= 0 && item < known_items);
  }
  for (const std::string& id : users.empty_users) mind::fuzz::require(ids.insert(id).second);
  // Skipped item ids keep the rule too (they are printed), and are counted at least once each.
  for (const std::string& id : users.unknown_ids) mind::fuzz::require(!id.empty() && mind::data::text_rule_problem(id).empty());
  mind::fuzz::require(users.unknown_items >= static_cast<int64_t>(users.unknown_ids.size()));
  return 0;
}
