// The reference kernels: one plain loop per function, written to be read and trusted.
// They are what the fast versions in kernels_simd.cpp are tested against; nothing here is
// vectorised by hand or parallel, and speed is not a goal.
#include <cmath>
#include <stdexcept>
#include <string>

#include "autograd/kernels.h"

namespace mind::kernels {

void check_gemm_arguments(const char* caller, bool transpose_a, bool transpose_b, int64_t m,
                          int64_t n, int64_t k, int64_t lda, int64_t ldb, int64_t ldc) {
  const std::string where = std::string(caller) + ": ";
  if (m < 0 || n < 0 || k < 0) {
    throw std::invalid_argument(where + "negative size m=" + std::to_string(m) +
                                " n=" + std::to_string(n) + " k=" + std::to_string(k));
  }
  // A stored row is as long as op(A)'s row when not transposed, as op(A)'s column otherwise.
  const int64_t a_stored_cols = transpose_a ? m : k;
  const int64_t b_stored_cols = transpose_b ? k : n;
  if (lda < a_stored_cols) {
    throw std::invalid_argument(where + "lda=" + std::to_string(lda) +
                                " is shorter than a row of A (" + std::to_string(a_stored_cols) +
                                " floats)");
  }
  if (ldb < b_stored_cols) {
    throw std::invalid_argument(where + "ldb=" + std::to_string(ldb) +
                                " is shorter than a row of B (" + std::to_string(b_stored_cols) +
                                " floats)");
  }
  if (ldc < n) {
    throw std::invalid_argument(where + "ldc=" + std::to_string(ldc) +
                                " is shorter than a row of C (" + std::to_string(n) + " floats)");
  }
}

void check_gemm_batch_arguments(const char* caller, int64_t batch, int64_t m, int64_t n,
                                int64_t ldc, int64_t stride_a, int64_t stride_b, int64_t stride_c) {
  const std::string where = std::string(caller) + ": ";
  if (batch < 0) throw std::invalid_argument(where + "negative batch " + std::to_string(batch));
  // A stride of 0 is allowed for A and B (one matrix shared by the whole batch), never for C:
  // products writing the same C would race when the batch runs in parallel.
  if (stride_a < 0 || stride_b < 0) {
    throw std::invalid_argument(where + "negative stride_a=" + std::to_string(stride_a) +
                                " or stride_b=" + std::to_string(stride_b));
  }
  const int64_t c_extent = (m > 0 && n > 0) ? (m - 1) * ldc + n : 0;  // floats one C spans
  if (batch > 1 && stride_c < c_extent) {
    throw std::invalid_argument(where + "stride_c=" + std::to_string(stride_c) +
                                " is shorter than one C matrix (" + std::to_string(c_extent) +
                                " floats), so the products of a batch would overwrite each other");
  }
}

namespace scalar {

float dot(const float* x, const float* y, int64_t n) {
  float sum = 0.0f;
  for (int64_t i = 0; i < n; ++i) sum += x[i] * y[i];
  return sum;
}

void axpy(float alpha, const float* x, float* y, int64_t n) {
  for (int64_t i = 0; i < n; ++i) y[i] += alpha * x[i];
}

void scale(float alpha, float* x, int64_t n) {
  for (int64_t i = 0; i < n; ++i) x[i] *= alpha;
}

void exp(const float* x, float* y, int64_t n) {
  for (int64_t i = 0; i < n; ++i) y[i] = std::exp(x[i]);
}

void softmax_rows(const float* x, float* y, int64_t rows, int64_t cols) {
  for (int64_t row = 0; row < rows; ++row) {
    const float* in = x + row * cols;  // [cols]
    float* out = y + row * cols;       // [cols]
    // Subtracting the row max leaves softmax unchanged and keeps exp() from overflowing.
    float row_max = -INFINITY;
    for (int64_t col = 0; col < cols; ++col) row_max = std::fmax(row_max, in[col]);
    float sum = 0.0f;
    for (int64_t col = 0; col < cols; ++col) {
      out[col] = std::exp(in[col] - row_max);
      sum += out[col];
    }
    for (int64_t col = 0; col < cols; ++col) out[col] /= sum;
  }
}

void gemm(bool transpose_a, bool transpose_b, int64_t m, int64_t n, int64_t k, float alpha,
          const float* a, int64_t lda, const float* b, int64_t ldb, float beta, float* c,
          int64_t ldc) {
  check_gemm_arguments("scalar::gemm", transpose_a, transpose_b, m, n, k, lda, ldb, ldc);
  for (int64_t row = 0; row < m; ++row) {
    for (int64_t col = 0; col < n; ++col) {
      float sum = 0.0f;
      for (int64_t inner = 0; inner < k; ++inner) {
        const float a_value = transpose_a ? a[inner * lda + row] : a[row * lda + inner];
        const float b_value = transpose_b ? b[col * ldb + inner] : b[inner * ldb + col];
        sum += a_value * b_value;
      }
      float& out = c[row * ldc + col];
      // beta == 0 must not read C: 0 * NaN would be NaN.
      out = (beta == 0.0f) ? alpha * sum : alpha * sum + beta * out;
    }
  }
}

void gemm_batched(bool transpose_a, bool transpose_b, int64_t batch, int64_t m, int64_t n,
                  int64_t k, float alpha, const float* a, int64_t lda, int64_t stride_a,
                  const float* b, int64_t ldb, int64_t stride_b, float beta, float* c, int64_t ldc,
                  int64_t stride_c) {
  check_gemm_batch_arguments("scalar::gemm_batched", batch, m, n, ldc, stride_a, stride_b,
                             stride_c);
  for (int64_t item = 0; item < batch; ++item) {
    gemm(transpose_a, transpose_b, m, n, k, alpha, a + item * stride_a, lda, b + item * stride_b,
         ldb, beta, c + item * stride_c, ldc);
  }
}

}  // namespace scalar
}  // namespace mind::kernels
