// YouTube DNN (Covington et al., RecSys 2016) as MIND's single-interest baseline: the mean of
// the history's item embeddings, concatenated with the profile, through the same MLP, gives one
// user vector; the same sampled softmax trains it.
#pragma once
#include "models/model.h"

namespace mind::models {

class YoutubeDnn : public Model {
 public:
  YoutubeDnn(const ModelConfig& config, const Catalogue& catalogue, Rng& rng);

  UserInterests encode(const data::Batch& batch, Rng* rng) const override;
  ForwardTrace forward(const data::Batch& batch, const std::vector<int32_t>& negatives, Rng* rng) const override;
  std::vector<Tensor> parameters() const override;

  nn::MLP mlp;  // [mean(e) ; p_u] → v_u

 private:
  void user_side(const data::Batch& batch, ForwardTrace& trace) const;
};

}  // namespace mind::models
