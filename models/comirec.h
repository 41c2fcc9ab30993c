// ComiRec (Cen et al., KDD 2020), MIND's successors, as comparisons:
//   ComiRec-DR: dynamic routing with a separate d×d map per interest; the capsules are the
//               interests (no MLP, no profile).
//   ComiRec-SA: a self-attentive extractor; its K heads' pooled histories are the interests.
// Both train with the argmax readout (hard label-aware attention) and the same sampled softmax.
#pragma once
#include "models/model.h"
#include "nn/self_attention.h"

namespace mind::models {

class ComirecDr : public Model {
 public:
  ComirecDr(const ModelConfig& config, const Catalogue& catalogue, Rng& rng);
  UserInterests encode(const data::Batch& batch, Rng* rng) const override;
  ForwardTrace forward(const data::Batch& batch, const std::vector<int32_t>& negatives, Rng* rng) const override;
  std::vector<Tensor> parameters() const override;
  std::vector<Tensor> checkpoint_tensors() const override;

  nn::CapsuleRouting routing;

 private:
  void user_side(const data::Batch& batch, Rng* rng, ForwardTrace& trace) const;
};

class ComirecSa : public Model {
 public:
  ComirecSa(const ModelConfig& config, const Catalogue& catalogue, Rng& rng);
  UserInterests encode(const data::Batch& batch, Rng* rng) const override;
  ForwardTrace forward(const data::Batch& batch, const std::vector<int32_t>& negatives, Rng* rng) const override;
  std::vector<Tensor> parameters() const override;

  nn::SelfAttentionExtractor extractor;

 private:
  Tensor user_side(const data::Batch& batch, ForwardTrace& trace) const;  // returns the attention A [B, K, L]
};

}  // namespace mind::models
