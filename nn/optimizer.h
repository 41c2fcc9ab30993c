// Optimizer: what SGD and Adam share. It holds the parameters, the step counter, the learning
// rate, and the optimizer's state as a list of named arrays (momentum, Adam's moments), which it
// exports and loads back for an exact resume. It does not write files: nn/checkpoint does that.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "autograd/buffer.h"
#include "autograd/tensor.h"

namespace mind::nn {

// One array of optimizer state: `<parameter>.exp_avg`, `<parameter>.momentum_buffer`, ...
// Named after the parameter it belongs to (PyTorch's state_dict words), shaped like it.
struct NamedArray {
  std::string name;
  Shape shape;
  std::vector<float> values;  // shape.numel() values, row-major
};

class Optimizer {
 public:
  // Every parameter must be a named leaf made with make_parameter(); names must be unique,
  // because the state is saved and found again by name. `optimizer_name` ("Adam") starts every
  // error message. Throws std::runtime_error on a bad parameter or learning rate.
  explicit Optimizer(std::vector<Tensor> parameters, double learning_rate = 1e-3,
                     const char* optimizer_name = "Optimizer");
  virtual ~Optimizer() = default;
  // The state can be hundreds of megabytes (two [N, d] tables for Adam): no accidental copies.
  Optimizer(const Optimizer&) = delete;
  Optimizer& operator=(const Optimizer&) = delete;

  // Update every parameter from its gradient, then count the step.
  virtual void step() = 0;

  // Dense gradients set to zero (the buffers are kept for the next step), row gradients emptied.
  void zero_grad();

  const std::vector<Tensor>& parameters() const { return parameters_; }
  int64_t step_count() const { return step_count_; }

  // Hyper-parameters are doubles, as in PyTorch (Python floats): the step's constants are
  // worked out in double and only then rounded to float.
  double learning_rate() const { return learning_rate_; }
  // For schedules (warm-up, decay); negative or non-finite values are refused.
  void set_learning_rate(double learning_rate);

  // A copy of the whole state, in a fixed order (parameter by parameter).
  std::vector<NamedArray> state() const;
  // Put back a state exported by state() (possibly from another process, via a checkpoint).
  // Every array this optimizer has must be given exactly once, with its shape; an unknown,
  // missing, repeated or misshaped array, a non-finite value or a negative step count throws
  // std::runtime_error naming it, and then nothing has been changed.
  void load_state(const std::vector<NamedArray>& arrays, int64_t step_count);

 protected:
  // Subclasses create their state here, once, in their constructor: a zero array named
  // `name` shaped `shape`. Returns its position, to be used with state_values().
  size_t add_state_array(const std::string& name, const Shape& shape);
  float* state_values(size_t position) { return state_[position].values.data(); }

  std::vector<Tensor> parameters_;
  int64_t step_count_ = 0;
  const char* optimizer_name_;

 private:
  double learning_rate_;
  // The state as it is kept: like NamedArray, but in a 64-byte-aligned Buffer. A std::vector's
  // large block starts 16 bytes into a cache line, so every 256-byte row of an [N, 64] moment
  // table would straddle 5 lines instead of 4, and a lazy step at 10^6 rows misses on each.
  struct StateArray {
    std::string name;
    Shape shape;
    Buffer values;  // shape.numel() values, row-major
  };
  std::vector<StateArray> state_;
};

// Checks shared by the optimizers and clip_grad_norm, each throwing std::runtime_error that
// starts with `caller` and names the parameter.
//
// A table (sparse parameter) must have received its gradient only as rows. A dense gradient
// on it means some op other than gather_rows used it (a full-softmax matmul, say); training it
// row-sparsely would then silently drop that part, so we refuse and say how to fix it.
void require_only_row_gradient(Tensor& table, const char* caller);
// The row gradient's width matches the table, its values fill its rows, and every row id lies
// in [0, N) (a bad id would write outside the table).
void check_row_gradient(Tensor& table, const char* caller);

}  // namespace mind::nn
