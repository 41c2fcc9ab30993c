// The data-parallel step (train/sliced_step.h) against the plain one: cutting the batch into
// slices, running each on a replica and summing (B_s / B)-weighted gradients must give the
// gradient of one forward and backward over the whole batch, for every model, and the same bits
// whether the slices run on 1 thread or 2.
#include <doctest/doctest.h>
#include <omp.h>

#include <cmath>
#include <cstring>
#include <map>

#include "data/load.h"
#include "train/sliced_step.h"
#include "training_helpers.h"

using namespace mind;

namespace {

struct Setup {
  data::Dataset dataset;
  models::ModelConfig config;
  models::Catalogue catalogue;
};

Setup make_setup(const std::string& model_name) {
  train::TrainOptions options = testing::tiny_options("unused");
  options.model.model = model_name;
  Setup setup{data::build_dataset(data::load_interactions(options.data)), options.model, {}};
  setup.catalogue = models::catalogue_of(setup.dataset);
  return setup;
}

data::Batch first_batch(const data::Dataset& dataset, int64_t batch_size, int64_t max_len) {
  data::TrainBatcher batcher(dataset, batch_size, max_len, 7);
  data::Batch batch;
  REQUIRE(batcher.next(batch));
  return batch;
}

// Every gradient of the model as dense arrays by parameter name (row-sparse ones scattered).
std::map<std::string, std::vector<float>> dense_gradients(const models::Model& model) {
  std::map<std::string, std::vector<float>> all;
  for (Tensor parameter : model.parameters()) {
    std::vector<float> dense(static_cast<size_t>(parameter.numel()), 0.0f);
    if (parameter.node()->sparse_gradient) {
      const RowSparseGradient& rows = parameter.row_gradient();
      for (size_t i = 0; i < rows.rows.size(); ++i)
        for (int64_t k = 0; k < rows.width; ++k)
          dense[rows.rows[i] * rows.width + k] += rows.values[i * rows.width + k];
    } else {
      dense = parameter.grad_values();
    }
    all[parameter.name()] = dense;
  }
  return all;
}

// The master model's gradient after one sliced step (slice_count slices, `threads` threads).
// `rng_seed` seeds the training forward's generator (needed by sampled interest selection).
std::map<std::string, std::vector<float>> sliced_gradients(const Setup& setup, const data::Batch& batch,
                                                            const std::vector<int32_t>& negatives,
                                                            int64_t slice_count, int threads, float* loss,
                                                            uint64_t rng_seed = 0) {
  Rng init(5);
  std::unique_ptr<models::Model> model = models::make_model(setup.config, setup.catalogue, init);
  train::SlicedStep step(*model, setup.catalogue, slice_count);
  // Changed after the replicas were made: they must see it (their tensors are views, not copies).
  for (Tensor parameter : model->parameters())
    if (parameter.name() == "mlp.0.weight") parameter.data()[0] += 0.25f;
  for (Tensor parameter : model->parameters()) parameter.zero_grad();
  const int previous_threads = omp_get_max_threads();
  omp_set_num_threads(threads);
  Rng rng(rng_seed);
  const train::SlicedStepResult result = step.run(batch, negatives, rng_seed == 0 ? nullptr : &rng);
  omp_set_num_threads(previous_threads);
  REQUIRE(result.nonfinite.empty());
  *loss = result.loss;
  return dense_gradients(*model);
}

// The batch's M shared negatives, drawn as the trainer draws them (fixed seed).
std::vector<int32_t> sample_negatives(const Setup& setup) {
  Rng negative_rng(11);
  Rng init(5);
  return models::make_model(setup.config, setup.catalogue, init)->sampler().sample(setup.config.negatives, negative_rng);
}

// Two sliced steps (slice counts and thread counts as given) must give the same bits.
void check_bit_identical(const Setup& setup, const data::Batch& batch, int64_t slices_a, int threads_a,
                         int64_t slices_b, int threads_b, uint64_t rng_seed = 0) {
  const std::vector<int32_t> negatives = sample_negatives(setup);
  float loss_a = 0.0f, loss_b = 0.0f;
  const auto a = sliced_gradients(setup, batch, negatives, slices_a, threads_a, &loss_a, rng_seed);
  const auto b = sliced_gradients(setup, batch, negatives, slices_b, threads_b, &loss_b, rng_seed);
  CHECK(std::memcmp(&loss_a, &loss_b, sizeof(float)) == 0);
  for (const auto& [name, values] : a) {
    CAPTURE(name);
    CHECK(std::memcmp(values.data(), b.at(name).data(), values.size() * sizeof(float)) == 0);
  }
}

}  // namespace

TEST_CASE("sliced step: slice_batch copies the rows it is asked for") {
  const Setup setup = make_setup("mind");
  const data::Batch batch = first_batch(setup.dataset, 9, setup.config.max_len);
  data::Batch slice;
  train::slice_batch(batch, 5, 3, slice);
  REQUIRE(slice.size == 3);
  CHECK(slice.max_len == batch.max_len);
  for (int64_t row = 0; row < 3; ++row) {
    CHECK(slice.lengths[row] == batch.lengths[5 + row]);
    CHECK(slice.targets[row] == batch.targets[5 + row]);
    CHECK(slice.users[row] == batch.users[5 + row]);
    for (int64_t position = 0; position < batch.max_len; ++position)
      CHECK(slice.history[row * batch.max_len + position] == batch.history[(5 + row) * batch.max_len + position]);
    for (int64_t field = 0; field < batch.field_count; ++field)
      CHECK(slice.profile[row * batch.field_count + field] == batch.profile[(5 + row) * batch.field_count + field]);
  }
  CHECK_THROWS_AS(train::slice_batch(batch, 7, 3, slice), std::invalid_argument);
}

TEST_CASE("sliced step: the summed slices give the whole batch's gradient, for every model") {
  for (const std::string model_name : {"mind", "youtube_dnn", "comirec_dr", "comirec_sa"}) {
    // 13 rows: slices of 7 and 6, so the weights B_s / B are not both 1/2.
    for (const int64_t batch_size : {int64_t{13}, int64_t{64}}) {
      CAPTURE(model_name);
      CAPTURE(batch_size);
      const Setup setup = make_setup(model_name);
      const data::Batch batch = first_batch(setup.dataset, batch_size, setup.config.max_len);
      Rng negative_rng(11);
      Rng init(5);
      std::unique_ptr<models::Model> whole = models::make_model(setup.config, setup.catalogue, init);
      const std::vector<int32_t> negatives = whole->sampler().sample(setup.config.negatives, negative_rng);
      for (Tensor parameter : whole->parameters())
        if (parameter.name() == "mlp.0.weight") parameter.data()[0] += 0.25f;
      models::ForwardTrace trace = whole->forward(batch, negatives, nullptr);
      trace.loss.backward();
      const std::map<std::string, std::vector<float>> expected = dense_gradients(*whole);

      float sliced_loss = 0.0f;
      const std::map<std::string, std::vector<float>> sliced =
          sliced_gradients(setup, batch, negatives, 2, 2, &sliced_loss);
      CHECK(sliced_loss == doctest::Approx(trace.loss.item()).epsilon(1e-5));
      REQUIRE(sliced.size() == expected.size());
      double largest_gradient = 0.0;
      for (const auto& [name, values] : expected)
        for (float value : values) largest_gradient = std::max(largest_gradient, std::fabs(double{value}));
      REQUIRE(largest_gradient > 1e-4);  // something to compare
      // float32 sums taken in another order: agreement to about 1e-6 of the largest gradient.
      const double tolerance = 1e-5 * largest_gradient;
      for (const auto& [name, values] : expected) {
        CAPTURE(name);
        const std::vector<float>& got = sliced.at(name);
        REQUIRE(got.size() == values.size());
        double worst = 0.0;
        for (size_t i = 0; i < values.size(); ++i) worst = std::max(worst, std::fabs(double{got[i]} - values[i]));
        CHECK(worst <= tolerance);
      }
    }
  }
}

TEST_CASE("sliced step: a wrong slice weight is caught by the comparison") {
  // The comparison above must be able to fail: a gradient off by a factor of B_0 / B = 1/2 in
  // one slice is far outside its tolerance.
  const Setup setup = make_setup("mind");
  const data::Batch batch = first_batch(setup.dataset, 64, setup.config.max_len);
  const std::vector<int32_t> negatives = sample_negatives(setup);
  float loss = 0.0f;
  const std::map<std::string, std::vector<float>> one_slice = sliced_gradients(setup, batch, negatives, 1, 1, &loss);
  const std::map<std::string, std::vector<float>> two_slices = sliced_gradients(setup, batch, negatives, 2, 1, &loss);
  // One slice is the whole batch: the same sums as the plain step, within float rounding.
  double largest = 0.0, worst = 0.0, worst_if_unweighted = 0.0;
  for (const auto& [name, values] : one_slice) {
    for (size_t i = 0; i < values.size(); ++i) {
      largest = std::max(largest, std::fabs(double{values[i]}));
      worst = std::max(worst, std::fabs(double{two_slices.at(name)[i]} - values[i]));
      // Had the slices' gradients been added without their weights 1/2, this is what we'd see.
      worst_if_unweighted = std::max(worst_if_unweighted, std::fabs(2.0 * two_slices.at(name)[i] - values[i]));
    }
  }
  CHECK(worst <= 1e-5 * largest);
  CHECK(worst_if_unweighted > 0.1 * largest);
}

TEST_CASE("sliced step: 1 and 2 threads give bit-identical gradients and loss") {
  for (const std::string model_name : {"mind", "comirec_sa"}) {
    CAPTURE(model_name);
    const Setup setup = make_setup(model_name);
    check_bit_identical(setup, first_batch(setup.dataset, 64, setup.config.max_len), 2, 1, 2, 2);
  }
}

TEST_CASE("sliced step: 1 and 2 threads give bit-identical results with hard negatives, the routing penalty and sampled interests") {
  // Sampled interest selection draws from a stream per slice; hard negatives and the routing
  // penalty (with gradient through routing) change the loss. ComiRec-SA takes the penalty on A.
  for (const std::string model_name : {"mind", "comirec_sa"}) {
    CAPTURE(model_name);
    Setup setup = make_setup(model_name);
    setup.config.attention.hard = true;
    setup.config.attention.sample = true;
    setup.config.hard_negative_beta = 0.5f;
    setup.config.routing_regularization = 0.1f;
    setup.config.routing_gradient = true;
    const data::Batch batch = first_batch(setup.dataset, 64, setup.config.max_len);
    check_bit_identical(setup, batch, 2, 1, 2, 2, /*rng_seed=*/99);
    // The draws matter: another stream gives another loss (the check above could not pass by
    // ignoring the generator).
    const std::vector<int32_t> negatives = sample_negatives(setup);
    float loss_a = 0.0f, loss_b = 0.0f;
    sliced_gradients(setup, batch, negatives, 2, 2, &loss_a, 99);
    sliced_gradients(setup, batch, negatives, 2, 2, &loss_b, 100);
    CHECK(loss_a != loss_b);
  }
}

TEST_CASE("sliced step: a one-row batch runs as one slice") {
  const Setup setup = make_setup("mind");
  check_bit_identical(setup, first_batch(setup.dataset, 1, setup.config.max_len), 1, 2, 2, 2);
}
