// How much memory a training run will need, estimated from the options and the catalogue before
// anything is allocated, so that a huge --max-len, --dim or --hidden is refused at once, naming
// the flag and the estimate, instead of hanging in page faults or ending in std::bad_alloc.
// The estimate is a lower bound of the real peak (the tape keeps a few more intermediates than
// counted here); it only has to tell "fits" from "can never fit".
#pragma once
#include <cstdint>
#include <string>

#include "models/model.h"
#include "train/options.h"

namespace mind::train {

struct MemoryEstimate {
  double parameter_bytes = 0;   // weights, gradients and Adam's two moments
  double step_bytes = 0;        // one training step's batch, activations and their gradients
  double evaluation_bytes = 0;  // one evaluation batch: histories, interests and the scores of every item
  std::string largest_part;     // what dominates, with the flags that set it ("a step's [B, L, d] ... --max-len")

  double total() const { return parameter_bytes + step_bytes + evaluation_bytes; }
};

// `evaluated_users`: the most users one evaluation batch can hold (its batches never exceed them).
MemoryEstimate estimate_memory(const TrainOptions& options, const models::Catalogue& catalogue,
                               int64_t evaluated_users);

// The memory this process may use: the cgroup limit when there is one, else the physical memory.
double available_memory_bytes();

// "1.5 GiB", "730 MiB".
std::string memory_text(double bytes);

// Throws std::invalid_argument when the estimate exceeds `available` bytes, naming the largest
// part, its flags and both sizes.
void require_memory(const MemoryEstimate& estimate, double available);

}  // namespace mind::train
