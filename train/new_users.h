// Users the model never saw, for mind_recommend --history / --histories: their histories given
// as original item ids, mapped to the run's item indices. An id the run does not know cannot be
// embedded: it is skipped and counted, never guessed at.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "data/dataset.h"
#include "data/progress_report.h"

namespace mind::train {

struct NewUser {
  std::string id;
  std::vector<int32_t> items;  // item indices, oldest first
};

struct NewUsers {
  std::vector<NewUser> users;             // in order of first appearance, each with >= 1 known item
  int64_t unknown_items = 0;              // history entries skipped because the run lacks the item
  std::vector<std::string> unknown_ids;   // their distinct ids, in order of first appearance
  std::vector<std::string> empty_users;   // users left with no known item: nothing to embed, skipped
};

// "--history A,B,C": one new user ("(new user)"), items oldest first, separated by commas.
NewUsers parse_history_list(const std::string& list, const data::Dataset& data);

// A CSV or TSV with a header row naming the columns user and item, and optionally timestamp
// (decimal integers). Each user's rows are sorted by timestamp when the column is there (ties,
// and files without it, keep file order). Errors name the file and line. `progress` (optional) is
// told the bytes read (data/progress_report.h).
NewUsers read_histories_file(const std::string& path, const data::Dataset& data,
                             const data::ProgressReport& progress = {});

// What was skipped, for the user ("" when nothing was): counts and the first unknown ids.
std::string describe_skipped(const NewUsers& users, const std::string& source);

// "--profile FIELD=VALUE,FIELD=VALUE": the profile values given to new users, by field name.
// Throws naming --profile on a malformed text, an unknown field, or a value the run lacks.
std::vector<std::string> parse_profile(const std::string& text, const data::Dataset& data);

// Appends `user` to `data` as one more user (a sequence, an id, and a profile row). `profile`
// holds one value per profile field of the run ("" for a field not given: then the field's
// missing value "(missing)", the value of users without a row in the user features file).
// Returns its user index. Throws naming the field when neither is there.
int32_t append_new_user(data::Dataset& data, const NewUser& user, const std::vector<std::string>& profile);

}  // namespace mind::train
