// The batcher: rows laid out as documented (oldest first, -1 padding), an epoch visits every
// sample once in exactly the documented Fisher-Yates order, the short last batch, resume from a
// saved state, evaluation batches, and the errors.
#include <doctest/doctest.h>

#include <algorithm>
#include <stdexcept>
#include <tuple>
#include <utility>
#include <vector>

#include "autograd/random.h"
#include "data/batcher.h"

using namespace mind::data;

namespace {

// Four users by hand (user 3 valid-like: not in train_users), one profile field.
//   user 0: 10 11 12 13 14   -> samples at t = 1..4
//   user 1: 20 21            -> sample at t = 1
//   user 2: 30               -> no sample
//   user 3: 40 41 42 43 44   -> held out
Dataset small_dataset() {
  Dataset dataset;
  dataset.source = "hand-made";
  dataset.user_count = 4;
  dataset.item_count = 50;
  dataset.sequences = {{10, 11, 12, 13, 14}, {20, 21}, {30}, {40, 41, 42, 43, 44}};
  dataset.user_split = {Split::train, Split::train, Split::train, Split::valid};
  dataset.train_users = {0, 1, 2};
  dataset.valid_users = {3};
  dataset.training_sample_count = 5;
  dataset.profile_field_names = {"band"};
  dataset.profile_cardinalities = {3};
  dataset.profile_values = {{"x", "y", "z"}};
  dataset.user_profile = {2, 1, 0, 1};  // [4, 1]
  return dataset;
}

// A bigger dataset: 12 training users with 2..13 items each (1 + 2 + ... + 12 = 78 samples).
Dataset larger_dataset() {
  Dataset dataset;
  dataset.source = "generated";
  dataset.user_count = 12;
  dataset.item_count = 1000;
  for (int32_t user = 0; user < 12; ++user) {
    std::vector<int32_t> sequence;
    for (int32_t position = 0; position < user + 2; ++position) {
      sequence.push_back(user * 50 + position);
    }
    dataset.sequences.push_back(sequence);
    dataset.user_split.push_back(Split::train);
    dataset.train_users.push_back(user);
    dataset.training_sample_count += user + 1;
  }
  return dataset;
}

// One row of a batch as comparable values.
// (user, target, length, history)
using Row = std::tuple<int32_t, int32_t, int32_t, std::vector<int32_t>>;

std::vector<Row> rows_of(const Batch& batch) {
  std::vector<Row> rows;
  for (int64_t row = 0; row < batch.size; ++row) {
    std::vector<int32_t> history(batch.history.begin() + row * batch.max_len,
                                 batch.history.begin() + (row + 1) * batch.max_len);
    rows.push_back({batch.users[row], batch.targets[row], batch.lengths[row], history});
  }
  return rows;
}

std::vector<Row> drain_epoch(TrainBatcher& batcher, Batch& batch) {
  std::vector<Row> rows;
  while (batcher.next(batch)) {
    const std::vector<Row> batch_rows = rows_of(batch);
    rows.insert(rows.end(), batch_rows.begin(), batch_rows.end());
  }
  return rows;
}

// The row protocol v1 makes of sample (user, t) with history length L.
Row expected_row(const Dataset& dataset, TrainSample sample, int64_t max_len) {
  const std::vector<int32_t>& sequence = dataset.sequences[sample.user];
  const int32_t begin = std::max<int32_t>(0, sample.position - static_cast<int32_t>(max_len));
  std::vector<int32_t> history(max_len, -1);
  for (int32_t position = begin; position < sample.position; ++position) {
    history[position - begin] = sequence[position];
  }
  return {sample.user, sequence[sample.position], sample.position - begin, history};
}

}  // namespace

TEST_CASE("batcher: rows hold the last L items oldest first, -1 padding, target and profile") {
  const Dataset dataset = small_dataset();
  TrainBatcher batcher(dataset, 8, 3, 1);
  Batch batch;
  REQUIRE(batcher.next(batch));
  CHECK(batch.size == 5);
  CHECK(batch.capacity == 8);
  CHECK(batch.max_len == 3);
  CHECK(batch.field_count == 1);
  bool saw_long = false;
  bool saw_short = false;
  for (int64_t row = 0; row < batch.size; ++row) {
    const int32_t* history = &batch.history[row * 3];
    if (batch.users[row] == 0 && batch.targets[row] == 14) {  // t = 4: last 3 of 10 11 12 13
      saw_long = true;
      CHECK(batch.lengths[row] == 3);
      CHECK(history[0] == 11);
      CHECK(history[1] == 12);
      CHECK(history[2] == 13);
      CHECK(batch.profile[row] == 2);
    }
    if (batch.users[row] == 1) {  // t = 1: history 20, then padding
      saw_short = true;
      CHECK(batch.targets[row] == 21);
      CHECK(batch.lengths[row] == 1);
      CHECK(history[0] == 20);
      CHECK(history[1] == -1);
      CHECK(history[2] == -1);
      CHECK(batch.profile[row] == 1);
    }
  }
  CHECK(saw_long);
  CHECK(saw_short);
  // Rows past `size` are cleared.
  for (int64_t row = 5; row < 8; ++row) {
    CHECK(batch.users[row] == -1);
    CHECK(batch.targets[row] == -1);
    CHECK(batch.lengths[row] == 0);
    CHECK(batch.history[row * 3] == -1);
  }
  CHECK_FALSE(batcher.next(batch));
}

TEST_CASE("batcher: the epoch order is exactly the documented Fisher-Yates shuffle") {
  const Dataset dataset = larger_dataset();
  const int64_t max_len = 4;
  // Rebuild the documented order by hand: canonical samples, then from the back
  // j = rng.below(i + 1), swap(i, j), with mind::Rng(seed); two epochs in a row.
  mind::Rng rng(42);
  std::vector<Row> expected;
  for (int epoch = 0; epoch < 2; ++epoch) {
    std::vector<TrainSample> order = training_samples(dataset);
    for (int64_t i = static_cast<int64_t>(order.size()) - 1; i >= 1; --i) {
      std::swap(order[i], order[rng.below(i + 1)]);
    }
    for (TrainSample sample : order) expected.push_back(expected_row(dataset, sample, max_len));
  }
  TrainBatcher batcher(dataset, 10, max_len, 42);
  CHECK(batcher.sample_count() == 78);
  CHECK(batcher.batches_per_epoch() == 8);
  Batch batch;
  std::vector<Row> seen = drain_epoch(batcher, batch);
  CHECK(batch.size == 8);  // 78 = 7 * 10 + 8
  CHECK(batcher.epoch() == 0);
  batcher.start_epoch();
  CHECK(batcher.epoch() == 1);
  const std::vector<Row> second = drain_epoch(batcher, batch);
  seen.insert(seen.end(), second.begin(), second.end());
  CHECK(seen == expected);
}

TEST_CASE("batcher: an epoch visits every sample exactly once, seeds change only the order") {
  const Dataset dataset = larger_dataset();
  std::vector<Row> canonical;
  for (TrainSample sample : training_samples(dataset)) {
    canonical.push_back(expected_row(dataset, sample, 5));
  }
  std::sort(canonical.begin(), canonical.end());
  Batch batch;
  TrainBatcher first(dataset, 16, 5, 9);
  const std::vector<Row> first_epoch = drain_epoch(first, batch);
  std::vector<Row> sorted = first_epoch;
  std::sort(sorted.begin(), sorted.end());
  CHECK(sorted == canonical);
  TrainBatcher same(dataset, 16, 5, 9);
  CHECK(drain_epoch(same, batch) == first_epoch);
  TrainBatcher other(dataset, 16, 5, 10);
  CHECK(drain_epoch(other, batch) != first_epoch);
  first.start_epoch();
  CHECK(drain_epoch(first, batch) != first_epoch);  // a new shuffle each epoch
}

TEST_CASE("batcher: restoring a saved state continues exactly like the uninterrupted run") {
  const Dataset dataset = larger_dataset();
  Batch batch;
  TrainBatcher original(dataset, 6, 3, 5);
  drain_epoch(original, batch);
  original.start_epoch();
  original.next(batch);
  original.next(batch);  // mid-way through epoch 1
  const BatcherState saved = original.state();
  CHECK(saved.epoch == 1);
  CHECK(saved.cursor == 12);

  std::vector<Row> continued = drain_epoch(original, batch);
  original.start_epoch();
  const std::vector<Row> next_epoch = drain_epoch(original, batch);
  continued.insert(continued.end(), next_epoch.begin(), next_epoch.end());

  TrainBatcher resumed(dataset, 6, 3, 999);  // the seed is overridden by the restored state
  resumed.restore(saved);
  CHECK(resumed.epoch() == 1);
  std::vector<Row> replayed = drain_epoch(resumed, batch);
  resumed.start_epoch();
  const std::vector<Row> replayed_next = drain_epoch(resumed, batch);
  replayed.insert(replayed.end(), replayed_next.begin(), replayed_next.end());
  CHECK(replayed == continued);

  BatcherState broken = saved;
  broken.cursor = 1000;
  CHECK_THROWS_WITH_AS(resumed.restore(broken), doctest::Contains("cannot restore"),
                       std::runtime_error);
}

TEST_CASE("batcher: evaluation batches hold the last L items of each evaluation history") {
  const Dataset dataset = small_dataset();
  std::vector<EvalUser> eval_users(2);
  eval_users[0].user = 3;
  eval_users[0].history_length = 4;  // 40 41 42 43 | 44
  eval_users[0].targets = {44};
  eval_users[1].user = 1;
  eval_users[1].history_length = 1;  // 20 | 21
  eval_users[1].targets = {21};
  Batch batch;
  make_eval_batch(dataset, eval_users, 0, 2, 3, batch);
  CHECK(batch.size == 2);
  CHECK(batch.capacity == 2);
  CHECK(batch.history == std::vector<int32_t>{41, 42, 43, 20, -1, -1});
  CHECK(batch.lengths == std::vector<int32_t>{3, 1});
  CHECK(batch.users == std::vector<int32_t>{3, 1});
  CHECK(batch.targets == std::vector<int32_t>{-1, -1});
  CHECK(batch.profile == std::vector<int32_t>{1, 1});
  // A smaller request reuses the buffers and clears the rows after it.
  make_eval_batch(dataset, eval_users, 1, 1, 3, batch);
  CHECK(batch.size == 1);
  CHECK(batch.capacity == 2);
  CHECK(batch.history == std::vector<int32_t>{20, -1, -1, -1, -1, -1});
  CHECK(batch.users == std::vector<int32_t>{1, -1});
  CHECK_THROWS_AS(make_eval_batch(dataset, eval_users, 1, 2, 3, batch), std::runtime_error);
}

TEST_CASE("batcher: impossible sizes and an empty training set are rejected") {
  const Dataset dataset = small_dataset();
  CHECK_THROWS_WITH_AS(TrainBatcher(dataset, 0, 3, 1),
                       doctest::Contains("batch_size must be at least 1"), std::runtime_error);
  CHECK_THROWS_WITH_AS(TrainBatcher(dataset, 4, 0, 1),
                       doctest::Contains("max_len must be at least 1"), std::runtime_error);
  Dataset no_samples = small_dataset();
  no_samples.train_users = {2};
  no_samples.training_sample_count = 0;
  CHECK_THROWS_WITH_AS(TrainBatcher(no_samples, 4, 3, 1), doctest::Contains("no training samples"),
                       std::runtime_error);
}
