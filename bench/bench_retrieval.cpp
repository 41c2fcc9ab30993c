// bench_retrieval: users/second of our exact top-N retrieval (data::retrieve_top_n: max over a
// user's live interests, history excluded, the whole catalogue) on synthetic unit vectors, and
// the same vectors written as .npy so bench/faiss_retrieval.py times Faiss on identical inputs.
// Not a quality benchmark: the vectors are random, only the speed and the lists' equality matter.
// --batch-users and --history-distribution log-uniform give the shape of `mind_recommend --all`:
// every user of the log in turn, a batch of users per call, each user's whole history excluded
// (real histories are heavy-tailed: a few users have hundreds or thousands of items).
#include <CLI/CLI.hpp>
#include <omp.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <iostream>
#include <span>
#include <string>
#include <vector>

#include "autograd/random.h"
#include "bench/median.h"
#include "data/retrieval.h"
#include "io/npy.h"

namespace {

using mind::bench::median;

struct BenchOptions {
  int64_t items = 10000;        // N
  int64_t users = 2000;         // U
  int64_t dim = 64;             // d
  int64_t interests = 4;        // K
  int64_t top_n = 50;
  int64_t min_history = 30;
  int64_t max_history = 60;
  int64_t repeats = 5;          // timed runs per thread count; the median is reported
  int64_t check_users = 20;     // users compared with the plain reference
  int64_t batch_users = 0;      // users per retrieve_top_n call (0: all in one call)
  std::string history_distribution = "uniform";  // uniform | log-uniform lengths in [min, max]
  std::vector<int> threads = {1, 2};
  uint64_t seed = 1;
  std::string out;              // where to write the .npy inputs and our lists ("" = nowhere)
};

// A random unit vector of `width` floats at `row`.
void unit_vector(mind::Rng& rng, float* row, int64_t width) {
  double norm2 = 0.0;
  for (int64_t k = 0; k < width; ++k) {
    row[k] = static_cast<float>(rng.normal());
    norm2 += static_cast<double>(row[k]) * row[k];
  }
  const float inverse = static_cast<float>(1.0 / std::sqrt(norm2));
  for (int64_t k = 0; k < width; ++k) row[k] *= inverse;
}

int run(const BenchOptions& options) {
  if (options.items < 1 || options.users < 1 || options.dim < 1 || options.interests < 1 || options.top_n < 1)
    throw std::invalid_argument("--items, --users, --dim, --interests and --top must be at least 1");
  if (options.min_history < 1 || options.max_history < options.min_history || options.max_history > options.items)
    throw std::invalid_argument("need 1 <= --min-history <= --max-history <= --items");
  if (options.repeats < 1) throw std::invalid_argument("--repeats must be at least 1");
  if (options.batch_users < 0) throw std::invalid_argument("--batch-users must be 0 (all at once) or positive");
  const bool log_uniform = options.history_distribution == "log-uniform";
  if (!log_uniform && options.history_distribution != "uniform")
    throw std::invalid_argument("--history-distribution must be 'uniform' or 'log-uniform', got '" +
                                options.history_distribution + "'");
  const int64_t N = options.items, U = options.users, d = options.dim, K = options.interests;
  mind::Rng rng(options.seed);

  std::vector<float> items(N * d);  // [N, d], unit rows
  for (int64_t item = 0; item < N; ++item) unit_vector(rng, items.data() + item * d, d);

  // Each user: a history of 30..60 random items, and 1..K live interests, each pointing near one
  // of its history items (so that history items rank high and the exclusion has work to do).
  // About half the users have all K interests, the rest fewer, as MIND's dynamic K'_u gives.
  std::vector<int32_t> counts(U);                                    // [U]
  std::vector<float> interests(U * K * d, 0.0f);                     // [U, K, d], dead rows zero
  std::vector<int32_t> history(U * options.max_history, -1);         // [U, max_history], -1 padded
  std::vector<std::span<const int32_t>> excluded(U);
  std::vector<float> noise(d);
  for (int64_t user = 0; user < U; ++user) {
    // Log-uniform: length = min · (max/min)^u, so that short histories are common and long ones rare.
    const int64_t length =
        log_uniform ? std::min<int64_t>(options.max_history,
                                        static_cast<int64_t>(options.min_history *
                                                             std::pow(static_cast<double>(options.max_history) /
                                                                          options.min_history,
                                                                      rng.uniform())))
                    : options.min_history +
                          static_cast<int64_t>(rng.below(options.max_history - options.min_history + 1));
    int32_t* row = history.data() + user * options.max_history;
    for (int64_t position = 0; position < length; ++position) row[position] = static_cast<int32_t>(rng.below(N));
    excluded[user] = std::span<const int32_t>(row, length);
    counts[user] = rng.uniform() < 0.5 ? static_cast<int32_t>(K) : static_cast<int32_t>(1 + rng.below(K));
    for (int32_t interest = 0; interest < counts[user]; ++interest) {
      float* vector = interests.data() + (user * K + interest) * d;
      const int32_t anchor = row[rng.below(length)];
      unit_vector(rng, noise.data(), d);
      double norm2 = 0.0;
      for (int64_t k = 0; k < d; ++k) {
        vector[k] = items[anchor * d + k] + 0.7f * noise[k];
        norm2 += static_cast<double>(vector[k]) * vector[k];
      }
      const float inverse = static_cast<float>(1.0 / std::sqrt(norm2));
      for (int64_t k = 0; k < d; ++k) vector[k] *= inverse;
    }
  }

  mind::data::RetrievalInputs inputs;
  inputs.item_embeddings = items.data();
  inputs.item_count = N;
  inputs.width = d;
  inputs.user_interests = interests.data();
  inputs.interest_counts = counts.data();
  inputs.user_count = U;
  inputs.max_interests = K;
  inputs.excluded = excluded;
  inputs.exclude_history = true;

  // Every user's list, in one call or (as mind_recommend --all streams) a batch of users per call.
  const int64_t batch = options.batch_users > 0 ? std::min(options.batch_users, U) : U;
  std::vector<int32_t> lists(U * options.top_n);  // [U, top]
  const auto retrieve_all = [&] {
    for (int64_t first = 0; first < U; first += batch) {
      const int64_t count = std::min(batch, U - first);
      mind::data::RetrievalInputs part = inputs;
      part.user_interests = interests.data() + first * K * d;
      part.interest_counts = counts.data() + first;
      part.user_count = count;
      part.excluded.assign(excluded.begin() + first, excluded.begin() + first + count);
      const std::vector<int32_t> part_lists = mind::data::retrieve_top_n(part, options.top_n);
      std::copy(part_lists.begin(), part_lists.end(), lists.begin() + first * options.top_n);
    }
  };
  int64_t history_total = 0;
  for (const auto& span : excluded) history_total += static_cast<int64_t>(span.size());
  std::cout << "ours: " << U << " users, " << options.history_distribution << " histories of " << options.min_history
            << ".." << options.max_history << " items (mean " << static_cast<double>(history_total) / U
            << "), " << batch << " users per call\n";
  for (int thread_count : options.threads) {
    omp_set_num_threads(thread_count);
    retrieve_all();  // warm-up (page faults, caches)
    std::vector<double> seconds;
    for (int64_t repeat = 0; repeat < options.repeats; ++repeat) {
      const auto start = std::chrono::steady_clock::now();
      retrieve_all();
      seconds.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
    }
    const double time = median(seconds);
    std::cout << "ours: items " << N << " users " << U << " threads " << thread_count << " users_per_second "
              << static_cast<double>(U) / time << " (median of " << options.repeats << " runs, " << time
              << " s per run)\n";
  }

  // The fast lists must be the reference's on a sample of users (spread over the range).
  const int64_t checked = std::min(options.check_users, U);
  int64_t mismatches = 0;
  for (int64_t sample = 0; sample < checked; ++sample) {
    const int64_t user = sample * U / checked;
    mind::data::RetrievalInputs one = inputs;
    one.user_interests = interests.data() + user * K * d;
    one.interest_counts = counts.data() + user;
    one.user_count = 1;
    one.excluded = {excluded[user]};
    const std::vector<int32_t> reference = mind::data::retrieve_top_n_reference(one, options.top_n);
    if (!std::equal(reference.begin(), reference.end(), lists.begin() + user * options.top_n)) ++mismatches;
  }
  std::cout << "ours: " << checked - mismatches << " of " << checked << " sampled users match the plain reference\n";

  if (!options.out.empty()) {
    std::filesystem::create_directories(options.out);
    const std::string folder = options.out + "/";
    mind::io::save_npy_float32(folder + "items.npy", {N, d}, items);
    mind::io::save_npy_float32(folder + "interests.npy", {U, K, d}, interests);
    mind::io::save_npy_int32(folder + "counts.npy", {U}, counts);
    mind::io::save_npy_int32(folder + "history.npy", {U, options.max_history}, history);
    mind::io::save_npy_int32(folder + "ours_top.npy", {U, options.top_n}, lists);
    std::cout << "wrote items.npy, interests.npy, counts.npy, history.npy, ours_top.npy to " << options.out << "/\n";
  }
  return mismatches == 0 ? 0 : 2;
}

}  // namespace

int main(int argc, char** argv) {
  BenchOptions options;
  CLI::App app{"bench_retrieval: users/s of exact top-N retrieval with history exclusion (ours) on random "
               "unit vectors; --out writes the inputs for bench/faiss_retrieval.py."};
  app.get_formatter()->column_width(30);
  app.add_option("--items", options.items, "catalogue size N")->capture_default_str();
  app.add_option("--users", options.users, "users retrieved per run")->capture_default_str();
  app.add_option("--dim", options.dim, "width d")->capture_default_str();
  app.add_option("--interests", options.interests, "max interests K (users have 1..K live)")->capture_default_str();
  app.add_option("--top", options.top_n, "list length N of top-N")->capture_default_str();
  app.add_option("--min-history", options.min_history, "shortest history (excluded items)")->capture_default_str();
  app.add_option("--max-history", options.max_history, "longest history")->capture_default_str();
  app.add_option("--repeats", options.repeats, "timed runs per thread count (median reported)")->capture_default_str();
  app.add_option("--check-users", options.check_users, "users compared with the plain reference")
      ->capture_default_str();
  app.add_option("--batch-users", options.batch_users,
                 "users per retrieval call, as mind_recommend --all streams (0: all users in one call)")
      ->capture_default_str();
  app.add_option("--history-distribution", options.history_distribution,
                 "history lengths in [min, max]: uniform, or log-uniform (heavy-tailed, as real logs)")
      ->capture_default_str();
  app.add_option("--threads", options.threads, "OpenMP thread counts to time, e.g. 1 2")->capture_default_str();
  app.add_option("--seed", options.seed, "seed of the random vectors and histories")->capture_default_str();
  app.add_option("--out", options.out, "write the inputs and our lists as .npy here");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& error) {
    return app.exit(error);
  }
  try {
    return run(options);
  } catch (const std::exception& error) {
    std::cerr << "error: " << error.what() << "\n";
    return 1;
  }
}
