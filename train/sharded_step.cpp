// Data-parallel forward and backward over slices of the batch (see sharded_step.h).
#include "train/sharded_step.h"

#include <omp.h>

#include <algorithm>
#include <cmath>
#include <exception>
#include <stdexcept>

#include "autograd/kernels.h"
#include "autograd/nonfinite.h"

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

ShardedStep::ShardedStep(const models::Model& model, const models::Catalogue& catalogue, int64_t shard_count)
    : master_parameters_(model.parameters()), draws_from_rng_(model.config().fresh_routing_logits) {
  if (shard_count < 1) throw std::invalid_argument("ShardedStep: shard_count must be at least 1");
  const std::vector<Tensor> master_tensors = model.checkpoint_tensors();
  for (int64_t shard = 0; shard < shard_count; ++shard) {
    // The replica's own initial values are thrown away at once: its tensors become views of the
    // master's (parameters and fixed state such as the routing logits alike).
    Rng unused(0);
    std::unique_ptr<models::Model> replica = models::make_model(model.config(), catalogue, unused);
    const std::vector<Tensor> replica_tensors = replica->checkpoint_tensors();
    if (replica_tensors.size() != master_tensors.size())
      throw std::logic_error("ShardedStep: the replica has a different number of tensors");
    for (size_t i = 0; i < master_tensors.size(); ++i) {
      Node& view = *replica_tensors[i].node();
      const Node& base = *master_tensors[i].node();
      if (view.name != base.name || !(view.shape == base.shape))
        throw std::logic_error("ShardedStep: replica tensor '" + view.name + "' does not match '" + base.name + "'");
      view.value_storage.release();
      view.value = base.value;
      view.view_of = master_tensors[i].node_ptr();
    }
    replica_parameters_.push_back(replica->parameters());
    replicas_.push_back(std::move(replica));
  }
  slices_.resize(static_cast<size_t>(shard_count));
  weights_.resize(static_cast<size_t>(shard_count));
  losses_.resize(static_cast<size_t>(shard_count));
  nonfinite_.resize(static_cast<size_t>(shard_count));
  failures_.resize(static_cast<size_t>(shard_count));
  first_rows_.resize(static_cast<size_t>(shard_count));
}

ShardedStepResult ShardedStep::run(const data::Batch& batch, const std::vector<int32_t>& negatives, Rng* rng) {
  const int64_t shards = std::min<int64_t>(shard_count(), batch.size);  // a 1-row batch is one slice
  // Per-slice bookkeeping, reset in place (a step allocates nothing here).
  std::fill(weights_.begin(), weights_.end(), 0.0f);  // B_s / B; 0 for a slice that does not run
  std::fill(losses_.begin(), losses_.end(), 0.0f);
  for (std::string& text : nonfinite_) text.clear();
  std::fill(failures_.begin(), failures_.end(), nullptr);
  int64_t first = 0;
  for (int64_t shard = 0; shard < shards; ++shard) {
    const int64_t count = batch.size / shards + (shard < batch.size % shards ? 1 : 0);
    slice_batch(batch, first, count, slices_[shard]);
    first_rows_[shard] = first;
    weights_[shard] = static_cast<float>(count) / static_cast<float>(batch.size);
    first += count;
  }

  // One thread per slice; more threads than slices go to the ops inside each slice (nested
  // teams, allowed for this region only). With 2 threads and 2 slices each op runs on its
  // slice's thread alone.
  const int available = omp_get_max_threads();
  const int outer = draws_from_rng_ ? 1 : static_cast<int>(std::min<int64_t>(shards, available));
  const int inner = std::max(1, available / outer);
  const int previous_levels = omp_get_max_active_levels();
  if (inner > 1 && outer > 1) omp_set_max_active_levels(std::max(previous_levels, 2));
#pragma omp parallel for schedule(static, 1) num_threads(outer)
  for (int64_t shard = 0; shard < shards; ++shard) {
    try {
      omp_set_num_threads(inner);
      for (Tensor& parameter : replica_parameters_[shard]) parameter.zero_grad();
      models::ForwardTrace trace = replicas_[shard]->forward(slices_[shard], negatives, rng);
      losses_[shard] = trace.loss.item();
      if (!std::isfinite(losses_[shard])) {
        nonfinite_[shard] = std::string("the loss is ") + (std::isnan(losses_[shard]) ? "nan" : "inf") +
                            " in the slice of batch rows " + std::to_string(first_rows_[shard]) + ".." +
                            std::to_string(first_rows_[shard] + slices_[shard].size - 1) +
                            "; first non-finite value: " + first_nonfinite(trace.loss);
        continue;
      }
      trace.loss.backward();
    } catch (...) {
      failures_[shard] = std::current_exception();
    }
  }
  omp_set_max_active_levels(previous_levels);
  for (const std::exception_ptr& failure : failures_)
    if (failure) std::rethrow_exception(failure);

  ShardedStepResult result;
  for (int64_t shard = 0; shard < shards; ++shard) {
    if (!nonfinite_[shard].empty()) {
      result.nonfinite = nonfinite_[shard];
      result.loss = losses_[shard];
      return result;
    }
    result.loss += weights_[shard] * losses_[shard];
  }
  add_replica_gradients(weights_);
  return result;
}

void ShardedStep::add_replica_gradients(const std::vector<float>& weights) {
  // First, on one thread, give every row a slice touched its place in the master's row gradient
  // (slice 0's rows in their order, then slice 1's new ones): slots_[p · S + s][i] is where row i
  // of slice s goes. Cheap: integers only.
  const size_t parameter_count = master_parameters_.size();
  const size_t shard_total = replicas_.size();
  slots_.resize(parameter_count * shard_total);
  for (size_t p = 0; p < parameter_count; ++p) {
    if (!master_parameters_[p].node()->sparse_gradient) {
      for (size_t shard = 0; shard < shard_total; ++shard)
        if (weights[shard] != 0.0f && replica_parameters_[shard][p].has_grad()) master_parameters_[p].grad();
      continue;
    }
    RowSparseGradient& master = master_parameters_[p].row_gradient();
    for (size_t shard = 0; shard < shard_total; ++shard) {
      const RowSparseGradient& part = replica_parameters_[shard][p].row_gradient();
      std::vector<int32_t>& slots = slots_[p * shard_total + shard];
      slots.resize(part.rows.size());
      if (weights[shard] == 0.0f) continue;  // a slice that did not run this step
      for (size_t i = 0; i < part.rows.size(); ++i) {
        if (i + kernels::prefetch_rows_ahead < part.rows.size())
          master.prefetch(part.rows[i + kernels::prefetch_rows_ahead]);
        slots[i] = master.slot_for(part.rows[i]);
      }
    }
  }

  // Then add the values, g += (B_s / B) · g_s in slice order. Threads share out contiguous
  // ranges of the master's rows (about the ranges Adam's static schedule gives them next, so a
  // summed row is still in its thread's cache) and the dense gradients element by element. Each
  // value is summed the same way whatever the thread count.
#pragma omp parallel
  {
    const int thread_count = omp_get_num_threads(), me = omp_get_thread_num();
    for (size_t p = 0; p < parameter_count; ++p) {
      Tensor& master = master_parameters_[p];
      for (size_t shard = 0; shard < shard_total; ++shard) {
        const float weight = weights[shard];
        if (weight == 0.0f) continue;
        Tensor& replica = replica_parameters_[shard][p];
        if (master.node()->sparse_gradient) {
          const RowSparseGradient& part = replica.row_gradient();
          float* target = master.row_gradient().values.data();
          const std::vector<int32_t>& slots = slots_[p * shard_total + shard];
          const int64_t width = part.width;
          const int64_t master_rows = static_cast<int64_t>(master.row_gradient().rows.size());
          const int64_t first_slot = master_rows * me / thread_count, end_slot = master_rows * (me + 1) / thread_count;
          for (size_t i = 0; i < part.rows.size(); ++i) {
            if (slots[i] < first_slot || slots[i] >= end_slot) continue;
            float* row = target + static_cast<int64_t>(slots[i]) * width;
            const float* source = part.values.data() + static_cast<int64_t>(i) * width;
            for (int64_t k = 0; k < width; ++k) row[k] += weight * source[k];
          }
        } else if (replica.has_grad()) {
          float* target = master.node()->grad.data();  // allocated before the region
          const float* source = replica.node()->grad.data();
// Same bounds and static schedule for every slice: element i stays on one thread, so no barrier.
#pragma omp for schedule(static) nowait
          for (int64_t i = 0; i < master.numel(); ++i) target[i] += weight * source[i];
        }
      }
    }
  }
}

}  // namespace mind::train
