// Elementwise ops: binary ones with one-way broadcasting, and the unary functions.
// Forward and backward of each op sit together; backward adds into the parents' grads.
#include <cmath>
#include <stdexcept>

#include "autograd/kernels.h"
#include "autograd/ops.h"
#include "autograd/parallel.h"

namespace mind {
namespace {

// Below this many elements an elementwise loop is not worth waking a second thread for.
constexpr int64_t parallel_elementwise_min = 1 << 15;

// Where each element of `a` finds its partner in a broadcast `b`: b_index(i) for a's flat i.
struct Broadcast {
  enum Kind { same, scalar, suffix, column, general } kind = same;
  Shape a_shape, b_shape;  // b_shape left-padded with 1s to a's rank
  int64_t b_numel = 0;

  Broadcast(const char* op, const Shape& a, const Shape& b) : a_shape(a) {
    if (b.rank > a.rank) throw_mismatch(op, a, b);
    b_shape.rank = a.rank;
    const int pad = a.rank - b.rank;
    for (int axis = 0; axis < a.rank; ++axis) {
      b_shape.dims[axis] = axis < pad ? 1 : b.dims[axis - pad];
      if (b_shape.dims[axis] != a.dims[axis] && b_shape.dims[axis] != 1) throw_mismatch(op, a, b);
    }
    b_numel = b.numel();
    if (a == b_shape) {
      kind = same;
    } else if (b_numel == 1) {
      kind = scalar;
    } else {
      // b equals a's trailing axes (a row vector repeated over rows)?
      int first_real = 0;
      while (first_real < a.rank && b_shape.dims[first_real] == 1) ++first_real;
      bool is_suffix = true;
      for (int axis = first_real; axis < a.rank; ++axis)
        if (b_shape.dims[axis] != a.dims[axis]) is_suffix = false;
      // b equals a's shape but for a last axis of 1 (one factor per row)?
      bool is_column = b_shape.dims[a.rank - 1] == 1;
      for (int axis = 0; axis + 1 < a.rank; ++axis)
        if (b_shape.dims[axis] != a.dims[axis]) is_column = false;
      kind = is_suffix ? suffix : (is_column ? column : general);
    }
  }

  static void throw_mismatch(const char* op, const Shape& a, const Shape& b) {
    throw std::invalid_argument(std::string(op) + ": cannot broadcast shape " + b.to_string() +
                                " onto shape " + a.to_string() +
                                " (each axis of the second must equal the first's or be 1)");
  }

  int64_t b_index(int64_t a_index) const {
    switch (kind) {
      case same: return a_index;
      case scalar: return 0;
      case suffix: return a_index % b_numel;
      case column: return a_index / a_shape.dims[a_shape.rank - 1];
      case general: break;
    }
    int64_t b_flat = 0;
    int64_t remainder = a_index;
    int64_t a_stride = a_shape.numel();
    for (int axis = 0; axis < a_shape.rank; ++axis) {
      a_stride /= a_shape.dims[axis];
      const int64_t coordinate = remainder / a_stride;
      remainder %= a_stride;
      b_flat = b_flat * b_shape.dims[axis] + (b_shape.dims[axis] == 1 ? 0 : coordinate);
    }
    return b_flat;
  }
};

// Calls body(i, b_index(i)) for every element i of a, with the common broadcasts as plain
// nested loops (no per-element switch or division in the hot path).
template <typename Body>
void for_each_pair(const Broadcast& map, int64_t count, Body body) {
  switch (map.kind) {
    case Broadcast::same:
      for (int64_t i = 0; i < count; ++i) body(i, i);
      return;
    case Broadcast::scalar:
      for (int64_t i = 0; i < count; ++i) body(i, 0);
      return;
    case Broadcast::suffix:  // rows of b_numel, each paired with all of b
      for (int64_t row = 0; row < count / map.b_numel; ++row)
        for (int64_t j = 0; j < map.b_numel; ++j) body(row * map.b_numel + j, j);
      return;
    case Broadcast::column: {  // rows of `width`, each paired with one value of b
      const int64_t width = map.a_shape.dims[map.a_shape.rank - 1];
      for (int64_t row = 0; row < count / width; ++row)
        for (int64_t j = 0; j < width; ++j) body(row * width + j, row);
      return;
    }
    case Broadcast::general:
      for (int64_t i = 0; i < count; ++i) body(i, map.b_index(i));
      return;
  }
}

}  // namespace

// y = a + b:  da += dy,  db += dy (summed over broadcast axes)
Tensor add(const Tensor& a, const Tensor& b) {
  const Broadcast map("add", a.shape(), b.shape());
  Tensor y = make_result("add", a.shape(), {a, b});
  const float* x1 = a.data();
  const float* x2 = b.data();
  float* out = y.data();
  for_each_pair(map, y.numel(), [&](int64_t i, int64_t j) { out[i] = x1[i] + x2[j]; });
  if (y.requires_grad())
    y.node()->backward = [map](Node& y) {
      const float* dy = y.grad.data();
      if (float* da = grad_or_null(*y.parents[0]))
        kernels::axpy(1.0f, dy, da, y.numel());
      if (float* db = grad_or_null(*y.parents[1]))
        for_each_pair(map, y.numel(), [&](int64_t i, int64_t j) { db[j] += dy[i]; });
    };
  return y;
}

// y = a − b:  da += dy,  db −= dy
Tensor sub(const Tensor& a, const Tensor& b) {
  const Broadcast map("sub", a.shape(), b.shape());
  Tensor y = make_result("sub", a.shape(), {a, b});
  const float* x1 = a.data();
  const float* x2 = b.data();
  float* out = y.data();
  for_each_pair(map, y.numel(), [&](int64_t i, int64_t j) { out[i] = x1[i] - x2[j]; });
  if (y.requires_grad())
    y.node()->backward = [map](Node& y) {
      const float* dy = y.grad.data();
      if (float* da = grad_or_null(*y.parents[0]))
        kernels::axpy(1.0f, dy, da, y.numel());
      if (float* db = grad_or_null(*y.parents[1]))
        for_each_pair(map, y.numel(), [&](int64_t i, int64_t j) { db[j] -= dy[i]; });
    };
  return y;
}

// y = a · b:  da += dy · b,  db += dy · a
Tensor mul(const Tensor& a, const Tensor& b) {
  const Broadcast map("mul", a.shape(), b.shape());
  Tensor y = make_result("mul", a.shape(), {a, b});
  const float* x1 = a.data();
  const float* x2 = b.data();
  float* out = y.data();
  for_each_pair(map, y.numel(), [&](int64_t i, int64_t j) { out[i] = x1[i] * x2[j]; });
  if (y.requires_grad())
    y.node()->backward = [map](Node& y) {
      const float* dy = y.grad.data();
      const float* x1 = y.parents[0]->value;
      const float* x2 = y.parents[1]->value;
      if (float* da = grad_or_null(*y.parents[0]))
        for_each_pair(map, y.numel(), [&](int64_t i, int64_t j) { da[i] += dy[i] * x2[j]; });
      if (float* db = grad_or_null(*y.parents[1]))
        for_each_pair(map, y.numel(), [&](int64_t i, int64_t j) { db[j] += dy[i] * x1[i]; });
    };
  return y;
}

// y = a / b:  da += dy / b,  db −= dy · a / b²
Tensor div(const Tensor& a, const Tensor& b) {
  const Broadcast map("div", a.shape(), b.shape());
  Tensor y = make_result("div", a.shape(), {a, b});
  const float* x1 = a.data();
  const float* x2 = b.data();
  float* out = y.data();
  for_each_pair(map, y.numel(), [&](int64_t i, int64_t j) { out[i] = x1[i] / x2[j]; });
  if (y.requires_grad())
    y.node()->backward = [map](Node& y) {
      const float* dy = y.grad.data();
      const float* x1 = y.parents[0]->value;
      const float* x2 = y.parents[1]->value;
      if (float* da = grad_or_null(*y.parents[0]))
        for_each_pair(map, y.numel(), [&](int64_t i, int64_t j) { da[i] += dy[i] / x2[j]; });
      if (float* db = grad_or_null(*y.parents[1]))
        for_each_pair(map, y.numel(), [&](int64_t i, int64_t j) { db[j] -= dy[i] * x1[i] / (x2[j] * x2[j]); });
    };
  return y;
}

// y = c · x:  dx += c · dy
Tensor scale(const Tensor& x, float factor) {
  Tensor y = make_result("scale", x.shape(), {x});
  const float* in = x.data();
  float* out = y.data();
  for (int64_t i = 0; i < y.numel(); ++i) out[i] = factor * in[i];
  if (y.requires_grad())
    y.node()->backward = [factor](Node& y) {
      if (float* dx = grad_or_null(*y.parents[0])) kernels::axpy(factor, y.grad.data(), dx, y.numel());
    };
  return y;
}

// y = x + c:  dx += dy
Tensor add_scalar(const Tensor& x, float value) {
  Tensor y = make_result("add_scalar", x.shape(), {x});
  const float* in = x.data();
  float* out = y.data();
  for (int64_t i = 0; i < y.numel(); ++i) out[i] = in[i] + value;
  if (y.requires_grad())
    y.node()->backward = [](Node& y) {
      if (float* dx = grad_or_null(*y.parents[0])) kernels::axpy(1.0f, y.grad.data(), dx, y.numel());
    };
  return y;
}

// y = exp(x):  dx += dy · y
Tensor exp(const Tensor& x) {
  Tensor y = make_result("exp", x.shape(), {x});
  kernels::exp(x.data(), y.data(), x.numel());
  if (y.requires_grad())
    y.node()->backward = [](Node& y) {
      const float* dy = y.grad.data();
      if (float* dx = grad_or_null(*y.parents[0]))
        for (int64_t i = 0; i < y.numel(); ++i) dx[i] += dy[i] * y.value[i];
    };
  return y;
}

// y = log(x):  dx += dy / x
Tensor log(const Tensor& x) {
  Tensor y = make_result("log", x.shape(), {x});
  const float* in = x.data();
  float* out = y.data();
  for (int64_t i = 0; i < y.numel(); ++i) out[i] = std::log(in[i]);
  if (y.requires_grad())
    y.node()->backward = [](Node& y) {
      const float* dy = y.grad.data();
      const float* in = y.parents[0]->value;
      if (float* dx = grad_or_null(*y.parents[0]))
        for (int64_t i = 0; i < y.numel(); ++i) dx[i] += dy[i] / in[i];
    };
  return y;
}

// y = relu(x) = max(x, 0):  dx += dy · [x > 0]
Tensor relu(const Tensor& x) {
  Tensor y = make_result("relu", x.shape(), {x});
  const float* in = x.data();
  float* out = y.data();
  const int64_t count = y.numel();
  // Elements are independent: large tensors are shared out between threads (same results).
  // !(x <= 0) rather than x > 0: a NaN passes through, so a NaN upstream is not hidden.
  parallel_for(count, count >= parallel_elementwise_min,
               [&](int64_t i) { out[i] = !(in[i] <= 0.0f) ? in[i] : 0.0f; });
  if (y.requires_grad())
    y.node()->backward = [](Node& y) {
      const float* dy = y.grad.data();
      const float* out = y.value;
      const int64_t count = y.numel();
      // A select, not a branch, so the loop vectorises.
      if (float* dx = grad_or_null(*y.parents[0]))
        parallel_for(count, count >= parallel_elementwise_min,
                     [&](int64_t i) { dx[i] += out[i] > 0.0f ? dy[i] : 0.0f; });
    };
  return y;
}

// y = tanh(x):  dx += dy · (1 − y²)
Tensor tanh(const Tensor& x) {
  Tensor y = make_result("tanh", x.shape(), {x});
  const float* in = x.data();
  float* out = y.data();
  for (int64_t i = 0; i < y.numel(); ++i) out[i] = std::tanh(in[i]);
  if (y.requires_grad())
    y.node()->backward = [](Node& y) {
      const float* dy = y.grad.data();
      if (float* dx = grad_or_null(*y.parents[0]))
        for (int64_t i = 0; i < y.numel(); ++i) dx[i] += dy[i] * (1.0f - y.value[i] * y.value[i]);
    };
  return y;
}

// y = sign(x)·|x|^p:  dx += dy · p·|x|^(p−1)   (the sign cancels: d/dx of −(−x)^p is p(−x)^(p−1))
Tensor signed_pow(const Tensor& x, float power) {
  Tensor y = make_result("signed_pow", x.shape(), {x});
  const float* in = x.data();
  float* out = y.data();
  for (int64_t i = 0; i < y.numel(); ++i) {
    const float magnitude = std::pow(std::fabs(in[i]), power);
    out[i] = in[i] < 0.0f ? -magnitude : magnitude;
  }
  if (y.requires_grad())
    y.node()->backward = [power](Node& y) {
      const float* dy = y.grad.data();
      const float* in = y.parents[0]->value;
      if (float* dx = grad_or_null(*y.parents[0]))
        for (int64_t i = 0; i < y.numel(); ++i) {
          // At x = 0 with p < 1 the derivative is infinite; we take 0 there (a subgradient
          // choice that keeps training finite). For p ≥ 1 the formula is exact everywhere.
          if (in[i] == 0.0f && power < 1.0f) continue;
          dx[i] += dy[i] * power * std::pow(std::fabs(in[i]), power - 1.0f);
        }
    };
  return y;
}

}  // namespace mind
