// ComiRec-SA's multi-interest extractor (docs/design.md §2.8): K attention heads over the history,
//     A = softmax over positions of W2 tanh(W1 Hᵀ)   (padding positions masked)
//     V = A H
// so each interest is a weighted mean of the user's behaviours. Compared with routing there is
// no iteration: the heads are learned directly (W1 [d_a, d], W2 [K, d_a]).
#pragma once
#include <cstdint>
#include <vector>

#include "autograd/ops.h"
#include "autograd/random.h"

namespace mind::nn {

struct SelfAttentionOutput {
  Tensor attention;      // A: [B, K, L]
  Tensor interests;      // V: [B, K, d]
  Tensor interest_mask;  // [B, K], all ones (ComiRec-SA keeps K interests)
};

class SelfAttentionExtractor {
 public:
  SelfAttentionExtractor() = default;
  // "attention.w1.weight" [attention_width, d], "attention.w2.weight" [K, attention_width]
  SelfAttentionExtractor(int64_t width, int64_t attention_width, int64_t interest_count, Rng& rng);

  // history [B, L, d] with lengths [B] → interests.
  SelfAttentionOutput forward(const Tensor& history, const std::vector<int32_t>& lengths) const;
  std::vector<Tensor> parameters() const { return {first, second}; }

  Tensor first;   // W1
  Tensor second;  // W2
};

}  // namespace mind::nn
