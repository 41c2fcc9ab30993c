// Interest purity and coverage: rank the catalogue for each live interest on its own (retrieval
// with one interest per row), then count categories in each top-20.
#include "data/diagnostics.h"

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <string>
#include <vector>

namespace mind::data {

namespace {

struct Majority {
  int32_t category = -1;   // most common category in the list, ties to the lowest index
  int64_t item_count = 0;  // items of the list carrying it
  int64_t list_size = 0;   // real items in the list (a -1 ends it)
};

// `counts` is scratch of one slot per category, all zero on entry and on exit.
Majority majority_category(const int32_t* items, int64_t length,
                           const std::vector<std::vector<int32_t>>& item_categories,
                           std::vector<int64_t>& counts) {
  Majority majority;
  for (int64_t rank = 0; rank < length && items[rank] >= 0; ++rank) {
    ++majority.list_size;
    for (int32_t category : item_categories[items[rank]]) ++counts[category];
  }
  for (int64_t rank = 0; rank < majority.list_size; ++rank) {
    for (int32_t category : item_categories[items[rank]]) {
      const bool better = counts[category] > majority.item_count ||
                          (counts[category] == majority.item_count && category < majority.category);
      if (counts[category] > 0 && better) {
        majority.category = category;
        majority.item_count = counts[category];
      }
    }
  }
  for (int64_t rank = 0; rank < majority.list_size; ++rank) {
    for (int32_t category : item_categories[items[rank]]) counts[category] = 0;
  }
  return majority;
}

void check_categories(const std::vector<std::vector<int32_t>>& item_categories,
                      int64_t category_count, const char* table) {
  for (size_t item = 0; item < item_categories.size(); ++item) {
    for (int32_t category : item_categories[item]) {
      if (category < 0 || category >= category_count) {
        throw std::runtime_error(std::string("diagnose_interests: ") + table + " of item " +
                                 std::to_string(item) + " is " + std::to_string(category) +
                                 ", outside the " + std::to_string(category_count) + " categories");
      }
    }
  }
}

// Collapse and the live-count histogram, from the interest vectors alone.
void measure_collapse(const RetrievalInputs& interests, InterestDiagnostics& diagnostics) {
  const int64_t K = interests.max_interests, width = interests.width;
  diagnostics.users_with_live_interests.assign(static_cast<size_t>(K), 0);
  double collapse_sum = 0.0;
  for (int64_t row = 0; row < interests.user_count; ++row) {
    const int32_t live = interests.interest_counts[row];
    if (live < 1 || live > K)
      throw std::runtime_error("diagnose_interests: row " + std::to_string(row) + " has interest count " +
                               std::to_string(live) + ", outside 1.." + std::to_string(K));
    ++diagnostics.users_with_live_interests[live - 1];
    if (live < 2) continue;
    const float* vectors = interests.user_interests + row * K * width;  // [K, d]
    std::vector<double> norms(live);
    for (int32_t i = 0; i < live; ++i) {
      double square = 0.0;
      for (int64_t k = 0; k < width; ++k) square += static_cast<double>(vectors[i * width + k]) * vectors[i * width + k];
      norms[i] = std::sqrt(square);
    }
    double cosine_sum = 0.0;
    for (int32_t i = 0; i < live; ++i)
      for (int32_t j = i + 1; j < live; ++j) {
        if (norms[i] == 0.0 || norms[j] == 0.0) continue;
        double dot = 0.0;
        for (int64_t k = 0; k < width; ++k) dot += static_cast<double>(vectors[i * width + k]) * vectors[j * width + k];
        cosine_sum += dot / (norms[i] * norms[j]);
      }
    collapse_sum += cosine_sum / (static_cast<double>(live) * (live - 1) / 2.0);
    ++diagnostics.collapse_user_count;
  }
  if (diagnostics.collapse_user_count > 0)
    diagnostics.interest_collapse = collapse_sum / static_cast<double>(diagnostics.collapse_user_count);
}

}  // namespace

InterestDiagnostics diagnose_interests(const Dataset& dataset, const RetrievalInputs& interests,
                                       const int32_t* users, const BetweenBatches& between_batches,
                                       bool* completed) {
  if (completed != nullptr) *completed = true;
  InterestDiagnostics diagnostics;
  measure_collapse(interests, diagnostics);
  const bool has_categories = !dataset.item_categories.empty();
  const bool has_truth =
      !dataset.true_item_category.empty() && !dataset.true_user_interests.empty();
  if (!has_categories && !has_truth) return diagnostics;
  const int64_t category_count = static_cast<int64_t>(dataset.category_names.size());
  if (has_categories) {
    if (static_cast<int64_t>(dataset.item_categories.size()) != interests.item_count) {
      throw std::runtime_error("diagnose_interests: the dataset has categories for " +
                               std::to_string(dataset.item_categories.size()) +
                               " items, the embeddings " + std::to_string(interests.item_count));
    }
    check_categories(dataset.item_categories, category_count, "category");
  }
  // The true category as a one-element list per item, so one counting routine serves both.
  std::vector<std::vector<int32_t>> true_categories;
  if (has_truth) {
    if (static_cast<int64_t>(dataset.true_item_category.size()) != interests.item_count) {
      throw std::runtime_error("diagnose_interests: the dataset has true categories for " +
                               std::to_string(dataset.true_item_category.size()) +
                               " items, the embeddings " + std::to_string(interests.item_count));
    }
    for (int32_t category : dataset.true_item_category) true_categories.push_back({category});
    check_categories(true_categories, category_count, "true category");
  }

  // Every live interest becomes a one-interest "user" for retrieval.
  const int64_t width = interests.width;
  std::vector<float> live_rows;    // [live_total, width]
  std::vector<int32_t> owner_row;  // [live_total], the interest row it came from
  for (int64_t row = 0; row < interests.user_count; ++row) {
    const int32_t live = interests.interest_counts[row];
    if (live < 1 || live > interests.max_interests) {
      throw std::runtime_error("diagnose_interests: row " + std::to_string(row) +
                               " has interest count " + std::to_string(live));
    }
    for (int32_t interest = 0; interest < live; ++interest) {
      const float* vector =
          interests.user_interests + (row * interests.max_interests + interest) * width;
      live_rows.insert(live_rows.end(), vector, vector + width);
      owner_row.push_back(static_cast<int32_t>(row));
    }
  }
  const int64_t live_total = static_cast<int64_t>(owner_row.size());
  if (live_total == 0) return diagnostics;
  const std::vector<int32_t> ones(live_total, 1);  // [live_total]
  RetrievalInputs single;
  single.item_embeddings = interests.item_embeddings;
  single.item_count = interests.item_count;
  single.width = width;
  single.user_interests = live_rows.data();
  single.interest_counts = ones.data();
  single.user_count = live_total;
  single.max_interests = 1;
  single.exclude_history = false;
  const int64_t length = diagnostics_list_length;
  std::vector<int32_t> top;  // [live_total, 20]
  top.reserve(live_total * length);
  for (int64_t first = 0; first < live_total; first += diagnostics_batch_interests) {
    const int64_t count = std::min(diagnostics_batch_interests, live_total - first);
    RetrievalInputs batch = single;  // each interest's list is its own: batching changes nothing
    batch.user_interests = live_rows.data() + first * width;
    batch.interest_counts = ones.data() + first;
    batch.user_count = count;
    const std::vector<int32_t> lists = retrieve_top_n(batch, length);  // [count, 20]
    top.insert(top.end(), lists.begin(), lists.end());
    if (between_batches && !between_batches(first + count, live_total)) {
      if (completed != nullptr) *completed = false;
      return diagnostics;
    }
  }

  std::vector<int64_t> counts(category_count, 0);  // scratch for majority_category
  if (has_categories) {
    double purity_sum = 0.0;
    for (int64_t live = 0; live < live_total; ++live) {
      const Majority majority =
          majority_category(top.data() + live * length, length, dataset.item_categories, counts);
      if (majority.list_size > 0) {
        purity_sum +=
            static_cast<double>(majority.item_count) / static_cast<double>(majority.list_size);
      }
    }
    diagnostics.interest_count = live_total;
    diagnostics.purity = purity_sum / static_cast<double>(live_total);
  }
  if (has_truth) {
    double coverage_sum = 0.0;
    int64_t live = 0;
    for (int64_t row = 0; row < interests.user_count; ++row) {
      std::vector<int32_t> found;  // majority true categories of this row's live interests
      for (int32_t interest = 0; interest < interests.interest_counts[row]; ++interest, ++live) {
        const Majority majority =
            majority_category(top.data() + live * length, length, true_categories, counts);
        found.push_back(majority.category);
      }
      if (users == nullptr || users[row] < 0 ||
          users[row] >= static_cast<int64_t>(dataset.true_user_interests.size())) {
        throw std::runtime_error("diagnose_interests: interest row " + std::to_string(row) +
                                 " has no valid dense user for the ground truth");
      }
      const std::vector<int32_t>& planted = dataset.true_user_interests[users[row]];
      if (planted.empty()) continue;
      int64_t covered = 0;
      for (int32_t category : planted) {
        if (std::find(found.begin(), found.end(), category) != found.end()) ++covered;
      }
      coverage_sum += static_cast<double>(covered) / static_cast<double>(planted.size());
      ++diagnostics.user_count;
    }
    if (diagnostics.user_count > 0) {
      diagnostics.coverage = coverage_sum / static_cast<double>(diagnostics.user_count);
    }
  }
  return diagnostics;
}

}  // namespace mind::data
