// The Adam rule on a span of floats: moments and values updated in place, element by element.
// Dense Adam calls it on a whole parameter, lazy Adam on each touched row of a table; the
// bookkeeping (which spans, which step) lives in nn/adam.h. `adam_update` is the xsimd version,
// `adam_update_reference` the plain loop that the tests compare it with.
#pragma once
#include <cstdint>

namespace mind::nn {

// The per-step constants of the rule. With t the step number (1 for the first step):
//   m ← β1·m + (1−β1)·g
//   v ← β2·v + (1−β2)·g²
//   p ← decay · p          (decoupled weight decay, AdamW: decay = 1 − lr·λ; skipped when λ = 0)
//   p ← p − step_size · m / (√v / bias_correction2_sqrt + ε)
// where step_size = lr / (1 − β1ᵗ) and bias_correction2_sqrt = √(1 − β2ᵗ): PyTorch's
// arrangement of the two bias corrections, so our numbers follow theirs closely. The decay is
// applied before the update, as torch.optim.AdamW does, and only to the spans given (a lazy
// table step decays only the rows it touches).
struct AdamCoefficients {
  float beta1;
  float beta2;
  float one_minus_beta1;
  float one_minus_beta2;
  float step_size;
  float bias_correction2_sqrt;
  float epsilon;
  float decay;  // 1 − lr·λ (1: no weight decay)
};

// The constants for step `step_number` (>= 1), bias corrections computed in double.
AdamCoefficients adam_coefficients(double learning_rate, double beta1, double beta2,
                                   double epsilon, int64_t step_number, double weight_decay = 0.0);

// One Adam update of `count` elements: value, exp_avg (m) and exp_avg_sq (v) are updated in
// place from gradient. Every element goes through the same vector instructions, the last few
// too, so an element's result does not depend on where it sits in the span: a row updated on
// its own (lazy Adam) ends bit-identical to the same row updated inside a whole table.
void adam_update(float* value, const float* gradient, float* exp_avg, float* exp_avg_sq,
                 int64_t count, const AdamCoefficients& coefficients);

// The same rule as a plain loop: the readable version. It may differ from adam_update in the
// last bit, because the compiler is free to fuse its multiply-adds differently.
void adam_update_reference(float* value, const float* gradient, float* exp_avg,
                           float* exp_avg_sq, int64_t count,
                           const AdamCoefficients& coefficients);

}  // namespace mind::nn
