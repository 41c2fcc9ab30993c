// The parts every model shares: building the embeddings, the loss from user vectors, the
// and choosing a model by name. (The checkpoint's metadata is written by train/checkpoint.cpp.)
#include "models/model.h"

#include <stdexcept>

#include "models/comirec.h"
#include "models/mind.h"
#include "models/youtube_dnn.h"

namespace mind::models {

Model::Model(const ModelConfig& config, const Catalogue& catalogue, Rng& rng)
    : config_(config),
      items_(catalogue.item_count, config.dim, config.use_categories ? catalogue.category_count : 0,
             catalogue.item_categories, rng),
      profile_(catalogue.profile_fields, catalogue.profile_cardinalities, config.profile_width, rng),
      sampler_(catalogue.item_count) {}

Tensor Model::embed_history(const data::Batch& batch) const {
  const std::vector<int32_t> ids(batch.history.begin(), batch.history.begin() + batch.size * batch.max_len);
  return items_.forward(ids, Shape{batch.size, batch.max_len});  // [B, L, d], padding rows zero
}

Tensor Model::embed_profile(const data::Batch& batch) const {
  if (profile_.empty()) return Tensor();
  const std::vector<int32_t> values(batch.profile.begin(), batch.profile.begin() + batch.size * batch.field_count);
  return profile_.forward(values, batch.size);  // [B, F·width]
}

Tensor Model::loss_from_user_vectors(const Tensor& user_vectors, const Tensor& target_vectors,
                                     const data::Batch& batch, const std::vector<int32_t>& negatives,
                                     ForwardTrace& trace) const {
  const std::vector<int32_t> targets(batch.targets.begin(), batch.targets.begin() + batch.size);
  if (config_.loss == "full") {
    Tensor all_items = items_.all_items();                              // [N, d]
    trace.logits = matmul(user_vectors, all_items, /*transpose_b=*/true);  // [B, N]
    return cross_entropy(trace.logits, targets);
  }
  const Tensor negative_vectors = items_.forward(negatives, Shape{static_cast<int64_t>(negatives.size())});
  nn::SampledSoftmaxOutput sampled =
      nn::sampled_softmax_loss(user_vectors, target_vectors, targets, negative_vectors, negatives, sampler_,
                               config_.hard_negative_beta);
  trace.logits = sampled.logits;
  return sampled.loss;
}

void Model::argmax_readout_and_loss(const data::Batch& batch, const std::vector<int32_t>& negatives, Rng* rng,
                                    ForwardTrace& trace) const {
  const std::vector<int32_t> targets(batch.targets.begin(), batch.targets.begin() + batch.size);
  Tensor target_vectors = items_.forward(targets, Shape{batch.size});  // e_t: [B, d]
  nn::AttentionOptions argmax;
  argmax.hard = true;
  argmax.sample = config_.attention.sample;
  nn::AttentionOutput attended =
      nn::label_aware_attention(trace.interests, target_vectors, trace.interest_mask, argmax, rng);
  trace.attention_scores = attended.scores;
  trace.user_vector = attended.user_vector;
  trace.loss = loss_from_user_vectors(trace.user_vector, target_vectors, batch, negatives, trace);
}

void Model::add_routing_regularization(const Tensor& weights, const data::Batch& batch, ForwardTrace& trace) const {
  if (config_.routing_regularization == 0.0f) return;
  const std::vector<int32_t> lengths(batch.lengths.begin(), batch.lengths.begin() + batch.size);
  trace.loss = add(trace.loss, scale(nn::routing_spread_penalty(weights, lengths, trace.interest_mask),
                                     config_.routing_regularization));
}

std::vector<Tensor> Model::checkpoint_tensors() const { return parameters(); }

void validate_config(const ModelConfig& config, int64_t item_count) {
  // The ranges of single options are declared, and checked, in train/option_table.cpp; here is
  // what needs the data, and the name make_model dispatches on.
  auto fail = [](const std::string& message) { throw std::invalid_argument(message); };
  if (config.model != "mind" && config.model != "youtube_dnn" && config.model != "comirec_dr" &&
      config.model != "comirec_sa")
    fail("--model: unknown model '" + config.model + "' (mind, youtube_dnn, most_popular, comirec_dr, comirec_sa)");
  if (config.loss == "sampled" && (config.negatives < 1 || config.negatives >= item_count))
    fail("--negatives (M) must be in [1, N) = [1, " + std::to_string(item_count) + "), got " +
         std::to_string(config.negatives));
  if (config.hard_negative_beta > 0.0f && config.loss != "sampled")
    fail("--hard-negative-beta reweights the sampled negatives: it needs --loss sampled");
  const bool multi_interest = config.model != "youtube_dnn";
  if (config.attention.sample && (!multi_interest || !config.attention.hard))
    fail("--interest-selection sample draws among several interests with hard attention: it needs --model mind, "
         "comirec_dr or comirec_sa and --attention-power hard");
  if (config.routing_regularization != 0.0f) {
    if (!multi_interest) fail("--routing-regularization needs routing weights: --model mind, comirec_dr or comirec_sa");
    // With stop-gradient routing (the default) or one iteration the weights are constants within a
    // step, so the penalty would have no gradient and change nothing.
    if (config.model != "comirec_sa" && (!config.routing_gradient || config.routing_iterations < 2))
      fail("--routing-regularization on routing needs --routing-gradient and --routing-iterations >= 2 (otherwise "
           "the routing weights are constants of the step and the penalty has no gradient)");
  }
}

nn::RoutingOptions routing_options(const ModelConfig& config) {
  nn::RoutingOptions options;
  options.interest_count = config.interests;
  options.max_length = config.max_len;
  options.iterations = config.routing_iterations;
  options.softmax = config.routing_softmax;
  options.dynamic_interest_count = config.dynamic_interests;
  options.stop_gradient = !config.routing_gradient;
  options.fresh_logits = config.fresh_routing_logits;
  options.squash_power = config.squash_power;
  return options;
}

std::vector<int64_t> mlp_widths(const ModelConfig& config, int64_t profile_width) {
  std::vector<int64_t> widths = {config.dim + profile_width};
  for (int64_t hidden : config.hidden) widths.push_back(hidden);
  widths.push_back(config.dim);
  return widths;
}

Catalogue catalogue_of(const data::Dataset& dataset) {
  Catalogue catalogue;
  catalogue.item_count = dataset.item_count;
  catalogue.category_count = static_cast<int64_t>(dataset.category_names.size());
  catalogue.item_categories = dataset.item_categories;
  catalogue.profile_fields = dataset.profile_field_names;
  for (int32_t cardinality : dataset.profile_cardinalities) catalogue.profile_cardinalities.push_back(cardinality);
  return catalogue;
}

std::unique_ptr<Model> make_model(const ModelConfig& config, const Catalogue& catalogue, Rng& rng) {
  validate_config(config, catalogue.item_count);
  if (config.model == "mind") return std::make_unique<Mind>(config, catalogue, rng);
  if (config.model == "youtube_dnn") return std::make_unique<YoutubeDnn>(config, catalogue, rng);
  if (config.model == "comirec_dr") return std::make_unique<ComirecDr>(config, catalogue, rng);
  return std::make_unique<ComirecSa>(config, catalogue, rng);
}

}  // namespace mind::models
