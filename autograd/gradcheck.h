// gradcheck: does an op's (or a layer's) backward agree with finite differences?
// The function's output is reduced to a scalar with fixed random weights w (llm.c's "fake
// loss": L = Σ w·f(x)), backward gives dL/dx, and each input element is also nudged by ±h:
// numeric = Σ w·(f(x + h) − f(x − h)) / (x₊ − x₋), accumulated in double, where x₊ and x₋ are the
// nudged values as floats (so the step is the one really taken, not 2h).
//
// The tolerance rule (for the author of a new op or layer)
//   |analytic − numeric| ≤ 1e-5 + 4·r + 1e-3·max(|analytic|, |numeric|)
// where r = Σ |w|·(|f(x₊)| + |f(x₋)|)·2⁻²⁴ / (x₊ − x₋) over the outputs the nudge moved (a single
// output always counts) is the blur that rounding the float32 outputs alone puts on the numeric
// side. The relative part, 1e-3, is what catches mistakes: a term of the backward scaled by 0.98
// or a coefficient off by a third fails it (tests/autograd/test_gradcheck_mutations.cpp, for
// exp, tanh, log, signed_pow, div, softmax, l2_normalize and squash); the old default of 1e-2
// absolute + 1e-2 relative let 8 of those 28 mistakes through. The rounding part lets a function
// with large outputs and small gradients pass without loosening the rule for small ones.
//   * Draw inputs over ±4 (or the op's domain), not ±1: over ±1 exp, tanh, softmax and squash are
//     nearly linear, and a wrong curvature term hides. Use h = 1e-3 (the default): smaller steps
//     drown in float rounding, larger ones in the h²·f‴/6 truncation error.
//   * Keep non-smooth points away explicitly: relu at 0, signed_pow and log near 0, argmax and
//     max ties (and hard attention's choice) must be further than h from flipping under a nudge;
//     say so where the inputs are made.
//   * Do not loosen the tolerance to make a check pass. If an op truly needs more (a long chain
//     of float operations, near-cancelling terms), set GradcheckOptions for that check only and
//     state the measured reason beside it. Every op and layer check in tests/ passes the default
//     rule, the worst element using about half of what it allows.
//   * A check that cannot fail is a defect: add the op's backward with one term scaled by 0.98 to
//     the mutation test, or check once by hand that it fails.
#pragma once
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "autograd/tensor.h"

namespace mind {

struct GradcheckOptions {
  double step = 1e-3;                // h; float32 values, so not much smaller
  double relative_tolerance = 1e-3;  // the rule above
  double absolute_tolerance = 1e-5;
  double rounding_tolerance = 4.0;   // multiples of the float outputs' rounding blur r
  uint64_t seed = 12345;             // for the output weights w
};

struct GradcheckResult {
  bool passed = true;
  int64_t checked = 0;        // input elements compared
  // The worst element (largest error relative to what the tolerance allows):
  double worst_ratio = 0.0;   // |a − n| / what the rule allows there; passed iff ≤ 1
  int worst_input = -1;
  int64_t worst_index = -1;
  double worst_analytic = 0.0, worst_numeric = 0.0;
  double worst_allowed = 0.0;  // the tolerance at that element
  std::string message;        // "<name>: input 1 [index 5]: analytic 0.12 vs numeric 0.31 ..."
};

// Checks every input that requires grad. `function` must be deterministic: it is called once
// with gradients recorded and then twice per input element under NoGrad.
GradcheckResult gradcheck(const std::string& name,
                          const std::function<Tensor(const std::vector<Tensor>&)>& function,
                          const std::vector<Tensor>& inputs, const GradcheckOptions& options = {});

}  // namespace mind
