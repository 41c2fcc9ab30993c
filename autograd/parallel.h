// When a loop goes to a team of threads, and the one loop that does it.
//
// Entering an OpenMP parallel region is not free, even when it runs on one thread. libgomp ends
// every region with a barrier whose last thread makes a futex system call (a wake-up for threads
// that may be sleeping), whatever the team's size: `parallel if (false)`, a team of one and a
// thread inside a slice of train/sliced_step.h all pay it. On this project's virtual machines a
// system call costs about 1 us, and a MIND step entered some 90 regions per slice of the batch,
// most of them over a few thousand floats: 7% of the step went to those calls.
//
// So a loop that may be worth threads is written once, as a lambda over its index, and
// `parallel_for` decides: a plain loop on this thread, or a team of threads sharing the indices
// out in static blocks. Either way body(i) runs once for every i and each i computes the same
// values, so results never depend on the choice.
#pragma once
#include <cstdint>

#ifdef _OPENMP
#include <omp.h>
#endif

namespace mind {

// True when a loop this large (`large_enough`, judged by the caller in its own units) may start
// a team: more than one thread is available here. Inside a slice of a sliced step only one is.
inline bool use_threads(bool large_enough) {
#ifdef _OPENMP
  return large_enough && omp_get_max_threads() > 1;
#else
  return false;  // a build without OpenMP (the fuzzing build, fuzz/CMakeLists.txt): one thread
#endif
}

// for (i = 0; i < count; ++i) body(i), on a team of threads when use_threads(large_enough).
template <typename Body>
void parallel_for(int64_t count, bool large_enough, const Body& body) {
  if (!use_threads(large_enough)) {
    for (int64_t i = 0; i < count; ++i) body(i);
    return;
  }
#pragma omp parallel for schedule(static)
  for (int64_t i = 0; i < count; ++i) body(i);
}

}  // namespace mind
