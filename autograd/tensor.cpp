// The tape: making nodes, ordering the graph, running backward once per node.
#include "autograd/tensor.h"

#include <algorithm>
#include <cstring>
#include <numeric>
#include <stdexcept>
#include <unordered_set>

namespace mind {

// ---- RowSparseGradient ----------------------------------------------------------------------

// Where `row` sits in the table, or the empty entry where it would go. The probe starts at the
// row's hash (Fibonacci hashing: multiply by 2^32 / golden ratio and keep the top bits, which
// spreads ids that differ only in their high bits, row 5 and row 5 + 2^k) and walks on to the
// next entry while it meets other rows.
size_t RowSparseGradient::position_of(int32_t row) const {
  const size_t mask = entries_.size() - 1;
  const uint32_t hash = static_cast<uint32_t>(row) * 2654435769u;
  size_t position = static_cast<size_t>(hash >> (32 - table_bits_));
  while (entries_[position].row >= 0 && entries_[position].row != row)
    position = (position + 1) & mask;
  return position;
}

void RowSparseGradient::grow() {
  table_bits_ = std::max(table_bits_ + 1, 10);  // at least 1024 entries
  entries_.assign(size_t{1} << table_bits_, Entry{});
  // The rows are distinct, so each one's probe ends at an empty entry.
  for (size_t slot = 0; slot < rows.size(); ++slot)
    entries_[position_of(rows[slot])] = Entry{rows[slot], static_cast<int32_t>(slot)};
}

void RowSparseGradient::append(int32_t row, const float* gradient_row) {
  if (row < 0 || row >= row_count)
    throw std::out_of_range("row gradient: row id " + std::to_string(row) + " outside [0, " +
                            std::to_string(row_count) + ")");
  if (2 * (rows.size() + 1) > entries_.size()) grow();  // keep the table at most half full
  Entry& entry = entries_[position_of(row)];
  if (entry.row < 0) {  // first time this step: a new row (a copy: 0 + g would turn −0 into +0)
    entry = Entry{row, static_cast<int32_t>(rows.size())};
    rows.push_back(row);
    values.insert(values.end(), gradient_row, gradient_row + width);
  } else {  // seen before: add into its row
    float* target = values.data() + static_cast<int64_t>(entry.slot) * width;
    for (int64_t k = 0; k < width; ++k) target[k] += gradient_row[k];
  }
}

void RowSparseGradient::clear() {
  // Emptying the whole table costs a few microseconds (it is at most 4 entries per row of the
  // largest step) and, unlike erasing row by row, needs no care for rows written in by hand.
  std::fill(entries_.begin(), entries_.end(), Entry{});
  rows.clear();
  values.clear();
}

// ---- Node ------------------------------------------------------------------------------------

float* Node::grad_data() {
  if (grad.empty()) grad = Buffer::zeros(numel());
  return grad.data();
}

float* grad_or_null(Node& node) { return node.requires_grad ? node.grad_data() : nullptr; }

GradientTarget gradient_to_overwrite(Node& node) {
  if (!node.requires_grad) return {};
  if (!node.grad.empty()) return {node.grad.data(), false};
  node.grad = Buffer::uninitialized(node.numel());
  return {node.grad.data(), true};
}

// ---- no_grad ---------------------------------------------------------------------------------

namespace {
thread_local bool recording_enabled = true;
}

bool grad_enabled() { return recording_enabled; }
NoGrad::NoGrad() : previous_(recording_enabled) { recording_enabled = false; }
NoGrad::~NoGrad() { recording_enabled = previous_; }

// ---- making tensors --------------------------------------------------------------------------

namespace {
std::shared_ptr<Node> new_node(const Shape& shape) {
  auto node = std::make_shared<Node>();
  node->shape = shape;
  node->value_storage = Buffer::uninitialized(shape.numel());
  node->value = node->value_storage.data();
  return node;
}
}  // namespace

Tensor Tensor::zeros(const Shape& shape, bool requires_grad) {
  return full(shape, 0.0f, requires_grad);
}

Tensor Tensor::full(const Shape& shape, float value, bool requires_grad) {
  auto node = new_node(shape);
  std::fill(node->value, node->value + shape.numel(), value);
  node->requires_grad = requires_grad;
  return Tensor(node);
}

Tensor Tensor::from_values(const Shape& shape, const std::vector<float>& values,
                           bool requires_grad) {
  if (static_cast<int64_t>(values.size()) != shape.numel())
    throw std::invalid_argument("Tensor::from_values: shape " + shape.to_string() + " needs " +
                                std::to_string(shape.numel()) + " values, got " +
                                std::to_string(values.size()));
  auto node = new_node(shape);
  std::copy(values.begin(), values.end(), node->value);
  node->requires_grad = requires_grad;
  return Tensor(node);
}

Tensor Tensor::scalar(float value, bool requires_grad) {
  return full(Shape{1}, value, requires_grad);
}

Tensor make_result(const char* op, const Shape& shape, const std::vector<Tensor>& inputs) {
  auto node = new_node(shape);
  node->op = op;
  if (recording_enabled) {
    for (const Tensor& input : inputs)
      if (input.defined() && input.requires_grad()) node->requires_grad = true;
    if (node->requires_grad)
      for (const Tensor& input : inputs) node->parents.push_back(input.node_ptr());
  }
  return Tensor(node);
}

// ---- looking at tensors ----------------------------------------------------------------------

std::vector<float> Tensor::values() const {
  return std::vector<float>(node_->value, node_->value + numel());
}

float Tensor::item() const {
  if (numel() != 1)
    throw std::invalid_argument("item(): tensor of shape " + shape().to_string() +
                                " has more than one value");
  return node_->value[0];
}

std::vector<float> Tensor::grad_values() const {
  if (node_->grad.empty()) return std::vector<float>(numel(), 0.0f);
  return std::vector<float>(node_->grad.data(), node_->grad.data() + numel());
}

void Tensor::zero_grad() {
  if (!node_->grad.empty()) std::memset(node_->grad.data(), 0, numel() * sizeof(float));
  node_->row_gradient.clear();
}

Tensor& Tensor::make_parameter(const std::string& name, bool sparse) {
  node_->requires_grad = true;
  node_->name = name;
  node_->sparse_gradient = sparse;
  if (sparse) {
    node_->row_gradient.width = shape().last();
    node_->row_gradient.row_count = shape().dims[0];
  }
  return *this;
}

Tensor Tensor::detach() const {
  // A view of the same values with no parents: gradients stop here.
  auto node = std::make_shared<Node>();
  node->shape = shape();
  node->value = node_->value;
  node->view_of = node_;
  node->op = "detach";
  return Tensor(node);
}

// ---- backward --------------------------------------------------------------------------------

void Tensor::backward() {
  Node& root = *node_;
  if (root.graph_released)
    throw std::logic_error("backward(): this graph was already used by a backward() call and "
                           "released; build it again (run the forward) to differentiate again");
  if (root.numel() != 1)
    throw std::invalid_argument("backward(): needs a one-element tensor (a loss), got shape " +
                                root.shape.to_string());
  if (!root.requires_grad)
    throw std::invalid_argument("backward(): the tensor does not depend on anything that needs "
                                "a gradient (no parameter, or built under NoGrad)");

  // Topological order by an iterative depth-first search: a node is appended after all its
  // parents, so walking the list backwards visits every node after everything that uses it.
  std::vector<Node*> order;
  std::unordered_set<Node*> visited;
  std::vector<std::pair<Node*, size_t>> stack;  // (node, index of the next parent to visit)
  stack.push_back({&root, 0});
  visited.insert(&root);
  while (!stack.empty()) {
    auto& [node, next_parent] = stack.back();
    if (next_parent < node->parents.size()) {
      Node* parent = node->parents[next_parent++].get();
      if (parent != nullptr && parent->requires_grad && visited.insert(parent).second) stack.push_back({parent, 0});
    } else {
      order.push_back(node);
      stack.pop_back();
    }
  }

  root.grad_data()[0] += 1.0f;  // d(loss)/d(loss)
  for (auto it = order.rbegin(); it != order.rend(); ++it) {
    Node* node = *it;
    // A node no gradient reached (all its uses were non-differentiable) has nothing to pass on.
    if (node->backward && !node->grad.empty()) node->backward(*node);
  }

  // Release the graph: intermediates drop their inputs and saved values, leaves keep grads.
  for (Node* node : order) {
    if (node->backward) {
      node->backward = nullptr;
      node->parents.clear();
      node->graph_released = true;
    }
  }
}

}  // namespace mind
