// The training run behind mind_train: load the data, build the model, loop over batches
// (forward, backward, Adam), validate, keep the best checkpoint, stop early, evaluate on the
// test users, export. tools/mind_train.cpp only turns the command line into TrainOptions.
#pragma once
#include <ostream>
#include <stdexcept>

#include "data/diagnostics.h"
#include "data/metrics.h"
#include "train/options.h"

namespace mind::train {

struct TrainReport {
  int64_t steps = 0;
  int64_t epochs_completed = 0;
  double training_seconds = 0.0;
  double samples_per_second = 0.0;  // since the last validation (or from the 21st step with --max-steps)
  data::EvalResult test;
  data::InterestDiagnostics diagnostics;
  std::vector<double> first_losses;  // the first steps' losses (the golden end-to-end test)
  // SIGINT or SIGTERM stopped training: the state is saved for --resume, nothing was tested or
  // exported, and `test` is empty. Or the signal came during the export: the export was
  // finished, `test` is filled and the run is complete. 0 when no signal arrived.
  int interrupted_by_signal = 0;
};

// Training that hit a NaN/Inf, with the step and where it appeared.
class NonFiniteError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Runs everything; progress on stderr, results on `out`. Ctrl-C (SIGINT) or SIGTERM while
// training stops after the current step with a resumable state (see interrupted_by_signal). Throws std::runtime_error (or
// std::invalid_argument for bad options) with a message for the user.
TrainReport run_training(const TrainOptions& options, std::ostream& out);

}  // namespace mind::train
