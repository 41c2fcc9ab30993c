// What every trainable model here shares: its configuration, the catalogue it is built for,
// what one forward step leaves behind (for tests, the golden check and --explain), and the
// interface the trainer and the evaluator use. The models are MIND (models/mind.*), YouTube DNN
// (models/youtube_dnn.*), ComiRec-DR and ComiRec-SA (models/comirec.*); Most-Popular needs no
// training and lives in data/most_popular.*.
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "autograd/ops.h"
#include "autograd/random.h"
#include "data/batcher.h"
#include "data/dataset.h"
#include "nn/capsule_routing.h"
#include "nn/embedding.h"
#include "nn/label_aware_attention.h"
#include "nn/linear.h"
#include "nn/sampled_softmax.h"

namespace mind::models {

struct ModelConfig {
  std::string model = "mind";   // mind | youtube_dnn | comirec_dr | comirec_sa
  int64_t dim = 64;             // d
  int64_t interests = 4;        // K
  int64_t max_len = 20;         // L
  int64_t routing_iterations = 3;  // R
  nn::RoutingSoftmax routing_softmax = nn::RoutingSoftmax::over_interests;
  bool dynamic_interests = true;   // K'_u (off: --fixed-k)
  bool routing_gradient = false;   // back-propagate through every routing iteration
  bool fresh_routing_logits = false;
  float squash_power = 1.0f;
  nn::AttentionOptions attention;  // hard by default; attention.sample: soft interest selection in training
  std::vector<int64_t> hidden = {128};  // MLP hidden widths (default 2d)
  int64_t profile_width = 8;       // width of each profile field's embedding
  int64_t attention_width = 256;   // ComiRec-SA's d_a (default 4d)
  int64_t negatives = 1280;        // M (default 10·B)
  std::string loss = "sampled";    // sampled | full
  float diversity_weight = 0.0f;   // λ for the interest-similarity penalty
  float hard_negative_beta = 0.0f;  // β of the sampled softmax's hard-negative weights (0: off)
  float routing_regularization = 0.0f;  // λ of the routing-spread penalty (0: off; needs differentiable routing)
  bool use_categories = true;      // pool item embeddings with their categories' (when the data has any)
};

// What the model is built for: the catalogue and the user features of a dataset.
struct Catalogue {
  int64_t item_count = 0;
  int64_t category_count = 0;                          // 0: no categories
  std::vector<std::vector<int32_t>> item_categories;   // [N] lists (empty if none)
  std::vector<std::string> profile_fields;             // names
  std::vector<int64_t> profile_cardinalities;          // values per field
};

// Everything a forward step computed, by name (the golden test compares these).
struct ForwardTrace {
  Tensor history_embeddings;  // e: [B, L, d]
  Tensor predictions;         // û (routing models): [B, L, d]
  Tensor capsules;            // c: [B, K, d]
  Tensor interests;           // v: [B, K, d] before masking
  Tensor interest_mask;       // [B, K]
  Tensor attention_scores;    // v_j · e_t (dead interests 0): [B, K]
  Tensor user_vector;         // v_u: [B, d]
  Tensor logits;              // the loss's softmax input: [B, 1 + M] (sampled) or [B, N] (full)
  Tensor loss;                // [1]
  std::vector<Tensor> routing_weights;  // w per iteration: [B, K, L]
};

// A user's interests for serving: K vectors each, the first `counts[u]` live.
struct UserInterests {
  Tensor interests;      // [B, K, d]
  Tensor interest_mask;  // [B, K]
  std::vector<Tensor> routing_weights;  // routing models only: w per iteration [B, K, L]
};

class Model {
 public:
  explicit Model(const ModelConfig& config, const Catalogue& catalogue, Rng& rng);
  virtual ~Model() = default;

  // The user side: interests of every row of the batch.
  virtual UserInterests encode(const data::Batch& batch, Rng* rng) const = 0;
  // One training forward: interests, attention with the target, loss. `negatives` are the
  // batch's shared sampled negatives (ignored by the full softmax).
  virtual ForwardTrace forward(const data::Batch& batch, const std::vector<int32_t>& negatives, Rng* rng) const = 0;

  // Every trained parameter, and every tensor a checkpoint holds (parameters + fixed state
  // such as the routing logits), each with its checkpoint name.
  virtual std::vector<Tensor> parameters() const = 0;
  virtual std::vector<Tensor> checkpoint_tensors() const;

  const ModelConfig& config() const { return config_; }
  const nn::LogUniformSampler& sampler() const { return sampler_; }
  const nn::ItemEmbedding& item_embedding() const { return items_; }

 protected:
  // Shared first and last steps: item embeddings of the history [B, L, d], the profile
  // vector [B, P] (undefined without profile fields), and the loss from user vectors.
  Tensor embed_history(const data::Batch& batch) const;
  Tensor embed_profile(const data::Batch& batch) const;
  Tensor loss_from_user_vectors(const Tensor& user_vectors, const Tensor& target_vectors,
                                const data::Batch& batch, const std::vector<int32_t>& negatives,
                                ForwardTrace& trace) const;
  // ComiRec's training readout: the interest that scores the target highest (or, with
  // --interest-selection sample, one drawn by its score) is the user vector (hard label-aware
  // attention), then the loss. Fills the trace from `interests` on.
  void argmax_readout_and_loss(const data::Batch& batch, const std::vector<int32_t>& negatives, Rng* rng,
                               ForwardTrace& trace) const;
  // λ·R added to trace.loss when --routing-regularization is set (R: nn::routing_spread_penalty
  // of `weights`, the last routing iteration's w or ComiRec-SA's attention).
  void add_routing_regularization(const Tensor& weights, const data::Batch& batch, ForwardTrace& trace) const;

  ModelConfig config_;
  nn::ItemEmbedding items_;
  nn::ProfileEmbedding profile_;
  nn::LogUniformSampler sampler_;
};

// The routing layer's options as a model configuration sets them (MIND, ComiRec-DR).
nn::RoutingOptions routing_options(const ModelConfig& config);

// The user MLP's widths: input [d + profile width] (a vector beside the profile), the hidden
// widths, output d (interests live in the item space).
std::vector<int64_t> mlp_widths(const ModelConfig& config, int64_t profile_width);

// What a model built for `dataset` needs to know about its catalogue and user features.
Catalogue catalogue_of(const data::Dataset& dataset);

// The model named by config.model.
std::unique_ptr<Model> make_model(const ModelConfig& config, const Catalogue& catalogue, Rng& rng);

// Checks what a configuration needs of the data (M < N) and the model's name, and throws an
// error naming the offending flag. Each option's own range is checked by train::check_options.
void validate_config(const ModelConfig& config, int64_t item_count);

}  // namespace mind::models
