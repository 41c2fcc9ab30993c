// Does the gradient checker catch small mistakes in a backward? Each smooth op below is rebuilt as
// a test-only op: the real op's forward values and a hand-written backward whose terms can each be
// scaled. With every factor 1 the hand-written backward is right, and the checker must pass it (so
// the harness is sound); with one term's coefficient off by a third (× 2/3) or one term scaled by
// 0.98, the checker must fail it, under its default rule and over inputs of ±4 (autograd/
// gradcheck.h). The old rule (1e-2 absolute + 1e-2 relative, inputs of ±1) let such mistakes
// through; the skipped test case at the end prints the table for both (run test_autograd with
// --no-skip -tc="*mutation table*").
#include <doctest/doctest.h>

#include <cmath>
#include <cstdio>
#include <functional>
#include <string>
#include <vector>

#include "autograd/gradcheck.h"
#include "autograd/ops.h"
#include "test_helpers.h"

using namespace mind;
using mind::testing::random_tensor;

namespace {
using Inputs = std::vector<Tensor>;
using Factors = std::vector<float>;  // one factor per term of the backward, 1 = right

// y takes `value`'s numbers and `inputs` as parents; its backward is `backward`.
Tensor with_backward(const char* name, const Inputs& inputs, const Tensor& value,
                     std::function<void(Node&)> backward) {
  Tensor y = make_result(name, value.shape(), inputs);
  for (int64_t i = 0; i < value.numel(); ++i) y.data()[i] = value.data()[i];
  if (y.requires_grad()) y.node()->backward = std::move(backward);
  return y;
}

// The real op's values, computed without recording.
Tensor values_of(const std::function<Tensor()>& forward) {
  NoGrad no_grad;
  return forward();
}

// ---- the ops, each backward written as a sum of terms ------------------------------------------

// y = eˣ: dx += f0 · y dy
Tensor exp_by_hand(const Tensor& x, const Factors& f) {
  return with_backward("exp by hand", {x}, values_of([&] { return exp(x); }), [f](Node& y) {
    float* dx = grad_or_null(*y.parents[0]);
    for (int64_t i = 0; i < y.numel(); ++i) dx[i] += f[0] * y.value[i] * y.grad.data()[i];
  });
}

// y = tanh x: dx += (f0 · 1 − f1 · y²) dy
Tensor tanh_by_hand(const Tensor& x, const Factors& f) {
  return with_backward("tanh by hand", {x}, values_of([&] { return tanh(x); }), [f](Node& y) {
    float* dx = grad_or_null(*y.parents[0]);
    for (int64_t i = 0; i < y.numel(); ++i)
      dx[i] += (f[0] * 1.0f - f[1] * y.value[i] * y.value[i]) * y.grad.data()[i];
  });
}

// y = log x: dx += f0 · dy / x
Tensor log_by_hand(const Tensor& x, const Factors& f) {
  return with_backward("log by hand", {x}, values_of([&] { return log(x); }), [f](Node& y) {
    Node& x = *y.parents[0];
    float* dx = grad_or_null(x);
    for (int64_t i = 0; i < y.numel(); ++i) dx[i] += f[0] * y.grad.data()[i] / x.value[i];
  });
}

// y = sign(x)|x|^p, p = 2.5: dx += f0 · p |x|^(p−1) dy
Tensor pow_by_hand(const Tensor& x, const Factors& f) {
  constexpr float power = 2.5f;
  return with_backward("signed_pow by hand", {x}, values_of([&] { return signed_pow(x, power); }), [f](Node& y) {
    Node& x = *y.parents[0];
    float* dx = grad_or_null(x);
    for (int64_t i = 0; i < y.numel(); ++i)
      dx[i] += f[0] * power * std::pow(std::fabs(x.value[i]), power - 1.0f) * y.grad.data()[i];
  });
}

// y = a / b: da += f0 · dy / b, db −= f1 · a dy / b²
Tensor div_by_hand(const Tensor& a, const Tensor& b, const Factors& f) {
  return with_backward("div by hand", {a, b}, values_of([&] { return div(a, b); }), [f](Node& y) {
    Node& a = *y.parents[0];
    Node& b = *y.parents[1];
    float* da = grad_or_null(a);
    float* db = grad_or_null(b);
    for (int64_t i = 0; i < y.numel(); ++i) {
      const float dy = y.grad.data()[i];
      da[i] += f[0] * dy / b.value[i];
      db[i] -= f[1] * a.value[i] * dy / (b.value[i] * b.value[i]);
    }
  });
}

// Row-wise ops over the last axis of a [rows, width] tensor.

// y = softmax(x): dx_k += f0 · y_k dy_k − f1 · y_k Σ_j y_j dy_j
Tensor softmax_by_hand(const Tensor& x, const Factors& f) {
  const int64_t width = x.shape().last();
  return with_backward("softmax by hand", {x}, values_of([&] { return softmax(x, -1); }), [f, width](Node& y) {
    float* dx = grad_or_null(*y.parents[0]);
    for (int64_t row = 0; row < y.numel() / width; ++row) {
      const float* out = y.value + row * width;
      const float* dy = y.grad.data() + row * width;
      float inner = 0.0f;
      for (int64_t k = 0; k < width; ++k) inner += out[k] * dy[k];
      for (int64_t k = 0; k < width; ++k) dx[row * width + k] += f[0] * out[k] * dy[k] - f[1] * out[k] * inner;
    }
  });
}

// y = x n, n = (|x|² + ε)^(−1/2): dx += f0 · n dy − f1 · n³ (x·dy) x
Tensor l2_normalize_by_hand(const Tensor& x, const Factors& f) {
  const int64_t width = x.shape().last();
  return with_backward("l2_normalize by hand", {x}, values_of([&] { return l2_normalize(x); }), [f, width](Node& y) {
    Node& x = *y.parents[0];
    float* dx = grad_or_null(x);
    for (int64_t row = 0; row < y.numel() / width; ++row) {
      const float* in = x.value + row * width;
      const float* dy = y.grad.data() + row * width;
      float norm_squared = 0.0f, inner = 0.0f;
      for (int64_t k = 0; k < width; ++k) {
        norm_squared += in[k] * in[k];
        inner += in[k] * dy[k];
      }
      const float n = 1.0f / std::sqrt(norm_squared + 1e-12f);
      for (int64_t k = 0; k < width; ++k) dx[row * width + k] += f[0] * n * dy[k] - f[1] * n * n * n * inner * in[k];
    }
  });
}

// y = g(s) z with s = |z|², g = s / ((1 + s) √s) (squash, power 1, ε 0):
// dz += f0 · g dy + 2 (f1 · 1 / ((1 + s)² √s) − f2 · s / ((1 + s) 2 s √s)) (z·dy) z
// (the two parts of g'(s) nearly cancel for large s, so each has to be right).
Tensor squash_by_hand(const Tensor& z, const Factors& f) {
  const int64_t width = z.shape().last();
  return with_backward("squash by hand", {z}, values_of([&] { return squash(z, 1.0f, 0.0f); }), [f, width](Node& y) {
    Node& z = *y.parents[0];
    float* dz = grad_or_null(z);
    for (int64_t row = 0; row < y.numel() / width; ++row) {
      const float* in = z.value + row * width;
      const float* dy = y.grad.data() + row * width;
      float s = 0.0f, inner = 0.0f;
      for (int64_t k = 0; k < width; ++k) {
        s += in[k] * in[k];
        inner += in[k] * dy[k];
      }
      const float root = std::sqrt(s);
      const float gain = s / ((1.0f + s) * root);
      const float slope = f[1] * 1.0f / ((1.0f + s) * (1.0f + s) * root) - f[2] * s / ((1.0f + s) * 2.0f * s * root);
      for (int64_t k = 0; k < width; ++k) dz[row * width + k] += f[0] * gain * dy[k] + 2.0f * slope * inner * in[k];
    }
  });
}

// ---- the cases -----------------------------------------------------------------------------------

// Values whose magnitude is in [gap, range], either sign.
Tensor away_from_zero(const Shape& shape, Rng& rng, float gap, float range) {
  std::vector<float> values(shape.numel());
  for (float& value : values) {
    const float magnitude = gap + (range - gap) * static_cast<float>(rng.uniform());
    value = rng.uniform() < 0.5 ? -magnitude : magnitude;
  }
  return Tensor::from_values(shape, values, true);
}

// Rows [4, 4] scaled by 0.15, 0.3, 0.6 and 1 times `range`: norms from about 1/2 to 2·range, so
// squash is seen both where it bends and where it has flattened out.
Tensor rows_of_several_norms(Rng& rng, float range) {
  Tensor x = random_tensor(Shape{4, 4}, rng, true, -range, range);
  const float scales[4] = {0.15f, 0.3f, 0.6f, 1.0f};
  for (int64_t i = 0; i < 16; ++i) x.data()[i] *= scales[i / 4];
  return x;
}

struct MutationCase {
  std::string op;
  int term_count;
  // The op with the given factors applied to its inputs.
  std::function<Tensor(const Inputs&, const Factors&)> apply;
  // Its inputs over ±range (the old rule's ±1, the new ±4), kept inside the op's domain.
  std::function<Inputs(Rng&, float range)> inputs;
};

std::vector<MutationCase> mutation_cases() {
  const Shape shape{3, 5};
  return {
      {"exp", 1, [](const Inputs& x, const Factors& f) { return exp_by_hand(x[0], f); },
       [shape](Rng& rng, float range) { return Inputs{random_tensor(shape, rng, true, -range, range)}; }},
      {"tanh", 2, [](const Inputs& x, const Factors& f) { return tanh_by_hand(x[0], f); },
       [shape](Rng& rng, float range) { return Inputs{random_tensor(shape, rng, true, -range, range)}; }},
      {"log", 1, [](const Inputs& x, const Factors& f) { return log_by_hand(x[0], f); },
       [shape](Rng& rng, float range) { return Inputs{random_tensor(shape, rng, true, 0.2f, range)}; }},
      {"signed_pow 2.5", 1, [](const Inputs& x, const Factors& f) { return pow_by_hand(x[0], f); },
       [shape](Rng& rng, float range) { return Inputs{away_from_zero(shape, rng, 0.1f, range)}; }},
      {"div", 2, [](const Inputs& x, const Factors& f) { return div_by_hand(x[0], x[1], f); },
       [shape](Rng& rng, float range) {
         return Inputs{random_tensor(shape, rng, true, -range, range), away_from_zero(shape, rng, 0.5f, range)};
       }},
      {"softmax", 2, [](const Inputs& x, const Factors& f) { return softmax_by_hand(x[0], f); },
       [shape](Rng& rng, float range) { return Inputs{random_tensor(shape, rng, true, -range, range)}; }},
      {"l2_normalize", 2, [](const Inputs& x, const Factors& f) { return l2_normalize_by_hand(x[0], f); },
       [shape](Rng& rng, float range) { return Inputs{random_tensor(shape, rng, true, -range, range)}; }},
      {"squash", 3, [](const Inputs& x, const Factors& f) { return squash_by_hand(x[0], f); },
       [](Rng& rng, float range) { return Inputs{rows_of_several_norms(rng, range)}; }},
  };
}

// The two mistakes: a coefficient off by a third, a term scaled by 0.98.
const float mutations[] = {2.0f / 3.0f, 0.98f};

std::string mutation_name(float factor) { return factor == 0.98f ? "term x 0.98" : "coefficient x 2/3"; }

GradcheckResult check_mutation(const MutationCase& test, int term, float factor, float range,
                               const GradcheckOptions& options) {
  Factors factors(test.term_count, 1.0f);
  if (term >= 0) factors[term] = factor;
  Rng rng(2024);
  const Inputs inputs = test.inputs(rng, range);
  return gradcheck(test.op, [&](const Inputs& x) { return test.apply(x, factors); }, inputs, options);
}

GradcheckOptions old_rule() {
  GradcheckOptions options;
  options.absolute_tolerance = 1e-2;
  options.relative_tolerance = 1e-2;
  options.rounding_tolerance = 0.0;
  return options;
}

}  // namespace

TEST_CASE("gradcheck mutations: the hand-written backwards are right, and every mutation of a term fails") {
  for (const MutationCase& test : mutation_cases()) {
    const GradcheckResult control = check_mutation(test, -1, 1.0f, 4.0f, GradcheckOptions{});
    INFO(control.message);
    CHECK(control.passed);
    for (int term = 0; term < test.term_count; ++term)
      for (float factor : mutations) {
        const GradcheckResult mutated = check_mutation(test, term, factor, 4.0f, GradcheckOptions{});
        INFO(test.op << " term " << term << " " << mutation_name(factor) << ": " << mutated.message);
        CHECK_FALSE(mutated.passed);
      }
  }
}

TEST_CASE("gradcheck mutations: mutation table, old rule and inputs against the new" * doctest::skip()) {
  std::string table = "\nop             term  mutation            old rule, ±1   new rule, ±1   new rule, ±4\n";
  const auto verdict = [](const GradcheckResult& result) { return result.passed ? "MISSED" : "caught"; };
  for (const MutationCase& test : mutation_cases())
    for (int term = 0; term < test.term_count; ++term)
      for (float factor : mutations) {
        char line[160];
        std::snprintf(line, sizeof(line), "%-14s %4d  %-18s  %-13s  %-13s  %s\n", test.op.c_str(), term,
                      mutation_name(factor).c_str(), verdict(check_mutation(test, term, factor, 1.0f, old_rule())),
                      verdict(check_mutation(test, term, factor, 1.0f, GradcheckOptions{})),
                      verdict(check_mutation(test, term, factor, 4.0f, GradcheckOptions{})));
        table += line;
      }
  MESSAGE(table);
}
