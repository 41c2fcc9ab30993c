// Tensor: a float32 array (contiguous, row-major, up to 4 axes) that remembers the op that made
// it, so that `loss.backward()` can walk the recorded graph in reverse and fill every `grad`.
// This file is the whole tape: the node, the handle, backward() and no_grad. The ops themselves
// live in ops_*.cpp, each with its forward and backward side by side.
#pragma once
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "autograd/buffer.h"
#include "autograd/shape.h"

namespace mind {

class Tensor;
struct Node;

// A row-sparse gradient: the rows of a [N, d] table that a step touched, as (row id, row) pairs.
// Embedding lookups append here instead of writing into a dense N×d buffer, so a step costs
// O(rows touched · d) however large the table. A repeated id is added into its row as it comes
// (a small hash table from id to row makes that O(1)), so the rows are always distinct, listed in
// order of first appearance, and each row's sum is taken in append order: deterministic.
struct RowSparseGradient {
  int64_t width = 0;           // d
  int64_t row_count = 0;       // N, the table's rows (ids must lie in [0, N))
  std::vector<int32_t> rows;   // [R] distinct row ids
  std::vector<float> values;   // [R, d]

  void append(int32_t row, const float* gradient_row);  // throws std::out_of_range outside [0, N)
  void clear();  // forgets the rows, keeps the capacity for the next step
  bool empty() const { return rows.empty(); }

 private:
  // Where each appended id's row is: open addressing with linear probing, at least twice as many
  // entries as rows so that a lookup ends after one or two probes. It holds a few thousand
  // entries, so it stays in cache; a dense [N] map would cost a memory miss per append with a
  // 10^6-row table. Grown by doubling, kept across steps: a step allocates nothing.
  struct Entry {
    int32_t row = -1;  // −1: empty
    int32_t slot = 0;  // index of the row in `rows`
  };
  std::vector<Entry> entries_;  // a power of two in size
  int table_bits_ = 0;          // log2(entries_.size())

  size_t position_of(int32_t row) const;  // the entry holding `row`, or the empty one for it
  void grow();                            // doubles entries_ and re-enters every row
};

// The backward of an op: reads `output.grad` and adds (never assigns) into its parents' grads.
using BackwardFunction = std::function<void(Node& output)>;

// One value in the graph. A Tensor is a shared handle to a Node.
struct Node {
  Shape shape;
  Buffer value_storage;     // owned values (empty for a view)
  float* value = nullptr;   // value_storage.data(), or a parent's storage for a view
  Buffer grad;              // allocated (zeroed) on first use
  bool requires_grad = false;
  bool sparse_gradient = false;     // an embedding table: lookups fill `row_gradient`
  RowSparseGradient row_gradient;
  const char* op = "leaf";          // the op that made this node, for errors and gradcheck
  std::string name;                 // a parameter's name ("routing.bilinear.weight"), else empty
  std::vector<std::shared_ptr<Node>> parents;  // inputs, recorded only when grad is needed
  BackwardFunction backward;        // empty for leaves
  std::shared_ptr<Node> view_of;    // keeps the storage of a view's base alive
  bool graph_released = false;      // backward() already ran through this node

  int64_t numel() const { return shape.numel(); }
  // The gradient buffer, allocated and zeroed on first call.
  float* grad_data();
};

class Tensor {
 public:
  Tensor() = default;
  explicit Tensor(std::shared_ptr<Node> node) : node_(std::move(node)) {}

  // ---- making tensors -------------------------------------------------------------------
  static Tensor zeros(const Shape& shape, bool requires_grad = false);
  static Tensor full(const Shape& shape, float value, bool requires_grad = false);
  static Tensor from_values(const Shape& shape, const std::vector<float>& values,
                            bool requires_grad = false);
  static Tensor scalar(float value, bool requires_grad = false);

  // ---- looking at them ------------------------------------------------------------------
  bool defined() const { return node_ != nullptr; }
  const Shape& shape() const { return node_->shape; }
  int rank() const { return node_->shape.rank; }
  int64_t size(int axis) const { return node_->shape.size(axis); }
  int64_t numel() const { return node_->shape.numel(); }
  float* data() { return node_->value; }
  const float* data() const { return node_->value; }
  std::vector<float> values() const;  // a copy, for tests and printing
  float item() const;                 // the value of a one-element tensor
  const char* op() const { return node_->op; }

  bool requires_grad() const { return node_->requires_grad; }
  bool has_grad() const { return !node_->grad.empty(); }
  float* grad() { return node_->grad_data(); }  // allocates zeros on first use
  std::vector<float> grad_values() const;       // a copy (zeros if none yet)
  RowSparseGradient& row_gradient() { return node_->row_gradient; }
  void zero_grad();

  // A parameter: a leaf that needs its gradient. `sparse` marks an embedding table whose
  // gradient is kept row-sparse.
  Tensor& make_parameter(const std::string& name, bool sparse = false);
  const std::string& name() const { return node_->name; }

  // ---- the tape --------------------------------------------------------------------------
  // Run backward from this one-element tensor: d(this)/d(this) = 1, then every op's backward
  // once, in reverse topological order. Afterwards the graph behind this tensor is released
  // (intermediate values freed); calling backward() on it again is an error.
  void backward();

  // The same values with no history: gradients stop here (stop-gradient).
  Tensor detach() const;

  Node* node() const { return node_.get(); }
  const std::shared_ptr<Node>& node_ptr() const { return node_; }

 private:
  std::shared_ptr<Node> node_;
};

// While a NoGrad object lives, ops record nothing (inference, finite differences, optimizers).
class NoGrad {
 public:
  NoGrad();
  ~NoGrad();
  NoGrad(const NoGrad&) = delete;
  NoGrad& operator=(const NoGrad&) = delete;

 private:
  bool previous_;
};
bool grad_enabled();

// Used by every op: a fresh output node of `shape` whose grad is needed iff some input's is
// (and grad recording is on). The inputs become the node's parents only in that case.
Tensor make_result(const char* op, const Shape& shape, const std::vector<Tensor>& inputs);

// Inside a backward: the parent's gradient buffer, or nullptr if that parent needs none.
float* grad_or_null(Node& node);

// Inside a backward that writes *every* element of a parent's gradient (a gemm, a copy): the
// buffer, and whether it is `fresh` (just made, contents undefined). A fresh buffer must be
// overwritten rather than added to; that saves zero-filling it first, which for MIND's
// [B, L, d] activations is a large share of a step. `beta()` is the gemm's beta for it.
struct GradientTarget {
  float* data = nullptr;  // nullptr: the parent needs no gradient
  bool fresh = false;
  float beta() const { return fresh ? 0.0f : 1.0f; }
};
GradientTarget gradient_to_overwrite(Node& node);

}  // namespace mind
