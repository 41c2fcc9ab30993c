// MIND: Multi-Interest Network with Dynamic Routing (Li et al., CIKM 2019).
// Read models/mind.cpp top to bottom: it follows the paper's figure.
#pragma once
#include "models/model.h"

namespace mind::models {

class Mind : public Model {
 public:
  Mind(const ModelConfig& config, const Catalogue& catalogue, Rng& rng);

  UserInterests encode(const data::Batch& batch, Rng* rng) const override;
  ForwardTrace forward(const data::Batch& batch, const std::vector<int32_t>& negatives, Rng* rng) const override;
  std::vector<Tensor> parameters() const override;
  std::vector<Tensor> checkpoint_tensors() const override;

  nn::CapsuleRouting routing;  // multi-interest extractor
  nn::MLP mlp;                 // [c_j ; p_u] → v_j

 private:
  // Embed & pool, route, MLP: the user side, shared by training and serving.
  void user_side(const data::Batch& batch, Rng* rng, ForwardTrace& trace) const;
};

}  // namespace mind::models
