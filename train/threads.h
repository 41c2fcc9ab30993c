// --threads, the same in every program: 0 means all the cores this process may use; more threads
// than cores only make OpenMP's threads wait on each other (about 10x slower on 2 cores with 64),
// so such a request is capped at the core count, with a warning that says so. Results never
// depend on the thread count (train/sliced_step.h), so the cap changes nothing but the speed.
#pragma once
#include <cstdint>
#include <ostream>

namespace mind::train {

// Sets OpenMP's thread count for `requested` (0: all cores; the caller has checked it is >= 0),
// writes one warning line to `warnings` when it is capped, and returns the count in use.
int64_t use_threads(int64_t requested, std::ostream& warnings);

}  // namespace mind::train
