// Writing the run folder's serving files (train/export.h, docs/run_folder.md).
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

std::string id_table(const char* first_column, const char* second_column, const std::vector<std::string>& values) {
  std::string text = std::string(first_column) + "\t" + second_column + "\n";
  for (size_t i = 0; i < values.size(); ++i) text += std::to_string(i) + "\t" + values[i] + "\n";
  return text;
}

// Lists of indices as CSR: offsets [lists + 1] (int64, numpy's default integer), values int32.
void write_lists(const std::string& offsets_path, const std::string& values_path,
                 const std::vector<std::vector<int32_t>>& lists) {
  std::vector<int64_t> offsets = {0};  // [lists + 1]
  std::vector<int32_t> values;         // [total]
  for (const std::vector<int32_t>& list : lists) {
    values.insert(values.end(), list.begin(), list.end());
    offsets.push_back(static_cast<int64_t>(values.size()));
  }
  io::save_npy_int64(offsets_path, {static_cast<int64_t>(offsets.size())}, offsets);
  io::save_npy_int32(values_path, {static_cast<int64_t>(values.size())}, values);
}

}  // namespace

std::vector<std::string> export_serving_data(const std::string& folder, const data::Dataset& dataset) {
  std::vector<std::string> written = {"items.tsv", "users.tsv", "categories.tsv", "item_category_offsets.npy",
                                      "item_category_indices.npy", "user_history_offsets.npy",
                                      "user_history_items.npy"};
  write_text(folder + "/items.tsv", id_table("index", "original_id", dataset.item_original_ids));
  write_text(folder + "/users.tsv", id_table("index", "original_id", dataset.user_original_ids));
  write_text(folder + "/categories.tsv", id_table("index", "name", dataset.category_names));
  // A catalogue without categories still gets its (empty) lists, so that every item has a row.
  std::vector<std::vector<int32_t>> item_categories = dataset.item_categories;
  item_categories.resize(dataset.item_count);
  write_lists(folder + "/item_category_offsets.npy", folder + "/item_category_indices.npy", item_categories);
  write_lists(folder + "/user_history_offsets.npy", folder + "/user_history_items.npy", dataset.sequences);
  if (!dataset.item_titles.empty()) {
    // A title may hold tabs or line breaks (quoted CSV fields); the table cannot.
    std::vector<std::string> titles = dataset.item_titles;
    for (std::string& title : titles)
      for (char& character : title)
        if (character == '\t' || character == '\n' || character == '\r') character = ' ';
    write_text(folder + "/item_titles.tsv", id_table("index", "title", titles));
    written.push_back("item_titles.tsv");
  }
  if (dataset.field_count() > 0) {
    std::string text = "field_index\tfield_name\tvalue_index\tvalue\n";
    for (int64_t field = 0; field < dataset.field_count(); ++field)
      for (size_t value = 0; value < dataset.profile_values[field].size(); ++value)
        text += std::to_string(field) + "\t" + dataset.profile_field_names[field] + "\t" + std::to_string(value) +
                "\t" + dataset.profile_values[field][value] + "\n";
    write_text(folder + "/profile_fields.tsv", text);
    io::save_npy_int32(folder + "/user_profile.npy", {dataset.user_count, dataset.field_count()},
                       dataset.user_profile);
    written.push_back("profile_fields.tsv");
    written.push_back("user_profile.npy");
  }
  return written;
}

std::vector<data::EvalUser> whole_sequence_users(const data::Dataset& dataset) {
  std::vector<data::EvalUser> users;
  users.reserve(dataset.user_count);
  for (int64_t user = 0; user < dataset.user_count; ++user)
    users.push_back({static_cast<int32_t>(user), static_cast<int32_t>(dataset.sequences[user].size()), {}});
  return users;
}

std::vector<std::string> export_run(const std::string& folder, const data::Dataset& dataset,
                                    const models::Model& model, const EncodedUsers& test_users, int64_t batch_size,
                                    const data::ProgressReport& progress) {
  std::vector<std::string> written = export_serving_data(folder, dataset);
  const int64_t width = model.config().dim;
  io::save_npy_float32(folder + "/item_embeddings.npy", {dataset.item_count, width}, item_vectors(model));

  const int64_t test_count = static_cast<int64_t>(test_users.users.size());
  io::save_npy_float32(folder + "/user_interests.npy", {test_count, test_users.interest_count, width},
                       test_users.interests);
  io::save_npy_int32(folder + "/user_interest_counts.npy", {test_count}, test_users.counts);
  std::vector<std::string> test_ids;
  for (const data::EvalUser& user : test_users.users) test_ids.push_back(dataset.user_original_ids[user.user]);
  write_text(folder + "/test_users.tsv", id_table("row", "original_id", test_ids));

  const BetweenBatches report = !progress ? BetweenBatches() : [&progress](int64_t done, int64_t total) {
    progress(static_cast<uint64_t>(done), static_cast<uint64_t>(total));
    return true;  // never stopped
  };
  const EncodedUsers all_users = encode_users(model, dataset, whole_sequence_users(dataset), batch_size, report);
  io::save_npy_float32(folder + "/all_user_interests.npy", {dataset.user_count, all_users.interest_count, width},
                       all_users.interests);
  const std::vector<int64_t> counts(all_users.counts.begin(), all_users.counts.end());  // [U]
  io::save_npy_int64(folder + "/all_user_interest_counts.npy", {dataset.user_count}, counts);
  write_text(folder + "/all_users.tsv", id_table("row", "original_id", dataset.user_original_ids));
  for (const char* name : {"item_embeddings.npy", "user_interests.npy", "user_interest_counts.npy", "test_users.tsv",
                           "all_user_interests.npy", "all_user_interest_counts.npy", "all_users.tsv"})
    written.push_back(name);
  return written;
}

uint64_t export_bytes(const data::Dataset& dataset, const models::ModelConfig& config) {
  const uint64_t interest_rows =
      static_cast<uint64_t>(dataset.test_users.size() + dataset.user_count) * static_cast<uint64_t>(config.interests);
  const uint64_t vectors = (static_cast<uint64_t>(dataset.item_count) + interest_rows) * config.dim * 4;
  return vectors + static_cast<uint64_t>(dataset.interaction_count) * 4 + static_cast<uint64_t>(dataset.user_count) * 8;
}

}  // namespace mind::train
