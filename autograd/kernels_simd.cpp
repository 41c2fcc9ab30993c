// The fast kernels behind kernels.h: xsimd vectors in the inner loops, OpenMP across independent
// outputs when there is enough work to pay for a second thread. Each has a plain-loop twin in
// kernels_scalar.cpp that is easier to read and that the tests compare this file with.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <vector>

// GCC 12 warns "may be used uninitialized" inside its own AVX-512 intrinsics once they are inlined
// (GCC bug 105593, fixed in GCC 13); the pragma covers only the lines of the headers included here.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <xsimd/xsimd.hpp>
#if defined(__AVX512F__)
#include <immintrin.h>  // for the one kernel xsimd 8.1 cannot express (multiply_small)
#endif
#pragma GCC diagnostic pop

#include "autograd/kernels.h"
#include "autograd/parallel.h"

namespace mind::kernels {
namespace {

using Vector = xsimd::batch<float>;
// Floats per vector: 16 with AVX-512, 8 with AVX2, 4 with SSE (a build without -march=native).
constexpr int64_t lanes = Vector::size;

// Waking the second thread costs a few microseconds; below these sizes one thread finishes first
// (starting points checked with bench_kernels, see bench/README.md).
constexpr int64_t parallel_elementwise_min = 1 << 17;  // axpy and scale are memory-bound
constexpr int64_t parallel_exp_min = 1 << 14;          // exp is compute-bound
constexpr int64_t elementwise_chunk = 1 << 14;         // floats per unit of parallel work

Vector load(const float* address) { return Vector::load_unaligned(address); }

void axpy_serial(float alpha, const float* x, float* y, int64_t n) {
  const Vector alpha_vector(alpha);
  int64_t i = 0;
  for (; i + lanes <= n; i += lanes) {
    xsimd::fma(alpha_vector, load(x + i), load(y + i)).store_unaligned(y + i);
  }
  for (; i < n; ++i) y[i] += alpha * x[i];
}

void scale_serial(float alpha, float* x, int64_t n) {
  const Vector alpha_vector(alpha);
  int64_t i = 0;
  for (; i + lanes <= n; i += lanes) (alpha_vector * load(x + i)).store_unaligned(x + i);
  for (; i < n; ++i) x[i] *= alpha;
}

void exp_serial(const float* x, float* y, int64_t n) {
  int64_t i = 0;
  for (; i + lanes <= n; i += lanes) xsimd::exp(load(x + i)).store_unaligned(y + i);
  for (; i < n; ++i) y[i] = std::exp(x[i]);
}

float maximum(const float* x, int64_t n) {
  Vector best(-INFINITY);
  int64_t i = 0;
  for (; i + lanes <= n; i += lanes) best = xsimd::max(best, load(x + i));
  // xsimd 8.1 has no horizontal max: spill the lanes and finish with scalars.
  alignas(64) float lane_values[lanes];
  best.store_aligned(lane_values);
  float result = -INFINITY;
  for (int64_t lane = 0; lane < lanes; ++lane) result = std::fmax(result, lane_values[lane]);
  for (; i < n; ++i) result = std::fmax(result, x[i]);
  return result;
}

void softmax_row(const float* in, float* out, int64_t cols) {
  // Subtracting the row max leaves softmax unchanged and keeps exp() from overflowing.
  const float row_max = maximum(in, cols);
  const Vector max_vector(row_max);
  Vector sum_vector(0.0f);
  int64_t col = 0;
  for (; col + lanes <= cols; col += lanes) {
    const Vector e = xsimd::exp(load(in + col) - max_vector);
    e.store_unaligned(out + col);
    sum_vector += e;
  }
  float sum = xsimd::hadd(sum_vector);
  for (; col < cols; ++col) {
    out[col] = std::exp(in[col] - row_max);
    sum += out[col];
  }
  scale_serial(1.0f / sum, out, cols);
}

// Rows narrower than a vector (softmax over K = 4 interests) would never reach the vector loop
// of softmax_row: instead their shifted logits are exponentiated together as one flat array.
void softmax_narrow_rows(const float* x, float* y, int64_t rows, int64_t cols) {
  for (int64_t row = 0; row < rows; ++row) {
    const float* in = x + row * cols;  // [cols]
    float* out = y + row * cols;       // [cols]
    float row_max = in[0];
    for (int64_t col = 1; col < cols; ++col) row_max = std::fmax(row_max, in[col]);
    for (int64_t col = 0; col < cols; ++col) out[col] = in[col] - row_max;
  }
  exp_serial(y, y, rows * cols);
  for (int64_t row = 0; row < rows; ++row) {
    float* out = y + row * cols;
    float sum = 0.0f;
    for (int64_t col = 0; col < cols; ++col) sum += out[col];
    const float inverse = 1.0f / sum;
    for (int64_t col = 0; col < cols; ++col) out[col] *= inverse;
  }
}

// A block of rows on the calling thread; 4096 floats (16 KiB) stay in the L1 cache throughout.
constexpr int64_t softmax_block_floats = 4096;

void softmax_row_block(const float* x, float* y, int64_t rows, int64_t cols) {
  if (cols < lanes) {
    const int64_t rows_per_block = softmax_block_floats / cols;
    for (int64_t first_row = 0; first_row < rows; first_row += rows_per_block) {
      const int64_t offset = first_row * cols;
      softmax_narrow_rows(x + offset, y + offset, std::min(rows_per_block, rows - first_row), cols);
    }
    return;
  }
  for (int64_t row = 0; row < rows; ++row) softmax_row(x + row * cols, y + row * cols, cols);
}

}  // namespace

float dot(const float* x, const float* y, int64_t n) {
  // Four accumulators, so that each FMA need not wait for the previous one's result.
  Vector sum0(0.0f), sum1(0.0f), sum2(0.0f), sum3(0.0f);
  int64_t i = 0;
  for (; i + 4 * lanes <= n; i += 4 * lanes) {
    sum0 = xsimd::fma(load(x + i), load(y + i), sum0);
    sum1 = xsimd::fma(load(x + i + lanes), load(y + i + lanes), sum1);
    sum2 = xsimd::fma(load(x + i + 2 * lanes), load(y + i + 2 * lanes), sum2);
    sum3 = xsimd::fma(load(x + i + 3 * lanes), load(y + i + 3 * lanes), sum3);
  }
  for (; i + lanes <= n; i += lanes) sum0 = xsimd::fma(load(x + i), load(y + i), sum0);
  float sum = xsimd::hadd((sum0 + sum1) + (sum2 + sum3));
  for (; i < n; ++i) sum += x[i] * y[i];
  return sum;
}

// The elementwise kernels cut a large array into fixed chunks (a multiple of every lane count)
// and share the chunks out between threads; each element is computed the same way regardless.
// Small arrays never enter an OpenMP construct (autograd/parallel.h: even `parallel if (false)`
// costs a system call, far more than axpy over one 64-float row).
void axpy(float alpha, const float* x, float* y, int64_t n) {
  if (!use_threads(n >= parallel_elementwise_min)) return axpy_serial(alpha, x, y, n);
  const int64_t chunk_count = (n + elementwise_chunk - 1) / elementwise_chunk;
#pragma omp parallel for schedule(static)
  for (int64_t chunk = 0; chunk < chunk_count; ++chunk) {
    const int64_t start = chunk * elementwise_chunk;
    axpy_serial(alpha, x + start, y + start, std::min(elementwise_chunk, n - start));
  }
}

void scale(float alpha, float* x, int64_t n) {
  if (!use_threads(n >= parallel_elementwise_min)) return scale_serial(alpha, x, n);
  const int64_t chunk_count = (n + elementwise_chunk - 1) / elementwise_chunk;
#pragma omp parallel for schedule(static)
  for (int64_t chunk = 0; chunk < chunk_count; ++chunk) {
    const int64_t start = chunk * elementwise_chunk;
    scale_serial(alpha, x + start, std::min(elementwise_chunk, n - start));
  }
}

void exp(const float* x, float* y, int64_t n) {
  if (!use_threads(n >= parallel_exp_min)) return exp_serial(x, y, n);
  const int64_t chunk_count = (n + elementwise_chunk - 1) / elementwise_chunk;
#pragma omp parallel for schedule(static)
  for (int64_t chunk = 0; chunk < chunk_count; ++chunk) {
    const int64_t start = chunk * elementwise_chunk;
    exp_serial(x + start, y + start, std::min(elementwise_chunk, n - start));
  }
}

// Rows are cut into blocks of about softmax_block_floats floats, the unit of parallel work.
void softmax_rows(const float* x, float* y, int64_t rows, int64_t cols) {
  if (rows <= 0 || cols <= 0) return;
  if (!use_threads(rows >= 2 && rows * cols >= parallel_exp_min))
    return softmax_row_block(x, y, rows, cols);
  const int64_t rows_per_block = std::max<int64_t>(1, softmax_block_floats / cols);
  const int64_t block_count = (rows + rows_per_block - 1) / rows_per_block;
#pragma omp parallel for schedule(static)
  for (int64_t block = 0; block < block_count; ++block) {
    const int64_t first_row = block * rows_per_block;
    const int64_t offset = first_row * cols;
    softmax_row_block(x + offset, y + offset, std::min(rows_per_block, rows - first_row), cols);
  }
}

// ---------------------------------------------------------------------------------------------
// GEMM: the hot path of training. The scheme follows Goto/BLIS, cut down to MIND's modest shapes:
//   * C is cut into tiles of tile_rows rows by one "panel" of columns (wide_cols, or `lanes` for
//     leftover columns). The micro-kernel holds a whole tile in registers over a depth block:
//     each depth step loads one row of the B panel as vectors, broadcasts one A value per row
//     and multiplies them in (an outer product: tile_rows * wide_vectors FMAs per step).
//   * A is read where it lies, through one pointer per tile row and a step per depth: with A
//     transposed the tile's values for one depth step are simply adjacent in memory.
//   * B is read where it lies when it is not transposed and the panel is full. Otherwise (Bᵀ,
//     or the last partial panel) the panel is first copied, zero-padded, into a contiguous
//     [k, width] buffer, so the micro-kernel never sees a transpose or a column tail.
//   * Products with a transposed B and only a few rows of C (MIND's routing logits) skip the
//     panels, whose copy of B would cost more than the product itself: with AVX-512 they run
//     through multiply_small, which reads B in place.
// Threads share out (row block, panel) pairs of C. Each C element always sums its depth in the
// same depth blocks, in the same order, so 1 and 2 threads give bit-identical results.
namespace {

// 24 of the 32 AVX-512 registers accumulate; 4 hold B and 1 the broadcast A value. AVX2 and SSE
// have 16 registers, so there the tile is 6 x 2 vectors.
constexpr int64_t tile_rows = 6;
constexpr int64_t wide_vectors = (lanes >= 16) ? 4 : 2;
constexpr int64_t wide_cols = wide_vectors * lanes;
// A depth block of a wide panel is depth_block * wide_cols * 4 bytes (32 KiB with AVX-512): it
// stays in the L1 cache while the tiles of a row block stream past it.
constexpr int64_t depth_block = 128;
// Rows of C in one unit of parallel work; small units keep 2 threads balanced when m = 64.
constexpr int64_t block_rows = 4 * tile_rows;
// Below this many flops a product runs on the calling thread alone.
constexpr double parallel_gemm_min_flops = 2.0e5;

struct GemmProblem {
  bool transpose_a;
  bool transpose_b;
  int64_t m;
  int64_t n;
  int64_t k;
  float alpha;
  const float* a;
  int64_t lda;
  const float* b;
  int64_t ldb;
  float beta;
  float* c;
  int64_t ldc;
};

// The column panels of C (and of op(B)): first the full wide panels, then narrow ones of `lanes`
// columns for what is left (n = 20 costs 2 narrow panels = 32 columns, not a wide one of 64).
struct PanelLayout {
  int64_t wide_count;
  int64_t narrow_count;
  int64_t count() const { return wide_count + narrow_count; }
  int64_t first_col(int64_t panel) const {
    if (panel < wide_count) return panel * wide_cols;
    return wide_count * wide_cols + (panel - wide_count) * lanes;
  }
  int64_t width(int64_t panel) const { return panel < wide_count ? wide_cols : lanes; }
  int64_t padded_cols() const { return wide_count * wide_cols + narrow_count * lanes; }
};

PanelLayout plan_panels(int64_t n) {
  const int64_t wide_count = n / wide_cols;
  const int64_t leftover = n - wide_count * wide_cols;
  return PanelLayout{wide_count, (leftover + lanes - 1) / lanes};
}

// A panel is read in place only when B is not transposed and the panel has all its columns.
bool panel_needs_copy(const GemmProblem& problem, const PanelLayout& panels, int64_t panel) {
  return problem.transpose_b || panels.first_col(panel) + panels.width(panel) > problem.n;
}

// Where panel `panel`'s copy starts in the packing buffer ([k, width] floats). With Bᵀ every
// panel is copied, side by side; otherwise only the last, partial one is, at the start.
int64_t packed_panel_offset(const GemmProblem& problem, const PanelLayout& panels, int64_t panel) {
  return problem.transpose_b ? panels.first_col(panel) * problem.k : 0;
}

int64_t packed_floats(const GemmProblem& problem, const PanelLayout& panels) {
  if (problem.transpose_b) return panels.padded_cols() * problem.k;
  const bool partial_panel = panels.padded_cols() > problem.n;
  return partial_panel ? lanes * problem.k : 0;
}

// A buffer owned by the calling thread that only grows, so steady-state calls do not allocate.
// Returns `count` floats starting on a 64-byte boundary.
float* packing_buffer(int64_t count) {
  thread_local std::vector<float> storage;
  const size_t needed = static_cast<size_t>(count) + 16;
  if (storage.size() < needed) storage.resize(needed);
  const uintptr_t address = reinterpret_cast<uintptr_t>(storage.data());
  const uintptr_t misalignment = address % 64;
  return storage.data() + (misalignment == 0 ? 0 : (64 - misalignment) / sizeof(float));
}

// Copies op(B)[0:k, first_col : first_col + width] into `panel` ([k, width], row-major),
// filling columns past n with zeros.
void pack_b_panel(const GemmProblem& problem, int64_t first_col, int64_t width, float* panel) {
  const int64_t cols_here = std::min(width, problem.n - first_col);
  for (int64_t inner = 0; inner < problem.k; ++inner) {
    float* out = panel + inner * width;  // [width]
    if (problem.transpose_b) {
      for (int64_t col = 0; col < cols_here; ++col) {
        out[col] = problem.b[(first_col + col) * problem.ldb + inner];
      }
    } else {
      const float* in = problem.b + inner * problem.ldb + first_col;
      for (int64_t col = 0; col < cols_here; ++col) out[col] = in[col];
    }
    for (int64_t col = cols_here; col < width; ++col) out[col] = 0.0f;
  }
}

// Where the micro-kernel finds one tile's operands for one depth block: op(A)[row, inner] is
// a_rows[row][inner * a_step]; op(B)[inner, col] is b[inner * b_step + col].
struct TileOperands {
  const float* a_rows[tile_rows];
  int64_t a_step;
  const float* b;
  int64_t b_step;
};

// The first `rows_here` rows of C[tile_rows, wide_cols] = alpha * op(A) op(B) + beta * C over
// `depth` steps, the whole tile in registers. beta == 0 does not read C (it may hold NaN).
void multiply_wide_tile(const TileOperands& operands, int64_t depth, float alpha, float beta,
                        int64_t rows_here, float* c, int64_t ldc) {
  Vector sums[tile_rows][wide_vectors];
  for (int64_t row = 0; row < tile_rows; ++row) {
    for (int64_t v = 0; v < wide_vectors; ++v) sums[row][v] = Vector(0.0f);
  }
  for (int64_t inner = 0; inner < depth; ++inner) {
    const float* b_row = operands.b + inner * operands.b_step;
    Vector b_vectors[wide_vectors];
    for (int64_t v = 0; v < wide_vectors; ++v) b_vectors[v] = load(b_row + v * lanes);
    const int64_t a_offset = inner * operands.a_step;
    for (int64_t row = 0; row < tile_rows; ++row) {
      const Vector a_value(operands.a_rows[row][a_offset]);
      for (int64_t v = 0; v < wide_vectors; ++v) {
        sums[row][v] = xsimd::fma(a_value, b_vectors[v], sums[row][v]);
      }
    }
  }
  const Vector alpha_vector(alpha);
  const Vector beta_vector(beta);
  for (int64_t row = 0; row < rows_here; ++row) {
    for (int64_t v = 0; v < wide_vectors; ++v) {
      float* out = c + row * ldc + v * lanes;
      Vector result = alpha_vector * sums[row][v];
      if (beta != 0.0f) result += beta_vector * load(out);
      result.store_unaligned(out);
    }
  }
}

// The same for a narrow panel: C[tile_rows, lanes].
void multiply_narrow_tile(const TileOperands& operands, int64_t depth, float alpha, float beta,
                          int64_t rows_here, float* c, int64_t ldc) {
  Vector sums[tile_rows];
  for (int64_t row = 0; row < tile_rows; ++row) sums[row] = Vector(0.0f);
  for (int64_t inner = 0; inner < depth; ++inner) {
    const Vector b_vector = load(operands.b + inner * operands.b_step);
    const int64_t a_offset = inner * operands.a_step;
    for (int64_t row = 0; row < tile_rows; ++row) {
      sums[row] = xsimd::fma(Vector(operands.a_rows[row][a_offset]), b_vector, sums[row]);
    }
  }
  const Vector alpha_vector(alpha);
  const Vector beta_vector(beta);
  for (int64_t row = 0; row < rows_here; ++row) {
    float* out = c + row * ldc;
    Vector result = alpha_vector * sums[row];
    if (beta != 0.0f) result += beta_vector * load(out);
    result.store_unaligned(out);
  }
}

// One tile of C: rows [first_row, first_row + tile_rows) by one panel, one depth block.
void multiply_tile(const GemmProblem& problem, int64_t first_row, int64_t first_col, int64_t width,
                   const TileOperands& operands, int64_t depth, float beta) {
  const int64_t rows_here = std::min(tile_rows, problem.m - first_row);
  const int64_t cols_here = std::min(width, problem.n - first_col);
  float* c_tile = problem.c + first_row * problem.ldc + first_col;
  if (width == wide_cols) {  // wide panels are always full
    multiply_wide_tile(operands, depth, problem.alpha, beta, rows_here, c_tile, problem.ldc);
  } else if (cols_here == width) {
    multiply_narrow_tile(operands, depth, problem.alpha, beta, rows_here, c_tile, problem.ldc);
  } else {
    // The last, partial panel: compute the padded tile aside, then write back what exists.
    alignas(64) float edge[tile_rows * lanes];  // [tile_rows, lanes]
    multiply_narrow_tile(operands, depth, 1.0f, 0.0f, rows_here, edge, lanes);
    for (int64_t row = 0; row < rows_here; ++row) {
      for (int64_t col = 0; col < cols_here; ++col) {
        float& out = c_tile[row * problem.ldc + col];
        const float product = problem.alpha * edge[row * lanes + col];
        out = (beta == 0.0f) ? product : product + beta * out;
      }
    }
  }
}

// One unit of work: rows [row_block * block_rows, + block_rows) of C by one panel, over the
// whole depth. `packed_b` holds the copies of the panels that need one.
void multiply_block(const GemmProblem& problem, const PanelLayout& panels, const float* packed_b,
                    int64_t row_block, int64_t panel) {
  const int64_t row_start = row_block * block_rows;
  const int64_t row_end = std::min(row_start + block_rows, problem.m);
  const int64_t first_col = panels.first_col(panel);
  const int64_t width = panels.width(panel);
  const bool copied = panel_needs_copy(problem, panels, panel);

  for (int64_t depth_start = 0; depth_start < problem.k; depth_start += depth_block) {
    const int64_t depth = std::min(depth_block, problem.k - depth_start);
    // The first depth block applies beta; the later ones add onto what it wrote.
    const float beta = (depth_start == 0) ? problem.beta : 1.0f;
    TileOperands operands;
    if (copied) {
      operands.b = packed_b + packed_panel_offset(problem, panels, panel) + depth_start * width;
      operands.b_step = width;
    } else {
      operands.b = problem.b + depth_start * problem.ldb + first_col;
      operands.b_step = problem.ldb;
    }
    operands.a_step = problem.transpose_a ? problem.lda : 1;
    for (int64_t first_row = row_start; first_row < row_end; first_row += tile_rows) {
      for (int64_t row = 0; row < tile_rows; ++row) {
        // Rows past m re-read the tile's first row; their sums are computed but never stored.
        const int64_t a_row = (first_row + row < problem.m) ? first_row + row : first_row;
        operands.a_rows[row] = problem.transpose_a ? problem.a + depth_start * problem.lda + a_row
                                                   : problem.a + a_row * problem.lda + depth_start;
      }
      multiply_tile(problem, first_row, first_col, width, operands, depth, beta);
    }
  }
}

#if defined(__AVX512F__)
// C = alpha * A Bᵀ + beta * C for products with few rows of C: MIND's routing logits
// [K, L] = [4, 64] x [20, 64]ᵀ, done once per user and routing iteration. With Bᵀ both operands
// run along the depth, so a vector along the depth would leave every C element as 16 lanes to be
// summed across: more shuffles than multiply-adds. Here a vector holds 4 rows x 4 depths instead:
//   lane 4r + j of packed_a[q]          = A[first_row + r, 4q + j]   (A copied once, 4 rows)
//   lane 4r + j of broadcast_chunk(q)   = B[col, 4q + j]             (4 floats, repeated 4 times)
// so one multiply-add advances 4 rows of C by 4 depth steps, and what is left to sum at the end is
// only 4 adjacent lanes, done for 4 columns at once by sum_quarters. xsimd 8.1 offers neither the
// 128-bit broadcast nor the shuffles within quarters, so this one kernel is written with AVX-512
// intrinsics; other instruction sets use the panel path above for these products.
constexpr int64_t small_rows = 4;    // rows of C per pass: one per 128-bit quarter of a vector
constexpr int64_t depth_chunk = 4;   // depth steps per quarter
// With Bᵀ and at most this many rows of C, this beats copying B into panels.
constexpr int64_t small_product_max_rows = 8;
static_assert(lanes == small_rows * depth_chunk, "4 rows x 4 depth steps fill one AVX-512 vector");

// Four chunks of packed A from 16 depth steps of 4 rows (a 4 x 4 transpose of 128-bit blocks):
// packed[q] = [rows[0] block q, rows[1] block q, rows[2] block q, rows[3] block q].
void transpose_blocks(const __m512 rows[small_rows], float* packed) {
  const __m512 rows01_low = _mm512_shuffle_f32x4(rows[0], rows[1], _MM_SHUFFLE(1, 0, 1, 0));
  const __m512 rows01_high = _mm512_shuffle_f32x4(rows[0], rows[1], _MM_SHUFFLE(3, 2, 3, 2));
  const __m512 rows23_low = _mm512_shuffle_f32x4(rows[2], rows[3], _MM_SHUFFLE(1, 0, 1, 0));
  const __m512 rows23_high = _mm512_shuffle_f32x4(rows[2], rows[3], _MM_SHUFFLE(3, 2, 3, 2));
  // rows01_low = [row 0 block 0, row 0 block 1, row 1 block 0, row 1 block 1], and so on; taking
  // blocks 0 and 2 of two such vectors gathers block 0 of all four rows, 1 and 3 block 1.
  const int block0 = _MM_SHUFFLE(2, 0, 2, 0);
  const int block1 = _MM_SHUFFLE(3, 1, 3, 1);
  _mm512_store_ps(packed, _mm512_shuffle_f32x4(rows01_low, rows23_low, block0));
  _mm512_store_ps(packed + lanes, _mm512_shuffle_f32x4(rows01_low, rows23_low, block1));
  _mm512_store_ps(packed + 2 * lanes, _mm512_shuffle_f32x4(rows01_high, rows23_high, block0));
  _mm512_store_ps(packed + 3 * lanes, _mm512_shuffle_f32x4(rows01_high, rows23_high, block1));
}

// packed [chunk_count, lanes]: lane 4r + j of chunk q holds A[first_row + r, 4q + j], with
// zeros for rows past m and depths past k, so that they add nothing. Whole vectors are written
// (a vector read right after four narrower writes to its bytes would wait for them to retire).
void pack_rows_by_chunks(const GemmProblem& problem, int64_t first_row, int64_t chunk_count,
                         float* packed) {
  const int64_t rows_here = std::min(small_rows, problem.m - first_row);
  const float* a_rows[small_rows];
  for (int64_t r = 0; r < small_rows; ++r) {
    a_rows[r] = problem.a + (first_row + std::min(r, rows_here - 1)) * problem.lda;
  }
  int64_t depth = 0;
  for (; depth + lanes <= problem.k; depth += lanes) {  // 4 chunks at a time
    __m512 rows[small_rows];
    for (int64_t r = 0; r < small_rows; ++r) {
      rows[r] = (r < rows_here) ? _mm512_loadu_ps(a_rows[r] + depth) : _mm512_setzero_ps();
    }
    transpose_blocks(rows, packed + depth / depth_chunk * lanes);
  }
  for (; depth < problem.k; depth += depth_chunk) {  // the last 1 to 3 chunks, element by element
    alignas(64) float chunk[lanes];
    for (int64_t r = 0; r < small_rows; ++r) {
      for (int64_t j = 0; j < depth_chunk; ++j) {
        const bool exists = r < rows_here && depth + j < problem.k;
        chunk[r * depth_chunk + j] = exists ? a_rows[r][depth + j] : 0.0f;
      }
    }
    _mm512_store_ps(packed + depth / depth_chunk * lanes, _mm512_load_ps(chunk));
  }
}

// B[col, depth : depth + 4] in all four quarters.
__m512 broadcast_chunk(const float* b_row, int64_t depth) {
  return _mm512_broadcast_f32x4(_mm_loadu_ps(b_row + depth));
}

// The same for the last chunk of a depth that is not a multiple of 4, zero-padded: reading 4
// floats there could run past the end of B.
__m512 broadcast_partial_chunk(const float* b_row, int64_t depth, int64_t k) {
  alignas(16) float padded[depth_chunk] = {0.0f, 0.0f, 0.0f, 0.0f};
  for (int64_t j = 0; depth + j < k; ++j) padded[j] = b_row[depth + j];
  return _mm512_broadcast_f32x4(_mm_load_ps(padded));
}

// Given sums[c] with lane 4r + j = partial sum j of C[r, c] (c = 0..3), returns the vector whose
// lane 4r + c is C[r, c]: quarter r is row r's 4 results, in column order.
__m512 sum_quarters(__m512 sum0, __m512 sum1, __m512 sum2, __m512 sum3) {
  // lanes of each quarter: [s0 j0 + s0 j2, s1 j0 + s1 j2, s0 j1 + s0 j3, s1 j1 + s1 j3]
  const __m512 pair01 =
      _mm512_add_ps(_mm512_unpacklo_ps(sum0, sum1), _mm512_unpackhi_ps(sum0, sum1));
  const __m512 pair23 =
      _mm512_add_ps(_mm512_unpacklo_ps(sum2, sum3), _mm512_unpackhi_ps(sum2, sum3));
  // [pair01 0, pair01 1, pair23 0, pair23 1] + [pair01 2, pair01 3, pair23 2, pair23 3]
  return _mm512_add_ps(_mm512_shuffle_ps(pair01, pair23, _MM_SHUFFLE(1, 0, 1, 0)),
                       _mm512_shuffle_ps(pair01, pair23, _MM_SHUFFLE(3, 2, 3, 2)));
}

// out[0:4] = values + beta * out[0:4]; beta == 0 does not read out (it may hold NaN).
inline void store_row_of_quarter(float* out, __m128 values, float beta) {
  if (beta != 0.0f) values = _mm_fmadd_ps(_mm_set1_ps(beta), _mm_loadu_ps(out), values);
  _mm_storeu_ps(out, values);
}

// C[r, c] = alpha * result + beta * C[r, c] for the rows and columns of the block that exist, c
// pointing at its first element; quarter r of `results` holds row r's 4 results.
inline void store_quarters(__m512 results, float alpha, float beta, int64_t rows_here,
                           int64_t columns_here, float* c, int64_t ldc) {
  const __m512 scaled = _mm512_mul_ps(_mm512_set1_ps(alpha), results);
  if (rows_here == small_rows && columns_here == 4) {  // the usual case: one 4-float store per row
    store_row_of_quarter(c, _mm512_extractf32x4_ps(scaled, 0), beta);
    store_row_of_quarter(c + ldc, _mm512_extractf32x4_ps(scaled, 1), beta);
    store_row_of_quarter(c + 2 * ldc, _mm512_extractf32x4_ps(scaled, 2), beta);
    store_row_of_quarter(c + 3 * ldc, _mm512_extractf32x4_ps(scaled, 3), beta);
    return;
  }
  alignas(64) float values[lanes];
  _mm512_store_ps(values, scaled);
  for (int64_t r = 0; r < rows_here; ++r) {
    for (int64_t col = 0; col < columns_here; ++col) {
      float& element = c[r * ldc + col];
      element = (beta == 0.0f) ? values[4 * r + col] : values[4 * r + col] + beta * element;
    }
  }
}

// Columns [first_col, first_col + column_count) of the pass's 4 rows of C, column_count = 4, 8 or
// 12 (a compile-time count keeps the accumulators in registers). Columns past n repeat column
// first_col; their results are not stored.
template <int64_t column_count>
void multiply_small_columns(const GemmProblem& problem, const float* packed_a, int64_t chunk_count,
                            int64_t first_row, int64_t first_col) {
  const float* b_rows[column_count];  // row `col` of B is column `col` of op(B)
  for (int64_t c = 0; c < column_count; ++c) {
    const int64_t col = (first_col + c < problem.n) ? first_col + c : first_col;
    b_rows[c] = problem.b + col * problem.ldb;
  }
  __m512 sums[column_count];
  for (int64_t c = 0; c < column_count; ++c) sums[c] = _mm512_setzero_ps();
  const int64_t whole_chunks = problem.k / depth_chunk;
  for (int64_t chunk = 0; chunk < whole_chunks; ++chunk) {
    const __m512 a_chunk = _mm512_load_ps(packed_a + chunk * lanes);
    for (int64_t c = 0; c < column_count; ++c) {
      const __m512 b_chunk = broadcast_chunk(b_rows[c], chunk * depth_chunk);
      sums[c] = _mm512_fmadd_ps(a_chunk, b_chunk, sums[c]);
    }
  }
  if (whole_chunks < chunk_count) {  // the depth's last 1 to 3 steps
    const __m512 a_chunk = _mm512_load_ps(packed_a + whole_chunks * lanes);
    for (int64_t c = 0; c < column_count; ++c) {
      const __m512 b_chunk =
          broadcast_partial_chunk(b_rows[c], whole_chunks * depth_chunk, problem.k);
      sums[c] = _mm512_fmadd_ps(a_chunk, b_chunk, sums[c]);
    }
  }
  const int64_t rows_here = std::min(small_rows, problem.m - first_row);
  for (int64_t group = 0; group < column_count; group += 4) {
    if (first_col + group >= problem.n) break;
    const __m512 results =
        sum_quarters(sums[group], sums[group + 1], sums[group + 2], sums[group + 3]);
    const int64_t columns_here = std::min<int64_t>(4, problem.n - first_col - group);
    float* c = problem.c + first_row * problem.ldc + first_col + group;
    store_quarters(results, problem.alpha, problem.beta, rows_here, columns_here, c, problem.ldc);
  }
}

void multiply_small(const GemmProblem& problem) {
  const int64_t chunk_count = (problem.k + depth_chunk - 1) / depth_chunk;
  float* packed_a = packing_buffer(chunk_count * lanes);  // [chunk_count, lanes]
  for (int64_t first_row = 0; first_row < problem.m; first_row += small_rows) {
    pack_rows_by_chunks(problem, first_row, chunk_count, packed_a);
    // Groups of 8 columns, and the last 1 to 12 in one group: 8 or more accumulators give
    // 8 independent chains of multiply-adds, enough to keep both units busy (latency 4).
    int64_t first_col = 0;
    for (; problem.n - first_col > 12; first_col += 8) {
      multiply_small_columns<8>(problem, packed_a, chunk_count, first_row, first_col);
    }
    const int64_t columns_left = problem.n - first_col;
    if (columns_left > 8) {
      multiply_small_columns<12>(problem, packed_a, chunk_count, first_row, first_col);
    } else if (columns_left > 4) {
      multiply_small_columns<8>(problem, packed_a, chunk_count, first_row, first_col);
    } else {
      multiply_small_columns<4>(problem, packed_a, chunk_count, first_row, first_col);
    }
  }
}

bool use_small_product(const GemmProblem& problem) {
  return problem.transpose_b && !problem.transpose_a && problem.m <= small_product_max_rows;
}
#endif  // __AVX512F__

// C = beta * C, for products with nothing to multiply (k == 0 or alpha == 0).
void scale_c_only(const GemmProblem& problem) {
  for (int64_t row = 0; row < problem.m; ++row) {
    float* out = problem.c + row * problem.ldc;
    for (int64_t col = 0; col < problem.n; ++col) {
      out[col] = (problem.beta == 0.0f) ? 0.0f : problem.beta * out[col];
    }
  }
}

bool nothing_to_multiply(const GemmProblem& problem) {
  return problem.m == 0 || problem.n == 0 || problem.k == 0 || problem.alpha == 0.0f;
}

// The whole product on the calling thread (small products, and each product of a batch).
void gemm_serial(const GemmProblem& problem) {
  if (nothing_to_multiply(problem)) return scale_c_only(problem);
#if defined(__AVX512F__)
  if (use_small_product(problem)) return multiply_small(problem);
#endif
  const PanelLayout panels = plan_panels(problem.n);
  float* packed_b = packing_buffer(packed_floats(problem, panels));
  for (int64_t panel = 0; panel < panels.count(); ++panel) {
    if (!panel_needs_copy(problem, panels, panel)) continue;
    pack_b_panel(problem, panels.first_col(panel), panels.width(panel),
                 packed_b + packed_panel_offset(problem, panels, panel));
  }
  const int64_t row_block_count = (problem.m + block_rows - 1) / block_rows;
  for (int64_t row_block = 0; row_block < row_block_count; ++row_block) {
    for (int64_t panel = 0; panel < panels.count(); ++panel) {
      multiply_block(problem, panels, packed_b, row_block, panel);
    }
  }
}

// The same work shared between threads: first the B panels, then the (row block, panel) units.
void gemm_parallel(const GemmProblem& problem) {
  const PanelLayout panels = plan_panels(problem.n);
  float* packed_b = packing_buffer(packed_floats(problem, panels));  // shared by the team
  const int64_t row_block_count = (problem.m + block_rows - 1) / block_rows;
  const int64_t unit_count = row_block_count * panels.count();
#pragma omp parallel
  {
#pragma omp for schedule(static)
    for (int64_t panel = 0; panel < panels.count(); ++panel) {
      if (!panel_needs_copy(problem, panels, panel)) continue;
      pack_b_panel(problem, panels.first_col(panel), panels.width(panel),
                   packed_b + packed_panel_offset(problem, panels, panel));
    }
    // (the loop above ends with a barrier: every panel is copied before any is read)
#pragma omp for schedule(dynamic)
    for (int64_t unit = 0; unit < unit_count; ++unit) {
      multiply_block(problem, panels, packed_b, unit / panels.count(), unit % panels.count());
    }
  }
}

// Product `item` of a batch: the first one's operands moved on by `item` strides.
GemmProblem batch_item(const GemmProblem& first, int64_t item, int64_t stride_a, int64_t stride_b,
                       int64_t stride_c) {
  GemmProblem problem = first;
  problem.a = first.a + item * stride_a;
  problem.b = first.b + item * stride_b;
  problem.c = first.c + item * stride_c;
  return problem;
}

}  // namespace

void gemm(bool transpose_a, bool transpose_b, int64_t m, int64_t n, int64_t k, float alpha,
          const float* a, int64_t lda, const float* b, int64_t ldb, float beta, float* c,
          int64_t ldc) {
  check_gemm_arguments("kernels::gemm", transpose_a, transpose_b, m, n, k, lda, ldb, ldc);
  const GemmProblem problem{transpose_a, transpose_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc};
  const double flops =
      2.0 * static_cast<double>(m) * static_cast<double>(n) * static_cast<double>(k);
  if (!use_threads(flops >= parallel_gemm_min_flops) || nothing_to_multiply(problem)) {
    gemm_serial(problem);
  } else {
    gemm_parallel(problem);
  }
}

void gemm_batched(bool transpose_a, bool transpose_b, int64_t batch, int64_t m, int64_t n,
                  int64_t k, float alpha, const float* a, int64_t lda, int64_t stride_a,
                  const float* b, int64_t ldb, int64_t stride_b, float beta, float* c, int64_t ldc,
                  int64_t stride_c) {
  check_gemm_arguments("kernels::gemm_batched", transpose_a, transpose_b, m, n, k, lda, ldb, ldc);
  check_gemm_batch_arguments("kernels::gemm_batched", batch, m, n, ldc, stride_a, stride_b,
                             stride_c);
  const double flops = 2.0 * static_cast<double>(batch) * static_cast<double>(m) *
                       static_cast<double>(n) * static_cast<double>(k);
  const GemmProblem first{transpose_a, transpose_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc};
  if (!use_threads(batch >= 2 && flops >= parallel_gemm_min_flops)) {
    for (int64_t item = 0; item < batch; ++item) {
      gemm_serial(batch_item(first, item, stride_a, stride_b, stride_c));
    }
    return;
  }
#pragma omp parallel for schedule(static)
  for (int64_t item = 0; item < batch; ++item) {
    gemm_serial(batch_item(first, item, stride_a, stride_b, stride_c));
  }
}

}  // namespace mind::kernels
