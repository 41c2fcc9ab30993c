// Forward values of every op against results computed by hand.
#include <doctest/doctest.h>

#include <cmath>
#include <limits>

#include "autograd/ops.h"
#include "test_helpers.h"

using namespace mind;
using mind::testing::check_close;

namespace {
Tensor t(const Shape& shape, const std::vector<float>& values) { return Tensor::from_values(shape, values); }
}  // namespace

TEST_CASE("values: add, sub, mul, div with each kind of broadcast") {
  Tensor a = t(Shape{2, 3}, {1, 2, 3, 4, 5, 6});
  check_close(add(a, t(Shape{2, 3}, {1, 1, 1, 2, 2, 2})).values(), {2, 3, 4, 6, 7, 8});
  check_close(add(a, t(Shape{3}, {10, 20, 30})).values(), {11, 22, 33, 14, 25, 36});   // row vector
  check_close(sub(a, t(Shape{2, 1}, {1, 2})).values(), {0, 1, 2, 2, 3, 4});           // column
  check_close(mul(a, t(Shape{1}, {2})).values(), {2, 4, 6, 8, 10, 12});               // scalar
  check_close(div(a, t(Shape{3}, {1, 2, 4})).values(), {1, 1, 0.75, 4, 2.5, 1.5});
  Tensor cube = t(Shape{2, 2, 2}, {1, 2, 3, 4, 5, 6, 7, 8});
  check_close(mul(cube, t(Shape{2, 1, 2}, {1, 0, 0, 1})).values(), {1, 0, 3, 0, 0, 6, 0, 8});  // general
}

TEST_CASE("values: scale, add_scalar, exp, log, relu, tanh, signed_pow") {
  Tensor x = t(Shape{4}, {-2, -0.5, 0, 1.5});
  check_close(scale(x, -2).values(), {4, 1, 0, -3});
  check_close(add_scalar(x, 1).values(), {-1, 0.5, 1, 2.5});
  check_close(exp(x).values(), {std::exp(-2.0f), std::exp(-0.5f), 1.0f, std::exp(1.5f)});
  check_close(log(t(Shape{3}, {1, std::exp(2.0f), 0.5f})).values(), {0, 2, std::log(0.5f)});
  check_close(relu(x).values(), {0, 0, 0, 1.5});
  CHECK(std::isnan(relu(t(Shape{2}, {NAN, 1})).values()[0]));  // a NaN is passed on, not hidden as 0
  check_close(tanh(x).values(), {std::tanh(-2.0f), std::tanh(-0.5f), 0, std::tanh(1.5f)});
  check_close(signed_pow(t(Shape{3}, {-4, 0, 9}), 0.5f).values(), {-2, 0, 3});
  check_close(signed_pow(t(Shape{2}, {-2, 3}), 3.0f).values(), {-8, 27});  // odd power = x³
}

TEST_CASE("values: sum and mean over each axis, and over everything") {
  Tensor x = t(Shape{2, 3}, {1, 2, 3, 4, 5, 6});
  check_close(sum(x, 0).values(), {5, 7, 9});
  check_close(sum(x, 1).values(), {6, 15});
  check_close(mean(x, -1).values(), {2, 5});
  CHECK(sum_all(x).item() == doctest::Approx(21));
  CHECK(mean_all(x).item() == doctest::Approx(3.5));
  CHECK(sum(x, 1).shape() == Shape{2});
}

TEST_CASE("values: matmul, batched_matmul with transposes, linear") {
  Tensor a = t(Shape{2, 3}, {1, 2, 3, 4, 5, 6});
  Tensor b = t(Shape{3, 2}, {7, 8, 9, 10, 11, 12});
  check_close(matmul(a, b).values(), {58, 64, 139, 154});
  check_close(matmul(a, a, true).values(), {14, 32, 32, 77});  // a·aᵀ
  Tensor batch_a = t(Shape{2, 2, 2}, {1, 2, 3, 4, 1, 0, 0, 1});
  Tensor batch_b = t(Shape{2, 2, 2}, {5, 6, 7, 8, 2, 3, 4, 5});
  check_close(batched_matmul(batch_a, batch_b).values(), {19, 22, 43, 50, 2, 3, 4, 5});
  check_close(batched_matmul(batch_a, batch_b, true, false).values(), {26, 30, 38, 44, 2, 3, 4, 5});
  check_close(batched_matmul(batch_a, batch_b, false, true).values(), {17, 23, 39, 53, 2, 4, 3, 5});
  Tensor weight = t(Shape{2, 3}, {1, 0, -1, 2, 1, 0});  // [out=2, in=3]
  Tensor bias = t(Shape{2}, {0.5, -1});
  check_close(linear(a, weight, bias).values(), {-1.5, 3, -1.5, 12});
}

TEST_CASE("values: reshape, transpose_last, concat_last, select_rows") {
  Tensor x = t(Shape{2, 3}, {1, 2, 3, 4, 5, 6});
  Tensor viewed = reshape(x, Shape{3, 2});
  CHECK(viewed.shape() == Shape{3, 2});
  CHECK(viewed.data() == x.data());  // a view, not a copy
  check_close(transpose_last(x).values(), {1, 4, 2, 5, 3, 6});
  check_close(swap_axes(x, 0, 1).values(), {1, 4, 2, 5, 3, 6});
  // [2, 2, 2] with axes 0 and 2 exchanged: y[i][j][k] = x[k][j][i]
  check_close(swap_axes(t(Shape{2, 2, 2}, {1, 2, 3, 4, 5, 6, 7, 8}), 0, 2).values(), {1, 5, 3, 7, 2, 6, 4, 8});
  check_close(concat_last(x, t(Shape{2, 1}, {7, 8})).values(), {1, 2, 3, 7, 4, 5, 6, 8});
  Tensor capsules = t(Shape{2, 2, 2}, {1, 2, 3, 4, 5, 6, 7, 8});
  check_close(select_rows(capsules, {1, 0}).values(), {3, 4, 5, 6});
  CHECK_THROWS_AS(reshape(x, Shape{4}), std::invalid_argument);
  check_close(repeat_rows(t(Shape{2, 2}, {1, 2, 3, 4}), 2).values(), {1, 2, 1, 2, 3, 4, 3, 4});
}

TEST_CASE("values: gather_rows with padding and repeated ids") {
  Tensor table = t(Shape{3, 2}, {1, 2, 3, 4, 5, 6});
  Tensor rows = gather_rows(table, {2, -1, 0, 2}, Shape{2, 2});
  CHECK(rows.shape() == Shape{2, 2, 2});
  check_close(rows.values(), {5, 6, 0, 0, 1, 2, 5, 6});
  CHECK_THROWS_AS(gather_rows(table, {3}, Shape{1}), std::out_of_range);
}

TEST_CASE("values: softmax over each axis, with a mask, and stable for large inputs") {
  Tensor x = t(Shape{2}, {0, std::log(2.0f)});
  check_close(softmax(x, 0).values(), {1.0f / 3, 2.0f / 3});
  check_close(softmax(t(Shape{2}, {1000, 1001}), 0).values(), {1 / (1 + std::exp(1.0f)), 1 / (1 + std::exp(-1.0f))});
  Tensor grid = t(Shape{2, 2}, {0, 0, std::log(3.0f), 0});
  check_close(softmax(grid, 0).values(), {0.25, 0.5, 0.75, 0.5});  // down the columns
  Tensor mask = t(Shape{2, 2}, {1, 0, 0, 0});
  check_close(softmax(grid, 1, mask).values(), {1, 0, 0, 0});     // second row fully masked: zeros
  Tensor three = t(Shape{1, 3}, {1, 2, 3});
  check_close(softmax(three, 1, t(Shape{1, 3}, {1, 0, 1})).values(),
              {1 / (1 + std::exp(2.0f)), 0, 1 / (1 + std::exp(-2.0f))});
}

TEST_CASE("values: log_softmax, masked_fill, cross_entropy") {
  Tensor x = t(Shape{1, 3}, {1, 2, 3});
  const float log_total = std::log(std::exp(1.0f) + std::exp(2.0f) + std::exp(3.0f));
  check_close(log_softmax(x).values(), {1 - log_total, 2 - log_total, 3 - log_total});
  std::vector<float> masked = log_softmax(x, t(Shape{1, 3}, {1, 1, 0})).values();
  CHECK(std::isinf(masked[2]));
  CHECK(masked[0] == doctest::Approx(1 - std::log(std::exp(1.0f) + std::exp(2.0f))));
  check_close(masked_fill(x, t(Shape{1, 3}, {0, 1, 0}), -5).values(), {-5, 2, -5});
  // Two rows: −log p of targets 2 and 0, averaged.
  Tensor logits = t(Shape{2, 3}, {1, 2, 3, 0, 0, 0});
  const double expected = ((log_total - 3) + std::log(3.0)) / 2;
  CHECK(cross_entropy(logits, {2, 0}).item() == doctest::Approx(expected).epsilon(1e-6));
  // Masking column 1 of row 1 leaves two equal columns: −log(1/2).
  Tensor mask = t(Shape{2, 3}, {1, 1, 1, 1, 0, 1});
  CHECK(cross_entropy(logits, {2, 0}, mask).item() == doctest::Approx(((log_total - 3) + std::log(2.0)) / 2).epsilon(1e-6));
  CHECK_THROWS_AS(cross_entropy(logits, {2, 1}, mask), std::invalid_argument);  // masked target
}

TEST_CASE("values: dot_last, squash, l2_normalize, argmax_last") {
  Tensor a = t(Shape{2, 2}, {1, 2, 3, 4});
  Tensor b = t(Shape{2, 2}, {5, 6, 7, 8});
  check_close(dot_last(a, b).values(), {17, 53});
  // |z| = 5: squash = 25/26 · z/5
  check_close(squash(t(Shape{1, 2}, {3, 4}), 1.0f, 0.0f).values(), {25.0f / 26 * 0.6f, 25.0f / 26 * 0.8f});
  // power 0.5: sqrt(25/26) · z/5
  check_close(squash(t(Shape{1, 2}, {3, 4}), 0.5f, 0.0f).values(), {std::sqrt(25.0f / 26) * 0.6f, std::sqrt(25.0f / 26) * 0.8f});
  check_close(squash(t(Shape{1, 2}, {0, 0})).values(), {0, 0});
  check_close(l2_normalize(t(Shape{1, 2}, {3, 4})).values(), {0.6f, 0.8f});
  Tensor scores = t(Shape{2, 3}, {1, 5, 5, 9, 2, 3});
  CHECK(argmax_last(scores) == std::vector<int32_t>{1, 0});  // tie → lower index
  CHECK(argmax_last(scores, t(Shape{2, 3}, {1, 0, 1, 0, 1, 1})) == std::vector<int32_t>{2, 2});
}
