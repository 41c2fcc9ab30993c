// Model, optimizer and trainer state on disk.
#include "train/checkpoint.h"

#include <fstream>
#include <sstream>
#include <stdexcept>

#include "nn/atomic_file.h"
#include "nn/json.h"
#include "nn/safetensors.h"
#include "train/option_table.h"

namespace mind::train {

namespace {
std::vector<int64_t> dims(const Shape& shape) {
  return std::vector<int64_t>(shape.dims, shape.dims + shape.rank);
}
// The checkpoint's __metadata__: its format, the model's hyper-parameters (the option table's
// rows with a metadata key, in table order), and the catalogue's size.
nn::SafetensorsMetadata checkpoint_metadata(const models::Model& model) {
  TrainOptions options;
  options.model = model.config();
  // Categories count only when the data had some.
  options.model.use_categories = model.config().use_categories && model.item_embedding().uses_categories();
  nn::SafetensorsMetadata metadata = {{"format", "mind.cpp checkpoint v1"}};
  for (const Option& option : option_table())
    if (!option.metadata_key.empty()) metadata.emplace_back(option.metadata_key, option.format(options));
  metadata.emplace_back("items", std::to_string(model.item_embedding().items.rows()));
  return metadata;
}
}  // namespace

void save_model(const std::string& path, const models::Model& model) {
  std::vector<nn::TensorData> tensors;
  for (const Tensor& tensor : model.checkpoint_tensors())
    tensors.push_back(nn::TensorData::from_float32(tensor.name(), dims(tensor.shape()),
                                                   std::span<const float>(tensor.data(), tensor.numel())));
  nn::save_safetensors(path, tensors, checkpoint_metadata(model));
}

void load_model(const std::string& path, const models::Model& model) {
  const nn::SafetensorsFile file = nn::load_safetensors(path);
  const std::string& model_name = file.get_metadata("model");
  if (model_name != model.config().model)
    throw std::runtime_error(path + ": holds a '" + model_name + "' model, not '" + model.config().model + "'");
  for (Tensor tensor : model.checkpoint_tensors()) {
    const nn::TensorData& stored = file.get(tensor.name());
    if (stored.dtype != "F32" || stored.shape != dims(tensor.shape())) {
      std::string stored_shape = "[";
      for (size_t i = 0; i < stored.shape.size(); ++i) stored_shape += (i ? ", " : "") + std::to_string(stored.shape[i]);
      throw std::runtime_error(path + ": tensor '" + tensor.name() + "' is " + stored.dtype + " " + stored_shape +
                               "], the model expects F32 " + tensor.shape().to_string() +
                               " (was the checkpoint made from other data or options?)");
    }
    stored.copy_float32_to(std::span<float>(tensor.data(), tensor.numel()));
  }
}

void save_optimizer(const std::string& path, const nn::Optimizer& optimizer) {
  // The 8-byte step count first, so that it starts 8-byte aligned in the file.
  const int64_t step = optimizer.step_count();
  std::vector<nn::TensorData> tensors = {nn::TensorData::from_int64("step", {}, std::span<const int64_t>(&step, 1))};
  for (const nn::NamedArray& array : optimizer.state())
    tensors.push_back(nn::TensorData::from_float32(array.name, dims(array.shape), array.values));
  nn::save_safetensors(path, tensors, {{"format", "mind.cpp optimizer state v1"}});
}

void load_optimizer(const std::string& path, nn::Optimizer& optimizer) {
  const nn::SafetensorsFile file = nn::load_safetensors(path);
  std::vector<nn::NamedArray> arrays;
  int64_t step = -1;
  for (const nn::TensorData& tensor : file.tensors) {
    if (tensor.name == "step") {
      step = tensor.to_int64().at(0);
      continue;
    }
    nn::NamedArray array;
    array.name = tensor.name;
    if (tensor.shape.size() > static_cast<size_t>(Shape::max_rank))
      throw std::runtime_error(path + ": tensor '" + tensor.name + "' has too many axes");
    for (int64_t size : tensor.shape) array.shape.dims[array.shape.rank++] = size;
    array.values = tensor.to_float32();
    arrays.push_back(std::move(array));
  }
  if (step < 0) throw std::runtime_error(path + ": no 'step' entry: not an optimizer state file");
  try {
    optimizer.load_state(arrays, step);
  } catch (const std::exception& error) {
    throw std::runtime_error(path + ": " + error.what());
  }
}

void save_train_state(const std::string& path, const TrainState& state) {
  using nn::JsonValue;
  auto words = [](const std::array<uint64_t, 4>& rng) {
    JsonValue array = JsonValue::make_array();
    for (uint64_t word : rng) array.push_back(JsonValue::make_string(std::to_string(word)));
    return array;
  };
  JsonValue root = JsonValue::make_object();
  root.add_member("step", JsonValue::make_number(static_cast<double>(state.step)));
  root.add_member("epochs_completed", JsonValue::make_number(static_cast<double>(state.epochs_completed)));
  root.add_member("batcher_epoch", JsonValue::make_number(static_cast<double>(state.batcher.epoch)));
  root.add_member("batcher_cursor", JsonValue::make_number(static_cast<double>(state.batcher.cursor)));
  root.add_member("batcher_epoch_start_rng", words(state.batcher.epoch_start_rng));
  root.add_member("negative_rng", words(state.negative_rng));
  root.add_member("routing_rng", words(state.routing_rng));
  root.add_member("best_recall", JsonValue::make_number(state.best_recall));
  root.add_member("best_step", JsonValue::make_number(static_cast<double>(state.best_step)));
  root.add_member("evaluations_without_improvement",
                  JsonValue::make_number(static_cast<double>(state.evaluations_without_improvement)));
  root.add_member("finished", JsonValue::make_bool(state.finished));
  // Doubles survive the JSON round trip exactly (shortest round-trip text), so the resumed
  // run's sums continue bit for bit.
  root.add_member("loss_sum_since_validation", JsonValue::make_number(state.loss_sum_since_validation));
  root.add_member("losses_since_validation", JsonValue::make_number(static_cast<double>(state.losses_since_validation)));
  JsonValue first_losses = JsonValue::make_array();
  for (double loss : state.first_losses) first_losses.push_back(JsonValue::make_number(loss));
  root.add_member("first_losses", first_losses);
  root.add_member("seconds", JsonValue::make_number(state.seconds));
  root.add_member("tested_step", JsonValue::make_number(static_cast<double>(state.tested_step)));
  const std::string text = nn::to_json(root) + "\n";
  nn::AtomicFileWriter writer(path);
  writer.write(text.data(), text.size());
  writer.commit();
}

TrainState load_train_state(const std::string& path) {
  std::ifstream file(path);
  if (!file) throw std::runtime_error(path + ": cannot open the training state (is this a mind_train output folder?)");
  std::stringstream text;
  text << file.rdbuf();
  const nn::JsonValue root = nn::parse_json(text.str(), path);
  auto words = [&](const char* key) {
    std::array<uint64_t, 4> rng{};
    const nn::JsonValue& array = root.at(key);
    if (array.size() != 4) throw std::runtime_error(path + ": '" + key + "' must hold 4 numbers");
    for (size_t i = 0; i < 4; ++i) rng[i] = std::stoull(array.at(i).as_string());
    return rng;
  };
  try {
    TrainState state;
    state.step = root.at("step").as_integer();
    state.epochs_completed = root.at("epochs_completed").as_integer();
    state.batcher.epoch = root.at("batcher_epoch").as_integer();
    state.batcher.cursor = root.at("batcher_cursor").as_integer();
    state.batcher.epoch_start_rng = words("batcher_epoch_start_rng");
    state.negative_rng = words("negative_rng");
    state.routing_rng = words("routing_rng");
    state.best_recall = root.at("best_recall").as_number();
    state.best_step = root.at("best_step").as_integer();
    state.evaluations_without_improvement = root.at("evaluations_without_improvement").as_integer();
    state.finished = root.at("finished").as_bool();
    if (const nn::JsonValue* sum = root.find("loss_sum_since_validation")) state.loss_sum_since_validation = sum->as_number();
    if (const nn::JsonValue* count = root.find("losses_since_validation")) state.losses_since_validation = count->as_integer();
    if (const nn::JsonValue* losses = root.find("first_losses"))
      for (const nn::JsonValue& loss : losses->as_array()) state.first_losses.push_back(loss.as_number());
    if (const nn::JsonValue* seconds = root.find("seconds")) state.seconds = seconds->as_number();
    if (const nn::JsonValue* tested = root.find("tested_step")) state.tested_step = tested->as_integer();
    return state;
  } catch (const std::invalid_argument& error) {
    throw std::runtime_error(path + ": " + error.what());
  }
}

}  // namespace mind::train
