#include "train/threads.h"

#include <omp.h>

namespace mind::train {

int64_t use_threads(int64_t requested, std::ostream& warnings) {
  const int64_t cores = omp_get_num_procs();  // the cores this process may run on (affinity)
  if (requested == 0) return omp_get_max_threads();  // OpenMP's default (OMP_NUM_THREADS, else all cores)
  if (requested > cores) {
    warnings << "warning: --threads " << requested << " is more than the " << cores
             << " cores this process may use; using " << cores
             << " (more threads than cores only slow the work down)" << std::endl;
    omp_set_num_threads(static_cast<int>(cores));
    return cores;
  }
  omp_set_num_threads(static_cast<int>(requested));
  return requested;
}

}  // namespace mind::train
