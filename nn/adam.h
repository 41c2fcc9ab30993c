// Adam (Kingma & Ba) for dense parameters, and its lazy form for embedding tables: a table's
// step updates only the rows the batch touched, so it costs O(rows touched · d), not O(N · d).
// One implementation, AdamWithLazyTables, does both; Adam and LazyAdam are the same code
// restricted to one kind of parameter, like PyTorch's Adam and SparseAdam.
#pragma once
#include <vector>

#include "nn/adam_update.h"
#include "nn/optimizer.h"

namespace mind::nn {

// Doubles, as PyTorch's are: with β2 = 0.999 in double, 1 − β2 rounds to float as 0.001,
// where 1 − float(0.999) would be 0.00099998713 (a 1e-5 relative change in v).
struct AdamSettings {
  double learning_rate = 1e-3;
  double beta1 = 0.9;
  double beta2 = 0.999;
  double epsilon = 1e-8;
  // λ of decoupled weight decay (AdamW, Loshchilov & Hutter): every step first scales a
  // parameter by 1 − lr·λ. Lazy like the rest of a table's step: only touched rows decay.
  double weight_decay = 0.0;
};

// Dense parameters take a dense Adam step; tables (make_parameter(name, true)) a lazy one.
//
// The lazy step, for a table: its row gradient holds each touched row once (repeated ids are
// summed as they are appended, since Adam is not linear in the gradient), then for each touched row only, m, v and the row are
// updated; every other row, and its m and v, is neither read nor written. So an untouched row's
// moments do not decay in that step: this is "lazy" Adam, not Adam with zero gradients.
//
// The step number t in the bias corrections is the optimizer's global step count, the same for
// every row and every parameter, whether or not a row was touched before; PyTorch's SparseAdam
// and TensorFlow's LazyAdamOptimizer do the same. (A per-row count would need an extra [N]
// array and would make a rarely-seen row take a large first step.)
//
// A dense parameter that has never received a gradient (no grad buffer yet) is left alone, as
// PyTorch skips parameters whose grad is None; once it has a buffer it always takes part.
//
// State per parameter: `<name>.exp_avg` (m) and `<name>.exp_avg_sq` (v), shaped like it.
// Updates are bit-identical with any OpenMP thread count: work is split only over elements
// and rows that are independent of each other.
class AdamWithLazyTables : public Optimizer {
 public:
  explicit AdamWithLazyTables(std::vector<Tensor> parameters, AdamSettings settings = {});
  void step() override;

  double beta1() const { return beta1_; }
  double beta2() const { return beta2_; }
  double epsilon() const { return epsilon_; }
  double weight_decay() const { return weight_decay_; }

 protected:
  AdamWithLazyTables(std::vector<Tensor> parameters, AdamSettings settings,
                     const char* optimizer_name);

 private:
  void dense_step(Tensor& parameter, size_t index, const AdamCoefficients& coefficients);
  void lazy_step(Tensor& table, size_t index, const AdamCoefficients& coefficients);

  double beta1_;
  double beta2_;
  double epsilon_;
  double weight_decay_;
  // Where each parameter's moments are in the state list (parallel to parameters()).
  std::vector<size_t> exp_avg_position_;
  std::vector<size_t> exp_avg_sq_position_;
};

// Adam for dense parameters only: given a table, it refuses and names it (use LazyAdam or
// AdamWithLazyTables), rather than quietly making its step cost O(N · d).
class Adam : public AdamWithLazyTables {
 public:
  explicit Adam(std::vector<Tensor> parameters, AdamSettings settings = {});
};

// Lazy Adam for tables only: given a dense parameter, it refuses and names it.
class LazyAdam : public AdamWithLazyTables {
 public:
  explicit LazyAdam(std::vector<Tensor> parameters, AdamSettings settings = {});
};

}  // namespace mind::nn
