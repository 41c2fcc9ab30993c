// What the model's own tensors look like when training hits a NaN/Inf: which one holds a
// non-finite value, or, when all are finite, which holds the largest magnitude (the usual cause
// of an op overflowing). Tensors are named as the checkpoint names them. Used only on the way to
// an error or before a save, so a plain scan is fine.
#pragma once
#include <string>

#include "models/model.h"

namespace mind::train {

// "'mlp.0.weight' [16, 16] holds nan at element 3" for the first checkpoint tensor with a NaN
// or an infinity, or "" when every value is finite.
std::string first_nonfinite_parameter(const models::Model& model);

// "'mlp.0.weight' (3.40282e+38 at element 0)": the checkpoint tensor holding the value of
// largest magnitude. Meant for models whose values are all finite.
std::string largest_parameter_value(const models::Model& model);

}  // namespace mind::train
