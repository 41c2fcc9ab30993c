// Small helpers shared by the nn layer tests (test_layer_gradients.cpp, test_layer_behaviour.cpp):
// asserting a gradient check, and padded histories laid out as routing and attention expect.
// Not here: random tensors and approximate comparisons (tests/test_helpers.h).
#pragma once
#include <cstdint>
#include <vector>

#include <doctest/doctest.h>

#include "autograd/gradcheck.h"
#include "autograd/random.h"
#include "autograd/tensor.h"

namespace mind::testing {

// A failing check prints the checker's message: layer, input, element and both numbers.
inline void expect_gradcheck_passes(const GradcheckResult& result) {
  INFO(result.message);
  CHECK(result.passed);
}

// A history [B, L, d] as the models build it (docs/design.md §2.3): row b holds lengths[b] real
// behaviours at positions 0..n−1, values uniform in [-1, 1), and zero padding after them.
inline Tensor padded_history(int64_t max_length, int64_t width, const std::vector<int32_t>& lengths,
                             Rng& rng) {
  const int64_t batch = static_cast<int64_t>(lengths.size());
  std::vector<float> values(batch * max_length * width, 0.0f);  // [B, L, d]
  for (int64_t b = 0; b < batch; ++b)
    for (int64_t i = 0; i < lengths[b]; ++i)
      for (int64_t k = 0; k < width; ++k)
        values[(b * max_length + i) * width + k] = static_cast<float>(2.0 * rng.uniform() - 1.0);
  return Tensor::from_values(Shape{batch, max_length, width}, values, /*requires_grad=*/true);
}

}  // namespace mind::testing
