// The files a practitioner takes away to a vector index (docs/design.md §6), in the output folder:
//   items.tsv, users.tsv          index<TAB>original_id, one row per dense index
//   item_embeddings.npy           [N, d] float32, row = item index (the vectors scores use)
//   user_interests.npy            [U, K, d] float32 for the test users; rows past a user's
//                                 live count are zero
//   user_interest_counts.npy      [U] int32
//   test_users.tsv                row<TAB>original_id (row of user_interests.npy)
#pragma once
#include <string>
#include <vector>

#include "data/dataset.h"
#include "train/evaluate.h"

namespace mind::train {

void export_id_maps(const std::string& folder, const data::Dataset& dataset);
void export_embeddings(const std::string& folder, const data::Dataset& dataset,
                       const std::vector<float>& item_vectors, int64_t width, const EncodedUsers& test_users);

}  // namespace mind::train
