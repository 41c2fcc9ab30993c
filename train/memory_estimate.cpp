#include "train/memory_estimate.h"

#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <stdexcept>

namespace mind::train {

namespace {

constexpr double float_bytes = 4.0;

}  // namespace

MemoryEstimate estimate_memory(const TrainOptions& options, const models::Catalogue& catalogue,
                               int64_t evaluated_users) {
  const models::ModelConfig& model = options.model;
  // Doubles throughout: the products of huge flags must not overflow before they are compared.
  const double d = static_cast<double>(model.dim), K = static_cast<double>(model.interests);
  const double L = static_cast<double>(model.max_len), R = static_cast<double>(model.routing_iterations);
  const double N = static_cast<double>(catalogue.item_count), B = static_cast<double>(options.batch_size);
  const double M = model.loss == "sampled" ? static_cast<double>(model.negatives) : N;
  const double E = static_cast<double>(std::min(options.eval_batch_size, std::max<int64_t>(1, evaluated_users)));
  double profile_width = 0, profile_values = 0;
  for (int64_t values : catalogue.profile_cardinalities) {
    profile_width += static_cast<double>(model.profile_width);
    profile_values += static_cast<double>(values);
  }

  // Weights: item and category embeddings [N + C, d], profile tables, routing logits [K, L],
  // the bilinear map [d, d], the MLP, ComiRec-SA's attention [d_a, d] and [K, d_a]. Each weight has
  // a gradient and two Adam moments: four floats.
  double mlp_weights = 0, hidden_sum = 0, width_in = d + profile_width;
  for (int64_t hidden : model.hidden) {
    mlp_weights += width_in * static_cast<double>(hidden);
    hidden_sum += static_cast<double>(hidden);
    width_in = static_cast<double>(hidden);
  }
  mlp_weights += width_in * d;
  const double embeddings = (N + static_cast<double>(catalogue.category_count)) * d +
                            profile_values * static_cast<double>(model.profile_width);
  const double other_weights = K * L + d * d + static_cast<double>(model.attention_width) * (d + K);
  MemoryEstimate estimate;
  estimate.parameter_bytes = 4 * float_bytes * (embeddings + mlp_weights + other_weights);

  // A step: the history [B, L] ids and embeddings [B, L, d], routing's predictions and every
  // iteration's weights [B, K, L] and capsules [B, K, d], the MLP over [B, K, hidden], the
  // negatives [M, d] and logits [B, 1 + M]; the tape keeps them all, and backward doubles them.
  const double history = B * L * d * (2 + 2 * R);
  const double routing = B * K * L * R * 3 + B * K * d * R * 4;
  const double mlp = B * K * (hidden_sum * 2 + d);
  const double loss = M * d + B * (1 + M);
  estimate.step_bytes = 2 * float_bytes * (history + routing + mlp + loss) + B * L * 4;
  // An evaluation batch: its histories and interests, and the score of every item for each user.
  const double evaluation_histories = E * L * d * (2 + R), evaluation_interests = E * K * (d + hidden_sum);
  const double evaluation_scores = E * N * 2;
  estimate.evaluation_bytes = float_bytes * (evaluation_histories + evaluation_interests + evaluation_scores);
  std::string hidden_text;
  for (int64_t hidden : model.hidden) hidden_text += (hidden_text.empty() ? "" : ",") + std::to_string(hidden);

  const std::string iterations = ", --routing-iterations " + std::to_string(model.routing_iterations);
  struct Part {
    double bytes;
    std::string what;
  };
  const Part parts[] = {
      {4 * float_bytes * embeddings, "the embeddings [N + categories, d] with their gradients and Adam moments "
                                     "(--dim " + std::to_string(model.dim) + ", " + std::to_string(catalogue.item_count) +
                                     " items)"},
      {4 * float_bytes * mlp_weights, "the MLP's weights with their gradients and Adam moments (--hidden " + hidden_text +
                                          ", --dim " + std::to_string(model.dim) + ")"},
      {2 * float_bytes * history, "a step's histories [B, L, d] through routing (--max-len " +
                                      std::to_string(model.max_len) + ", --batch-size " +
                                      std::to_string(options.batch_size) + ", --dim " + std::to_string(model.dim) +
                                      iterations + ")"},
      {2 * float_bytes * routing, "a step's routing [B, K, L] over R iterations (--interests " +
                                      std::to_string(model.interests) + ", --max-len " + std::to_string(model.max_len) +
                                      iterations + ")"},
      {2 * float_bytes * mlp, "a step's MLP activations [B, K, hidden] (--hidden " + hidden_text + ", --batch-size)"},
      {2 * float_bytes * loss, "a step's negatives and logits [B, 1 + M] (--negatives " +
                                   std::to_string(model.negatives) + ", --loss " + model.loss + ", --batch-size " +
                                   std::to_string(options.batch_size) + ")"},
      {float_bytes * evaluation_histories, "an evaluation batch's histories [users, L, d] (--max-len " +
                                               std::to_string(model.max_len) + ", --eval-batch-size " +
                                               std::to_string(options.eval_batch_size) + ", --dim " + std::to_string(model.dim) +
                                               iterations + ")"},
      {float_bytes * evaluation_interests, "an evaluation batch's MLP activations (--hidden " + hidden_text +
                                               ", --eval-batch-size)"},
      {float_bytes * evaluation_scores, "an evaluation batch's scores of every item [users, N] (--eval-batch-size " +
                                            std::to_string(options.eval_batch_size) + ")"},
  };
  double largest = -1;
  for (const Part& part : parts)
    if (part.bytes > largest) {
      largest = part.bytes;
      estimate.largest_part = part.what;
    }
  return estimate;
}

double available_memory_bytes() {
  const double physical = static_cast<double>(sysconf(_SC_PHYS_PAGES)) * static_cast<double>(sysconf(_SC_PAGE_SIZE));
  std::ifstream cgroup("/sys/fs/cgroup/memory.max");  // cgroup v2; "max" when unlimited
  double limit = 0;
  if (cgroup >> limit && limit > 0 && limit < physical) return limit;
  return physical;
}

std::string memory_text(double bytes) {
  const char* units[] = {"bytes", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};
  int unit = 0;
  while (bytes >= 1024 && unit < 6) {
    bytes /= 1024;
    ++unit;
  }
  char text[64];
  std::snprintf(text, sizeof(text), bytes >= 1e6 ? "%.3g %s" : "%.1f %s", bytes, units[unit]);
  return text;
}

void require_memory(const MemoryEstimate& estimate, double available) {
  if (estimate.total() <= available) return;
  throw std::invalid_argument("the model and a training step need at least " + memory_text(estimate.total()) +
                              ", more than the " + memory_text(available) + " of memory this process may use; " +
                              "the largest part is " + estimate.largest_part + ": lower it");
}

}  // namespace mind::train
