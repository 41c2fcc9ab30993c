// Exact top-N: the plain reference (score everything, sort) and the fast version (GEMM of a group
// of users' interests with cache-sized item blocks, a bounded heap per user, OpenMP over groups).
// Both rank higher scores first, ties to the lower item index; scores may differ in the last bits.
#include "data/retrieval.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <stdexcept>
#include <string>

#include "autograd/kernels.h"

namespace mind::data {

namespace {

struct Candidate {
  float score = 0.0f;
  int32_t item = 0;
};

// The ranking order of protocol v1: a comes before b.
bool ranks_before(const Candidate& a, const Candidate& b) {
  if (a.score != b.score) return a.score > b.score;
  return a.item < b.item;
}

void check_inputs(const RetrievalInputs& inputs, int64_t top_n) {
  const auto fail = [](const std::string& problem) {
    throw std::runtime_error("retrieval: " + problem);
  };
  if (top_n < 1) fail("top_n must be at least 1, got " + std::to_string(top_n));
  if (inputs.width < 1) fail("width must be at least 1, got " + std::to_string(inputs.width));
  if (inputs.max_interests < 1) {
    fail("max_interests must be at least 1, got " + std::to_string(inputs.max_interests));
  }
  if (inputs.item_count < 0 || inputs.user_count < 0) fail("negative item or user count");
  if (inputs.item_count > std::numeric_limits<int32_t>::max()) fail("more than 2^31-1 items");
  if (inputs.item_count > 0 && inputs.item_embeddings == nullptr) fail("no item embeddings");
  if (inputs.user_count > 0 &&
      (inputs.user_interests == nullptr || inputs.interest_counts == nullptr)) {
    fail("no user interests or interest counts");
  }
  for (int64_t user = 0; user < inputs.user_count; ++user) {
    const int32_t count = inputs.interest_counts[user];
    if (count < 1 || count > inputs.max_interests) {
      fail("user row " + std::to_string(user) + " has interest count " + std::to_string(count) +
           ", expected 1.." + std::to_string(inputs.max_interests));
    }
  }
  if (!inputs.exclude_history) return;
  if (static_cast<int64_t>(inputs.excluded.size()) != inputs.user_count) {
    fail(std::to_string(inputs.excluded.size()) + " exclusion lists for " +
         std::to_string(inputs.user_count) +
         " users (pass exclude_history = false to keep history)");
  }
  for (int64_t user = 0; user < inputs.user_count; ++user) {
    for (int32_t item : inputs.excluded[user]) {
      if (item < 0 || item >= inputs.item_count) {
        fail("user row " + std::to_string(user) + " excludes item " + std::to_string(item) +
             " outside the catalogue of " + std::to_string(inputs.item_count));
      }
    }
  }
}

// Max over the live interests, NaN treated as -infinity (a NaN never compares greater).
float reference_score(const RetrievalInputs& inputs, int64_t user, int64_t item) {
  const float* item_row = inputs.item_embeddings + item * inputs.width;
  float best = -std::numeric_limits<float>::infinity();
  for (int32_t interest = 0; interest < inputs.interest_counts[user]; ++interest) {
    const float* interest_row =
        inputs.user_interests + (user * inputs.max_interests + interest) * inputs.width;
    float score = 0.0f;
    for (int64_t k = 0; k < inputs.width; ++k) score += interest_row[k] * item_row[k];
    if (score > best) best = score;
  }
  return best;
}

// Work is cut into groups of users x blocks of items. A group's interests against a block of
// items is one small matrix product, [users_per_group * K, d] x [d, items_per_block]: the block
// (128 KiB at d = 64) stays in cache while every interest of the group passes over it, and the
// product runs in the engine's vectorised GEMM instead of one horizontal sum per dot product.
constexpr int64_t users_per_group = 16;
constexpr int64_t items_per_block = 512;

// The N best candidates seen so far, worst at the front (a max-heap under ranks_before), so a
// new item usually costs one comparison to reject.
void offer(std::vector<Candidate>& heap, int64_t top_n, const Candidate& candidate) {
  if (static_cast<int64_t>(heap.size()) < top_n) {
    heap.push_back(candidate);
    std::push_heap(heap.begin(), heap.end(), ranks_before);
  } else if (ranks_before(candidate, heap.front())) {
    std::pop_heap(heap.begin(), heap.end(), ranks_before);
    heap.back() = candidate;
    std::push_heap(heap.begin(), heap.end(), ranks_before);
  }
}

}  // namespace

std::vector<int32_t> retrieve_top_n_reference(const RetrievalInputs& inputs, int64_t top_n) {
  check_inputs(inputs, top_n);
  std::vector<int32_t> result(inputs.user_count * top_n, -1);  // [user_count, top_n]
  for (int64_t user = 0; user < inputs.user_count; ++user) {
    std::vector<bool> excluded(inputs.item_count, false);
    if (inputs.exclude_history) {
      for (int32_t item : inputs.excluded[user]) excluded[item] = true;
    }
    std::vector<Candidate> candidates;
    for (int64_t item = 0; item < inputs.item_count; ++item) {
      if (excluded[item]) continue;
      candidates.push_back({reference_score(inputs, user, item), static_cast<int32_t>(item)});
    }
    std::sort(candidates.begin(), candidates.end(), ranks_before);
    const int64_t kept = std::min<int64_t>(top_n, static_cast<int64_t>(candidates.size()));
    for (int64_t rank = 0; rank < kept; ++rank) result[user * top_n + rank] = candidates[rank].item;
  }
  return result;
}

std::vector<int32_t> retrieve_top_n(const RetrievalInputs& inputs, int64_t top_n) {
  check_inputs(inputs, top_n);
  std::vector<int32_t> result(inputs.user_count * top_n, -1);  // [user_count, top_n]
  const int64_t width = inputs.width;
  const int64_t max_interests = inputs.max_interests;
  const int64_t group_count = (inputs.user_count + users_per_group - 1) / users_per_group;
#pragma omp parallel
  {
    // Per-thread scratch, reused for every group the thread takes.
    std::vector<float> scores(users_per_group * max_interests * items_per_block);  // [G*K, block]
    std::vector<std::vector<Candidate>> heaps(users_per_group);
    // Each user's excluded items, sorted, and how far the item sweep has got through them.
    std::vector<std::vector<int32_t>> excluded(users_per_group);
    std::vector<size_t> next_excluded(users_per_group);
#pragma omp for schedule(dynamic)
    for (int64_t group = 0; group < group_count; ++group) {
      const int64_t first_user = group * users_per_group;
      const int64_t group_size = std::min(users_per_group, inputs.user_count - first_user);
      for (int64_t member = 0; member < group_size; ++member) {
        heaps[member].clear();
        excluded[member].clear();
        next_excluded[member] = 0;
        if (inputs.exclude_history) {
          const std::span<const int32_t> history = inputs.excluded[first_user + member];
          excluded[member].assign(history.begin(), history.end());
          std::sort(excluded[member].begin(), excluded[member].end());
        }
      }
      // The group's interests are contiguous rows of user_interests: [group_size * K, d].
      const float* group_interests = inputs.user_interests + first_user * max_interests * width;
      const int64_t interest_rows = group_size * max_interests;
      for (int64_t block_begin = 0; block_begin < inputs.item_count;
           block_begin += items_per_block) {
        const int64_t block_size = std::min(items_per_block, inputs.item_count - block_begin);
        // scores[row, offset] = interest row · item (block_begin + offset)
        kernels::gemm(false, true, interest_rows, block_size, width, 1.0f, group_interests, width,
                      inputs.item_embeddings + block_begin * width, width, 0.0f, scores.data(),
                      block_size);
        for (int64_t member = 0; member < group_size; ++member) {
          const int32_t live = inputs.interest_counts[first_user + member];
          const float* member_scores = scores.data() + member * max_interests * block_size;
          const std::vector<int32_t>& member_excluded = excluded[member];
          size_t& cursor = next_excluded[member];
          for (int64_t offset = 0; offset < block_size; ++offset) {
            const int32_t item = static_cast<int32_t>(block_begin + offset);
            while (cursor < member_excluded.size() && member_excluded[cursor] < item) ++cursor;
            if (cursor < member_excluded.size() && member_excluded[cursor] == item) continue;
            // Max over live interests; a NaN never compares greater, so it acts as -infinity.
            float best = -std::numeric_limits<float>::infinity();
            for (int32_t interest = 0; interest < live; ++interest) {
              const float score = member_scores[interest * block_size + offset];
              if (score > best) best = score;
            }
            offer(heaps[member], top_n, Candidate{best, item});
          }
        }
      }
      for (int64_t member = 0; member < group_size; ++member) {
        std::vector<Candidate>& heap = heaps[member];
        std::sort_heap(heap.begin(), heap.end(), ranks_before);  // best first
        int32_t* row = result.data() + (first_user + member) * top_n;
        for (size_t rank = 0; rank < heap.size(); ++rank) row[rank] = heap[rank].item;
      }
    }
  }
  return result;
}

}  // namespace mind::data
