// Google Benchmark of the numeric kernels: each fast kernel against its scalar twin at sizes MIND
// uses, the parallel ones with 1 and 2 OpenMP threads. Rates are in the FLOP/s (or bytes/s)
// counters. Our gemm against OpenBLAS is a separate program, bench_gemm_openblas.
#include <benchmark/benchmark.h>
#include <omp.h>

#include <cstdint>
#include <string>
#include <vector>

#include "autograd/kernels.h"
#include "autograd/random.h"

namespace {

namespace kernels = mind::kernels;

std::vector<float> random_values(int64_t count, uint64_t seed) {
  mind::Rng rng(seed);
  std::vector<float> values(count);
  for (float& value : values) value = static_cast<float>(rng.uniform() * 2.0 - 1.0);
  return values;
}

// The same kernel in its two versions, chosen by name when registering.
struct DotVersion {
  const char* name;
  float (*function)(const float*, const float*, int64_t);
};
struct AxpyVersion {
  const char* name;
  void (*function)(float, const float*, float*, int64_t);
};
struct ExpVersion {
  const char* name;
  void (*function)(const float*, float*, int64_t);
};
struct SoftmaxVersion {
  const char* name;
  void (*function)(const float*, float*, int64_t, int64_t);
};
struct GemmVersion {
  const char* name;
  void (*function)(bool, bool, int64_t, int64_t, int64_t, float, const float*, int64_t,
                   const float*, int64_t, float, float*, int64_t);
};
struct GemmBatchedVersion {
  const char* name;
  void (*function)(bool, bool, int64_t, int64_t, int64_t, int64_t, float, const float*, int64_t,
                   int64_t, const float*, int64_t, int64_t, float, float*, int64_t, int64_t);
};

void flops_counter(benchmark::State& state, double flops_per_call) {
  state.counters["FLOP/s"] =
      benchmark::Counter(flops_per_call, benchmark::Counter::kIsIterationInvariantRate);
}

void bench_dot(benchmark::State& state, DotVersion version, int64_t n) {
  const std::vector<float> x = random_values(n, 1);
  const std::vector<float> y = random_values(n, 2);
  for (auto _ : state) {
    float result = version.function(x.data(), y.data(), n);
    benchmark::DoNotOptimize(result);
  }
  flops_counter(state, 2.0 * n);
}

void bench_axpy(benchmark::State& state, AxpyVersion version, int64_t n, int threads) {
  omp_set_num_threads(threads);
  const std::vector<float> x = random_values(n, 1);
  std::vector<float> y = random_values(n, 2);
  for (auto _ : state) {
    version.function(1e-3f, x.data(), y.data(), n);
    benchmark::ClobberMemory();
  }
  flops_counter(state, 2.0 * n);
  state.SetBytesProcessed(state.iterations() * n * 3 * static_cast<int64_t>(sizeof(float)));
}

void bench_exp(benchmark::State& state, ExpVersion version, int64_t n, int threads) {
  omp_set_num_threads(threads);
  const std::vector<float> x = random_values(n, 1);
  std::vector<float> y(n);
  for (auto _ : state) {
    version.function(x.data(), y.data(), n);
    benchmark::ClobberMemory();
  }
  state.counters["exp/s"] =
      benchmark::Counter(static_cast<double>(n), benchmark::Counter::kIsIterationInvariantRate);
}

void bench_softmax(benchmark::State& state, SoftmaxVersion version, int64_t rows, int64_t cols,
                   int threads) {
  omp_set_num_threads(threads);
  const std::vector<float> x = random_values(rows * cols, 1);
  std::vector<float> y(rows * cols);
  for (auto _ : state) {
    version.function(x.data(), y.data(), rows, cols);
    benchmark::ClobberMemory();
  }
  state.counters["elements/s"] = benchmark::Counter(static_cast<double>(rows * cols),
                                                    benchmark::Counter::kIsIterationInvariantRate);
}

// One product of a MIND training step: C[m, n] = op(A) op(B), `batch` of them when batch > 1.
struct GemmShape {
  const char* name;
  bool transpose_a;
  bool transpose_b;
  int64_t batch;
  int64_t m;
  int64_t n;
  int64_t k;
};

// B = 128, L = 20, d = 64, K = 4, M = 1280 (see bench_gemm_openblas.cpp for what each one is).
const std::vector<GemmShape> gemm_shapes = {
    {"history_x_S", false, false, 1, 2560, 64, 64},
    {"grad_S", true, false, 1, 64, 64, 2560},
    {"grad_history", false, true, 1, 2560, 64, 64},
    {"logits", false, true, 1, 128, 1280, 64},
    {"grad_user", false, false, 1, 128, 64, 1280},
    {"grad_items", true, false, 1, 1280, 64, 128},
    {"mlp_1", false, true, 1, 512, 128, 64},
    {"grad_mlp_1_input", false, false, 1, 512, 64, 128},
    {"grad_mlp_1_weight", true, false, 1, 128, 64, 512},
    {"routing_logits", false, true, 128, 4, 20, 64},
    {"routing_mix", false, false, 128, 4, 64, 20},
    {"grad_routing_u", true, false, 128, 20, 64, 4},
    // Retrieval scores for a group with few live interest rows against one block of 512 items
    // (data/retrieval.cpp): the few-rows product with a transposed B, above the threading size.
    {"retrieval_scores", false, true, 1, 4, 512, 64},
    {"retrieval_scores", false, true, 1, 8, 512, 64},
};

void bench_gemm(benchmark::State& state, GemmVersion version, GemmShape shape, int threads) {
  omp_set_num_threads(threads);
  const int64_t lda = shape.transpose_a ? shape.m : shape.k;
  const int64_t ldb = shape.transpose_b ? shape.k : shape.n;
  const std::vector<float> a = random_values(shape.m * shape.k, 1);  // [m, k] or [k, m]
  const std::vector<float> b = random_values(shape.k * shape.n, 2);  // [k, n] or [n, k]
  std::vector<float> c(shape.m * shape.n);                           // [m, n]
  for (auto _ : state) {
    version.function(shape.transpose_a, shape.transpose_b, shape.m, shape.n, shape.k, 1.0f,
                     a.data(), lda, b.data(), ldb, 0.0f, c.data(), shape.n);
    benchmark::ClobberMemory();
  }
  flops_counter(state, 2.0 * shape.m * shape.n * shape.k);
}

void bench_gemm_batched(benchmark::State& state, GemmBatchedVersion version, GemmShape shape,
                        int threads) {
  omp_set_num_threads(threads);
  const int64_t lda = shape.transpose_a ? shape.m : shape.k;
  const int64_t ldb = shape.transpose_b ? shape.k : shape.n;
  const int64_t a_size = shape.m * shape.k;
  const int64_t b_size = shape.k * shape.n;
  const int64_t c_size = shape.m * shape.n;
  const std::vector<float> a = random_values(shape.batch * a_size, 1);  // batch x [m, k] or [k, m]
  const std::vector<float> b = random_values(shape.batch * b_size, 2);  // batch x [k, n] or [n, k]
  std::vector<float> c(shape.batch * c_size);                           // batch x [m, n]
  for (auto _ : state) {
    version.function(shape.transpose_a, shape.transpose_b, shape.batch, shape.m, shape.n, shape.k,
                     1.0f, a.data(), lda, a_size, b.data(), ldb, b_size, 0.0f, c.data(), shape.n,
                     c_size);
    benchmark::ClobberMemory();
  }
  flops_counter(state, 2.0 * shape.batch * shape.m * shape.n * shape.k);
}

std::string threads_suffix(int threads) { return "/threads:" + std::to_string(threads); }

void register_all() {
  const DotVersion dots[] = {{"scalar", kernels::scalar::dot}, {"simd", kernels::dot}};
  const AxpyVersion axpys[] = {{"scalar", kernels::scalar::axpy}, {"simd", kernels::axpy}};
  const ExpVersion exps[] = {{"scalar", kernels::scalar::exp}, {"simd", kernels::exp}};
  const SoftmaxVersion softmaxes[] = {{"scalar", kernels::scalar::softmax_rows},
                                      {"simd", kernels::softmax_rows}};
  const GemmVersion gemms[] = {{"scalar", kernels::scalar::gemm}, {"simd", kernels::gemm}};
  const GemmBatchedVersion batched_gemms[] = {{"scalar", kernels::scalar::gemm_batched},
                                              {"simd", kernels::gemm_batched}};
  // The scalar twins are single-threaded: they run once, with 1 thread.
  auto thread_counts = [](const char* version) {
    return std::string(version) == "scalar" ? std::vector<int>{1} : std::vector<int>{1, 2};
  };

  for (const DotVersion& version : dots) {
    for (int64_t n : {64, 1024, 65536}) {
      const std::string name = std::string("dot/") + version.name + "/n:" + std::to_string(n);
      benchmark::RegisterBenchmark(name.c_str(), bench_dot, version, n);
    }
  }
  for (const AxpyVersion& version : axpys) {
    for (int64_t n : {64, 4096, 1 << 20}) {
      for (int threads : thread_counts(version.name)) {
        const std::string name = std::string("axpy/") + version.name + "/n:" + std::to_string(n) +
                                 threads_suffix(threads);
        benchmark::RegisterBenchmark(name.c_str(), bench_axpy, version, n, threads);
      }
    }
  }
  for (const ExpVersion& version : exps) {
    for (int64_t n : {64, 4096, 1 << 18}) {
      for (int threads : thread_counts(version.name)) {
        const std::string name = std::string("exp/") + version.name + "/n:" + std::to_string(n) +
                                 threads_suffix(threads);
        benchmark::RegisterBenchmark(name.c_str(), bench_exp, version, n, threads);
      }
    }
  }
  // Sampled-softmax logits [B, 1 + M] and routing weights over K interests [B*L, K].
  const int64_t softmax_shapes[][2] = {{128, 1281}, {2560, 4}};
  for (const SoftmaxVersion& version : softmaxes) {
    for (const auto& shape : softmax_shapes) {
      for (int threads : thread_counts(version.name)) {
        const std::string name = std::string("softmax_rows/") + version.name + "/" +
                                 std::to_string(shape[0]) + "x" + std::to_string(shape[1]) +
                                 threads_suffix(threads);
        benchmark::RegisterBenchmark(name.c_str(), bench_softmax, version, shape[0], shape[1],
                                     threads);
      }
    }
  }
  for (const GemmShape& shape : gemm_shapes) {
    const std::string label = std::string(shape.name) + "/" + (shape.transpose_a ? "T" : "N") +
                              (shape.transpose_b ? "T" : "N") + "/" + std::to_string(shape.m) +
                              "x" + std::to_string(shape.n) + "x" + std::to_string(shape.k);
    if (shape.batch == 1) {
      for (const GemmVersion& version : gemms) {
        for (int threads : thread_counts(version.name)) {
          const std::string name =
              std::string("gemm/") + version.name + "/" + label + threads_suffix(threads);
          benchmark::RegisterBenchmark(name.c_str(), bench_gemm, version, shape, threads);
        }
      }
    } else {
      for (const GemmBatchedVersion& version : batched_gemms) {
        for (int threads : thread_counts(version.name)) {
          const std::string name = std::string("gemm_batched/") + version.name + "/" + label +
                                   "/batch:" + std::to_string(shape.batch) +
                                   threads_suffix(threads);
          benchmark::RegisterBenchmark(name.c_str(), bench_gemm_batched, version, shape, threads);
        }
      }
    }
  }
}

}  // namespace

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  register_all();
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
