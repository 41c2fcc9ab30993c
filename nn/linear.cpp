// Linear layers and the MLP.
#include "nn/linear.h"

#include <stdexcept>

#include "nn/init.h"

namespace mind::nn {

Linear::Linear(const std::string& name, int64_t in_features, int64_t out_features, Rng& rng) {
  weight = glorot_uniform(Shape{out_features, in_features}, rng);
  weight.make_parameter(name + ".weight");
  bias = Tensor::zeros(Shape{out_features});
  bias.make_parameter(name + ".bias");
}

MLP::MLP(const std::string& name, const std::vector<int64_t>& widths, Rng& rng) {
  if (widths.size() < 2) throw std::invalid_argument("MLP " + name + ": needs at least an input and an output width");
  for (size_t i = 0; i + 1 < widths.size(); ++i)
    layers.emplace_back(name + "." + std::to_string(i), widths[i], widths[i + 1], rng);
}

Tensor MLP::forward(const Tensor& input) const {
  Tensor hidden = input;
  for (size_t i = 0; i < layers.size(); ++i) {
    hidden = layers[i].forward(hidden);
    if (i + 1 < layers.size()) hidden = relu(hidden);  // the output layer stays linear
  }
  return hidden;
}

std::vector<Tensor> MLP::parameters() const {
  std::vector<Tensor> all;
  for (const Linear& layer : layers)
    for (const Tensor& parameter : layer.parameters()) all.push_back(parameter);
  return all;
}

}  // namespace mind::nn
