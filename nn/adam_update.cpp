// The Adam rule, vectorised with xsimd, and its plain-loop twin.
// Written with explicit vectors because GCC will not vectorise the plain loop: std::sqrt may
// set errno, and without -fno-math-errno that keeps the loop scalar.
#include "nn/adam_update.h"

#include <cmath>
#include <cstring>

// GCC 12 warns "may be used uninitialized" inside its own AVX-512 intrinsics once they are inlined
// (GCC bug 105593, fixed in GCC 13); the pragma covers only the lines of the headers included here.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <xsimd/xsimd.hpp>
#pragma GCC diagnostic pop

namespace mind::nn {

namespace {

using Vector = xsimd::batch<float>;
constexpr int64_t lanes = Vector::size;

// One vector's worth of elements (exactly `lanes` of each array). Multiply-adds are written as
// explicit fma so that the compiler has no choice left in how they round.
void update_one_vector(float* value, const float* gradient, float* exp_avg, float* exp_avg_sq,
                       const AdamCoefficients& c) {
  const Vector g = Vector::load_unaligned(gradient);
  const Vector m = xsimd::fma(Vector(c.beta1), Vector::load_unaligned(exp_avg),
                              Vector(c.one_minus_beta1) * g);
  const Vector v = xsimd::fma(Vector(c.beta2), Vector::load_unaligned(exp_avg_sq),
                              Vector(c.one_minus_beta2) * g * g);
  const Vector denominator = xsimd::sqrt(v) / Vector(c.bias_correction2_sqrt) + Vector(c.epsilon);
  Vector p = Vector::load_unaligned(value);
  if (c.decay != 1.0f) p = p * Vector(c.decay);
  p = p - Vector(c.step_size) * m / denominator;
  m.store_unaligned(exp_avg);
  v.store_unaligned(exp_avg_sq);
  p.store_unaligned(value);
}

}  // namespace

AdamCoefficients adam_coefficients(double learning_rate, double beta1, double beta2,
                                   double epsilon, int64_t step_number, double weight_decay) {
  const double t = static_cast<double>(step_number);
  const double bias_correction1 = 1.0 - std::pow(beta1, t);
  const double bias_correction2 = 1.0 - std::pow(beta2, t);
  AdamCoefficients coefficients;
  coefficients.beta1 = static_cast<float>(beta1);
  coefficients.beta2 = static_cast<float>(beta2);
  coefficients.one_minus_beta1 = static_cast<float>(1.0 - beta1);
  coefficients.one_minus_beta2 = static_cast<float>(1.0 - beta2);
  coefficients.step_size = static_cast<float>(learning_rate / bias_correction1);
  coefficients.bias_correction2_sqrt = static_cast<float>(std::sqrt(bias_correction2));
  coefficients.epsilon = static_cast<float>(epsilon);
  coefficients.decay = static_cast<float>(1.0 - learning_rate * weight_decay);
  return coefficients;
}

void adam_update(float* value, const float* gradient, float* exp_avg, float* exp_avg_sq,
                 int64_t count, const AdamCoefficients& coefficients) {
  int64_t i = 0;
  for (; i + lanes <= count; i += lanes)
    update_one_vector(value + i, gradient + i, exp_avg + i, exp_avg_sq + i, coefficients);
  const int64_t remaining = count - i;
  if (remaining == 0) return;
  // The tail goes through the very same vector code, padded with zeros (harmless: √0 / c + ε
  // is positive), rather than through a scalar loop that might round differently.
  float value_tail[lanes] = {}, gradient_tail[lanes] = {}, exp_avg_tail[lanes] = {},
        exp_avg_sq_tail[lanes] = {};
  const size_t bytes = static_cast<size_t>(remaining) * sizeof(float);
  std::memcpy(value_tail, value + i, bytes);
  std::memcpy(gradient_tail, gradient + i, bytes);
  std::memcpy(exp_avg_tail, exp_avg + i, bytes);
  std::memcpy(exp_avg_sq_tail, exp_avg_sq + i, bytes);
  update_one_vector(value_tail, gradient_tail, exp_avg_tail, exp_avg_sq_tail, coefficients);
  std::memcpy(value + i, value_tail, bytes);
  std::memcpy(exp_avg + i, exp_avg_tail, bytes);
  std::memcpy(exp_avg_sq + i, exp_avg_sq_tail, bytes);
}

void adam_update_reference(float* value, const float* gradient, float* exp_avg,
                           float* exp_avg_sq, int64_t count,
                           const AdamCoefficients& coefficients) {
  const AdamCoefficients& c = coefficients;
  for (int64_t i = 0; i < count; ++i) {
    const float g = gradient[i];
    exp_avg[i] = c.beta1 * exp_avg[i] + c.one_minus_beta1 * g;
    exp_avg_sq[i] = c.beta2 * exp_avg_sq[i] + c.one_minus_beta2 * g * g;
    const float denominator = std::sqrt(exp_avg_sq[i]) / c.bias_correction2_sqrt + c.epsilon;
    if (c.decay != 1.0f) value[i] *= c.decay;
    value[i] -= c.step_size * exp_avg[i] / denominator;
  }
}

}  // namespace mind::nn
