// Encode, retrieve, score.
#include "train/evaluate.h"

#include <cstdio>
#include <cstring>
#include <span>

#include "data/retrieval.h"
#include "io/atomic_file.h"

namespace mind::train {

std::vector<float> item_vectors(const models::Model& model) {
  NoGrad no_grad;
  return model.item_embedding().all_items().values();
}

EncodedUsers encode_users(const models::Model& model, const data::Dataset& dataset,
                          const std::vector<data::EvalUser>& users, int64_t batch_size,
                          const BetweenBatches& between_batches, bool* completed) {
  if (completed != nullptr) *completed = true;
  NoGrad no_grad;
  const int64_t K = model.config().model == "youtube_dnn" ? 1 : model.config().interests;
  const int64_t d = model.config().dim;
  EncodedUsers encoded;
  encoded.users = users;
  encoded.interest_count = K;
  encoded.width = d;
  encoded.interests.assign(users.size() * K * d, 0.0f);
  encoded.counts.assign(users.size(), 0);
  data::Batch batch;
  Rng serving_rng(0);  // only used by fresh routing logits: fixed, so serving is repeatable
  for (int64_t first = 0; first < static_cast<int64_t>(users.size()); first += batch_size) {
    const int64_t count = std::min<int64_t>(batch_size, static_cast<int64_t>(users.size()) - first);
    data::make_eval_batch(dataset, users, first, count, model.config().max_len, batch);
    models::UserInterests result = model.encode(batch, &serving_rng);
    const float* values = result.interests.data();      // [B, K, d]
    const float* live = result.interest_mask.data();    // [B, K]
    for (int64_t b = 0; b < count; ++b) {
      int32_t live_count = 0;
      for (int64_t j = 0; j < K; ++j) {
        if (live[b * K + j] == 0.0f) continue;  // live interests come first (j < K'_u)
        std::memcpy(&encoded.interests[((first + b) * K + live_count) * d], values + (b * K + j) * d, d * sizeof(float));
        ++live_count;
      }
      encoded.counts[first + b] = live_count;
    }
    if (between_batches && !between_batches(first + count, static_cast<int64_t>(users.size()))) {
      if (completed != nullptr) *completed = false;
      return encoded;
    }
  }
  return encoded;
}

Evaluation evaluate(const models::Model& model, const data::Dataset& dataset, data::Split split,
                    bool exclude_history, int64_t batch_size, bool with_diagnostics,
                    const BetweenBatches& between_batches) {
  Evaluation evaluation;
  const std::vector<data::EvalUser> users = data::evaluation_users(dataset, split);
  const int64_t user_count = static_cast<int64_t>(users.size());
  // Two passes over the users, encoding and ranking, and a third with the diagnostics.
  const int64_t passes = with_diagnostics ? 3 : 2;
  const BetweenBatches encoding = !between_batches ? BetweenBatches() : [&](int64_t done, int64_t total) {
    return between_batches(done, passes * total);
  };
  evaluation.encoded = encode_users(model, dataset, users, batch_size, encoding, &evaluation.completed);
  if (!evaluation.completed || users.empty()) return evaluation;
  const std::vector<float> items = item_vectors(model);

  data::RetrievalInputs inputs;
  inputs.item_embeddings = items.data();
  inputs.item_count = dataset.item_count;
  inputs.width = evaluation.encoded.width;
  inputs.user_interests = evaluation.encoded.interests.data();
  inputs.interest_counts = evaluation.encoded.counts.data();
  inputs.user_count = static_cast<int64_t>(users.size());
  inputs.max_interests = evaluation.encoded.interest_count;
  inputs.exclude_history = exclude_history;
  for (const data::EvalUser& user : users)  // the whole evaluation history, not only the last L
    inputs.excluded.emplace_back(dataset.sequences[user.user].data(), user.history_length);
  const int64_t list_length = 50;
  std::vector<int32_t> ranked;  // [U, 50]
  ranked.reserve(users.size() * list_length);
  for (int64_t first = 0; first < user_count; first += batch_size) {
    const int64_t count = std::min<int64_t>(batch_size, user_count - first);
    data::RetrievalInputs slice = inputs;
    const int64_t K = inputs.max_interests;
    slice.user_interests = inputs.user_interests + first * K * inputs.width;
    slice.interest_counts = inputs.interest_counts + first;
    slice.user_count = count;
    slice.excluded.assign(inputs.excluded.begin() + first, inputs.excluded.begin() + first + count);
    const std::vector<int32_t> lists = data::retrieve_top_n(slice, list_length);
    ranked.insert(ranked.end(), lists.begin(), lists.end());
    if (between_batches && !between_batches(user_count + first + count, passes * user_count)) {
      evaluation.completed = false;
      return evaluation;
    }
  }
  evaluation.metrics = data::evaluate_ranked_lists(users, ranked.data(), list_length);
  if (with_diagnostics) {  // collapse and live counts on any data; purity and coverage need categories
    std::vector<int32_t> dense_users;
    for (const data::EvalUser& user : users) dense_users.push_back(user.user);
    // The diagnostics rank interests, not users: their share of the third pass.
    const BetweenBatches diagnosing = !between_batches ? BetweenBatches() : [&](int64_t done, int64_t total) {
      return between_batches(2 * user_count + user_count * done / std::max<int64_t>(1, total), 3 * user_count);
    };
    evaluation.diagnostics =
        data::diagnose_interests(dataset, inputs, dense_users.data(), diagnosing, &evaluation.completed);
  }
  return evaluation;
}

void write_metrics_by_user(const std::string& path, const data::Dataset& dataset, const data::EvalResult& result) {
  std::string text = "user\trecall@20\trecall@50\thitrate@20\thitrate@50\tndcg@20\tndcg@50\n";
  for (const data::UserMetrics& row : result.users) {
    // 10 significant digits: the mean of the rows matches metrics.jsonl far below its 4 printed decimals.
    char numbers[160];
    std::snprintf(numbers, sizeof(numbers), "\t%.10g\t%.10g\t%.10g\t%.10g\t%.10g\t%.10g\n", row.at_20.recall,
                  row.at_50.recall, row.at_20.hit_rate, row.at_50.hit_rate, row.at_20.ndcg, row.at_50.ndcg);
    text += dataset.user_original_ids[row.user];
    text += numbers;
  }
  io::AtomicFileWriter writer(path);
  writer.write(text.data(), text.size());
  writer.commit();
}

}  // namespace mind::train
