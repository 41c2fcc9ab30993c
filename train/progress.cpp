// The progress line.
#include "train/progress.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <unistd.h>

namespace mind::train {

namespace {
std::string clock_text(double seconds) {
  const int64_t total = static_cast<int64_t>(seconds + 0.5);
  char text[32];
  std::snprintf(text, sizeof(text), "%lld:%02lld", static_cast<long long>(total / 60), static_cast<long long>(total % 60));
  return text;
}

// "  loss 5.4321", or nothing when there is no loss to show.
std::string loss_text(double loss, const char* prefix) {
  if (std::isnan(loss)) return "";
  char text[48];
  std::snprintf(text, sizeof(text), "%s%.4f", prefix, loss);
  return text;
}
}  // namespace

Progress::Progress(bool quiet, double plain_interval_seconds)
    : quiet_(quiet), terminal_(isatty(fileno(stderr)) != 0), plain_interval_(plain_interval_seconds) {}

void Progress::start(const std::string& label, int64_t total, const std::string& unit, const std::string& rate_unit,
                     double silent_seconds) {
  finish();
  silent_seconds_ = silent_seconds;
  label_ = label;
  unit_ = unit;
  rate_unit_ = rate_unit;
  total_ = total;
  shown_ = false;
  started_ = last_print_ = std::chrono::steady_clock::now();
}

void Progress::update(int64_t done, double rate, double loss) {
  if (quiet_ || total_ <= 0) return;
  const auto now = std::chrono::steady_clock::now();
  const double since_print = std::chrono::duration<double>(now - last_print_).count();
  const double elapsed = std::chrono::duration<double>(now - started_).count();
  if (elapsed < silent_seconds_) return;
  const double fraction = static_cast<double>(done) / static_cast<double>(total_);
  const double eta = fraction > 0 ? elapsed * (1.0 - fraction) / fraction : 0.0;
  if (terminal_) {
    if (since_print < 0.1 && done < total_) return;  // redraw at most 10 times a second
    const int width = 24;
    const int filled = static_cast<int>(fraction * width);
    std::string bar(filled, '#');
    bar += std::string(width - filled, '.');
    std::fprintf(stderr, "\r%s [%s] %3d%%  %8.0f %s/s  ETA %s%s ", label_.c_str(), bar.c_str(),
                 static_cast<int>(fraction * 100), rate, rate_unit_.c_str(), clock_text(eta).c_str(),
                 loss_text(loss, "  loss ").c_str());
    line_open_ = true;
  } else {
    const bool first_after_silence = silent_seconds_ > 0.0 && !shown_;
    if (!first_after_silence && since_print < plain_interval_ && done < total_) return;
    std::fprintf(stderr, "%s: %lld/%lld %s, %.0f %s/s, ETA %s%s\n", label_.c_str(), static_cast<long long>(done),
                 static_cast<long long>(total_), unit_.c_str(), rate, rate_unit_.c_str(), clock_text(eta).c_str(),
                 loss_text(loss, ", loss ").c_str());
  }
  std::fflush(stderr);
  shown_ = true;
  last_print_ = now;
}

void Progress::finish() {
  if (line_open_) std::fprintf(stderr, "\n");
  line_open_ = false;
}

data::ProgressReport reading_progress(Progress& progress, const std::string& label, double silent_seconds) {
  const std::chrono::steady_clock::time_point start = std::chrono::steady_clock::now();
  return [&progress, label, silent_seconds, start, started = false](uint64_t done, uint64_t total) mutable {
    if (total == 0) return;
    constexpr uint64_t mebibyte = uint64_t{1} << 20;
    // Rounded up, so that the last block reads "95/95 MiB".
    const int64_t done_mebibytes = static_cast<int64_t>((done + mebibyte - 1) / mebibyte);
    const int64_t total_mebibytes = static_cast<int64_t>((total + mebibyte - 1) / mebibyte);
    if (!started) {
      progress.start(label, total_mebibytes, "MiB", "MiB", silent_seconds);
      started = true;
    }
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    progress.update(done_mebibytes, static_cast<double>(done) / mebibyte / std::max(1e-9, seconds), NAN);
  };
}

data::ProgressReport counting_progress(Progress& progress, const std::string& label, const std::string& unit,
                                       double silent_seconds) {
  const std::chrono::steady_clock::time_point start = std::chrono::steady_clock::now();
  return [&progress, label, unit, silent_seconds, start, started = false](uint64_t done, uint64_t total) mutable {
    if (!started) {
      progress.start(label, static_cast<int64_t>(total), unit, unit, silent_seconds);
      started = true;
    }
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    progress.update(static_cast<int64_t>(done), static_cast<double>(done) / std::max(1e-9, seconds), NAN);
  };
}

data::LoadProgress loading_progress(Progress& progress, double silent_seconds) {
  data::LoadProgress report;
  report.reading = [&progress, silent_seconds](const std::string& path) {
    return reading_progress(progress, "loading " + path, silent_seconds);
  };
  report.generating = counting_progress(progress, "generating the synthetic dataset", "users", silent_seconds);
  return report;
}

}  // namespace mind::train
