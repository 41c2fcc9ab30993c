// Label-aware attention (training only, docs/design.md §2.5): the target item chooses which of a user's
// interests to train.  a = softmax_j(sign(s_j)·|s_j|^p) over the live interests with
// s_j = v_j · e_t, and the user vector is v_u = Σ_j a_j v_j. As p → ∞ the softmax becomes an
// argmax: "hard" attention (the default, and ComiRec's readout) trains only the best interest.
//
// Soft interest selection (training only): with `sample`, hard attention draws the interest it
// trains from softmax_j(s_j) over the live interests instead of taking the argmax, so an interest
// that scores a target slightly lower still gets trained on it sometimes. Serving is unchanged:
// a user's score for an item is max_j v_j · e_i either way.
#pragma once
#include "autograd/ops.h"
#include "autograd/random.h"

namespace mind::nn {

struct AttentionOptions {
  bool hard = true;     // p = ∞: v_u = v_argmax
  float power = 1.0f;   // p, when not hard
  bool sample = false;  // hard only: v_u = v_j with j ~ softmax(s) over the live interests
};

struct AttentionOutput {
  Tensor scores;       // s = v_j · e_t: [B, K] (dead interests are zeroed here for reading)
  Tensor user_vector;  // v_u: [B, d]
};

// interests [B, K, d], targets [B, d], interest_mask [B, K] (1 = live). `rng` is needed only
// with options.sample: one uniform draw per row, in row order.
AttentionOutput label_aware_attention(const Tensor& interests, const Tensor& targets,
                                      const Tensor& interest_mask, const AttentionOptions& options,
                                      Rng* rng = nullptr);

// The interest each row trains with options.sample: j drawn from softmax(scores) over the live
// interests by inverting its CDF at one uniform draw u (rows in order). scores, mask: [B, K].
std::vector<int32_t> sample_interests(const Tensor& scores, const Tensor& interest_mask, Rng& rng);

}  // namespace mind::nn
