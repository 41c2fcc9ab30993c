// One training step's forward and backward, shared between threads by cutting the batch.
//
// The batch is cut into `slice_count` consecutive slices (their sizes differ by at most one).
// Each slice runs the model's forward and backward on its own *replica*: a second model whose
// parameters are views of the master model's values but own their gradients, so no two threads
// ever write the same gradient. Then every master gradient becomes the weighted sum
//     g = Σ_s (B_s / B) · g_s          (each loss here is a mean over the batch's rows)
// taken in slice order, and so is the loss. (The weights enter as the seed of each slice's
// backward, so the sum itself is plain.) The optimizer then steps the master as usual.
//
// The cut depends only on the batch, never on the thread count: with 1 thread the slices run one
// after the other, with 2 they run side by side, and the numbers are bit-identical.
//
// Why not only parallelise inside each op? A MIND step at the defaults is about 2 ms spread over
// a hundred small ops; fork/join per op and the serial pieces between ops used up the second
// core (2 threads trained no faster than 1). One slice per thread keeps both cores busy for the
// whole forward and backward with one fork/join. Inside a slice, ops run on one thread.
#pragma once
#include <cstdint>
#include <exception>
#include <memory>
#include <string>
#include <vector>

#include "data/batcher.h"
#include "models/model.h"

namespace mind::train {

struct SlicedStepResult {
  float loss = 0.0f;        // Σ_s (B_s / B) · loss_s: the batch's mean loss
  std::string nonfinite;    // "" or, when a slice's loss is NaN/Inf: the loss and where it first appeared
};

class SlicedStep {
 public:
  // Builds slice_count replicas of `model` (which must outlive this object). slice_count ≥ 1.
  SlicedStep(const models::Model& model, const models::Catalogue& catalogue, int64_t slice_count);

  // Forward and backward of `batch`: on return the master model's parameters hold the batch's
  // gradient (replacing what they held). When a slice's loss is not finite
  // nothing is back-propagated and `nonfinite` says where the NaN/Inf came from. `rng` is the
  // training forward's generator (fresh routing logits, sampled interest selection). With fresh
  // logits the slices run one after the other, in order, drawing from it in a fixed order. With
  // sampled interest selection alone, each slice gets a stream of its own, seeded by one draw
  // from `rng` per slice in slice order, so the slices still run side by side and the numbers
  // do not depend on the thread count.
  SlicedStepResult run(const data::Batch& batch, const std::vector<int32_t>& negatives, Rng* rng);

  int64_t slice_count() const { return static_cast<int64_t>(replicas_.size()); }

 private:
  void add_replica_gradients(int64_t slices);  // master gradient = Σ over the slices that ran

  std::vector<Tensor> master_parameters_;
  std::vector<std::unique_ptr<models::Model>> replicas_;
  std::vector<std::vector<Tensor>> replica_parameters_;  // [slice][parameter], same order as the master's
  std::vector<data::Batch> slice_batches_;                      // [slice], reused step after step
  // Per slice, reused every step: weight B_s / B, loss, NaN report, exception, first batch row.
  std::vector<float> weights_, losses_;
  std::vector<std::string> nonfinite_;
  std::vector<std::exception_ptr> failures_;
  std::vector<int64_t> first_rows_;
  bool draws_from_rng_ = false;      // fresh routing logits: one shared stream, slices in order
  bool samples_interests_ = false;   // sampled interest selection: a stream per slice
  std::vector<Rng> slice_rngs_;      // [slice]
};

// Rows [first, first + count) of `batch` as a batch of their own (buffers reused when large enough).
void slice_batch(const data::Batch& batch, int64_t first, int64_t count, data::Batch& slice);

}  // namespace mind::train
