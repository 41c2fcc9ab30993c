// ProgressReport and BetweenBatches: how long work (reading a file, generating the synthetic
// dataset, encoding and ranking users, the interest diagnostics) tells its caller how far it has
// got. The data/ folder prints nothing: the programs pass a callback that draws their progress
// line (train/progress.h).
#pragma once
#include <cstdint>
#include <functional>

namespace mind::data {

// Called now and then with `done` of `total` units, `done` increasing and, for work that runs
// to its end, ending at `total`. The unit is the caller's to know: bytes of a file (total 0 when
// the size is unknown, as for a pipe), users generated, interests ranked.
using ProgressReport = std::function<void(uint64_t done, uint64_t total)>;

// For work that may be stopped: called between batches with (done, total); returning false stops
// the work there (Ctrl-C). Also where the caller shows progress.
using BetweenBatches = std::function<bool(int64_t done, int64_t total)>;

}  // namespace mind::data
