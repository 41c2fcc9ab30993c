// Matrix products: matmul, batched_matmul and the fused linear layer. All go through
// kernels::gemm, whose transpose flags let backward use the stored operands without copies.
// For C = A·B:  dA += dC·Bᵀ  and  dB += Aᵀ·dC  (a gemm with beta 0 when dA or dB is fresh:
// see gradient_to_overwrite).
#include <algorithm>
#include <stdexcept>

#include "autograd/kernels.h"
#include "autograd/ops.h"
#include "autograd/parallel.h"

namespace mind {
namespace {
// Below this many output elements, the bias loops of linear stay on one thread.
constexpr int64_t parallel_rows_min = 1 << 15;

[[noreturn]] void shape_error(const char* op, const Tensor& a, const Tensor& b, const char* why) {
  throw std::invalid_argument(std::string(op) + ": shapes " + a.shape().to_string() + " and " +
                              b.shape().to_string() + " " + why);
}
}  // namespace

// y[m, n] = a[m, k] · b[k, n]   (or b stored [n, k] with transpose_b)
Tensor matmul(const Tensor& a, const Tensor& b, bool transpose_b) {
  if (a.rank() != 2 || b.rank() != 2) shape_error("matmul", a, b, "must both be 2-D");
  const int64_t m = a.size(0), k = a.size(1);
  const int64_t n = transpose_b ? b.size(0) : b.size(1);
  if ((transpose_b ? b.size(1) : b.size(0)) != k) shape_error("matmul", a, b, "do not chain");
  Tensor y = make_result("matmul", Shape{m, n}, {a, b});
  kernels::gemm(false, transpose_b, m, n, k, 1.0f, a.data(), k, b.data(), b.size(1), 0.0f,
                y.data(), n);
  if (y.requires_grad())
    y.node()->backward = [m, n, k, transpose_b](Node& y) {
      Node& a = *y.parents[0];
      Node& b = *y.parents[1];
      const float* dy = y.grad.data();
      const int64_t ldb = b.shape.dims[1];
      // dA[m, k] += dY · op(B)ᵀ
      if (const GradientTarget da = gradient_to_overwrite(a); da.data)
        kernels::gemm(false, !transpose_b, m, k, n, 1.0f, dy, n, b.value, ldb, da.beta(), da.data, k);
      if (const GradientTarget db = gradient_to_overwrite(b); db.data) {
        if (transpose_b)  // dB[n, k] += dYᵀ · A
          kernels::gemm(true, false, n, k, m, 1.0f, dy, n, a.value, k, db.beta(), db.data, k);
        else              // dB[k, n] += Aᵀ · dY
          kernels::gemm(true, false, k, n, m, 1.0f, a.value, k, dy, n, db.beta(), db.data, n);
      }
    };
  return y;
}

// y[B, m, n] = op(a) · op(b) for every batch entry; op(x) = x or its last-two-axes transpose.
Tensor batched_matmul(const Tensor& a, const Tensor& b, bool transpose_a, bool transpose_b) {
  if (a.rank() != 3 || b.rank() != 3) shape_error("batched_matmul", a, b, "must both be 3-D");
  if (a.size(0) != b.size(0)) shape_error("batched_matmul", a, b, "differ in batch size");
  const int64_t batch = a.size(0);
  const int64_t m = transpose_a ? a.size(2) : a.size(1);
  const int64_t k = transpose_a ? a.size(1) : a.size(2);
  const int64_t n = transpose_b ? b.size(1) : b.size(2);
  if ((transpose_b ? b.size(2) : b.size(1)) != k) shape_error("batched_matmul", a, b, "do not chain");
  const int64_t lda = a.size(2), ldb = b.size(2);
  const int64_t stride_a = a.size(1) * a.size(2), stride_b = b.size(1) * b.size(2);
  Tensor y = make_result("batched_matmul", Shape{batch, m, n}, {a, b});
  kernels::gemm_batched(transpose_a, transpose_b, batch, m, n, k, 1.0f, a.data(), lda, stride_a,
                        b.data(), ldb, stride_b, 0.0f, y.data(), n, m * n);
  if (y.requires_grad())
    y.node()->backward = [=](Node& y) {
      Node& a = *y.parents[0];
      Node& b = *y.parents[1];
      const float* dy = y.grad.data();
      if (const GradientTarget da = gradient_to_overwrite(a); da.data) {
        if (!transpose_a)  // dA[m, k] += dY · op(B)ᵀ
          kernels::gemm_batched(false, !transpose_b, batch, m, k, n, 1.0f, dy, n, m * n, b.value,
                                ldb, stride_b, da.beta(), da.data, lda, stride_a);
        else               // A stored [k, m]:  dA += op(B) · dYᵀ
          kernels::gemm_batched(transpose_b, true, batch, k, m, n, 1.0f, b.value, ldb, stride_b,
                                dy, n, m * n, da.beta(), da.data, lda, stride_a);
      }
      if (const GradientTarget db = gradient_to_overwrite(b); db.data) {
        if (!transpose_b)  // dB[k, n] += op(A)ᵀ · dY
          kernels::gemm_batched(!transpose_a, false, batch, k, n, m, 1.0f, a.value, lda, stride_a,
                                dy, n, m * n, db.beta(), db.data, ldb, stride_b);
        else               // B stored [n, k]:  dB += dYᵀ · op(A)
          kernels::gemm_batched(true, transpose_a, batch, n, k, m, 1.0f, dy, n, m * n, a.value,
                                lda, stride_a, db.beta(), db.data, ldb, stride_b);
      }
    };
  return y;
}

// y = x Wᵀ + b, x seen as [rows, in]:  dx += dy·W,  dW += dyᵀ·x,  db += Σ_rows dy
Tensor linear(const Tensor& x, const Tensor& weight, const Tensor& bias) {
  if (weight.rank() != 2 || x.shape().last() != weight.size(1))
    shape_error("linear", x, weight, "do not match (need x [..., in] and W [out, in])");
  const int64_t in = weight.size(1), out = weight.size(0);
  const int64_t rows = x.numel() / in;
  if (bias.defined() && (bias.rank() != 1 || bias.size(0) != out))
    shape_error("linear", weight, bias, "do not match (need W [out, in] and b [out])");
  Shape out_shape = x.shape();
  out_shape.dims[out_shape.rank - 1] = out;
  Tensor y = make_result("linear", out_shape, {x, weight, bias});
  kernels::gemm(false, true, rows, out, in, 1.0f, x.data(), in, weight.data(), in, 0.0f,
                y.data(), out);
  if (bias.defined()) {
    const float* bias_values = bias.data();
    float* result = y.data();
    parallel_for(rows, rows * out >= parallel_rows_min,
                 [&](int64_t r) { kernels::axpy(1.0f, bias_values, result + r * out, out); });
  }
  if (y.requires_grad())
    y.node()->backward = [rows, in, out](Node& y) {
      Node& x = *y.parents[0];
      Node& weight = *y.parents[1];
      const float* dy = y.grad.data();
      if (const GradientTarget dx = gradient_to_overwrite(x); dx.data)
        kernels::gemm(false, false, rows, in, out, 1.0f, dy, out, weight.value, in, dx.beta(), dx.data, in);
      if (const GradientTarget dw = gradient_to_overwrite(weight); dw.data)
        kernels::gemm(true, false, out, in, rows, 1.0f, dy, out, x.value, in, dw.beta(), dw.data, in);
      if (y.parents[2])
        if (float* db = grad_or_null(*y.parents[2])) {
          // db[o] = Σ_r dy[r, o]: each thread owns a block of columns and sums its rows in order.
          const int64_t column_block = 16;
          const int64_t block_count = (out + column_block - 1) / column_block;
          parallel_for(block_count, rows * out >= parallel_rows_min, [&](int64_t block) {
            const int64_t first = block * column_block, last = std::min(out, first + column_block);
            for (int64_t r = 0; r < rows; ++r)
              for (int64_t o = first; o < last; ++o) db[o] += dy[r * out + o];
          });
        }
    };
  return y;
}

}  // namespace mind
