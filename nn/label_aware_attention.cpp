// Label-aware attention: score each interest against the target, then weight or pick.
#include "nn/label_aware_attention.h"

#include <stdexcept>

namespace mind::nn {

AttentionOutput label_aware_attention(const Tensor& interests, const Tensor& targets,
                                      const Tensor& interest_mask, const AttentionOptions& options) {
  const int64_t batch = interests.size(0), K = interests.size(1), d = interests.size(2);
  if (targets.shape() != Shape{batch, d})
    throw std::invalid_argument("label_aware_attention: targets " + targets.shape().to_string() +
                                " do not match interests " + interests.shape().to_string());
  AttentionOutput output;
  // s_j = v_j · e_t: [B, K, d] × [B, d, 1] → [B, K, 1] → [B, K]
  Tensor scores = reshape(batched_matmul(interests, reshape(targets, Shape{batch, d, 1})), Shape{batch, K});
  output.scores = mul(scores, interest_mask);
  if (options.hard) {
    // Pick the best live interest; its gradient flows to that interest only.
    output.user_vector = select_rows(interests, argmax_last(scores, interest_mask));
  } else {
    Tensor attention = softmax(signed_pow(scores, options.power), 1, interest_mask);  // a: [B, K]
    // v_u = Σ_j a_j v_j: [B, 1, K] × [B, K, d] → [B, 1, d] → [B, d]
    output.user_vector = reshape(batched_matmul(reshape(attention, Shape{batch, 1, K}), interests), Shape{batch, d});
  }
  return output;
}

}  // namespace mind::nn
