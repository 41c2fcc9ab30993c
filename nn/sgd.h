// Stochastic gradient descent, optionally with (heavy-ball) momentum, for dense parameters and
// tables alike. A table's step touches only the rows in its row gradient. Mostly a baseline and
// a teaching step before Adam; the trainer uses Adam (nn/adam.h).
#pragma once
#include <vector>

#include "nn/optimizer.h"

namespace mind::nn {

struct SgdSettings {
  double learning_rate = 0.01;
  double momentum = 0.0;  // in [0, 1); 0 means plain SGD and no state at all
};

// Plain:          p ← p − lr · g
// With momentum:  b ← μ · b + g,  p ← p − lr · b   (PyTorch's form; b starts at 0, so b = g
//                                                   after the first step)
// On a table, momentum is lazy like LazyAdam: only touched rows' buffers move, so an untouched
// row neither drifts on its old momentum nor has it decay. Repeated row ids are summed first.
// State (with momentum only): `<name>.momentum_buffer`, shaped like the parameter.
// A dense parameter that has never received a gradient (no grad buffer) is left alone.
class SGD : public Optimizer {
 public:
  explicit SGD(std::vector<Tensor> parameters, SgdSettings settings = {});
  void step() override;

  double momentum() const { return momentum_; }

 private:
  void dense_step(Tensor& parameter, size_t index);
  void sparse_step(Tensor& table, size_t index);

  double momentum_;
  std::vector<size_t> momentum_position_;  // parallel to parameters(), when momentum_ > 0
};

}  // namespace mind::nn
