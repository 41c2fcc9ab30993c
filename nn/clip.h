// Gradient clipping by global norm: if the norm of all gradients together (dense and
// row-sparse) exceeds max_norm, every gradient is scaled by the same factor to bring it back.
// Call it between backward() and the optimizer's step(). It does not look at values or state.
#pragma once
#include <vector>

#include "autograd/tensor.h"

namespace mind::nn {

// √(Σ g²) over every parameter's gradient. A table's row gradient lists each row once (repeated
// ids are summed on append), so its norm is that of the summed rows. A dense parameter without a grad buffer counts as zero. The sum is
// accumulated in double in a fixed order: the same bits on every run and thread count.
// A NaN or Inf in a gradient throws std::runtime_error naming the (first such) parameter.
float gradient_norm(const std::vector<Tensor>& parameters);

// Scales every gradient by max_norm / (norm + 1e-6) when norm > max_norm (the 1e-6, as in
// PyTorch, keeps the result just under max_norm); otherwise leaves them untouched. Returns the
// norm before clipping, for logging. max_norm must be finite and > 0.
float clip_grad_norm(const std::vector<Tensor>& parameters, float max_norm);

}  // namespace mind::nn
