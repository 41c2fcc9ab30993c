// Exact top-N: the plain reference (score everything, sort) and the fast version (GEMM of a group
// of users' live interests with cache-sized item blocks, a bounded heap per user that most items
// leave after one comparison, OpenMP over groups).
// Both rank higher scores first, ties to the lower item index; scores may differ in the last bits.
#include "data/retrieval.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <stdexcept>
#include <string>

#include <omp.h>

#include "autograd/kernels.h"

namespace mind::data {

namespace {

struct Candidate {
  float score = 0.0f;
  int32_t item = 0;
  int32_t interest = 0;  // the live interest that gave the score
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

// Max over the live interests, NaN treated as -infinity (a NaN never compares greater), and
// the first interest reaching it.
Candidate reference_candidate(const RetrievalInputs& inputs, int64_t user, int64_t item) {
  const float* item_row = inputs.item_embeddings + item * inputs.width;
  Candidate best{-std::numeric_limits<float>::infinity(), static_cast<int32_t>(item), 0};
  for (int32_t interest = 0; interest < inputs.interest_counts[user]; ++interest) {
    const float* interest_row =
        inputs.user_interests + (user * inputs.max_interests + interest) * inputs.width;
    float score = 0.0f;
    for (int64_t k = 0; k < inputs.width; ++k) score += interest_row[k] * item_row[k];
    if (score > best.score) {
      best.score = score;
      best.interest = interest;
    }
  }
  return best;
}

// Empty lists of the right size: item -1, score -infinity, interest -1 everywhere.
RankedLists empty_lists(int64_t user_count, int64_t top_n) {
  RankedLists lists;
  lists.top_n = top_n;
  lists.items.assign(user_count * top_n, -1);  // [user_count, top_n]
  lists.scores.assign(user_count * top_n, -std::numeric_limits<float>::infinity());
  lists.interests.assign(user_count * top_n, -1);
  return lists;
}

// Work is cut into groups of users x blocks of items. A group's live interests against a block
// of items is one matrix product, [live rows of the group, d] x [items_per_block, d]^T, read
// straight from the item table (the GEMM packs the block itself; an earlier version transposed
// each block by hand first, which took longer than the product). The block (128 KiB at d = 64)
// stays in cache while every interest of the group passes over it. Dead interests are left out
// of the product, and bigger groups make a taller product, which the GEMM runs nearer its peak.
constexpr int64_t items_per_block = 512;
constexpr int64_t min_users_per_group = 8;
constexpr int64_t max_users_per_group = 64;

// Groups as big as allowed (a taller product runs nearer the GEMM's peak), at least 2 per
// thread, and a multiple of the thread count in number so that the threads finish together.
int64_t users_per_group(int64_t user_count, int64_t thread_count) {
  const int64_t wanted = (user_count + 2 * thread_count - 1) / (2 * thread_count);
  const int64_t size = std::clamp(wanted, min_users_per_group, max_users_per_group);
  const int64_t groups = (user_count + size - 1) / size;
  const int64_t balanced_groups = (groups + thread_count - 1) / thread_count * thread_count;
  return std::max<int64_t>(1, (user_count + balanced_groups - 1) / balanced_groups);
}

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

RankedLists retrieve_ranked_reference(const RetrievalInputs& inputs, int64_t top_n) {
  check_inputs(inputs, top_n);
  RankedLists lists = empty_lists(inputs.user_count, top_n);
  for (int64_t user = 0; user < inputs.user_count; ++user) {
    std::vector<bool> excluded(inputs.item_count, false);
    if (inputs.exclude_history) {
      for (int32_t item : inputs.excluded[user]) excluded[item] = true;
    }
    std::vector<Candidate> candidates;
    for (int64_t item = 0; item < inputs.item_count; ++item) {
      if (excluded[item]) continue;
      candidates.push_back(reference_candidate(inputs, user, item));
    }
    std::sort(candidates.begin(), candidates.end(), ranks_before);
    const int64_t kept = std::min<int64_t>(top_n, static_cast<int64_t>(candidates.size()));
    for (int64_t rank = 0; rank < kept; ++rank) {
      lists.items[user * top_n + rank] = candidates[rank].item;
      lists.scores[user * top_n + rank] = candidates[rank].score;
      lists.interests[user * top_n + rank] = candidates[rank].interest;
    }
  }
  return lists;
}

std::vector<int32_t> retrieve_top_n_reference(const RetrievalInputs& inputs, int64_t top_n) {
  return retrieve_ranked_reference(inputs, top_n).items;
}

namespace {

// The fast ranking; `with_interests` also records which interest gave each best score (serving
// shows it; evaluation does not need it).
RankedLists rank_fast(const RetrievalInputs& inputs, int64_t top_n, bool with_interests) {
  check_inputs(inputs, top_n);
  RankedLists lists = empty_lists(inputs.user_count, top_n);
  const int64_t width = inputs.width;
  const int64_t max_interests = inputs.max_interests;
  const int64_t group_users = users_per_group(inputs.user_count, omp_get_max_threads());
  const int64_t group_count = (inputs.user_count + group_users - 1) / group_users;
#pragma omp parallel
  {
    // Per-thread scratch, reused for every group the thread takes.
    std::vector<float> live_interests(group_users * max_interests * width);  // [live rows, d]
    std::vector<int64_t> first_row(group_users + 1);  // member m owns live rows first_row[m]..first_row[m+1]-1
    std::vector<float> scores(group_users * max_interests * items_per_block);  // [live rows, block]
    std::vector<float> best(items_per_block);                                  // [block]
    std::vector<std::vector<Candidate>> heaps(group_users);
    // Each user's excluded items, sorted, and how far the item sweep has got through them.
    std::vector<std::vector<int32_t>> excluded(group_users);
    std::vector<size_t> next_excluded(group_users);
#pragma omp for schedule(dynamic)
    for (int64_t group = 0; group < group_count; ++group) {
      const int64_t first_user = group * group_users;
      const int64_t group_size = std::min(group_users, inputs.user_count - first_user);
      int64_t live_rows = 0;
      for (int64_t member = 0; member < group_size; ++member) {
        const int64_t user = first_user + member;
        heaps[member].clear();
        excluded[member].clear();
        next_excluded[member] = 0;
        if (inputs.exclude_history) {
          const std::span<const int32_t> history = inputs.excluded[user];
          excluded[member].assign(history.begin(), history.end());
          std::sort(excluded[member].begin(), excluded[member].end());
        }
        first_row[member] = live_rows;
        const int64_t live = inputs.interest_counts[user];
        std::copy(inputs.user_interests + user * max_interests * width,
                  inputs.user_interests + (user * max_interests + live) * width,
                  live_interests.begin() + live_rows * width);
        live_rows += live;
      }
      first_row[group_size] = live_rows;
      for (int64_t block_begin = 0; block_begin < inputs.item_count; block_begin += items_per_block) {
        const int64_t block_size = std::min(items_per_block, inputs.item_count - block_begin);
        const float* block_items = inputs.item_embeddings + block_begin * width;  // [block, d]
        // scores[row, offset] = live interest row · item (block_begin + offset): [rows, d] x [block, d]^T
        kernels::gemm(false, true, live_rows, block_size, width, 1.0f, live_interests.data(), width,
                      block_items, width, 0.0f, scores.data(), block_size);
        for (int64_t member = 0; member < group_size; ++member) {
          // Max over the member's live interests; a NaN never compares greater, so it acts as
          // -infinity. (A plain loop over contiguous rows: the compiler vectorises it.)
          std::fill(best.begin(), best.begin() + block_size, -std::numeric_limits<float>::infinity());
          for (int64_t row = first_row[member]; row < first_row[member + 1]; ++row) {
            const float* row_scores = scores.data() + row * block_size;
            for (int64_t offset = 0; offset < block_size; ++offset)
              best[offset] = row_scores[offset] > best[offset] ? row_scores[offset] : best[offset];
          }
          std::vector<Candidate>& heap = heaps[member];
          const std::vector<int32_t>& member_excluded = excluded[member];
          size_t& cursor = next_excluded[member];
          for (int64_t offset = 0; offset < block_size; ++offset) {
            // Once the heap is full, only a strictly higher score than its worst can enter: items
            // come in increasing order, so an equal score loses the tie to the item already held.
            // Most items stop at this one comparison.
            if (static_cast<int64_t>(heap.size()) == top_n && !(best[offset] > heap.front().score)) continue;
            const int32_t item = static_cast<int32_t>(block_begin + offset);
            while (cursor < member_excluded.size() && member_excluded[cursor] < item) ++cursor;
            if (cursor < member_excluded.size() && member_excluded[cursor] == item) continue;
            // Which interest gave the score: the first row reaching it. Looked up only for the
            // few items that enter the heap, so evaluation and serving rank at the same speed.
            int32_t interest = 0;
            if (with_interests) {
              for (int64_t row = first_row[member]; row < first_row[member + 1]; ++row) {
                if (scores[row * block_size + offset] == best[offset]) {
                  interest = static_cast<int32_t>(row - first_row[member]);
                  break;
                }
              }
            }
            offer(heap, top_n, Candidate{best[offset], item, interest});
          }
        }
      }
      for (int64_t member = 0; member < group_size; ++member) {
        std::vector<Candidate>& heap = heaps[member];
        std::sort_heap(heap.begin(), heap.end(), ranks_before);  // best first
        const int64_t row = (first_user + member) * top_n;
        for (size_t rank = 0; rank < heap.size(); ++rank) {
          lists.items[row + rank] = heap[rank].item;
          lists.scores[row + rank] = heap[rank].score;
          lists.interests[row + rank] = with_interests ? heap[rank].interest : -1;
        }
      }
    }
  }
  return lists;
}

}  // namespace

std::vector<int32_t> retrieve_top_n(const RetrievalInputs& inputs, int64_t top_n) {
  return rank_fast(inputs, top_n, false).items;
}

RankedLists retrieve_ranked(const RetrievalInputs& inputs, int64_t top_n) {
  return rank_fast(inputs, top_n, true);
}

}  // namespace mind::data
