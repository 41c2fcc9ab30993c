// The progress lines of train/progress.h as a log file sees them (stderr not a terminal): the
// reading of a log shows MiB read of the file's size, a phase that starts silent prints its first
// line as soon as the silence ends, and nothing at all when it ends within the silence; counted
// work shows its unit, and loading names each file it reads.
#include <doctest/doctest.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <sstream>
#include <string>
#include <thread>
#include <unistd.h>

#include "train/progress.h"

using namespace mind;

namespace {

constexpr uint64_t mebibyte = uint64_t{1} << 20;

// What `action` writes to stderr, which is a file meanwhile (so Progress prints plain lines).
std::string stderr_of(const std::function<void()>& action) {
  const std::string path = (std::filesystem::temp_directory_path() /
                            ("mind_progress_test_" + std::to_string(::getpid()) + ".txt")).string();
  std::fflush(stderr);
  const int saved = ::dup(fileno(stderr));
  REQUIRE(std::freopen(path.c_str(), "w", stderr) != nullptr);
  action();
  std::fflush(stderr);
  ::dup2(saved, fileno(stderr));
  ::close(saved);
  std::ifstream file(path);
  std::stringstream text;
  text << file.rdbuf();
  std::filesystem::remove(path);
  return text.str();
}

}  // namespace

TEST_CASE("progress: reading a log shows MiB read once the silence has passed, then the end") {
  const std::string text = stderr_of([] {
    train::Progress progress(false);
    const data::ProgressReport report = train::reading_progress(progress, "loading big.csv", 0.01);
    report(mebibyte, 7 * mebibyte / 2);  // within the silence: nothing
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    report(2 * mebibyte, 7 * mebibyte / 2);  // the first line after the silence
    report(3 * mebibyte, 7 * mebibyte / 2);  // within the 10 s interval: nothing
    report(7 * mebibyte / 2, 7 * mebibyte / 2);  // the end is always shown
    progress.finish();
  });
  INFO(text);
  CHECK(text.find("loading big.csv: 1/4 MiB") == std::string::npos);
  CHECK(text.find("loading big.csv: 2/4 MiB, ") != std::string::npos);
  CHECK(text.find("loading big.csv: 3/4 MiB") == std::string::npos);
  CHECK(text.find("loading big.csv: 4/4 MiB, ") != std::string::npos);
  CHECK(std::count(text.begin(), text.end(), '\n') == 2);
}

TEST_CASE("progress: a quick read, a pipe and --quiet show nothing") {
  const std::string text = stderr_of([] {
    train::Progress progress(false);
    const data::ProgressReport quick = train::reading_progress(progress, "quick", 60.0);
    quick(mebibyte, 2 * mebibyte);
    quick(2 * mebibyte, 2 * mebibyte);
    train::Progress pipe_progress(false);
    const data::ProgressReport pipe = train::reading_progress(pipe_progress, "pipe", 0.0);
    pipe(mebibyte, 0);  // size unknown
    train::Progress quiet(true);
    const data::ProgressReport silenced = train::reading_progress(quiet, "quiet", 0.0);
    silenced(mebibyte, mebibyte);
  });
  CHECK(text.empty());
}

TEST_CASE("progress: counted work (users generated, exported) shows its count and unit") {
  const std::string text = stderr_of([] {
    train::Progress progress(false);
    const data::ProgressReport report = train::counting_progress(progress, "generating the synthetic dataset", "users", 0.01);
    report(4096, 600000);  // within the silence: nothing
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    report(8192, 600000);  // the first line after the silence
    report(12288, 600000);  // within the 10 s interval: nothing
    report(600000, 600000);  // the end is always shown
    progress.finish();
  });
  INFO(text);
  CHECK(text.find("generating the synthetic dataset: 4096/") == std::string::npos);
  CHECK(text.find("generating the synthetic dataset: 8192/600000 users, ") != std::string::npos);
  CHECK(text.find("12288/") == std::string::npos);
  CHECK(text.find("generating the synthetic dataset: 600000/600000 users, ") != std::string::npos);
  CHECK(std::count(text.begin(), text.end(), '\n') == 2);
}

TEST_CASE("progress: loading shows each file it reads, and the generator, under its own name") {
  const std::string text = stderr_of([] {
    train::Progress progress(false);
    const data::LoadProgress loading = train::loading_progress(progress, 0.0);
    const data::ProgressReport log = loading.reading("big.csv");
    log(mebibyte, 3 * mebibyte);  // within the 10 s interval: nothing
    log(3 * mebibyte, 3 * mebibyte);
    const data::ProgressReport items = loading.reading("items.csv");
    items(2 * mebibyte, 2 * mebibyte);
    loading.generating(6000, 6000);
    progress.finish();
  });
  INFO(text);
  CHECK(text.find("loading big.csv: 1/3 MiB") == std::string::npos);
  CHECK(text.find("loading big.csv: 3/3 MiB, ") != std::string::npos);
  CHECK(text.find("loading items.csv: 2/2 MiB, ") != std::string::npos);
  CHECK(text.find("generating the synthetic dataset: 6000/6000 users, ") != std::string::npos);
  CHECK(std::count(text.begin(), text.end(), '\n') == 3);
}
