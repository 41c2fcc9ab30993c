// Tests of the numeric kernels: hand-computed values for both versions, then every fast kernel
// against its scalar twin on sizes that are not multiples of any lane count (so the vector tails
// run), all four gemm transposes with padded strides, NaN-proof beta = 0, and bit-identical
// results with 1 and 2 OpenMP threads.
#include <doctest/doctest.h>
#include <omp.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "autograd/kernels.h"
#include "autograd/random.h"

namespace {

namespace kernels = mind::kernels;

const float nan_value = std::numeric_limits<float>::quiet_NaN();
const float infinity = std::numeric_limits<float>::infinity();

std::vector<float> random_values(int64_t count, mind::Rng& rng, double low = -1.0,
                                 double high = 1.0) {
  std::vector<float> values(count);
  for (float& value : values) value = static_cast<float>(low + (high - low) * rng.uniform());
  return values;
}

// Checks |actual[i] - expected[i]| <= tolerance[i] for every i and, when one fails, reports the
// first failing index with both numbers (one doctest failure, not thousands).
void check_all_close(const std::string& what, const std::vector<float>& actual,
                     const std::vector<float>& expected, const std::vector<double>& tolerance) {
  REQUIRE(actual.size() == expected.size());
  int64_t first_bad = -1;
  for (size_t i = 0; i < actual.size(); ++i) {
    const double difference = std::fabs(double(actual[i]) - double(expected[i]));
    if (!(difference <= tolerance[i])) {  // written so that NaN fails
      first_bad = static_cast<int64_t>(i);
      break;
    }
  }
  if (first_bad < 0) {
    CHECK(first_bad < 0);
    return;
  }
  std::ostringstream message;
  message << what << ": index " << first_bad << " got " << actual[first_bad] << " expected "
          << expected[first_bad] << " (tolerance " << tolerance[first_bad] << ")";
  FAIL_CHECK(message.str());
}

// Saves the OpenMP thread count and puts it back, so one test's setting does not leak.
class ThreadCountGuard {
 public:
  ThreadCountGuard() : saved_(omp_get_max_threads()) {}
  ~ThreadCountGuard() { omp_set_num_threads(saved_); }

 private:
  int saved_;
};

// Sizes around every lane count (4, 8, 16) and their multiples, so each vector loop's tail runs.
const std::vector<int64_t> tail_sizes = {0,  1,  3,  4,  7,  15, 16,  17,
                                         31, 33, 63, 64, 65, 127, 257, 1000};

}  // namespace

// ---- dot --------------------------------------------------------------------------------------

TEST_CASE("kernels: dot of hand-computed vectors") {
  const float x[] = {1, 2, 3};
  const float y[] = {4, 5, 6};
  CHECK(kernels::scalar::dot(x, y, 3) == 32.0f);  // 4 + 10 + 18
  CHECK(kernels::dot(x, y, 3) == 32.0f);
  // 37 ones against 1..37: 37 * 38 / 2 = 703, exact in float whatever the summation order.
  std::vector<float> ones(37, 1.0f), counting(37);
  for (int i = 0; i < 37; ++i) counting[i] = static_cast<float>(i + 1);
  CHECK(kernels::scalar::dot(ones.data(), counting.data(), 37) == 703.0f);
  CHECK(kernels::dot(ones.data(), counting.data(), 37) == 703.0f);
  CHECK(kernels::dot(x, y, 0) == 0.0f);
}

TEST_CASE("kernels: dot matches its scalar twin on tail sizes") {
  mind::Rng rng(11);
  for (int64_t n : tail_sizes) {
    const std::vector<float> x = random_values(n, rng);
    const std::vector<float> y = random_values(n, rng);
    double magnitude = 0.0;  // sum |x_i y_i| bounds the rounding error of any summation order
    for (int64_t i = 0; i < n; ++i) magnitude += std::fabs(double(x[i]) * double(y[i]));
    // Each version is within n * 2^-24 * magnitude of the exact sum; allow twice that, and more.
    const double tolerance = 1e-6 + 2.5e-7 * double(n) * magnitude;
    const float fast = kernels::dot(x.data(), y.data(), n);
    const float reference = kernels::scalar::dot(x.data(), y.data(), n);
    INFO("n = " << n << ", fast " << fast << ", scalar " << reference);
    CHECK(std::fabs(double(fast) - double(reference)) <= tolerance);
  }
}

// ---- axpy and scale --------------------------------------------------------------------------

TEST_CASE("kernels: axpy and scale of hand-computed vectors") {
  for (int version = 0; version < 2; ++version) {
    std::vector<float> y = {1, 2, 3, 4, 5};
    const std::vector<float> x = {10, 20, 30, 40, 50};
    if (version == 0) kernels::scalar::axpy(0.5f, x.data(), y.data(), 5);
    else kernels::axpy(0.5f, x.data(), y.data(), 5);
    CHECK(y == std::vector<float>{6, 12, 18, 24, 30});
    if (version == 0) kernels::scalar::scale(-2.0f, y.data(), 5);
    else kernels::scale(-2.0f, y.data(), 5);
    CHECK(y == std::vector<float>{-12, -24, -36, -48, -60});
  }
}

TEST_CASE("kernels: axpy and scale match their scalar twins on tail sizes and large arrays") {
  mind::Rng rng(12);
  std::vector<int64_t> sizes = tail_sizes;
  sizes.push_back((1 << 17) + 5);  // above the size where the threads split the work
  for (int64_t n : sizes) {
    const std::vector<float> x = random_values(n, rng);
    const std::vector<float> y = random_values(n, rng);
    std::vector<float> fast = y, reference = y;
    kernels::axpy(0.75f, x.data(), fast.data(), n);
    kernels::scalar::axpy(0.75f, x.data(), reference.data(), n);
    // One rounding (fused) against two: within 2 ulps of the larger term.
    std::vector<double> tolerance(n);
    for (int64_t i = 0; i < n; ++i) {
      tolerance[i] = 2.5e-7 * (std::fabs(y[i]) + std::fabs(0.75 * x[i]));
    }
    check_all_close("axpy n=" + std::to_string(n), fast, reference, tolerance);

    kernels::scale(-1.5f, fast.data(), n);
    kernels::scalar::scale(-1.5f, reference.data(), n);
    for (int64_t i = 0; i < n; ++i) tolerance[i] = 1.5 * tolerance[i] + 1e-30;
    check_all_close("scale n=" + std::to_string(n), fast, reference, tolerance);
  }
}

// ---- exp ----------------------------------------------------------------------------------------

TEST_CASE("kernels: exp of hand-computed values") {
  // 17 values, so the vector path (16 lanes) and the scalar tail both see them.
  const std::vector<float> x = {0.0f, 1.0f, -1.0f, std::log(2.0f), 2.0f, -2.0f, 10.0f, -10.0f,
                                0.5f, 80.0f, -80.0f, 0.0f, 1.0f, std::log(2.0f), 3.0f, -infinity,
                                0.0f};
  const std::vector<double> expected = {1.0, 2.718281828459045, 0.36787944117144233, 2.0,
                                        7.38905609893065, 0.1353352832366127, 22026.465794806718,
                                        4.5399929762484854e-05, 1.6487212707001282,
                                        5.540622384393510e+34, 1.8048513878454153e-35, 1.0,
                                        2.718281828459045, 2.0, 20.085536923187668, 0.0, 1.0};
  for (int version = 0; version < 2; ++version) {
    std::vector<float> y(x.size());
    if (version == 0) kernels::scalar::exp(x.data(), y.data(), static_cast<int64_t>(x.size()));
    else kernels::exp(x.data(), y.data(), static_cast<int64_t>(x.size()));
    for (size_t i = 0; i < x.size(); ++i) {
      INFO("version " << (version == 0 ? "scalar" : "simd") << ", exp(" << x[i] << ") = " << y[i]);
      CHECK(std::fabs(y[i] - expected[i]) <= 3e-7 * expected[i]);  // a few ulps
    }
  }
  // Past float's range: exp(100) overflows to +inf in both versions.
  const float big[] = {100.0f};
  float out = 0.0f;
  kernels::exp(big, &out, 1);
  CHECK(std::isinf(out));
}

TEST_CASE("kernels: exp matches its scalar twin on tail sizes, also in place") {
  mind::Rng rng(13);
  std::vector<int64_t> sizes = tail_sizes;
  sizes.push_back((1 << 14) + 3);  // above the size where the threads split the work
  for (int64_t n : sizes) {
    const std::vector<float> x = random_values(n, rng, -30.0, 30.0);
    std::vector<float> fast(n), reference(n);
    kernels::exp(x.data(), fast.data(), n);
    kernels::scalar::exp(x.data(), reference.data(), n);
    std::vector<double> tolerance(n);
    for (int64_t i = 0; i < n; ++i) tolerance[i] = 4e-7 * std::fabs(reference[i]);
    check_all_close("exp n=" + std::to_string(n), fast, reference, tolerance);
    std::vector<float> in_place = x;
    kernels::exp(in_place.data(), in_place.data(), n);
    CHECK(in_place == fast);
  }
}

// ---- softmax_rows ---------------------------------------------------------------------------

TEST_CASE("kernels: softmax of [0, ln 2] is [1/3, 2/3]") {
  const float x[] = {0.0f, std::log(2.0f)};
  for (int version = 0; version < 2; ++version) {
    float y[2];
    if (version == 0) kernels::scalar::softmax_rows(x, y, 1, 2);
    else kernels::softmax_rows(x, y, 1, 2);
    CHECK(y[0] == doctest::Approx(1.0 / 3.0).epsilon(1e-6));
    CHECK(y[1] == doctest::Approx(2.0 / 3.0).epsilon(1e-6));
  }
}

TEST_CASE("kernels: softmax is stable with large inputs and gives -inf zero weight") {
  // Without subtracting the max, exp(1000) would be inf and the result NaN.
  // softmax([1000, 1001]) = [1, e] / (1 + e).
  const double e = std::exp(1.0);
  const float large[] = {1000.0f, 1001.0f};
  // A masked entry (-inf) takes no weight: softmax([0, -inf, 0]) = [1/2, 0, 1/2].
  const float masked[] = {0.0f, -infinity, 0.0f};
  for (int version = 0; version < 2; ++version) {
    float y[2];
    float z[3];
    if (version == 0) {
      kernels::scalar::softmax_rows(large, y, 1, 2);
      kernels::scalar::softmax_rows(masked, z, 1, 3);
    } else {
      kernels::softmax_rows(large, y, 1, 2);
      kernels::softmax_rows(masked, z, 1, 3);
    }
    CHECK(y[0] == doctest::Approx(1.0 / (1.0 + e)).epsilon(1e-6));
    CHECK(y[1] == doctest::Approx(e / (1.0 + e)).epsilon(1e-6));
    CHECK(z[0] == doctest::Approx(0.5).epsilon(1e-6));
    CHECK(z[1] == 0.0f);
    CHECK(z[2] == doctest::Approx(0.5).epsilon(1e-6));
  }
  // The same on a row long enough for the vector path: 40 copies of [1000, 1001] sum to 1.
  std::vector<float> row(80);
  for (int i = 0; i < 80; ++i) row[i] = (i % 2 == 0) ? 1000.0f : 1001.0f;
  std::vector<float> out(80);
  kernels::softmax_rows(row.data(), out.data(), 1, 80);
  CHECK(out[0] == doctest::Approx(1.0 / (1.0 + e) / 40.0).epsilon(1e-5));
  CHECK(out[79] == doctest::Approx(e / (1.0 + e) / 40.0).epsilon(1e-5));
  // Empty inputs are no-ops, not divisions by zero.
  kernels::softmax_rows(row.data(), out.data(), 0, 80);
  kernels::softmax_rows(row.data(), out.data(), 3, 0);
}

TEST_CASE("kernels: softmax_rows matches its scalar twin on tail widths, also in place") {
  mind::Rng rng(14);
  // Narrow rows (cols < 16) take another path than wide ones; 5000 x 4 spans several blocks of
  // narrow rows, and 5000 x 4 and 20 x 1281 are above the size where threads share rows.
  const int64_t shapes[][2] = {{1, 1},  {3, 3},  {20, 4},  {5000, 4}, {3, 15},  {1, 17},
                               {20, 33}, {3, 65}, {1, 257}, {3, 1281}, {20, 1281}};
  for (const auto& shape : shapes) {
    const int64_t rows = shape[0], cols = shape[1];
    const std::string label = std::to_string(rows) + "x" + std::to_string(cols);
    const std::vector<float> x = random_values(rows * cols, rng, -20.0, 20.0);
    std::vector<float> fast(rows * cols), reference(rows * cols);
    kernels::softmax_rows(x.data(), fast.data(), rows, cols);
    kernels::scalar::softmax_rows(x.data(), reference.data(), rows, cols);
    // Relative to each probability: the row sums, added in different orders, may differ by
    // about cols * 2^-24 relative, and exp() by a few ulps; twice that is allowed.
    const double relative = 2.5e-7 * double(cols + 8);
    std::vector<double> tolerance(rows * cols);
    for (int64_t i = 0; i < rows * cols; ++i) tolerance[i] = relative * std::fabs(reference[i]);
    check_all_close("softmax " + label, fast, reference, tolerance);
    double worst_sum_error = 0.0;  // every row must sum to 1
    for (int64_t row = 0; row < rows; ++row) {
      double sum = 0.0;
      for (int64_t col = 0; col < cols; ++col) sum += fast[row * cols + col];
      worst_sum_error = std::max(worst_sum_error, std::fabs(sum - 1.0));
    }
    INFO("softmax " << label << ": a row sums to 1 +- " << worst_sum_error);
    CHECK(worst_sum_error <= 1e-5);
    std::vector<float> in_place = x;
    kernels::softmax_rows(in_place.data(), in_place.data(), rows, cols);
    CHECK(in_place == fast);
  }
}

// ---- gemm -----------------------------------------------------------------------------------

namespace {

// Stores the row-major matrix `values` [rows, cols] with row stride `stride` >= cols (the
// padding holds NaN, so a kernel reading past a row's end shows up), transposed if asked.
std::vector<float> store_matrix(const std::vector<float>& values, int64_t rows, int64_t cols,
                                bool transpose, int64_t stride) {
  const int64_t stored_rows = transpose ? cols : rows;
  std::vector<float> stored(stored_rows * stride, nan_value);
  for (int64_t row = 0; row < rows; ++row) {
    for (int64_t col = 0; col < cols; ++col) {
      if (transpose) stored[col * stride + row] = values[row * cols + col];
      else stored[row * stride + col] = values[row * cols + col];
    }
  }
  return stored;
}

// One gemm test case: sizes, flags, strides (as padding beyond the stored row), alpha, beta.
struct GemmCase {
  bool transpose_a;
  bool transpose_b;
  int64_t m;
  int64_t n;
  int64_t k;
  float alpha;
  float beta;
  int64_t padding;  // extra floats at the end of each stored row of A, B and C

  std::string describe() const {
    std::ostringstream text;
    text << (transpose_a ? "T" : "N") << (transpose_b ? "T" : "N") << " m=" << m << " n=" << n
         << " k=" << k << " alpha=" << alpha << " beta=" << beta << " padding=" << padding;
    return text.str();
  }
};

// The operands of one case, stored as the kernels see them.
struct GemmOperands {
  std::vector<float> a;  // op(A) [m, k], stored transposed if transpose_a
  std::vector<float> b;  // op(B) [k, n], stored transposed if transpose_b
  std::vector<float> c;  // [m, ldc], the starting C (padding NaN)
  std::vector<float> abs_a;  // |A| and |B| stored the same way, for the error bound
  std::vector<float> abs_b;
  int64_t lda;
  int64_t ldb;
  int64_t ldc;
};

GemmOperands make_operands(const GemmCase& test, mind::Rng& rng) {
  GemmOperands operands;
  operands.lda = (test.transpose_a ? test.m : test.k) + test.padding;
  operands.ldb = (test.transpose_b ? test.k : test.n) + test.padding;
  operands.ldc = test.n + test.padding;
  const std::vector<float> a_values = random_values(test.m * test.k, rng);  // [m, k]
  const std::vector<float> b_values = random_values(test.k * test.n, rng);  // [k, n]
  std::vector<float> abs_a_values = a_values, abs_b_values = b_values;
  for (float& value : abs_a_values) value = std::fabs(value);
  for (float& value : abs_b_values) value = std::fabs(value);
  operands.a = store_matrix(a_values, test.m, test.k, test.transpose_a, operands.lda);
  operands.b = store_matrix(b_values, test.k, test.n, test.transpose_b, operands.ldb);
  operands.abs_a = store_matrix(abs_a_values, test.m, test.k, test.transpose_a, operands.lda);
  operands.abs_b = store_matrix(abs_b_values, test.k, test.n, test.transpose_b, operands.ldb);
  const std::vector<float> c_values = random_values(test.m * test.n, rng);
  operands.c = store_matrix(c_values, test.m, test.n, false, operands.ldc);
  return operands;
}

// The tolerance of element (i, j): each version's rounding error is at most about
// k * 2^-24 * (|alpha| (|A||B|)_ij + |beta C_ij|); we allow twice that plus 1e-6 absolute.
std::vector<double> gemm_tolerance(const GemmCase& test, const GemmOperands& operands) {
  std::vector<float> magnitude(test.m * operands.ldc, 0.0f);
  kernels::scalar::gemm(test.transpose_a, test.transpose_b, test.m, test.n, test.k, 1.0f,
                        operands.abs_a.data(), operands.lda, operands.abs_b.data(), operands.ldb,
                        0.0f, magnitude.data(), operands.ldc);
  std::vector<double> tolerance(magnitude.size(), 0.0);
  for (int64_t row = 0; row < test.m; ++row) {
    for (int64_t col = 0; col < test.n; ++col) {
      const int64_t i = row * operands.ldc + col;
      const double bound =
          std::fabs(test.alpha) * magnitude[i] + std::fabs(test.beta * operands.c[i]);
      tolerance[i] = 1e-6 + 2.5e-7 * double(test.k + 2) * bound;
    }
  }
  return tolerance;
}

// The stored C with its padding columns cut off (the padding must stay untouched: NaN).
std::vector<float> without_padding(const std::vector<float>& c, int64_t m, int64_t n, int64_t ldc) {
  std::vector<float> values(m * n);
  for (int64_t row = 0; row < m; ++row) {
    for (int64_t col = 0; col < n; ++col) values[row * n + col] = c[row * ldc + col];
  }
  return values;
}

bool padding_untouched(const std::vector<float>& c, int64_t m, int64_t n, int64_t ldc) {
  for (int64_t row = 0; row < m; ++row) {
    for (int64_t col = n; col < ldc; ++col) {
      if (!std::isnan(c[row * ldc + col])) return false;
    }
  }
  return true;
}

void check_gemm_case(const GemmCase& test, mind::Rng& rng) {
  const GemmOperands operands = make_operands(test, rng);
  std::vector<float> fast = operands.c, reference = operands.c;
  kernels::gemm(test.transpose_a, test.transpose_b, test.m, test.n, test.k, test.alpha,
                operands.a.data(), operands.lda, operands.b.data(), operands.ldb, test.beta,
                fast.data(), operands.ldc);
  kernels::scalar::gemm(test.transpose_a, test.transpose_b, test.m, test.n, test.k, test.alpha,
                        operands.a.data(), operands.lda, operands.b.data(), operands.ldb,
                        test.beta, reference.data(), operands.ldc);
  const std::vector<double> tolerance = gemm_tolerance(test, operands);
  std::vector<double> tolerance_unpadded(test.m * test.n);
  for (int64_t row = 0; row < test.m; ++row) {
    for (int64_t col = 0; col < test.n; ++col) {
      tolerance_unpadded[row * test.n + col] = tolerance[row * operands.ldc + col];
    }
  }
  check_all_close("gemm " + test.describe(), without_padding(fast, test.m, test.n, operands.ldc),
                  without_padding(reference, test.m, test.n, operands.ldc), tolerance_unpadded);
  INFO("gemm " << test.describe() << " wrote into the padding of C");
  CHECK(padding_untouched(fast, test.m, test.n, operands.ldc));
}

}  // namespace

TEST_CASE("kernels: gemm of a hand-computed 2x3 by 3x2 product, all transposes") {
  // A = [[1, 2, 3], [4, 5, 6]], B = [[7, 8], [9, 10], [11, 12]]
  // A B = [[1*7 + 2*9 + 3*11, 1*8 + 2*10 + 3*12], [4*7 + 5*9 + 6*11, 4*8 + 5*10 + 6*12]]
  //     = [[58, 64], [139, 154]]
  const std::vector<float> a = {1, 2, 3, 4, 5, 6};
  const std::vector<float> b = {7, 8, 9, 10, 11, 12};
  for (int version = 0; version < 2; ++version) {
    for (int flags = 0; flags < 4; ++flags) {
      const bool transpose_a = flags & 1;
      const bool transpose_b = flags & 2;
      const int64_t lda = transpose_a ? 2 : 3;
      const int64_t ldb = transpose_b ? 3 : 2;
      const std::vector<float> stored_a = store_matrix(a, 2, 3, transpose_a, lda);
      const std::vector<float> stored_b = store_matrix(b, 3, 2, transpose_b, ldb);
      std::vector<float> c = {1, 1, 1, 1};
      // C = 0.5 * A B + 2 * C
      if (version == 0) {
        kernels::scalar::gemm(transpose_a, transpose_b, 2, 2, 3, 0.5f, stored_a.data(), lda,
                              stored_b.data(), ldb, 2.0f, c.data(), 2);
      } else {
        kernels::gemm(transpose_a, transpose_b, 2, 2, 3, 0.5f, stored_a.data(), lda,
                      stored_b.data(), ldb, 2.0f, c.data(), 2);
      }
      INFO((version == 0 ? "scalar" : "simd") << " transpose_a=" << transpose_a
                                              << " transpose_b=" << transpose_b);
      CHECK(c == std::vector<float>{31, 34, 71.5f, 79});
    }
  }
}

TEST_CASE("kernels: gemm matches its scalar twin for all transposes, odd sizes and strides") {
  mind::Rng rng(15);
  // Chosen to reach every path: edge rows (m not a multiple of 6), wide and narrow panels and a
  // partial last panel (n = 17, 20, 65, 80), several depth blocks (k > 128), the few-rows
  // path (Bᵀ with m <= lanes), and the threaded path (m n k above 1e5).
  const int64_t sizes[][3] = {{1, 1, 1},   {3, 5, 7},    {6, 64, 64},  {7, 17, 3},
                              {4, 20, 64}, {8, 33, 129}, {9, 65, 17},  {13, 20, 64},
                              {25, 80, 257}, {65, 63, 129}, {64, 64, 300}, {130, 17, 33}};
  // alpha, beta: overwrite, a scaled overwrite, accumulate (as backward does), and a general mix.
  const float scalings[][2] = {{1.0f, 0.0f}, {-1.5f, 0.0f}, {-0.5f, 1.0f}, {2.0f, 0.25f}};
  for (int flags = 0; flags < 4; ++flags) {
    for (const auto& size : sizes) {
      for (const auto& scaling : scalings) {
        const int64_t padding = (size[0] + size[1]) % 3;  // 0, 1 or 2 extra floats per row
        const GemmCase test{(flags & 1) != 0, (flags & 2) != 0, size[0], size[1], size[2],
                            scaling[0], scaling[1], padding};
        check_gemm_case(test, rng);
      }
    }
  }
}

TEST_CASE("kernels: gemm with Bᵀ and few rows matches its scalar twin at every edge") {
  mind::Rng rng(18);
  // The few-rows kernel (MIND's routing logits, [4, 64] x [20, 64]ᵀ) holds a column of C in one
  // vector, rows in the lanes (up to 8 with AVX2, 16 with AVX-512), and takes columns in groups of
  // 8. These sizes give vectors with missing rows (m = 1, 2, 5, 7, 9, 15), one past each lane count
  // (m = 9, 17: the panel path), every column tail (n = 1 ... 28), and depths of 1 to 64. The
  // padding of every stored row is NaN, so reading past the depth of A or B shows up in the result.
  const int64_t row_counts[] = {1, 2, 4, 5, 7, 8, 9, 15, 16, 17};
  const int64_t column_counts[] = {1, 3, 4, 6, 8, 9, 12, 13, 16, 20, 28};
  const int64_t depths[] = {1, 3, 4, 15, 19, 64};
  const float scalings[][2] = {{1.0f, 0.0f}, {-0.5f, 1.0f}};
  for (int64_t m : row_counts) {
    for (int64_t n : column_counts) {
      for (int64_t k : depths) {
        for (const auto& scaling : scalings) {
          check_gemm_case(GemmCase{false, true, m, n, k, scaling[0], scaling[1], 1}, rng);
        }
      }
    }
  }
}

TEST_CASE("kernels: gemm at MIND's training shapes matches its scalar twin") {
  mind::Rng rng(16);
  // [B*L, d] x [d, d] and its gradients, the logits [B, d] x [M, d]ᵀ and their gradients
  // (B = 128, L = 20, d = 64, M = 1280; smaller B*L keeps the debug build quick).
  const GemmCase cases[] = {{false, false, 640, 64, 64, 1.0f, 0.0f, 0},
                            {true, false, 64, 64, 640, 1.0f, 1.0f, 0},
                            {false, true, 640, 64, 64, 1.0f, 1.0f, 0},
                            {false, true, 128, 1280, 64, 1.0f, 0.0f, 0},
                            {false, false, 128, 64, 1280, 1.0f, 1.0f, 0},
                            {true, false, 1280, 64, 128, 1.0f, 1.0f, 0}};
  for (const GemmCase& test : cases) check_gemm_case(test, rng);
}

TEST_CASE("kernels: gemm with beta = 0 overwrites a NaN-filled C") {
  mind::Rng rng(17);
  // Small (dot-product path for NT), medium (panels) and large (threaded) products.
  const int64_t sizes[][3] = {{4, 20, 64}, {13, 17, 9}, {96, 80, 64}};
  for (int version = 0; version < 2; ++version) {
    for (int flags = 0; flags < 4; ++flags) {
      for (const auto& size : sizes) {
        const bool transpose_a = flags & 1;
        const bool transpose_b = flags & 2;
        const int64_t m = size[0], n = size[1], k = size[2];
        const std::vector<float> a = random_values(m * k, rng);
        const std::vector<float> b = random_values(k * n, rng);
        std::vector<float> c(m * n, nan_value);
        const int64_t lda = transpose_a ? m : k;
        const int64_t ldb = transpose_b ? k : n;
        if (version == 0) {
          kernels::scalar::gemm(transpose_a, transpose_b, m, n, k, 1.0f, a.data(), lda, b.data(),
                                ldb, 0.0f, c.data(), n);
        } else {
          kernels::gemm(transpose_a, transpose_b, m, n, k, 1.0f, a.data(), lda, b.data(), ldb,
                        0.0f, c.data(), n);
        }
        int64_t nan_count = 0;
        for (float value : c) nan_count += std::isnan(value) ? 1 : 0;
        INFO((version == 0 ? "scalar" : "simd") << " flags=" << flags << " m=" << m << " n=" << n
                                                << " k=" << k);
        CHECK(nan_count == 0);
      }
    }
  }
}

TEST_CASE("kernels: gemm with k = 0 or alpha = 0 only scales C by beta") {
  const float a[] = {nan_value};  // never read
  const float b[] = {nan_value};
  for (int version = 0; version < 2; ++version) {
    std::vector<float> c = {1, 2, 3, 4, 5, 6};  // [2, 3]
    std::vector<float> nan_c(6, nan_value);
    if (version == 0) {
      kernels::scalar::gemm(false, false, 2, 3, 0, 1.0f, a, 1, b, 3, 0.5f, c.data(), 3);
      kernels::scalar::gemm(false, false, 2, 3, 0, 1.0f, a, 1, b, 3, 0.0f, nan_c.data(), 3);
    } else {
      kernels::gemm(false, false, 2, 3, 0, 1.0f, a, 1, b, 3, 0.5f, c.data(), 3);
      kernels::gemm(false, false, 2, 3, 0, 1.0f, a, 1, b, 3, 0.0f, nan_c.data(), 3);
    }
    CHECK(c == std::vector<float>{0.5f, 1, 1.5f, 2, 2.5f, 3});
    CHECK(nan_c == std::vector<float>(6, 0.0f));
  }
  // alpha = 0 leaves beta * C and reads neither A nor B (the BLAS convention): only the fast one.
  std::vector<float> c = {1, 2, 3, 4};
  const std::vector<float> nan_operand(4, nan_value);
  kernels::gemm(false, false, 2, 2, 2, 0.0f, nan_operand.data(), 2, nan_operand.data(), 2, 3.0f,
                c.data(), 2);
  CHECK(c == std::vector<float>{3, 6, 9, 12});
}

TEST_CASE("kernels: gemm gives bit-identical results with 1 and 2 threads") {
  ThreadCountGuard guard;
  mind::Rng rng(18);
  // MIND shapes big enough to run threaded: logits [B, d] x [M, d]ᵀ, the gradient of S with its
  // long depth [d, B*L] x [B*L, d], and the MLP [B*K, d] x [2d, d]ᵀ.
  const int64_t shapes[][5] = {{0, 1, 128, 1280, 64}, {1, 0, 64, 64, 2560}, {0, 1, 512, 128, 64}};
  for (const auto& shape : shapes) {
    const bool transpose_a = shape[0] != 0;
    const bool transpose_b = shape[1] != 0;
    const int64_t m = shape[2], n = shape[3], k = shape[4];
    const std::vector<float> a = random_values(m * k, rng);
    const std::vector<float> b = random_values(k * n, rng);
    const std::vector<float> c_start = random_values(m * n, rng);
    const int64_t lda = transpose_a ? m : k;
    const int64_t ldb = transpose_b ? k : n;
    std::vector<float> one_thread = c_start, two_threads = c_start;
    omp_set_num_threads(1);
    kernels::gemm(transpose_a, transpose_b, m, n, k, 1.0f, a.data(), lda, b.data(), ldb, 1.0f,
                  one_thread.data(), n);
    omp_set_num_threads(2);
    kernels::gemm(transpose_a, transpose_b, m, n, k, 1.0f, a.data(), lda, b.data(), ldb, 1.0f,
                  two_threads.data(), n);
    INFO("m=" << m << " n=" << n << " k=" << k);
    const size_t bytes = one_thread.size() * sizeof(float);
    CHECK(std::memcmp(one_thread.data(), two_threads.data(), bytes) == 0);
  }
}

TEST_CASE("kernels: gemm with Bᵀ sums each element in one order: rows alone or together, 1 or 2 threads") {
  // Retrieval multiplies a few users' live interests [rows, d] by a block of items [n, d]ᵀ, and
  // how many rows share a product changes with the thread count (data/retrieval.cpp cuts users
  // into groups per thread). kernels.h promises every output the same order whatever the thread
  // count; for that, a row of C must have the same bits whether it is computed alone, with up to
  // `lanes` rows (the few-rows kernel) or with more (the panel path), on the calling thread
  // (gemm_batched of one product, or gemm below the threading size) or shared between threads.
  ThreadCountGuard guard;
  mind::Rng rng(20);
  const int64_t columns[] = {21, 1601};   // odd; 1601 x 65 is above the threading size at m = 1
  const int64_t depths[] = {65, 129};     // odd; 129 runs two depth blocks
  const float scalings[][2] = {{1.0f, 0.0f}, {0.7f, 0.5f}};
  for (int64_t n : columns) {
    for (int64_t k : depths) {
      const std::vector<float> a = random_values(17 * k, rng);  // up to 17 rows [m, k]
      const std::vector<float> b = random_values(n * k, rng);   // [n, k], used transposed
      const std::vector<float> c_start = random_values(17 * n, rng);
      for (const auto& scaling : scalings) {
        const float alpha = scaling[0], beta = scaling[1];
        // Each row alone, through the serial entry (a batch of one never starts threads).
        std::vector<float> alone = c_start;
        omp_set_num_threads(2);
        for (int64_t row = 0; row < 17; ++row) {
          kernels::gemm_batched(false, true, 1, 1, n, k, alpha, a.data() + row * k, k, 0, b.data(),
                                k, 0, beta, alone.data() + row * n, n, 0);
        }
        for (int64_t m = 1; m <= 17; ++m) {
          std::vector<float> results[2];
          for (int threads = 1; threads <= 2; ++threads) {
            omp_set_num_threads(threads);
            results[threads - 1].assign(c_start.begin(), c_start.begin() + m * n);
            kernels::gemm(false, true, m, n, k, alpha, a.data(), k, b.data(), k, beta,
                          results[threads - 1].data(), n);
          }
          INFO("m=" << m << " n=" << n << " k=" << k << " alpha=" << alpha << " beta=" << beta);
          const size_t bytes = static_cast<size_t>(m * n) * sizeof(float);
          CHECK(std::memcmp(results[0].data(), results[1].data(), bytes) == 0);
          CHECK(std::memcmp(results[0].data(), alone.data(), bytes) == 0);
        }
      }
    }
  }
}

TEST_CASE("kernels: gemm_batched, softmax_rows and exp are bit-identical with 1 and 2 threads") {
  ThreadCountGuard guard;
  mind::Rng rng(19);
  const int64_t batch = 128, m = 4, n = 20, k = 64;  // routing logits, per user
  const std::vector<float> a = random_values(batch * m * k, rng);
  const std::vector<float> b = random_values(batch * n * k, rng);
  const std::vector<float> logits = random_values(128 * 1281, rng, -10.0, 10.0);
  std::vector<float> c_results[2], softmax_results[2], narrow_softmax_results[2], exp_results[2];
  for (int threads = 1; threads <= 2; ++threads) {
    omp_set_num_threads(threads);
    std::vector<float>& c = c_results[threads - 1];
    c.assign(batch * m * n, 0.0f);
    kernels::gemm_batched(false, true, batch, m, n, k, 1.0f, a.data(), k, m * k, b.data(), k,
                          n * k, 0.0f, c.data(), n, m * n);
    softmax_results[threads - 1].resize(logits.size());
    kernels::softmax_rows(logits.data(), softmax_results[threads - 1].data(), 128, 1281);
    narrow_softmax_results[threads - 1].resize(logits.size());  // as [B*L*..., K = 4]
    kernels::softmax_rows(logits.data(), narrow_softmax_results[threads - 1].data(),
                          128 * 1281 / 4 - 1, 4);
    exp_results[threads - 1].resize(logits.size());
    kernels::exp(logits.data(), exp_results[threads - 1].data(),
                 static_cast<int64_t>(logits.size()));
  }
  CHECK(c_results[0] == c_results[1]);
  CHECK(softmax_results[0] == softmax_results[1]);
  CHECK(narrow_softmax_results[0] == narrow_softmax_results[1]);
  CHECK(exp_results[0] == exp_results[1]);
}

// ---- gemm_batched ----------------------------------------------------------------------------

TEST_CASE("kernels: gemm_batched matches its scalar twin for all transposes and strides") {
  mind::Rng rng(20);
  // MIND's routing products per user (K = 4, L = 20, d = 64) and their gradients, plus odd sizes.
  const int64_t sizes[][3] = {{4, 20, 64}, {4, 64, 20}, {20, 64, 4}, {5, 7, 9}, {13, 33, 17}};
  const int64_t batch = 9;
  for (int flags = 0; flags < 4; ++flags) {
    const bool transpose_a = flags & 1;
    const bool transpose_b = flags & 2;
    for (const auto& size : sizes) {
      for (int shared_b = 0; shared_b < 2; ++shared_b) {
        const int64_t m = size[0], n = size[1], k = size[2];
        const int64_t lda = (transpose_a ? m : k) + 1;
        const int64_t ldb = (transpose_b ? k : n) + 2;
        const int64_t ldc = n + 3;
        const int64_t stride_a = (transpose_a ? k : m) * lda + 5;  // gaps between matrices
        const int64_t b_floats = (transpose_b ? n : k) * ldb;  // one stored B
        const int64_t stride_b = shared_b ? 0 : b_floats + 1;  // 0: one B shared by all
        const int64_t stride_c = m * ldc + 2;
        const std::vector<float> a = random_values(batch * stride_a, rng);
        const std::vector<float> b = random_values(shared_b ? b_floats : batch * stride_b, rng);
        const std::vector<float> c_start = random_values(batch * stride_c, rng);
        for (float beta : {0.0f, 0.5f}) {
          std::vector<float> fast = c_start, reference = c_start;
          kernels::gemm_batched(transpose_a, transpose_b, batch, m, n, k, 1.5f, a.data(), lda,
                                stride_a, b.data(), ldb, stride_b, beta, fast.data(), ldc,
                                stride_c);
          kernels::scalar::gemm_batched(transpose_a, transpose_b, batch, m, n, k, 1.5f, a.data(),
                                        lda, stride_a, b.data(), ldb, stride_b, beta,
                                        reference.data(), ldc, stride_c);
          // Values in [-1, 1]: |alpha| (|A||B|)_ij + |beta C_ij| <= 1.5 k + 1.
          const double bound = 1.5 * double(k) + 1.0;
          const std::vector<double> tolerance(fast.size(), 1e-6 + 2.5e-7 * double(k + 2) * bound);
          std::ostringstream what;
          what << "gemm_batched flags=" << flags << " m=" << m << " n=" << n << " k=" << k
               << " shared_b=" << shared_b << " beta=" << beta;
          // Includes the gaps between the C matrices, which both versions must leave alone.
          check_all_close(what.str(), fast, reference, tolerance);
        }
      }
    }
  }
}

TEST_CASE("kernels: gemm and gemm_batched reject impossible arguments with a message") {
  const std::vector<float> data(64, 1.0f);
  std::vector<float> c(64, 0.0f);
  const float* x = data.data();
  float* out = c.data();
  for (int version = 0; version < 2; ++version) {
    const auto gemm = version == 0 ? kernels::scalar::gemm : kernels::gemm;
    const auto gemm_batched = version == 0 ? kernels::scalar::gemm_batched : kernels::gemm_batched;
    INFO("version: " << (version == 0 ? "scalar" : "simd"));
    CHECK_THROWS_WITH_AS(gemm(false, false, -1, 2, 2, 1.0f, x, 2, x, 2, 0.0f, out, 2),
                         doctest::Contains("negative size"), std::invalid_argument);
    // A stored [m, k] = [2, 3] needs lda >= 3; transposed it is [k, m] = [3, 2] and needs 2.
    CHECK_THROWS_WITH_AS(gemm(false, false, 2, 2, 3, 1.0f, x, 2, x, 2, 0.0f, out, 2),
                         doctest::Contains("lda=2"), std::invalid_argument);
    CHECK_NOTHROW(gemm(true, false, 2, 2, 3, 1.0f, x, 2, x, 2, 0.0f, out, 2));
    CHECK_THROWS_WITH_AS(gemm(false, true, 2, 2, 3, 1.0f, x, 3, x, 2, 0.0f, out, 2),
                         doctest::Contains("ldb=2"), std::invalid_argument);
    CHECK_THROWS_WITH_AS(gemm(false, false, 2, 4, 3, 1.0f, x, 3, x, 4, 0.0f, out, 3),
                         doctest::Contains("ldc=3"), std::invalid_argument);
    // Two [2, 2] products whose C matrices overlap (stride_c 3 < 2 * 2).
    CHECK_THROWS_WITH_AS(
        gemm_batched(false, false, 2, 2, 2, 2, 1.0f, x, 2, 4, x, 2, 4, 0.0f, out, 2, 3),
        doctest::Contains("stride_c=3"), std::invalid_argument);
    CHECK_THROWS_WITH_AS(
        gemm_batched(false, false, 2, 2, 2, 2, 1.0f, x, 2, -4, x, 2, 4, 0.0f, out, 2, 4),
        doctest::Contains("negative stride_a=-4"), std::invalid_argument);
  }
}
