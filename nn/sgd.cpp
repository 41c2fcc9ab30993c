// SGD's step: one axpy per dense parameter, one per touched row of a table, with an optional
// momentum buffer updated the same way just before.
#include "nn/sgd.h"

#include <cmath>
#include <stdexcept>
#include <string>

#include "autograd/kernels.h"

namespace mind::nn {

namespace {

SgdSettings checked(const SgdSettings& settings) {
  if (!(settings.momentum >= 0.0 && settings.momentum < 1.0))
    throw std::runtime_error("SGD: momentum must be in [0, 1), got " +
                             std::to_string(settings.momentum));
  return settings;
}

}  // namespace

SGD::SGD(std::vector<Tensor> parameters, SgdSettings settings)
    : Optimizer(std::move(parameters), checked(settings).learning_rate, "SGD"),
      momentum_(settings.momentum) {
  if (momentum_ > 0.0)
    for (const Tensor& parameter : parameters_)
      momentum_position_.push_back(
          add_state_array(parameter.name() + ".momentum_buffer", parameter.shape()));
}

void SGD::step() {
  // Check every gradient before changing anything, so that an error leaves no half-done step.
  for (Tensor& parameter : parameters_) {
    if (!parameter.node()->sparse_gradient) continue;
    require_only_row_gradient(parameter, optimizer_name_);
    check_row_gradient(parameter, optimizer_name_);
  }
  for (size_t index = 0; index < parameters_.size(); ++index) {
    Tensor& parameter = parameters_[index];
    if (parameter.node()->sparse_gradient)
      sparse_step(parameter, index);
    else
      dense_step(parameter, index);
  }
  ++step_count_;
}

void SGD::dense_step(Tensor& parameter, size_t index) {
  if (!parameter.has_grad()) return;
  float* value = parameter.data();           // [numel]
  const float* gradient = parameter.grad();  // [numel]
  const int64_t count = parameter.numel();
  const float step = static_cast<float>(-learning_rate());
  if (momentum_ == 0.0) {
    kernels::axpy(step, gradient, value, count);
    return;
  }
  float* buffer = state_values(momentum_position_[index]);  // [numel]
  kernels::scale(static_cast<float>(momentum_), buffer, count);
  kernels::axpy(1.0f, gradient, buffer, count);
  kernels::axpy(step, buffer, value, count);
}

void SGD::sparse_step(Tensor& table, size_t index) {
  RowSparseGradient& gradient = table.row_gradient();
  // Repeated ids were summed as they were appended: with momentum the update is not linear in
  // the gradient; without it, each row still gets a single, fixed-order update.
  const int64_t width = table.size(1);
  const int64_t touched_rows = static_cast<int64_t>(gradient.rows.size());
  float* value = table.data();                           // [N, d]
  const float* row_gradients = gradient.values.data();   // [R, d]
  float* buffer = momentum_ > 0.0 ? state_values(momentum_position_[index]) : nullptr;  // [N, d]
  const float step = static_cast<float>(-learning_rate());
  const float momentum = static_cast<float>(momentum_);
  for (int64_t entry = 0; entry < touched_rows; ++entry) {
    const int64_t offset = static_cast<int64_t>(gradient.rows[entry]) * width;
    const float* row_gradient = row_gradients + entry * width;
    if (buffer == nullptr) {
      kernels::axpy(step, row_gradient, value + offset, width);
    } else {
      kernels::scale(momentum, buffer + offset, width);
      kernels::axpy(1.0f, row_gradient, buffer + offset, width);
      kernels::axpy(step, buffer + offset, value + offset, width);
    }
  }
}

}  // namespace mind::nn
