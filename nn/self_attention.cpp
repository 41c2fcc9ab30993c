// The self-attentive extractor: score positions per head, softmax over real positions, pool.
#include "nn/self_attention.h"

#include "nn/init.h"

namespace mind::nn {

SelfAttentionExtractor::SelfAttentionExtractor(int64_t width, int64_t attention_width,
                                               int64_t interest_count, Rng& rng) {
  first = glorot_uniform(Shape{attention_width, width}, rng);
  first.make_parameter("attention.w1.weight");
  second = glorot_uniform(Shape{interest_count, attention_width}, rng);
  second.make_parameter("attention.w2.weight");
}

SelfAttentionOutput SelfAttentionExtractor::forward(const Tensor& history, const std::vector<int32_t>& lengths) const {
  const int64_t batch = history.size(0), L = history.size(1);
  const int64_t K = second.size(0);
  Tensor hidden = tanh(linear(history, first, Tensor()));                 // [B, L, d_a]
  Tensor scores = transpose_last(linear(hidden, second, Tensor()));       // [B, K, L]
  std::vector<float> real_position(batch * K * L, 0.0f);                  // [B, K, L]
  for (int64_t b = 0; b < batch; ++b)
    for (int64_t j = 0; j < K; ++j)
      for (int64_t i = 0; i < lengths[b]; ++i) real_position[(b * K + j) * L + i] = 1.0f;
  SelfAttentionOutput output;
  output.attention = softmax(scores, 2, Tensor::from_values(Shape{batch, K, L}, real_position));
  output.interests = batched_matmul(output.attention, history);          // [B, K, L] × [B, L, d]
  output.interest_mask = Tensor::full(Shape{batch, K}, 1.0f);
  return output;
}

}  // namespace mind::nn
