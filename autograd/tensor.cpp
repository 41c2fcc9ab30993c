// The tape: making nodes, ordering the graph, running backward once per node.
#include "autograd/tensor.h"

#include <algorithm>
#include <cstring>
#include <numeric>
#include <stdexcept>
#include <unordered_set>

namespace mind {

// ---- RowSparseGradient ----------------------------------------------------------------------

void RowSparseGradient::append(int32_t row, const float* gradient_row) {
  rows.push_back(row);
  values.insert(values.end(), gradient_row, gradient_row + width);
}

void RowSparseGradient::coalesce() {
  if (rows.empty()) return;
  // Sort positions by (row id, position): equal ids keep append order, so the sum below is
  // taken in a fixed order and the result depends on nothing but the inputs. std::sort works
  // in place (std::stable_sort would allocate a buffer every step).
  order_.resize(rows.size());
  std::iota(order_.begin(), order_.end(), int64_t{0});
  std::sort(order_.begin(), order_.end(), [&](int64_t a, int64_t b) {
    return rows[a] < rows[b] || (rows[a] == rows[b] && a < b);
  });
  merged_rows_.clear();
  merged_values_.clear();
  for (int64_t position : order_) {
    const float* source = values.data() + position * width;
    if (!merged_rows_.empty() && merged_rows_.back() == rows[position]) {
      float* target = merged_values_.data() + (merged_rows_.size() - 1) * width;
      for (int64_t k = 0; k < width; ++k) target[k] += source[k];
    } else {
      merged_rows_.push_back(rows[position]);
      merged_values_.insert(merged_values_.end(), source, source + width);
    }
  }
  // Swap, not copy: both pairs of vectors keep their capacity for the next step.
  rows.swap(merged_rows_);
  values.swap(merged_values_);
}

// ---- Node ------------------------------------------------------------------------------------

float* Node::grad_data() {
  if (grad.empty()) grad = Buffer::zeros(numel());
  return grad.data();
}

float* grad_or_null(Node& node) { return node.requires_grad ? node.grad_data() : nullptr; }

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
  if (sparse) node_->row_gradient.width = shape().last();
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
