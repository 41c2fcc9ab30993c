// The shared part of every optimizer: checking parameters, zero_grad, and the state as named
// arrays (export, and a load that validates everything before it changes anything).
#include "nn/optimizer.h"

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <unordered_map>
#include <unordered_set>

namespace mind::nn {

namespace {

void check_learning_rate(double learning_rate, const char* optimizer_name) {
  if (!std::isfinite(learning_rate) || learning_rate < 0.0)
    throw std::runtime_error(std::string(optimizer_name) + ": the learning rate must be a finite "
                             "number >= 0, got " + std::to_string(learning_rate));
}

}  // namespace

Optimizer::Optimizer(std::vector<Tensor> parameters, double learning_rate,
                     const char* optimizer_name)
    : parameters_(std::move(parameters)), optimizer_name_(optimizer_name),
      learning_rate_(learning_rate) {
  const std::string caller = optimizer_name_;
  check_learning_rate(learning_rate, optimizer_name_);
  if (parameters_.empty())
    throw std::runtime_error(caller + ": no parameters to optimize (an empty list usually means "
                             "the model's parameters() was not filled)");
  std::unordered_set<std::string> names;
  for (size_t index = 0; index < parameters_.size(); ++index) {
    const Tensor& parameter = parameters_[index];
    const std::string where = caller + ": parameter " + std::to_string(index);
    if (!parameter.defined()) throw std::runtime_error(where + " is an empty Tensor handle");
    if (!parameter.requires_grad() || parameter.node()->backward)
      throw std::runtime_error(where + " ('" + parameter.name() + "', made by " + parameter.op() +
                               ") is not a parameter: call make_parameter(name) on a leaf tensor");
    if (parameter.name().empty())
      throw std::runtime_error(where + " has no name; the optimizer state is saved by name, so "
                               "give it one with make_parameter(name)");
    if (!names.insert(parameter.name()).second)
      throw std::runtime_error(caller + ": parameter name '" + parameter.name() +
                               "' appears twice (the same tensor given twice, or two tensors "
                               "with one name); state could not be told apart");
    if (parameter.node()->sparse_gradient && parameter.rank() != 2)
      throw std::runtime_error(caller + ": table '" + parameter.name() + "' must be [N, d], got " +
                               parameter.shape().to_string());
  }
}

void Optimizer::set_learning_rate(double learning_rate) {
  check_learning_rate(learning_rate, optimizer_name_);
  learning_rate_ = learning_rate;
}

void Optimizer::zero_grad() {
  for (Tensor& parameter : parameters_) parameter.zero_grad();
}

size_t Optimizer::add_state_array(const std::string& name, const Shape& shape) {
  state_.push_back(StateArray{name, shape, Buffer::zeros(shape.numel())});
  return state_.size() - 1;
}

std::vector<NamedArray> Optimizer::state() const {
  std::vector<NamedArray> arrays;
  for (const StateArray& array : state_) {
    const float* values = array.values.data();
    arrays.push_back(NamedArray{array.name, array.shape,
                                std::vector<float>(values, values + array.values.size())});
  }
  return arrays;
}

void Optimizer::load_state(const std::vector<NamedArray>& arrays, int64_t step_count) {
  const std::string caller = std::string(optimizer_name_) + "::load_state";
  if (step_count < 0)
    throw std::runtime_error(caller + ": the step count must be >= 0, got " +
                             std::to_string(step_count));

  std::unordered_map<std::string, size_t> position_of_name;
  for (size_t position = 0; position < state_.size(); ++position)
    position_of_name[state_[position].name] = position;

  // First validate everything, so that a bad state leaves the optimizer as it was.
  std::vector<const NamedArray*> source_for_position(state_.size(), nullptr);
  for (const NamedArray& array : arrays) {
    const auto found = position_of_name.find(array.name);
    if (found == position_of_name.end())
      throw std::runtime_error(caller + ": unknown state array '" + array.name +
                               "' (it belongs to no parameter of this optimizer, or to another "
                               "kind of optimizer)");
    const StateArray& expected = state_[found->second];
    if (source_for_position[found->second] != nullptr)
      throw std::runtime_error(caller + ": state array '" + array.name + "' is given twice");
    if (array.shape != expected.shape)
      throw std::runtime_error(caller + ": state array '" + array.name + "' has shape " +
                               array.shape.to_string() + ", the parameter needs " +
                               expected.shape.to_string());
    if (static_cast<int64_t>(array.values.size()) != expected.shape.numel())
      throw std::runtime_error(caller + ": state array '" + array.name + "' holds " +
                               std::to_string(array.values.size()) + " values, its shape " +
                               expected.shape.to_string() + " needs " +
                               std::to_string(expected.shape.numel()));
    for (size_t index = 0; index < array.values.size(); ++index)
      if (!std::isfinite(array.values[index]))
        throw std::runtime_error(caller + ": state array '" + array.name +
                                 "' holds a non-finite value (" +
                                 std::to_string(array.values[index]) + ") at index " +
                                 std::to_string(index));
    source_for_position[found->second] = &array;
  }
  for (size_t position = 0; position < state_.size(); ++position)
    if (source_for_position[position] == nullptr)
      throw std::runtime_error(caller + ": state array '" + state_[position].name +
                               "' is missing");

  for (size_t position = 0; position < state_.size(); ++position) {
    const std::vector<float>& values = source_for_position[position]->values;
    std::copy(values.begin(), values.end(), state_[position].values.data());
  }
  step_count_ = step_count;
}

void require_only_row_gradient(Tensor& table, const char* caller) {
  if (table.has_grad())
    throw std::runtime_error(std::string(caller) + ": table '" + table.name() +
                             "' has a row-sparse gradient but also received a dense one (an op "
                             "other than gather_rows used it, e.g. a full-softmax matmul); make "
                             "it a dense parameter (make_parameter(name, false)) to train it "
                             "densely");
}

void check_row_gradient(Tensor& table, const char* caller) {
  const RowSparseGradient& gradient = table.row_gradient();
  const int64_t row_count = table.size(0), width = table.size(1);
  const std::string where = std::string(caller) + ": row gradient of table '" + table.name() + "'";
  if (gradient.width != width)
    throw std::runtime_error(where + " has width " + std::to_string(gradient.width) +
                             ", the table's rows have " + std::to_string(width));
  if (static_cast<int64_t>(gradient.values.size()) !=
      static_cast<int64_t>(gradient.rows.size()) * width)
    throw std::runtime_error(where + " holds " + std::to_string(gradient.values.size()) +
                             " values for " + std::to_string(gradient.rows.size()) + " rows of " +
                             std::to_string(width));
  for (int32_t row : gradient.rows)
    if (row < 0 || row >= row_count)
      throw std::runtime_error(where + " names row " + std::to_string(row) + ", outside [0, " +
                               std::to_string(row_count) + ")");
}

}  // namespace mind::nn
