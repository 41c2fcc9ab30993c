// What the nn layers compute, by value: routing separates two clusters of behaviours, dynamic K
// kills the right interests, the sampler draws Q, the sampled softmax converges as M grows,
// label-aware attention picks and weights interests, and the small layers give hand-worked
// numbers. Their gradients are checked in test_layer_gradients.cpp.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "autograd/ops.h"
#include "layer_test_helpers.h"
#include "nn/capsule_routing.h"
#include "nn/embedding.h"
#include "nn/label_aware_attention.h"
#include "nn/linear.h"
#include "nn/sampled_softmax.h"
#include "test_helpers.h"

using namespace mind;
using mind::testing::check_close;
using mind::testing::padded_history;
using mind::testing::random_tensor;

namespace {

double length(const float* a, int64_t width) {
  double squared = 0.0;
  for (int64_t k = 0; k < width; ++k) squared += static_cast<double>(a[k]) * a[k];
  return std::sqrt(squared);
}

// Cosine of two vectors of `width` floats.
double cosine(const float* a, const float* b, int64_t width) {
  double dot = 0.0, norm_a = 0.0, norm_b = 0.0;
  for (int64_t k = 0; k < width; ++k) {
    dot += static_cast<double>(a[k]) * b[k];
    norm_a += static_cast<double>(a[k]) * a[k];
    norm_b += static_cast<double>(b[k]) * b[k];
  }
  return dot / std::sqrt(norm_a * norm_b);
}

// Two clusters of 4 behaviours each, interleaved A, B, A, B, …: A near 5·x̂, B near 5·ŷ (the
// first two axes of d = 4), each coordinate nudged by up to ±0.1. [1, 8, 4]
Tensor two_cluster_history() {
  Rng rng(99);
  std::vector<float> values(8 * 4);
  for (int64_t i = 0; i < 8; ++i) {
    for (int64_t k = 0; k < 4; ++k) values[i * 4 + k] = static_cast<float>(0.1 * (2.0 * rng.uniform() - 1.0));
    values[i * 4 + (i % 2)] += 5.0f;  // even positions: cluster A (axis 0); odd: cluster B (axis 1)
  }
  return Tensor::from_values(Shape{1, 8, 4}, values);
}

// Routing with K = 2, fixed K, R = 3, softmax over interests, and S = identity so û = e.
nn::CapsuleRouting two_interest_routing(uint64_t seed) {
  nn::RoutingOptions options;
  options.interest_count = 2;
  options.max_length = 8;
  options.iterations = 3;
  options.dynamic_interest_count = false;
  Rng rng(seed);
  nn::CapsuleRouting routing(4, options, rng);
  for (int64_t row = 0; row < 4; ++row)
    for (int64_t column = 0; column < 4; ++column) routing.bilinear.data()[row * 4 + column] = row == column ? 1.0f : 0.0f;
  return routing;
}

// The M → ∞ limit of the sampled loss as docs/design.md §2 defines it (the target's logit corrected by
// −log(M·Q(t)) too): the negatives' corrected sum Σ_m e^{s_m}/(M·Q(x_m)) over non-hits tends to
// Σ_{x≠t} e^{s_x}, so the loss tends to −log(a / (a + Σ_{x≠t} e^{s_x})), a = e^{s_t}/(M·Q(t)).
double sampled_loss_limit(const Tensor& scores, const std::vector<int32_t>& targets, int64_t negative_count,
                          const nn::LogUniformSampler& sampler) {
  const int64_t batch = scores.size(0), item_count = scores.size(1);
  double total = 0.0;
  for (int64_t b = 0; b < batch; ++b) {
    const double target_term = std::exp(scores.data()[b * item_count + targets[b]]) /
                               (static_cast<double>(negative_count) * sampler.probability(targets[b]));
    double others = 0.0;
    for (int64_t x = 0; x < item_count; ++x)
      if (x != targets[b]) others += std::exp(scores.data()[b * item_count + x]);
    total += -std::log(target_term / (target_term + others));
  }
  return total / static_cast<double>(batch);
}

}  // namespace

// ---- routing --------------------------------------------------------------------------------------

TEST_CASE("layer behaviour: routing puts two well-separated clusters on two different interests") {
  // The symmetry between the two interests is broken only by the initial logits b⁰, the
  // N(0, 1) draws stored at construction: they give the interests different first mixtures,
  // and every round of agreement (b_ij += c_j · û_i) amplifies the difference. With |û| = 5 one
  // round of agreement moves a logit by up to ~5, outweighing b⁰'s spread, so R = 3 suffices:
  // 34 of the seeds 1..40 separate the clusters this way; a seed fails when b⁰ happens to give
  // both interests almost the same mixture of A and B. Seed 1 separates them decisively (every
  // behaviour puts ≥ 0.99 of its weight on one interest).
  const nn::CapsuleRouting routing = two_interest_routing(1);
  const Tensor history = two_cluster_history();
  NoGrad no_grad;
  const nn::RoutingOutput routed = routing.forward(history, {8});
  const std::vector<float> weights = routed.routing_weights.back().values();  // [1, K = 2, L = 8]
  const std::vector<float> capsules = routed.capsules.values();               // [1, 2, 4]

  const int64_t interest_of_a = weights[0 * 8 + 0] > weights[1 * 8 + 0] ? 0 : 1;  // behaviour 0 is in A
  const int64_t interest_of_b = 1 - interest_of_a;
  for (int64_t i = 0; i < 8; ++i) {
    const int64_t wanted = i % 2 == 0 ? interest_of_a : interest_of_b;
    INFO("behaviour " << i << ": weights " << weights[i] << " on interest 0, " << weights[8 + i] << " on interest 1");
    CHECK(weights[wanted * 8 + i] > 0.9f);
    CHECK(weights[wanted * 8 + i] + weights[(1 - wanted) * 8 + i] == doctest::Approx(1.0));  // a softmax over interests
  }

  // Each capsule points along its cluster's mean.
  std::vector<float> mean_a(4, 0.0f), mean_b(4, 0.0f);
  for (int64_t i = 0; i < 8; ++i)
    for (int64_t k = 0; k < 4; ++k) (i % 2 == 0 ? mean_a : mean_b)[k] += history.data()[i * 4 + k] / 4.0f;
  CHECK(cosine(&capsules[interest_of_a * 4], mean_a.data(), 4) > 0.9);
  CHECK(cosine(&capsules[interest_of_b * 4], mean_b.data(), 4) > 0.9);
  // And squash keeps them below unit length but, for |z| ≈ 20, very close to it.
  for (int64_t j = 0; j < 2; ++j) {
    CHECK(length(&capsules[j * 4], 4) < 1.0);
    CHECK(length(&capsules[j * 4], 4) > 0.99);
  }
}

TEST_CASE("layer behaviour: with equal initial logits routing never breaks the symmetry") {
  // b⁰ = 0: every behaviour splits 1/2, 1/2, so both capsules are the same vector, both agree
  // equally with every behaviour, and the logits stay equal round after round.
  nn::CapsuleRouting routing = two_interest_routing(1);
  for (int64_t i = 0; i < routing.initial_logits.numel(); ++i) routing.initial_logits.data()[i] = 0.0f;
  NoGrad no_grad;
  const nn::RoutingOutput routed = routing.forward(two_cluster_history(), {8});
  for (const Tensor& weights : routed.routing_weights)
    for (float weight : weights.values()) CHECK(weight == doctest::Approx(0.5).epsilon(1e-6));
  const std::vector<float> capsules = routed.capsules.values();  // [1, 2, 4]
  check_close(std::vector<float>(capsules.begin(), capsules.begin() + 4),
              std::vector<float>(capsules.begin() + 4, capsules.end()), 1e-6);
}

TEST_CASE("layer behaviour: dynamic K gives max(1, min(K, floor(log2 n))) live interests") {
  // n → K'_u for K = 4, worked out by hand.
  const std::vector<std::pair<int64_t, int64_t>> table = {
      {1, 1}, {2, 1}, {3, 1}, {4, 2}, {5, 2}, {7, 2}, {8, 3}, {9, 3}, {15, 3}, {16, 4}, {17, 4}, {20, 4}};
  for (const auto& [length, live] : table) {
    INFO("n = " << length);
    CHECK(nn::live_interest_count(length, 4, true) == live);
    CHECK(nn::live_interest_count(length, 4, false) == 4);  // fixed K
  }
  for (int64_t length = 1; length <= 20; ++length) {
    const int64_t floor_log2 = static_cast<int64_t>(std::floor(std::log2(static_cast<double>(length))));
    CHECK(nn::live_interest_count(length, 4, true) == std::max<int64_t>(1, std::min<int64_t>(4, floor_log2)));
  }
}

TEST_CASE("layer behaviour: dead interests' capsules are exactly zero and live ones are not") {
  const std::vector<int32_t> lengths = {1, 2, 3, 4, 7, 8, 15, 16, 20};
  const std::vector<int64_t> live_counts = {1, 1, 1, 2, 2, 3, 3, 4, 4};
  for (nn::RoutingSoftmax softmax : {nn::RoutingSoftmax::over_interests, nn::RoutingSoftmax::over_behaviours}) {
    nn::RoutingOptions options;
    options.interest_count = 4;
    options.max_length = 20;
    options.softmax = softmax;
    Rng rng(5);
    const nn::CapsuleRouting routing(3, options, rng);
    const Tensor history = padded_history(20, 3, lengths, rng);  // [9, 20, 3]
    NoGrad no_grad;
    const nn::RoutingOutput routed = routing.forward(history, lengths);
    for (size_t b = 0; b < lengths.size(); ++b)
      for (int64_t j = 0; j < 4; ++j) {
        const bool live = j < live_counts[b];
        INFO("user " << b << " (n = " << lengths[b] << "), interest " << j);
        CHECK(routed.interest_mask.data()[b * 4 + j] == (live ? 1.0f : 0.0f));
        double squared_norm = 0.0;
        for (int64_t k = 0; k < 3; ++k) {
          const float value = routed.capsules.data()[(b * 4 + j) * 3 + k];
          if (!live) CHECK(value == 0.0f);
          squared_norm += static_cast<double>(value) * value;
        }
        if (live) CHECK(squared_norm > 1e-6);
        // A dead interest takes no routing weight anywhere; padding positions take none either.
        for (int64_t i = 0; i < 20; ++i)
          if (!live || i >= lengths[b]) CHECK(routed.routing_weights.back().data()[(b * 4 + j) * 20 + i] == 0.0f);
      }
  }
}

// ---- the sampler and the losses --------------------------------------------------------------------

TEST_CASE("layer behaviour: LogUniformSampler draws ranks with probability Q(r), deterministically") {
  const nn::LogUniformSampler sampler(1000);
  // Q telescopes: Σ_r log((r+2)/(r+1)) = log(N+1), so Σ Q = 1.
  double total = 0.0;
  for (int64_t rank = 0; rank < 1000; ++rank) total += sampler.probability(rank);
  CHECK(total == doctest::Approx(1.0).epsilon(1e-12));
  CHECK(sampler.probability(0) == doctest::Approx(std::log(2.0) / std::log(1001.0)));

  Rng rng(2024);
  const std::vector<int32_t> draws = sampler.sample(200000, rng);
  std::vector<int64_t> counts(1000, 0);
  int64_t out_of_range = 0;
  for (int32_t rank : draws) {
    if (rank < 0 || rank >= 1000) ++out_of_range;
    else ++counts[rank];
  }
  REQUIRE(out_of_range == 0);
  // Ranks 0..9 hold 20 000 (rank 0) down to 2 760 (rank 9) expected draws: a binomial's standard
  // deviation is at most 1.9% of that, so 5% is over 2.6 standard deviations for every rank.
  for (int64_t rank = 0; rank < 10; ++rank) {
    const double frequency = static_cast<double>(counts[rank]) / 200000.0;
    INFO("rank " << rank << ": frequency " << frequency << " vs Q " << sampler.probability(rank));
    CHECK(frequency == doctest::Approx(sampler.probability(rank)).epsilon(0.05));
  }

  Rng same(2024), other(2025);
  CHECK(sampler.sample(200000, same) == draws);
  CHECK(sampler.sample(1000, other) != std::vector<int32_t>(draws.begin(), draws.begin() + 1000));
}

TEST_CASE("layer behaviour: sampled softmax logits carry the log-Q correction and remove accidental hits") {
  // N = 3, M = 2 negatives {0, 2}, one user (d = 1) u = 1 whose target is item 0 with e_0 = 2, e_2 = 3.
  // Q(0) = log 2 / log 4 = 1/2, so M·Q(0) = 1 and the target's logit is s_t = 2.
  // Q(2) = log(4/3) / log 4 = 0.2075187, log(M·Q(2)) = −0.8793864, logit 3 + 0.8793864.
  // Negative 0 is the target itself: removed (−∞).  Loss = log(1 + e^{3.8793864 − 2}) = 2.0214793.
  const nn::LogUniformSampler sampler(3);
  const Tensor user = Tensor::from_values(Shape{1, 1}, {1.0f});
  const Tensor target = Tensor::from_values(Shape{1, 1}, {2.0f});
  const Tensor negatives = Tensor::from_values(Shape{2, 1}, {2.0f, 3.0f});  // e_0, e_2
  NoGrad no_grad;
  const nn::SampledSoftmaxOutput output = nn::sampled_softmax_loss(user, target, {0}, negatives, {0, 2}, sampler);
  const std::vector<float> logits = output.logits.values();  // [1, 3]
  CHECK(logits[0] == doctest::Approx(2.0));
  CHECK(logits[1] == -std::numeric_limits<float>::infinity());
  CHECK(logits[2] == doctest::Approx(3.8793864));
  CHECK(output.loss.item() == doctest::Approx(2.0214793));
}

TEST_CASE("layer behaviour: hard-negative weights exp(beta*s), normalised over the kept negatives, keep log-Q") {
  // N = 3, M = 3 negatives {0, 1, 2}, u = 1 (d = 1), target item 0: e_0 = 2, e_1 = 1, e_2 = 3.
  // Q = (0.5, 0.2924813, 0.2075187); the target's logit is 2 − log(3·0.5) = 1.5945349.
  // Negative 0 is the target: removed, so M' = 2 and, with β = 1, a = softmax(1, 3) =
  // (0.1192029, 0.8807971) and log w = log 2 + log a = (−1.4337808, 0.5662192). The logits:
  //   item 1: 1 − log(3·0.2924813) + log w_1 = −0.3030384
  //   item 2: 3 − log(3·0.2075187) + log w_2 = 4.0401405
  // Loss = log(1 + e^{−0.3030384 − 1.5945349} + e^{4.0401405 − 1.5945349}) = 2.5406146, above the
  // plain loss 2.1014940 (β = 0): the hard negative (item 2) now weighs 1.76 instead of 1.
  const nn::LogUniformSampler sampler(3);
  const Tensor user = Tensor::from_values(Shape{1, 1}, {1.0f});
  const Tensor target = Tensor::from_values(Shape{1, 1}, {2.0f});
  const Tensor negatives = Tensor::from_values(Shape{3, 1}, {2.0f, 1.0f, 3.0f});  // e_0, e_1, e_2
  NoGrad no_grad;
  for (const bool fused : {true, false}) {
    CAPTURE(fused);
    const auto loss = fused ? nn::sampled_softmax_loss : nn::sampled_softmax_loss_reference;
    const nn::SampledSoftmaxOutput hard = loss(user, target, {0}, negatives, {0, 1, 2}, sampler, 1.0f);
    const std::vector<float> logits = hard.logits.values();  // [1, 4]
    CHECK(logits[0] == doctest::Approx(1.5945349));
    CHECK(logits[1] == -std::numeric_limits<float>::infinity());
    CHECK(logits[2] == doctest::Approx(-0.3030384));
    CHECK(logits[3] == doctest::Approx(4.0401405));
    CHECK(hard.loss.item() == doctest::Approx(2.5406146));
    CHECK(loss(user, target, {0}, negatives, {0, 1, 2}, sampler, 0.0f).loss.item() == doctest::Approx(2.1014940));
  }
  CHECK_THROWS_AS(nn::sampled_softmax_loss(user, target, {0}, negatives, {0, 1, 2}, sampler, -1.0f), std::invalid_argument);
}

TEST_CASE("layer behaviour: sampled softmax converges to its M → infinity limit as M grows") {
  // N = 50 items, 16 users, d = 8, values uniform in [-1, 1); each M averaged over seeds 1..5.
  // Measured: mean |sampled − limit| = 0.0073 with M = 20000 and 0.246 with M = 5.
  Rng rng(1);
  const Tensor users = random_tensor(Shape{16, 8}, rng, false);  // [B, d]
  const Tensor items = random_tensor(Shape{50, 8}, rng, false);  // [N, d]
  std::vector<int32_t> targets(16);
  for (int32_t& target : targets) target = static_cast<int32_t>(rng.below(50));
  const nn::LogUniformSampler sampler(50);
  NoGrad no_grad;
  const Tensor scores = matmul(users, items, /*transpose_b=*/true);  // [B, N]
  const Tensor target_vectors = gather_rows(items, targets, Shape{16});  // [B, d]
  const double full = nn::full_softmax_loss(users, items, targets).item();

  double mean_error_large = 0.0, mean_error_small = 0.0, mean_distance_from_full = 0.0;
  for (uint64_t seed = 1; seed <= 5; ++seed)
    for (int64_t negative_count : {20000, 5}) {
      Rng sampling_rng(seed);
      const std::vector<int32_t> negatives = sampler.sample(negative_count, sampling_rng);
      const Tensor negative_vectors = gather_rows(items, negatives, Shape{negative_count});  // [M, d]
      const double sampled =
          nn::sampled_softmax_loss(users, target_vectors, targets, negative_vectors, negatives, sampler).loss.item();
      const double error = std::fabs(sampled - sampled_loss_limit(scores, targets, negative_count, sampler)) / 5.0;
      if (negative_count == 20000) {
        mean_error_large += error;
        mean_distance_from_full += std::fabs(sampled - full) / 5.0;
      } else {
        mean_error_small += error;
      }
    }
  INFO("mean |sampled − limit|: " << mean_error_large << " (M = 20000), " << mean_error_small << " (M = 5)");
  CHECK(mean_error_large < 0.05);
  CHECK(mean_error_small > 2.0 * mean_error_large);

  // The limit is not the full softmax loss's *value*: the target's own −log(M·Q(t)) correction
  // (docs/design.md §2, as TensorFlow's sampled_softmax_loss) adds log(M·Q(t)), which grows like log M
  // (measured: 9.59 at M = 20000 against a full loss of 4.20). That offset does not depend on
  // the parameters, so what approaches the full softmax is the *gradient*: checked next.
  INFO("mean |sampled − full| at M = 20000: " << mean_distance_from_full << " (full loss " << full << ")");
  CHECK(mean_distance_from_full > 1.0);
}

TEST_CASE("layer behaviour: the sampled softmax gradient approaches the full softmax gradient as M grows") {
  // Same setting; the gradient with respect to the user vectors, relative L2 distance
  // |g_sampled − g_full| / |g_full|, averaged over seeds 1..5. Measured: 0.024 (M = 20000), 0.57 (M = 5).
  Rng rng(1);
  const std::vector<float> user_values = random_tensor(Shape{16, 8}, rng, false).values();
  const Tensor items = random_tensor(Shape{50, 8}, rng, false);
  std::vector<int32_t> targets(16);
  for (int32_t& target : targets) target = static_cast<int32_t>(rng.below(50));
  const nn::LogUniformSampler sampler(50);
  const Tensor target_vectors = gather_rows(items, targets, Shape{16});
  auto user_gradient = [&](int64_t negative_count, uint64_t seed) {
    Tensor users = Tensor::from_values(Shape{16, 8}, user_values, true);
    if (negative_count == 0) {
      nn::full_softmax_loss(users, items, targets).backward();
    } else {
      Rng sampling_rng(seed);
      const std::vector<int32_t> negatives = sampler.sample(negative_count, sampling_rng);
      const Tensor negative_vectors = gather_rows(items, negatives, Shape{negative_count});
      nn::sampled_softmax_loss(users, target_vectors, targets, negative_vectors, negatives, sampler).loss.backward();
    }
    return users.grad_values();
  };
  const std::vector<float> full = user_gradient(0, 0);
  auto relative_distance = [&](const std::vector<float>& gradient) {
    double difference = 0.0, norm = 0.0;
    for (size_t i = 0; i < full.size(); ++i) {
      difference += (gradient[i] - full[i]) * (gradient[i] - full[i]);
      norm += full[i] * full[i];
    }
    return std::sqrt(difference / norm);
  };
  double large = 0.0, small = 0.0;
  for (uint64_t seed = 1; seed <= 5; ++seed) {
    large += relative_distance(user_gradient(20000, seed)) / 5.0;
    small += relative_distance(user_gradient(5, seed)) / 5.0;
  }
  INFO("relative gradient distance: " << large << " (M = 20000), " << small << " (M = 5)");
  CHECK(large < 0.1);
  CHECK(small > 3.0 * large);
}

TEST_CASE("layer behaviour: interest-similarity penalty averages the cosines of live pairs only") {
  // One user, K = 3, interest 2 dead: P = (1/2²)(cos00 + cos01 + cos10 + cos11)
  //   = (1 + 1/√2 + 1/√2 + 1) / 4 = 0.8535534 for v0 = (1, 0), v1 = (1, 1).
  const Tensor interests = Tensor::from_values(Shape{1, 3, 2}, {1, 0, 1, 1, -5, 7});
  const Tensor mask = Tensor::from_values(Shape{1, 3}, {1, 1, 0});
  CHECK(nn::interest_similarity_penalty(interests, mask).item() == doctest::Approx(0.8535534));
}

// ---- label-aware attention --------------------------------------------------------------------------

TEST_CASE("layer behaviour: hard attention picks the best live interest and trains only that one") {
  // Scores v_j · e_t: user 0 (target (1, 0, 0)) 0.5, 2.0, 3.0 with interest 2 dead, so interest
  // 1 is picked although the dead one scores higher; user 1 (target (0, 1, 1)) 1.0, −1.0, 3.0.
  Tensor interests = Tensor::from_values(Shape{2, 3, 3}, {0.5f, 0.2f, -0.1f,
                                                          2.0f, -0.3f, 0.4f,
                                                          3.0f, 0.1f, 0.2f,
                                                          0.1f, 0.5f, 0.5f,
                                                          0.3f, -0.5f, -0.5f,
                                                          1.0f, 2.0f, 1.0f}, true);  // [B, K, d]
  Tensor targets = Tensor::from_values(Shape{2, 3}, {1, 0, 0, 0, 1, 1}, true);     // [B, d]
  const Tensor mask = Tensor::from_values(Shape{2, 3}, {1, 1, 0, 1, 1, 1});
  const nn::AttentionOutput output = nn::label_aware_attention(interests, targets, mask, {});
  check_close(output.scores.values(), {0.5f, 2.0f, 0.0f, 1.0f, -1.0f, 3.0f});  // dead score shown as 0
  check_close(output.user_vector.values(), {2.0f, -0.3f, 0.4f, 1.0f, 2.0f, 1.0f});

  // L = Σ g·v_u: the picked interest's gradient is g, every other interest's exactly 0, and the
  // target gets none (the choice of an argmax has no derivative).
  const std::vector<float> upstream = {1, 2, 3, 4, 5, 6};
  sum_all(mul(output.user_vector, Tensor::from_values(Shape{2, 3}, upstream))).backward();
  check_close(interests.grad_values(), {0, 0, 0,  1, 2, 3,  0, 0, 0,
                                        0, 0, 0,  0, 0, 0,  4, 5, 6}, 0.0);
  check_close(targets.grad_values(), {0, 0, 0, 0, 0, 0}, 0.0);
}

TEST_CASE("layer behaviour: sampled interest selection draws live interests by softmax of their scores") {
  // Scores (1, 2, ·) with interest 2 dead: P(0) = 0.2689414, P(1) = 0.7310586, P(2) = 0. Over
  // 20 000 draws the share of interest 0 lies within 4 standard deviations (0.0125) of P(0).
  const Tensor scores = Tensor::from_values(Shape{1, 3}, {1.0f, 2.0f, 50.0f});
  const Tensor mask = Tensor::from_values(Shape{1, 3}, {1, 1, 0});
  Rng rng(31);
  int64_t counts[3] = {0, 0, 0};
  const int64_t draws = 20000;
  for (int64_t draw = 0; draw < draws; ++draw) ++counts[nn::sample_interests(scores, mask, rng)[0]];
  CHECK(counts[2] == 0);
  CHECK(std::fabs(static_cast<double>(counts[0]) / draws - 0.2689414) < 0.0125);
  // The same seed gives the same choices, one draw per row in row order.
  const Tensor two_rows = Tensor::from_values(Shape{2, 3}, {1.0f, 2.0f, 0.0f, 0.5f, 0.5f, 0.5f});
  const Tensor all_live = Tensor::from_values(Shape{2, 3}, {1, 1, 1, 1, 1, 1});
  Rng first(7), second(7);
  CHECK(nn::sample_interests(two_rows, all_live, first) == nn::sample_interests(two_rows, all_live, second));

  // In label-aware attention: the drawn interest is the user vector and alone gets the gradient.
  Tensor interests = Tensor::from_values(Shape{1, 3, 2}, {1, 0, 0, 2, 9, 9}, true);  // s = (1, 2, dead)
  const Tensor target = Tensor::from_values(Shape{1, 2}, {1, 1});
  nn::AttentionOptions options;
  options.sample = true;
  Rng attention_rng(3), replay(3);
  const int32_t expected = nn::sample_interests(Tensor::from_values(Shape{1, 3}, {1, 2, 18}), mask, replay)[0];
  const nn::AttentionOutput output = nn::label_aware_attention(interests, target, mask, options, &attention_rng);
  check_close(output.user_vector.values(), expected == 0 ? std::vector<float>{1, 0} : std::vector<float>{0, 2});
  sum_all(output.user_vector).backward();
  std::vector<float> gradient(6, 0.0f);
  gradient[expected * 2] = gradient[expected * 2 + 1] = 1.0f;
  check_close(interests.grad_values(), gradient, 0.0);
  CHECK_THROWS_AS(nn::label_aware_attention(interests, target, mask, options, nullptr), std::invalid_argument);
}

TEST_CASE("layer behaviour: the routing-spread penalty is 0 for even weights and squares each interest's spread") {
  // One user, n = 4 of L = 5 positions real, K = 2 with both live:
  //   interest 0: (1, 0, 0, 0 | 0.7)  mean 0.25, spread v = 0.5625 + 3·0.0625 = 0.75 (position 4 is padding)
  //   interest 1: (0.25, 0.25, 0.25, 0.25 | 0.9) spread 0
  // R = (0.75² + 0²) / B = 0.5625. With interest 0 dead, R = 0.
  const Tensor weights = Tensor::from_values(Shape{1, 2, 5}, {1, 0, 0, 0, 0.7f, 0.25f, 0.25f, 0.25f, 0.25f, 0.9f});
  NoGrad no_grad;
  CHECK(nn::routing_spread_penalty(weights, {4}, Tensor::from_values(Shape{1, 2}, {1, 1})).item() == doctest::Approx(0.5625));
  CHECK(nn::routing_spread_penalty(weights, {4}, Tensor::from_values(Shape{1, 2}, {0, 1})).item() == doctest::Approx(0.0));
  // Two users: the mean over the batch.
  const Tensor both = Tensor::from_values(Shape{2, 2, 5}, {1, 0, 0, 0, 0.7f, 0.25f, 0.25f, 0.25f, 0.25f, 0.9f,
                                                           1, 0, 0, 0, 0.7f, 0.25f, 0.25f, 0.25f, 0.25f, 0.9f});
  CHECK(nn::routing_spread_penalty(both, {4, 4}, Tensor::from_values(Shape{2, 2}, {1, 1, 0, 1})).item() ==
        doctest::Approx(0.28125));
}

TEST_CASE("layer behaviour: soft attention weights interests by softmax of signed powers of the scores") {
  // v0 = (1, 0), v1 = (0, 2), e_t = (1, 1): s = (1, 2); a dead v2 = (9, 9) scores 18 but takes no weight.
  //   p = 1: a = softmax(1, 2) = (0.2689414, 0.7310586), v_u = (0.2689414, 1.4621172)
  //   p = 2: a = softmax(1, 4) = (0.0474259, 0.9525741), v_u = (0.0474259, 1.9051483)
  const Tensor interests = Tensor::from_values(Shape{1, 3, 2}, {1, 0, 0, 2, 9, 9});
  const Tensor target = Tensor::from_values(Shape{1, 2}, {1, 1});
  const Tensor mask = Tensor::from_values(Shape{1, 3}, {1, 1, 0});
  nn::AttentionOptions options;
  options.hard = false;
  options.power = 1.0f;
  check_close(nn::label_aware_attention(interests, target, mask, options).user_vector.values(), {0.2689414f, 1.4621172f});
  options.power = 2.0f;
  check_close(nn::label_aware_attention(interests, target, mask, options).user_vector.values(), {0.0474259f, 1.9051483f});
  // A negative score keeps its sign under the power: s = −1 with p = 2 counts as −1, not +1.
  const Tensor opposite = Tensor::from_values(Shape{1, 2}, {-1, 0.5f});  // s = (−1, 1)
  // a = softmax(−1, 1) = (0.1192029, 0.8807971), v_u = (0.1192029, 1.7615942)
  check_close(nn::label_aware_attention(interests, opposite, mask, options).user_vector.values(), {0.1192029f, 1.7615942f});
}

// ---- embeddings, linear, MLP ------------------------------------------------------------------------

TEST_CASE("layer behaviour: ItemEmbedding pools the id row with the category rows (mean)") {
  // Items 0, 1, 2 with categories {}, {1}, {0, 1}; E = [[1, 2], [3, 4], [5, 6]], C = [[10, 20], [30, 40]].
  //   item 0: E0 = (1, 2);  item 1: (E1 + C1)/2 = (16.5, 22);  item 2: (E2 + C0 + C1)/3 = (15, 22).
  Rng rng(1);
  nn::ItemEmbedding items(3, 2, 2, {{}, {1}, {0, 1}}, rng);
  const std::vector<float> item_rows = {1, 2, 3, 4, 5, 6}, category_rows = {10, 20, 30, 40};
  std::copy(item_rows.begin(), item_rows.end(), items.items.table.data());
  std::copy(category_rows.begin(), category_rows.end(), items.categories.table.data());
  NoGrad no_grad;
  check_close(items.forward({2, -1, 0, 1}, Shape{2, 2}).values(), {15, 22, 0, 0, 1, 2, 16.5f, 22});  // −1: padding
  check_close(items.all_items().values(), {1, 2, 16.5f, 22, 15, 22});
  CHECK(items.parameters().size() == 2);

  // Without categories an item is its id row.
  nn::ItemEmbedding plain(3, 2, 0, {}, rng);
  std::copy(item_rows.begin(), item_rows.end(), plain.items.table.data());
  check_close(plain.forward({1, -1}, Shape{2}).values(), {3, 4, 0, 0});

  CHECK_THROWS_WITH_AS(nn::ItemEmbedding(2, 2, 2, {{0}, {5}}, rng),
                       "ItemEmbedding: item 1 has category 5 outside [0, 2)", std::out_of_range);
}

TEST_CASE("layer behaviour: ProfileEmbedding concatenates one row per field") {
  Rng rng(2);
  nn::ProfileEmbedding profile({"gender", "age"}, {2, 3}, 2, rng);
  const std::vector<float> gender = {1, 2, 3, 4}, age = {10, 20, 30, 40, 50, 60};
  std::copy(gender.begin(), gender.end(), profile.fields[0].table.data());
  std::copy(age.begin(), age.end(), profile.fields[1].table.data());
  CHECK(profile.output_width() == 4);
  CHECK(profile.fields[1].table.name() == "profile.age.weight");
  NoGrad no_grad;
  // Users (gender 1, age 2) and (gender 0, age 0).
  check_close(profile.forward({1, 2, 0, 0}, 2).values(), {3, 4, 50, 60, 1, 2, 10, 20});
}

TEST_CASE("layer behaviour: Linear and MLP on hand-worked numbers") {
  Rng rng(3);
  // y = x Wᵀ + b with W = [[1, 2, −1], [0.5, −1, 3]], b = (0.1, −0.2):
  //   x = (1, 0, 2)  → (1 − 2 + 0.1, 0.5 + 6 − 0.2)   = (−0.9, 6.3)
  //   x = (−1, 1, 1) → (−1 + 2 − 1 + 0.1, −0.5 − 1 + 3 − 0.2) = (0.1, 1.3)
  nn::Linear layer("layer", 3, 2, rng);
  const double limit = std::sqrt(6.0 / 5.0);  // Glorot: U(−a, a), a = sqrt(6 / (in + out))
  for (float weight : layer.weight.values()) CHECK(std::fabs(weight) <= limit);
  check_close(layer.bias.values(), {0, 0}, 0.0);
  CHECK(layer.weight.name() == "layer.weight");
  const std::vector<float> weight = {1, 2, -1, 0.5f, -1, 3}, bias = {0.1f, -0.2f};
  std::copy(weight.begin(), weight.end(), layer.weight.data());
  std::copy(bias.begin(), bias.end(), layer.bias.data());
  NoGrad no_grad;
  check_close(layer.forward(Tensor::from_values(Shape{2, 3}, {1, 0, 2, -1, 1, 1})).values(), {-0.9f, 6.3f, 0.1f, 1.3f});

  // MLP 2 → 2 → 1: h = ReLU(W1 x + b1), y = W2 h + b2 with W1 = [[1, −1], [2, 1]], b1 = (0, −1),
  // W2 = [[3, −2]], b2 = 0.5 (the output layer has no ReLU: y may be negative).
  //   x = (1, 2):    W1 x + b1 = (−1, 3)     → h = (0, 3) → y = −6 + 0.5 = −5.5
  //   x = (−1, 0.5): (−1.5, −2.5)            → h = (0, 0) → y = 0.5
  //   x = (2, −1):   (3, 2)                  → h = (3, 2) → y = 9 − 4 + 0.5 = 5.5
  nn::MLP mlp("mlp", {2, 2, 1}, rng);
  REQUIRE(mlp.layers.size() == 2);
  CHECK(mlp.layers[1].bias.name() == "mlp.1.bias");
  const std::vector<float> first = {1, -1, 2, 1}, first_bias = {0, -1}, second = {3, -2}, second_bias = {0.5f};
  std::copy(first.begin(), first.end(), mlp.layers[0].weight.data());
  std::copy(first_bias.begin(), first_bias.end(), mlp.layers[0].bias.data());
  std::copy(second.begin(), second.end(), mlp.layers[1].weight.data());
  std::copy(second_bias.begin(), second_bias.end(), mlp.layers[1].bias.data());
  check_close(mlp.forward(Tensor::from_values(Shape{3, 2}, {1, 2, -1, 0.5f, 2, -1})).values(), {-5.5f, 0.5f, 5.5f});
  CHECK_THROWS_AS(nn::MLP("bad", {3}, rng), std::invalid_argument);
}
