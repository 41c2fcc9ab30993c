// Global-norm clipping: one deterministic sum of squares over all gradients, then one scale.
#include "nn/clip.h"

#include <cmath>
#include <stdexcept>
#include <string>

#include "autograd/kernels.h"
#include "nn/optimizer.h"

namespace mind::nn {

namespace {

constexpr int sum_lanes = 32;

// Σ x² in double, as 32 interleaved partial sums combined in a fixed order at the end:
// independent partial sums let the compiler vectorise the loop, and the order never changes.
// Why 32: each partial sum waits for its previous multiply-add (about 4 cycles), so the loop
// runs as fast as it has sums in flight. With 8 (two vectors of 4 doubles) it took 0.04 ms of
// a 1.6 ms step on MIND's ~200 000 gradient values, serially, between the two threads' work;
// with 32 about 0.02 ms. The few values beyond the last whole group go to lanes 0, 1, ...
double sum_of_squares(const float* x, int64_t count) {
  double partial[sum_lanes] = {};
  int64_t i = 0;
  for (; i + sum_lanes <= count; i += sum_lanes)
    for (int lane = 0; lane < sum_lanes; ++lane) {
      const double element = x[i + lane];
      partial[lane] += element * element;
    }
  for (int lane = 0; i < count; ++i, ++lane) {
    const double element = x[i];
    partial[lane] += element * element;
  }
  double total = 0.0;
  for (int lane = 0; lane < sum_lanes; ++lane) total += partial[lane];
  return total;
}

}  // namespace

float gradient_norm(const std::vector<Tensor>& parameters) {
  double total = 0.0;
  for (Tensor parameter : parameters) {
    if (!parameter.defined())
      throw std::runtime_error("gradient_norm: an empty Tensor handle in the list");
    double parameter_total = 0.0;
    if (parameter.node()->sparse_gradient) {
      require_only_row_gradient(parameter, "gradient_norm");
      check_row_gradient(parameter, "gradient_norm");
      RowSparseGradient& gradient = parameter.row_gradient();
      parameter_total = sum_of_squares(gradient.values.data(),
                                       static_cast<int64_t>(gradient.values.size()));
    } else if (parameter.has_grad()) {
      parameter_total = sum_of_squares(parameter.grad(), parameter.numel());
    }
    // Squares of finite floats cannot overflow a double, so a non-finite sum means a NaN or an
    // Inf in this very gradient.
    if (!std::isfinite(parameter_total))
      throw std::runtime_error("gradient_norm: the gradient of '" + parameter.name() +
                               "' contains NaN or Inf");
    total += parameter_total;
  }
  return static_cast<float>(std::sqrt(total));
}

float clip_grad_norm(const std::vector<Tensor>& parameters, float max_norm) {
  if (!(std::isfinite(max_norm) && max_norm > 0.0f))
    throw std::runtime_error("clip_grad_norm: max_norm must be a finite number > 0, got " +
                             std::to_string(max_norm));
  const float norm = gradient_norm(parameters);
  if (norm <= max_norm) return norm;
  const float factor =
      static_cast<float>(static_cast<double>(max_norm) / (static_cast<double>(norm) + 1e-6));
  for (Tensor parameter : parameters) {
    if (parameter.node()->sparse_gradient) {
      std::vector<float>& values = parameter.row_gradient().values;
      kernels::scale(factor, values.data(), static_cast<int64_t>(values.size()));
    } else if (parameter.has_grad()) {
      kernels::scale(factor, parameter.grad(), parameter.numel());
    }
  }
  return norm;
}

}  // namespace mind::nn
