// B2I dynamic routing, MIND's multi-interest extractor (docs/design.md §2.3): a user's history of item
// embeddings is routed into K interest capsules. Each behaviour's prediction û_i = S e_i votes
// for every interest; R rounds of "routing by agreement" shift each behaviour's weight toward
// the interests its prediction agrees with (b_ij += c_j · û_i).
//
// Not here: the MLP that turns capsules into interests (nn/linear.h), the attention over them
// (nn/label_aware_attention.h). ComiRec-DR is this same code with one S per interest.
#pragma once
#include <cstdint>
#include <vector>

#include "autograd/ops.h"
#include "autograd/random.h"

namespace mind::nn {

enum class RoutingSoftmax {
  // Each behaviour splits its vote over the interests (Sabour et al.: a lower capsule is
  // normalised over its parents). Our default.
  over_interests,
  // Each interest takes a distribution over the behaviours (several MIND codes do this).
  over_behaviours,
};

struct RoutingOptions {
  int64_t interest_count = 4;   // K
  int64_t max_length = 20;      // L
  int64_t iterations = 3;       // R
  RoutingSoftmax softmax = RoutingSoftmax::over_interests;
  bool dynamic_interest_count = true;  // K'_u = max(1, min(K, floor(log2 n_u)))
  bool stop_gradient = true;    // treat the logit updates as constants within a step
  bool fresh_logits = false;    // draw the initial logits anew every forward instead of once
  bool per_interest_maps = false;  // ComiRec-DR: a separate S_j per interest
  float squash_power = 1.0f;    // q in (|z|²/(1+|z|²))^q
  float squash_eps = 1e-8f;
};

struct RoutingOutput {
  Tensor predictions;     // û: [B, L, d] (shared S) or [B·K, L, d] (per-interest S)
  Tensor capsules;        // c: [B, K, d]; dead interests are zero
  Tensor interest_mask;   // [B, K]: 1 for the K'_u live interests of each user
  std::vector<Tensor> routing_weights;  // w at every iteration, [B, K, L] (for --explain)
};

// Routing regularisation (REMI's RR, Xie et al. RecSys 2023): each live interest's weights over
// the user's real behaviours i < n_u, w_j = (w_j1 .. w_jn), have a spread
//     v_j = Σ_i (w_ji − mean_i w_j)²,
// and the penalty is R = (1/B) Σ_u Σ_{j live} v_j². Added as λ·R to the loss with λ > 0 it
// keeps an interest from collapsing onto a single behaviour (the "routing collapse" REMI
// observed), pushing its weights towards an even spread; λ < 0 does the opposite and rewards
// interests that concentrate on few behaviours. REMI's code computes C = (A − Ā)(A − Ā)ᵀ / d
// over all L positions (padding included) and sums diag(C)² over the batch; we use the real
// positions only and a mean over users, so REMI's λ corresponds to ours times B / d².
// weights [B, K, L] (one routing iteration's w, or ComiRec-SA's A), lengths [B] = n_u,
// interest_mask [B, K]. Differentiable in `weights`.
Tensor routing_spread_penalty(const Tensor& weights, const std::vector<int32_t>& lengths, const Tensor& interest_mask);

// K'_u for a history of `length` real behaviours.
int64_t live_interest_count(int64_t length, int64_t interest_count, bool dynamic);

class CapsuleRouting {
 public:
  CapsuleRouting() = default;
  CapsuleRouting(int64_t width, const RoutingOptions& options, Rng& rng);

  // history [B, L, d] (padding rows zero, positions 0..n−1 real), lengths [B] → capsules.
  // `rng` is used only with fresh_logits. With one S and stop-gradient routing (the default)
  // the R rounds run as one fused op, parallel over users; otherwise as forward_composed.
  RoutingOutput forward(const Tensor& history, const std::vector<int32_t>& lengths, Rng* rng = nullptr) const;
  // The same, step by step from the engine's ops (softmax, batched_matmul, squash, add): every
  // variant, and the readable reference the fused op is tested against.
  RoutingOutput forward_composed(const Tensor& history, const std::vector<int32_t>& lengths, Rng* rng = nullptr) const;

  std::vector<Tensor> parameters() const { return {bilinear}; }
  const RoutingOptions& options() const { return options_; }

  Tensor bilinear;  // S: [d, d] ("routing.bilinear.weight"), or [K, d, d] per interest
  // b⁰: [K, L] ("routing.logits" in a checkpoint), drawn N(0, 1) once; not trained. Named apart
  // from the loss's logits (ForwardTrace::logits), the scores the softmax loss is taken over.
  Tensor initial_logits;

 private:
  RoutingOptions options_;
};

}  // namespace mind::nn
