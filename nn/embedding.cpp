// Embedding tables, the item embedding with category pooling, and the profile embedding.
#include "nn/embedding.h"

#include <cmath>
#include <stdexcept>

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
  inverse_pool_size_.resize(item_count);
  for (int64_t item = 0; item < item_count; ++item) {
    const auto& list = item_categories[item];
    for (size_t k = 0; k < list.size(); ++k) {
      if (list[k] < 0 || list[k] >= category_count)
        throw std::out_of_range("ItemEmbedding: item " + std::to_string(item) + " has category " +
                                std::to_string(list[k]) + " outside [0, " + std::to_string(category_count) + ")");
      category_ids_[item * max_categories_ + k] = list[k];
    }
    inverse_pool_size_[item] = 1.0f / static_cast<float>(1 + list.size());
  }
}

Tensor ItemEmbedding::forward(const std::vector<int32_t>& ids, const Shape& leading) const {
  Tensor id_rows = items.forward(ids, leading);  // leading + [d]
  if (category_count_ == 0) return id_rows;
  const int64_t count = static_cast<int64_t>(ids.size());
  std::vector<int32_t> category_lookup(count * max_categories_, -1);  // [n, max_categories]
  std::vector<float> pool_scale(count, 0.0f);                          // [n]
  for (int64_t i = 0; i < count; ++i) {
    if (ids[i] < 0) continue;  // padding stays zero
    for (int64_t k = 0; k < max_categories_; ++k)
      category_lookup[i * max_categories_ + k] = category_ids_[ids[i] * max_categories_ + k];
    pool_scale[i] = inverse_pool_size_[ids[i]];
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
