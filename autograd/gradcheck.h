// gradcheck: does an op's (or a layer's) backward agree with finite differences?
// The function's output is reduced to a scalar with fixed random weights w (llm.c's "fake
// loss": L = Σ w·f(x)), backward gives dL/dx, and each input element is also nudged by ±h:
// numeric = (L(x + h) − L(x − h)) / 2h, accumulated in double. They must agree within
// |analytic − numeric| ≤ absolute + relative · max(|analytic|, |numeric|).
#pragma once
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "autograd/tensor.h"

namespace mind {

struct GradcheckOptions {
  double step = 1e-3;                // h; float32 values, so not much smaller
  double absolute_tolerance = 1e-2;  // see the rule above
  double relative_tolerance = 1e-2;
  uint64_t seed = 12345;             // for the output weights w
};

struct GradcheckResult {
  bool passed = true;
  int64_t checked = 0;        // input elements compared
  // The worst element (largest error relative to what the tolerance allows):
  double worst_ratio = 0.0;   // |a − n| / (absolute + relative·max(|a|, |n|)); passed iff ≤ 1
  int worst_input = -1;
  int64_t worst_index = -1;
  double worst_analytic = 0.0, worst_numeric = 0.0;
  std::string message;        // "<name>: input 1 [index 5]: analytic 0.12 vs numeric 0.31 ..."
};

// Checks every input that requires grad. `function` must be deterministic: it is called once
// with gradients recorded and then twice per input element under NoGrad.
GradcheckResult gradcheck(const std::string& name,
                          const std::function<Tensor(const std::vector<Tensor>&)>& function,
                          const std::vector<Tensor>& inputs, const GradcheckOptions& options = {});

}  // namespace mind
