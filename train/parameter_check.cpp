// Scans over Model::checkpoint_tensors().
#include "train/parameter_check.h"

#include <cmath>
#include <sstream>

namespace mind::train {

std::string first_nonfinite_parameter(const models::Model& model) {
  for (const Tensor& tensor : model.checkpoint_tensors()) {
    const float* values = tensor.data();
    for (int64_t i = 0; i < tensor.numel(); ++i) {
      if (std::isfinite(values[i])) continue;
      return "'" + tensor.name() + "' " + tensor.shape().to_string() + " holds " +
             (std::isnan(values[i]) ? "nan" : "inf") + " at element " + std::to_string(i);
    }
  }
  return "";
}

std::string largest_parameter_value(const models::Model& model) {
  std::string largest_name;
  float largest_value = 0.0f;
  int64_t largest_index = 0;
  for (const Tensor& tensor : model.checkpoint_tensors()) {
    const float* values = tensor.data();
    for (int64_t i = 0; i < tensor.numel(); ++i) {
      if (largest_name.empty() || std::fabs(values[i]) > std::fabs(largest_value)) {
        largest_name = tensor.name();
        largest_value = values[i];
        largest_index = i;
      }
    }
  }
  std::ostringstream text;
  text << "'" << largest_name << "' (" << largest_value << " at element " << largest_index << ")";
  return text.str();
}

}  // namespace mind::train
