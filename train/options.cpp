// TrainOptions ↔ run.json.
#include "train/options.h"

#include <stdexcept>

namespace mind::train {

using JsonValue = nlohmann::ordered_json;

nlohmann::ordered_json options_to_json(const TrainOptions& options) {
  JsonValue synthetic = JsonValue::object();
  const data::SyntheticOptions& s = options.data.synthetic;
  synthetic["seed"] = std::to_string(s.seed);  // a string: 64 bits do not fit a JSON double
  synthetic["users"] = s.users;
  synthetic["items"] = s.items;
  synthetic["categories"] = s.categories;
  synthetic["max_interests"] = s.max_interests;
  synthetic["min_length"] = s.min_length;
  synthetic["max_length"] = s.max_length;
  synthetic["zipf_exponent"] = s.zipf_exponent;
  synthetic["category_zipf_exponent"] = s.category_zipf_exponent;
  synthetic["noise"] = s.noise;
  synthetic["segment_correlation"] = s.segment_correlation;
  synthetic["segments"] = s.segments;
  synthetic["age_bands"] = s.age_bands;

  JsonValue data = JsonValue::object();
  data["data"] = options.data.data;
  data["format"] = options.data.format;
  data["columns"] = options.data.columns;
  data["delimiter"] = options.data.delimiter;
  data["item_features"] = options.data.item_features;
  data["user_features"] = options.data.user_features;
  data["synthetic"] = synthetic;

  const models::ModelConfig& m = options.model;
  JsonValue model = JsonValue::object();
  model["model"] = m.model;
  model["dim"] = m.dim;
  model["interests"] = m.interests;
  model["max_len"] = m.max_len;
  model["routing_iterations"] = m.routing_iterations;
  model["routing_softmax"] = m.routing_softmax == nn::RoutingSoftmax::over_interests ? "interests" : "behaviours";
  model["dynamic_interests"] = m.dynamic_interests;
  model["routing_gradient"] = m.routing_gradient;
  model["fresh_routing_logits"] = m.fresh_routing_logits;
  model["squash_power"] = m.squash_power;
  model["attention_hard"] = m.attention.hard;
  model["attention_power"] = m.attention.power;
  JsonValue hidden = JsonValue::array();
  for (int64_t width : m.hidden) hidden.push_back(width);
  model["hidden"] = hidden;
  model["profile_width"] = m.profile_width;
  model["attention_width"] = m.attention_width;
  model["negatives"] = m.negatives;
  model["loss"] = m.loss;
  model["diversity_weight"] = m.diversity_weight;
  model["use_categories"] = m.use_categories;

  JsonValue root = JsonValue::object();
  root["data"] = data;
  root["model"] = model;
  root["batch_size"] = options.batch_size;
  root["epochs"] = options.epochs;
  root["max_steps"] = options.max_steps;
  root["learning_rate"] = options.learning_rate;
  root["clip_norm"] = options.clip_norm;
  root["seed"] = std::to_string(options.seed);
  root["eval_every"] = options.eval_every;
  root["patience"] = options.patience;
  root["exclude_history"] = options.exclude_history;
  root["eval_batch_size"] = options.eval_batch_size;
  return root;
}

TrainOptions options_from_json(const nlohmann::ordered_json& root, const std::string& source) {
  try {
    TrainOptions options;
    const JsonValue& data = root.at("data");
    options.data.data = data.at("data").get<std::string>();
    options.data.format = data.at("format").get<std::string>();
    options.data.columns = data.at("columns").get<std::string>();
    options.data.delimiter = data.at("delimiter").get<std::string>();
    options.data.item_features = data.at("item_features").get<std::string>();
    options.data.user_features = data.at("user_features").get<std::string>();
    const JsonValue& synthetic = data.at("synthetic");
    data::SyntheticOptions& s = options.data.synthetic;
    s.seed = std::stoull(synthetic.at("seed").get<std::string>());
    s.users = synthetic.at("users").get<int64_t>();
    s.items = synthetic.at("items").get<int64_t>();
    s.categories = synthetic.at("categories").get<int64_t>();
    s.max_interests = synthetic.at("max_interests").get<int64_t>();
    s.min_length = synthetic.at("min_length").get<int64_t>();
    s.max_length = synthetic.at("max_length").get<int64_t>();
    s.zipf_exponent = synthetic.at("zipf_exponent").get<double>();
    s.category_zipf_exponent = synthetic.at("category_zipf_exponent").get<double>();
    s.noise = synthetic.at("noise").get<double>();
    s.segment_correlation = synthetic.at("segment_correlation").get<double>();
    s.segments = synthetic.at("segments").get<int64_t>();
    s.age_bands = synthetic.at("age_bands").get<int64_t>();

    const JsonValue& model = root.at("model");
    models::ModelConfig& m = options.model;
    m.model = model.at("model").get<std::string>();
    m.dim = model.at("dim").get<int64_t>();
    m.interests = model.at("interests").get<int64_t>();
    m.max_len = model.at("max_len").get<int64_t>();
    m.routing_iterations = model.at("routing_iterations").get<int64_t>();
    m.routing_softmax = model.at("routing_softmax").get<std::string>() == "behaviours" ? nn::RoutingSoftmax::over_behaviours
                                                                               : nn::RoutingSoftmax::over_interests;
    m.dynamic_interests = model.at("dynamic_interests").get<bool>();
    m.routing_gradient = model.at("routing_gradient").get<bool>();
    m.fresh_routing_logits = model.at("fresh_routing_logits").get<bool>();
    m.squash_power = static_cast<float>(model.at("squash_power").get<double>());
    m.attention.hard = model.at("attention_hard").get<bool>();
    m.attention.power = static_cast<float>(model.at("attention_power").get<double>());
    m.hidden.clear();
    for (const JsonValue& width : model.at("hidden")) m.hidden.push_back(width.get<int64_t>());
    m.profile_width = model.at("profile_width").get<int64_t>();
    m.attention_width = model.at("attention_width").get<int64_t>();
    m.negatives = model.at("negatives").get<int64_t>();
    m.loss = model.at("loss").get<std::string>();
    m.diversity_weight = static_cast<float>(model.at("diversity_weight").get<double>());
    m.use_categories = model.at("use_categories").get<bool>();

    options.batch_size = root.at("batch_size").get<int64_t>();
    options.epochs = root.at("epochs").get<int64_t>();
    options.max_steps = root.at("max_steps").get<int64_t>();
    options.learning_rate = static_cast<float>(root.at("learning_rate").get<double>());
    options.clip_norm = static_cast<float>(root.at("clip_norm").get<double>());
    options.seed = std::stoull(root.at("seed").get<std::string>());
    options.eval_every = root.at("eval_every").get<int64_t>();
    options.patience = root.at("patience").get<int64_t>();
    options.exclude_history = root.at("exclude_history").get<bool>();
    options.eval_batch_size = root.at("eval_batch_size").get<int64_t>();
    return options;
  } catch (const std::exception& error) {
    throw std::runtime_error(source + ": " + error.what());
  }
}

}  // namespace mind::train
