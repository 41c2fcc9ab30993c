// The training losses (docs/design.md §2.6).
//
// Sampled softmax: a softmax over the whole catalogue costs O(N·d) per row; instead M negatives
// shared by the batch are drawn from a log-uniform (Zipf) proposal over frequency ranks,
//     Q(r) = log((r + 2) / (r + 1)) / log(N + 1),
// and every logit is corrected by −log(M·Q(x)), which makes the sampled loss an (asymptotically)
// unbiased stand-in for the full one (Jean et al.). A negative equal to a row's own target is
// removed from that row (an "accidental hit"). The target sits in column 0.
//
// Hard-negative weighting (REMI's interest-aware hard negatives, Xie et al. RecSys 2023), on
// when β > 0: each kept negative m of row b enters the softmax's denominator weighted by
//     w_bm = M'_b · exp(β s_bm) / Σ_{k kept} exp(β s_bk)      (s = u·e, the raw score; M'_b kept negatives)
// so the weights average 1 over a row and β = 0 is the plain loss. In logits: a negative's
// corrected logit z_bm = s_bm − log(M·Q(x_m)) gains log w_bm; the log-Q correction stays.
// As in REMI's code (taken from Robinson et al.'s hard-negative contrastive loss) the weights
// are not detached: the gradient flows through them too, giving for a negative's score
//     ∂L/∂s_m = (1 + β)·g_m − β·w_m/M'·Σ_k g_k,   g = ∂L/∂z' = (softmax(z') − onehot₀) / B.
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
  Tensor logits;  // [B, 1 + M], corrected (+ log w with β > 0); removed hits are −∞ (no gradient: a record)
  Tensor loss;    // [1], mean cross-entropy with the target in column 0
};

// user_vectors [B, d], target_vectors [B, d] (e_t), negative_vectors [M, d] (e of `negatives`).
// One fused op (scores, correction, mask, hard-negative weights, softmax, cross-entropy); its
// gradient reaches the three inputs through `loss` only. hard_negative_beta = β ≥ 0 (0: off).
SampledSoftmaxOutput sampled_softmax_loss(const Tensor& user_vectors, const Tensor& target_vectors,
                                          const std::vector<int32_t>& targets,
                                          const Tensor& negative_vectors,
                                          const std::vector<int32_t>& negatives,
                                          const LogUniformSampler& sampler, float hard_negative_beta = 0.0f);
// The same, composed of the engine's general ops (dot_last, matmul, log_softmax, concat_last,
// sub, masked_fill, cross_entropy): the readable reference, and its logits carry a gradient.
SampledSoftmaxOutput sampled_softmax_loss_reference(const Tensor& user_vectors, const Tensor& target_vectors,
                                                    const std::vector<int32_t>& targets,
                                                    const Tensor& negative_vectors,
                                                    const std::vector<int32_t>& negatives,
                                                    const LogUniformSampler& sampler, float hard_negative_beta = 0.0f);

// Cross-entropy over every item: user_vectors [B, d] against all_items [N, d].
Tensor full_softmax_loss(const Tensor& user_vectors, const Tensor& all_items,
                         const std::vector<int32_t>& targets);

// Mean pairwise cosine similarity of each user's live interests, averaged over users:
//     P = (1/B) Σ_u (1/K'_u²) Σ_{i,j live} cos(v_i, v_j).
// As a diversity D = −P (docs/design.md §2.6), adding λ·P (= −λ·D) to the loss therefore *rewards*
// diversity: minimising the loss pushes a user's interests apart.
Tensor interest_similarity_penalty(const Tensor& interests, const Tensor& interest_mask);

}  // namespace mind::nn
