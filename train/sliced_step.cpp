// Data-parallel forward and backward over slices of the batch (see sliced_step.h).
#include "train/sliced_step.h"

#include <omp.h>

#include <algorithm>
#include <cmath>
#include <exception>
#include <stdexcept>
#include <utility>

#include "autograd/kernels.h"
#include "autograd/nonfinite.h"
#include "autograd/ops.h"

namespace mind::train {

void slice_batch(const data::Batch& batch, int64_t first, int64_t count, data::Batch& slice) {
  if (first < 0 || count < 0 || first + count > batch.size)
    throw std::invalid_argument("slice_batch: rows [" + std::to_string(first) + ", " + std::to_string(first + count) +
                                ") outside a batch of " + std::to_string(batch.size));
  data::reserve_batch(slice, std::max(slice.capacity, count), batch.max_len, batch.field_count);
  slice.size = count;
  const int64_t L = batch.max_len, F = batch.field_count;
  std::copy_n(batch.history.begin() + first * L, count * L, slice.history.begin());  // [count, L]
  std::copy_n(batch.lengths.begin() + first, count, slice.lengths.begin());
  std::copy_n(batch.targets.begin() + first, count, slice.targets.begin());
  std::copy_n(batch.users.begin() + first, count, slice.users.begin());
  std::copy_n(batch.profile.begin() + first * F, count * F, slice.profile.begin());  // [count, F]
}

SlicedStep::SlicedStep(const models::Model& model, const models::Catalogue& catalogue, int64_t slice_count)
    : master_parameters_(model.parameters()), draws_from_rng_(model.config().fresh_routing_logits),
      samples_interests_(model.config().attention.sample) {
  if (slice_count < 1) throw std::invalid_argument("SlicedStep: slice_count must be at least 1");
  const std::vector<Tensor> master_tensors = model.checkpoint_tensors();
  for (int64_t slice = 0; slice < slice_count; ++slice) {
    // The replica's own initial values are thrown away at once: its tensors become views of the
    // master's (parameters and fixed state such as the routing logits alike).
    Rng unused(0);
    std::unique_ptr<models::Model> replica = models::make_model(model.config(), catalogue, unused);
    const std::vector<Tensor> replica_tensors = replica->checkpoint_tensors();
    if (replica_tensors.size() != master_tensors.size())
      throw std::logic_error("SlicedStep: the replica has a different number of tensors");
    for (size_t i = 0; i < master_tensors.size(); ++i) {
      Node& view = *replica_tensors[i].node();
      const Node& base = *master_tensors[i].node();
      if (view.name != base.name || !(view.shape == base.shape))
        throw std::logic_error("SlicedStep: replica tensor '" + view.name + "' does not match '" + base.name + "'");
      view.value_storage.release();
      view.value = base.value;
      view.view_of = master_tensors[i].node_ptr();
    }
    replica_parameters_.push_back(replica->parameters());
    replicas_.push_back(std::move(replica));
  }
  slice_batches_.resize(static_cast<size_t>(slice_count));
  weights_.resize(static_cast<size_t>(slice_count));
  losses_.resize(static_cast<size_t>(slice_count));
  nonfinite_.resize(static_cast<size_t>(slice_count));
  failures_.resize(static_cast<size_t>(slice_count));
  first_rows_.resize(static_cast<size_t>(slice_count));
  slice_rngs_.resize(static_cast<size_t>(slice_count));
}

SlicedStepResult SlicedStep::run(const data::Batch& batch, const std::vector<int32_t>& negatives, Rng* rng) {
  const int64_t slices = std::min<int64_t>(slice_count(), batch.size);  // a 1-row batch is one slice
  // Per-slice bookkeeping, reset in place (a step allocates nothing here).
  std::fill(weights_.begin(), weights_.end(), 0.0f);  // B_s / B; 0 for a slice that does not run
  std::fill(losses_.begin(), losses_.end(), 0.0f);
  for (std::string& text : nonfinite_) text.clear();
  std::fill(failures_.begin(), failures_.end(), nullptr);
  int64_t first = 0;
  for (int64_t slice = 0; slice < slices; ++slice) {
    const int64_t count = batch.size / slices + (slice < batch.size % slices ? 1 : 0);
    slice_batch(batch, first, count, slice_batches_[slice]);
    first_rows_[slice] = first;
    weights_[slice] = static_cast<float>(count) / static_cast<float>(batch.size);
    first += count;
  }
  const bool stream_per_slice = samples_interests_ && !draws_from_rng_ && rng != nullptr;
  if (stream_per_slice)
    for (int64_t slice = 0; slice < slices; ++slice) slice_rngs_[slice].reseed(rng->next_u64());

  // One thread per slice; more threads than slices go to the ops inside each slice (nested
  // teams, allowed for this region only). With 2 threads and 2 slices each op runs on its
  // slice's thread alone.
  const int available = omp_get_max_threads();
  const int outer = draws_from_rng_ ? 1 : static_cast<int>(std::min<int64_t>(slices, available));
  const int inner = std::max(1, available / outer);
  const int previous_levels = omp_get_max_active_levels();
  if (inner > 1 && outer > 1) omp_set_max_active_levels(std::max(previous_levels, 2));
#pragma omp parallel for schedule(static, 1) num_threads(outer)
  for (int64_t slice = 0; slice < slices; ++slice) {
    try {
      omp_set_num_threads(inner);
      for (Tensor& parameter : replica_parameters_[slice]) parameter.zero_grad();
      models::ForwardTrace trace = replicas_[slice]->forward(slice_batches_[slice], negatives,
                                                                    stream_per_slice ? &slice_rngs_[slice] : rng);
      losses_[slice] = trace.loss.item();
      if (!std::isfinite(losses_[slice])) {
        nonfinite_[slice] = std::string("the loss is ") + (std::isnan(losses_[slice]) ? "nan" : "inf") +
                            " in the slice of batch rows " + std::to_string(first_rows_[slice]) + ".." +
                            std::to_string(first_rows_[slice] + slice_batches_[slice].size - 1) +
                            "; first non-finite value: " + first_nonfinite(trace.loss);
        continue;
      }
      // d(loss)/d(loss_s) = B_s / B: seeding the slice's backward with its weight makes its
      // gradients the weighted ones directly (exactly so for halves: scaling by 1/2 rounds nothing).
      scale(trace.loss, weights_[slice]).backward();
    } catch (...) {
      failures_[slice] = std::current_exception();
    }
  }
  omp_set_max_active_levels(previous_levels);
  for (const std::exception_ptr& failure : failures_)
    if (failure) std::rethrow_exception(failure);

  SlicedStepResult result;
  for (int64_t slice = 0; slice < slices; ++slice) {
    if (!nonfinite_[slice].empty()) {
      result.nonfinite = nonfinite_[slice];
      result.loss = losses_[slice];
      return result;
    }
    result.loss += weights_[slice] * losses_[slice];
  }
  add_replica_gradients(slices);
  return result;
}

void SlicedStep::add_replica_gradients(int64_t slices) {
  // Each slice's backward was seeded with its weight B_s / B, so the master's gradient is the
  // plain sum g_0 + g_1 + ... in slice order. Slice 0's gradient becomes the master's by a swap
  // (its buffers change hands, nothing is copied; the master's old, zeroed ones go to the
  // replica, which zeroes them again before its next backward), then the other slices are added
  // in. On the calling thread: the rows of slice 1 were just written by the other core, and
  // reading them once is cheaper than passing the master's rows back and forth between cores.
  for (size_t p = 0; p < master_parameters_.size(); ++p) {
    Node& master = *master_parameters_[p].node();
    Node& first = *replica_parameters_[0][p].node();
    if (master.sparse_gradient)
      std::swap(master.row_gradient, first.row_gradient);
    else
      std::swap(master.grad, first.grad);
    for (int64_t slice = 1; slice < slices; ++slice) {
      Node& part = *replica_parameters_[slice][p].node();
      if (master.sparse_gradient) {
        // Each row of the slice is appended as a lookup's backward appends it: added into the
        // row of the same id, or a new row after the ones already there.
        RowSparseGradient& sum = master.row_gradient;
        const RowSparseGradient& rows = part.row_gradient;
        for (size_t i = 0; i < rows.rows.size(); ++i)
          sum.append(rows.rows[i], rows.values.data() + static_cast<int64_t>(i) * rows.width);
      } else if (!part.grad.empty()) {
        kernels::axpy(1.0f, part.grad.data(), master.grad_data(), master.numel());
      }
    }
  }
}

}  // namespace mind::train
