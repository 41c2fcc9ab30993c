// The atomic writer over POSIX calls (open/write/fsync/rename): the standard streams neither
// fsync nor report why a write failed, and both matter for a checkpoint.
#include "io/atomic_file.h"

#include <atomic>
#include <cerrno>
#include <filesystem>
#include <stdexcept>
#include <system_error>

#include <fcntl.h>
#include <unistd.h>

namespace mind::io {

namespace {

std::atomic<int64_t> write_failure_after_bytes{-1};

std::string system_reason(int error_number) { return std::system_category().message(error_number); }

}  // namespace

void set_write_failure_after_bytes_for_testing(int64_t byte_count) {
  write_failure_after_bytes.store(byte_count);
}

AtomicFileWriter::AtomicFileWriter(const std::string& path)
    : path_(path), temporary_path_(path + ".tmp-" + std::to_string(::getpid())) {
  descriptor_ = ::open(temporary_path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666);
  if (descriptor_ < 0) {
    throw std::runtime_error(temporary_path_ + ": cannot create the temporary file for " + path_ +
                             ": " + system_reason(errno));
  }
}

AtomicFileWriter::~AtomicFileWriter() {
  if (!committed_) discard();
}

void AtomicFileWriter::discard() noexcept {
  if (descriptor_ >= 0) {
    ::close(descriptor_);
    descriptor_ = -1;
  }
  ::unlink(temporary_path_.c_str());
}

void AtomicFileWriter::write(const void* data, size_t byte_count) {
  if (descriptor_ < 0) {
    throw std::runtime_error(temporary_path_ + ": write after the file was committed or failed");
  }
  size_t allowed_count = byte_count;
  const int64_t failure_limit = write_failure_after_bytes.load();
  const bool simulate_failure =
      failure_limit >= 0 && bytes_written_ + static_cast<int64_t>(byte_count) > failure_limit;
  if (simulate_failure) allowed_count = static_cast<size_t>(failure_limit - bytes_written_);

  const char* cursor = static_cast<const char*>(data);
  size_t remaining = allowed_count;
  // write() may take fewer bytes than asked (signals, files over 2 GB): loop until all are out.
  while (remaining > 0) {
    const ssize_t written = ::write(descriptor_, cursor, remaining);
    if (written < 0) {
      if (errno == EINTR) continue;
      const int error_number = errno;
      discard();
      throw std::runtime_error(temporary_path_ + ": cannot write (saving " + path_ +
                               "): " + system_reason(error_number));
    }
    cursor += written;
    remaining -= static_cast<size_t>(written);
    bytes_written_ += written;
  }
  if (simulate_failure) {
    discard();
    throw std::runtime_error(temporary_path_ + ": simulated write failure after " +
                             std::to_string(failure_limit) +
                             " bytes (set_write_failure_after_bytes_for_testing)");
  }
}

void AtomicFileWriter::commit() {
  if (descriptor_ < 0) {
    throw std::runtime_error(temporary_path_ + ": commit after the file was committed or failed");
  }
  if (::fsync(descriptor_) != 0) {
    const int error_number = errno;
    discard();
    throw std::runtime_error(temporary_path_ + ": cannot flush to disk (saving " + path_ +
                             "): " + system_reason(error_number));
  }
  // close() can report a delayed write error (NFS, quotas), so its result counts too.
  const int close_result = ::close(descriptor_);
  descriptor_ = -1;
  if (close_result != 0) {
    const int error_number = errno;
    discard();
    throw std::runtime_error(temporary_path_ + ": cannot close (saving " + path_ +
                             "): " + system_reason(error_number));
  }
  if (::rename(temporary_path_.c_str(), path_.c_str()) != 0) {
    const int error_number = errno;
    discard();
    throw std::runtime_error(path_ + ": cannot rename " + temporary_path_ +
                             " over it: " + system_reason(error_number));
  }
  committed_ = true;

  // The new name lives in the directory: fsync it so the rename is durable. The file is already
  // complete and in place, and some file systems refuse fsync on a directory, so a failure here
  // is not an error.
  const std::filesystem::path parent = std::filesystem::path(path_).parent_path();
  const std::string directory = parent.empty() ? std::string(".") : parent.string();
  const int directory_descriptor = ::open(directory.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (directory_descriptor >= 0) {
    ::fsync(directory_descriptor);
    ::close(directory_descriptor);
  }
}

}  // namespace mind::io
