// --threads (train/threads.h): more threads than cores are capped with one warning naming the flag
// and the core count; a count within the cores is taken silently.
#include <doctest/doctest.h>

#include <omp.h>

#include <sstream>

#include "train/threads.h"

TEST_CASE("threads: more threads than cores are capped, with a warning naming the flag and the cores") {
  const int before = omp_get_max_threads();
  const int64_t cores = omp_get_num_procs();
  std::ostringstream warnings;
  CHECK(mind::train::use_threads(cores + 62, warnings) == cores);
  CHECK(omp_get_max_threads() == cores);
  CHECK(warnings.str() == "warning: --threads " + std::to_string(cores + 62) + " is more than the " +
                              std::to_string(cores) + " cores this process may use; using " + std::to_string(cores) +
                              " (more threads than cores only slow the work down)\n");
  std::ostringstream quiet;
  CHECK(mind::train::use_threads(1, quiet) == 1);
  CHECK(omp_get_max_threads() == 1);
  CHECK(quiet.str().empty());
  omp_set_num_threads(before);
}
