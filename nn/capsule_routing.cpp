// B2I dynamic routing: predictions, then R rounds of softmax → weighted sum → squash → agreement.
#include "nn/capsule_routing.h"

#include <algorithm>
#include <bit>
#include <cmath>
#include <limits>
#include <memory>
#include <stdexcept>

#include "autograd/kernels.h"
#include "autograd/parallel.h"

#include "nn/init.h"

namespace mind::nn {

int64_t live_interest_count(int64_t length, int64_t interest_count, bool dynamic) {
  if (!dynamic) return interest_count;
  if (length < 1) return 1;
  const int64_t floor_log2 = 63 - std::countl_zero(static_cast<uint64_t>(length));
  return std::max<int64_t>(1, std::min<int64_t>(interest_count, floor_log2));
}

Tensor routing_spread_penalty(const Tensor& weights, const std::vector<int32_t>& lengths, const Tensor& interest_mask) {
  const int64_t batch = weights.size(0), K = weights.size(1), L = weights.size(2);
  if (weights.rank() != 3 || static_cast<int64_t>(lengths.size()) != batch || interest_mask.shape() != Shape{batch, K})
    throw std::invalid_argument("routing_spread_penalty: needs weights [B, K, L], B lengths and a [B, K] mask; got " +
                                weights.shape().to_string() + ", " + std::to_string(lengths.size()) + " and " +
                                interest_mask.shape().to_string());
  // Constants: 1/n_u on the real positions (for the mean) [B, L, 1], ones on them [B, 1, L]
  // and on every (interest, real position) pair [B, K, L], and each live interest's weight 1/B [B, K].
  std::vector<float> mean_weights(batch * L, 0.0f), real(batch * L, 0.0f), real_pairs(batch * K * L, 0.0f);
  std::vector<float> interest_weights(batch * K, 0.0f);
  for (int64_t b = 0; b < batch; ++b) {
    const int64_t length = std::min<int64_t>(std::max<int32_t>(lengths[b], 0), L);
    for (int64_t i = 0; i < length; ++i) {
      mean_weights[b * L + i] = 1.0f / static_cast<float>(length);
      real[b * L + i] = 1.0f;
      for (int64_t j = 0; j < K; ++j) real_pairs[(b * K + j) * L + i] = 1.0f;
    }
    for (int64_t j = 0; j < K; ++j)
      interest_weights[b * K + j] = interest_mask.data()[b * K + j] != 0.0f ? 1.0f / static_cast<float>(batch) : 0.0f;
  }
  Tensor means = batched_matmul(weights, Tensor::from_values(Shape{batch, L, 1}, mean_weights));  // mean_i w_j: [B, K, 1]
  Tensor spread_out = batched_matmul(means, Tensor::from_values(Shape{batch, 1, L}, real));      // [B, K, L]
  Tensor centred = mul(sub(weights, spread_out), Tensor::from_values(Shape{batch, K, L}, real_pairs));  // 0 past n_u
  Tensor spread = sum(mul(centred, centred), 2);  // v: [B, K]
  return sum_all(mul(mul(spread, spread), Tensor::from_values(Shape{batch, K}, interest_weights)));
}

CapsuleRouting::CapsuleRouting(int64_t width, const RoutingOptions& options, Rng& rng) : options_(options) {
  if (options.interest_count < 1) throw std::invalid_argument("routing: interest count K must be at least 1");
  if (options.max_length < 1) throw std::invalid_argument("routing: max length L must be at least 1");
  if (options.iterations < 1) throw std::invalid_argument("routing: iterations R must be at least 1");
  const int64_t K = options.interest_count;
  bilinear = options.per_interest_maps ? glorot_uniform(Shape{K, width, width}, rng)
                                       : glorot_uniform(Shape{width, width}, rng);
  bilinear.make_parameter("routing.bilinear.weight");
  initial_logits = normal_tensor(Shape{K, options.max_length}, 1.0, rng);
  initial_logits.node()->name = "routing.logits";  // stored in checkpoints, never trained
}

namespace {

// z_j = Σ_i w_ij û_i for every user and interest → [B, K, d]
Tensor weighted_sum(const Tensor& weights, const Tensor& predictions, bool per_interest,
                    int64_t batch, int64_t K, int64_t L, int64_t d) {
  if (!per_interest) return batched_matmul(weights, predictions);  // [B, K, L] × [B, L, d]
  // One [1, L] × [L, d] product per (user, interest): û_ij differs per interest.
  Tensor rows = reshape(weights, Shape{batch * K, 1, L});
  return reshape(batched_matmul(rows, predictions), Shape{batch, K, d});
}

// agreement_ij = c_j · û_i → [B, K, L]
Tensor agreement(const Tensor& capsules, const Tensor& predictions, bool per_interest,
                 int64_t batch, int64_t K, int64_t L, int64_t d) {
  if (!per_interest) return batched_matmul(capsules, predictions, false, true);  // [B,K,d] × [B,L,d]ᵀ
  Tensor rows = reshape(capsules, Shape{batch * K, 1, d});
  return reshape(batched_matmul(rows, predictions, false, true), Shape{batch, K, L});
}

}  // namespace

RoutingOutput CapsuleRouting::forward_composed(const Tensor& history, const std::vector<int32_t>& lengths, Rng* rng) const {
  const int64_t batch = history.size(0), L = history.size(1), d = history.size(2);
  const int64_t K = options_.interest_count;
  if (L != options_.max_length || static_cast<int64_t>(lengths.size()) != batch)
    throw std::invalid_argument("routing: history " + history.shape().to_string() + " with " +
                                std::to_string(lengths.size()) + " lengths does not match L = " +
                                std::to_string(options_.max_length));
  const bool per_interest = options_.per_interest_maps;
  RoutingOutput output;

  // Predictions û_i = S e_i (as rows: û = e Sᵀ).
  if (!per_interest) {
    output.predictions = linear(history, bilinear, Tensor());  // [B, L, d]
  } else {
    // All K maps at once: [B, L, K·d], then interest-major [B, K, L, d] → [B·K, L, d]
    Tensor stacked = linear(history, reshape(bilinear, Shape{K * d, d}), Tensor());
    Tensor by_interest = swap_axes(reshape(stacked, Shape{batch, L, K, d}), 1, 2);
    output.predictions = reshape(by_interest, Shape{batch * K, L, d});
  }

  // Which (interest, position) pairs take part: real positions i < n_u, live interests j < K'_u.
  std::vector<float> interest_live(batch * K, 0.0f);  // [B, K]
  std::vector<float> pair_live(batch * K * L, 0.0f);  // [B, K, L]
  for (int64_t b = 0; b < batch; ++b) {
    const int64_t live = live_interest_count(lengths[b], K, options_.dynamic_interest_count);
    for (int64_t j = 0; j < live; ++j) {
      interest_live[b * K + j] = 1.0f;
      for (int64_t i = 0; i < lengths[b]; ++i) pair_live[(b * K + j) * L + i] = 1.0f;
    }
  }
  output.interest_mask = Tensor::from_values(Shape{batch, K}, interest_live);
  const Tensor mask = Tensor::from_values(Shape{batch, K, L}, pair_live);

  // Initial logits b⁰ [B, K, L]: the stored [K, L] for every user, or fresh N(0, 1) draws.
  Tensor routing_logits;
  if (options_.fresh_logits) {
    if (rng == nullptr) throw std::invalid_argument("routing: fresh_logits needs a random generator");
    routing_logits = normal_tensor(Shape{batch, K, L}, 1.0, *rng);
  } else {
    routing_logits = add(Tensor::zeros(Shape{batch, K, L}), initial_logits);
  }

  // By default the logit updates are constants within a step: no gradient through them.
  const Tensor predictions_for_update = options_.stop_gradient ? output.predictions.detach() : output.predictions;
  const int softmax_axis = options_.softmax == RoutingSoftmax::over_interests ? 1 : 2;
  for (int64_t iteration = 0; iteration < options_.iterations; ++iteration) {
    Tensor weights = softmax(routing_logits, softmax_axis, mask);  // w: [B, K, L]
    output.routing_weights.push_back(weights);
    Tensor interest_sums = weighted_sum(weights, output.predictions, per_interest, batch, K, L, d);  // z: [B, K, d]
    output.capsules = squash(interest_sums, options_.squash_power, options_.squash_eps);         // c: [B, K, d]
    if (iteration + 1 == options_.iterations) break;
    const Tensor capsules_for_update = options_.stop_gradient ? output.capsules.detach() : output.capsules;
    routing_logits = add(routing_logits, agreement(capsules_for_update, predictions_for_update,
                                                   per_interest, batch, K, L, d));  // b += c·û
  }
  return output;
}

// ---- the fused routing (the default: one S, stop-gradient) -------------------------------------

namespace {

// Softmax of one user's routing logits [K, L] over the live pairs (interest j < live, position
// i < length); every other weight is 0. The same arithmetic, in the same order, as softmax() with
// the pair mask in forward_composed.
void routing_softmax(const float* logits, float* weights, int64_t K, int64_t L, int64_t live, int64_t length,
                     RoutingSoftmax over) {
  for (int64_t index = 0; index < K * L; ++index) weights[index] = 0.0f;
  const int64_t slices = over == RoutingSoftmax::over_interests ? length : live;  // a column i, or a row j
  const int64_t entries = over == RoutingSoftmax::over_interests ? live : length;
  for (int64_t slice = 0; slice < slices; ++slice) {
    // Entry e of this slice sits at logits[at(e)]: (j = e, i = slice) or (j = slice, i = e).
    auto at = [&](int64_t entry) {
      return over == RoutingSoftmax::over_interests ? entry * L + slice : slice * L + entry;
    };
    float largest = -std::numeric_limits<float>::infinity();
    for (int64_t entry = 0; entry < entries; ++entry) largest = std::max(largest, logits[at(entry)]);
    float total = 0.0f;
    for (int64_t entry = 0; entry < entries; ++entry) {
      weights[at(entry)] = std::exp(logits[at(entry)] - largest);
      total += weights[at(entry)];
    }
    const float inverse = total > 0.0f ? 1.0f / total : 0.0f;
    for (int64_t entry = 0; entry < entries; ++entry) weights[at(entry)] *= inverse;
  }
}

}  // namespace

// The R rounds for every user as one op. Users are independent, so threads share them out and
// each user's numbers are the same on any thread count. Per user (û: [L, d], b: [K, L]):
//   w = softmax(b) over the live pairs;  z = w û;  c = squash(z);  b += c ûᵀ   (R times, no b update after the last)
// With stop-gradient routing the weights are constants, so only the last round carries gradient:
//   dz_j = squash'(z_j)ᵀ dc_j,   dû += wᵀ dz.
RoutingOutput CapsuleRouting::forward(const Tensor& history, const std::vector<int32_t>& lengths, Rng* rng) const {
  if (!options_.stop_gradient || options_.per_interest_maps) return forward_composed(history, lengths, rng);
  const int64_t batch = history.size(0), L = history.size(1), d = history.size(2);
  const int64_t K = options_.interest_count, R = options_.iterations;
  if (L != options_.max_length || static_cast<int64_t>(lengths.size()) != batch)
    throw std::invalid_argument("routing: history " + history.shape().to_string() + " with " +
                                std::to_string(lengths.size()) + " lengths does not match L = " +
                                std::to_string(options_.max_length));
  RoutingOutput output;
  output.predictions = linear(history, bilinear, Tensor());  // û = e Sᵀ: [B, L, d]

  std::vector<int64_t> live_counts(batch);  // K'_u
  std::vector<float> interest_live(batch * K, 0.0f);  // [B, K]
  for (int64_t b = 0; b < batch; ++b) {
    live_counts[b] = live_interest_count(lengths[b], K, options_.dynamic_interest_count);
    for (int64_t j = 0; j < live_counts[b]; ++j) interest_live[b * K + j] = 1.0f;
  }
  output.interest_mask = Tensor::from_values(Shape{batch, K}, interest_live);

  // b⁰: the stored [K, L] for every user, or fresh N(0, 1) draws [B, K, L] (drawn as forward_composed does).
  Tensor fresh_logits;
  if (options_.fresh_logits) {
    if (rng == nullptr) throw std::invalid_argument("routing: fresh_logits needs a random generator");
    fresh_logits = normal_tensor(Shape{batch, K, L}, 1.0, *rng);
  }
  for (int64_t iteration = 0; iteration < R; ++iteration)
    output.routing_weights.push_back(make_result("routing_weights", Shape{batch, K, L}, {}));  // w: [B, K, L]
  output.capsules = make_result("capsule_routing", Shape{batch, K, d}, {output.predictions});  // c: [B, K, d]
  auto sums = std::make_shared<Buffer>(Buffer::uninitialized(batch * K * d));  // z of the last round: [B, K, d]

  const float* predictions = output.predictions.data();
  std::vector<float*> weights(R);
  for (int64_t iteration = 0; iteration < R; ++iteration) weights[iteration] = output.routing_weights[iteration].data();
  float* capsules = output.capsules.data();
  const float power = options_.squash_power, eps = options_.squash_eps;
  Buffer routing_logits = Buffer::uninitialized(batch * K * L);  // every user's b as it is updated: [B, K, L]
  parallel_for(batch, batch >= 2, [&](int64_t b) {
    const float* user_predictions = predictions + b * L * d;  // [L, d]
    const float* initial = options_.fresh_logits ? fresh_logits.data() + b * K * L : initial_logits.data();
    float* user_logits = routing_logits.data() + b * K * L;  // [K, L]
    std::copy(initial, initial + K * L, user_logits);
    float* user_sums = sums->data() + b * K * d;   // [K, d]
    float* user_capsules = capsules + b * K * d;   // [K, d]
    for (int64_t iteration = 0; iteration < R; ++iteration) {
      float* w = weights[iteration] + b * K * L;   // [K, L]
      routing_softmax(user_logits, w, K, L, live_counts[b], lengths[b], options_.softmax);
      kernels::gemm(false, false, K, d, L, 1.0f, w, L, user_predictions, d, 0.0f, user_sums, d);  // z = w û
      for (int64_t j = 0; j < K; ++j) squash_row(user_sums + j * d, user_capsules + j * d, d, power, eps);
      if (iteration + 1 < R)  // b += c ûᵀ
        kernels::gemm(false, true, K, L, d, 1.0f, user_capsules, d, user_predictions, d, 1.0f, user_logits, L);
    }
  });
  if (output.capsules.requires_grad())
    output.capsules.node()->backward = [sums, last_weights = output.routing_weights.back(), K, L, d, power, eps](Node& c) {
      const GradientTarget dpredictions = gradient_to_overwrite(*c.parents[0]);  // dû: [B, L, d]
      if (dpredictions.data == nullptr) return;
      const int64_t batch = c.shape.dims[0];
      const float* dc = c.grad.data();
      Buffer dz = Buffer::zeros(batch * K * d);  // every user's dz: [B, K, d]
      parallel_for(batch, batch >= 2, [&](int64_t b) {
        float* user_dz = dz.data() + b * K * d;  // [K, d]
        for (int64_t j = 0; j < K; ++j)
          squash_row_backward(sums->data() + (b * K + j) * d, dc + (b * K + j) * d, user_dz + j * d, d, power, eps);
        kernels::gemm(true, false, L, d, K, 1.0f, last_weights.data() + b * K * L, L, user_dz, d,
                      dpredictions.beta(), dpredictions.data + b * L * d, d);  // dû += wᵀ dz
      });
    };
  return output;
}

}  // namespace mind::nn
