// Checks on --out: can we write there, and is there room for what the run will write.
#include "train/output_folder.h"

#include <sys/statvfs.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <stdexcept>

#include "io/atomic_file.h"

namespace mind::train {

void prepare_output_folder(const std::string& folder) {
  std::error_code error;
  std::filesystem::create_directories(folder, error);
  if (error) throw std::runtime_error("--out " + folder + ": cannot create the folder: " + error.message());
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
