// A finished run read back from its folder alone (the files of train/export.h, described in
// docs/run_folder.md): what mind_recommend serves from. Nothing here reads the training log, so
// a run folder keeps working after it is moved and the log is deleted.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "data/dataset.h"
#include "train/options.h"

namespace mind::train {

struct RunFolder {
  std::string folder;
  TrainOptions options;  // run.json: the model's configuration
  // The data as serving needs it: the id maps, the category vocabulary and each item's
  // categories, titles (when exported), the profile fields and each user's values, and every
  // user's whole sequence (oldest first). No split: user_split, train_users, valid_users,
  // test_users, frequencies and the synthetic truth stay empty.
  data::Dataset data;
};

// Reads run.json and the serving data files. Errors name --run when the folder or run.json is
// missing, and the file (with its line for text files) and the problem otherwise.
RunFolder read_run_folder(const std::string& folder);

// The model's vectors, as export_run wrote them.
struct ExportedVectors {
  int64_t width = 0;                   // d
  int64_t interest_count = 0;          // K
  std::vector<float> items;            // [N, d] item_embeddings.npy
  std::vector<float> user_interests;   // [U, K, d] all_user_interests.npy, row = user index
  std::vector<int32_t> user_counts;    // [U] live interests, all_user_interest_counts.npy
};

// Reads and checks item_embeddings.npy and, with `with_user_interests`, all_user_interests.npy
// and all_user_interest_counts.npy against the run's catalogue and users.
ExportedVectors read_exported_vectors(const RunFolder& run, bool with_user_interests = true);

}  // namespace mind::train
