// Adam's bookkeeping: which spans get the update rule of nn/adam_update.h, at which step.
// Dense parameters are one span (split into fixed chunks across threads); a table gives one
// span per touched row, after its repeated row ids have been summed.
#include "nn/adam.h"

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <string>

#include "autograd/kernels.h"
#include "autograd/parallel.h"

namespace mind::nn {

namespace {

// Below this many floats a second thread costs more to wake than it saves (a step reads four
// arrays and writes three, so it is memory-bound like axpy, but does more per element).
constexpr int64_t parallel_min = 1 << 16;
// A fixed unit of parallel work: the split never depends on the thread count (and even if it
// did, adam_update gives every element the same instructions wherever it falls).
constexpr int64_t chunk_size = 1 << 14;

AdamSettings checked(const AdamSettings& settings, const char* optimizer_name) {
  const std::string caller = optimizer_name;
  const auto check_beta = [&](double beta, const char* which) {
    if (!(beta >= 0.0 && beta < 1.0))
      throw std::runtime_error(caller + ": " + which + " must be in [0, 1), got " +
                               std::to_string(beta));
  };
  check_beta(settings.beta1, "beta1");
  check_beta(settings.beta2, "beta2");
  // ε > 0: an element whose gradient has always been 0 has m = v = 0, and 0 / (0 + ε) = 0.
  if (!(std::isfinite(settings.epsilon) && settings.epsilon > 0.0))
    throw std::runtime_error(caller + ": epsilon must be a finite number > 0, got " +
                             std::to_string(settings.epsilon));
  if (!(std::isfinite(settings.weight_decay) && settings.weight_decay >= 0.0))
    throw std::runtime_error(caller + ": weight_decay must be a finite number >= 0, got " +
                             std::to_string(settings.weight_decay));
  return settings;
}

std::vector<Tensor> only_dense(std::vector<Tensor> parameters) {
  for (const Tensor& parameter : parameters)
    if (parameter.defined() && parameter.node()->sparse_gradient)
      throw std::runtime_error("Adam: parameter '" + parameter.name() +
                               "' is a table with a row-sparse gradient; train it with LazyAdam, "
                               "or use AdamWithLazyTables for dense parameters and tables "
                               "together");
  return parameters;
}

std::vector<Tensor> only_tables(std::vector<Tensor> parameters) {
  for (const Tensor& parameter : parameters)
    if (parameter.defined() && !parameter.node()->sparse_gradient)
      throw std::runtime_error("LazyAdam: parameter '" + parameter.name() +
                               "' is dense (not made with make_parameter(name, true)); train it "
                               "with Adam, or use AdamWithLazyTables for both kinds");
  return parameters;
}

}  // namespace

AdamWithLazyTables::AdamWithLazyTables(std::vector<Tensor> parameters, AdamSettings settings)
    : AdamWithLazyTables(std::move(parameters), settings, "AdamWithLazyTables") {}

AdamWithLazyTables::AdamWithLazyTables(std::vector<Tensor> parameters, AdamSettings settings,
                                       const char* optimizer_name)
    : Optimizer(std::move(parameters), checked(settings, optimizer_name).learning_rate,
                optimizer_name),
      beta1_(settings.beta1), beta2_(settings.beta2), epsilon_(settings.epsilon),
      weight_decay_(settings.weight_decay) {
  // The moments of a table are dense [N, d] too, allocated once here; a lazy step reads and
  // writes only the touched rows of them.
  for (const Tensor& parameter : parameters_) {
    exp_avg_position_.push_back(add_state_array(parameter.name() + ".exp_avg", parameter.shape()));
    exp_avg_sq_position_.push_back(
        add_state_array(parameter.name() + ".exp_avg_sq", parameter.shape()));
  }
}

Adam::Adam(std::vector<Tensor> parameters, AdamSettings settings)
    : AdamWithLazyTables(only_dense(std::move(parameters)), settings, "Adam") {}

LazyAdam::LazyAdam(std::vector<Tensor> parameters, AdamSettings settings)
    : AdamWithLazyTables(only_tables(std::move(parameters)), settings, "LazyAdam") {}

void AdamWithLazyTables::step() {
  // Check every gradient before changing anything, so that an error leaves no half-done step.
  for (Tensor& parameter : parameters_) {
    if (!parameter.node()->sparse_gradient) continue;
    require_only_row_gradient(parameter, optimizer_name_);
    check_row_gradient(parameter, optimizer_name_);
  }
  const int64_t step_number = step_count_ + 1;  // t = 1 on the first step
  const AdamCoefficients coefficients =
      adam_coefficients(learning_rate(), beta1_, beta2_, epsilon_, step_number, weight_decay_);
  for (size_t index = 0; index < parameters_.size(); ++index) {
    Tensor& parameter = parameters_[index];
    if (parameter.node()->sparse_gradient)
      lazy_step(parameter, index, coefficients);
    else
      dense_step(parameter, index, coefficients);
  }
  step_count_ = step_number;
}

void AdamWithLazyTables::dense_step(Tensor& parameter, size_t index,
                                    const AdamCoefficients& coefficients) {
  if (!parameter.has_grad()) return;
  float* value = parameter.data();                                    // [numel]
  const float* gradient = parameter.grad();                           // [numel]
  float* exp_avg = state_values(exp_avg_position_[index]);            // [numel]
  float* exp_avg_sq = state_values(exp_avg_sq_position_[index]);      // [numel]
  const int64_t count = parameter.numel();
  const int64_t chunk_count = (count + chunk_size - 1) / chunk_size;
  parallel_for(chunk_count, count >= parallel_min, [&](int64_t chunk) {
    const int64_t begin = chunk * chunk_size;
    const int64_t length = std::min(chunk_size, count - begin);
    adam_update(value + begin, gradient + begin, exp_avg + begin, exp_avg_sq + begin, length,
                coefficients);
  });
}

void AdamWithLazyTables::lazy_step(Tensor& table, size_t index,
                                   const AdamCoefficients& coefficients) {
  RowSparseGradient& gradient = table.row_gradient();
  // Repeated ids were summed as they were appended (two updates with g1 and g2 would not be one
  // update with g1 + g2: Adam is not linear in the gradient).
  const int64_t width = table.size(1);
  const int64_t touched_rows = static_cast<int64_t>(gradient.rows.size());
  float* value = table.data();                                        // [N, d]
  float* exp_avg = state_values(exp_avg_position_[index]);            // [N, d]
  float* exp_avg_sq = state_values(exp_avg_sq_position_[index]);      // [N, d]
  const int32_t* rows = gradient.rows.data();                         // [R], distinct
  const float* row_gradients = gradient.values.data();                // [R, d]
  // Distinct rows are independent, so threads may share them out freely.
  parallel_for(touched_rows, touched_rows * width >= parallel_min, [&](int64_t entry) {
    if (entry + kernels::prefetch_rows_ahead < touched_rows) {
      const int64_t ahead = static_cast<int64_t>(rows[entry + kernels::prefetch_rows_ahead]) * width;
      const int64_t bytes = width * static_cast<int64_t>(sizeof(float));
      kernels::prefetch_for_write(value + ahead, bytes);
      kernels::prefetch_for_write(exp_avg + ahead, bytes);
      kernels::prefetch_for_write(exp_avg_sq + ahead, bytes);
    }
    const int64_t offset = static_cast<int64_t>(rows[entry]) * width;
    adam_update(value + offset, row_gradients + entry * width, exp_avg + offset,
                exp_avg_sq + offset, width, coefficients);
  });
}

}  // namespace mind::nn
