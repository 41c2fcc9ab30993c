// Label-aware attention: score each interest against the target, then weight or pick.
#include "nn/label_aware_attention.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <stdexcept>
#include <vector>

namespace mind::nn {

std::vector<int32_t> sample_interests(const Tensor& scores, const Tensor& interest_mask, Rng& rng) {
  const int64_t batch = scores.size(0), K = scores.size(1);
  const float* s = scores.data();
  const float* live = interest_mask.data();
  std::vector<int32_t> chosen(batch, 0);
  std::vector<double> weights(K);
  for (int64_t b = 0; b < batch; ++b) {
    double largest = -std::numeric_limits<double>::infinity();
    for (int64_t j = 0; j < K; ++j)
      if (live[b * K + j] != 0.0f) largest = std::max(largest, static_cast<double>(s[b * K + j]));
    double total = 0.0;
    for (int64_t j = 0; j < K; ++j) {
      weights[j] = live[b * K + j] != 0.0f ? std::exp(s[b * K + j] - largest) : 0.0;
      total += weights[j];
    }
    // The first live j whose cumulative weight passes u · total (the last live one if rounding leaves none).
    const double threshold = rng.uniform() * total;
    double cumulative = 0.0;
    int32_t last_live = 0;
    bool found = false;
    for (int64_t j = 0; j < K && !found; ++j) {
      if (live[b * K + j] == 0.0f) continue;
      last_live = static_cast<int32_t>(j);
      cumulative += weights[j];
      if (threshold < cumulative) {
        chosen[b] = static_cast<int32_t>(j);
        found = true;
      }
    }
    if (!found) chosen[b] = last_live;
  }
  return chosen;
}

AttentionOutput label_aware_attention(const Tensor& interests, const Tensor& targets,
                                      const Tensor& interest_mask, const AttentionOptions& options, Rng* rng) {
  const int64_t batch = interests.size(0), K = interests.size(1), d = interests.size(2);
  if (targets.shape() != Shape{batch, d})
    throw std::invalid_argument("label_aware_attention: targets " + targets.shape().to_string() +
                                " do not match interests " + interests.shape().to_string());
  AttentionOutput output;
  // s_j = v_j · e_t: [B, K, d] × [B, d, 1] → [B, K, 1] → [B, K]
  Tensor scores = reshape(batched_matmul(interests, reshape(targets, Shape{batch, d, 1})), Shape{batch, K});
  output.scores = mul(scores, interest_mask);
  if (options.hard && options.sample) {
    if (rng == nullptr) throw std::invalid_argument("label_aware_attention: sampling the interest needs a random generator");
    // Draw a live interest by its softmax weight; like the argmax, only it gets a gradient.
    output.user_vector = select_rows(interests, sample_interests(scores, interest_mask, *rng));
  } else if (options.hard) {
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
