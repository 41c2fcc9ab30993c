// Everything a training run is told: the data, the model, and how to train. Filled by
// tools/mind_train.cpp from the command line; saved as run.json in the output folder so that
// mind_recommend and --resume see exactly what the run saw. Each member's flag, range, help and
// run.json key are declared once, in train/option_table.cpp.
#pragma once
#include <nlohmann/json_fwd.hpp>

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "data/load.h"
#include "models/model.h"

namespace mind::train {

struct InputFile;  // train/input_files.h

struct TrainOptions {
  data::DataOptions data;
  models::ModelConfig model;
  int64_t batch_size = 128;      // B
  int64_t epochs = 5;            // total, counting epochs of a resumed run
  int64_t max_steps = 0;         // stop after this many steps (0: no limit); a timing mode
  float learning_rate = 1e-3f;
  float clip_norm = 0.0f;        // clip gradients to this global norm (0: off)
  float weight_decay = 0.0f;     // λ of Adam's decoupled weight decay (0: off)
  uint64_t seed = 1;
  int64_t threads = 0;           // OpenMP threads (0: all cores)
  int64_t eval_every = 0;        // validate every N steps (0: after every epoch)
  int64_t patience = 2;          // stop after this many validations without a better Recall@50 (0: never)
  bool exclude_history = true;   // candidates exclude the user's history (protocol v1)
  int64_t eval_batch_size = 512;
  std::string out = "mind_out";
  std::string resume;            // a previous run's folder to continue
  bool overwrite = false;        // --out may hold a run: remove its files first
  int64_t checkpoint_every = 0;  // save checkpoint + optimizer + train state every N steps (0: every epoch)
  std::string export_data;       // write the (synthetic) log as CSV files here
  bool quiet = false;            // no progress bar / periodic lines

  // Test-only (no flag, not saved in run.json): called before every training step with the
  // number of the step about to run (1, 2, ...) and the model, so a test can plant a NaN in a
  // parameter or raise SIGINT at a chosen step.
  std::function<void(int64_t step, const models::Model& model)> before_step_for_testing;
  // Test-only, like the above: called once the test has been run, just before the export starts,
  // so a test can raise SIGTERM while the files are being written.
  std::function<void()> before_export_for_testing;
};

// run.json: the options as JSON, and back. Unknown, missing or mistyped keys are errors naming
// `source` (the file) and the key.
nlohmann::json options_to_json(const TrainOptions& options);
TrainOptions options_from_json(const nlohmann::json& json, const std::string& source);

// The options a previous run saved in FOLDER/run.json (for --resume and mind_recommend).
TrainOptions load_run_options(const std::string& folder);

// The input files' fingerprints FOLDER/run.json keeps under "inputs" (train/input_files.h).
std::vector<InputFile> load_run_inputs(const std::string& folder);

// Writes FOLDER/run.json (replacing it whole, never half-written): the options, and under
// "inputs" each input file's absolute path, size and content hash.
void save_run_options(const std::string& folder, const TrainOptions& options, const std::vector<InputFile>& inputs);

}  // namespace mind::train
