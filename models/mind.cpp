// MIND, step by step as in the paper's figure:
//   1. embedding & pooling: each history item becomes e_i (its id row, mean-pooled with its
//      categories' rows when the data has categories); profile fields become p_u;
//   2. multi-interest extractor: B2I dynamic routing turns e_1..e_n into K'_u capsules c_j;
//   3. MLP: each [c_j ; p_u] becomes an interest vector v_j;
//   4. label-aware attention (training only): the target item picks (or draws) / weights the interests;
//   5. sampled softmax: the user vector must score the target above M shared negatives.
// Serving stops after step 3: a user is K'_u vectors, an item's score is max_j v_j · e_i.
#include "models/mind.h"

namespace mind::models {

Mind::Mind(const ModelConfig& config, const Catalogue& catalogue, Rng& rng)
    : Model(config, catalogue, rng),
      routing(config.dim, routing_options(config), rng),
      mlp("mlp", mlp_widths(config, profile_.output_width()), rng) {}

void Mind::user_side(const data::Batch& batch, Rng* rng, ForwardTrace& trace) const {
  const std::vector<int32_t> lengths(batch.lengths.begin(), batch.lengths.begin() + batch.size);

  // 1. Embedding & pooling.
  trace.history_embeddings = embed_history(batch);  // e: [B, L, d]
  Tensor profile = embed_profile(batch);            // p_u: [B, P] (undefined without fields)

  // 2. Multi-interest extractor: dynamic routing.
  nn::RoutingOutput routed = routing.forward(trace.history_embeddings, lengths, rng);
  trace.predictions = routed.predictions;          // û: [B, L, d]
  trace.capsules = routed.capsules;                // c: [B, K, d], dead interests zero
  trace.interest_mask = routed.interest_mask;      // [B, K]
  trace.routing_weights = routed.routing_weights;  // w per iteration: [B, K, L]

  // 3. MLP on [c_j ; p_u] for every interest.
  Tensor mlp_input = trace.capsules;  // [B, K, d (+ P)]
  if (profile.defined()) mlp_input = concat_last(mlp_input, repeat_rows(profile, config_.interests));
  trace.interests = mlp.forward(mlp_input);  // v: [B, K, d]
}

UserInterests Mind::encode(const data::Batch& batch, Rng* rng) const {
  ForwardTrace trace;
  user_side(batch, rng, trace);
  return {trace.interests, trace.interest_mask, trace.routing_weights};
}

ForwardTrace Mind::forward(const data::Batch& batch, const std::vector<int32_t>& negatives, Rng* rng) const {
  ForwardTrace trace;
  user_side(batch, rng, trace);

  // 4. Label-aware attention: the target's embedding chooses among the live interests.
  const std::vector<int32_t> targets(batch.targets.begin(), batch.targets.begin() + batch.size);
  Tensor target_vectors = items_.forward(targets, Shape{batch.size});  // e_t: [B, d]
  nn::AttentionOutput attended =
      nn::label_aware_attention(trace.interests, target_vectors, trace.interest_mask, config_.attention, rng);
  trace.attention_scores = attended.scores;  // [B, K]
  trace.user_vector = attended.user_vector;  // v_u: [B, d]

  // 5. Sampled softmax (or the full one), plus the optional diversity and routing penalties.
  trace.loss = loss_from_user_vectors(trace.user_vector, target_vectors, batch, negatives, trace);
  if (config_.diversity_weight > 0.0f)
    trace.loss = add(trace.loss, scale(nn::interest_similarity_penalty(trace.interests, trace.interest_mask),
                                       config_.diversity_weight));
  add_routing_regularization(trace.routing_weights.back(), batch, trace);
  return trace;
}

std::vector<Tensor> Mind::parameters() const {
  std::vector<Tensor> all = items_.parameters();
  for (const Tensor& parameter : profile_.parameters()) all.push_back(parameter);
  for (const Tensor& parameter : routing.parameters()) all.push_back(parameter);
  for (const Tensor& parameter : mlp.parameters()) all.push_back(parameter);
  return all;
}

std::vector<Tensor> Mind::checkpoint_tensors() const {
  std::vector<Tensor> all = parameters();
  all.push_back(routing.initial_logits);  // fixed, but part of the model: serving must use the same b⁰
  return all;
}

}  // namespace mind::models
