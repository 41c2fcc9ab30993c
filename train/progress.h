// Progress of long work on stderr: on a terminal, one line redrawn in place
//   epoch 3/10 [#########.........]  45%  52 310 samples/s  ETA 0:12  loss 5.4321
// and otherwise (a log file, CI) a plain line every `plain_interval_seconds`.
#pragma once
#include <chrono>
#include <cstdint>
#include <string>

#include "data/load.h"
#include "data/progress_report.h"

namespace mind::train {

class Progress {
 public:
  explicit Progress(bool quiet, double plain_interval_seconds = 10.0);

  // A new phase of `total` units ("epoch 3/10", total = batches in the epoch). `unit` names
  // what is counted and `rate_unit` what the rate counts (mind_recommend: users and users).
  // Nothing is shown before `silent_seconds` have passed (a phase that is usually quick, such
  // as a validation, shows progress only when it is not); such a phase's first plain line comes
  // as soon as the silence ends, not a whole interval later.
  void start(const std::string& label, int64_t total, const std::string& unit = "batches",
             const std::string& rate_unit = "samples", double silent_seconds = 0.0);
  // `done` units so far; `rate` in rate units per second; `loss` the running mean (NaN: none).
  void update(int64_t done, double rate, double loss);
  // Ends the in-place line (before other output).
  void finish();

 private:
  bool quiet_;
  bool terminal_;
  double plain_interval_;
  std::string label_;
  std::string unit_, rate_unit_;
  int64_t total_ = 0;
  double silent_seconds_ = 0.0;
  bool line_open_ = false;
  bool shown_ = false;  // this phase has printed something
  std::chrono::steady_clock::time_point started_, last_print_;
};

// A data::ProgressReport that shows the reading of a file on `progress` as MiB read of the file's
// size under `label`, once it has taken `silent_seconds`. A file of unknown size (a pipe) shows
// nothing. Call progress.finish() when the reading is over.
data::ProgressReport reading_progress(Progress& progress, const std::string& label, double silent_seconds = 2.0);

// A data::ProgressReport that shows work counted in `unit` (users, interests) on `progress`
// under `label`, once it has taken `silent_seconds`. Call progress.finish() when it is over.
data::ProgressReport counting_progress(Progress& progress, const std::string& label, const std::string& unit,
                                       double silent_seconds = 2.0);

// What load_interactions reports, shown on `progress`: "loading PATH" for each file read and
// "generating the synthetic dataset" in users, each once it has taken `silent_seconds`. Call
// progress.finish() when loading is over.
data::LoadProgress loading_progress(Progress& progress, double silent_seconds = 2.0);

}  // namespace mind::train
