// Embedding tables. An `Embedding` is one [rows, width] table whose gradient is row-sparse
// (only the rows a batch looked up). `ItemEmbedding` is what MIND uses for items: the item's id
// row, mean-pooled with the rows of its categories when the data has any (docs/design.md §2.2):
//     e_i = mean(E[i], C[c] for c in cats(i)).
// `ProfileEmbedding` embeds each categorical user field and concatenates them into p_u.
#pragma once
#include <string>
#include <vector>

#include "autograd/ops.h"
#include "autograd/random.h"

namespace mind::nn {

class Embedding {
 public:
  Embedding() = default;
  // N(0, 1/width) rows; the parameter is named "<name>.weight" and has a row-sparse gradient.
  Embedding(const std::string& name, int64_t rows, int64_t width, Rng& rng);

  // ids of shape `leading` (ids < 0 are padding → zero rows) → leading + [width]
  Tensor forward(const std::vector<int32_t>& ids, const Shape& leading) const {
    return gather_rows(table, ids, leading);
  }
  int64_t rows() const { return table.size(0); }
  int64_t width() const { return table.size(1); }

  Tensor table;  // [rows, width]
};

class ItemEmbedding {
 public:
  ItemEmbedding() = default;
  // item_categories[i] lists item i's category ids (empty lists everywhere = no categories).
  ItemEmbedding(int64_t item_count, int64_t width, int64_t category_count,
                const std::vector<std::vector<int32_t>>& item_categories, Rng& rng);

  // e for each id (ids < 0: padding → zero rows); ids shape `leading` → leading + [d].
  // One fused op; forward_reference computes the same from gather_rows, sum, add and mul (the
  // plain version, which the tests hold the fused one to).
  Tensor forward(const std::vector<int32_t>& ids, const Shape& leading) const;
  Tensor forward_reference(const std::vector<int32_t>& ids, const Shape& leading) const;
  // e for every item, [N, d] (full softmax, export, retrieval).
  Tensor all_items() const;
  bool uses_categories() const { return category_count_ > 0; }
  std::vector<Tensor> parameters() const;

  Embedding items;       // "item_embedding"     [N, d]
  Embedding categories;  // "category_embedding" [C, d], only when the data has categories

 private:
  int64_t category_count_ = 0;
  int64_t max_categories_ = 0;                 // the most categories any item has
  // [N, max_categories], −1 padded. The pooling factor 1 / (1 + |cats(i)|) is counted from
  // here when needed rather than kept in an [N] array: one cache miss fewer per lookup in a
  // large catalogue.
  std::vector<int32_t> category_ids_;
};

class ProfileEmbedding {
 public:
  ProfileEmbedding() = default;
  // One table per field, "profile.<field>" [cardinality, width].
  ProfileEmbedding(const std::vector<std::string>& field_names,
                   const std::vector<int64_t>& cardinalities, int64_t width, Rng& rng);

  // values [B, F] (value index per user and field) → p_u [B, F·width]
  Tensor forward(const std::vector<int32_t>& values, int64_t batch) const;
  int64_t output_width() const;
  bool empty() const { return fields.empty(); }
  std::vector<Tensor> parameters() const;

  std::vector<Embedding> fields;
};

}  // namespace mind::nn
