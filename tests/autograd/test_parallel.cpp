// Tests of parallel_for (autograd/parallel.h): every index runs exactly once whichever way the
// loop goes, a large loop with 2 threads really goes to a team, and a small one, or any loop
// with 1 thread, never enters OpenMP.
#include <doctest/doctest.h>
#include <omp.h>

#include <cstddef>
#include <cstdint>
#include <set>
#include <vector>

#include "autograd/parallel.h"

namespace {

struct LoopRecord {
  std::vector<int> visits;   // [count]: how many times body(i) ran
  std::set<int> thread_ids;  // omp_get_thread_num() seen by the body
  bool ran_in_parallel = false;
};

LoopRecord run_loop(int64_t count, bool large_enough) {
  LoopRecord record;
  record.visits.assign(static_cast<size_t>(count), 0);
  std::vector<int> thread_of(static_cast<size_t>(count), -1);
  std::vector<char> in_parallel(static_cast<size_t>(count), 0);
  mind::parallel_for(count, large_enough, [&](int64_t i) {
    ++record.visits[static_cast<size_t>(i)];  // each i is written by one iteration only
    thread_of[static_cast<size_t>(i)] = omp_get_thread_num();
    in_parallel[static_cast<size_t>(i)] = omp_in_parallel() ? 1 : 0;
  });
  for (int64_t i = 0; i < count; ++i) {
    record.thread_ids.insert(thread_of[static_cast<size_t>(i)]);
    if (in_parallel[static_cast<size_t>(i)]) record.ran_in_parallel = true;
  }
  return record;
}

}  // namespace

TEST_CASE("parallel_for: every index once, and a team only for a large loop with 2 threads") {
  const int saved_threads = omp_get_max_threads();
  for (int threads = 1; threads <= 2; ++threads) {
    omp_set_num_threads(threads);
    for (const bool large_enough : {false, true}) {
      for (const int64_t count : {0, 1, 2, 7, 1000}) {
        INFO("threads " << threads << ", large_enough " << large_enough << ", count " << count);
        const LoopRecord record = run_loop(count, large_enough);
        for (int64_t i = 0; i < count; ++i) CHECK(record.visits[static_cast<size_t>(i)] == 1);
        const bool team = threads == 2 && large_enough;
        CHECK(mind::use_threads(large_enough) == team);
        // The plain loop runs outside any OpenMP region, on this thread.
        if (!team && count > 0) {
          CHECK_FALSE(record.ran_in_parallel);
          CHECK(record.thread_ids == std::set<int>{0});
        }
        // Static blocks give each of the 2 threads a share once there are 2 indices.
        if (team && count >= 2) {
          CHECK(record.ran_in_parallel);
          CHECK(record.thread_ids == std::set<int>{0, 1});
        }
      }
    }
  }
  omp_set_num_threads(saved_threads);
}
