// Softmax and its relatives: softmax over any axis (with a mask), log-softmax, masked fill,
// and the fused cross-entropy whose backward is simply (p − onehot) / B.
// Every softmax subtracts the slice's maximum first, so exp never overflows.
#include <cmath>
#include <limits>
#include <stdexcept>

#include "autograd/kernels.h"
#include "autograd/ops.h"

namespace mind {
namespace {
void check_mask(const char* op, const Tensor& x, const Tensor& mask) {
  if (mask.defined() && mask.shape() != x.shape())
    throw std::invalid_argument(std::string(op) + ": mask shape " + mask.shape().to_string() +
                                " differs from input shape " + x.shape().to_string());
}
}  // namespace

// y = softmax(x) over `axis`, masked entries excluded (y = 0 there):
// dx_i += y_i · (dy_i − Σ_j y_j dy_j)
Tensor softmax(const Tensor& x, int axis, const Tensor& mask) {
  check_mask("softmax", x, mask);
  const int normalized = x.shape().normalize_axis(axis);
  const int64_t outer = x.shape().outer(normalized);
  const int64_t size = x.shape().dims[normalized];
  const int64_t inner = x.shape().inner(normalized);
  Tensor y = make_result("softmax", x.shape(), {x});
  const float* in = x.data();
  const float* keep = mask.defined() ? mask.data() : nullptr;
  float* out = y.data();
  if (inner == 1 && keep == nullptr) {
    kernels::softmax_rows(in, out, outer, size);
  } else {
    for (int64_t o = 0; o < outer; ++o)
      for (int64_t i = 0; i < inner; ++i) {
        const int64_t base = o * size * inner + i;  // element s of this slice is base + s·inner
        float largest = -std::numeric_limits<float>::infinity();
        for (int64_t s = 0; s < size; ++s)
          if (keep == nullptr || keep[base + s * inner] != 0.0f)
            largest = std::max(largest, in[base + s * inner]);
        float total = 0.0f;
        for (int64_t s = 0; s < size; ++s) {
          const int64_t at = base + s * inner;
          const bool live = keep == nullptr || keep[at] != 0.0f;
          out[at] = live ? std::exp(in[at] - largest) : 0.0f;
          total += out[at];
        }
        const float inverse = total > 0.0f ? 1.0f / total : 0.0f;  // all masked: zeros
        for (int64_t s = 0; s < size; ++s) out[base + s * inner] *= inverse;
      }
  }
  if (y.requires_grad())
    y.node()->backward = [outer, size, inner](Node& y) {
      const float* dy = y.grad.data();
      float* dx = grad_or_null(*y.parents[0]);
      if (dx == nullptr) return;
      for (int64_t o = 0; o < outer; ++o)
        for (int64_t i = 0; i < inner; ++i) {
          const int64_t base = o * size * inner + i;
          float weighted = 0.0f;  // Σ_j y_j dy_j
          for (int64_t s = 0; s < size; ++s) weighted += y.value[base + s * inner] * dy[base + s * inner];
          for (int64_t s = 0; s < size; ++s) {
            const int64_t at = base + s * inner;
            dx[at] += y.value[at] * (dy[at] - weighted);
          }
        }
    };
  return y;
}

// y = x − logsumexp(x) over the last axis, masked entries −∞:
// dx_i += dy_i − softmax_i · Σ_j dy_j   (sums over live entries only)
Tensor log_softmax(const Tensor& x, const Tensor& mask) {
  check_mask("log_softmax", x, mask);
  const int64_t cols = x.shape().last();
  const int64_t rows = x.numel() / cols;
  const float minus_infinity = -std::numeric_limits<float>::infinity();
  Tensor y = make_result("log_softmax", x.shape(), {x});
  const float* in = x.data();
  const float* keep = mask.defined() ? mask.data() : nullptr;
  float* out = y.data();
  for (int64_t r = 0; r < rows; ++r) {
    const int64_t base = r * cols;
    float largest = minus_infinity;
    for (int64_t c = 0; c < cols; ++c)
      if (keep == nullptr || keep[base + c] != 0.0f) largest = std::max(largest, in[base + c]);
    double total = 0.0;
    for (int64_t c = 0; c < cols; ++c)
      if (keep == nullptr || keep[base + c] != 0.0f) total += std::exp(in[base + c] - largest);
    const float log_total = largest + static_cast<float>(std::log(total));
    for (int64_t c = 0; c < cols; ++c)
      out[base + c] = (keep == nullptr || keep[base + c] != 0.0f) ? in[base + c] - log_total
                                                                   : minus_infinity;
  }
  if (y.requires_grad())
    y.node()->backward = [rows, cols](Node& y) {
      const float* dy = y.grad.data();
      float* dx = grad_or_null(*y.parents[0]);
      if (dx == nullptr) return;
      for (int64_t r = 0; r < rows; ++r) {
        const int64_t base = r * cols;
        float upstream_total = 0.0f;
        for (int64_t c = 0; c < cols; ++c)
          if (std::isfinite(y.value[base + c])) upstream_total += dy[base + c];
        for (int64_t c = 0; c < cols; ++c)
          if (std::isfinite(y.value[base + c]))
            dx[base + c] += dy[base + c] - std::exp(y.value[base + c]) * upstream_total;
      }
    };
  return y;
}

// y = mask ? x : value:  dx += mask ? dy : 0
Tensor masked_fill(const Tensor& x, const Tensor& mask, float value) {
  if (!mask.defined() || mask.shape() != x.shape())
    throw std::invalid_argument("masked_fill: mask shape " +
                                (mask.defined() ? mask.shape().to_string() : std::string("(none)")) +
                                " differs from input shape " + x.shape().to_string());
  Tensor y = make_result("masked_fill", x.shape(), {x});
  const float* in = x.data();
  const float* keep = mask.data();
  float* out = y.data();
  for (int64_t i = 0; i < x.numel(); ++i) out[i] = keep[i] != 0.0f ? in[i] : value;
  if (y.requires_grad())
    y.node()->backward = [keep_alive = mask](Node& y) {
      const float* dy = y.grad.data();
      const float* keep = keep_alive.data();
      if (float* dx = grad_or_null(*y.parents[0]))
        for (int64_t i = 0; i < y.numel(); ++i)
          if (keep[i] != 0.0f) dx[i] += dy[i];
    };
  return y;
}

// loss = −(1/B) Σ_b log p[b, t_b],  p = softmax(logits) over live columns:
// dlogits[b, c] += dloss · (p[b, c] − [c = t_b]) / B
Tensor cross_entropy(const Tensor& logits, const std::vector<int32_t>& targets, const Tensor& mask) {
  check_mask("cross_entropy", logits, mask);
  if (logits.rank() != 2 || static_cast<int64_t>(targets.size()) != logits.size(0))
    throw std::invalid_argument("cross_entropy: needs logits [B, C] and B targets, got " +
                                logits.shape().to_string() + " and " +
                                std::to_string(targets.size()) + " targets");
  const int64_t rows = logits.size(0), cols = logits.size(1);
  const float* keep = mask.defined() ? mask.data() : nullptr;
  for (int64_t r = 0; r < rows; ++r) {
    const int32_t target = targets[r];
    if (target < 0 || target >= cols || (keep != nullptr && keep[r * cols + target] == 0.0f))
      throw std::invalid_argument("cross_entropy: row " + std::to_string(r) + " has target " +
                                  std::to_string(target) + ", which is outside [0, " +
                                  std::to_string(cols) + ") or masked");
  }
  // The probabilities are kept for backward: p − onehot is the whole gradient.
  auto probabilities = std::make_shared<Buffer>(Buffer::uninitialized(rows * cols));
  float* p = probabilities->data();
  const float* in = logits.data();
  double total_loss = 0.0;
  for (int64_t r = 0; r < rows; ++r) {
    const int64_t base = r * cols;
    float largest = -std::numeric_limits<float>::infinity();
    for (int64_t c = 0; c < cols; ++c)
      if (keep == nullptr || keep[base + c] != 0.0f) largest = std::max(largest, in[base + c]);
    double total = 0.0;
    for (int64_t c = 0; c < cols; ++c) {
      const bool live = keep == nullptr || keep[base + c] != 0.0f;
      p[base + c] = live ? std::exp(in[base + c] - largest) : 0.0f;
      total += p[base + c];
    }
    const float inverse = static_cast<float>(1.0 / total);
    for (int64_t c = 0; c < cols; ++c) p[base + c] *= inverse;
    total_loss += -(in[base + targets[r]] - largest - std::log(total));
  }
  Tensor loss = make_result("cross_entropy", Shape{1}, {logits});
  loss.data()[0] = static_cast<float>(total_loss / rows);
  if (loss.requires_grad())
    loss.node()->backward = [probabilities, targets, rows, cols](Node& loss) {
      float* dlogits = grad_or_null(*loss.parents[0]);
      if (dlogits == nullptr) return;
      const float upstream = loss.grad.data()[0] / static_cast<float>(rows);
      const float* p = probabilities->data();
      for (int64_t r = 0; r < rows; ++r) {
        for (int64_t c = 0; c < cols; ++c) dlogits[r * cols + c] += upstream * p[r * cols + c];
        dlogits[r * cols + targets[r]] -= upstream;
      }
    };
  return loss;
}

}  // namespace mind
