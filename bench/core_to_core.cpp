// What moving a cache line between the two cores costs on this machine, beside what a load from
// this core's own caches and from memory costs.
//
// Training on 2 threads shares one model between the cores (train/sliced_step.h): every step,
// rows that one core wrote (the summed gradient, Adam's updates) are read or written by the other.
// How much that costs depends on the machine, not on our code: cores that share a last-level
// cache hand a line over in a few tens of nanoseconds, cores on different dies or sockets (or
// vCPUs that the host placed there) in a few hundred. bench/compare.py runs this program and puts
// its figures beside the thread scaling in bench/RESULTS.md.
//
//   core_to_core [--rounds R] [--trips T]
//
// Handoff: two threads, pinned to CPU 0 and CPU 1, pass a counter back and forth in one cache line
// (T round trips per round); one handoff is half a round trip. Loads: one thread follows a chain
// of dependent loads through a randomly ordered buffer (one 64-byte line per step), so that each
// load waits for the previous one, in a 4 MiB buffer (cache) and in a 256 MiB one (memory).
// Each figure is the median over R rounds, with the smallest and largest round beside it.
#include <CLI/CLI.hpp>
#include <pthread.h>
#include <sched.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <numeric>
#include <random>
#include <thread>
#include <vector>

#include "bench/median.h"

namespace {

using mind::bench::median;
using Clock = std::chrono::steady_clock;

// True when this process may run on CPUs 0 and 1. Checked before the handoff starts: on one CPU
// the two threads would take turns on it, and each handoff would wait for a scheduler slice.
bool may_run_on_cpus_0_and_1() {
  cpu_set_t set;
  CPU_ZERO(&set);
  if (sched_getaffinity(0, sizeof(set), &set) != 0) return false;
  return CPU_ISSET(0, &set) && CPU_ISSET(1, &set);
}

bool pin_to_cpu(int cpu) {
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(cpu, &set);
  return pthread_setaffinity_np(pthread_self(), sizeof(set), &set) == 0;
}

// The line both threads write: the counter alone on its 64 bytes, so nothing else shares it.
struct alignas(64) SharedLine {
  std::atomic<int64_t> counter{0};
};

// One round: CPU 0 writes odd values and waits for the next even one, CPU 1 the other way round.
// Returns nanoseconds per handoff (half a round trip).
double handoff_nanoseconds(int64_t round_trips) {
  SharedLine line;
  bool other_pinned = false;  // each thread writes only its own flag; join() then publishes it
  std::thread other([&] {
    other_pinned = pin_to_cpu(1);
    for (int64_t trip = 0; trip < round_trips; ++trip) {
      while (line.counter.load(std::memory_order_acquire) != 2 * trip + 1) {
      }
      line.counter.store(2 * trip + 2, std::memory_order_release);
    }
  });
  const bool this_pinned = pin_to_cpu(0);
  const Clock::time_point start = Clock::now();
  for (int64_t trip = 0; trip < round_trips; ++trip) {
    line.counter.store(2 * trip + 1, std::memory_order_release);
    while (line.counter.load(std::memory_order_acquire) != 2 * trip + 2) {
    }
  }
  const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
  other.join();
  if (!this_pinned || !other_pinned) {
    std::fprintf(stderr, "core_to_core: could not pin the threads to CPUs 0 and 1 (does the machine have 2?)\n");
    std::exit(1);
  }
  return seconds * 1e9 / static_cast<double>(2 * round_trips);
}

// Dependent loads through `bytes` of memory, one line per load, in a random cyclic order.
// Returns nanoseconds per load.
double load_nanoseconds(int64_t bytes, int64_t loads) {
  const int64_t line_count = bytes / 64;
  const int64_t stride = 64 / static_cast<int64_t>(sizeof(int64_t));  // one entry per line
  std::vector<int64_t> order(static_cast<size_t>(line_count));
  std::iota(order.begin(), order.end(), int64_t{0});
  std::shuffle(order.begin(), order.end(), std::mt19937_64(1));
  std::vector<int64_t> next(static_cast<size_t>(line_count * stride), 0);  // next[line * stride]: the next line's index
  for (int64_t i = 0; i < line_count; ++i)
    next[static_cast<size_t>(order[i] * stride)] = order[(i + 1) % line_count] * stride;
  int64_t position = 0;
  for (int64_t i = 0; i < line_count; ++i) position = next[static_cast<size_t>(position)];  // touch every page once
  const Clock::time_point start = Clock::now();
  for (int64_t i = 0; i < loads; ++i) position = next[static_cast<size_t>(position)];
  const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
  if (position == -1) std::printf("unreachable\n");  // keeps the chain from being optimised away
  return seconds * 1e9 / static_cast<double>(loads);
}

}  // namespace

int main(int argc, char** argv) {
  int64_t rounds = 5;
  int64_t round_trips = 200000;
  CLI::App app{"core_to_core: what a cache line costs when it moves between CPU 0 and CPU 1, against a "
               "dependent load from a 4 MiB and a 256 MiB buffer on one core (medians over the rounds)."};
  app.add_option("--rounds", rounds, "rounds of each measurement")->capture_default_str()->check(CLI::Range(1, 1000));
  app.add_option("--trips", round_trips, "round trips of the line per handoff round")
      ->capture_default_str()
      ->check(CLI::Range(1, 100000000));
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& error) {
    return app.exit(error);
  }
  if (!may_run_on_cpus_0_and_1()) {
    std::fprintf(stderr, "core_to_core: this process may not run on both CPU 0 and CPU 1 (it needs 2 CPUs; see "
                         "nproc and taskset -p $$)\n");
    return 1;
  }
  std::vector<double> handoffs, cache_loads, memory_loads;
  for (int64_t round = 0; round < rounds; ++round) {
    handoffs.push_back(handoff_nanoseconds(round_trips));
    pin_to_cpu(0);
    cache_loads.push_back(load_nanoseconds(int64_t{4} << 20, 4000000));
    memory_loads.push_back(load_nanoseconds(int64_t{256} << 20, 2000000));
  }
  const auto report = [](const char* what, const std::vector<double>& values) {
    std::printf("%s: %.0f ns (rounds %.0f-%.0f)\n", what, median(values), *std::min_element(values.begin(), values.end()),
                *std::max_element(values.begin(), values.end()));
  };
  report("cache line passed between CPU 0 and CPU 1, one way", handoffs);
  report("dependent load from a 4 MiB buffer (cache), one core", cache_loads);
  report("dependent load from a 256 MiB buffer (memory), one core", memory_loads);
  return 0;
}
