// Fuzzes the safetensors loader (load_safetensors) and the two checkpoint loaders built on it:
// train::load_model into a tiny MIND model and train::load_optimizer into AdamWithLazyTables over its
// parameters (fuzz/corpus/safetensors holds a checkpoint of each, written by that model).
// Input: the file. A file that loads must be self-consistent (dtype, shape and
// byte count agree; names distinct) and its values must round-trip through save_safetensors.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "autograd/random.h"
#include "fuzz/fuzz_support.h"
#include "models/model.h"
#include "nn/adam.h"
#include "io/safetensors.h"
#include "train/checkpoint.h"

namespace {

using mind::fuzz::require;

// A MIND model over 3 items with d = 2, K = 2 (a few dozen floats): big enough to have every
// kind of tensor a checkpoint holds, small enough that loading it costs microseconds.
struct TinyRun {
  std::unique_ptr<mind::models::Model> model;
  std::unique_ptr<mind::nn::AdamWithLazyTables> optimizer;
};

TinyRun& tiny_run() {
  static TinyRun run = [] {
    mind::models::ModelConfig config;
    config.dim = 2;
    config.interests = 2;
    config.max_len = 3;
    config.hidden = {2};
    config.negatives = 1;
    mind::models::Catalogue catalogue;
    catalogue.item_count = 3;
    mind::Rng rng(7);
    TinyRun built;
    built.model = mind::models::make_model(config, catalogue, rng);
    built.optimizer = std::make_unique<mind::nn::AdamWithLazyTables>(built.model->parameters());
    return built;
  }();
  return run;
}

void check_file(const mind::io::SafetensorsFile& file) {
  std::vector<std::string> names;
  for (const mind::io::TensorData& tensor : file.tensors) {
    const int64_t dtype_size = mind::io::safetensors_dtype_size(tensor.dtype);
    require(dtype_size > 0);
    int64_t count = 1;
    for (int64_t size : tensor.shape) {
      require(size >= 0);
      count *= size;
    }
    require(count == tensor.element_count());
    require(static_cast<int64_t>(tensor.bytes.size()) == count * dtype_size);
    require(file.find(tensor.name) == &tensor);
    names.push_back(tensor.name);
  }
  std::sort(names.begin(), names.end());
  require(std::adjacent_find(names.begin(), names.end()) == names.end());
  std::vector<std::string> keys;
  for (const auto& [key, value] : file.metadata) keys.push_back(key);
  std::sort(keys.begin(), keys.end());
  require(std::adjacent_find(keys.begin(), keys.end()) == keys.end());
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  const std::filesystem::path& folder = mind::fuzz::scratch_folder("safetensors");
  const std::string path = mind::fuzz::write_file(folder, "model.safetensors", input);
  mind::io::SafetensorsFile file;
  try {
    file = mind::io::load_safetensors(path);
  } catch (const std::exception&) {
    return 0;  // a clear error is a correct outcome
  }
  check_file(file);

  // What loaded saves again and loads back to the same tensors (the writer refuses some names
  // the reader accepts, e.g. an empty one: then there is nothing to compare).
  const std::string copy_path = (folder / "copy.safetensors").string();
  bool saved = false;
  try {
    mind::io::save_safetensors(copy_path, file.tensors, file.metadata);
    saved = true;
  } catch (const std::exception&) {
  }
  if (saved) {
    const mind::io::SafetensorsFile copy = mind::io::load_safetensors(copy_path);
    require(copy.tensors.size() == file.tensors.size() && copy.metadata == file.metadata);
    for (size_t i = 0; i < copy.tensors.size(); ++i) {
      require(copy.tensors[i].name == file.tensors[i].name && copy.tensors[i].dtype == file.tensors[i].dtype);
      require(copy.tensors[i].shape == file.tensors[i].shape && copy.tensors[i].bytes == file.tensors[i].bytes);
    }
  }

  TinyRun& run = tiny_run();
  try {
    mind::train::load_model(path, *run.model);
  } catch (const std::exception&) {
  }
  try {
    mind::train::load_optimizer(path, *run.optimizer);
  } catch (const std::exception&) {
  }
  return 0;
}
