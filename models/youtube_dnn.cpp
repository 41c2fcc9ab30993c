// YouTube DNN: average the history, add the profile, MLP, softmax.
#include "models/youtube_dnn.h"

namespace mind::models {

YoutubeDnn::YoutubeDnn(const ModelConfig& config, const Catalogue& catalogue, Rng& rng)
    : Model(config, catalogue, rng), mlp("mlp", mlp_widths(config, profile_.output_width()), rng) {}

void YoutubeDnn::user_side(const data::Batch& batch, ForwardTrace& trace) const {
  const int64_t B = batch.size, d = config_.dim;
  trace.history_embeddings = embed_history(batch);  // e: [B, L, d], padding rows zero
  // Masked mean: padding rows are zero, so the sum over positions divided by n_u.
  std::vector<float> inverse_length(B);  // [B]
  for (int64_t b = 0; b < B; ++b) inverse_length[b] = 1.0f / static_cast<float>(batch.lengths[b]);
  Tensor pooled = mul(sum(trace.history_embeddings, 1), Tensor::from_values(Shape{B, 1}, inverse_length));  // [B, d]
  Tensor profile = embed_profile(batch);
  Tensor mlp_input = profile.defined() ? concat_last(pooled, profile) : pooled;
  trace.user_vector = mlp.forward(mlp_input);                   // v_u: [B, d]
  trace.interests = reshape(trace.user_vector, Shape{B, 1, d});  // one interest: [B, 1, d]
  trace.interest_mask = Tensor::full(Shape{B, 1}, 1.0f);
}

UserInterests YoutubeDnn::encode(const data::Batch& batch, Rng*) const {
  ForwardTrace trace;
  user_side(batch, trace);
  return {trace.interests, trace.interest_mask, {}};
}

ForwardTrace YoutubeDnn::forward(const data::Batch& batch, const std::vector<int32_t>& negatives, Rng*) const {
  ForwardTrace trace;
  user_side(batch, trace);
  const std::vector<int32_t> targets(batch.targets.begin(), batch.targets.begin() + batch.size);
  Tensor target_vectors = items_.forward(targets, Shape{batch.size});  // e_t: [B, d]
  trace.loss = loss_from_user_vectors(trace.user_vector, target_vectors, batch, negatives, trace);
  return trace;
}

std::vector<Tensor> YoutubeDnn::parameters() const {
  std::vector<Tensor> all = items_.parameters();
  for (const Tensor& parameter : profile_.parameters()) all.push_back(parameter);
  for (const Tensor& parameter : mlp.parameters()) all.push_back(parameter);
  return all;
}

}  // namespace mind::models
