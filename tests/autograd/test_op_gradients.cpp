// Every op's backward against central finite differences (autograd/gradcheck.h), over several
// random shapes, including broadcasting, masks and padding. Tolerance: the checker's default rule
// (relative 1e-3, absolute 1e-5, plus 16 times the float outputs' rounding blur), with h = 1e-3,
// and inputs over ±4 so that the ops' curvature is exercised (exp, tanh and softmax are far from
// linear there); non-smooth ops (relu) and poles (log, div, signed_pow below 1) are kept clear of
// their kinks explicitly. tests/autograd/test_gradcheck_mutations.cpp shows the rule catches small
// mistakes in a backward.
#include <doctest/doctest.h>

#include <map>
#include <vector>

#include "autograd/gradcheck.h"
#include "autograd/ops.h"
#include "test_helpers.h"

using namespace mind;
using mind::testing::random_tensor;

namespace {
using Inputs = std::vector<Tensor>;

void expect_pass(const GradcheckResult& result) {
  INFO(result.message);
  CHECK(result.passed);
}

const std::vector<Shape> shapes = {Shape{1}, Shape{5}, Shape{3, 4}, Shape{2, 3, 5}, Shape{2, 1, 3, 2}};

// Inputs span ±4: over ±1 exp, tanh, softmax and squash are nearly linear, and a backward with a
// wrong second-order term can look right.
constexpr float input_range = 4.0f;

Tensor curved(const Shape& shape, Rng& rng) { return random_tensor(shape, rng, true, -input_range, input_range); }

// Values of magnitude in [gap, input_range], either sign: clear of a kink or pole at 0 by `gap`,
// far more than a ±h nudge (1e-3) moves them.
Tensor away_from_zero(const Shape& shape, Rng& rng, float gap) {
  std::vector<float> values(shape.numel());
  for (float& value : values) {
    const float magnitude = gap + (input_range - gap) * static_cast<float>(rng.uniform());
    value = rng.uniform() < 0.5 ? -magnitude : magnitude;
  }
  return Tensor::from_values(shape, values, true);
}

Tensor mask_with_holes(const Shape& shape, Rng& rng, int keep_per_slice_at_least = 1) {
  std::vector<float> values(shape.numel());
  for (float& value : values) value = rng.uniform() < 0.7 ? 1.0f : 0.0f;
  const int64_t width = shape.last();
  for (int64_t row = 0; row < shape.numel() / width; ++row)
    for (int k = 0; k < keep_per_slice_at_least; ++k) values[row * width + k] = 1.0f;
  return Tensor::from_values(shape, values);
}
}  // namespace

TEST_CASE("gradcheck: add, sub, mul, div on equal shapes") {
  Rng rng(1);
  for (const Shape& shape : shapes) {
    Tensor a = curved(shape, rng), b = away_from_zero(shape, rng, 0.5f);  // b: a divisor
    expect_pass(gradcheck("add", [](const Inputs& x) { return add(x[0], x[1]); }, {a, b}));
    expect_pass(gradcheck("sub", [](const Inputs& x) { return sub(x[0], x[1]); }, {a, b}));
    expect_pass(gradcheck("mul", [](const Inputs& x) { return mul(x[0], x[1]); }, {a, b}));
    expect_pass(gradcheck("div", [](const Inputs& x) { return div(x[0], x[1]); }, {a, b}));
  }
}

TEST_CASE("gradcheck: binary ops broadcasting a row, a column, a scalar and a middle axis") {
  Rng rng(2);
  const std::vector<std::pair<Shape, Shape>> pairs = {
      {Shape{4, 3}, Shape{3}}, {Shape{4, 3}, Shape{4, 1}}, {Shape{2, 3, 4}, Shape{1}},
      {Shape{2, 3, 4}, Shape{2, 1, 4}}, {Shape{2, 3, 4}, Shape{3, 4}}};
  for (const auto& [shape_a, shape_b] : pairs) {
    Tensor a = curved(shape_a, rng), b = away_from_zero(shape_b, rng, 0.5f);  // b: a divisor
    expect_pass(gradcheck("add broadcast", [](const Inputs& x) { return add(x[0], x[1]); }, {a, b}));
    expect_pass(gradcheck("sub broadcast", [](const Inputs& x) { return sub(x[0], x[1]); }, {a, b}));
    expect_pass(gradcheck("mul broadcast", [](const Inputs& x) { return mul(x[0], x[1]); }, {a, b}));
    expect_pass(gradcheck("div broadcast", [](const Inputs& x) { return div(x[0], x[1]); }, {a, b}));
  }
}

TEST_CASE("gradcheck: unary ops") {
  Rng rng(3);
  for (const Shape& shape : shapes) {
    Tensor x = away_from_zero(shape, rng, 0.1f);                      // relu's kink, signed_pow's pole
    Tensor positive = random_tensor(shape, rng, true, 0.2f, input_range);  // log's domain
    expect_pass(gradcheck("scale", [](const Inputs& v) { return scale(v[0], -1.7f); }, {x}));
    expect_pass(gradcheck("add_scalar", [](const Inputs& v) { return add_scalar(v[0], 0.3f); }, {x}));
    expect_pass(gradcheck("exp", [](const Inputs& v) { return exp(v[0]); }, {x}));
    expect_pass(gradcheck("log", [](const Inputs& v) { return log(v[0]); }, {positive}));
    expect_pass(gradcheck("relu", [](const Inputs& v) { return relu(v[0]); }, {x}));
    expect_pass(gradcheck("tanh", [](const Inputs& v) { return tanh(v[0]); }, {x}));
    for (float power : {1.0f, 2.0f, 2.5f, 3.0f, 0.7f})
      expect_pass(gradcheck("signed_pow", [power](const Inputs& v) { return signed_pow(v[0], power); }, {x}));
  }
}

TEST_CASE("gradcheck: sum and mean over each axis and over everything") {
  Rng rng(4);
  for (const Shape& shape : shapes) {
    Tensor x = curved(shape, rng);
    for (int axis = 0; axis < shape.rank; ++axis) {
      expect_pass(gradcheck("sum", [axis](const Inputs& v) { return sum(v[0], axis); }, {x}));
      expect_pass(gradcheck("mean", [axis](const Inputs& v) { return mean(v[0], axis); }, {x}));
    }
    expect_pass(gradcheck("sum_all", [](const Inputs& v) { return sum_all(v[0]); }, {x}));
    expect_pass(gradcheck("mean_all", [](const Inputs& v) { return mean_all(v[0]); }, {x}));
  }
}

TEST_CASE("gradcheck: matmul, batched_matmul (all transposes), linear") {
  Rng rng(5);
  for (auto [m, k, n] : std::vector<std::tuple<int64_t, int64_t, int64_t>>{{1, 1, 1}, {3, 4, 5}, {7, 3, 2}}) {
    Tensor a = curved(Shape{m, k}, rng);
    Tensor b = curved(Shape{k, n}, rng);
    Tensor b_transposed = curved(Shape{n, k}, rng);
    expect_pass(gradcheck("matmul", [](const Inputs& x) { return matmul(x[0], x[1]); }, {a, b}));
    expect_pass(gradcheck("matmul transpose_b", [](const Inputs& x) { return matmul(x[0], x[1], true); }, {a, b_transposed}));
    for (bool transpose_a : {false, true})
      for (bool transpose_b : {false, true}) {
        Tensor batch_a = curved(transpose_a ? Shape{2, k, m} : Shape{2, m, k}, rng);
        Tensor batch_b = curved(transpose_b ? Shape{2, n, k} : Shape{2, k, n}, rng);
        expect_pass(gradcheck("batched_matmul", [=](const Inputs& x) {
          return batched_matmul(x[0], x[1], transpose_a, transpose_b);
        }, {batch_a, batch_b}));
      }
    Tensor x = curved(Shape{2, m, k}, rng);
    Tensor weight = curved(Shape{n, k}, rng);
    Tensor bias = curved(Shape{n}, rng);
    expect_pass(gradcheck("linear", [](const Inputs& v) { return linear(v[0], v[1], v[2]); }, {x, weight, bias}));
    expect_pass(gradcheck("linear without bias", [](const Inputs& v) { return linear(v[0], v[1], Tensor()); }, {x, weight}));
  }
}

TEST_CASE("gradcheck: reshape, transpose_last, concat_last, select_rows") {
  Rng rng(6);
  Tensor x = curved(Shape{2, 3, 4}, rng);
  expect_pass(gradcheck("reshape", [](const Inputs& v) { return mul(reshape(v[0], Shape{6, 4}), reshape(v[0], Shape{6, 4})); }, {x}));
  expect_pass(gradcheck("transpose_last", [](const Inputs& v) { return transpose_last(v[0]); }, {x}));
  Tensor four = curved(Shape{2, 3, 2, 4}, rng);
  expect_pass(gradcheck("swap_axes 1 2", [](const Inputs& v) { return swap_axes(v[0], 1, 2); }, {four}));
  expect_pass(gradcheck("swap_axes 0 3", [](const Inputs& v) { return swap_axes(v[0], 0, -1); }, {four}));
  Tensor y = curved(Shape{2, 3, 2}, rng);
  expect_pass(gradcheck("concat_last", [](const Inputs& v) { return concat_last(v[0], v[1]); }, {x, y}));
  expect_pass(gradcheck("select_rows", [](const Inputs& v) { return select_rows(v[0], {2, 0}); }, {x}));
  Tensor rows = curved(Shape{3, 2}, rng);
  expect_pass(gradcheck("repeat_rows", [](const Inputs& v) { return repeat_rows(v[0], 4); }, {rows}));
}

TEST_CASE("gradcheck: gather_rows into a dense and into a row-sparse gradient, with padding and repeats") {
  Rng rng(7);
  for (bool sparse : {false, true}) {
    Tensor table = curved(Shape{5, 3}, rng);
    table.make_parameter("table", sparse);
    const std::vector<int32_t> ids = {4, -1, 0, 4, 2, -1};  // repeats and padding
    expect_pass(gradcheck(sparse ? "gather_rows sparse" : "gather_rows dense",
                          [&ids](const Inputs& v) { return gather_rows(v[0], ids, Shape{2, 3}); }, {table}));
  }
}

TEST_CASE("row-sparse gradient: a repeated id is summed into its row, rows in order of first appearance") {
  Tensor table = Tensor::from_values(Shape{4, 2}, {1, 2, 3, 4, 5, 6, 7, 8});
  table.make_parameter("table", true);
  Tensor rows = gather_rows(table, {3, 1, 3, -1}, Shape{4});
  sum_all(mul(rows, Tensor::from_values(Shape{4, 2}, {1, 1, 2, 2, 10, 10, 5, 5}))).backward();
  RowSparseGradient& gradient = table.row_gradient();
  CHECK_FALSE(table.has_grad());  // no dense [N, d] buffer was made
  CHECK(gradient.rows == std::vector<int32_t>{3, 1});
  CHECK(gradient.values == std::vector<float>{11, 11, 2, 2});
  // clear() forgets the rows: the next step starts from nothing, and id 1 is new again.
  gradient.clear();
  const float ones[2] = {1.0f, 1.0f};
  gradient.append(1, ones);
  gradient.append(1, ones);
  CHECK(gradient.rows == std::vector<int32_t>{1});
  CHECK(gradient.values == std::vector<float>{2, 2});
  CHECK_THROWS_AS(gradient.append(4, ones), std::out_of_range);
  CHECK_THROWS_AS(gradient.append(-1, ones), std::out_of_range);
}

TEST_CASE("row-sparse gradient: thousands of ids with repeats and colliding hashes sum as a dense buffer does") {
  // 3 000 appends over 1 200 distinct ids of a 2^22-row table: the hash table grows twice (from
  // 1 024 entries), and ids that differ only in their high bits (k · 2^12) probe past each other.
  // The reference adds into one row per id (a std::map standing for a dense [N, d] buffer), in
  // the same order.
  const int64_t row_count = int64_t{1} << 22, width = 3;
  RowSparseGradient gradient;
  gradient.width = width;
  gradient.row_count = row_count;
  std::vector<int32_t> distinct;
  for (int32_t k = 0; k < 600; ++k) distinct.push_back(k << 12);          // same low bits
  for (int32_t k = 0; k < 600; ++k) distinct.push_back(1000 + 7 * k);     // nearby ids
  std::vector<int32_t> appended;
  for (int round = 0; round < 3; ++round) {
    for (size_t i = 0; i < distinct.size(); ++i) {
      if (round > 0 && static_cast<int>(i % 3) == round) continue;  // not every id repeats
      appended.push_back(distinct[i]);
    }
  }
  std::map<int32_t, std::vector<float>> reference;
  std::vector<int32_t> first_seen;
  for (size_t i = 0; i < appended.size(); ++i) {
    const float row[3] = {0.5f * static_cast<float>(i), -1.0f, 0.25f * static_cast<float>(i % 7)};
    gradient.append(appended[i], row);
    auto found = reference.find(appended[i]);
    if (found == reference.end()) {
      first_seen.push_back(appended[i]);
      reference[appended[i]] = std::vector<float>(row, row + width);
    } else {
      for (int64_t k = 0; k < width; ++k) found->second[k] += row[k];
    }
  }
  REQUIRE(gradient.rows == first_seen);  // distinct, in order of first appearance
  bool all_equal = true;
  for (size_t slot = 0; slot < gradient.rows.size(); ++slot)
    for (int64_t k = 0; k < width; ++k)
      all_equal = all_equal && gradient.values[slot * width + k] == reference[gradient.rows[slot]][k];
  CHECK(all_equal);
  // After clear() every id is new again, also those that sat in the grown table.
  gradient.clear();
  const float ones[3] = {1.0f, 1.0f, 1.0f};
  gradient.append(distinct[599], ones);
  gradient.append(distinct[0], ones);
  gradient.append(distinct[599], ones);
  CHECK(gradient.rows == std::vector<int32_t>{distinct[599], distinct[0]});
  CHECK(gradient.values == std::vector<float>{2, 2, 2, 1, 1, 1});
}

TEST_CASE("gradcheck: softmax over each axis, with and without a mask") {
  Rng rng(8);
  for (const Shape& shape : {Shape{4}, Shape{3, 5}, Shape{2, 3, 4}}) {
    Tensor x = curved(shape, rng);
    for (int axis = 0; axis < shape.rank; ++axis)
      expect_pass(gradcheck("softmax", [axis](const Inputs& v) { return softmax(v[0], axis); }, {x}));
    Tensor mask = mask_with_holes(shape, rng);
    expect_pass(gradcheck("softmax masked", [mask](const Inputs& v) { return softmax(v[0], -1, mask); }, {x}));
    if (shape.rank > 1)
      expect_pass(gradcheck("softmax masked axis 0", [mask](const Inputs& v) { return softmax(v[0], 0, mask); }, {x}));
  }
}

TEST_CASE("gradcheck: log_softmax, masked_fill, cross_entropy (masked columns included)") {
  Rng rng(9);
  Tensor x = curved(Shape{3, 5}, rng);
  Tensor mask = mask_with_holes(Shape{3, 5}, rng);
  expect_pass(gradcheck("log_softmax", [](const Inputs& v) { return log_softmax(v[0]); }, {x}));
  expect_pass(gradcheck("log_softmax masked", [mask](const Inputs& v) { return log_softmax(v[0], mask); }, {x}));
  expect_pass(gradcheck("masked_fill", [mask](const Inputs& v) { return masked_fill(v[0], mask, -3.0f); }, {x}));
  expect_pass(gradcheck("cross_entropy", [](const Inputs& v) { return cross_entropy(v[0], {0, 4, 2}); }, {x}));
  expect_pass(gradcheck("cross_entropy masked", [mask](const Inputs& v) { return cross_entropy(v[0], {0, 0, 0}, mask); }, {x}));
}

TEST_CASE("gradcheck: dot_last, squash (powers 1 and 0.5), l2_normalize") {
  Rng rng(10);
  for (const Shape& shape : {Shape{4}, Shape{3, 5}, Shape{2, 3, 4}}) {
    Tensor a = curved(shape, rng), b = curved(shape, rng);
    expect_pass(gradcheck("dot_last", [](const Inputs& v) { return dot_last(v[0], v[1]); }, {a, b}));
    expect_pass(gradcheck("squash", [](const Inputs& v) { return squash(v[0]); }, {a}));
    expect_pass(gradcheck("squash power 0.5", [](const Inputs& v) { return squash(v[0], 0.5f); }, {a}));
    // Over ±4 most rows have norms of 3 to 8, where squash has flattened out; its bend is near
    // norm 1, which rows of ±0.6 values reach.
    Tensor near_unit = random_tensor(shape, rng, true, -0.6f, 0.6f);
    expect_pass(gradcheck("squash near norm 1", [](const Inputs& v) { return squash(v[0]); }, {near_unit}));
    expect_pass(gradcheck("squash power 0.5 near norm 1", [](const Inputs& v) { return squash(v[0], 0.5f); }, {near_unit}));
    Tensor large = random_tensor(shape, rng, true, 1.0f, 3.0f);
    expect_pass(gradcheck("squash large", [](const Inputs& v) { return squash(v[0]); }, {large}));
    expect_pass(gradcheck("l2_normalize", [](const Inputs& v) { return l2_normalize(v[0]); }, {a}));
  }
}

// A test-only op whose backward is deliberately wrong: y = x², backward says dx = x (not 2x).
namespace {
Tensor wrong_square(const Tensor& x) {
  Tensor y = make_result("wrong_square", x.shape(), {x});
  for (int64_t i = 0; i < x.numel(); ++i) y.data()[i] = x.data()[i] * x.data()[i];
  if (y.requires_grad())
    y.node()->backward = [](Node& y) {
      Node& x = *y.parents[0];
      float* dx = grad_or_null(x);
      for (int64_t i = 0; i < y.numel(); ++i) dx[i] += y.grad.data()[i] * x.value[i];  // wrong on purpose
    };
  return y;
}
}  // namespace

TEST_CASE("the checker catches a wrong backward and names the op, input, element and both numbers") {
  Rng rng(11);
  Tensor x = random_tensor(Shape{3, 4}, rng, true, 0.5f, 1.5f);
  const GradcheckResult result = gradcheck("wrong_square", [](const Inputs& v) { return wrong_square(v[0]); }, {x});
  CHECK_FALSE(result.passed);
  CHECK(result.worst_ratio > 1.0);
  // The worst element's numbers say the truth: numeric ≈ 2× analytic.
  CHECK(result.worst_numeric == doctest::Approx(2.0 * result.worst_analytic).epsilon(0.02));
  CHECK(result.message.find("wrong_square") != std::string::npos);
  CHECK(result.message.find("FAILED") != std::string::npos);
  CHECK(result.message.find("input 0") != std::string::npos);
}

TEST_CASE("the checker refuses to pass when nothing needs a gradient") {
  Tensor constant = Tensor::from_values(Shape{2}, {1, 2});
  const GradcheckResult result = gradcheck("nothing", [](const Inputs& v) { return exp(v[0]); }, {constant});
  CHECK_FALSE(result.passed);
}
