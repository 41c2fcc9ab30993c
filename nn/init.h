// Parameter initialisation (docs/design.md §2.7): embeddings N(0, 1/d), linear weights and the routing
// map Glorot-uniform, biases 0, routing logits N(0, 1). All draws come from the run's one Rng,
// in the order the model creates its parameters, so one --seed fixes every starting value.
#pragma once
#include <cmath>
#include <string>

#include "autograd/random.h"
#include "autograd/tensor.h"

namespace mind::nn {

// Values N(0, std²).
inline Tensor normal_tensor(const Shape& shape, double standard_deviation, Rng& rng) {
  Tensor tensor = Tensor::zeros(shape);
  for (int64_t i = 0; i < tensor.numel(); ++i)
    tensor.data()[i] = static_cast<float>(standard_deviation * rng.normal());
  return tensor;
}

// Glorot (Xavier) uniform for a [fan_out, fan_in] matrix: U(−a, a), a = sqrt(6 / (fan_in + fan_out)).
inline Tensor glorot_uniform(const Shape& shape, Rng& rng) {
  const int64_t fan_out = shape.size(-2), fan_in = shape.size(-1);
  const double limit = std::sqrt(6.0 / static_cast<double>(fan_in + fan_out));
  Tensor tensor = Tensor::zeros(shape);
  for (int64_t i = 0; i < tensor.numel(); ++i)
    tensor.data()[i] = static_cast<float>(limit * (2.0 * rng.uniform() - 1.0));
  return tensor;
}

}  // namespace mind::nn
