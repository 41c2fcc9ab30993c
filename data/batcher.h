// Fixed-shape batches for the engine: training samples in a seeded shuffled order, and
// evaluation users' last-L histories. Buffers are sized once and reused, so a training loop
// allocates nothing per batch. It does not know about models or tensors.
#pragma once
#include <array>
#include <cstdint>
#include <vector>

#include "autograd/random.h"
#include "data/dataset.h"

namespace mind::data {

// One batch. Rows 0..size-1 are real; the last batch of an epoch may have size < capacity, and
// its rows size..capacity-1 are cleared (history -1, length 0, target -1, user -1, profile 0)
// so stale rows never look like data.
// History layout (part of the model's definition, docs/design.md §2.3): a row holds its n items at
// positions 0..n-1, oldest first, and -1 at positions n..max_len-1.
struct Batch {
  int64_t capacity = 0;
  int64_t size = 0;
  int64_t max_len = 0;      // L
  int64_t field_count = 0;  // F
  std::vector<int32_t> history;  // [capacity, max_len]
  std::vector<int32_t> lengths;  // [capacity], n of each row, 1..max_len
  std::vector<int32_t> targets;  // [capacity], the next item (training); -1 for evaluation rows
  std::vector<int32_t> users;    // [capacity], dense user index
  std::vector<int32_t> profile;  // [capacity, field_count]
};

// Sizes the buffers for `capacity` rows; reallocates only if a shape changed.
void reserve_batch(Batch& batch, int64_t capacity, int64_t max_len, int64_t field_count);

// Everything needed to continue an epoch exactly where it stopped (saved with a checkpoint).
struct BatcherState {
  int64_t epoch = 0;   // 0 for the first epoch
  int64_t cursor = 0;  // samples of this epoch already handed out
  std::array<uint64_t, 4> epoch_start_rng = {};  // the generator just before this epoch's shuffle
};

// Visits every training sample once per epoch in a shuffled order. The order, precisely, so
// another implementation can reproduce it:
//   1. the generator is mind::Rng(seed);
//   2. each epoch starts from the canonical sample list of training_samples() (train users
//      ascending, positions ascending), remembers the generator state, then shuffles with
//      Fisher-Yates from the back: for i = S-1 down to 1, j = rng.below(i + 1), swap(i, j);
//   3. batches are consecutive slices of that list of batch_size samples (the last one shorter);
//   4. the generator continues into the next epoch's shuffle, it is not reseeded.
// A sample (user, t) becomes history sequence[max(0, t-L) .. t-1], target sequence[t].
// The batcher keeps a reference to the dataset, which must outlive it.
class TrainBatcher {
 public:
  // The constructor starts epoch 0. Throws if the dataset has no training sample or a size is < 1.
  TrainBatcher(const Dataset& dataset, int64_t batch_size, int64_t max_len, uint64_t seed);

  // Fills the next batch of this epoch; false (batch untouched) once the epoch is exhausted.
  bool next(Batch& batch);
  // Begins the next epoch (a fresh shuffle). Call after next() returned false.
  void start_epoch();

  int64_t epoch() const { return epoch_; }
  int64_t sample_count() const { return static_cast<int64_t>(order_.size()); }
  int64_t batches_per_epoch() const { return (sample_count() + batch_size_ - 1) / batch_size_; }
  int64_t batch_size() const { return batch_size_; }
  int64_t max_len() const { return max_len_; }

  BatcherState state() const;
  // Resumes exactly: the same batches follow as in an uninterrupted run.
  void restore(const BatcherState& state);

 private:
  void shuffle_canonical_order();

  const Dataset& dataset_;
  int64_t batch_size_;
  int64_t max_len_;
  Rng rng_;
  int64_t epoch_ = -1;
  int64_t cursor_ = 0;
  std::array<uint64_t, 4> epoch_start_rng_ = {};
  std::vector<TrainSample> order_;  // [S], this epoch's visiting order
};

// Fills `batch` with eval_users[first .. first+count): each row the last min(L, history_length)
// items of the user's evaluation history; targets are -1 (an evaluated user has a target set,
// see EvalUser). The batch grows to `count` rows if it is smaller.
void make_eval_batch(const Dataset& dataset, const std::vector<EvalUser>& eval_users,
                     int64_t first, int64_t count, int64_t max_len, Batch& batch);

}  // namespace mind::data
