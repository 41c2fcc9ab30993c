// Writing the id maps and the embeddings.
#include "train/export.h"

#include <string>

#include "io/atomic_file.h"
#include "io/npy.h"

namespace mind::train {

namespace {
void write_text(const std::string& path, const std::string& text) {
  io::AtomicFileWriter writer(path);
  writer.write(text.data(), text.size());
  writer.commit();
}

std::string id_table(const char* first_column, const std::vector<std::string>& ids) {
  std::string text = std::string(first_column) + "\toriginal_id\n";
  for (size_t i = 0; i < ids.size(); ++i) text += std::to_string(i) + "\t" + ids[i] + "\n";
  return text;
}
}  // namespace

void export_id_maps(const std::string& folder, const data::Dataset& dataset) {
  write_text(folder + "/items.tsv", id_table("index", dataset.item_original_ids));
  write_text(folder + "/users.tsv", id_table("index", dataset.user_original_ids));
}

void export_embeddings(const std::string& folder, const data::Dataset& dataset,
                       const std::vector<float>& item_vectors, int64_t width, const EncodedUsers& test_users) {
  io::save_npy_float32(folder + "/item_embeddings.npy", {dataset.item_count, width}, item_vectors);
  const int64_t user_count = static_cast<int64_t>(test_users.users.size());
  io::save_npy_float32(folder + "/user_interests.npy", {user_count, test_users.interest_count, width},
                       test_users.interests);
  io::save_npy_int32(folder + "/user_interest_counts.npy", {user_count}, test_users.counts);
  std::vector<std::string> original_ids;
  for (const data::EvalUser& user : test_users.users) original_ids.push_back(dataset.user_original_ids[user.user]);
  write_text(folder + "/test_users.tsv", id_table("row", original_ids));
}

}  // namespace mind::train
