// Our gemm against OpenBLAS's cblas_sgemm at the shapes a MIND training step multiplies, with 1
// and 2 threads. Not a Google Benchmark program: the two libraries are timed in alternating
// rounds (so machine noise hits both alike) and the medians over rounds are printed.
// Run as:  env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE ./build/bench/bench_gemm_openblas
#include <cblas.h>
#include <omp.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <new>
#include <string>
#include <thread>
#include <vector>

#include "autograd/kernels.h"
#include "autograd/random.h"
#include "bench/median.h"

namespace {

using mind::bench::median;

// One product C = op(A) op(B), repeated `batch` times on different matrices.
struct Shape {
  const char* name;
  bool transpose_a;
  bool transpose_b;
  int64_t batch;
  int64_t m;
  int64_t n;
  int64_t k;
};

// MIND defaults: B = 128 users, L = 20 history items, d = 64, K = 4 interests, M = 1280 negatives.
const std::vector<Shape> mind_shapes = {
    {"history x S        [B*L,d]x[d,d]", false, false, 1, 2560, 64, 64},
    {"grad S = H^T G      [d,B*L]x[B*L,d]", true, false, 1, 64, 64, 2560},
    {"grad H = G S^T      [B*L,d]x[d,d]^T", false, true, 1, 2560, 64, 64},
    {"logits = U E^T      [B,d]x[M,d]^T", false, true, 1, 128, 1280, 64},
    {"grad U = G E       [B,M]x[M,d]", false, false, 1, 128, 64, 1280},
    {"grad E = G^T U      [M,B]x[B,d]", true, false, 1, 1280, 64, 128},
    {"MLP 1 = X W1^T      [B*K,d]x[2d,d]^T", false, true, 1, 512, 128, 64},
    {"MLP 2 = H W2^T      [B*K,2d]x[d,2d]^T", false, true, 1, 512, 64, 128},
    {"grad X = G W1      [B*K,2d]x[2d,d]", false, false, 1, 512, 64, 128},
    {"grad W1 = G^T X     [2d,B*K]x[B*K,d]", true, false, 1, 128, 64, 512},
    {"routing logits     B x [K,d]x[L,d]^T", false, true, 128, 4, 20, 64},
    {"routing z = W U^    B x [K,L]x[L,d]", false, false, 128, 4, 64, 20},
    {"grad U^ = W^T G      B x [L,K]x[K,d]", true, false, 128, 20, 64, 4},
    {"grad W = G U^^T      B x [K,d]x[L,d]^T", false, true, 128, 4, 20, 64},
};

// Operands start on 64-byte boundaries, as the engine's tensors do (autograd/buffer.h), so that
// rows of MIND's shapes begin on cache lines as they do in training, for both libraries alike.
// (With std::vector's 16-byte alignment every 64-byte load of ours straddles two cache lines.)
template <class T>
struct CacheLineAllocator {
  using value_type = T;
  CacheLineAllocator() = default;
  template <class U>
  CacheLineAllocator(const CacheLineAllocator<U>&) {}
  T* allocate(size_t count) {
    const size_t bytes = (count * sizeof(T) + 63) / 64 * 64;
    void* memory = std::aligned_alloc(64, bytes);
    if (memory == nullptr) throw std::bad_alloc();
    return static_cast<T*>(memory);
  }
  void deallocate(T* memory, size_t) { std::free(memory); }
  bool operator==(const CacheLineAllocator&) const { return true; }
  bool operator!=(const CacheLineAllocator&) const { return false; }
};
using Floats = std::vector<float, CacheLineAllocator<float>>;

// The storage one operand needs: rows x cols as stored (transposed operands swap the two).
struct Operands {
  Floats a;  // batch x [m, k] or [k, m]
  Floats b;  // batch x [k, n] or [n, k]
  Floats c;  // batch x [m, n]
  int64_t lda;
  int64_t ldb;
  int64_t ldc;
};

Operands make_operands(const Shape& shape, mind::Rng& rng) {
  Operands operands;
  operands.lda = shape.transpose_a ? shape.m : shape.k;
  operands.ldb = shape.transpose_b ? shape.k : shape.n;
  operands.ldc = shape.n;
  operands.a.resize(shape.batch * shape.m * shape.k);
  operands.b.resize(shape.batch * shape.k * shape.n);
  operands.c.assign(shape.batch * shape.m * shape.n, 0.0f);
  for (float& value : operands.a) value = static_cast<float>(rng.uniform() * 2.0 - 1.0);
  for (float& value : operands.b) value = static_cast<float>(rng.uniform() * 2.0 - 1.0);
  return operands;
}

void run_ours(const Shape& shape, Operands& operands) {
  if (shape.batch == 1) {
    mind::kernels::gemm(shape.transpose_a, shape.transpose_b, shape.m, shape.n, shape.k, 1.0f,
                        operands.a.data(), operands.lda, operands.b.data(), operands.ldb, 0.0f,
                        operands.c.data(), operands.ldc);
    return;
  }
  mind::kernels::gemm_batched(shape.transpose_a, shape.transpose_b, shape.batch, shape.m, shape.n,
                              shape.k, 1.0f, operands.a.data(), operands.lda, shape.m * shape.k,
                              operands.b.data(), operands.ldb, shape.k * shape.n, 0.0f,
                              operands.c.data(), operands.ldc, shape.m * shape.n);
}

void run_openblas(const Shape& shape, Operands& operands) {
  const CBLAS_TRANSPOSE op_a = shape.transpose_a ? CblasTrans : CblasNoTrans;
  const CBLAS_TRANSPOSE op_b = shape.transpose_b ? CblasTrans : CblasNoTrans;
  if (shape.batch == 1) {
    cblas_sgemm(CblasRowMajor, op_a, op_b, shape.m, shape.n, shape.k, 1.0f, operands.a.data(),
                operands.lda, operands.b.data(), operands.ldb, 0.0f, operands.c.data(),
                operands.ldc);
    return;
  }
  // OpenBLAS 0.3.21 has no batched gemm: the fair equivalent of ours is one single-threaded call
  // per product, the products shared out between OpenMP threads (openblas threads set to 1).
#pragma omp parallel for schedule(static)
  for (int64_t item = 0; item < shape.batch; ++item) {
    cblas_sgemm(CblasRowMajor, op_a, op_b, shape.m, shape.n, shape.k, 1.0f,
                operands.a.data() + item * shape.m * shape.k, operands.lda,
                operands.b.data() + item * shape.k * shape.n, operands.ldb, 0.0f,
                operands.c.data() + item * shape.m * shape.n, operands.ldc);
  }
}

// GFLOP/s of `run` over enough calls to fill about `seconds`.
double measure_gflops(const Shape& shape, double seconds, const std::function<void()>& run) {
  const double flops_per_call = 2.0 * shape.batch * shape.m * shape.n * shape.k;
  using Clock = std::chrono::steady_clock;
  int64_t calls = 0;
  const Clock::time_point start = Clock::now();
  double elapsed = 0.0;
  while (elapsed < seconds) {
    for (int repeat = 0; repeat < 8; ++repeat) run();
    calls += 8;
    elapsed = std::chrono::duration<double>(Clock::now() - start).count();
  }
  return flops_per_call * static_cast<double>(calls) / elapsed / 1e9;
}

// After a call, OpenBLAS's pthreads spin for up to 2^28 cycles (about 0.1 s) before sleeping, and
// OpenMP's threads spin for a shorter while; on 2 cores, a spinning thread of the library just
// timed starves the other library's second thread (ours measured 1-40 instead of 190 GFLOP/s
// right after OpenBLAS). Sleeping before each timing lets them go idle.
void let_worker_threads_settle(int threads) {
  if (threads > 1) std::this_thread::sleep_for(std::chrono::milliseconds(200));
}

// Largest |ours - theirs| relative to the largest |theirs|: a check that both computed the same.
double relative_difference(const Floats& ours, const Floats& theirs) {
  double largest_difference = 0.0;
  double largest_value = 1e-30;
  for (size_t i = 0; i < ours.size(); ++i) {
    largest_difference =
        std::max(largest_difference, std::fabs(double(ours[i]) - double(theirs[i])));
    largest_value = std::max(largest_value, std::fabs(double(theirs[i])));
  }
  return largest_difference / largest_value;
}

}  // namespace

int main(int argc, char** argv) {
  // Optional arguments: rounds (default 7), seconds per timing (default 0.05), and one thread
  // count to run (default: 1 then 2).
  const int rounds = argc > 1 ? std::atoi(argv[1]) : 7;
  const double seconds = argc > 2 ? std::atof(argv[2]) : 0.05;
  std::vector<int> thread_counts = {1, 2};
  if (argc > 3) thread_counts = {std::atoi(argv[3])};
  if (rounds < 1 || seconds <= 0.0 || thread_counts[0] < 1) {
    std::fprintf(stderr,
                 "usage: bench_gemm_openblas [rounds >= 1] [seconds per timing > 0] "
                 "[threads >= 1]\n");
    return 1;
  }
  if (std::getenv("OPENBLAS_CORETYPE") != nullptr || std::getenv("OPENBLAS_L2_SIZE") != nullptr) {
    std::fprintf(stderr,
                 "note: OPENBLAS_CORETYPE/OPENBLAS_L2_SIZE are set and slow this OpenBLAS; "
                 "run under `env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE`\n");
  }
  std::printf("OpenBLAS: %s\n", openblas_get_config());
  std::printf("median of %d rounds, each timing ~%.0f ms; GFLOP/s, ratio = ours / OpenBLAS\n\n",
              rounds, seconds * 1000.0);
  mind::Rng rng(42);
  for (int threads : thread_counts) {
    omp_set_num_threads(threads);
    std::printf("%d thread%s\n", threads, threads == 1 ? "" : "s");
    std::printf("%-40s %6s %6s %6s %5s  %9s %9s %6s  %8s\n", "shape", "m", "n", "k", "batch",
                "ours", "OpenBLAS", "ratio", "rel.diff");
    for (const Shape& shape : mind_shapes) {
      // OpenBLAS threads itself for one product; for a batch we spread its calls with OpenMP.
      openblas_set_num_threads(shape.batch == 1 ? threads : 1);
      Operands ours = make_operands(shape, rng);
      Operands theirs = ours;
      run_ours(shape, ours);
      run_openblas(shape, theirs);
      const double difference = relative_difference(ours.c, theirs.c);
      std::vector<double> our_rates, their_rates, ratios;
      for (int round = 0; round < rounds; ++round) {
        let_worker_threads_settle(threads);
        const double our_rate = measure_gflops(shape, seconds, [&] { run_ours(shape, ours); });
        let_worker_threads_settle(threads);
        const double their_rate =
            measure_gflops(shape, seconds, [&] { run_openblas(shape, theirs); });
        our_rates.push_back(our_rate);
        their_rates.push_back(their_rate);
        ratios.push_back(our_rate / their_rate);
      }
      std::printf("%-40s %6lld %6lld %6lld %5lld  %9.1f %9.1f %6.2f  %8.1e\n", shape.name,
                  static_cast<long long>(shape.m), static_cast<long long>(shape.n),
                  static_cast<long long>(shape.k), static_cast<long long>(shape.batch),
                  median(our_rates), median(their_rates), median(ratios), difference);
    }
    std::printf("\n");
  }
  return 0;
}
