// Linear (y = x Wᵀ + b, PyTorch's layout: W is [out, in]) and the MLP built from them:
// ReLU between layers, the last layer linear.
#pragma once
#include <string>
#include <vector>

#include "autograd/ops.h"
#include "autograd/random.h"

namespace mind::nn {

class Linear {
 public:
  Linear() = default;
  // Glorot-uniform weight, zero bias; parameters named "<name>.weight" and "<name>.bias".
  Linear(const std::string& name, int64_t in_features, int64_t out_features, Rng& rng);

  Tensor forward(const Tensor& input) const { return linear(input, weight, bias); }  // [..., in] → [..., out]
  std::vector<Tensor> parameters() const { return {weight, bias}; }

  Tensor weight;  // [out, in]
  Tensor bias;    // [out]
};

class MLP {
 public:
  MLP() = default;
  // widths = {in, hidden..., out}; layer i is named "<name>.<i>".
  MLP(const std::string& name, const std::vector<int64_t>& widths, Rng& rng);

  Tensor forward(const Tensor& input) const;  // [..., in] → [..., out]
  std::vector<Tensor> parameters() const;

  std::vector<Linear> layers;
};

}  // namespace mind::nn
