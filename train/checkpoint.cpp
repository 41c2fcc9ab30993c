// Model, optimizer and trainer state on disk.
#include "train/checkpoint.h"

#include <charconv>
#include <fstream>
#include <sstream>
#include <stdexcept>

#include "io/atomic_file.h"
#include "io/json.h"
#include "io/safetensors.h"
#include "train/option_table.h"

namespace mind::train {

namespace {
std::vector<int64_t> dims(const Shape& shape) {
  return std::vector<int64_t>(shape.dims, shape.dims + shape.rank);
}
// The checkpoint's __metadata__: its format, the model's hyper-parameters (the option table's
// rows with a metadata key, in table order), and the catalogue's size.
io::SafetensorsMetadata checkpoint_metadata(const models::Model& model) {
  TrainOptions options;
  options.model = model.config();
  // Categories count only when the data had some.
  options.model.use_categories = model.config().use_categories && model.item_embedding().uses_categories();
  io::SafetensorsMetadata metadata = {{"format", "mind.cpp checkpoint v1"}};
  for (const Option& option : option_table())
    if (!option.metadata_key.empty()) metadata.emplace_back(option.metadata_key, option.format(options));
  metadata.emplace_back("items", std::to_string(model.item_embedding().items.rows()));
  return metadata;
}
}  // namespace

void save_model(const std::string& path, const models::Model& model) {
  std::vector<io::TensorData> tensors;
  for (const Tensor& tensor : model.checkpoint_tensors())
    tensors.push_back(io::TensorData::from_float32(tensor.name(), dims(tensor.shape()),
                                                   std::span<const float>(tensor.data(), tensor.numel())));
  io::save_safetensors(path, tensors, checkpoint_metadata(model));
}

void load_model(const std::string& path, const models::Model& model) {
  const io::SafetensorsFile file = io::load_safetensors(path);
  const std::string& model_name = file.get_metadata("model");
  if (model_name != model.config().model)
    throw std::runtime_error(path + ": holds a '" + model_name + "' model, not '" + model.config().model + "'");
  for (Tensor tensor : model.checkpoint_tensors()) {
    const io::TensorData& stored = file.get(tensor.name());
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
  std::vector<io::TensorData> tensors = {io::TensorData::from_int64("step", {}, std::span<const int64_t>(&step, 1))};
  for (const nn::NamedArray& array : optimizer.state())
    tensors.push_back(io::TensorData::from_float32(array.name, dims(array.shape), array.values));
  io::save_safetensors(path, tensors, {{"format", "mind.cpp optimizer state v1"}});
}

void load_optimizer(const std::string& path, nn::Optimizer& optimizer) {
  const io::SafetensorsFile file = io::load_safetensors(path);
  std::vector<nn::NamedArray> arrays;
  int64_t step = -1;
  for (const io::TensorData& tensor : file.tensors) {
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
  // The generator words as strings: readers that hold every number as a double (Python's json
  // does not, JavaScript does) would round 64-bit words.
  auto words = [](const std::array<uint64_t, 4>& rng) {
    nlohmann::ordered_json array = nlohmann::ordered_json::array();
    for (uint64_t word : rng) array.push_back(std::to_string(word));
    return array;
  };
  // Doubles survive the JSON round trip exactly (shortest round-trip text), so the resumed
  // run's sums continue bit for bit.
  const nlohmann::ordered_json root = {
      {"step", state.step},
      {"epochs_completed", state.epochs_completed},
      {"batcher_epoch", state.batcher.epoch},
      {"batcher_cursor", state.batcher.cursor},
      {"batcher_epoch_start_rng", words(state.batcher.epoch_start_rng)},
      {"negative_rng", words(state.negative_rng)},
      {"routing_rng", words(state.routing_rng)},
      {"best_recall", state.best_recall},
      {"best_step", state.best_step},
      {"evaluations_without_improvement", state.evaluations_without_improvement},
      {"finished", state.finished},
      {"loss_sum_since_validation", state.loss_sum_since_validation},
      {"losses_since_validation", state.losses_since_validation},
      {"first_losses", state.first_losses},
      {"seconds", state.seconds},
      {"tested_step", state.tested_step}};
  const std::string text = io::dump_json(root) + "\n";
  io::AtomicFileWriter writer(path);
  writer.write(text.data(), text.size());
  writer.commit();
}

TrainState load_train_state(const std::string& path) {
  std::ifstream file(path);
  if (!file) throw std::runtime_error(path + ": cannot open the training state (is this a mind_train output folder?)");
  std::stringstream text;
  text << file.rdbuf();
  const nlohmann::ordered_json root = io::parse_json(text.str(), path);
  if (!root.is_object()) throw std::runtime_error(path + ": expected a JSON object, got " + io::json_type_name(root));
  auto words = [&](const std::string& key) {
    const std::string problem = path + ": \"" + key + "\" must be an array of 4 unsigned integers written as strings";
    const auto found = root.find(key);
    if (found == root.end() || !found->is_array() || found->size() != 4) throw std::runtime_error(problem);
    std::array<uint64_t, 4> rng{};
    for (size_t i = 0; i < 4; ++i) {
      if (!(*found)[i].is_string()) throw std::runtime_error(problem);
      const std::string& word = (*found)[i].get_ref<const std::string&>();
      const auto [end, error] = std::from_chars(word.data(), word.data() + word.size(), rng[i]);
      if (error != std::errc() || end != word.data() + word.size()) throw std::runtime_error(problem);
    }
    return rng;
  };
  TrainState state;
  state.step = io::read_field<int64_t>(root, "step", path);
  state.epochs_completed = io::read_field<int64_t>(root, "epochs_completed", path);
  state.batcher.epoch = io::read_field<int64_t>(root, "batcher_epoch", path);
  state.batcher.cursor = io::read_field<int64_t>(root, "batcher_cursor", path);
  state.batcher.epoch_start_rng = words("batcher_epoch_start_rng");
  state.negative_rng = words("negative_rng");
  state.routing_rng = words("routing_rng");
  state.best_recall = io::read_field<double>(root, "best_recall", path);
  state.best_step = io::read_field<int64_t>(root, "best_step", path);
  state.evaluations_without_improvement = io::read_field<int64_t>(root, "evaluations_without_improvement", path);
  state.finished = io::read_field<bool>(root, "finished", path);
  if (root.contains("loss_sum_since_validation"))
    state.loss_sum_since_validation = io::read_field<double>(root, "loss_sum_since_validation", path);
  if (root.contains("losses_since_validation"))
    state.losses_since_validation = io::read_field<int64_t>(root, "losses_since_validation", path);
  if (root.contains("first_losses")) {
    const std::string problem = path + ": \"first_losses\" must be an array of numbers";
    const nlohmann::ordered_json& losses = root.at("first_losses");
    if (!losses.is_array()) throw std::runtime_error(problem);
    for (const nlohmann::ordered_json& loss : losses) {
      if (!loss.is_number()) throw std::runtime_error(problem);
      state.first_losses.push_back(loss.get<double>());
    }
  }
  // Optional: a train_state.json from before they were kept loads with the defaults.
  if (root.contains("seconds")) state.seconds = io::read_field<double>(root, "seconds", path);
  if (root.contains("tested_step")) state.tested_step = io::read_field<int64_t>(root, "tested_step", path);
  return state;
}

}  // namespace mind::train
