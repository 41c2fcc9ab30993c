// Input files and their fingerprints (train/input_files.h).
#include "train/input_files.h"

#include <nlohmann/json.hpp>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <stdexcept>

#include "train/option_table.h"

namespace mind::train {

namespace {

constexpr uint64_t prime_1 = 0x9E3779B185EBCA87ULL;
constexpr uint64_t prime_2 = 0xC2B2AE3D27D4EB4FULL;
constexpr uint64_t prime_3 = 0x165667B19E3779F9ULL;
constexpr uint64_t prime_4 = 0x85EBCA77C2B2AE63ULL;
constexpr uint64_t prime_5 = 0x27D4EB2F165667C5ULL;

uint64_t rotate_left(uint64_t value, int bits) { return (value << bits) | (value >> (64 - bits)); }

uint64_t mix_word(uint64_t hash, uint64_t word) {
  hash ^= rotate_left(word * prime_2, 31) * prime_1;
  return rotate_left(hash, 27) * prime_1 + prime_4;
}

std::string hex(uint64_t value) {
  char text[17];
  std::snprintf(text, sizeof(text), "%016llx", static_cast<unsigned long long>(value));
  return text;
}

std::string absolute_text(const std::string& path) {
  return std::filesystem::absolute(std::filesystem::path(path)).lexically_normal().string();
}

}  // namespace

uint64_t content_hash(const std::string& path) {
  std::ifstream file(path, std::ios::binary);
  if (!file) throw std::runtime_error(path + ": cannot open the input file to fingerprint it");
  std::vector<unsigned char> chunk(1 << 20);  // a multiple of 8: only the last chunk has a tail
  uint64_t hash = prime_5;
  uint64_t total = 0;
  while (file) {
    file.read(reinterpret_cast<char*>(chunk.data()), static_cast<std::streamsize>(chunk.size()));
    const size_t count = static_cast<size_t>(file.gcount());
    size_t at = 0;
    for (; at + 8 <= count; at += 8) {
      uint64_t word = 0;
      for (int byte = 7; byte >= 0; --byte) word = (word << 8) | chunk[at + byte];  // little-endian on any host
      hash = mix_word(hash, word);
    }
    for (; at < count; ++at) hash = rotate_left(hash ^ (chunk[at] * prime_5), 11) * prime_1;
    total += count;
  }
  if (file.bad()) throw std::runtime_error(path + ": read error while fingerprinting the input file");
  hash ^= total;
  hash ^= hash >> 33;
  hash *= prime_2;
  hash ^= hash >> 29;
  hash *= prime_3;
  hash ^= hash >> 32;
  return hash;
}

std::vector<std::string> input_paths(const data::DataOptions& data) {
  const std::string format = data.format == "auto" ? data::detect_format(data.data) : data.format;
  std::vector<std::string> paths;
  const auto in_folder = [&](std::initializer_list<const char*> names) {
    for (const char* name : names) {
      const std::filesystem::path path = std::filesystem::path(data.data) / name;
      if (std::filesystem::is_regular_file(path)) paths.push_back(absolute_text(path.string()));
    }
  };
  if (format == "csv") paths.push_back(absolute_text(data.data));
  else if (format == "movielens") in_folder({"ratings.csv", "movies.csv"});
  else if (format == "movielens-1m") in_folder({"ratings.dat", "movies.dat", "users.dat"});
  else if (format == "movielens-100k") in_folder({"u.data", "u.item", "u.user"});
  if (!data.item_features.empty()) paths.push_back(absolute_text(data.item_features));
  if (!data.user_features.empty()) paths.push_back(absolute_text(data.user_features));
  return paths;
}

std::vector<InputFile> fingerprint_inputs(const data::DataOptions& data) {
  std::vector<InputFile> inputs;
  for (const std::string& path : input_paths(data)) {
    std::error_code error;
    const uintmax_t bytes = std::filesystem::file_size(path, error);
    if (error) throw std::runtime_error(path + ": cannot read the input file's size: " + error.message());
    inputs.push_back({path, static_cast<uint64_t>(bytes), content_hash(path)});
  }
  return inputs;
}

nlohmann::json inputs_to_json(const std::vector<InputFile>& inputs) {
  nlohmann::json array = nlohmann::json::array();
  for (const InputFile& input : inputs)
    array.push_back({{"path", input.path}, {"bytes", input.bytes}, {"hash", hex(input.hash)}});
  return array;
}

std::vector<InputFile> inputs_from_json(const nlohmann::json& inputs, const std::string& source) {
  std::vector<InputFile> files;
  try {
    for (const nlohmann::json& entry : inputs) {
      InputFile file;
      file.path = entry.at("path").get<std::string>();
      file.bytes = entry.at("bytes").get<uint64_t>();
      const std::string hash = entry.at("hash").get<std::string>();
      size_t used = 0;
      file.hash = std::stoull(hash, &used, 16);
      if (hash.size() != 16 || used != 16) throw std::invalid_argument("'" + hash + "' is not 16 hex digits");
      files.push_back(file);
    }
  } catch (const std::exception& error) {
    throw std::runtime_error(source + ": /inputs: " + error.what());
  }
  return files;
}

void require_same_inputs(const std::string& folder, const std::vector<InputFile>& recorded,
                         const std::vector<InputFile>& now) {
  const std::string refusal = "--resume " + folder + ": ";
  const std::string advice = "; the run's item and user ids follow its data: restore the file, or start a new run";
  for (const InputFile& before : recorded) {
    const InputFile* after = nullptr;
    for (const InputFile& file : now)
      if (file.path == before.path) after = &file;
    if (after == nullptr) throw std::runtime_error(refusal + "the input file " + before.path + " is gone" + advice);
    if (after->bytes != before.bytes)
      throw std::runtime_error(refusal + "the input file " + before.path + " changed: " + std::to_string(before.bytes) +
                               " bytes when the run started, " + std::to_string(after->bytes) + " now" + advice);
    if (after->hash != before.hash)
      throw std::runtime_error(refusal + "the input file " + before.path + " changed: same size, other content (hash " +
                               hex(before.hash) + " when the run started, " + hex(after->hash) + " now)" + advice);
  }
  for (const InputFile& file : now) {
    bool known = false;
    for (const InputFile& before : recorded) known = known || before.path == file.path;
    if (!known)
      throw std::runtime_error(refusal + "the input file " + file.path + " was not there when the run started" + advice);
  }
}

void make_paths_absolute(TrainOptions& options) {
  for (const Option& option : option_table()) {
    if (!option.is_path) continue;
    const std::string value = option.format(options);
    if (value.empty() || (option.flag == "--data" && value == "synthetic")) continue;
    option.parse(options, absolute_text(value));
  }
}

}  // namespace mind::train
