// The training losses (docs/design.md §2).
//
// Sampled softmax: a softmax over the whole catalogue costs O(N·d) per row; instead M negatives
// shared by the batch are drawn from a log-uniform (Zipf) proposal over frequency ranks,
//     Q(r) = log((r + 2) / (r + 1)) / log(N + 1),
// and every logit is corrected by −log(M·Q(x)), which makes the sampled loss an (asymptotically)
// unbiased stand-in for the full one (Jean et al.). A negative equal to a row's own target is
// removed from that row (an "accidental hit"). The target sits in column 0.
//
// Also: the full softmax over all N items, and the diversity regulariser over a user's interests.
#pragma once
#include <cstdint>
#include <vector>

#include "autograd/ops.h"
#include "autograd/random.h"

namespace mind::nn {

// Draws item ranks from Q (items are numbered by descending training frequency: rank = index).
class LogUniformSampler {
 public:
  explicit LogUniformSampler(int64_t item_count = 1);
  // `count` ranks drawn with replacement: r = floor(exp(u · log(N + 1))) − 1, u ~ U[0, 1).
  std::vector<int32_t> sample(int64_t count, Rng& rng) const;
  double probability(int64_t rank) const;  // Q(rank)
  int64_t item_count() const { return item_count_; }

 private:
  int64_t item_count_;
  double log_range_;  // log(N + 1)
};

struct SampledSoftmaxOutput {
  Tensor logits;  // [B, 1 + M], corrected; removed accidental hits are −∞ (no gradient: a record)
  Tensor loss;    // [1], mean cross-entropy with the target in column 0
};

// user_vectors [B, d], target_vectors [B, d] (e_t), negative_vectors [M, d] (e of `negatives`).
// One fused op (scores, correction, mask, softmax, cross-entropy); its gradient reaches the
// three inputs through `loss` only.
SampledSoftmaxOutput sampled_softmax_loss(const Tensor& user_vectors, const Tensor& target_vectors,
                                          const std::vector<int32_t>& targets,
                                          const Tensor& negative_vectors,
                                          const std::vector<int32_t>& negatives,
                                          const LogUniformSampler& sampler);
// The same, composed of the engine's general ops (dot_last, matmul, concat_last, sub,
// masked_fill, cross_entropy): the readable reference, and its logits carry a gradient.
SampledSoftmaxOutput sampled_softmax_loss_reference(const Tensor& user_vectors, const Tensor& target_vectors,
                                                    const std::vector<int32_t>& targets,
                                                    const Tensor& negative_vectors,
                                                    const std::vector<int32_t>& negatives,
                                                    const LogUniformSampler& sampler);

// Cross-entropy over every item: user_vectors [B, d] against all_items [N, d].
Tensor full_softmax_loss(const Tensor& user_vectors, const Tensor& all_items,
                         const std::vector<int32_t>& targets);

// Mean pairwise cosine similarity of each user's live interests, averaged over users:
//     P = (1/B) Σ_u (1/K'_u²) Σ_{i,j live} cos(v_i, v_j).
// As a diversity D = −P (docs/design.md §2.6), adding λ·P (= −λ·D) to the loss therefore *rewards*
// diversity: minimising the loss pushes a user's interests apart.
Tensor interest_similarity_penalty(const Tensor& interests, const Tensor& interest_mask);

}  // namespace mind::nn
