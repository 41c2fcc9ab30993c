// Sampled softmax with the log-Q correction, the full softmax, and the diversity penalty.
#include "nn/sampled_softmax.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <stdexcept>

#include "autograd/kernels.h"
#include "autograd/parallel.h"

namespace mind::nn {

LogUniformSampler::LogUniformSampler(int64_t item_count)
    : item_count_(item_count), log_range_(std::log(static_cast<double>(item_count) + 1.0)) {
  if (item_count < 1) throw std::invalid_argument("LogUniformSampler: needs at least one item");
}

std::vector<int32_t> LogUniformSampler::sample(int64_t count, Rng& rng) const {
  std::vector<int32_t> ranks(count);
  for (int64_t i = 0; i < count; ++i) {
    // Inverse CDF of Q: P(rank ≤ r) = log(r + 2) / log(N + 1).
    const int64_t rank = static_cast<int64_t>(std::exp(rng.uniform() * log_range_)) - 1;
    ranks[i] = static_cast<int32_t>(std::min<int64_t>(std::max<int64_t>(rank, 0), item_count_ - 1));
  }
  return ranks;
}

double LogUniformSampler::probability(int64_t rank) const {
  return std::log((rank + 2.0) / (rank + 1.0)) / log_range_;
}

namespace {

// The log-Q corrections log(M·Q(x)) of the M shared negatives (the same for every row).
std::vector<float> negative_corrections(const std::vector<int32_t>& negatives, const LogUniformSampler& sampler) {
  const double log_m = std::log(static_cast<double>(negatives.size()));
  std::vector<float> corrections(negatives.size());
  for (size_t m = 0; m < negatives.size(); ++m)
    corrections[m] = static_cast<float>(log_m + std::log(sampler.probability(negatives[m])));
  return corrections;
}

void check_sampled_softmax_shapes(const Tensor& user_vectors, const Tensor& target_vectors,
                                  const std::vector<int32_t>& targets, const Tensor& negative_vectors,
                                  const std::vector<int32_t>& negatives) {
  const bool fine = user_vectors.rank() == 2 && target_vectors.shape() == user_vectors.shape() &&
                    negative_vectors.rank() == 2 && negative_vectors.size(1) == user_vectors.size(1) &&
                    static_cast<int64_t>(targets.size()) == user_vectors.size(0) &&
                    static_cast<int64_t>(negatives.size()) == negative_vectors.size(0) && !negatives.empty();
  if (!fine)
    throw std::invalid_argument("sampled_softmax_loss: needs users [B, d], targets [B, d], negatives [M, d] with "
                                "B target ids and M >= 1 negative ids; got " + user_vectors.shape().to_string() + ", " +
                                target_vectors.shape().to_string() + ", " + negative_vectors.shape().to_string() +
                                ", " + std::to_string(targets.size()) + " and " + std::to_string(negatives.size()) + " ids");
}

void check_hard_negative_beta(float beta) {
  if (!(beta >= 0.0f && std::isfinite(beta)))
    throw std::invalid_argument("sampled_softmax_loss: the hard-negative β must be a finite number >= 0, got " +
                                std::to_string(beta));
}

// One row's hard-negative weights, given its raw negative scores s_m (before the correction):
// a_m = exp(β s_m) / Σ_{k kept} exp(β s_k) into `hardness`, and log w_m = log M' + log a_m added
// to the scores in place. Removed hits (negative = target) get a = 0 and are left for the caller.
void add_log_hardness(float* scores, const std::vector<int32_t>& negatives, int32_t target, float beta,
                      float* hardness) {
  const int64_t count = static_cast<int64_t>(negatives.size());
  float largest = -std::numeric_limits<float>::infinity();
  int64_t kept = 0;
  for (int64_t m = 0; m < count; ++m)
    if (negatives[m] != target) {
      largest = std::max(largest, beta * scores[m]);
      ++kept;
    }
  if (kept == 0) return;
  double total = 0.0;
  for (int64_t m = 0; m < count; ++m)
    if (negatives[m] != target) total += std::exp(static_cast<double>(beta * scores[m] - largest));
  const float log_normaliser = largest + static_cast<float>(std::log(total));  // LSE_k β s_k
  const float log_kept = static_cast<float>(std::log(static_cast<double>(kept)));
  for (int64_t m = 0; m < count; ++m) {
    if (negatives[m] == target) continue;
    const float log_a = beta * scores[m] - log_normaliser;
    hardness[m] = std::exp(log_a);
    scores[m] += log_kept + log_a;
  }
}

}  // namespace

// One op for scores → correction → accidental-hit mask → softmax → cross-entropy, so a step
// makes one [B, 1 + M] buffer instead of six. With z the corrected logits, p = softmax(z) and
// the target in column 0, loss = −(1/B) Σ_b log p[b, 0] and
//   dz[b, c] = (p[b, c] − [c = 0]) / B          (removed hits have p = 0: no gradient)
//   du_b += dz[b, 0] e_t_b + Σ_m dz[b, 1 + m] e_m,   de_t_b += dz[b, 0] u_b,   de_m += Σ_b dz[b, 1 + m] u_b
// With hard negatives (β > 0) z also holds log w, and before those three products the negatives'
// dz becomes the gradient of their raw scores, (1 + β)·dz_m − β·a_m·Σ_k dz_k (a = w / M').
SampledSoftmaxOutput sampled_softmax_loss(const Tensor& user_vectors, const Tensor& target_vectors,
                                          const std::vector<int32_t>& targets,
                                          const Tensor& negative_vectors,
                                          const std::vector<int32_t>& negatives,
                                          const LogUniformSampler& sampler, float hard_negative_beta) {
  check_sampled_softmax_shapes(user_vectors, target_vectors, targets, negative_vectors, negatives);
  check_hard_negative_beta(hard_negative_beta);
  const float beta = hard_negative_beta;
  const int64_t batch = user_vectors.size(0), width = user_vectors.size(1);
  const int64_t negative_count = static_cast<int64_t>(negatives.size());
  const int64_t columns = 1 + negative_count;
  const std::vector<float> negative_correction = negative_corrections(negatives, sampler);
  const double log_m = std::log(static_cast<double>(negative_count));

  // z [B, 1 + M]: the negatives' scores u·e_m by one gemm writing past column 0, then the
  // target's score u·e_t in column 0; then the corrections and the removed hits.
  SampledSoftmaxOutput output;
  output.logits = make_result("sampled_softmax_logits", Shape{batch, columns}, {});  // a constant: see loss
  float* z = output.logits.data();
  const float* users = user_vectors.data();
  kernels::gemm(false, true, batch, negative_count, width, 1.0f, users, width, negative_vectors.data(), width, 0.0f,
                z + 1, columns);
  // With β > 0, the normalised hardness a_bm = w_bm / M'_b of every negative, kept for backward. [B, M]
  auto hardness = std::make_shared<Buffer>(beta > 0.0f ? Buffer::zeros(batch * negative_count) : Buffer());
  // Rows are independent here and below: threads share them out, each row computed alike.
  parallel_for(batch, batch >= 2, [&](int64_t b) {
    float* row = z + b * columns;
    row[0] = kernels::dot(users + b * width, target_vectors.data() + b * width, width) -
             static_cast<float>(log_m + std::log(sampler.probability(targets[b])));
    if (beta > 0.0f) add_log_hardness(row + 1, negatives, targets[b], beta, hardness->data() + b * negative_count);
    for (int64_t m = 0; m < negative_count; ++m)
      row[1 + m] = negatives[m] == targets[b] ? -std::numeric_limits<float>::infinity()
                                              : row[1 + m] - negative_correction[m];
  });

  // p = softmax(z) row by row, kept for backward, where it becomes dz in place.
  auto probabilities = std::make_shared<Buffer>(Buffer::uninitialized(batch * columns));  // [B, 1 + M]
  float* p = probabilities->data();
  kernels::softmax_rows(z, p, batch, columns);
  std::vector<double> row_losses(batch);  // −log p[b, 0]
  parallel_for(batch, batch >= 2, [&](int64_t b) {
    const float target_probability = p[b * columns];
    if (target_probability > 1e-30f) {
      row_losses[b] = -std::log(static_cast<double>(target_probability));
    } else {  // p underflowed: −log p = log Σ_c exp(z_c − z_0), summed in double
      double sum = 0.0;
      for (int64_t c = 0; c < columns; ++c) sum += std::exp(static_cast<double>(z[b * columns + c]) - z[b * columns]);
      row_losses[b] = std::log(sum);
    }
  });
  double total_loss = 0.0;  // summed in row order, whatever the thread count
  for (int64_t b = 0; b < batch; ++b) total_loss += row_losses[b];
  output.loss = make_result("sampled_softmax_loss", Shape{1}, {user_vectors, target_vectors, negative_vectors});
  output.loss.data()[0] = static_cast<float>(total_loss / batch);
  if (output.loss.requires_grad())
    output.loss.node()->backward = [probabilities, hardness, beta, batch, width, negative_count, columns](Node& loss) {
      const Node& users = *loss.parents[0];
      const Node& target_vectors = *loss.parents[1];
      const Node& negative_vectors = *loss.parents[2];
      const float upstream = loss.grad.data()[0] / static_cast<float>(batch);
      float* dz = probabilities->data();  // p → dz, in place: [B, 1 + M]
      parallel_for(batch, batch >= 2, [&](int64_t b) {
        kernels::scale(upstream, dz + b * columns, columns);
        dz[b * columns] -= upstream;
        // dz' → ds for the negatives: ds_m = (1 + β) dz'_m − β a_m Σ_k dz'_k (log w_m = log M' + β s_m − LSE_k β s_k)
        if (beta > 0.0f) {
          float* negative_dz = dz + b * columns + 1;
          const float* a = hardness->data() + b * negative_count;
          double total = 0.0;
          for (int64_t m = 0; m < negative_count; ++m) total += negative_dz[m];
          for (int64_t m = 0; m < negative_count; ++m)
            negative_dz[m] = (1.0f + beta) * negative_dz[m] - beta * a[m] * static_cast<float>(total);
        }
      });
      if (const GradientTarget du = gradient_to_overwrite(*loss.parents[0]); du.data) {
        kernels::gemm(false, false, batch, width, negative_count, 1.0f, dz + 1, columns, negative_vectors.value, width,
                      du.beta(), du.data, width);
        for (int64_t b = 0; b < batch; ++b)
          kernels::axpy(dz[b * columns], target_vectors.value + b * width, du.data + b * width, width);
      }
      if (float* dt = grad_or_null(*loss.parents[1]))
        for (int64_t b = 0; b < batch; ++b) kernels::axpy(dz[b * columns], users.value + b * width, dt + b * width, width);
      if (const GradientTarget dn = gradient_to_overwrite(*loss.parents[2]); dn.data)
        kernels::gemm(true, false, negative_count, width, batch, 1.0f, dz + 1, columns, users.value, width, dn.beta(),
                      dn.data, width);
    };
  return output;
}

// The same loss from the engine's general ops, kept as the plain reference the fused op is
// tested against.
SampledSoftmaxOutput sampled_softmax_loss_reference(const Tensor& user_vectors, const Tensor& target_vectors,
                                                    const std::vector<int32_t>& targets,
                                                    const Tensor& negative_vectors,
                                                    const std::vector<int32_t>& negatives,
                                                    const LogUniformSampler& sampler, float hard_negative_beta) {
  check_hard_negative_beta(hard_negative_beta);
  const int64_t batch = user_vectors.size(0);
  const int64_t negative_count = static_cast<int64_t>(negatives.size());
  const int64_t columns = 1 + negative_count;
  // Raw scores: column 0 the target, then every shared negative. [B, 1 + M]
  Tensor target_scores = reshape(dot_last(user_vectors, target_vectors), Shape{batch, 1});
  Tensor negative_scores = matmul(user_vectors, negative_vectors, /*transpose_b=*/true);  // [B, M]
  if (hard_negative_beta > 0.0f) {
    // + log w = log M'_b + log_softmax(β s) over each row's kept negatives. [B, M]
    std::vector<float> kept(batch * negative_count, 1.0f), log_kept(batch * negative_count, 0.0f);
    for (int64_t b = 0; b < batch; ++b) {
      int64_t count = 0;
      for (int64_t m = 0; m < negative_count; ++m) {
        if (negatives[m] == targets[b]) kept[b * negative_count + m] = 0.0f;
        count += negatives[m] != targets[b];
      }
      for (int64_t m = 0; m < negative_count; ++m)
        log_kept[b * negative_count + m] = count > 0 ? static_cast<float>(std::log(static_cast<double>(count))) : 0.0f;
    }
    const Tensor keep_negatives = Tensor::from_values(Shape{batch, negative_count}, kept);
    Tensor log_weights = add(log_softmax(scale(negative_scores, hard_negative_beta), keep_negatives),
                             Tensor::from_values(Shape{batch, negative_count}, log_kept));
    // Removed hits are −∞ here; masked_fill below drops them (and their gradient) again.
    negative_scores = add(negative_scores, masked_fill(log_weights, keep_negatives, 0.0f));
  }
  Tensor scores = concat_last(target_scores, negative_scores);

  // The log-Q correction and the accidental-hit mask, both constants. [B, 1 + M]
  const double log_m = std::log(static_cast<double>(negative_count));
  std::vector<float> negative_correction(negative_count);  // the same for every row
  for (int64_t m = 0; m < negative_count; ++m)
    negative_correction[m] = static_cast<float>(log_m + std::log(sampler.probability(negatives[m])));
  std::vector<float> correction(batch * columns), keep(batch * columns, 1.0f);
  for (int64_t b = 0; b < batch; ++b) {
    correction[b * columns] = static_cast<float>(log_m + std::log(sampler.probability(targets[b])));
    for (int64_t m = 0; m < negative_count; ++m) {
      correction[b * columns + 1 + m] = negative_correction[m];
      if (negatives[m] == targets[b]) keep[b * columns + 1 + m] = 0.0f;
    }
  }
  const Tensor mask = Tensor::from_values(Shape{batch, columns}, keep);
  SampledSoftmaxOutput output;
  output.logits = masked_fill(sub(scores, Tensor::from_values(Shape{batch, columns}, correction)), mask,
                              -std::numeric_limits<float>::infinity());
  output.loss = cross_entropy(output.logits, std::vector<int32_t>(batch, 0), mask);
  return output;
}

Tensor full_softmax_loss(const Tensor& user_vectors, const Tensor& all_items, const std::vector<int32_t>& targets) {
  return cross_entropy(matmul(user_vectors, all_items, /*transpose_b=*/true), targets);  // [B, N] logits
}

Tensor interest_similarity_penalty(const Tensor& interests, const Tensor& interest_mask) {
  const int64_t batch = interests.size(0), K = interests.size(1);
  Tensor unit = l2_normalize(interests);                                   // [B, K, d]
  Tensor cosines = batched_matmul(unit, unit, false, true);                // [B, K, K]
  std::vector<float> pair_weight(batch * K * K, 0.0f);  // 1/(B·K'²) for live pairs
  for (int64_t b = 0; b < batch; ++b) {
    int64_t live = 0;
    for (int64_t j = 0; j < K; ++j) live += interest_mask.data()[b * K + j] != 0.0f;
    const float weight = 1.0f / static_cast<float>(batch * live * live);
    for (int64_t i = 0; i < K; ++i)
      for (int64_t j = 0; j < K; ++j)
        if (interest_mask.data()[b * K + i] != 0.0f && interest_mask.data()[b * K + j] != 0.0f)
          pair_weight[(b * K + i) * K + j] = weight;
  }
  return sum_all(mul(cosines, Tensor::from_values(Shape{batch, K, K}, pair_weight)));
}

}  // namespace mind::nn
