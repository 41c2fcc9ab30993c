// Ops on vectors along the last axis: dot, squash (the capsule non-linearity), L2 normalise,
// and argmax (an index choice, not differentiable: select_rows carries its gradient).
#include <cmath>
#include <stdexcept>

#include "autograd/kernels.h"
#include "autograd/ops.h"

namespace mind {

// y = Σ_k a_k b_k along the last axis:  da_k += dy · b_k,  db_k += dy · a_k
Tensor dot_last(const Tensor& a, const Tensor& b) {
  if (a.shape() != b.shape())
    throw std::invalid_argument("dot_last: shapes " + a.shape().to_string() + " and " +
                                b.shape().to_string() + " differ");
  const int64_t width = a.shape().last();
  const int64_t rows = a.numel() / width;
  Shape shape = a.shape();
  if (shape.rank == 1) shape = Shape{1}; else shape.rank -= 1;
  Tensor y = make_result("dot_last", shape, {a, b});
  for (int64_t r = 0; r < rows; ++r) y.data()[r] = kernels::dot(a.data() + r * width, b.data() + r * width, width);
  if (y.requires_grad())
    y.node()->backward = [rows, width](Node& y) {
      Node& a = *y.parents[0];
      Node& b = *y.parents[1];
      const float* dy = y.grad.data();
      if (float* da = grad_or_null(a))
        for (int64_t r = 0; r < rows; ++r) kernels::axpy(dy[r], b.value + r * width, da + r * width, width);
      if (float* db = grad_or_null(b))
        for (int64_t r = 0; r < rows; ++r) kernels::axpy(dy[r], a.value + r * width, db + r * width, width);
    };
  return y;
}

// squash(z) = h(s)·z with s = |z|², h(s) = (s / (1 + s))^q / sqrt(s + ε):
// dz += h·dy + 2·h'(s)·(dy·z)·z,  h'(s) = q (s/(1+s))^(q−1) / (1+s)² / sqrt(s+ε) − (s/(1+s))^q / (2 (s+ε)^(3/2))
void squash_row(const float* z, float* y, int64_t width, float power, float eps) {
  const float squared_norm = kernels::dot(z, z, width);
  const float gain = std::pow(squared_norm / (1.0f + squared_norm), power) / std::sqrt(squared_norm + eps);
  for (int64_t k = 0; k < width; ++k) y[k] = gain * z[k];
}

void squash_row_backward(const float* z, const float* dy, float* dz, int64_t width, float power, float eps) {
  const float s = kernels::dot(z, z, width);
  if (s == 0.0f) return;  // squash is flat (zero derivative) at z = 0
  const float ratio = s / (1.0f + s);
  const float root = std::sqrt(s + eps);
  const float gain = std::pow(ratio, power) / root;
  const float gain_slope = power * std::pow(ratio, power - 1.0f) / ((1.0f + s) * (1.0f + s)) / root -
                           std::pow(ratio, power) / (2.0f * root * (s + eps));
  const float coefficient = 2.0f * gain_slope * kernels::dot(dy, z, width);
  for (int64_t k = 0; k < width; ++k) dz[k] += gain * dy[k] + coefficient * z[k];
}

Tensor squash(const Tensor& z, float power, float eps) {
  const int64_t width = z.shape().last();
  const int64_t rows = z.numel() / width;
  Tensor y = make_result("squash", z.shape(), {z});
  for (int64_t r = 0; r < rows; ++r) squash_row(z.data() + r * width, y.data() + r * width, width, power, eps);
  if (y.requires_grad())
    y.node()->backward = [rows, width, power, eps](Node& y) {
      Node& z = *y.parents[0];
      float* dz = grad_or_null(z);
      if (dz == nullptr) return;
      const float* dy = y.grad.data();
      for (int64_t r = 0; r < rows; ++r)
        squash_row_backward(z.value + r * width, dy + r * width, dz + r * width, width, power, eps);
    };
  return y;
}

// y = x · n with n = (|x|² + ε)^(−1/2):  dx += n·dy − n³ (x·dy) x
Tensor l2_normalize(const Tensor& x, float eps) {
  const int64_t width = x.shape().last();
  const int64_t rows = x.numel() / width;
  Tensor y = make_result("l2_normalize", x.shape(), {x});
  for (int64_t r = 0; r < rows; ++r) {
    const float* in = x.data() + r * width;
    const float inverse_norm = 1.0f / std::sqrt(kernels::dot(in, in, width) + eps);
    for (int64_t k = 0; k < width; ++k) y.data()[r * width + k] = inverse_norm * in[k];
  }
  if (y.requires_grad())
    y.node()->backward = [rows, width, eps](Node& y) {
      Node& x = *y.parents[0];
      float* dx = grad_or_null(x);
      if (dx == nullptr) return;
      const float* dy = y.grad.data();
      for (int64_t r = 0; r < rows; ++r) {
        const float* in = x.value + r * width;
        const float* upstream = dy + r * width;
        const float n = 1.0f / std::sqrt(kernels::dot(in, in, width) + eps);
        const float coefficient = -n * n * n * kernels::dot(in, upstream, width);
        for (int64_t k = 0; k < width; ++k) dx[r * width + k] += n * upstream[k] + coefficient * in[k];
      }
    };
  return y;
}

std::vector<int32_t> argmax_last(const Tensor& x, const Tensor& mask) {
  if (mask.defined() && mask.shape() != x.shape())
    throw std::invalid_argument("argmax_last: mask shape " + mask.shape().to_string() +
                                " differs from " + x.shape().to_string());
  const int64_t width = x.shape().last();
  const int64_t rows = x.numel() / width;
  std::vector<int32_t> index(rows, 0);
  for (int64_t r = 0; r < rows; ++r) {
    int32_t best = -1;
    for (int64_t k = 0; k < width; ++k) {
      if (mask.defined() && mask.data()[r * width + k] == 0.0f) continue;
      if (best < 0 || x.data()[r * width + k] > x.data()[r * width + best]) best = static_cast<int32_t>(k);
    }
    index[r] = best < 0 ? 0 : best;  // everything masked: the first (callers keep one live)
  }
  return index;
}

}  // namespace mind
