// Label-aware attention (training only, docs/design.md §2): the target item chooses which of a user's
// interests to train.  a = softmax_j(sign(s_j)·|s_j|^p) over the live interests with
// s_j = v_j · e_t, and the user vector is v_u = Σ_j a_j v_j. As p → ∞ the softmax becomes an
// argmax: "hard" attention (the default, and ComiRec's readout) trains only the best interest.
#pragma once
#include "autograd/ops.h"

namespace mind::nn {

struct AttentionOptions {
  bool hard = true;    // p = ∞: v_u = v_argmax
  float power = 1.0f;  // p, when not hard
};

struct AttentionOutput {
  Tensor scores;       // s = v_j · e_t: [B, K] (dead interests are zeroed here for reading)
  Tensor user_vector;  // v_u: [B, d]
};

// interests [B, K, d], targets [B, d], interest_mask [B, K] (1 = live).
AttentionOutput label_aware_attention(const Tensor& interests, const Tensor& targets,
                                      const Tensor& interest_mask, const AttentionOptions& options);

}  // namespace mind::nn
