// The files a finished run leaves for serving and for other tools (docs/run_folder.md has the
// full format). Row u of every per-user file is user index u of users.tsv; item indices are rows
// of items.tsv. Every TSV starts with a header row.
//   items.tsv, users.tsv             index<TAB>original_id (users.tsv: every user of the log)
//   categories.tsv                   index<TAB>name, the model's category vocabulary
//   item_titles.tsv                  index<TAB>title (when the data has titles)
//   item_category_offsets.npy        int64 [N+1]  } item i's categories are
//   item_category_indices.npy        int32 [nnz]  } indices[offsets[i]:offsets[i+1]]
//   user_history_offsets.npy         int64 [U+1]  } user u's whole sequence, oldest first, is
//   user_history_items.npy           int32 [total]} items[offsets[u]:offsets[u+1]]
//   profile_fields.tsv               field_index<TAB>field_name<TAB>value_index<TAB>value
//   user_profile.npy                 int32 [U, F] (both only when the data has profile fields)
// and, from the model (export_run):
//   item_embeddings.npy              [N, d] float32, row = item index (the vectors scores use)
//   user_interests.npy               [T, K, d] float32 for the test users; rows past a user's
//                                    live count are zero
//   user_interest_counts.npy         [T] int32
//   test_users.tsv                   row<TAB>original_id (row of user_interests.npy)
//   all_user_interests.npy           [U, K, d] float32 for every user, from the last L items of
//                                    the whole sequence (what mind_recommend feeds the model)
//   all_user_interest_counts.npy     [U] int64
//   all_users.tsv                    row<TAB>original_id (row of all_user_interests.npy)
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "data/dataset.h"
#include "data/progress_report.h"
#include "models/model.h"
#include "train/evaluate.h"

namespace mind::train {

// What serving needs from the data: the id maps, categories, titles, histories and profiles.
// Writes everything above that does not come from the model; returns the file names written.
std::vector<std::string> export_serving_data(const std::string& folder, const data::Dataset& dataset);

// The data files above, then the model's vectors: the item embeddings, the test users'
// interests (`test_users`, already encoded by the test evaluation), and every user's interests,
// encoded here `batch_size` users at a time; `progress` (optional) is told the users encoded.
// The export is never cut short (a signal waits for its end). Returns the file names written.
std::vector<std::string> export_run(const std::string& folder, const data::Dataset& dataset,
                                    const models::Model& model, const EncodedUsers& test_users, int64_t batch_size,
                                    const data::ProgressReport& progress = {});

// Every user of the dataset with the whole sequence as history: what serving feeds the model.
std::vector<data::EvalUser> whole_sequence_users(const data::Dataset& dataset);

// The bytes export_run writes, roughly (for the free-space check before training).
uint64_t export_bytes(const data::Dataset& dataset, const models::ModelConfig& config);

}  // namespace mind::train
