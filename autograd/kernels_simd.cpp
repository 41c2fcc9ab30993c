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
//   * Products with a transposed B and at most `lanes` rows of C (MIND's routing logits,
//     retrieval's few live interests) skip the panels, whose copy of B would cost more than the
//     product itself: multiply_few_rows reads B in place, summing in the panel path's order.
// Threads share out (row block, panel) pairs of C, or a few-rows product's columns. Each C element
// always sums its depth in the same depth blocks, in the same order, whichever path and however
// many threads or other rows share the product: 1 and 2 threads give bit-identical results, and
// so does a row computed alone or among others.
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

// C = alpha * A Bᵀ + beta * C for products with a transposed B and at most `lanes` rows of C:
// MIND's routing logits [K, L] = [4, 64] x [20, 64]ᵀ (once per user and routing iteration) and
// retrieval's few live interests against a block of items. The panel path would first copy B
// into panels, which costs more than the product itself; here one vector holds one column of C,
// its rows in the lanes, and B is read in place, one broadcast value per depth step:
//   sums[c] lane r = fma(A[r, inner], B[first_col + c, inner], sums[c] lane r), inner in order,
// with A copied once into [k, lanes] (zeros past m). Every element of C thus sums its depth in
// the same depth blocks, in the same order and with the same final alpha and beta as in the panel
// path, so a row of C has the same bits whichever path computes it and whichever other rows share
// its product (retrieval's groups of users change with the thread count).
constexpr int64_t few_rows_columns = 8;  // columns per pass: 8 independent multiply-add chains
constexpr int64_t few_rows_chunk = 64;   // columns per unit of parallel work (a multiple of the above)

bool use_few_rows(const GemmProblem& problem) {
  return problem.transpose_b && !problem.transpose_a && problem.m <= lanes;
}

// packed [k, lanes]: packed[inner * lanes + r] = A[r, inner], zero for rows past m.
void pack_columns_of_a(const GemmProblem& problem, float* packed) {
  for (int64_t inner = 0; inner < problem.k; ++inner) {
    for (int64_t row = 0; row < lanes; ++row) {
      packed[inner * lanes + row] = (row < problem.m) ? problem.a[row * problem.lda + inner] : 0.0f;
    }
  }
}

// Columns [first_col, first_col + few_rows_columns) of C over one depth block; columns past n
// repeat column first_col and are not stored.
void multiply_few_rows_columns(const GemmProblem& problem, const float* packed_a, int64_t first_col,
                               int64_t depth_start, int64_t depth, float beta) {
  const float* b_rows[few_rows_columns];  // row `col` of B is column `col` of op(B)
  for (int64_t c = 0; c < few_rows_columns; ++c) {
    const int64_t col = (first_col + c < problem.n) ? first_col + c : first_col;
    b_rows[c] = problem.b + col * problem.ldb + depth_start;
  }
  Vector sums[few_rows_columns];
  for (int64_t c = 0; c < few_rows_columns; ++c) sums[c] = Vector(0.0f);
  const float* a_columns = packed_a + depth_start * lanes;
  for (int64_t inner = 0; inner < depth; ++inner) {
    const Vector a_column = Vector::load_aligned(a_columns + inner * lanes);
    for (int64_t c = 0; c < few_rows_columns; ++c) {
      sums[c] = xsimd::fma(a_column, Vector(b_rows[c][inner]), sums[c]);
    }
  }
  // The panel path's ending, element by element: alpha * sum, plus beta * C unless beta is 0.
  const int64_t columns_here = std::min(few_rows_columns, problem.n - first_col);
  for (int64_t c = 0; c < columns_here; ++c) {
    alignas(64) float column[lanes];
    sums[c].store_aligned(column);
    for (int64_t row = 0; row < problem.m; ++row) {
      float& out = problem.c[row * problem.ldc + first_col + c];
      const float product = problem.alpha * column[row];
      out = (beta == 0.0f) ? product : product + beta * out;
    }
  }
}

// Columns [first_col, end_col) of C, whole depth; packs A into this thread's buffer first.
void multiply_few_rows(const GemmProblem& problem, int64_t first_col, int64_t end_col) {
  float* packed_a = packing_buffer(problem.k * lanes);  // [k, lanes]
  pack_columns_of_a(problem, packed_a);
  for (int64_t depth_start = 0; depth_start < problem.k; depth_start += depth_block) {
    const int64_t depth = std::min(depth_block, problem.k - depth_start);
    // As in the panel path: the first depth block applies beta, the later ones add onto it.
    const float beta = (depth_start == 0) ? problem.beta : 1.0f;
    for (int64_t col = first_col; col < end_col; col += few_rows_columns) {
      multiply_few_rows_columns(problem, packed_a, col, depth_start, depth, beta);
    }
  }
}

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
  if (use_few_rows(problem)) return multiply_few_rows(problem, 0, problem.n);
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
// A product with few rows and Bᵀ shares out its columns instead, each thread packing A itself.
void gemm_parallel(const GemmProblem& problem) {
  if (use_few_rows(problem)) {
    const int64_t chunk_count = (problem.n + few_rows_chunk - 1) / few_rows_chunk;
#pragma omp parallel for schedule(static)
    for (int64_t chunk = 0; chunk < chunk_count; ++chunk) {
      const int64_t first_col = chunk * few_rows_chunk;
      multiply_few_rows(problem, first_col, std::min(first_col + few_rows_chunk, problem.n));
    }
    return;
  }
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
