// The tape itself: ordering, accumulation, release, no_grad, detach, errors, buffer reuse.
#include <doctest/doctest.h>

#include <stdexcept>
#include <string>

#include "autograd/buffer.h"
#include "autograd/ops.h"
#include "test_helpers.h"

using namespace mind;

TEST_CASE("a node used twice gets both contributions: d/dx (x + x)·x = 4x") {
  Tensor x = Tensor::from_values(Shape{2}, {3.0f, -1.5f}, true);
  Tensor y = sum_all(mul(add(x, x), x));  // 2x²
  CHECK(y.item() == doctest::Approx(2 * 9.0 + 2 * 2.25));
  y.backward();
  CHECK(x.grad()[0] == doctest::Approx(12.0));
  CHECK(x.grad()[1] == doctest::Approx(-6.0));
}

TEST_CASE("a diamond graph runs each backward once") {
  // y = exp(x); z = y·y + y  →  dz/dx = (2y + 1)·y
  Tensor x = Tensor::from_values(Shape{1}, {0.5f}, true);
  Tensor y = exp(x);
  Tensor z = sum_all(add(mul(y, y), y));
  z.backward();
  const double e = std::exp(0.5);
  CHECK(x.grad()[0] == doctest::Approx((2 * e + 1) * e).epsilon(1e-5));
}

TEST_CASE("gradients accumulate across backward calls until zero_grad") {
  Tensor x = Tensor::from_values(Shape{1}, {2.0f}, true);
  sum_all(scale(x, 3.0f)).backward();
  sum_all(scale(x, 3.0f)).backward();
  CHECK(x.grad()[0] == doctest::Approx(6.0));
  x.zero_grad();
  CHECK(x.grad()[0] == 0.0f);
}

TEST_CASE("calling backward twice on the same graph is a clear error") {
  Tensor x = Tensor::from_values(Shape{1}, {2.0f}, true);
  Tensor loss = sum_all(mul(x, x));
  loss.backward();
  CHECK(x.grad()[0] == doctest::Approx(4.0));
  CHECK_THROWS_WITH_AS(loss.backward(), doctest::Contains("already used by a backward"), std::logic_error);
  CHECK(x.grad()[0] == doctest::Approx(4.0));  // nothing was added by the refused call
}

TEST_CASE("backward needs a one-element tensor that depends on a parameter") {
  Tensor x = Tensor::from_values(Shape{2}, {1.0f, 2.0f}, true);
  CHECK_THROWS_WITH_AS(scale(x, 2.0f).backward(), doctest::Contains("one-element"), std::invalid_argument);
  Tensor constant = Tensor::from_values(Shape{1}, {1.0f});
  CHECK_THROWS_WITH_AS(exp(constant).backward(), doctest::Contains("does not depend"), std::invalid_argument);
}

TEST_CASE("NoGrad records nothing, and detach stops the gradient") {
  Tensor x = Tensor::from_values(Shape{1}, {3.0f}, true);
  {
    NoGrad no_grad;
    Tensor y = mul(x, x);
    CHECK_FALSE(y.requires_grad());
    CHECK(y.node()->parents.empty());
  }
  // z = x·detach(x): only the first factor carries a gradient, so dz/dx = x (not 2x).
  Tensor z = sum_all(mul(x, x.detach()));
  z.backward();
  CHECK(x.grad()[0] == doctest::Approx(3.0));
  CHECK(stop_gradient(x).requires_grad() == false);
}

TEST_CASE("backward is iterative: a chain of 100000 ops does not overflow the stack") {
  Tensor x = Tensor::from_values(Shape{1}, {1.0f}, true);
  Tensor y = x;
  for (int i = 0; i < 100000; ++i) y = add_scalar(y, 0.0f);
  sum_all(y).backward();
  CHECK(x.grad()[0] == doctest::Approx(1.0));
}

TEST_CASE("shape errors name the op and both shapes") {
  Tensor a = Tensor::zeros(Shape{2, 3});
  Tensor b = Tensor::zeros(Shape{2});
  try {
    add(a, b);
    FAIL("add should have refused [2] onto [2, 3]");
  } catch (const std::invalid_argument& error) {
    const std::string message = error.what();
    CHECK(message.find("add") != std::string::npos);
    CHECK(message.find("[2, 3]") != std::string::npos);
    CHECK(message.find("[2]") != std::string::npos);
  }
  CHECK_THROWS_WITH_AS(matmul(a, a), doctest::Contains("[2, 3] and [2, 3]"), std::invalid_argument);
}

TEST_CASE("intermediates are released after backward, and parameters keep their gradient") {
  Tensor x = Tensor::from_values(Shape{3}, {1.0f, 2.0f, 3.0f}, true);
  Tensor hidden = exp(x);
  std::weak_ptr<Node> watch = hidden.node_ptr();
  Tensor loss = sum_all(hidden);
  hidden = Tensor();  // drop our own handle: only the graph holds it now
  CHECK_FALSE(watch.expired());
  loss.backward();
  CHECK(watch.expired());
  CHECK(x.grad()[2] == doctest::Approx(std::exp(3.0)).epsilon(1e-6));
}

TEST_CASE("a repeated step allocates no new buffers once the pool is warm") {
  Rng rng(3);
  Tensor weight = testing::random_tensor(Shape{16, 8}, rng);
  Tensor input = testing::random_tensor(Shape{32, 8}, rng, false);
  auto step = [&]() {
    weight.zero_grad();
    Tensor loss = mean_all(relu(matmul(input, weight, true)));
    loss.backward();
  };
  for (int i = 0; i < 3; ++i) step();
  const int64_t before = buffer_pool_fresh_allocations();
  for (int i = 0; i < 10; ++i) step();
  CHECK(buffer_pool_fresh_allocations() == before);
}
