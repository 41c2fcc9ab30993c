// Checks on --out: can we write there, and is there room for what the run will write.
#include "train/output_folder.h"

#include <sys/statvfs.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <stdexcept>

#include "io/atomic_file.h"

namespace mind::train {

const std::vector<std::string>& run_file_names() {
  static const std::vector<std::string> names = {
      // the run's state (trainer, checkpoint.h) and its logs
      "run.json", "checkpoint.safetensors", "best.safetensors", "optimizer.safetensors", "train_state.json",
      "metrics.jsonl", "test_metrics_by_user.tsv",
      // serving data and the model's vectors (export.h)
      "items.tsv", "users.tsv", "categories.tsv", "item_category_offsets.npy", "item_category_indices.npy",
      "user_history_offsets.npy", "user_history_items.npy", "item_titles.tsv", "profile_fields.tsv",
      "user_profile.npy", "item_embeddings.npy", "user_interests.npy", "user_interest_counts.npy", "test_users.tsv",
      "all_user_interests.npy", "all_user_interest_counts.npy", "all_users.tsv",
      // a save of the resume files on its way into place (resume_files.h)
      "checkpoint.safetensors.next", "optimizer.safetensors.next", "train_state.json.next", "resume.commit",
      // the writability probe below
      ".write-test"};
  return names;
}

bool is_run_file(const std::string& name) {
  for (const std::string& run_file : run_file_names()) {
    if (name == run_file) return true;
    const std::string temporary = run_file + ".tmp-";  // io/atomic_file.h: PATH.tmp-PID
    if (name.rfind(temporary, 0) == 0 && name.size() > temporary.size() &&
        name.find_first_not_of("0123456789", temporary.size()) == std::string::npos)
      return true;
  }
  return false;
}

namespace {

// The folder's entries, sorted (so the one a message names does not depend on the file system).
std::vector<std::string> entries_of(const std::string& folder) {
  std::vector<std::string> names;
  for (const std::filesystem::directory_entry& entry : std::filesystem::directory_iterator(folder))
    names.push_back(entry.path().filename().string());
  std::sort(names.begin(), names.end());
  return names;
}

// Refuses a folder that holds a run (unless resumed or overwritten) or anything else; removes the
// old run's files for --overwrite.
void check_existing_files(const std::string& folder, OutputUse use) {
  const std::vector<std::string> names = entries_of(folder);
  if (use != OutputUse::resume)
    for (const std::string& name : names)
      if (!is_run_file(name))
        throw std::runtime_error("--out " + folder + ": the folder holds " + name +
                                 ", which mind_train did not write; choose a new or empty folder");
  const bool holds_run = !names.empty();  // every entry is a run file by now (or we resume)
  if (use == OutputUse::fresh && holds_run)
    throw std::runtime_error("--out " + folder + " already holds a run (" + names.front() +
                             "); continue it with --resume " + folder + ", replace it with --overwrite, or choose "
                             "another --out");
  if (use == OutputUse::overwrite)
    for (const std::string& name : names) {
      std::error_code error;
      std::filesystem::remove(std::filesystem::path(folder) / name, error);
      if (error) throw std::runtime_error("--overwrite: cannot remove " + folder + "/" + name + ": " + error.message());
    }
}

}  // namespace

void prepare_output_folder(const std::string& folder, OutputUse use) {
  std::error_code error;
  std::filesystem::create_directories(folder, error);
  if (error) throw std::runtime_error("--out " + folder + ": cannot create the folder: " + error.message());
  check_existing_files(folder, use);
  const std::string probe = folder + "/.write-test";
  try {
    io::AtomicFileWriter writer(probe);
    const char byte = 0;
    writer.write(&byte, 1);
    writer.commit();
  } catch (const std::exception& failure) {
    throw std::runtime_error("--out " + folder + ": the folder is not writable: " + failure.what());
  }
  std::filesystem::remove(probe, error);
}

namespace {
std::string megabytes(uint64_t bytes) {
  return std::to_string((bytes + (1u << 20) - 1) >> 20) + " MiB";
}
}  // namespace

void require_free_space(const std::string& folder, uint64_t bytes_needed) {
  struct statvfs file_system {};
  if (statvfs(folder.c_str(), &file_system) != 0)
    throw std::runtime_error("--out " + folder + ": cannot read the free space: " + std::strerror(errno));
  // f_bavail: blocks free for an unprivileged user (root's reserve is not counted on).
  const uint64_t available = static_cast<uint64_t>(file_system.f_bavail) * file_system.f_frsize;
  if (available < bytes_needed)
    throw std::runtime_error("--out " + folder + ": only " + megabytes(available) + " free there, and this run writes " +
                             "about " + megabytes(bytes_needed) + " (checkpoints, optimizer state, embeddings); " +
                             "free some space or choose another --out");
}

}  // namespace mind::train
