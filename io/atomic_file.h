// Writing a file so that readers only ever see the old version or the complete new one: bytes
// go to `<path>.tmp-<pid>`, are flushed to disk, then renamed over `path` (rename is atomic).
// Not a buffered stream: callers hand it a few large blocks (a header, each tensor's data).
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>

namespace mind::io {

class AtomicFileWriter {
 public:
  // Creates (or truncates) the temporary file beside `path`; throws naming it if that fails.
  explicit AtomicFileWriter(const std::string& path);
  // Without a successful commit() (an exception on the way, say) the temporary file is removed
  // and `path` keeps its previous content.
  ~AtomicFileWriter();
  AtomicFileWriter(const AtomicFileWriter&) = delete;
  AtomicFileWriter& operator=(const AtomicFileWriter&) = delete;

  void write(const void* data, size_t byte_count);

  // fsync the data, close, rename over `path`, then fsync the directory so that the rename
  // itself survives a power cut. Throws naming the path and the system's reason on failure.
  void commit();

  const std::string& temporary_path() const { return temporary_path_; }

 private:
  void discard() noexcept;

  std::string path_;
  std::string temporary_path_;
  int descriptor_ = -1;
  int64_t bytes_written_ = 0;
  bool committed_ = false;
};

// Test-only fault injection: once `byte_count` bytes have gone into a temporary file, the next
// write that would go past it writes up to the limit and then throws, as a full disk would.
// Applies to every AtomicFileWriter until called again with -1 (off, the default).
void set_write_failure_after_bytes_for_testing(int64_t byte_count);

}  // namespace mind::io
