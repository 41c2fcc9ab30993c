// CSV export of a log: one small writer per file, RFC 4180 quoting where a field needs it.
#include "data/export_csv.h"

#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <vector>

namespace mind::data {

namespace {

// A field as CSV: quoted (with doubled quotes) only when it holds a comma, quote or line break.
std::string csv_field(const std::string& text) {
  if (text.find_first_of(",\"\r\n") == std::string::npos) return text;
  std::string quoted = "\"";
  for (char c : text) {
    if (c == '"') quoted += '"';
    quoted += c;
  }
  return quoted + "\"";
}

std::string join_category_names(const std::vector<uint32_t>& categories,
                                const std::vector<std::string>& names) {
  std::string joined;
  for (size_t i = 0; i < categories.size(); ++i) {
    if (i > 0) joined += '|';
    joined += names[categories[i]];
  }
  return joined;
}

std::ofstream open_for_writing(const std::filesystem::path& path) {
  std::ofstream file(path, std::ios::binary | std::ios::trunc);
  if (!file) throw std::runtime_error(path.string() + ": cannot open for writing");
  return file;
}

void finish(std::ofstream& file, const std::filesystem::path& path) {
  file.flush();
  if (!file) throw std::runtime_error(path.string() + ": write failed (disk full?)");
}

void check_category_indices(const std::vector<uint32_t>& categories, size_t name_count,
                            const std::string& owner) {
  for (uint32_t category : categories) {
    if (category >= name_count) {
      throw std::runtime_error("export_synthetic_csv: " + owner + " refers to category " +
                               std::to_string(category) + " of " + std::to_string(name_count));
    }
  }
}

}  // namespace

void export_synthetic_csv(const InteractionLog& log, const std::string& dir) {
  const std::filesystem::path folder(dir);
  std::error_code error;
  std::filesystem::create_directories(folder, error);
  if (error) throw std::runtime_error(dir + ": cannot create directory: " + error.message());

  const auto check_length = [&](size_t length, size_t expected, const char* table) {
    if (length != 0 && length != expected) {
      throw std::runtime_error("export_synthetic_csv: " + log.source + ": " + table + " has " +
                               std::to_string(length) + " entries, expected " +
                               std::to_string(expected));
    }
  };
  check_length(log.item_categories.size(), log.item_ids.size(), "item_categories");
  check_length(log.user_profile.size(), log.user_ids.size(), "user_profile");
  check_length(log.true_user_interests.size(), log.user_ids.size(), "true_user_interests");
  if (!log.user_profile.empty()) {
    check_length(log.profile_values.size(), log.profile_field_names.size(), "profile_values");
  }

  std::vector<uint8_t> user_seen(log.user_ids.size(), 0);  // [users] occurs in an interaction
  std::vector<uint8_t> item_seen(log.item_ids.size(), 0);  // [items]
  for (const Interaction& interaction : log.interactions) {
    if (interaction.user >= log.user_ids.size() || interaction.item >= log.item_ids.size()) {
      throw std::runtime_error("export_synthetic_csv: " + log.source +
                               " has an interaction with a user or item index out of range");
    }
    user_seen[interaction.user] = 1;
    item_seen[interaction.item] = 1;
  }

  const std::filesystem::path interactions_path = folder / "interactions.csv";
  std::ofstream interactions = open_for_writing(interactions_path);
  interactions << "user,item,timestamp\n";
  for (const Interaction& interaction : log.interactions) {
    interactions << csv_field(log.user_ids[interaction.user]) << ','
                 << csv_field(log.item_ids[interaction.item]) << ',' << interaction.timestamp
                 << '\n';
  }
  finish(interactions, interactions_path);

  if (!log.item_categories.empty()) {
    const std::filesystem::path path = folder / "item_categories.csv";
    std::ofstream file = open_for_writing(path);
    file << "item,categories\n";
    for (size_t item = 0; item < log.item_ids.size(); ++item) {
      if (!item_seen[item]) continue;
      check_category_indices(log.item_categories[item], log.category_names.size(),
                             "item '" + log.item_ids[item] + "'");
      file << csv_field(log.item_ids[item]) << ','
           << csv_field(join_category_names(log.item_categories[item], log.category_names)) << '\n';
    }
    finish(file, path);
  }

  if (!log.user_profile.empty()) {
    const std::filesystem::path path = folder / "users.csv";
    std::ofstream file = open_for_writing(path);
    file << "user";
    for (const std::string& field : log.profile_field_names) file << ',' << csv_field(field);
    file << '\n';
    for (size_t user = 0; user < log.user_ids.size(); ++user) {
      if (!user_seen[user]) continue;
      file << csv_field(log.user_ids[user]);
      const std::vector<uint32_t>& row = log.user_profile[user];
      for (size_t field = 0; field < log.profile_field_names.size(); ++field) {
        if (field >= row.size() || row[field] >= log.profile_values[field].size()) {
          throw std::runtime_error("export_synthetic_csv: the profile of user '" +
                                   log.user_ids[user] + "' has no valid value for field '" +
                                   log.profile_field_names[field] + "'");
        }
        file << ',' << csv_field(log.profile_values[field][row[field]]);
      }
      file << '\n';
    }
    finish(file, path);
  }

  if (!log.true_user_interests.empty()) {
    const std::filesystem::path path = folder / "user_interests.csv";
    std::ofstream file = open_for_writing(path);
    file << "user,interests\n";
    for (size_t user = 0; user < log.user_ids.size(); ++user) {
      if (!user_seen[user]) continue;
      check_category_indices(log.true_user_interests[user], log.category_names.size(),
                             "the planted interests of user '" + log.user_ids[user] + "'");
      file << csv_field(log.user_ids[user]) << ','
           << csv_field(join_category_names(log.true_user_interests[user], log.category_names))
           << '\n';
    }
    finish(file, path);
  }
}

}  // namespace mind::data
