// Sampled softmax with the log-Q correction, the full softmax, and the diversity penalty.
#include "nn/sampled_softmax.h"

#include <cmath>
#include <limits>
#include <stdexcept>

namespace mind::nn {

LogUniformSampler::LogUniformSampler(int64_t item_count)
    : item_count_(item_count), log_range_(std::log(static_cast<double>(item_count) + 1.0)) {
  if (item_count < 1) throw std::invalid_argument("LogUniformSampler: needs at least one item");
}

std::vector<int32_t> LogUniformSampler::sample(int64_t count, Rng& rng) const {
  std::vector<int32_t> ranks(count);
  for (int64_t i = 0; i < count; ++i) {
    // Inverse CDF of Q: P(rank ≤ r) = log(r + 2) / log(N + 1).
    const int64_t rank = static_cast<int64_t>(std::exp(rng.uniform() * log_range_)) - 1;
    ranks[i] = static_cast<int32_t>(std::min<int64_t>(std::max<int64_t>(rank, 0), item_count_ - 1));
  }
  return ranks;
}

double LogUniformSampler::probability(int64_t rank) const {
  return std::log((rank + 2.0) / (rank + 1.0)) / log_range_;
}

SampledSoftmaxOutput sampled_softmax_loss(const Tensor& user_vectors, const Tensor& target_vectors,
                                          const std::vector<int32_t>& targets,
                                          const Tensor& negative_vectors,
                                          const std::vector<int32_t>& negatives,
                                          const LogUniformSampler& sampler) {
  const int64_t batch = user_vectors.size(0);
  const int64_t negative_count = static_cast<int64_t>(negatives.size());
  const int64_t columns = 1 + negative_count;
  // Raw scores: column 0 the target, then every shared negative. [B, 1 + M]
  Tensor target_scores = reshape(dot_last(user_vectors, target_vectors), Shape{batch, 1});
  Tensor negative_scores = matmul(user_vectors, negative_vectors, /*transpose_b=*/true);
  Tensor scores = concat_last(target_scores, negative_scores);

  // The log-Q correction and the accidental-hit mask, both constants. [B, 1 + M]
  const double log_m = std::log(static_cast<double>(negative_count));
  std::vector<float> negative_correction(negative_count);  // the same for every row
  for (int64_t m = 0; m < negative_count; ++m)
    negative_correction[m] = static_cast<float>(log_m + std::log(sampler.probability(negatives[m])));
  std::vector<float> correction(batch * columns), keep(batch * columns, 1.0f);
  for (int64_t b = 0; b < batch; ++b) {
    correction[b * columns] = static_cast<float>(log_m + std::log(sampler.probability(targets[b])));
    for (int64_t m = 0; m < negative_count; ++m) {
      correction[b * columns + 1 + m] = negative_correction[m];
      if (negatives[m] == targets[b]) keep[b * columns + 1 + m] = 0.0f;
    }
  }
  const Tensor mask = Tensor::from_values(Shape{batch, columns}, keep);
  SampledSoftmaxOutput output;
  output.logits = masked_fill(sub(scores, Tensor::from_values(Shape{batch, columns}, correction)), mask,
                              -std::numeric_limits<float>::infinity());
  output.loss = cross_entropy(output.logits, std::vector<int32_t>(batch, 0), mask);
  return output;
}

Tensor full_softmax_loss(const Tensor& user_vectors, const Tensor& all_items, const std::vector<int32_t>& targets) {
  return cross_entropy(matmul(user_vectors, all_items, /*transpose_b=*/true), targets);  // [B, N] logits
}

Tensor interest_similarity_penalty(const Tensor& interests, const Tensor& interest_mask) {
  const int64_t batch = interests.size(0), K = interests.size(1);
  Tensor unit = l2_normalize(interests);                                   // [B, K, d]
  Tensor cosines = batched_matmul(unit, unit, false, true);                // [B, K, K]
  std::vector<float> pair_weight(batch * K * K, 0.0f);  // 1/(B·K'²) for live pairs
  for (int64_t b = 0; b < batch; ++b) {
    int64_t live = 0;
    for (int64_t j = 0; j < K; ++j) live += interest_mask.data()[b * K + j] != 0.0f;
    const float weight = 1.0f / static_cast<float>(batch * live * live);
    for (int64_t i = 0; i < K; ++i)
      for (int64_t j = 0; j < K; ++j)
        if (interest_mask.data()[b * K + i] != 0.0f && interest_mask.data()[b * K + j] != 0.0f)
          pair_weight[(b * K + i) * K + j] = weight;
  }
  return sum_all(mul(cosines, Tensor::from_values(Shape{batch, K, K}, pair_weight)));
}

}  // namespace mind::nn
