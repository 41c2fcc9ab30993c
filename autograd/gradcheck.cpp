// The finite-difference gradient checker (see gradcheck.h for the rule it applies).
#include "autograd/gradcheck.h"

#include <cmath>
#include <cstdio>
#include <limits>

#include "autograd/ops.h"
#include "autograd/random.h"

namespace mind {
namespace {

// L = Σ_i w_i f_i over the finite outputs (a masked −∞ output carries no gradient).
double weighted_sum(const Tensor& output, const std::vector<float>& weights) {
  double total = 0.0;
  for (int64_t i = 0; i < output.numel(); ++i)
    if (std::isfinite(output.data()[i])) total += static_cast<double>(weights[i]) * output.data()[i];
  return total;
}

// The analytic gradient of an input as a dense array (a row-sparse one scattered into zeros).
std::vector<double> dense_gradient(Tensor& input) {
  std::vector<double> gradient(input.numel(), 0.0);
  Node& node = *input.node();
  if (node.sparse_gradient) {
    const int64_t width = node.row_gradient.width;
    for (size_t r = 0; r < node.row_gradient.rows.size(); ++r)
      for (int64_t k = 0; k < width; ++k)
        gradient[node.row_gradient.rows[r] * width + k] += node.row_gradient.values[r * width + k];
  } else if (input.has_grad()) {
    for (int64_t i = 0; i < input.numel(); ++i) gradient[i] = input.grad()[i];
  }
  return gradient;
}

}  // namespace

GradcheckResult gradcheck(const std::string& name,
                          const std::function<Tensor(const std::vector<Tensor>&)>& function,
                          const std::vector<Tensor>& inputs, const GradcheckOptions& options) {
  std::vector<Tensor> arguments = inputs;
  bool any_needs_gradient = false;
  for (Tensor& input : arguments)
    if (input.defined() && input.requires_grad()) {
      input.zero_grad();
      any_needs_gradient = true;
    }
  GradcheckResult result;
  if (!any_needs_gradient) {
    result.passed = false;
    result.message = name + ": FAILED: no input needs a gradient, so nothing was checked";
    return result;
  }

  // Analytic: backward of L = Σ w·f over the finite outputs.
  Tensor output = function(arguments);
  Rng rng(options.seed);
  std::vector<float> weights(output.numel());
  std::vector<float> finite(output.numel());
  for (int64_t i = 0; i < output.numel(); ++i) {
    weights[i] = static_cast<float>(2.0 * rng.uniform() - 1.0);
    finite[i] = std::isfinite(output.data()[i]) ? 1.0f : 0.0f;
  }
  const Tensor weight_tensor = Tensor::from_values(output.shape(), weights);
  const Tensor finite_mask = Tensor::from_values(output.shape(), finite);
  Tensor loss = sum_all(mul(masked_fill(output, finite_mask, 0.0f), weight_tensor));
  loss.backward();

  for (size_t input_index = 0; input_index < arguments.size(); ++input_index) {
    Tensor& input = arguments[input_index];
    if (!input.defined() || !input.requires_grad()) continue;
    const std::vector<double> analytic = dense_gradient(input);
    float* values = input.data();
    for (int64_t i = 0; i < input.numel(); ++i) {
      const float original = values[i];
      double plus = 0.0, minus = 0.0;
      {
        NoGrad no_grad;
        values[i] = static_cast<float>(original + options.step);
        plus = weighted_sum(function(arguments), weights);
        values[i] = static_cast<float>(original - options.step);
        minus = weighted_sum(function(arguments), weights);
        values[i] = original;
      }
      const double numeric = (plus - minus) / (2.0 * options.step);
      const double error = std::fabs(analytic[i] - numeric);
      const double allowed = options.absolute_tolerance +
                             options.relative_tolerance * std::max(std::fabs(analytic[i]), std::fabs(numeric));
      const double ratio = std::isfinite(error) ? error / allowed : std::numeric_limits<double>::infinity();
      ++result.checked;
      if (ratio > result.worst_ratio || result.worst_index < 0) {
        result.worst_ratio = ratio;
        result.worst_input = static_cast<int>(input_index);
        result.worst_index = i;
        result.worst_analytic = analytic[i];
        result.worst_numeric = numeric;
      }
    }
  }
  result.passed = result.checked > 0 && result.worst_ratio <= 1.0;
  char text[512];
  std::snprintf(text, sizeof(text),
                "%s: %s; worst element: input %d [index %lld]: analytic %.6g vs numeric %.6g "
                "(error %.3g of the %.3g allowed; %lld elements checked)",
                name.c_str(), result.passed ? "ok" : "FAILED",
                result.worst_input, static_cast<long long>(result.worst_index), result.worst_analytic,
                result.worst_numeric, std::fabs(result.worst_analytic - result.worst_numeric),
                options.absolute_tolerance + options.relative_tolerance *
                    std::max(std::fabs(result.worst_analytic), std::fabs(result.worst_numeric)),
                static_cast<long long>(result.checked));
  result.message = text;
  return result;
}

}  // namespace mind
