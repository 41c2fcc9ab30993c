// The finite-difference gradient checker (see gradcheck.h for the rule it applies).
#include "autograd/gradcheck.h"

#include <cmath>
#include <cstdio>
#include <limits>

#include "autograd/ops.h"
#include "autograd/random.h"

namespace mind {
namespace {

// Half the spacing of floats near 1: a float result is off by at least this much, relatively.
constexpr double float_rounding = 0x1.0p-24;

// The finite outputs of f at the two nudged points, reduced in double to what the numeric
// derivative needs (a masked −∞ output carries no gradient).
struct Difference {
  double weighted = 0.0;  // Σ_i w_i (f_i(x + h) − f_i(x − h))
  double rounding = 0.0;  // Σ_i |w_i| (|f_i(x + h)| + |f_i(x − h)|) · 2⁻²⁴ over the outputs that moved
};

// Outputs that did not move carry nothing into the difference; they are left out of the blur too,
// since most of them do not depend on the nudged element. A single output (a loss) depends on
// every input, so it is counted even when the nudge moved it by less than its float spacing.
Difference difference(const Tensor& plus, const Tensor& minus, const std::vector<float>& weights) {
  Difference result;
  const bool single_output = plus.numel() == 1;
  for (int64_t i = 0; i < plus.numel(); ++i) {
    const double high = plus.data()[i], low = minus.data()[i];
    if (!std::isfinite(high) || !std::isfinite(low) || (high == low && !single_output)) continue;
    result.weighted += static_cast<double>(weights[i]) * (high - low);
    result.rounding += std::fabs(static_cast<double>(weights[i])) * (std::fabs(high) + std::fabs(low)) * float_rounding;
  }
  return result;
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
      // The nudged values are floats: divide by the step they really are, not by 2h.
      const float above = static_cast<float>(original + options.step);
      const float below = static_cast<float>(original - options.step);
      Difference change;
      {
        NoGrad no_grad;
        values[i] = above;
        const Tensor plus = function(arguments);
        values[i] = below;
        const Tensor minus = function(arguments);
        values[i] = original;
        change = difference(plus, minus, weights);
      }
      const double width = static_cast<double>(above) - static_cast<double>(below);
      const double numeric = change.weighted / width;
      const double rounding = change.rounding / width;  // what float outputs alone blur
      const double error = std::fabs(analytic[i] - numeric);
      const double allowed = options.absolute_tolerance + options.rounding_tolerance * rounding +
                             options.relative_tolerance * std::max(std::fabs(analytic[i]), std::fabs(numeric));
      const double ratio = std::isfinite(error) ? error / allowed : std::numeric_limits<double>::infinity();
      ++result.checked;
      if (ratio > result.worst_ratio || result.worst_index < 0) {
        result.worst_ratio = ratio;
        result.worst_input = static_cast<int>(input_index);
        result.worst_index = i;
        result.worst_analytic = analytic[i];
        result.worst_numeric = numeric;
        result.worst_allowed = allowed;
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
                result.worst_allowed,
                static_cast<long long>(result.checked));
  result.message = text;
  return result;
}

}  // namespace mind
