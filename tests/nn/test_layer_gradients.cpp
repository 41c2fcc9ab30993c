// Gradient checks of each nn layer as a whole, and of whole models' losses: the backward a
// layer gets by chaining its ops' backwards, against central finite differences of its forward,
// with respect to its parameters AND its inputs (padded histories, dead interests, accidental
// hits included). Single ops are checked in tests/autograd; layer values in test_layer_behaviour.
// Tolerance: the checker's default rule and step (autograd/gradcheck.h: relative 1e-3, absolute
// 1e-5, plus 4 times the float outputs' rounding blur; h = 1e-3). Nothing here needed a looser one.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "autograd/gradcheck.h"
#include "autograd/ops.h"
#include "data/batcher.h"
#include "layer_test_helpers.h"
#include "models/model.h"
#include "nn/capsule_routing.h"
#include "nn/embedding.h"
#include "nn/label_aware_attention.h"
#include "nn/linear.h"
#include "nn/sampled_softmax.h"
#include "nn/self_attention.h"
#include "test_helpers.h"

using namespace mind;
using mind::testing::expect_gradcheck_passes;
using mind::testing::padded_history;
using mind::testing::random_tensor;

namespace {
using Inputs = std::vector<Tensor>;

// The checker's default rule. The gradients here are mostly 0.005 to 0.5 (a loss averaged over a
// batch has small ones); the rule's rounding part follows the size of each function's outputs,
// so a whole model's loss (about 2.5, float spacing 2.4e-7) is allowed what its differences can
// resolve and a layer's small outputs no more. The worst element over all the checks below uses
// about half of what the rule allows (routing, R = 3).
GradcheckResult layer_gradcheck(const std::string& name,
                                const std::function<Tensor(const std::vector<Tensor>&)>& function,
                                const std::vector<Tensor>& inputs) {
  return gradcheck(name, function, inputs);
}

// ---- routing ---------------------------------------------------------------------------------

// One small routing setup: d = 4, K = 3, L = 8, and four users whose histories have 1 (all
// padding but one), 2, 5 and L real behaviours, so with dynamic K they have 1, 1, 2 and 3 live
// interests (floor(log2 n) clipped to [1, K]).
constexpr int64_t routing_width = 4;
const std::vector<int32_t> routing_lengths = {1, 2, 5, 8};

nn::RoutingOptions small_routing(int64_t iterations, nn::RoutingSoftmax softmax, bool dynamic,
                                 bool stop_gradient) {
  nn::RoutingOptions options;
  options.interest_count = 3;
  options.max_length = 8;
  options.iterations = iterations;
  options.softmax = softmax;
  options.dynamic_interest_count = dynamic;
  options.stop_gradient = stop_gradient;
  return options;
}

// gradcheck of the capsules [B, K, d] w.r.t. the map S and the history e.
GradcheckResult check_routing(const std::string& name, const nn::RoutingOptions& options, uint64_t seed) {
  Rng rng(seed);
  const nn::CapsuleRouting routing(routing_width, options, rng);
  Tensor history = padded_history(options.max_length, routing_width, routing_lengths, rng);  // [B, L, d]
  return layer_gradcheck(name, [&routing](const Inputs& x) {
    return routing.forward(x[1], routing_lengths).capsules;
  }, {routing.bilinear, history});
}

std::string routing_name(const char* prefix, int64_t iterations, nn::RoutingSoftmax softmax, bool dynamic) {
  return std::string(prefix) + " R=" + std::to_string(iterations) +
         (softmax == nn::RoutingSoftmax::over_interests ? " over interests" : " over behaviours") +
         (dynamic ? " dynamic K" : " fixed K");
}

// The capsules of the last routing iteration with its weights w [B, K, L] held constant:
// c = squash(w · û), û = e Sᵀ. This is the function whose derivative stop-gradient computes.
Tensor capsules_with_frozen_weights(const Tensor& bilinear, const Tensor& history, const Tensor& weights,
                                    const nn::RoutingOptions& options) {
  Tensor predictions = linear(history, bilinear, Tensor());                      // û: [B, L, d]
  return squash(batched_matmul(weights, predictions), options.squash_power, options.squash_eps);  // [B, K, d]
}

// ---- models ----------------------------------------------------------------------------------

// A tiny catalogue: 12 items, 3 categories (items with 0, 1 and 2 categories), 2 profile fields.
models::Catalogue tiny_catalogue() {
  models::Catalogue catalogue;
  catalogue.item_count = 12;
  catalogue.category_count = 3;
  catalogue.item_categories = {{0}, {}, {1, 2}, {2}, {}, {0, 1}, {1}, {}, {2, 0}, {0}, {}, {1}};
  catalogue.profile_fields = {"gender", "age"};
  catalogue.profile_cardinalities = {2, 3};
  return catalogue;
}

models::ModelConfig tiny_config(const std::string& model) {
  models::ModelConfig config;
  config.model = model;
  config.dim = 4;
  config.interests = 3;
  config.max_len = 5;
  config.routing_iterations = 3;
  config.routing_gradient = true;  // so the analytic gradient is the true derivative
  config.attention.hard = false;
  config.attention.power = 2.0f;
  config.hidden = {6};
  config.profile_width = 2;
  config.attention_width = 5;
  config.negatives = 4;
  return config;
}

// Four users with 1, 2, 4 and 5 behaviours (padding −1), their targets and profiles.
data::Batch tiny_batch() {
  data::Batch batch;
  data::reserve_batch(batch, 4, 5, 2);  // B = 4, L = 5, F = 2
  batch.size = 4;
  batch.history = {7, -1, -1, -1, -1,
                   2, 5, -1, -1, -1,
                   0, 3, 3, 9, -1,
                   11, 4, 8, 1, 6};  // [B, L]
  batch.lengths = {1, 2, 4, 5};
  batch.targets = {3, 10, 2, 0};
  batch.users = {0, 1, 2, 3};
  batch.profile = {0, 2, 1, 0, 1, 1, 0, 1};  // [B, F]
  return batch;
}

// Shared negatives with an accidental hit: 3 is user 0's target.
const std::vector<int32_t> tiny_negatives = {3, 6, 1, 9};

// The argmax readout picks one interest per user; the check is only meaningful if no ±h nudge
// flips that choice, so the best live score must beat every other live interest by a clear
// margin. An interest equal to the best one value for value is no rival: it stays equal under
// any nudge (ComiRec-SA gives a one-behaviour user K copies of that behaviour).
double smallest_readout_gap(const models::ForwardTrace& trace) {
  const int64_t batch = trace.interests.size(0), K = trace.interests.size(1), d = trace.interests.size(2);
  const float* scores = trace.attention_scores.data();   // [B, K]
  const float* live = trace.interest_mask.data();        // [B, K]
  const float* interests = trace.interests.data();       // [B, K, d]
  double smallest = 1e30;
  for (int64_t b = 0; b < batch; ++b) {
    int64_t best = -1;
    for (int64_t j = 0; j < K; ++j)
      if (live[b * K + j] != 0.0f && (best < 0 || scores[b * K + j] > scores[b * K + best])) best = j;
    for (int64_t j = 0; j < K; ++j) {
      if (j == best || live[b * K + j] == 0.0f) continue;
      bool same_vector = true;
      for (int64_t k = 0; k < d; ++k)
        same_vector = same_vector && interests[(b * K + j) * d + k] == interests[(b * K + best) * d + k];
      if (!same_vector) smallest = std::min<double>(smallest, scores[b * K + best] - scores[b * K + j]);
    }
  }
  return smallest;
}

GradcheckResult check_model_loss(const std::string& name, const models::Model& model, const data::Batch& batch) {
  return layer_gradcheck(name, [&model, &batch](const Inputs&) {
    return model.forward(batch, tiny_negatives, nullptr).loss;  // reads the parameters through their handles
  }, model.parameters());
}

}  // namespace

// ---- CapsuleRouting ----------------------------------------------------------------------------

TEST_CASE("layer gradients: routing with gradient through every iteration (R 1 and 3, both softmax axes, dynamic and fixed K)") {
  uint64_t seed = 100;
  for (int64_t iterations : {1, 3})
    for (nn::RoutingSoftmax softmax : {nn::RoutingSoftmax::over_interests, nn::RoutingSoftmax::over_behaviours})
      for (bool dynamic : {true, false}) {
        const nn::RoutingOptions options = small_routing(iterations, softmax, dynamic, /*stop_gradient=*/false);
        expect_gradcheck_passes(check_routing(routing_name("routing", iterations, softmax, dynamic), options, ++seed));
      }
}

TEST_CASE("layer gradients: routing with squash power 0.5, per-interest maps (ComiRec-DR) and fresh logits") {
  nn::RoutingOptions options = small_routing(3, nn::RoutingSoftmax::over_interests, true, false);
  options.squash_power = 0.5f;
  expect_gradcheck_passes(check_routing("routing squash power 0.5", options, 120));

  for (nn::RoutingSoftmax softmax : {nn::RoutingSoftmax::over_interests, nn::RoutingSoftmax::over_behaviours}) {
    options = small_routing(3, softmax, true, false);
    options.per_interest_maps = true;  // S: [K, d, d]
    expect_gradcheck_passes(check_routing(routing_name("routing per-interest maps", 3, softmax, true), options, 121));
  }

  // Fresh logits come from the generator passed in; re-seeding it on every call keeps the
  // function deterministic, as the checker needs.
  options = small_routing(3, nn::RoutingSoftmax::over_interests, true, false);
  options.fresh_logits = true;
  Rng rng(122);
  const nn::CapsuleRouting routing(routing_width, options, rng);
  Tensor history = padded_history(options.max_length, routing_width, routing_lengths, rng);
  expect_gradcheck_passes(layer_gradcheck("routing fresh logits", [&routing](const Inputs& x) {
    Rng logits_rng(7);
    return routing.forward(x[1], routing_lengths, &logits_rng).capsules;
  }, {routing.bilinear, history}));
}

TEST_CASE("layer gradients: routing with stop-gradient and R = 1 is the true derivative") {
  // With one iteration no logit update happens, so stopping its gradient changes nothing.
  for (nn::RoutingSoftmax softmax : {nn::RoutingSoftmax::over_interests, nn::RoutingSoftmax::over_behaviours})
    for (bool dynamic : {true, false}) {
      const nn::RoutingOptions options = small_routing(1, softmax, dynamic, /*stop_gradient=*/true);
      expect_gradcheck_passes(check_routing(routing_name("routing stop-gradient", 1, softmax, dynamic), options, 130));
    }
}

TEST_CASE("layer gradients: routing with stop-gradient and R = 3 is the derivative with the last weights frozen") {
  // Stop-gradient treats the routing weights as constants, so its gradient is NOT the
  // derivative of the forward (which moves the weights when S or e move). It is the derivative
  // of c = squash(w_last · û) with w_last held fixed. gradcheck calls its function once with
  // gradients recorded (the analytic side) and then under NoGrad for every ±h (the numeric
  // side, autograd/gradcheck.h): the function below routes on the first call and evaluates the
  // frozen-weights formula on the others, so the layer's gradient is compared with finite
  // differences of the frozen function.
  for (nn::RoutingSoftmax softmax : {nn::RoutingSoftmax::over_interests, nn::RoutingSoftmax::over_behaviours})
    for (bool dynamic : {true, false}) {
      const nn::RoutingOptions options = small_routing(3, softmax, dynamic, /*stop_gradient=*/true);
      const std::string name = routing_name("routing stop-gradient vs frozen weights", 3, softmax, dynamic);
      Rng rng(140);
      const nn::CapsuleRouting routing(routing_width, options, rng);
      Tensor history = padded_history(options.max_length, routing_width, routing_lengths, rng);

      Tensor last_weights;  // [B, K, L], copied out of a forward so backward cannot release it
      Tensor reference;     // capsules [B, K, d]
      {
        NoGrad no_grad;
        const nn::RoutingOutput routed = routing.forward(history, routing_lengths);
        last_weights = Tensor::from_values(routed.routing_weights.back().shape(), routed.routing_weights.back().values());
        reference = routed.capsules;
      }
      // Both functions agree at the unperturbed point, value for value.
      mind::testing::check_close(capsules_with_frozen_weights(routing.bilinear, history, last_weights, options).values(),
                                 reference.values(), 1e-6);

      expect_gradcheck_passes(layer_gradcheck(name, [&](const Inputs& x) {
        if (grad_enabled()) return routing.forward(x[1], routing_lengths).capsules;
        return capsules_with_frozen_weights(x[0], x[1], last_weights, options);
      }, {routing.bilinear, history}));

      // And the true derivative is indeed different: an ordinary gradcheck of the same layer fails.
      const GradcheckResult true_derivative = check_routing(name + " (true derivative)", options, 140);
      INFO(true_derivative.message);
      CHECK_FALSE(true_derivative.passed);
    }
}

// ---- SelfAttentionExtractor ----------------------------------------------------------------------


TEST_CASE("layer gradients: the fused routing equals the composed one (weights, capsules, gradients)") {
  // Odd sizes: d = 13, K = 3, L = 7, lengths 1..7 so users have 1, 1, 2 and 2 live interests.
  const std::vector<int32_t> lengths = {1, 7, 3, 4, 6};
  for (nn::RoutingSoftmax softmax : {nn::RoutingSoftmax::over_interests, nn::RoutingSoftmax::over_behaviours})
    for (bool fresh : {false, true}) {
      INFO("softmax over interests: " << (softmax == nn::RoutingSoftmax::over_interests) << ", fresh logits: " << fresh);
      nn::RoutingOptions options = small_routing(3, softmax, true, /*stop_gradient=*/true);
      options.max_length = 7;
      options.fresh_logits = fresh;
      Rng rng(150);
      nn::CapsuleRouting routing(13, options, rng);
      Tensor history = padded_history(7, 13, lengths, rng);  // [B, L, d]
      Tensor weights = random_tensor(Shape{5, 3, 13}, rng, false);
      std::vector<nn::RoutingOutput> outputs;
      std::vector<std::vector<float>> bilinear_grads, history_grads;
      for (bool fused : {true, false}) {
        routing.bilinear.zero_grad();
        history.zero_grad();
        Rng logits_rng(9);
        outputs.push_back(fused ? routing.forward(history, lengths, &logits_rng)
                                : routing.forward_composed(history, lengths, &logits_rng));
        sum_all(mul(outputs.back().capsules, weights)).backward();
        bilinear_grads.push_back(routing.bilinear.grad_values());
        history_grads.push_back(history.grad_values());
      }
      CHECK(std::string(outputs[0].capsules.node()->op) == "capsule_routing");  // the fused path did run
      CHECK(std::string(outputs[1].capsules.node()->op) == "squash");
      CHECK(outputs[0].interest_mask.values() == outputs[1].interest_mask.values());
      REQUIRE(outputs[0].routing_weights.size() == 3);
      for (size_t r = 0; r < 3; ++r)
        mind::testing::check_close(outputs[0].routing_weights[r].values(), outputs[1].routing_weights[r].values(), 1e-5);
      mind::testing::check_close(outputs[0].capsules.values(), outputs[1].capsules.values(), 1e-5);
      mind::testing::check_close(bilinear_grads[0], bilinear_grads[1], 1e-4);
      mind::testing::check_close(history_grads[0], history_grads[1], 1e-4);
    }
}
TEST_CASE("layer gradients: self-attention extractor over padded histories (lengths 1, 3, L)") {
  Rng rng(200);
  const nn::SelfAttentionExtractor extractor(/*width=*/4, /*attention_width=*/3, /*interest_count=*/2, rng);
  const std::vector<int32_t> lengths = {1, 3, 5};
  Tensor history = padded_history(/*max_length=*/5, 4, lengths, rng);  // [3, 5, 4]
  expect_gradcheck_passes(layer_gradcheck("self-attention interests", [&](const Inputs& x) {
    return extractor.forward(x[2], lengths).interests;
  }, {extractor.first, extractor.second, history}));
  expect_gradcheck_passes(layer_gradcheck("self-attention weights", [&](const Inputs& x) {
    return extractor.forward(x[2], lengths).attention;
  }, {extractor.first, extractor.second, history}));
}

// ---- label-aware attention ------------------------------------------------------------------------

TEST_CASE("layer gradients: soft label-aware attention, p = 1 and 2.5, with dead interests") {
  Rng rng(303);  // a seed whose scores all clear 0 by 0.16
  Tensor interests = random_tensor(Shape{3, 3, 4}, rng);  // [B, K, d]
  Tensor targets = random_tensor(Shape{3, 4}, rng);       // [B, d]
  // User 0 has 3 live interests, user 1 two, user 2 one.
  const Tensor mask = Tensor::from_values(Shape{3, 3}, {1, 1, 1, 1, 1, 0, 1, 0, 0});
  // sign(s)·|s|^p has a kink at s = 0 for p < 2 (its slope p|s|^(p−1) is unbounded for p < 1
  // and jumps at 0 for p = 1 in float): keep every score clear of 0.
  {
    NoGrad no_grad;
    const Tensor scores = nn::label_aware_attention(interests, targets, Tensor::full(Shape{3, 3}, 1.0f), {}).scores;
    for (float score : scores.values()) REQUIRE(std::fabs(score) > 0.1f);
  }
  for (float power : {1.0f, 2.5f}) {
    nn::AttentionOptions options;
    options.hard = false;
    options.power = power;
    expect_gradcheck_passes(layer_gradcheck("soft attention p=" + std::to_string(power), [&](const Inputs& x) {
      return nn::label_aware_attention(x[0], x[1], mask, options).user_vector;
    }, {interests, targets}));
  }
}

TEST_CASE("layer gradients: hard label-aware attention with clearly separated scores and a dead interest") {
  // Scores s = v_j · e_t, worked out: user 0 (target (1, 0, 0)) scores 0.5, 2.0 and 3.0, the
  // last dead, so interest 1 is chosen; user 1 (target (0, 1, 1)) scores 1.0, −1.0, 3.0, all live,
  // so interest 2 is chosen. Every gap is ≥ 1, far beyond what an h = 1e-3 nudge can flip.
  Tensor interests = Tensor::from_values(Shape{2, 3, 3}, {0.5f, 0.2f, -0.1f,
                                                          2.0f, -0.3f, 0.4f,
                                                          3.0f, 0.1f, 0.2f,
                                                          0.1f, 0.5f, 0.5f,
                                                          0.3f, -0.5f, -0.5f,
                                                          1.0f, 2.0f, 1.0f}, true);  // [B, K, d]
  Tensor targets = Tensor::from_values(Shape{2, 3}, {1, 0, 0, 0, 1, 1}, true);     // [B, d]
  const Tensor mask = Tensor::from_values(Shape{2, 3}, {1, 1, 0, 1, 1, 1});
  expect_gradcheck_passes(layer_gradcheck("hard attention", [&](const Inputs& x) {
    return nn::label_aware_attention(x[0], x[1], mask, {}).user_vector;
  }, {interests, targets}));
}

// ---- losses ------------------------------------------------------------------------------------------

TEST_CASE("layer gradients: sampled softmax w.r.t. user, target and negative vectors, with accidental hits") {
  Rng rng(400);
  const nn::LogUniformSampler sampler(10);
  const std::vector<int32_t> targets = {2, 5, 9};
  const std::vector<int32_t> negatives = {0, 2, 7, 2, 4};  // 2 is user 0's target, twice
  Tensor users = random_tensor(Shape{3, 4}, rng);             // [B, d]
  Tensor target_vectors = random_tensor(Shape{3, 4}, rng);    // [B, d]
  Tensor negative_vectors = random_tensor(Shape{5, 4}, rng);  // [M, d]
  expect_gradcheck_passes(layer_gradcheck("sampled softmax loss", [&](const Inputs& x) {
    return nn::sampled_softmax_loss(x[0], x[1], targets, x[2], negatives, sampler).loss;
  }, {users, target_vectors, negative_vectors}));
  // With hard-negative weights the gradient also flows through w = M' softmax(β s).
  for (const float beta : {0.7f, 2.5f}) {
    CAPTURE(beta);
    expect_gradcheck_passes(layer_gradcheck("sampled softmax loss, hard negatives", [&](const Inputs& x) {
      return nn::sampled_softmax_loss(x[0], x[1], targets, x[2], negatives, sampler, beta).loss;
    }, {users, target_vectors, negative_vectors}));
  }
  // The reference's logits too (their −∞ removed hits carry no gradient and are skipped).
  expect_gradcheck_passes(layer_gradcheck("sampled softmax logits (reference)", [&](const Inputs& x) {
    return nn::sampled_softmax_loss_reference(x[0], x[1], targets, x[2], negatives, sampler).logits;
  }, {users, target_vectors, negative_vectors}));
}

TEST_CASE("layer gradients: the fused sampled softmax matches its reference in value and gradient") {
  // Odd sizes (B = 7, d = 19, M = 37) so every kernel runs its tails; ids repeat so some rows lose hits.
  // β = 1.5: the hard-negative weights, whose fused backward is a closed form (the reference's is
  // the chain of log_softmax's); leaving out the term through the weights fails this comparison.
  for (const float beta : {0.0f, 1.5f}) {
  CAPTURE(beta);
  Rng rng(401);
  const nn::LogUniformSampler sampler(30);
  std::vector<int32_t> targets(7), negatives(37);
  for (int32_t& target : targets) target = static_cast<int32_t>(rng.below(30));
  for (int32_t& negative : negatives) negative = static_cast<int32_t>(rng.below(30));
  negatives[3] = targets[0];
  Tensor fused_inputs[3] = {random_tensor(Shape{7, 19}, rng), random_tensor(Shape{7, 19}, rng),
                            random_tensor(Shape{37, 19}, rng)};
  Tensor reference_inputs[3];
  for (int i = 0; i < 3; ++i) {
    reference_inputs[i] = Tensor::from_values(fused_inputs[i].shape(), fused_inputs[i].values(), true);
  }
  nn::SampledSoftmaxOutput fused = nn::sampled_softmax_loss(fused_inputs[0], fused_inputs[1], targets, fused_inputs[2],
                                                            negatives, sampler, beta);
  nn::SampledSoftmaxOutput reference = nn::sampled_softmax_loss_reference(
      reference_inputs[0], reference_inputs[1], targets, reference_inputs[2], negatives, sampler, beta);
  CHECK(fused.loss.item() == doctest::Approx(reference.loss.item()).epsilon(1e-6));
  const std::vector<float> fused_logits = fused.logits.values(), reference_logits = reference.logits.values();
  REQUIRE(fused_logits.size() == reference_logits.size());
  for (size_t i = 0; i < fused_logits.size(); ++i) {
    if (std::isinf(reference_logits[i])) {
      CHECK(std::isinf(fused_logits[i]));
    } else {
      CHECK(fused_logits[i] == doctest::Approx(reference_logits[i]).epsilon(1e-5));
    }
  }
  fused.loss.backward();
  reference.loss.backward();
  for (int i = 0; i < 3; ++i) {
    const std::vector<float> fused_grad = fused_inputs[i].grad_values();
    const std::vector<float> reference_grad = reference_inputs[i].grad_values();
    for (size_t j = 0; j < fused_grad.size(); ++j) CHECK(fused_grad[j] == doctest::Approx(reference_grad[j]).epsilon(1e-4).scale(1e-3));
  }
  }
}

TEST_CASE("layer gradients: full softmax loss and the interest-similarity penalty with dead interests") {
  Rng rng(410);
  Tensor users = random_tensor(Shape{3, 4}, rng);  // [B, d]
  Tensor items = random_tensor(Shape{6, 4}, rng);  // [N, d]
  expect_gradcheck_passes(layer_gradcheck("full softmax loss", [](const Inputs& x) {
    return nn::full_softmax_loss(x[0], x[1], {5, 0, 3});
  }, {users, items}));

  Tensor interests = random_tensor(Shape{3, 3, 4}, rng, true, 0.2f, 1.0f);  // [B, K, d], norms far from 0
  interests.data()[1] = -0.7f;  // some negative entries so the cosines are not all alike
  interests.data()[14] = -0.9f;
  const Tensor mask = Tensor::from_values(Shape{3, 3}, {1, 1, 1, 1, 1, 0, 1, 0, 0});
  expect_gradcheck_passes(layer_gradcheck("interest similarity penalty", [&mask](const Inputs& x) {
    return nn::interest_similarity_penalty(x[0], mask);
  }, {interests}));
}

TEST_CASE("layer gradients: the routing-spread penalty over real positions and live interests") {
  // B = 3, K = 3, L = 5; lengths 1, 3, 5 and dead interests. Weights in (0.05, 1) like routing's,
  // uneven so the spreads (and their squares) have curvature.
  Rng rng(420);
  Tensor weights = random_tensor(Shape{3, 3, 5}, rng, true, 0.05f, 1.0f);  // [B, K, L]
  const Tensor mask = Tensor::from_values(Shape{3, 3}, {1, 0, 0, 1, 1, 0, 1, 1, 1});
  expect_gradcheck_passes(layer_gradcheck("routing spread penalty", [&mask](const Inputs& x) {
    return scale(nn::routing_spread_penalty(x[0], {1, 3, 5}, mask), 10.0f);  // gradients of order 0.1..1
  }, {weights}));
}

// ---- embeddings, linear, MLP -------------------------------------------------------------------------

TEST_CASE("layer gradients: Embedding, ItemEmbedding with categories, ProfileEmbedding") {
  Rng rng(500);
  const nn::Embedding table("table", 6, 3, rng);
  const std::vector<int32_t> ids = {4, -1, 0, 4, 2, -1};  // repeats and padding
  expect_gradcheck_passes(layer_gradcheck("embedding", [&](const Inputs&) {
    return table.forward(ids, Shape{2, 3});
  }, {table.table}));

  // Items 0..4 with categories {}, {0}, {1, 2}, {2}, {0, 1}: pools of 1, 2, 3, 2, 3 rows.
  const nn::ItemEmbedding items(5, 3, 3, {{}, {0}, {1, 2}, {2}, {0, 1}}, rng);
  const std::vector<int32_t> item_ids = {0, 1, 2, -1, 3, 4, 2, -1};  // [2, 4] with padding
  expect_gradcheck_passes(layer_gradcheck("item embedding with categories", [&](const Inputs&) {
    return items.forward(item_ids, Shape{2, 4});
  }, items.parameters()));
  expect_gradcheck_passes(layer_gradcheck("item embedding all items", [&](const Inputs&) {
    return items.all_items();
  }, items.parameters()));
  expect_gradcheck_passes(layer_gradcheck("item embedding (reference)", [&](const Inputs&) {
    return items.forward_reference(item_ids, Shape{2, 4});
  }, items.parameters()));

  const nn::ProfileEmbedding profile({"gender", "age"}, {2, 4}, 3, rng);
  const std::vector<int32_t> values = {0, 3, 1, 0, 1, 2};  // [B = 3, F = 2]
  expect_gradcheck_passes(layer_gradcheck("profile embedding", [&](const Inputs&) {
    return profile.forward(values, 3);
  }, profile.parameters()));
}

TEST_CASE("layer gradients: the fused pooled item embedding equals its reference, values and row gradients") {
  // 7 items with 0-3 categories, width 19 (odd: no whole vectors), ids repeated and padded.
  Rng rng(510);
  const nn::ItemEmbedding items(7, 19, 4, {{}, {0}, {1, 2}, {3}, {0, 1, 3}, {2}, {1}}, rng);
  const std::vector<int32_t> ids = {6, 4, -1, 4, 0, 2, 2, 5, -1, 1, 3, 4};  // [3, 4]
  Tensor fused = items.forward(ids, Shape{3, 4});
  Tensor weights = random_tensor(Shape{3, 4, 19}, rng, false);
  std::vector<std::vector<int32_t>> fused_rows;
  std::vector<std::vector<float>> fused_values;
  const std::vector<Tensor> tables = items.parameters();
  for (int pass = 0; pass < 2; ++pass) {
    for (Tensor table : tables) table.zero_grad();
    Tensor embedded = pass == 0 ? items.forward(ids, Shape{3, 4}) : items.forward_reference(ids, Shape{3, 4});
    if (pass == 1) {
      const std::vector<float> fused_values_out = fused.values(), reference_values_out = embedded.values();
      for (size_t i = 0; i < fused_values_out.size(); ++i) CHECK(fused_values_out[i] == reference_values_out[i]);
    }
    sum_all(mul(embedded, weights)).backward();
    for (size_t t = 0; t < tables.size(); ++t) {
      Tensor table = tables[t];
      const RowSparseGradient& gradient = table.row_gradient();
      if (pass == 0) {
        fused_rows.push_back(gradient.rows);
        fused_values.push_back(gradient.values);
      } else {
        CHECK(gradient.rows == fused_rows[t]);
        CHECK(gradient.values == fused_values[t]);  // the same sums in the same order: bit-equal
      }
    }
  }
  CHECK(fused_rows[0] == std::vector<int32_t>{6, 4, 0, 2, 5, 1, 3});  // first appearance, padding skipped
}

TEST_CASE("layer gradients: Linear and MLP with pre-activations away from the ReLU kink") {
  Rng rng(600);
  nn::Linear layer("layer", 4, 3, rng);
  for (int64_t i = 0; i < 3; ++i) layer.bias.data()[i] = static_cast<float>(2.0 * rng.uniform() - 1.0);
  Tensor x = random_tensor(Shape{2, 5, 4}, rng);  // [.., in]
  expect_gradcheck_passes(layer_gradcheck("linear", [&layer](const Inputs& v) {
    return layer.forward(v[2]);
  }, {layer.weight, layer.bias, x}));

  nn::MLP mlp("mlp", {4, 6, 3}, rng);
  for (nn::Linear& each : mlp.layers)
    for (int64_t i = 0; i < each.bias.numel(); ++i) each.bias.data()[i] = static_cast<float>(rng.uniform() - 0.5);
  Tensor input = random_tensor(Shape{2, 3, 4}, rng);
  {
    NoGrad no_grad;  // a ±h nudge moves a pre-activation by ~1e-3: these are far from 0
    for (float value : mlp.layers[0].forward(input).values()) REQUIRE(std::fabs(value) > 0.02f);
  }
  Inputs inputs = mlp.parameters();
  inputs.push_back(input);
  expect_gradcheck_passes(layer_gradcheck("mlp", [&mlp](const Inputs& v) {
    return mlp.forward(v.back());
  }, inputs));
}

// ---- whole models ----------------------------------------------------------------------------------

TEST_CASE("layer gradients: MIND's loss w.r.t. every parameter (gradient through routing, soft attention p = 2)") {
  const data::Batch batch = tiny_batch();
  Rng rng(700);
  const std::unique_ptr<models::Model> mind = models::make_model(tiny_config("mind"), tiny_catalogue(), rng);
  expect_gradcheck_passes(check_model_loss("mind sampled softmax", *mind, batch));

  // The other switches: fixed K, softmax over behaviours, the full softmax, the diversity penalty.
  models::ModelConfig config = tiny_config("mind");
  config.dynamic_interests = false;
  config.routing_softmax = nn::RoutingSoftmax::over_behaviours;
  config.loss = "full";
  config.diversity_weight = 0.5f;
  Rng other_rng(701);
  const std::unique_ptr<models::Model> variant = models::make_model(config, tiny_catalogue(), other_rng);
  expect_gradcheck_passes(check_model_loss("mind fixed K, over behaviours, full softmax, diversity", *variant, batch));

  // The training mechanisms from REMI: hard-negative weights and the routing penalty (on the
  // last iteration's weights, differentiable here since tiny_config routes with gradient).
  models::ModelConfig remi = tiny_config("mind");
  remi.hard_negative_beta = 1.0f;
  remi.routing_regularization = 5.0f;
  Rng remi_rng(702);
  const std::unique_ptr<models::Model> with_remi = models::make_model(remi, tiny_catalogue(), remi_rng);
  expect_gradcheck_passes(check_model_loss("mind, hard negatives and routing regularisation", *with_remi, batch));
}

TEST_CASE("layer gradients: YouTube DNN's loss w.r.t. every parameter") {
  const data::Batch batch = tiny_batch();
  Rng rng(710);
  const std::unique_ptr<models::Model> model = models::make_model(tiny_config("youtube_dnn"), tiny_catalogue(), rng);
  expect_gradcheck_passes(check_model_loss("youtube dnn", *model, batch));
}

// Seeds chosen so that every user's best live score beats its rivals by at least 0.02 (0.035
// for ComiRec-SA, 0.156 for ComiRec-DR); with d = 4 many seeds give gaps below 0.01.
TEST_CASE("layer gradients: ComiRec-SA's and ComiRec-DR's losses w.r.t. every parameter (argmax readout)") {
  const data::Batch batch = tiny_batch();
  for (const auto& [name, seed] : std::vector<std::pair<std::string, uint64_t>>{{"comirec_sa", 723}, {"comirec_dr", 725}}) {
    Rng rng(seed);
    const std::unique_ptr<models::Model> model = models::make_model(tiny_config(name), tiny_catalogue(), rng);
    {
      NoGrad no_grad;
      const double gap = smallest_readout_gap(model->forward(batch, tiny_negatives, nullptr));
      INFO(name << ": smallest gap between the best live score and a rival " << gap);
      REQUIRE(gap > 0.02);
    }
    expect_gradcheck_passes(check_model_loss(name, *model, batch));
  }
  // REMI's own setting: the routing penalty on ComiRec-SA's attention A, with hard negatives.
  models::ModelConfig remi = tiny_config("comirec_sa");
  remi.hard_negative_beta = 1.0f;
  remi.routing_regularization = 5.0f;
  Rng rng(723);
  const std::unique_ptr<models::Model> model = models::make_model(remi, tiny_catalogue(), rng);
  expect_gradcheck_passes(check_model_loss("comirec_sa, hard negatives and routing regularisation", *model, batch));
}
