// Every op of the engine, by family. Each is implemented in the ops_<family>.cpp named above
// its group, with its backward right below its forward and the derivative in a comment.
// Ops work on whole tensors; their inner loops go through autograd/kernels.h.
#pragma once
#include <cstdint>
#include <vector>

#include "autograd/tensor.h"

namespace mind {

// ---- ops_elementwise.cpp ----------------------------------------------------------------
// Binary ops broadcast `b` over `a` numpy-style, in one direction only: after left-padding
// b's shape with 1s, each of b's axes equals a's or is 1 (a scalar, a row vector over a
// matrix, a [B, K, 1] column over [B, K, d]). The result has a's shape.
Tensor add(const Tensor& a, const Tensor& b);
Tensor sub(const Tensor& a, const Tensor& b);
Tensor mul(const Tensor& a, const Tensor& b);
Tensor div(const Tensor& a, const Tensor& b);
Tensor scale(const Tensor& x, float factor);
Tensor add_scalar(const Tensor& x, float value);
Tensor exp(const Tensor& x);
Tensor log(const Tensor& x);
Tensor relu(const Tensor& x);
Tensor tanh(const Tensor& x);
// sign(x)·|x|^p: a real power that is defined for negative x (label-aware attention).
Tensor signed_pow(const Tensor& x, float power);

// ---- ops_reduce.cpp ---------------------------------------------------------------------
Tensor sum(const Tensor& x, int axis);   // removes the axis
Tensor mean(const Tensor& x, int axis);
Tensor sum_all(const Tensor& x);         // shape [1]
Tensor mean_all(const Tensor& x);

// ---- ops_matmul.cpp ---------------------------------------------------------------------
// [m, k] × [k, n] → [m, n]; with transpose_b, b is stored [n, k].
Tensor matmul(const Tensor& a, const Tensor& b, bool transpose_b = false);
// [B, m, k] × [B, k, n] → [B, m, n], with optional transposes of either operand's last two axes.
Tensor batched_matmul(const Tensor& a, const Tensor& b, bool transpose_a = false,
                      bool transpose_b = false);
// y = x Wᵀ + b for x [..., in], W [out, in] (PyTorch's layout), b [out] → [..., out].
Tensor linear(const Tensor& x, const Tensor& weight, const Tensor& bias);

// ---- ops_shape.cpp ----------------------------------------------------------------------
Tensor reshape(const Tensor& x, const Shape& shape);  // same values, new shape (a view)
Tensor transpose_last(const Tensor& x);               // swap the last two axes
Tensor swap_axes(const Tensor& x, int axis_a, int axis_b);  // any two axes (a copy)
Tensor concat_last(const Tensor& a, const Tensor& b); // along the last axis
// Every input row b of x [B, K, d] → the row x[b, index[b]] → [B, d] (argmax selection).
Tensor select_rows(const Tensor& x, const std::vector<int32_t>& index);
Tensor stop_gradient(const Tensor& x);                // = x.detach()
// x [B, w] → [B, count, w], each row repeated `count` times (a user's profile beside each
// of their K interests).
Tensor repeat_rows(const Tensor& x, int64_t count);

// ---- ops_gather.cpp ---------------------------------------------------------------------
// Embedding lookup: out[i] = table[ids[i]] for a table [N, d]; ids < 0 are padding and give a
// zero row with no gradient. `leading` is the shape of ids (e.g. {B, L}); out is leading + [d].
// If the table is a sparse parameter its gradient is row-sparse (ids + rows), else dense.
Tensor gather_rows(const Tensor& table, const std::vector<int32_t>& ids, const Shape& leading);

// ---- ops_softmax.cpp --------------------------------------------------------------------
// mask: a tensor of x's shape, 1 = keep, 0 = masked (or undefined = no mask). Masked entries
// take probability 0; a slice with everything masked is all zeros.
Tensor softmax(const Tensor& x, int axis, const Tensor& mask = Tensor());
Tensor log_softmax(const Tensor& x, const Tensor& mask = Tensor());  // over the last axis
// Where mask is 0, x is replaced by `value` (gradient 0 there).
Tensor masked_fill(const Tensor& x, const Tensor& mask, float value);
// Mean over rows of −log softmax(logits)[row, target[row]]; logits [B, C]; mask as above (a
// masked column is −∞: removed). The fused backward is (softmax − onehot) / B.
Tensor cross_entropy(const Tensor& logits, const std::vector<int32_t>& targets,
                     const Tensor& mask = Tensor());

// ---- ops_vector.cpp ---------------------------------------------------------------------
// Along the last axis: dot of two same-shape tensors → one axis fewer.
Tensor dot_last(const Tensor& a, const Tensor& b);
// squash(z) = (|z|² / (1 + |z|²))^power · z / sqrt(|z|² + eps), along the last axis.
Tensor squash(const Tensor& z, float power = 1.0f, float eps = 1e-8f);
// The same for one row of `width` floats, and its backward (dz += ...), for fused layers that
// squash inside their own loops (nn/capsule_routing.cpp).
void squash_row(const float* z, float* y, int64_t width, float power, float eps);
void squash_row_backward(const float* z, const float* dy, float* dz, int64_t width, float power, float eps);
// x / sqrt(|x|² + eps) along the last axis.
Tensor l2_normalize(const Tensor& x, float eps = 1e-12f);

// Not an op (no gradient): for each row of x [B, K] the index of its largest entry among those
// whose mask is 1 (the lowest index on ties); mask may be undefined.
std::vector<int32_t> argmax_last(const Tensor& x, const Tensor& mask = Tensor());

}  // namespace mind
