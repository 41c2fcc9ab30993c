// Row gather: the embedding lookup. Its gradient is the one place where the engine keeps a
// *row-sparse* gradient: a batch touches a few hundred rows of a table that may have millions,
// so backward records (row id, gradient row) pairs instead of writing a dense [N, d] buffer.
#include <cstring>
#include <stdexcept>

#include "autograd/kernels.h"
#include "autograd/ops.h"

namespace mind {

// y[i] = table[ids[i]]   (ids < 0: padding, y[i] = 0)
// dtable[ids[i]] += dy[i]   (repeated ids accumulate; padding rows get nothing)
Tensor gather_rows(const Tensor& table, const std::vector<int32_t>& ids, const Shape& leading) {
  if (table.rank() != 2)
    throw std::invalid_argument("gather_rows: table must be [N, d], got " + table.shape().to_string());
  if (leading.numel() != static_cast<int64_t>(ids.size()))
    throw std::invalid_argument("gather_rows: " + std::to_string(ids.size()) +
                                " ids do not fill the shape " + leading.to_string());
  if (leading.rank >= Shape::max_rank)
    throw std::invalid_argument("gather_rows: ids shape " + leading.to_string() + " has too many axes");
  const int64_t row_count = table.size(0), width = table.size(1);
  for (int32_t id : ids)
    if (id >= row_count)
      throw std::out_of_range("gather_rows: id " + std::to_string(id) + " outside a table of " +
                              std::to_string(row_count) + " rows");
  Shape shape = leading;
  shape.dims[shape.rank++] = width;  // leading + [d]
  Tensor y = make_result("gather_rows", shape, {table});
  float* out = y.data();
  const size_t count = ids.size();
  for (size_t i = 0; i < count; ++i) {
    if (i + kernels::prefetch_rows_ahead < count && ids[i + kernels::prefetch_rows_ahead] >= 0)
      kernels::prefetch(table.data() + ids[i + kernels::prefetch_rows_ahead] * width, width * sizeof(float));
    if (ids[i] < 0)
      std::memset(out + i * width, 0, width * sizeof(float));
    else
      std::memcpy(out + i * width, table.data() + ids[i] * width, width * sizeof(float));
  }
  if (y.requires_grad())
    y.node()->backward = [ids, width](Node& y) {
      Node& table = *y.parents[0];
      const float* dy = y.grad.data();
      if (!table.requires_grad) return;
      if (table.sparse_gradient) {
        for (size_t i = 0; i < ids.size(); ++i)
          if (ids[i] >= 0) table.row_gradient.append(ids[i], dy + i * width);
      } else {
        float* dtable = table.grad_data();
        for (size_t i = 0; i < ids.size(); ++i)
          if (ids[i] >= 0) kernels::axpy(1.0f, dy + i * width, dtable + ids[i] * width, width);
      }
    };
  return y;
}

}  // namespace mind
