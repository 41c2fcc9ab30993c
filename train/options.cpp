// TrainOptions ↔ run.json.
#include "train/options.h"

#include <stdexcept>

namespace mind::train {

using io::JsonValue;

namespace {
JsonValue number(double value) { return JsonValue::make_number(value); }
JsonValue text(const std::string& value) { return JsonValue::make_string(value); }
JsonValue boolean(bool value) { return JsonValue::make_bool(value); }
}  // namespace

io::JsonValue options_to_json(const TrainOptions& options) {
  JsonValue synthetic = JsonValue::make_object();
  const data::SyntheticOptions& s = options.data.synthetic;
  synthetic.add_member("seed", text(std::to_string(s.seed)));  // a string: 64 bits do not fit a JSON double
  synthetic.add_member("users", number(s.users));
  synthetic.add_member("items", number(s.items));
  synthetic.add_member("categories", number(s.categories));
  synthetic.add_member("max_interests", number(s.max_interests));
  synthetic.add_member("min_length", number(s.min_length));
  synthetic.add_member("max_length", number(s.max_length));
  synthetic.add_member("zipf_exponent", number(s.zipf_exponent));
  synthetic.add_member("category_zipf_exponent", number(s.category_zipf_exponent));
  synthetic.add_member("noise", number(s.noise));
  synthetic.add_member("segment_correlation", number(s.segment_correlation));
  synthetic.add_member("segments", number(s.segments));
  synthetic.add_member("age_bands", number(s.age_bands));

  JsonValue data = JsonValue::make_object();
  data.add_member("data", text(options.data.data));
  data.add_member("format", text(options.data.format));
  data.add_member("columns", text(options.data.columns));
  data.add_member("delimiter", text(options.data.delimiter));
  data.add_member("item_features", text(options.data.item_features));
  data.add_member("user_features", text(options.data.user_features));
  data.add_member("synthetic", synthetic);

  const models::ModelConfig& m = options.model;
  JsonValue model = JsonValue::make_object();
  model.add_member("model", text(m.model));
  model.add_member("dim", number(m.dim));
  model.add_member("interests", number(m.interests));
  model.add_member("max_len", number(m.max_len));
  model.add_member("routing_iterations", number(m.routing_iterations));
  model.add_member("routing_softmax", text(m.routing_softmax == nn::RoutingSoftmax::over_interests ? "interests" : "behaviours"));
  model.add_member("dynamic_interests", boolean(m.dynamic_interests));
  model.add_member("routing_gradient", boolean(m.routing_gradient));
  model.add_member("fresh_routing_logits", boolean(m.fresh_routing_logits));
  model.add_member("squash_power", number(m.squash_power));
  model.add_member("attention_hard", boolean(m.attention.hard));
  model.add_member("attention_power", number(m.attention.power));
  JsonValue hidden = JsonValue::make_array();
  for (int64_t width : m.hidden) hidden.push_back(number(width));
  model.add_member("hidden", hidden);
  model.add_member("profile_width", number(m.profile_width));
  model.add_member("attention_width", number(m.attention_width));
  model.add_member("negatives", number(m.negatives));
  model.add_member("loss", text(m.loss));
  model.add_member("diversity_weight", number(m.diversity_weight));
  model.add_member("use_categories", boolean(m.use_categories));

  JsonValue root = JsonValue::make_object();
  root.add_member("data", data);
  root.add_member("model", model);
  root.add_member("batch_size", number(options.batch_size));
  root.add_member("epochs", number(options.epochs));
  root.add_member("max_steps", number(options.max_steps));
  root.add_member("learning_rate", number(options.learning_rate));
  root.add_member("clip_norm", number(options.clip_norm));
  root.add_member("seed", text(std::to_string(options.seed)));
  root.add_member("eval_every", number(options.eval_every));
  root.add_member("patience", number(options.patience));
  root.add_member("exclude_history", boolean(options.exclude_history));
  root.add_member("eval_batch_size", number(options.eval_batch_size));
  return root;
}

TrainOptions options_from_json(const io::JsonValue& root, const std::string& source) {
  try {
    TrainOptions options;
    const JsonValue& data = root.at("data");
    options.data.data = data.at("data").as_string();
    options.data.format = data.at("format").as_string();
    options.data.columns = data.at("columns").as_string();
    options.data.delimiter = data.at("delimiter").as_string();
    options.data.item_features = data.at("item_features").as_string();
    options.data.user_features = data.at("user_features").as_string();
    const JsonValue& synthetic = data.at("synthetic");
    data::SyntheticOptions& s = options.data.synthetic;
    s.seed = std::stoull(synthetic.at("seed").as_string());
    s.users = synthetic.at("users").as_integer();
    s.items = synthetic.at("items").as_integer();
    s.categories = synthetic.at("categories").as_integer();
    s.max_interests = synthetic.at("max_interests").as_integer();
    s.min_length = synthetic.at("min_length").as_integer();
    s.max_length = synthetic.at("max_length").as_integer();
    s.zipf_exponent = synthetic.at("zipf_exponent").as_number();
    s.category_zipf_exponent = synthetic.at("category_zipf_exponent").as_number();
    s.noise = synthetic.at("noise").as_number();
    s.segment_correlation = synthetic.at("segment_correlation").as_number();
    s.segments = synthetic.at("segments").as_integer();
    s.age_bands = synthetic.at("age_bands").as_integer();

    const JsonValue& model = root.at("model");
    models::ModelConfig& m = options.model;
    m.model = model.at("model").as_string();
    m.dim = model.at("dim").as_integer();
    m.interests = model.at("interests").as_integer();
    m.max_len = model.at("max_len").as_integer();
    m.routing_iterations = model.at("routing_iterations").as_integer();
    m.routing_softmax = model.at("routing_softmax").as_string() == "behaviours" ? nn::RoutingSoftmax::over_behaviours
                                                                               : nn::RoutingSoftmax::over_interests;
    m.dynamic_interests = model.at("dynamic_interests").as_bool();
    m.routing_gradient = model.at("routing_gradient").as_bool();
    m.fresh_routing_logits = model.at("fresh_routing_logits").as_bool();
    m.squash_power = static_cast<float>(model.at("squash_power").as_number());
    m.attention.hard = model.at("attention_hard").as_bool();
    m.attention.power = static_cast<float>(model.at("attention_power").as_number());
    m.hidden.clear();
    for (const JsonValue& width : model.at("hidden").as_array()) m.hidden.push_back(width.as_integer());
    m.profile_width = model.at("profile_width").as_integer();
    m.attention_width = model.at("attention_width").as_integer();
    m.negatives = model.at("negatives").as_integer();
    m.loss = model.at("loss").as_string();
    m.diversity_weight = static_cast<float>(model.at("diversity_weight").as_number());
    m.use_categories = model.at("use_categories").as_bool();

    options.batch_size = root.at("batch_size").as_integer();
    options.epochs = root.at("epochs").as_integer();
    options.max_steps = root.at("max_steps").as_integer();
    options.learning_rate = static_cast<float>(root.at("learning_rate").as_number());
    options.clip_norm = static_cast<float>(root.at("clip_norm").as_number());
    options.seed = std::stoull(root.at("seed").as_string());
    options.eval_every = root.at("eval_every").as_integer();
    options.patience = root.at("patience").as_integer();
    options.exclude_history = root.at("exclude_history").as_bool();
    options.eval_batch_size = root.at("eval_batch_size").as_integer();
    return options;
  } catch (const std::exception& error) {
    throw std::runtime_error(source + ": " + error.what());
  }
}

}  // namespace mind::train
