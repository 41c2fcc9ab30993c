// The optimizers (SGD, Adam, LazyAdam, AdamWithLazyTables), gradient clipping and the optimizer
// state, checked against values worked out by hand (the working is in the comments) and against
// each other: lazy vs dense Adam, resumed vs straight runs, 1 vs 2 threads.
#include <doctest/doctest.h>

#include <omp.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <stdexcept>
#include <string>
#include <vector>

#include "autograd/ops.h"
#include "nn/adam.h"
#include "nn/adam_update.h"
#include "nn/clip.h"
#include "nn/sgd.h"
#include "test_helpers.h"

using namespace mind;
using namespace mind::nn;
using mind::testing::check_close;

namespace {

Tensor parameter(const std::string& name, const Shape& shape, const std::vector<float>& values) {
  Tensor tensor = Tensor::from_values(shape, values);
  tensor.make_parameter(name);
  return tensor;
}

Tensor table(const std::string& name, const Shape& shape, const std::vector<float>& values) {
  Tensor tensor = Tensor::from_values(shape, values);
  tensor.make_parameter(name, true);
  return tensor;
}

void set_gradient(Tensor& tensor, const std::vector<float>& values) {
  REQUIRE(static_cast<int64_t>(values.size()) == tensor.numel());
  std::memcpy(tensor.grad(), values.data(), values.size() * sizeof(float));
}

void add_row_gradient(Tensor& table, int32_t row, const std::vector<float>& values) {
  REQUIRE(static_cast<int64_t>(values.size()) == table.size(1));
  table.row_gradient().append(row, values.data());
}

std::vector<float> random_values(int64_t count, Rng& rng) {
  std::vector<float> values(count);
  for (float& value : values) value = static_cast<float>(rng.uniform() * 2.0 - 1.0);
  return values;
}

// The state array called `name`, found by name (never by position).
const NamedArray& find_array(const std::vector<NamedArray>& arrays, const std::string& name) {
  for (const NamedArray& array : arrays)
    if (array.name == name) return array;
  FAIL("no state array named " << name);
  return arrays.front();
}

bool same_bits(const std::vector<float>& a, const std::vector<float>& b) {
  return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size() * sizeof(float)) == 0;
}

bool same_bits(const float* a, const float* b, int64_t count) {
  return std::memcmp(a, b, count * sizeof(float)) == 0;
}

// A fixed sequence of gradients for the resume tests: step `step` gives the dense parameter
// and a few (sometimes repeated) rows of the table a gradient drawn from a generator seeded by it.
void fill_gradients(Tensor& dense, Tensor& rows_table, int step) {
  dense.zero_grad();
  rows_table.zero_grad();
  Rng rng(1000 + step);
  set_gradient(dense, random_values(dense.numel(), rng));
  for (int touch = 0; touch < 4; ++touch) {
    const int32_t row = static_cast<int32_t>(rng.below(static_cast<uint64_t>(rows_table.size(0))));
    add_row_gradient(rows_table, row, random_values(rows_table.size(1), rng));
  }
}

}  // namespace

// ---- SGD -----------------------------------------------------------------------------------

TEST_CASE("optimizers: SGD without momentum steps p - lr * g") {
  Tensor weight = parameter("weight", Shape{2}, {1.0f, -2.0f});
  SGD sgd({weight}, SgdSettings{0.1, 0.0});
  set_gradient(weight, {0.5f, -3.0f});
  sgd.step();
  // 1 - 0.1·0.5 = 0.95;  -2 - 0.1·(-3) = -1.7
  check_close(weight.values(), {0.95f, -1.7f}, 1e-7);
  CHECK(sgd.step_count() == 1);
  CHECK(sgd.state().empty());  // plain SGD keeps no state
}

TEST_CASE("optimizers: SGD with momentum accumulates b = mu b + g") {
  Tensor weight = parameter("weight", Shape{2}, {1.0f, -2.0f});
  SGD sgd({weight}, SgdSettings{0.1, 0.9});
  set_gradient(weight, {0.5f, -3.0f});
  sgd.step();  // b = g = [0.5, -3];  p = [0.95, -1.7]
  check_close(weight.values(), {0.95f, -1.7f}, 1e-7);
  sgd.zero_grad();
  set_gradient(weight, {0.1f, 2.0f});
  sgd.step();  // b = 0.9·[0.5, -3] + [0.1, 2] = [0.55, -0.7];  p = [0.95 - 0.055, -1.7 + 0.07]
  check_close(weight.values(), {0.895f, -1.63f}, 1e-7);
  check_close(find_array(sgd.state(), "weight.momentum_buffer").values, {0.55f, -0.7f}, 1e-6);
}

TEST_CASE("optimizers: SGD on a table sums repeated rows and moves only touched rows") {
  Tensor items = table("items", Shape{3, 2}, {1, 2, 3, 4, 5, 6});
  SGD sgd({items}, SgdSettings{0.1, 0.5});
  // Row 2 twice: its gradient is [1, 1] + [1, -1] = [2, 0].
  add_row_gradient(items, 2, {1.0f, 1.0f});
  add_row_gradient(items, 0, {0.5f, -0.5f});
  add_row_gradient(items, 2, {1.0f, -1.0f});
  sgd.step();
  // row 0: [1, 2] - 0.1·[0.5, -0.5];  row 1 untouched;  row 2: [5, 6] - 0.1·[2, 0]
  check_close(items.values(), {0.95f, 2.05f, 3, 4, 4.8f, 6}, 1e-7);
  sgd.zero_grad();
  add_row_gradient(items, 2, {1.0f, 1.0f});
  sgd.step();
  // row 2: b = 0.5·[2, 0] + [1, 1] = [2, 1], p = [4.8 - 0.2, 6 - 0.1]; row 0 does not drift on
  // its old momentum (lazy) and its buffer keeps [0.5, -0.5].
  check_close(items.values(), {0.95f, 2.05f, 3, 4, 4.6f, 5.9f}, 1e-7);
  check_close(find_array(sgd.state(), "items.momentum_buffer").values,
              {0.5f, -0.5f, 0, 0, 2, 1}, 1e-7);
}

// ---- Adam ----------------------------------------------------------------------------------

TEST_CASE("optimizers: the first Adam step moves each coordinate by about lr * sign(g)") {
  Tensor weight = parameter("weight", Shape{2}, {1.0f, -2.0f});
  Adam adam({weight});
  set_gradient(weight, {0.5f, -3.0f});
  adam.step();
  // t = 1: m̂ = g, v̂ = g², so p -= lr · g / (|g| + ε) = lr · sign(g) · (1 - ε/|g|).
  check_close(weight.values(), {0.99900000002f, -1.9990000000033f}, 1e-7);
  const std::vector<NamedArray> state = adam.state();
  check_close(find_array(state, "weight.exp_avg").values, {0.05f, -0.3f}, 1e-7);     // 0.1·g
  check_close(find_array(state, "weight.exp_avg_sq").values, {0.00025f, 0.009f}, 1e-7);  // 0.001·g²
  CHECK(adam.step_count() == 1);
}

TEST_CASE("optimizers: two Adam steps with bias correction match the hand computation") {
  Tensor weight = parameter("weight", Shape{2}, {1.0f, -2.0f});
  Adam adam({weight});
  set_gradient(weight, {0.5f, -3.0f});
  adam.step();
  adam.zero_grad();
  set_gradient(weight, {-1.0f, 2.0f});
  adam.step();
  // m2 = 0.9·0.1·g1 + 0.1·g2 = [-0.055, -0.07];  v2 = 0.999·0.001·g1² + 0.001·g2²
  //    = [0.00124975, 0.012991];  p2 = p1 - (lr / (1 - 0.9²)) · m2 / (√v2 / √(1 - 0.999²) + ε)
  // with p1 from the first step: p2 = [0.9993661035424, -1.998855479474]
  check_close(weight.values(), {0.9993661035424f, -1.998855479474f}, 1e-7);
  const std::vector<NamedArray> state = adam.state();
  check_close(find_array(state, "weight.exp_avg").values, {-0.055f, -0.07f}, 1e-6);
  check_close(find_array(state, "weight.exp_avg_sq").values, {0.00124975f, 0.012991f}, 1e-6);
}

TEST_CASE("optimizers: AdamW's decoupled weight decay matches the hand computation over two steps") {
  // λ = 10 with lr = 1e-3: each step first scales p by 1 − lr·λ = 0.99, then takes the Adam
  // step of the test above. Step 1: p1 = 0.99·p0 − lr·sign(g)(1 − ε/|g|) = [0.98900000002, −1.9790000000033].
  // Step 2: p2 = 0.99·p1 − (lr / (1 − 0.9²))·m2 / (√v2 / √(1 − 0.999²) + ε)
  //         = [0.9794761035422, −1.9590654794742]   (m2, v2 as above: the decay does not touch them)
  Tensor weight = parameter("weight", Shape{2}, {1.0f, -2.0f});
  AdamSettings settings;
  settings.weight_decay = 10.0;
  Adam adam({weight}, settings);
  set_gradient(weight, {0.5f, -3.0f});
  adam.step();
  check_close(weight.values(), {0.98900000002f, -1.9790000000033f}, 1e-7);
  adam.zero_grad();
  set_gradient(weight, {-1.0f, 2.0f});
  adam.step();
  check_close(weight.values(), {0.9794761035422f, -1.9590654794742f}, 1e-7);
  const std::vector<NamedArray> state = adam.state();
  check_close(find_array(state, "weight.exp_avg").values, {-0.055f, -0.07f}, 1e-6);
}

TEST_CASE("optimizers: AdamW decays a table lazily: only the rows a step touches") {
  // Row 1 is touched: it decays by 0.99 and takes Adam's first step (−lr·sign(g)). Rows 0 and 2
  // keep their exact bits (a decay of every row would move them).
  Tensor items = table("items", Shape{3, 2}, {1.0f, 2.0f, 3.0f, -4.0f, 5.0f, 6.0f});
  AdamSettings settings;
  settings.weight_decay = 10.0;
  LazyAdam lazy({items}, settings);
  add_row_gradient(items, 1, {0.5f, -0.25f});
  lazy.step();
  const std::vector<float> values = items.values();
  CHECK(same_bits(values.data(), std::vector<float>{1.0f, 2.0f}.data(), 2));
  CHECK(same_bits(values.data() + 4, std::vector<float>{5.0f, 6.0f}.data(), 2));
  // 0.99·3 − 1e-3·(1 − 2e-8) and 0.99·(−4) + 1e-3·(1 − 4e-8)
  check_close({values[2], values[3]}, {2.96900000002f, -3.95900000004f}, 1e-6);
  CHECK_THROWS_WITH_AS(LazyAdam({items}, AdamSettings{1e-3, 0.9, 0.999, 1e-8, -1.0}),
                       doctest::Contains("weight_decay"), std::runtime_error);
}

TEST_CASE("optimizers: a dense parameter that never got a gradient is left alone") {
  Tensor used = parameter("used", Shape{1}, {1.0f});
  Tensor unused = parameter("unused", Shape{1}, {5.0f});
  Adam adam({used, unused});
  set_gradient(used, {1.0f});
  adam.step();
  CHECK(used.values()[0] == doctest::Approx(0.999).epsilon(1e-6));
  CHECK(unused.values()[0] == 5.0f);
  CHECK_FALSE(unused.has_grad());  // the step did not allocate a gradient for it
}

TEST_CASE("optimizers: adam_update matches its plain-loop twin on odd sizes") {
  Rng rng(7);
  const AdamCoefficients coefficients = adam_coefficients(1e-2, 0.9, 0.999, 1e-8, 3);
  for (int64_t count : {1, 7, 37, 65, 130}) {
    INFO("count " << count);
    const std::vector<float> gradient = random_values(count, rng);
    std::vector<float> value = random_values(count, rng), exp_avg = random_values(count, rng);
    std::vector<float> exp_avg_sq = random_values(count, rng);
    for (float& element : exp_avg_sq) element = std::fabs(element);
    std::vector<float> value_ref = value, exp_avg_ref = exp_avg, exp_avg_sq_ref = exp_avg_sq;
    adam_update(value.data(), gradient.data(), exp_avg.data(), exp_avg_sq.data(), count,
                coefficients);
    adam_update_reference(value_ref.data(), gradient.data(), exp_avg_ref.data(),
                          exp_avg_sq_ref.data(), count, coefficients);
    check_close(value, value_ref, 1e-6);
    check_close(exp_avg, exp_avg_ref, 1e-6);
    check_close(exp_avg_sq, exp_avg_sq_ref, 1e-6);
  }
}

TEST_CASE("optimizers: adam_update gives an element the same bits wherever it sits") {
  // Lazy Adam updates rows one by one, dense Adam a whole table at once: for their results to
  // agree, the vector body and the tail must compute identically.
  Rng rng(8);
  const AdamCoefficients coefficients = adam_coefficients(1e-2, 0.9, 0.999, 1e-8, 2);
  const int64_t count = 37;
  const std::vector<float> gradient = random_values(count, rng);
  std::vector<float> value = random_values(count, rng), exp_avg = random_values(count, rng);
  std::vector<float> exp_avg_sq(count, 0.25f);
  std::vector<float> value_one = value, exp_avg_one = exp_avg, exp_avg_sq_one = exp_avg_sq;
  adam_update(value.data(), gradient.data(), exp_avg.data(), exp_avg_sq.data(), count,
              coefficients);
  for (int64_t i = 0; i < count; ++i)
    adam_update(&value_one[i], &gradient[i], &exp_avg_one[i], &exp_avg_sq_one[i], 1,
                coefficients);
  CHECK(same_bits(value, value_one));
  CHECK(same_bits(exp_avg, exp_avg_one));
  CHECK(same_bits(exp_avg_sq, exp_avg_sq_one));
}

// ---- LazyAdam --------------------------------------------------------------------------------

TEST_CASE("optimizers: LazyAdam equals dense Adam when every row is touched every step") {
  const Shape shape{7, 5};  // 5 columns: not a multiple of any vector width
  Rng rng(11);
  const std::vector<float> start = random_values(shape.numel(), rng);
  Tensor items = table("items", shape, start);
  Tensor dense = parameter("dense", shape, start);
  LazyAdam lazy({items});
  Adam adam({dense});
  for (int step = 0; step < 4; ++step) {
    lazy.zero_grad();
    adam.zero_grad();
    const std::vector<float> gradient = random_values(shape.numel(), rng);
    set_gradient(dense, gradient);
    // The rows arrive in a scrambled order, as a batch would give them.
    for (int32_t row : {3, 0, 6, 1, 5, 2, 4})
      items.row_gradient().append(row, gradient.data() + row * shape.size(1));
    lazy.step();
    adam.step();
  }
  CHECK(same_bits(items.values(), dense.values()));
  CHECK(same_bits(find_array(lazy.state(), "items.exp_avg").values,
                  find_array(adam.state(), "dense.exp_avg").values));
  CHECK(same_bits(find_array(lazy.state(), "items.exp_avg_sq").values,
                  find_array(adam.state(), "dense.exp_avg_sq").values));
}

TEST_CASE("optimizers: LazyAdam writes nothing outside the touched rows") {
  // Untouched rows and their moments must keep their exact bits: the moments are filled with
  // sentinels first (values no update of these gradients can land on), so an update that swept
  // the whole table (even with zero gradients, which would decay m and v) shows up.
  const int64_t row_count = 50, width = 4;
  Rng rng(12);
  Tensor items = table("items", Shape{row_count, width}, random_values(row_count * width, rng));
  LazyAdam lazy({items});
  lazy.load_state({{"items.exp_avg", Shape{row_count, width},
                    std::vector<float>(row_count * width, 7.0f)},
                   {"items.exp_avg_sq", Shape{row_count, width},
                    std::vector<float>(row_count * width, 0.5f)}},
                  10);
  const std::vector<float> values_before = items.values();
  add_row_gradient(items, 17, {1, 2, 3, 4});
  add_row_gradient(items, 3, {-1, 0.5f, 0, 2});
  add_row_gradient(items, 17, {1, 1, 1, 1});
  lazy.step();
  CHECK(lazy.step_count() == 11);
  const std::vector<float> values_after = items.values();
  const std::vector<NamedArray> state = lazy.state();
  const std::vector<float>& exp_avg = find_array(state, "items.exp_avg").values;
  const std::vector<float>& exp_avg_sq = find_array(state, "items.exp_avg_sq").values;
  const float sentinel_m = 7.0f, sentinel_v = 0.5f;
  for (int64_t row = 0; row < row_count; ++row) {
    INFO("row " << row);
    const int64_t offset = row * width;
    const bool touched = row == 3 || row == 17;
    CHECK(same_bits(values_after.data() + offset, values_before.data() + offset, width) == !touched);
    for (int64_t column = 0; column < width; ++column) {
      CHECK((exp_avg[offset + column] == sentinel_m) == !touched);
      CHECK((exp_avg_sq[offset + column] == sentinel_v) == !touched);
    }
  }
}

// Reads where LazyAdam keeps its moments (state_values is protected).
class LazyAdamWithAddresses : public LazyAdam {
 public:
  using LazyAdam::LazyAdam;
  const float* moment_values(size_t position) { return state_values(position); }
};

TEST_CASE("optimizers: the moment tables start on a cache line, so a 64-float row fills 4 lines") {
  // A std::vector's large block starts 16 bytes into a line: each 256-byte row of an [N, 64]
  // moment table would then span 5 lines, and a lazy step at 10^6 rows would miss on the fifth.
  Rng rng(5);
  Tensor items = table("items", Shape{20000, 64}, random_values(20000 * 64, rng));  // > 4 MiB
  LazyAdamWithAddresses lazy({items});
  for (size_t position = 0; position < 2; ++position) {
    INFO("state array " << position);
    CHECK(reinterpret_cast<uintptr_t>(lazy.moment_values(position)) % 64 == 0);
  }
}

TEST_CASE("optimizers: LazyAdam sums a repeated row before its (non-linear) update") {
  // Row 1 gets 1 and then -3: one update with -2. At t = 1 that moves it by +lr (sign of the
  // sum); updating with 1 and then -3 would have moved it first down, then up by less.
  Tensor items = table("items", Shape{2, 1}, {0.0f, 0.5f});
  Tensor reference = table("reference", Shape{2, 1}, {0.0f, 0.5f});
  LazyAdam lazy({items});
  LazyAdam lazy_reference({reference});
  add_row_gradient(items, 1, {1.0f});
  add_row_gradient(items, 1, {-3.0f});
  add_row_gradient(reference, 1, {-2.0f});
  lazy.step();
  lazy_reference.step();
  CHECK(items.values()[1] == doctest::Approx(0.501).epsilon(1e-6));
  CHECK(same_bits(items.values(), reference.values()));
  CHECK(items.values()[0] == 0.0f);
  check_close(find_array(lazy.state(), "items.exp_avg").values, {0.0f, -0.2f}, 1e-7);
}

TEST_CASE("optimizers: LazyAdam's bias correction uses the global step count") {
  // Row 1 is first touched at step 2: its bias corrections use t = 2, not its own first step.
  // m = 0.1, v = 0.001; p = -lr / (1 - 0.9²) · 0.1 / (√0.001 / √(1 - 0.999²) + ε)
  //   = -0.00074413681  (a per-row count, t = 1, would give -0.001).
  Tensor items = table("items", Shape{2, 1}, {0.0f, 0.0f});
  LazyAdam lazy({items});
  add_row_gradient(items, 0, {1.0f});
  lazy.step();
  lazy.zero_grad();
  add_row_gradient(items, 1, {1.0f});
  lazy.step();
  CHECK(items.values()[1] == doctest::Approx(-0.00074413681).epsilon(1e-5));
  CHECK(items.values()[0] == doctest::Approx(-0.001).epsilon(1e-5));  // untouched at step 2
}

TEST_CASE("optimizers: LazyAdam trains a table through gather_rows and backward") {
  // loss = Σ gather(items, [1, 1, 3]): row 1's gradient is [2, 2], row 3's [1, 1], so both move
  // by -lr in every coordinate; rows 0 and 2 stay.
  Tensor items = table("items", Shape{4, 2}, {0, 0, 1, 1, 2, 2, 3, 3});
  LazyAdam lazy({items}, AdamSettings{0.1});
  Tensor loss = sum_all(gather_rows(items, {1, 1, 3}, Shape{3}));
  loss.backward();
  CHECK_FALSE(items.has_grad());  // only the row gradient was filled
  lazy.step();
  check_close(items.values(), {0, 0, 0.9f, 0.9f, 2, 2, 2.9f, 2.9f}, 1e-6);
}

TEST_CASE("optimizers: AdamWithLazyTables steps dense parameters densely and tables lazily") {
  Tensor weight = parameter("weight", Shape{2}, {1.0f, -2.0f});
  Tensor items = table("items", Shape{3, 1}, {0.0f, 0.0f, 0.0f});
  AdamWithLazyTables adam({weight, items});
  set_gradient(weight, {0.5f, -3.0f});
  add_row_gradient(items, 2, {-4.0f});
  adam.step();
  check_close(weight.values(), {0.999f, -1.999f}, 1e-7);
  check_close(items.values(), {0.0f, 0.0f, 0.001f}, 1e-7);
}

// ---- threads ---------------------------------------------------------------------------------

TEST_CASE("optimizers: Adam and LazyAdam give the same bits with 1 and 2 threads") {
  // Sizes above the threshold where the loops go parallel.
  const int threads_before = omp_get_max_threads();
  const Shape dense_shape{1000, 200}, table_shape{4000, 32};
  std::vector<float> results[2];
  for (int threads = 1; threads <= 2; ++threads) {
    omp_set_num_threads(threads);
    Rng rng(21);
    Tensor dense = parameter("dense", dense_shape, random_values(dense_shape.numel(), rng));
    Tensor items = table("items", table_shape, random_values(table_shape.numel(), rng));
    AdamWithLazyTables adam({dense, items});
    for (int step = 0; step < 2; ++step) {
      adam.zero_grad();
      set_gradient(dense, random_values(dense_shape.numel(), rng));
      for (int32_t row = 0; row < 3000; ++row)
        add_row_gradient(items, (row * 7) % 4000, random_values(32, rng));
      adam.step();
    }
    results[threads - 1] = dense.values();
    const std::vector<float> table_values = items.values();
    results[threads - 1].insert(results[threads - 1].end(), table_values.begin(),
                                table_values.end());
  }
  omp_set_num_threads(threads_before);
  CHECK(same_bits(results[0], results[1]));
}

// ---- clipping --------------------------------------------------------------------------------

TEST_CASE("optimizers: clip_grad_norm over a dense gradient and a table with a repeated row") {
  // dense [3, 4]: 25.  Table rows 1, 1, 0: row 1 sums to [8, 8] (128), row 0 is [4, 0] (16).
  // Norm √(25 + 128 + 16) = 13. (Not summing the repeated row would give √(25 + 32 + 32 + 16) ≈ 10.2.)
  Tensor weight = parameter("weight", Shape{2}, {0.0f, 0.0f});
  Tensor items = table("items", Shape{2, 2}, {0, 0, 0, 0});
  set_gradient(weight, {3.0f, 4.0f});
  add_row_gradient(items, 1, {4.0f, 4.0f});
  add_row_gradient(items, 1, {4.0f, 4.0f});
  add_row_gradient(items, 0, {4.0f, 0.0f});
  std::vector<Tensor> parameters = {weight, items};
  CHECK(gradient_norm(parameters) == doctest::Approx(13.0).epsilon(1e-7));
  // Halving: max_norm 6.5 gives the factor 6.5 / (13 + 1e-6).
  const float norm = clip_grad_norm(parameters, 6.5f);
  CHECK(norm == doctest::Approx(13.0).epsilon(1e-7));
  check_close(weight.grad_values(), {1.5f, 2.0f}, 1e-6);
  CHECK(items.row_gradient().rows == std::vector<int32_t>{1, 0});  // in order of first appearance
  check_close(items.row_gradient().values, {4.0f, 4.0f, 2.0f, 0.0f}, 1e-6);
  CHECK(gradient_norm(parameters) == doctest::Approx(6.5).epsilon(1e-6));
}

TEST_CASE("optimizers: gradient_norm over long gradients of odd sizes equals the plain sum") {
  // Lengths around the 32 partial sums (whole groups, a tail, fewer than one group). Integer
  // values keep every square and sum exact in double, so any grouping must give the same bits.
  for (const int64_t size : {int64_t{5}, int64_t{31}, int64_t{32}, int64_t{33}, int64_t{1003}}) {
    Tensor weight = parameter("weight", Shape{size}, std::vector<float>(static_cast<size_t>(size), 0.0f));
    Tensor items = table("items", Shape{3, size}, std::vector<float>(static_cast<size_t>(3 * size), 0.0f));
    std::vector<float> dense(static_cast<size_t>(size)), row(static_cast<size_t>(size));
    double expected = 0.0;
    for (int64_t i = 0; i < size; ++i) {
      dense[i] = static_cast<float>(i % 7) - 3.0f;
      row[i] = static_cast<float>(i % 5) + 1.0f;
      expected += static_cast<double>(dense[i]) * dense[i] + static_cast<double>(row[i]) * row[i];
    }
    set_gradient(weight, dense);
    add_row_gradient(items, 2, row);
    std::vector<Tensor> parameters = {weight, items};
    CAPTURE(size);
    CHECK(gradient_norm(parameters) == static_cast<float>(std::sqrt(expected)));
  }
}

TEST_CASE("optimizers: clip_grad_norm leaves gradients within the limit untouched") {
  Tensor weight = parameter("weight", Shape{2}, {0.0f, 0.0f});
  set_gradient(weight, {0.3f, 0.4f});
  std::vector<Tensor> parameters = {weight};
  CHECK(clip_grad_norm(parameters, 1.0f) == doctest::Approx(0.5).epsilon(1e-7));
  CHECK(same_bits(weight.grad_values(), {0.3f, 0.4f}));
}

TEST_CASE("optimizers: clip_grad_norm refuses a NaN gradient and a bad max_norm") {
  Tensor weight = parameter("encoder.weight", Shape{2}, {0.0f, 0.0f});
  set_gradient(weight, {1.0f, NAN});
  std::vector<Tensor> parameters = {weight};
  CHECK_THROWS_WITH_AS(clip_grad_norm(parameters, 1.0f), doctest::Contains("'encoder.weight'"),
                       std::runtime_error);
  CHECK_THROWS_WITH_AS(clip_grad_norm(parameters, 0.0f), doctest::Contains("max_norm"),
                       std::runtime_error);
  CHECK_THROWS_WITH_AS(clip_grad_norm(parameters, -1.0f), doctest::Contains("max_norm"),
                       std::runtime_error);
}

// ---- state: export, resume, errors ----------------------------------------------------------

TEST_CASE("optimizers: Adam state export and import resumes bit-identically") {
  Rng rng(31);
  const std::vector<float> dense_start = random_values(6, rng);
  const std::vector<float> table_start = random_values(24, rng);

  // Five steps straight.
  Tensor dense = parameter("dense", Shape{2, 3}, dense_start);
  Tensor items = table("items", Shape{6, 4}, table_start);
  AdamWithLazyTables straight({dense, items});
  for (int step = 1; step <= 5; ++step) {
    fill_gradients(dense, items, step);
    straight.step();
  }

  // Three steps, export, a new optimizer over copies of the parameters, import, two more.
  Tensor dense_first = parameter("dense", Shape{2, 3}, dense_start);
  Tensor items_first = table("items", Shape{6, 4}, table_start);
  AdamWithLazyTables first({dense_first, items_first});
  for (int step = 1; step <= 3; ++step) {
    fill_gradients(dense_first, items_first, step);
    first.step();
  }
  const std::vector<NamedArray> saved = first.state();
  CHECK(saved.size() == 4);
  Tensor dense_resumed = parameter("dense", Shape{2, 3}, dense_first.values());
  Tensor items_resumed = table("items", Shape{6, 4}, items_first.values());
  AdamWithLazyTables resumed({dense_resumed, items_resumed});
  resumed.load_state(saved, first.step_count());
  CHECK(resumed.step_count() == 3);
  for (int step = 4; step <= 5; ++step) {
    fill_gradients(dense_resumed, items_resumed, step);
    resumed.step();
  }

  CHECK(same_bits(dense_resumed.values(), dense.values()));
  CHECK(same_bits(items_resumed.values(), items.values()));
  const std::vector<NamedArray> state_straight = straight.state();
  const std::vector<NamedArray> state_resumed = resumed.state();
  for (const char* name : {"dense.exp_avg", "dense.exp_avg_sq", "items.exp_avg", "items.exp_avg_sq"}) {
    INFO(name);
    CHECK(same_bits(find_array(state_resumed, name).values, find_array(state_straight, name).values));
    CHECK(find_array(state_resumed, name).shape == find_array(state_straight, name).shape);
  }
  // The resume is not trivially true: the moments after three steps differ from those after five.
  CHECK_FALSE(same_bits(find_array(saved, "dense.exp_avg").values,
                        find_array(state_straight, "dense.exp_avg").values));
}

TEST_CASE("optimizers: SGD momentum state export and import resumes bit-identically") {
  Tensor dense = parameter("dense", Shape{2, 3}, std::vector<float>(6, 1.0f));
  Tensor items = table("items", Shape{6, 4}, std::vector<float>(24, 1.0f));
  SGD straight({dense, items}, SgdSettings{0.05, 0.9});
  for (int step = 1; step <= 5; ++step) {
    fill_gradients(dense, items, step);
    straight.step();
  }
  Tensor dense_first = parameter("dense", Shape{2, 3}, std::vector<float>(6, 1.0f));
  Tensor items_first = table("items", Shape{6, 4}, std::vector<float>(24, 1.0f));
  SGD first({dense_first, items_first}, SgdSettings{0.05, 0.9});
  for (int step = 1; step <= 3; ++step) {
    fill_gradients(dense_first, items_first, step);
    first.step();
  }
  SGD resumed({dense_first, items_first}, SgdSettings{0.05, 0.9});
  resumed.load_state(first.state(), first.step_count());
  for (int step = 4; step <= 5; ++step) {
    fill_gradients(dense_first, items_first, step);
    resumed.step();
  }
  CHECK(same_bits(dense_first.values(), dense.values()));
  CHECK(same_bits(items_first.values(), items.values()));
  CHECK(resumed.step_count() == 5);
}

TEST_CASE("optimizers: load_state rejects unknown, missing, repeated and misshaped arrays") {
  Tensor weight = parameter("weight", Shape{2}, {1.0f, 2.0f});
  Adam adam({weight});
  set_gradient(weight, {1.0f, 1.0f});
  adam.step();
  const std::vector<NamedArray> good = adam.state();
  const NamedArray& exp_avg = find_array(good, "weight.exp_avg");
  const NamedArray& exp_avg_sq = find_array(good, "weight.exp_avg_sq");
  const NamedArray zeros{"weight.exp_avg", Shape{2}, {0.0f, 0.0f}};

  CHECK_THROWS_WITH_AS(adam.load_state({exp_avg}, 1), doctest::Contains("'weight.exp_avg_sq' is missing"),
                       std::runtime_error);
  CHECK_THROWS_WITH_AS(adam.load_state({exp_avg, exp_avg_sq, {"weight.momentum_buffer", Shape{2}, {0, 0}}}, 1),
                       doctest::Contains("unknown state array 'weight.momentum_buffer'"),
                       std::runtime_error);
  CHECK_THROWS_WITH_AS(adam.load_state({zeros, exp_avg, exp_avg_sq}, 1),
                       doctest::Contains("'weight.exp_avg' is given twice"), std::runtime_error);
  CHECK_THROWS_WITH_AS(adam.load_state({exp_avg, {"weight.exp_avg_sq", Shape{1, 2}, {0, 0}}}, 1),
                       doctest::Contains("has shape [1, 2], the parameter needs [2]"),
                       std::runtime_error);
  CHECK_THROWS_WITH_AS(adam.load_state({exp_avg, {"weight.exp_avg_sq", Shape{2}, {0, 0, 0}}}, 1),
                       doctest::Contains("holds 3 values"), std::runtime_error);
  CHECK_THROWS_WITH_AS(adam.load_state({exp_avg, {"weight.exp_avg_sq", Shape{2}, {0, NAN}}}, 1),
                       doctest::Contains("non-finite value"), std::runtime_error);
  CHECK_THROWS_WITH_AS(adam.load_state(good, -1), doctest::Contains("step count"),
                       std::runtime_error);

  // The refused loads changed nothing (the third had already accepted a valid 'weight.exp_avg'
  // of zeros when it failed on the repeat).
  CHECK(adam.step_count() == 1);
  CHECK(same_bits(find_array(adam.state(), "weight.exp_avg").values, exp_avg.values));
  adam.load_state({exp_avg_sq, zeros}, 7);  // any order
  CHECK(adam.step_count() == 7);
  CHECK(find_array(adam.state(), "weight.exp_avg").values == std::vector<float>{0.0f, 0.0f});
}

// ---- errors and zero_grad --------------------------------------------------------------------

TEST_CASE("optimizers: constructors refuse bad parameters and settings, naming them") {
  Tensor weight = parameter("weight", Shape{2}, {1.0f, 2.0f});
  Tensor items = table("items", Shape{3, 2}, std::vector<float>(6, 0.0f));
  CHECK_THROWS_WITH_AS(Adam({weight, items}), doctest::Contains("'items' is a table"),
                       std::runtime_error);
  CHECK_THROWS_WITH_AS(LazyAdam({items, weight}), doctest::Contains("'weight' is dense"),
                       std::runtime_error);
  CHECK_THROWS_WITH_AS(SGD({weight, weight}), doctest::Contains("'weight' appears twice"),
                       std::runtime_error);
  CHECK_THROWS_WITH_AS(SGD({}), doctest::Contains("no parameters"), std::runtime_error);
  Tensor unnamed = Tensor::from_values(Shape{1}, {1.0f}, true);
  CHECK_THROWS_WITH_AS(Adam({unnamed}), doctest::Contains("has no name"), std::runtime_error);
  Tensor computed = scale(weight, 2.0f);
  CHECK_THROWS_WITH_AS(Adam({computed}), doctest::Contains("is not a parameter"),
                       std::runtime_error);
  CHECK_THROWS_WITH_AS(Adam({weight}, AdamSettings{-1e-3}), doctest::Contains("learning rate"),
                       std::runtime_error);
  CHECK_THROWS_WITH_AS(Adam({weight}, AdamSettings{1e-3, 1.0}), doctest::Contains("beta1"),
                       std::runtime_error);
  CHECK_THROWS_WITH_AS(Adam({weight}, AdamSettings{1e-3, 0.9, 0.999, 0.0}),
                       doctest::Contains("epsilon"), std::runtime_error);
  CHECK_THROWS_WITH_AS(SGD({weight}, SgdSettings{0.1, 1.5}), doctest::Contains("momentum"),
                       std::runtime_error);
  SGD sgd({weight});
  CHECK_THROWS_WITH_AS(sgd.set_learning_rate(NAN), doctest::Contains("learning rate"),
                       std::runtime_error);
}

TEST_CASE("optimizers: a bad row gradient is refused before anything moves") {
  Tensor weight = parameter("weight", Shape{2}, {1.0f, 2.0f});
  Tensor items = table("items", Shape{3, 2}, std::vector<float>(6, 0.0f));
  AdamWithLazyTables adam({weight, items});
  set_gradient(weight, {1.0f, 1.0f});
  // A table of 3 rows has no row 3: append refuses it, and so does the optimizer if such a row
  // is written into the gradient by hand.
  CHECK_THROWS_WITH_AS(add_row_gradient(items, 3, {1.0f, 1.0f}), doctest::Contains("row id 3 outside [0, 3)"),
                       std::out_of_range);
  items.row_gradient().rows.push_back(3);
  items.row_gradient().values.insert(items.row_gradient().values.end(), {1.0f, 1.0f});
  CHECK_THROWS_WITH_AS(adam.step(), doctest::Contains("names row 3, outside [0, 3)"),
                       std::runtime_error);
  CHECK(weight.values() == std::vector<float>{1.0f, 2.0f});
  CHECK(adam.step_count() == 0);

  // A table that also got a dense gradient (used by a matmul, say) is refused too.
  adam.zero_grad();
  items.grad()[0] = 1.0f;
  CHECK_THROWS_WITH_AS(adam.step(), doctest::Contains("'items' has a row-sparse gradient but also"),
                       std::runtime_error);
}

TEST_CASE("optimizers: zero_grad zeroes dense gradients and empties row gradients") {
  Tensor weight = parameter("weight", Shape{2}, {1.0f, 2.0f});
  Tensor items = table("items", Shape{3, 2}, std::vector<float>(6, 0.0f));
  SGD sgd({weight, items});
  set_gradient(weight, {1.0f, -1.0f});
  add_row_gradient(items, 1, {1.0f, 1.0f});
  sgd.zero_grad();
  CHECK(weight.grad_values() == std::vector<float>{0.0f, 0.0f});
  CHECK(items.row_gradient().empty());
  CHECK(items.row_gradient().values.empty());
  // A step on zero gradients moves nothing.
  sgd.step();
  CHECK(weight.values() == std::vector<float>{1.0f, 2.0f});
}
