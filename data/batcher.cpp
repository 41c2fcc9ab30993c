// Filling batches: the shuffled training order of TrainBatcher (documented in batcher.h) and
// the evaluation batches. Rows are written in place into buffers sized once.
#include "data/batcher.h"

#include <algorithm>
#include <stdexcept>
#include <string>
#include <utility>

namespace mind::data {

namespace {

// Writes items[begin..end) into a row of max_len slots, oldest first, -1 after.
void fill_history_row(const std::vector<int32_t>& items, int64_t begin, int64_t end,
                      int64_t max_len, int32_t* row) {
  const int64_t length = end - begin;
  for (int64_t position = 0; position < length; ++position) row[position] = items[begin + position];
  for (int64_t position = length; position < max_len; ++position) row[position] = -1;
}

void fill_profile_row(const Dataset& dataset, int32_t user, int64_t field_count, int32_t* row) {
  for (int64_t field = 0; field < field_count; ++field) {
    row[field] = dataset.user_profile[user * field_count + field];
  }
}

// Rows size..capacity-1 become recognisable padding.
void clear_rows_after_size(Batch& batch) {
  for (int64_t row = batch.size; row < batch.capacity; ++row) {
    std::fill_n(batch.history.begin() + row * batch.max_len, batch.max_len, -1);
    std::fill_n(batch.profile.begin() + row * batch.field_count, batch.field_count, 0);
    batch.lengths[row] = 0;
    batch.targets[row] = -1;
    batch.users[row] = -1;
  }
}

void check_positive(int64_t value, const char* name) {
  if (value < 1) {
    throw std::runtime_error(std::string("batcher: ") + name + " must be at least 1, got " +
                             std::to_string(value));
  }
}

}  // namespace

void reserve_batch(Batch& batch, int64_t capacity, int64_t max_len, int64_t field_count) {
  if (batch.capacity == capacity && batch.max_len == max_len && batch.field_count == field_count) {
    return;
  }
  batch.capacity = capacity;
  batch.max_len = max_len;
  batch.field_count = field_count;
  batch.size = 0;
  batch.history.assign(capacity * max_len, -1);     // [capacity, max_len]
  batch.lengths.assign(capacity, 0);                // [capacity]
  batch.targets.assign(capacity, -1);               // [capacity]
  batch.users.assign(capacity, -1);                 // [capacity]
  batch.profile.assign(capacity * field_count, 0);  // [capacity, field_count]
}

TrainBatcher::TrainBatcher(const Dataset& dataset, int64_t batch_size, int64_t max_len,
                           uint64_t seed)
    : dataset_(dataset), batch_size_(batch_size), max_len_(max_len), rng_(seed) {
  check_positive(batch_size, "batch_size");
  check_positive(max_len, "max_len");
  if (dataset.training_sample_count == 0) {
    throw std::runtime_error(dataset.source +
                             ": no training samples (every training user has fewer than 2 "
                             "interactions, or there are no training users)");
  }
  start_epoch();
}

void TrainBatcher::shuffle_canonical_order() {
  order_ = training_samples(dataset_);
  epoch_start_rng_ = rng_.state();
  // Fisher-Yates from the back: position i takes a uniformly chosen sample among 0..i.
  for (int64_t i = static_cast<int64_t>(order_.size()) - 1; i >= 1; --i) {
    const int64_t j = static_cast<int64_t>(rng_.below(static_cast<uint64_t>(i + 1)));
    std::swap(order_[i], order_[j]);
  }
}

void TrainBatcher::start_epoch() {
  ++epoch_;
  cursor_ = 0;
  shuffle_canonical_order();
}

bool TrainBatcher::next(Batch& batch) {
  const int64_t sample_total = sample_count();
  if (cursor_ >= sample_total) return false;
  const int64_t field_count = dataset_.field_count();
  reserve_batch(batch, batch_size_, max_len_, field_count);
  batch.size = std::min(batch_size_, sample_total - cursor_);
  for (int64_t row = 0; row < batch.size; ++row) {
    const TrainSample sample = order_[cursor_ + row];
    const std::vector<int32_t>& sequence = dataset_.sequences[sample.user];
    const int64_t begin = std::max<int64_t>(0, sample.position - max_len_);
    fill_history_row(sequence, begin, sample.position, max_len_,
                     batch.history.data() + row * max_len_);
    batch.lengths[row] = static_cast<int32_t>(sample.position - begin);
    batch.targets[row] = sequence[sample.position];
    batch.users[row] = sample.user;
    fill_profile_row(dataset_, sample.user, field_count, batch.profile.data() + row * field_count);
  }
  clear_rows_after_size(batch);
  cursor_ += batch.size;
  return true;
}

BatcherState TrainBatcher::state() const {
  BatcherState state;
  state.epoch = epoch_;
  state.cursor = cursor_;
  state.epoch_start_rng = epoch_start_rng_;
  return state;
}

void TrainBatcher::restore(const BatcherState& state) {
  if (state.epoch < 0 || state.cursor < 0 || state.cursor > sample_count()) {
    throw std::runtime_error("batcher: cannot restore epoch " + std::to_string(state.epoch) +
                             " cursor " + std::to_string(state.cursor) + " with " +
                             std::to_string(sample_count()) + " samples per epoch");
  }
  // Replaying the epoch's shuffle from its saved starting state rebuilds the same order and
  // leaves the generator where the uninterrupted run has it.
  rng_.set_state(state.epoch_start_rng);
  shuffle_canonical_order();
  epoch_ = state.epoch;
  cursor_ = state.cursor;
}

void make_eval_batch(const Dataset& dataset, const std::vector<EvalUser>& eval_users, int64_t first,
                     int64_t count, int64_t max_len, Batch& batch) {
  check_positive(max_len, "max_len");
  if (first < 0 || count < 0 || first + count > static_cast<int64_t>(eval_users.size())) {
    throw std::runtime_error("make_eval_batch: rows " + std::to_string(first) + ".." +
                             std::to_string(first + count) + " outside the " +
                             std::to_string(eval_users.size()) + " evaluation users");
  }
  const int64_t field_count = dataset.field_count();
  reserve_batch(batch, std::max(batch.capacity, count), max_len, field_count);
  batch.size = count;
  for (int64_t row = 0; row < count; ++row) {
    const EvalUser& eval_user = eval_users[first + row];
    const std::vector<int32_t>& sequence = dataset.sequences[eval_user.user];
    const int64_t end = eval_user.history_length;
    const int64_t begin = std::max<int64_t>(0, end - max_len);
    fill_history_row(sequence, begin, end, max_len, batch.history.data() + row * max_len);
    batch.lengths[row] = static_cast<int32_t>(end - begin);
    batch.targets[row] = -1;
    batch.users[row] = eval_user.user;
    fill_profile_row(dataset, eval_user.user, field_count,
                     batch.profile.data() + row * field_count);
  }
  clear_rows_after_size(batch);
}

}  // namespace mind::data
