// ComiRec-DR and ComiRec-SA: extract interests, then the argmax readout and sampled softmax.
#include "models/comirec.h"

namespace mind::models {

// ---- ComiRec-DR ----------------------------------------------------------------------------

ComirecDr::ComirecDr(const ModelConfig& config, const Catalogue& catalogue, Rng& rng)
    : Model(config, catalogue, rng) {
  nn::RoutingOptions options = routing_options(config);
  options.per_interest_maps = true;  // one S_j per interest: the only difference from MIND's routing
  routing = nn::CapsuleRouting(config.dim, options, rng);
}

void ComirecDr::user_side(const data::Batch& batch, Rng* rng, ForwardTrace& trace) const {
  const std::vector<int32_t> lengths(batch.lengths.begin(), batch.lengths.begin() + batch.size);
  trace.history_embeddings = embed_history(batch);  // [B, L, d]
  nn::RoutingOutput routed = routing.forward(trace.history_embeddings, lengths, rng);
  trace.predictions = routed.predictions;
  trace.capsules = routed.capsules;
  trace.interests = routed.capsules;  // the capsules are the interests
  trace.interest_mask = routed.interest_mask;
  trace.routing_weights = routed.routing_weights;
}

UserInterests ComirecDr::encode(const data::Batch& batch, Rng* rng) const {
  ForwardTrace trace;
  user_side(batch, rng, trace);
  return {trace.interests, trace.interest_mask, trace.routing_weights};
}

ForwardTrace ComirecDr::forward(const data::Batch& batch, const std::vector<int32_t>& negatives, Rng* rng) const {
  ForwardTrace trace;
  user_side(batch, rng, trace);
  argmax_readout_and_loss(batch, negatives, rng, trace);
  add_routing_regularization(trace.routing_weights.back(), batch, trace);
  return trace;
}

std::vector<Tensor> ComirecDr::parameters() const {
  std::vector<Tensor> all = items_.parameters();
  for (const Tensor& parameter : routing.parameters()) all.push_back(parameter);
  return all;
}

std::vector<Tensor> ComirecDr::checkpoint_tensors() const {
  std::vector<Tensor> all = parameters();
  all.push_back(routing.initial_logits);
  return all;
}

// ---- ComiRec-SA ----------------------------------------------------------------------------

ComirecSa::ComirecSa(const ModelConfig& config, const Catalogue& catalogue, Rng& rng)
    : Model(config, catalogue, rng), extractor(config.dim, config.attention_width, config.interests, rng) {}

Tensor ComirecSa::user_side(const data::Batch& batch, ForwardTrace& trace) const {
  const std::vector<int32_t> lengths(batch.lengths.begin(), batch.lengths.begin() + batch.size);
  trace.history_embeddings = embed_history(batch);  // [B, L, d]
  nn::SelfAttentionOutput attended = extractor.forward(trace.history_embeddings, lengths);
  trace.interests = attended.interests;  // [B, K, d]
  trace.interest_mask = attended.interest_mask;
  return attended.attention;  // A: [B, K, L]
}

UserInterests ComirecSa::encode(const data::Batch& batch, Rng*) const {
  ForwardTrace trace;
  user_side(batch, trace);
  return {trace.interests, trace.interest_mask, {}};
}

ForwardTrace ComirecSa::forward(const data::Batch& batch, const std::vector<int32_t>& negatives, Rng* rng) const {
  ForwardTrace trace;
  const Tensor attention = user_side(batch, trace);
  argmax_readout_and_loss(batch, negatives, rng, trace);
  add_routing_regularization(attention, batch, trace);  // REMI's own setting: RR on A
  return trace;
}

std::vector<Tensor> ComirecSa::parameters() const {
  std::vector<Tensor> all = items_.parameters();
  for (const Tensor& parameter : extractor.parameters()) all.push_back(parameter);
  return all;
}

}  // namespace mind::models
