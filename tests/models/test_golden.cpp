// Our MIND against an independent float64 implementation of docs/design.md §2 (tests/golden):
// the same parameters and batch must give the same intermediates, loss and gradients, in all
// five variants. Compared by name, never by buffer position. Tolerance (float32 against
// float64): |ours − golden| ≤ 2e-6 + 1e-4·|golden|, as tests/golden/README.md suggests.
#include <doctest/doctest.h>

#include <cmath>
#include <fstream>
#include <sstream>
#include <string>

#include "models/mind.h"
#include "io/json.h"

using namespace mind;
using Json = nlohmann::ordered_json;

namespace {

const Json& golden_file() {
  static const Json golden = [] {
    const std::string path = std::string(MIND_GOLDEN_DIR) + "/mind_small.json";
    std::ifstream file(path);
    if (!file) throw std::runtime_error("golden vectors not found at " + path +
                                        " (configure with -DMIND_GOLDEN_DIR=<folder of mind_small.json>)");
    std::stringstream text;
    text << file.rdbuf();
    return io::parse_json(text.str(), path);
  }();
  return golden;
}

// Flattens nested JSON arrays of numbers (and "-inf" strings) into doubles, row-major.
void flatten(const Json& value, std::vector<double>& out) {
  if (value.is_array()) {
    for (const Json& item : value) flatten(item, out);
  } else if (value.is_string()) {
    REQUIRE(value.get<std::string>() == "-inf");
    out.push_back(-INFINITY);
  } else if (value.is_boolean()) {
    out.push_back(value.get<bool>() ? 1.0 : 0.0);
  } else {
    out.push_back(value.get<double>());
  }
}
std::vector<double> numbers(const Json& value) {
  std::vector<double> out;
  flatten(value, out);
  return out;
}

void compare(const std::string& what, const std::vector<float>& ours, const std::vector<double>& golden) {
  REQUIRE_MESSAGE(ours.size() == golden.size(), what << ": " << ours.size() << " values vs " << golden.size());
  double worst = 0.0;
  size_t worst_index = 0;
  for (size_t i = 0; i < ours.size(); ++i) {
    if (std::isinf(golden[i])) {
      INFO(what << "[" << i << "] must be -inf, is " << ours[i]);
      CHECK(std::isinf(ours[i]));
      continue;
    }
    const double excess = std::fabs(ours[i] - golden[i]) / (2e-6 + 1e-4 * std::fabs(golden[i]));
    if (excess > worst) worst = excess, worst_index = i;
  }
  INFO(what << ": worst element " << worst_index << ": ours " << ours[worst_index] << " vs golden "
            << golden[worst_index] << " (" << worst << "× the tolerance)");
  CHECK(worst <= 1.0);
}

void set_values(Tensor& tensor, const std::vector<double>& values, size_t count) {
  REQUIRE(count == static_cast<size_t>(tensor.numel()));
  for (size_t i = 0; i < count; ++i) tensor.data()[i] = static_cast<float>(values[i]);
}

void check_run(const Json& run) {
  const Json& config = golden_file().at("config");
  const Json& variant = run.at("variant");
  const int64_t N = config.at("N").get<int64_t>(), d = config.at("d").get<int64_t>();
  const int64_t K = config.at("K").get<int64_t>(), L = config.at("L").get<int64_t>();
  const int64_t B = config.at("B").get<int64_t>();

  models::ModelConfig model_config;
  model_config.dim = d;
  model_config.interests = K;
  model_config.max_len = L;
  model_config.routing_iterations = config.at("R").get<int64_t>();
  model_config.hidden = {2 * d};
  model_config.negatives = config.at("negatives").size();
  if (variant.value("axis", "") == "behaviours")
    model_config.routing_softmax = nn::RoutingSoftmax::over_behaviours;
  model_config.routing_gradient = variant.value("routing_grad", model_config.routing_gradient);
  if (variant.contains("p")) {
    model_config.attention.hard = false;
    model_config.attention.power = variant.at("p").get<float>();
  }
  model_config.dynamic_interests = !variant.value("fixed_k", !model_config.dynamic_interests);

  models::Catalogue catalogue;
  catalogue.item_count = N;
  Rng rng(1);
  models::Mind model(model_config, catalogue, rng);

  // Parameters: golden name → ours (tests/golden/README.md's table). The golden item table has a
  // padding row N; ours has N rows and uses id −1 for padding.
  const Json& params = run.at("params");
  Tensor table = model.item_embedding().items.table;  // a handle: writing its values writes the model's
  set_values(table, numbers(params.at("items.E.weight")), N * d);
  set_values(model.routing.bilinear, numbers(params.at("routing.S")), d * d);
  set_values(model.routing.initial_logits, numbers(params.at("routing.b0")), K * L);
  set_values(model.mlp.layers[0].weight, numbers(params.at("mlp.l1.weight")), 2 * d * d);
  set_values(model.mlp.layers[0].bias, numbers(params.at("mlp.l1.bias")), 2 * d);
  set_values(model.mlp.layers[1].weight, numbers(params.at("mlp.l2.weight")), 2 * d * d);
  set_values(model.mlp.layers[1].bias, numbers(params.at("mlp.l2.bias")), d);

  data::Batch batch;
  data::reserve_batch(batch, B, L, 0);
  batch.size = B;
  const std::vector<double> history = numbers(config.at("hist"));
  for (int64_t i = 0; i < B * L; ++i) batch.history[i] = history[i] == N ? -1 : static_cast<int32_t>(history[i]);
  const std::vector<double> lengths = numbers(config.at("lengths")), targets = numbers(config.at("targets"));
  for (int64_t b = 0; b < B; ++b) {
    batch.lengths[b] = static_cast<int32_t>(lengths[b]);
    batch.targets[b] = static_cast<int32_t>(targets[b]);
  }
  std::vector<int32_t> negatives;
  for (double negative : numbers(config.at("negatives"))) negatives.push_back(static_cast<int32_t>(negative));

  for (Tensor& parameter : model.parameters()) parameter.zero_grad();
  models::ForwardTrace trace = model.forward(batch, negatives, nullptr);
  compare("u_hat", trace.predictions.values(), numbers(run.at("u_hat")));
  compare("capsules", trace.capsules.values(), numbers(run.at("capsules")));
  compare("interests", trace.interests.values(), numbers(run.at("interests")));
  compare("interest_mask", trace.interest_mask.values(), numbers(run.at("interest_mask")));
  compare("attention_scores", trace.attention_scores.values(), numbers(run.at("attention_scores")));
  compare("user_vector", trace.user_vector.values(), numbers(run.at("user_vector")));
  compare("logits", trace.logits.values(), numbers(run.at("logits")));
  compare("loss", trace.loss.values(), {run.at("loss").get<double>()});

  trace.loss.backward();
  const Json& grads = run.at("grads");
  // The row-sparse item gradient, scattered into a dense [N + 1, d] like the golden one.
  std::vector<float> dense_items((N + 1) * d, 0.0f);
  for (size_t r = 0; r < table.row_gradient().rows.size(); ++r)
    for (int64_t k = 0; k < d; ++k)
      dense_items[table.row_gradient().rows[r] * d + k] += table.row_gradient().values[r * d + k];
  compare("grad items.E.weight", dense_items, numbers(grads.at("items.E.weight")));
  compare("grad routing.S", model.routing.bilinear.grad_values(), numbers(grads.at("routing.S")));
  compare("grad mlp.l1.weight", model.mlp.layers[0].weight.grad_values(), numbers(grads.at("mlp.l1.weight")));
  compare("grad mlp.l1.bias", model.mlp.layers[0].bias.grad_values(), numbers(grads.at("mlp.l1.bias")));
  compare("grad mlp.l2.weight", model.mlp.layers[1].weight.grad_values(), numbers(grads.at("mlp.l2.weight")));
  compare("grad mlp.l2.bias", model.mlp.layers[1].bias.grad_values(), numbers(grads.at("mlp.l2.bias")));
}

}  // namespace

TEST_CASE("golden: the five MIND variants match the independent float64 implementation") {
  const Json& runs = golden_file().at("runs");
  REQUIRE(runs.size() == 5);
  for (size_t i = 0; i < runs.size(); ++i) {
    const Json& run = runs.at(i);
    SUBCASE(run.at("variant").at("name").get<std::string>().c_str()) { check_run(run); }
  }
}
