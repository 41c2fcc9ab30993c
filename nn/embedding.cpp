// Embedding tables, the item embedding with category pooling, and the profile embedding.
#include "nn/embedding.h"

#include <cmath>
#include <memory>
#include <stdexcept>

#include "autograd/kernels.h"
#include "autograd/parallel.h"
#include "nn/init.h"

namespace mind::nn {

Embedding::Embedding(const std::string& name, int64_t rows, int64_t width, Rng& rng) {
  table = normal_tensor(Shape{rows, width}, 1.0 / std::sqrt(static_cast<double>(width)), rng);
  table.make_parameter(name + ".weight", /*sparse=*/true);
}

ItemEmbedding::ItemEmbedding(int64_t item_count, int64_t width, int64_t category_count,
                             const std::vector<std::vector<int32_t>>& item_categories, Rng& rng)
    : items("item_embedding", item_count, width, rng), category_count_(category_count) {
  if (category_count_ == 0) return;
  if (static_cast<int64_t>(item_categories.size()) != item_count)
    throw std::invalid_argument("ItemEmbedding: " + std::to_string(item_categories.size()) +
                                " category lists for " + std::to_string(item_count) + " items");
  categories = Embedding("category_embedding", category_count, width, rng);
  for (const auto& list : item_categories)
    max_categories_ = std::max<int64_t>(max_categories_, static_cast<int64_t>(list.size()));
  max_categories_ = std::max<int64_t>(max_categories_, 1);
  category_ids_.assign(item_count * max_categories_, -1);
  for (int64_t item = 0; item < item_count; ++item) {
    const auto& list = item_categories[item];
    for (size_t k = 0; k < list.size(); ++k) {
      if (list[k] < 0 || list[k] >= category_count)
        throw std::out_of_range("ItemEmbedding: item " + std::to_string(item) + " has category " +
                                std::to_string(list[k]) + " outside [0, " + std::to_string(category_count) + ")");
      category_ids_[item * max_categories_ + k] = list[k];
    }
  }
}

namespace {

// dtable[row] += gradient_row, into the row-sparse gradient of an embedding table (or its dense
// one, for a table made trainable without make_parameter(name, true)).
void add_to_table_gradient(Node& table, int32_t row, const float* gradient_row, int64_t width) {
  if (table.sparse_gradient)
    table.row_gradient.append(row, gradient_row);
  else
    kernels::axpy(1.0f, gradient_row, table.grad_data() + static_cast<int64_t>(row) * width, width);
}

// Copies an item's −1-padded category list [max_categories] and returns its pooling factor
// s = 1 / (1 + |cats|), the same float as 1.0f / (1 + list.size()).
float copy_categories(const int32_t* list, int64_t max_categories, int32_t* out) {
  int64_t count = 0;
  for (int64_t k = 0; k < max_categories; ++k) {
    out[k] = list[k];
    if (list[k] >= 0) ++count;
  }
  return 1.0f / static_cast<float>(1 + count);
}

// What the backward of one pooled lookup needs: per looked-up item, its id, its categories and
// its pooling factor.
struct PooledLookup {
  std::vector<int32_t> ids;         // [n]
  std::vector<int32_t> categories;  // [n, max_categories], −1 padded
  std::vector<float> scales;        // [n], 1 / (1 + |cats|), 0 for padding
  int64_t max_categories = 0;
};

}  // namespace

// e_i = s_i · (E[id_i] + Σ_c C[c]) over item i's categories c, s_i = 1 / (1 + |cats(i)|), as one
// op (the reference below takes five):  dE[id_i] += s_i · dy_i,  dC[c] += s_i · dy_i.
Tensor ItemEmbedding::forward(const std::vector<int32_t>& ids, const Shape& leading) const {
  if (category_count_ == 0) return items.forward(ids, leading);
  const int64_t count = static_cast<int64_t>(ids.size());
  const int64_t width = items.table.size(1), item_count = items.table.size(0);
  if (leading.numel() != count || leading.rank >= Shape::max_rank)
    throw std::invalid_argument("ItemEmbedding: " + std::to_string(count) + " ids do not fill the shape " +
                                leading.to_string());
  auto lookup = std::make_shared<PooledLookup>();
  lookup->ids = ids;
  lookup->max_categories = max_categories_;
  lookup->categories.assign(count * max_categories_, -1);
  lookup->scales.assign(count, 0.0f);
  for (int64_t i = 0; i < count; ++i) {
    const int64_t ahead = i + kernels::prefetch_rows_ahead;
    if (ahead < count && ids[ahead] >= 0 && ids[ahead] < item_count)
      kernels::prefetch(&category_ids_[ids[ahead] * max_categories_], max_categories_ * sizeof(int32_t));
    if (ids[i] >= item_count)
      throw std::out_of_range("ItemEmbedding: id " + std::to_string(ids[i]) + " outside a table of " +
                              std::to_string(item_count) + " rows");
    if (ids[i] < 0) continue;  // padding stays zero
    lookup->scales[i] = copy_categories(&category_ids_[ids[i] * max_categories_], max_categories_,
                                        &lookup->categories[i * max_categories_]);
  }
  Shape shape = leading;
  shape.dims[shape.rank++] = width;  // leading + [d]
  Tensor y = make_result("pooled_item_embedding", shape, {items.table, categories.table});
  const float* item_rows = items.table.data();          // [N, d]
  const float* category_rows = categories.table.data(); // [C, d]
  float* out = y.data();                                // [n, d]
  // Rows are independent: threads may share them out, each row summed in the same order.
  parallel_for(count, count * width >= 65536, [&](int64_t i) {
    const int64_t ahead = i + kernels::prefetch_rows_ahead;
    if (ahead < count && ids[ahead] >= 0)
      kernels::prefetch(item_rows + static_cast<int64_t>(ids[ahead]) * width, width * sizeof(float));
    float* row = out + i * width;
    for (int64_t k = 0; k < width; ++k) row[k] = 0.0f;
    if (ids[i] < 0) return;
    for (int64_t c = 0; c < max_categories_; ++c) {  // Σ_c C[c] first, as the reference does
      const int32_t category = lookup->categories[i * max_categories_ + c];
      if (category < 0) continue;
      for (int64_t k = 0; k < width; ++k) row[k] += category_rows[category * width + k];
    }
    const float scale = lookup->scales[i];
    const float* item_row = item_rows + static_cast<int64_t>(ids[i]) * width;
    for (int64_t k = 0; k < width; ++k) row[k] = (item_row[k] + row[k]) * scale;
  });
  if (y.requires_grad())
    y.node()->backward = [lookup, width](Node& y) {
      Node& item_table = *y.parents[0];
      Node& category_table = *y.parents[1];
      const float* dy = y.grad.data();
      const auto fill_item_gradient = [&] {
        if (!item_table.requires_grad) return;
        std::vector<float> scaled(width);  // s_i · dy_i
        for (size_t i = 0; i < lookup->ids.size(); ++i) {
          if (lookup->ids[i] < 0) continue;
          for (int64_t k = 0; k < width; ++k) scaled[k] = dy[i * width + k] * lookup->scales[i];
          add_to_table_gradient(item_table, lookup->ids[i], scaled.data(), width);
        }
      };
      const auto fill_category_gradient = [&] {
        if (!category_table.requires_grad) return;
        std::vector<float> scaled(width);
        for (size_t i = 0; i < lookup->ids.size(); ++i) {
          if (lookup->ids[i] < 0) continue;
          for (int64_t k = 0; k < width; ++k) scaled[k] = dy[i * width + k] * lookup->scales[i];
          for (int64_t c = 0; c < lookup->max_categories; ++c) {
            const int32_t category = lookup->categories[i * lookup->max_categories + c];
            if (category >= 0) add_to_table_gradient(category_table, category, scaled.data(), width);
          }
        }
      };
      // The two tables' gradients are separate, so one thread may fill each; within a table
      // the rows are appended in lookup order, as on one thread.
      if (use_threads(true)) {
#pragma omp parallel sections
        {
#pragma omp section
          fill_item_gradient();
#pragma omp section
          fill_category_gradient();
        }
      } else {
        fill_item_gradient();
        fill_category_gradient();
      }
    };
  return y;
}

Tensor ItemEmbedding::forward_reference(const std::vector<int32_t>& ids, const Shape& leading) const {
  Tensor id_rows = items.forward(ids, leading);  // leading + [d]
  if (category_count_ == 0) return id_rows;
  const int64_t count = static_cast<int64_t>(ids.size());
  std::vector<int32_t> category_lookup(count * max_categories_, -1);  // [n, max_categories]
  std::vector<float> pool_scale(count, 0.0f);                          // [n]
  for (int64_t i = 0; i < count; ++i) {
    if (ids[i] < 0) continue;  // padding stays zero
    pool_scale[i] = copy_categories(&category_ids_[ids[i] * max_categories_], max_categories_,
                                    &category_lookup[i * max_categories_]);
  }
  // Σ_c C[c] over each item's categories: [n, max_categories, d] summed over axis 1 → [n, d]
  Tensor category_sum = sum(categories.forward(category_lookup, Shape{count, max_categories_}), 1);
  Shape scale_shape = leading;
  scale_shape.dims[scale_shape.rank++] = 1;  // leading + [1]: one factor per item
  const Tensor scale_column = Tensor::from_values(scale_shape, pool_scale);
  return mul(add(id_rows, reshape(category_sum, id_rows.shape())), scale_column);
}

Tensor ItemEmbedding::all_items() const {
  const int64_t count = items.rows();
  std::vector<int32_t> every_id(count);
  for (int64_t i = 0; i < count; ++i) every_id[i] = static_cast<int32_t>(i);
  return forward(every_id, Shape{count});
}

std::vector<Tensor> ItemEmbedding::parameters() const {
  if (category_count_ == 0) return {items.table};
  return {items.table, categories.table};
}

ProfileEmbedding::ProfileEmbedding(const std::vector<std::string>& field_names,
                                   const std::vector<int64_t>& cardinalities, int64_t width, Rng& rng) {
  for (size_t f = 0; f < field_names.size(); ++f)
    fields.emplace_back("profile." + field_names[f], cardinalities[f], width, rng);
}

Tensor ProfileEmbedding::forward(const std::vector<int32_t>& values, int64_t batch) const {
  const int64_t field_count = static_cast<int64_t>(fields.size());
  Tensor result;
  for (int64_t f = 0; f < field_count; ++f) {
    std::vector<int32_t> column(batch);
    for (int64_t b = 0; b < batch; ++b) column[b] = values[b * field_count + f];
    Tensor field = fields[f].forward(column, Shape{batch});  // [B, width]
    result = result.defined() ? concat_last(result, field) : field;
  }
  return result;  // [B, F·width]
}

int64_t ProfileEmbedding::output_width() const {
  int64_t width = 0;
  for (const Embedding& field : fields) width += field.width();
  return width;
}

std::vector<Tensor> ProfileEmbedding::parameters() const {
  std::vector<Tensor> all;
  for (const Embedding& field : fields) all.push_back(field.table);
  return all;
}

}  // namespace mind::nn
