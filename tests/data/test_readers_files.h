// Test helpers for the reader suites: a throw-away folder for hand-written input files, and
// the message of the error an action throws. Tests never read /work/shared.
#pragma once
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <functional>
#include <stdexcept>
#include <string>

namespace mind::data::testing {

// A fresh folder under the system temp dir (unique per process and per instance), removed
// with everything in it when the test ends.
class TempFolder {
 public:
  TempFolder() {
    static std::atomic<int> counter{0};
    path_ = std::filesystem::temp_directory_path() /
            ("mind_readers_test_" + std::to_string(::getpid()) + "_" + std::to_string(counter++));
    std::filesystem::remove_all(path_);
    std::filesystem::create_directories(path_);
  }
  ~TempFolder() {
    std::error_code error;
    std::filesystem::remove_all(path_, error);
  }
  TempFolder(const TempFolder&) = delete;
  TempFolder& operator=(const TempFolder&) = delete;

  std::string path() const { return path_.string(); }

  // Writes `content` byte for byte (no newline translation) to `name` in the folder.
  std::string write(const std::string& name, const std::string& content) const {
    const std::filesystem::path file = path_ / name;
    std::ofstream stream(file, std::ios::binary);
    stream << content;
    return file.string();
  }

 private:
  std::filesystem::path path_;
};

// The what() of the std::runtime_error thrown by `action`, or "(no error)" if none is thrown.
inline std::string error_of(const std::function<void()>& action) {
  try {
    action();
  } catch (const std::runtime_error& error) {
    return error.what();
  }
  return "(no error)";
}

// True if `text` contains `part`; used with CHECK so a failure prints both strings.
inline bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

}  // namespace mind::data::testing
