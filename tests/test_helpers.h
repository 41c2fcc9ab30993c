// Small helpers shared by the test suites: random tensors and approximate comparisons.
#pragma once
#include <cmath>
#include <vector>

#include <doctest/doctest.h>

#include "autograd/random.h"
#include "autograd/tensor.h"

namespace mind::testing {

// Values uniform in [low, high), from a seeded generator.
inline Tensor random_tensor(const Shape& shape, Rng& rng, bool requires_grad = true,
                            float low = -1.0f, float high = 1.0f) {
  std::vector<float> values(shape.numel());
  for (float& value : values) value = low + (high - low) * static_cast<float>(rng.uniform());
  return Tensor::from_values(shape, values, requires_grad);
}

// Values whose magnitude is at least `gap` (kept away from kinks such as relu's at 0).
inline Tensor random_away_from_zero(const Shape& shape, Rng& rng, float gap = 0.1f) {
  std::vector<float> values(shape.numel());
  for (float& value : values) {
    const float magnitude = gap + (1.0f - gap) * static_cast<float>(rng.uniform());
    value = rng.uniform() < 0.5 ? -magnitude : magnitude;
  }
  return Tensor::from_values(shape, values, true);
}

inline void check_close(const std::vector<float>& actual, const std::vector<float>& expected,
                        double tolerance = 1e-5) {
  REQUIRE(actual.size() == expected.size());
  for (size_t i = 0; i < actual.size(); ++i) {
    INFO("index " << i << ": " << actual[i] << " vs expected " << expected[i]);
    CHECK(std::fabs(static_cast<double>(actual[i]) - expected[i]) <= tolerance * (1.0 + std::fabs(expected[i])));
  }
}

}  // namespace mind::testing
