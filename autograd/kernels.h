// The numeric kernels every op's hot loop goes through: plain functions over raw float arrays.
// Each function here dispatches to the vectorised (xsimd) and, where it pays, OpenMP-parallel
// version in kernels_simd.cpp; `kernels::scalar::` holds the plain-loop twin of each, kept as the
// readable reference that tests compare the fast version with (on odd sizes, so tails run).
//
// Determinism: no kernel splits a reduction across threads. Work is divided over *outputs*
// (rows of C, rows of a softmax), and every output is computed in the same order whatever the
// thread count, so 1 and 2 threads give bit-identical results. gemm goes further: an element of
// C has the same bits whatever the other rows of its product (a row alone, a few rows, many), as
// retrieval needs, since its groups of users change with the thread count.
#pragma once
#include <cstdint>

namespace mind::kernels {

// sum_i x[i] * y[i]
float dot(const float* x, const float* y, int64_t n);
// y[i] += alpha * x[i]
void axpy(float alpha, const float* x, float* y, int64_t n);
// x[i] *= alpha
void scale(float alpha, float* x, int64_t n);
// y[i] = exp(x[i])  (y may equal x)
void exp(const float* x, float* y, int64_t n);
// Each of `rows` rows of `cols` floats: y = softmax(x) with the row max subtracted first.
// (y may equal x)
void softmax_rows(const float* x, float* y, int64_t rows, int64_t cols);

// C[m, n] = alpha * op(A) op(B) + beta * C, row-major, with op(X) = X or Xᵀ.
// op(A) is [m, k], op(B) is [k, n]; lda/ldb/ldc are the row strides of A, B, C as stored.
// beta == 0 means C is overwritten (its old contents, even NaN, are ignored).
// Parallel over blocks of rows of C when the product is large enough to pay for it.
void gemm(bool transpose_a, bool transpose_b, int64_t m, int64_t n, int64_t k, float alpha,
          const float* a, int64_t lda, const float* b, int64_t ldb, float beta, float* c,
          int64_t ldc);

// `batch` independent gemms with the same shapes; matrix i starts at a + i*stride_a etc.
// Parallel over the batch (each product single-threaded), so it suits many small products.
void gemm_batched(bool transpose_a, bool transpose_b, int64_t batch, int64_t m, int64_t n,
                  int64_t k, float alpha, const float* a, int64_t lda, int64_t stride_a,
                  const float* b, int64_t ldb, int64_t stride_b, float beta, float* c,
                  int64_t ldc, int64_t stride_c);

// Both gemm versions validate their arguments first and throw std::invalid_argument naming
// `caller` and the problem (negative size, a stride shorter than its row, a batch whose C
// matrices overlap), since a wrong stride from an op would otherwise read garbage silently.
void check_gemm_arguments(const char* caller, bool transpose_a, bool transpose_b, int64_t m,
                          int64_t n, int64_t k, int64_t lda, int64_t ldb, int64_t ldc);
void check_gemm_batch_arguments(const char* caller, int64_t batch, int64_t m, int64_t n,
                                int64_t ldc, int64_t stride_a, int64_t stride_b,
                                int64_t stride_c);

// A hint to the cache, no value changes: fetch `bytes` from `address` ahead of use. Loops that
// visit rows of a large table in random order (lookups, lazy Adam) call it for the row they will
// reach `prefetch_rows_ahead` iterations later, so that its memory latency overlaps the work on
// the current row. With a 10^6-row table almost every row is a miss all the way to DRAM.
constexpr int64_t prefetch_rows_ahead = 8;
// Every line the span touches is asked for, the last one too when the span does not start on
// a line boundary (a step of 64 from `address` would leave out the line holding its tail).
inline void prefetch(const void* address, int64_t bytes) {
  const uintptr_t first_line = reinterpret_cast<uintptr_t>(address) & ~uintptr_t{63};
  const uintptr_t end = reinterpret_cast<uintptr_t>(address) + static_cast<uintptr_t>(bytes);
  for (uintptr_t line = first_line; line < end; line += 64)
    __builtin_prefetch(reinterpret_cast<const void*>(line));
}
// The same for a row the loop is about to overwrite (lazy Adam's value and moment rows): the line
// is fetched ready to be written, so that when the other core holds a copy (its slice just read
// the row), taking the line back from it also starts early instead of at the store.
inline void prefetch_for_write(void* address, int64_t bytes) {
  const uintptr_t first_line = reinterpret_cast<uintptr_t>(address) & ~uintptr_t{63};
  const uintptr_t end = reinterpret_cast<uintptr_t>(address) + static_cast<uintptr_t>(bytes);
  for (uintptr_t line = first_line; line < end; line += 64)
    __builtin_prefetch(reinterpret_cast<void*>(line), /*for write*/ 1);
}

namespace scalar {
float dot(const float* x, const float* y, int64_t n);
void axpy(float alpha, const float* x, float* y, int64_t n);
void scale(float alpha, float* x, int64_t n);
void exp(const float* x, float* y, int64_t n);
void softmax_rows(const float* x, float* y, int64_t rows, int64_t cols);
void gemm(bool transpose_a, bool transpose_b, int64_t m, int64_t n, int64_t k, float alpha,
          const float* a, int64_t lda, const float* b, int64_t ldb, float beta, float* c,
          int64_t ldc);
void gemm_batched(bool transpose_a, bool transpose_b, int64_t batch, int64_t m, int64_t n,
                  int64_t k, float alpha, const float* a, int64_t lda, int64_t stride_a,
                  const float* b, int64_t ldb, int64_t stride_b, float beta, float* c,
                  int64_t ldc, int64_t stride_c);
}  // namespace scalar

}  // namespace mind::kernels
