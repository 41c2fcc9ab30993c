// first_nonfinite: a topological walk that stops at the first NaN/Inf.
#include "autograd/nonfinite.h"

#include <cmath>
#include <cstring>
#include <unordered_set>
#include <vector>

namespace mind {

std::string first_nonfinite(const Tensor& root) {
  // Parents-first order by an iterative depth-first search (as in backward()).
  std::vector<Node*> order;
  std::unordered_set<Node*> visited;
  std::vector<std::pair<Node*, size_t>> stack = {{root.node(), 0}};
  visited.insert(root.node());
  while (!stack.empty()) {
    auto& [node, next_parent] = stack.back();
    if (next_parent < node->parents.size()) {
      Node* parent = node->parents[next_parent++].get();
      if (parent != nullptr && visited.insert(parent).second) stack.push_back({parent, 0});
    } else {
      order.push_back(node);
      stack.pop_back();
    }
  }
  for (Node* node : order) {
    // −∞ is how masked logits are written on purpose; only NaN and +∞ count there.
    const bool minus_infinity_allowed = std::strcmp(node->op, "log_softmax") == 0 || std::strcmp(node->op, "masked_fill") == 0;
    for (int64_t i = 0; i < node->numel(); ++i) {
      const float value = node->value[i];
      if (std::isfinite(value) || (minus_infinity_allowed && value == -INFINITY)) continue;
      const std::string what = node->name.empty() ? "the op '" + std::string(node->op) + "'"
                                                  : "the parameter '" + node->name + "'";
      return what + " " + node->shape.to_string() + " holds " + (std::isnan(value) ? "nan" : "inf") +
             " at element " + std::to_string(i) +
             (node->parents.empty() ? "" : " (its inputs are finite)");
    }
  }
  return "";
}

}  // namespace mind
