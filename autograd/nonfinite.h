// Finding where a NaN or an infinity first appeared in a graph, so training that blows up can
// say "step 812: the op 'log' produced inf (from finite inputs)" instead of only "loss is nan".
#pragma once
#include <string>

#include "autograd/tensor.h"

namespace mind {

// Walks the graph behind `root` with parents before children and describes the first node
// holding a non-finite value: a parameter by name, an op by name with its shape, and the first
// such element. Masked −∞ entries that an op produces on purpose (log_softmax, masked_fill
// with −∞) are skipped. Returns "" when every value is finite.
std::string first_nonfinite(const Tensor& root);

}  // namespace mind
