// Reductions: sum and mean over one axis, or over everything.
// A tensor reduced over `axis` is seen as [outer, size, inner]; the output is [outer, inner].
#include <stdexcept>

#include "autograd/ops.h"

namespace mind {
namespace {
Shape without_axis(const Shape& shape, int axis) {
  Shape result;
  for (int i = 0; i < shape.rank; ++i)
    if (i != axis) result.dims[result.rank++] = shape.dims[i];
  if (result.rank == 0) result = Shape{1};
  return result;
}

// out[o, i] = factor · Σ_s x[o, s, i]; shared by sum (factor 1) and mean (factor 1/size).
Tensor reduce_axis(const char* op, const Tensor& x, int axis, bool average) {
  const int normalized = x.shape().normalize_axis(axis);
  const int64_t outer = x.shape().outer(normalized);
  const int64_t size = x.shape().dims[normalized];
  const int64_t inner = x.shape().inner(normalized);
  const float factor = average ? 1.0f / static_cast<float>(size) : 1.0f;
  Tensor y = make_result(op, without_axis(x.shape(), normalized), {x});
  const float* in = x.data();
  float* out = y.data();
  for (int64_t o = 0; o < outer; ++o)
    for (int64_t i = 0; i < inner; ++i) {
      float total = 0.0f;
      for (int64_t s = 0; s < size; ++s) total += in[(o * size + s) * inner + i];
      out[o * inner + i] = factor * total;
    }
  if (y.requires_grad())
    // y = c · Σ_s x_s:  dx_s += c · dy   (every summed element gets the output's gradient)
    y.node()->backward = [outer, size, inner, factor](Node& y) {
      const float* dy = y.grad.data();
      if (float* dx = grad_or_null(*y.parents[0]))
        for (int64_t o = 0; o < outer; ++o)
          for (int64_t s = 0; s < size; ++s)
            for (int64_t i = 0; i < inner; ++i)
              dx[(o * size + s) * inner + i] += factor * dy[o * inner + i];
    };
  return y;
}

Tensor reduce_all(const char* op, const Tensor& x, bool average) {
  // Summed in double: a loss over many elements stays accurate, and the order is fixed.
  double total = 0.0;
  const float* in = x.data();
  for (int64_t i = 0; i < x.numel(); ++i) total += in[i];
  const float factor = average ? 1.0f / static_cast<float>(x.numel()) : 1.0f;
  Tensor y = make_result(op, Shape{1}, {x});
  y.data()[0] = static_cast<float>(total * factor);
  if (y.requires_grad())
    // y = c · Σ x:  dx += c · dy
    y.node()->backward = [factor](Node& y) {
      const float upstream = factor * y.grad.data()[0];
      Node& x = *y.parents[0];
      if (float* dx = grad_or_null(x))
        for (int64_t i = 0; i < x.numel(); ++i) dx[i] += upstream;
    };
  return y;
}
}  // namespace

Tensor sum(const Tensor& x, int axis) { return reduce_axis("sum", x, axis, false); }
Tensor mean(const Tensor& x, int axis) { return reduce_axis("mean", x, axis, true); }
Tensor sum_all(const Tensor& x) { return reduce_all("sum_all", x, false); }
Tensor mean_all(const Tensor& x) { return reduce_all("mean_all", x, true); }

}  // namespace mind
