// Ops that move values without arithmetic: reshape, transpose, concat, row selection,
// stop-gradient. Their backward moves the gradient back to where each value came from.
#include <cstring>
#include <stdexcept>

#include "autograd/kernels.h"
#include "autograd/ops.h"

namespace mind {

// y = x seen with another shape (no copy: y's values are x's storage):  dx += dy
Tensor reshape(const Tensor& x, const Shape& shape) {
  if (shape.numel() != x.numel())
    throw std::invalid_argument("reshape: cannot view shape " + x.shape().to_string() + " (" +
                                std::to_string(x.numel()) + " values) as " + shape.to_string());
  Tensor y = make_result("reshape", shape, {x});
  Node& node = *y.node();
  node.value_storage.release();  // a view: drop the fresh storage, point at x's values
  node.value = const_cast<float*>(x.data());
  node.view_of = x.node_ptr();
  if (y.requires_grad())
    y.node()->backward = [](Node& y) {
      Node& x = *y.parents[0];
      if (!x.requires_grad) return;
      if (x.grad.empty())
        x.grad = std::move(y.grad);  // dx is dy, and nothing else wants dy now: hand it over
      else
        kernels::axpy(1.0f, y.grad.data(), x.grad.data(), y.numel());
    };
  return y;
}

// y[..., j, i] = x[..., i, j]:  dx[..., i, j] += dy[..., j, i]
Tensor transpose_last(const Tensor& x) {
  if (x.rank() < 2)
    throw std::invalid_argument("transpose_last: needs at least 2 axes, got " + x.shape().to_string());
  const int64_t rows = x.size(-2), cols = x.size(-1);
  const int64_t batch = x.numel() / (rows * cols);
  Shape shape = x.shape();
  shape.dims[shape.rank - 2] = cols;
  shape.dims[shape.rank - 1] = rows;
  Tensor y = make_result("transpose_last", shape, {x});
  const float* in = x.data();
  float* out = y.data();
  for (int64_t b = 0; b < batch; ++b)
    for (int64_t i = 0; i < rows; ++i)
      for (int64_t j = 0; j < cols; ++j)
        out[(b * cols + j) * rows + i] = in[(b * rows + i) * cols + j];
  if (y.requires_grad())
    y.node()->backward = [batch, rows, cols](Node& y) {
      const float* dy = y.grad.data();
      if (float* dx = grad_or_null(*y.parents[0]))
        for (int64_t b = 0; b < batch; ++b)
          for (int64_t i = 0; i < rows; ++i)
            for (int64_t j = 0; j < cols; ++j)
              dx[(b * rows + i) * cols + j] += dy[(b * cols + j) * rows + i];
    };
  return y;
}

// y = x with two axes exchanged:  dx[..., i, ..., j, ...] += dy[..., j, ..., i, ...]
// Works through strides: the output's flat index is mapped to the input's one axis at a time.
Tensor swap_axes(const Tensor& x, int axis_a, int axis_b) {
  const int first = x.shape().normalize_axis(axis_a), second = x.shape().normalize_axis(axis_b);
  const Shape& in_shape = x.shape();
  Shape out_shape = in_shape;
  std::swap(out_shape.dims[first], out_shape.dims[second]);
  // in_strides[axis] = distance between neighbours along `axis` in x's storage
  int64_t in_strides[Shape::max_rank] = {0, 0, 0, 0};
  int64_t stride = 1;
  for (int axis = in_shape.rank - 1; axis >= 0; --axis) {
    in_strides[axis] = stride;
    stride *= in_shape.dims[axis];
  }
  std::swap(in_strides[first], in_strides[second]);  // now indexed by *output* axis
  // source[i] = where output element i is read from in x
  auto source = std::make_shared<std::vector<int64_t>>(x.numel());
  for (int64_t flat = 0; flat < x.numel(); ++flat) {
    int64_t remainder = flat, offset = 0;
    for (int axis = out_shape.rank - 1; axis >= 0; --axis) {
      offset += (remainder % out_shape.dims[axis]) * in_strides[axis];
      remainder /= out_shape.dims[axis];
    }
    (*source)[flat] = offset;
  }
  Tensor y = make_result("swap_axes", out_shape, {x});
  for (int64_t i = 0; i < x.numel(); ++i) y.data()[i] = x.data()[(*source)[i]];
  if (y.requires_grad())
    y.node()->backward = [source](Node& y) {
      const float* dy = y.grad.data();
      if (float* dx = grad_or_null(*y.parents[0]))
        for (int64_t i = 0; i < y.numel(); ++i) dx[(*source)[i]] += dy[i];
    };
  return y;
}

// y = [a ; b] along the last axis:  da += dy[..., :na],  db += dy[..., na:]
Tensor concat_last(const Tensor& a, const Tensor& b) {
  bool compatible = a.rank() == b.rank();
  for (int axis = 0; compatible && axis + 1 < a.rank(); ++axis)
    compatible = a.size(axis) == b.size(axis);
  if (!compatible)
    throw std::invalid_argument("concat_last: shapes " + a.shape().to_string() + " and " +
                                b.shape().to_string() + " differ before the last axis");
  const int64_t width_a = a.shape().last(), width_b = b.shape().last();
  const int64_t width = width_a + width_b;
  const int64_t rows = a.numel() / width_a;
  Shape shape = a.shape();
  shape.dims[shape.rank - 1] = width;
  Tensor y = make_result("concat_last", shape, {a, b});
  for (int64_t r = 0; r < rows; ++r) {
    std::memcpy(y.data() + r * width, a.data() + r * width_a, width_a * sizeof(float));
    std::memcpy(y.data() + r * width + width_a, b.data() + r * width_b, width_b * sizeof(float));
  }
  if (y.requires_grad())
    y.node()->backward = [rows, width_a, width_b, width](Node& y) {
      const float* dy = y.grad.data();
      if (float* da = grad_or_null(*y.parents[0]))
        for (int64_t r = 0; r < rows; ++r) kernels::axpy(1.0f, dy + r * width, da + r * width_a, width_a);
      if (float* db = grad_or_null(*y.parents[1]))
        for (int64_t r = 0; r < rows; ++r)
          kernels::axpy(1.0f, dy + r * width + width_a, db + r * width_b, width_b);
    };
  return y;
}

// y[b] = x[b, index[b]] for x [B, K, d]:  dx[b, index[b]] += dy[b]  (the other rows get nothing)
Tensor select_rows(const Tensor& x, const std::vector<int32_t>& index) {
  if (x.rank() != 3 || static_cast<int64_t>(index.size()) != x.size(0))
    throw std::invalid_argument("select_rows: needs x [B, K, d] and B indices, got x " +
                                x.shape().to_string() + " and " + std::to_string(index.size()) +
                                " indices");
  const int64_t batch = x.size(0), count = x.size(1), width = x.size(2);
  for (int32_t chosen : index)
    if (chosen < 0 || chosen >= count)
      throw std::out_of_range("select_rows: index " + std::to_string(chosen) + " outside [0, " +
                              std::to_string(count) + ")");
  Tensor y = make_result("select_rows", Shape{batch, width}, {x});
  for (int64_t b = 0; b < batch; ++b)
    std::memcpy(y.data() + b * width, x.data() + (b * count + index[b]) * width, width * sizeof(float));
  if (y.requires_grad())
    y.node()->backward = [index, count, width](Node& y) {
      const float* dy = y.grad.data();
      if (float* dx = grad_or_null(*y.parents[0]))
        for (size_t b = 0; b < index.size(); ++b)
          kernels::axpy(1.0f, dy + b * width, dx + (b * count + index[b]) * width, width);
    };
  return y;
}

// y[b, j] = x[b] for j < count:  dx[b] += Σ_j dy[b, j]
Tensor repeat_rows(const Tensor& x, int64_t count) {
  if (x.rank() != 2)
    throw std::invalid_argument("repeat_rows: needs x [B, w], got " + x.shape().to_string());
  const int64_t batch = x.size(0), width = x.size(1);
  Tensor y = make_result("repeat_rows", Shape{batch, count, width}, {x});
  for (int64_t b = 0; b < batch; ++b)
    for (int64_t j = 0; j < count; ++j)
      std::memcpy(y.data() + (b * count + j) * width, x.data() + b * width, width * sizeof(float));
  if (y.requires_grad())
    y.node()->backward = [batch, count, width](Node& y) {
      const float* dy = y.grad.data();
      if (float* dx = grad_or_null(*y.parents[0]))
        for (int64_t b = 0; b < batch; ++b)
          for (int64_t j = 0; j < count; ++j)
            kernels::axpy(1.0f, dy + (b * count + j) * width, dx + b * width, width);
    };
  return y;
}

// y = x, but no gradient flows back through it.
Tensor stop_gradient(const Tensor& x) { return x.detach(); }

}  // namespace mind
