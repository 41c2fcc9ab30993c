// TrainOptions ↔ run.json, row by row of the option table.
#include "train/options.h"

#include <nlohmann/json.hpp>

#include <fstream>
#include <set>
#include <sstream>
#include <stdexcept>

#include "io/atomic_file.h"
#include "train/input_files.h"
#include "train/option_table.h"

namespace mind::train {

using nlohmann::json;

json options_to_json(const TrainOptions& options) {
  json root = json::object();
  for (const Option& option : option_table())
    if (!option.run_key.empty()) root[json::json_pointer(option.run_key)] = option.to_json(options);
  return root;
}

TrainOptions options_from_json(const json& root, const std::string& source) {
  TrainOptions options;
  std::set<std::string> keys;
  for (const Option& option : option_table()) {
    if (option.run_key.empty()) continue;
    keys.insert(option.run_key);
    const json::json_pointer pointer(option.run_key);
    if (!root.contains(pointer)) throw std::runtime_error(source + ": no " + option.run_key);
    try {
      option.from_json(options, root.at(pointer));
    } catch (const std::exception& error) {
      throw std::runtime_error(source + ": " + option.run_key + ": " + error.what());
    }
  }
  // A key the table does not know is a file from another version, or a typing mistake.
  const json leaves = root.flatten();  // {"/model/dim": 64, "/model/hidden/0": 128, ...}
  for (const auto& [key, value] : leaves.items()) {
    if (key.rfind("/inputs", 0) == 0) continue;  // the input files' fingerprints (train/input_files.h)
    bool known = false;
    for (const std::string& run_key : keys)
      known = known || key == run_key || key.rfind(run_key + "/", 0) == 0;  // "/model/hidden/0"
    if (!known) throw std::runtime_error(source + ": unknown key " + key);
  }
  try {
    check_options(options);
  } catch (const std::invalid_argument& error) {
    throw std::runtime_error(source + ": " + error.what());
  }
  return options;
}

namespace {
json read_run_json(const std::string& folder) {
  const std::string path = folder + "/run.json";
  std::ifstream file(path);
  if (!file) throw std::runtime_error(folder + ": no run.json there (is it a mind_train output folder?)");
  std::stringstream text;
  text << file.rdbuf();
  try {
    return json::parse(text.str());
  } catch (const json::parse_error& error) {
    throw std::runtime_error(path + ": " + error.what());
  }
}
}  // namespace

TrainOptions load_run_options(const std::string& folder) {
  return options_from_json(read_run_json(folder), folder + "/run.json");
}

std::vector<InputFile> load_run_inputs(const std::string& folder) {
  const json root = read_run_json(folder);
  if (!root.contains("inputs")) throw std::runtime_error(folder + "/run.json: no /inputs (the input files' fingerprints)");
  return inputs_from_json(root.at("inputs"), folder + "/run.json");
}

void save_run_options(const std::string& folder, const TrainOptions& options, const std::vector<InputFile>& inputs) {
  json root = options_to_json(options);
  root["inputs"] = inputs_to_json(inputs);
  const std::string text = root.dump(2) + "\n";
  io::AtomicFileWriter writer(folder + "/run.json");
  writer.write(text.data(), text.size());
  writer.commit();
}

}  // namespace mind::train
