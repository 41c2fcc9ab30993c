// Saving and loading what a run needs to be served or continued:
//   the model's tensors (safetensors, PyTorch-style names, hyper-parameters in __metadata__),
//   the optimizer's state (safetensors: `<param>.exp_avg`, ..., and the step count),
//   the trainer's own progress (train_state.json: step, epoch, data cursor, random states).
// Every write is atomic (temporary file + rename), so an interrupted save never leaves a broken
// file behind; every load checks names and shapes and says what does not match.
#pragma once
#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "data/batcher.h"
#include "models/model.h"
#include "nn/optimizer.h"

namespace mind::train {

void save_model(const std::string& path, const models::Model& model);
// Loads into an already-built model of the same configuration: every tensor the model has must
// be in the file with the same shape (errors name the file and the tensor).
void load_model(const std::string& path, const models::Model& model);

void save_optimizer(const std::string& path, const nn::Optimizer& optimizer);
void load_optimizer(const std::string& path, nn::Optimizer& optimizer);

// The trainer's progress, beyond weights and moments.
struct TrainState {
  int64_t step = 0;                    // optimizer steps taken
  int64_t epochs_completed = 0;
  data::BatcherState batcher;
  std::array<uint64_t, 4> negative_rng = {};  // the generator drawing the shared negatives
  std::array<uint64_t, 4> routing_rng = {};   // the generator for fresh routing logits
  double best_recall = -1.0;           // best valid Recall@50 so far (−1: none yet)
  int64_t best_step = 0;
  int64_t evaluations_without_improvement = 0;
  bool finished = false;               // stopped early: a resume has nothing left to do
  // What the next validation line reports, so that a run interrupted between two validations
  // and resumed logs the same mean loss as an uninterrupted one.
  double loss_sum_since_validation = 0.0;
  int64_t losses_since_validation = 0;
  std::vector<double> first_losses;    // the run's first (up to 20) losses, for TrainReport
  // Wall-clock seconds of training and validation in the runs before this one, so that
  // metrics.jsonl's `seconds` continues across --resume instead of restarting at 0.
  double seconds = 0.0;
  // The step whose best weights were tested (-1: none yet): resuming a run that has nothing new
  // to train does not test it again (one test line per trained state in metrics.jsonl).
  int64_t tested_step = -1;
};

// train_state.json. The loss bookkeeping, `seconds` and `tested_step` keys came later: a file
// without them loads with the defaults there (a resumed old run's seconds restart, and a finished
// old run is tested again).
void save_train_state(const std::string& path, const TrainState& state);
TrainState load_train_state(const std::string& path);

}  // namespace mind::train
