// Saving and loading safetensors files. The loader trusts nothing in the file: every number of
// the header is checked against the file's real size before any byte is read with it, so a
// corrupt or hostile file gives a message, never an out-of-bounds read or a huge allocation.
#include "io/safetensors.h"

#include <algorithm>
#include <bit>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <stdexcept>

#include "io/atomic_file.h"
#include "io/reading.h"
#include "io/json.h"

namespace mind::io {

// Tensor bytes are copied to and from memory as they are; that is the file's byte order only
// on a little-endian machine (x86-64, ARM64 as run by every usual OS).
static_assert(std::endian::native == std::endian::little,
              "safetensors.cpp assumes a little-endian machine");

namespace {

// The reference implementation refuses headers above 100 MB too; real headers are kilobytes.
constexpr uint64_t maximum_header_length = 100'000'000;

[[noreturn]] void fail(const std::string& path, const std::string& problem) {
  throw std::runtime_error(path + ": " + problem);
}

std::string in_quotes(const std::string& text) { return "\"" + text + "\""; }

// "[2, 3]" for messages.
std::string shape_text(const std::vector<int64_t>& shape) {
  std::string text = "[";
  for (size_t i = 0; i < shape.size(); ++i) {
    if (i > 0) text += ", ";
    text += std::to_string(shape[i]);
  }
  return text + "]";
}

// "[begin, end]", as data_offsets are written.
std::string range_text(int64_t begin, int64_t end) { return shape_text({begin, end}); }

// A tensor holding a copy of `value_count` values of `element_size` bytes each.
TensorData make_tensor(std::string name, const char* dtype, std::vector<int64_t> shape,
                       const void* values, size_t value_count, size_t element_size) {
  const int64_t count = checked_element_count(shape);
  if (count < 0 || static_cast<uint64_t>(count) != value_count) {
    throw std::runtime_error("tensor " + in_quotes(name) + ": shape " + shape_text(shape) +
                             " does not hold " + std::to_string(value_count) + " values");
  }
  TensorData tensor;
  tensor.name = std::move(name);
  tensor.dtype = dtype;
  tensor.shape = std::move(shape);
  tensor.bytes.resize(value_count * element_size);
  if (value_count > 0) std::memcpy(tensor.bytes.data(), values, tensor.bytes.size());
  return tensor;
}

// The number of values in `tensor`, after checking that they are `expected_dtype` and that its
// bytes match its shape (a TensorData filled by hand may disagree with itself).
size_t checked_value_count(const TensorData& tensor, const char* expected_dtype,
                           size_t element_size) {
  if (tensor.dtype != expected_dtype) {
    throw std::runtime_error("tensor " + in_quotes(tensor.name) + " has dtype " + tensor.dtype +
                             ", expected " + expected_dtype);
  }
  const int64_t count = tensor.element_count();
  // Divide rather than multiply: a made-up shape must not overflow into a false match.
  if (tensor.bytes.size() % element_size != 0 ||
      static_cast<uint64_t>(count) != tensor.bytes.size() / element_size) {
    throw std::runtime_error("tensor " + in_quotes(tensor.name) + ": " +
                             std::to_string(tensor.bytes.size()) + " bytes do not match shape " +
                             shape_text(tensor.shape));
  }
  return static_cast<size_t>(count);
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// TensorData

int64_t safetensors_dtype_size(const std::string& dtype) {
  if (dtype == "F32" || dtype == "I32") return 4;
  if (dtype == "I64") return 8;
  return 0;
}

TensorData TensorData::from_float32(std::string name, std::vector<int64_t> shape,
                                    std::span<const float> values) {
  return make_tensor(std::move(name), "F32", std::move(shape), values.data(), values.size(),
                     sizeof(float));
}

TensorData TensorData::from_int32(std::string name, std::vector<int64_t> shape,
                                  std::span<const int32_t> values) {
  return make_tensor(std::move(name), "I32", std::move(shape), values.data(), values.size(),
                     sizeof(int32_t));
}

TensorData TensorData::from_int64(std::string name, std::vector<int64_t> shape,
                                  std::span<const int64_t> values) {
  return make_tensor(std::move(name), "I64", std::move(shape), values.data(), values.size(),
                     sizeof(int64_t));
}

int64_t TensorData::element_count() const {
  const int64_t count = checked_element_count(shape);
  if (count < 0) {
    throw std::runtime_error("tensor " + in_quotes(name) + ": invalid shape " + shape_text(shape));
  }
  return count;
}

std::vector<float> TensorData::to_float32() const {
  std::vector<float> values(checked_value_count(*this, "F32", sizeof(float)));
  if (!values.empty()) std::memcpy(values.data(), bytes.data(), bytes.size());
  return values;
}

std::vector<int32_t> TensorData::to_int32() const {
  std::vector<int32_t> values(checked_value_count(*this, "I32", sizeof(int32_t)));
  if (!values.empty()) std::memcpy(values.data(), bytes.data(), bytes.size());
  return values;
}

std::vector<int64_t> TensorData::to_int64() const {
  std::vector<int64_t> values(checked_value_count(*this, "I64", sizeof(int64_t)));
  if (!values.empty()) std::memcpy(values.data(), bytes.data(), bytes.size());
  return values;
}

void TensorData::copy_float32_to(std::span<float> destination) const {
  const size_t count = checked_value_count(*this, "F32", sizeof(float));
  if (count != destination.size()) {
    throw std::runtime_error("tensor " + in_quotes(name) + " of shape " + shape_text(shape) +
                             " has " + std::to_string(count) + " values, the destination holds " +
                             std::to_string(destination.size()));
  }
  if (count > 0) std::memcpy(destination.data(), bytes.data(), bytes.size());
}

// ---------------------------------------------------------------------------------------------
// Saving

void save_safetensors(const std::string& path, const std::vector<TensorData>& tensors,
                      const SafetensorsMetadata& metadata) {
  // Everything is checked before the file is opened, so a refused save leaves no trace.
  std::vector<std::string> names;
  for (const TensorData& tensor : tensors) {
    const std::string what = "cannot save tensor " + in_quotes(tensor.name);
    if (tensor.name == "__metadata__") fail(path, what + ": the name is reserved for metadata");
    const int64_t element_size = safetensors_dtype_size(tensor.dtype);
    if (element_size == 0) fail(path, what + ": unsupported dtype " + in_quotes(tensor.dtype));
    const int64_t count = checked_element_count(tensor.shape);
    if (count < 0 || count > std::numeric_limits<int64_t>::max() / element_size) {
      fail(path, what + ": invalid shape " + shape_text(tensor.shape));
    }
    if (static_cast<uint64_t>(count * element_size) != tensor.bytes.size()) {
      fail(path, what + ": shape " + shape_text(tensor.shape) + " of " + tensor.dtype + " needs " +
                     std::to_string(count * element_size) + " bytes, it has " +
                     std::to_string(tensor.bytes.size()));
    }
    names.push_back(tensor.name);
  }
  std::sort(names.begin(), names.end());
  const auto repeated_name = std::adjacent_find(names.begin(), names.end());
  if (repeated_name != names.end()) {
    fail(path, "cannot save: two tensors are named " + in_quotes(*repeated_name));
  }
  std::vector<std::string> keys;
  for (const std::pair<std::string, std::string>& entry : metadata) keys.push_back(entry.first);
  std::sort(keys.begin(), keys.end());
  const auto repeated_key = std::adjacent_find(keys.begin(), keys.end());
  if (repeated_key != keys.end()) {
    fail(path, "cannot save: metadata key " + in_quotes(*repeated_key) + " appears twice");
  }

  // {"__metadata__":{...},"name":{"dtype":"F32","shape":[2,3],"data_offsets":[0,24]},...}
  nlohmann::ordered_json header = nlohmann::ordered_json::object();
  if (!metadata.empty()) {
    nlohmann::ordered_json metadata_object = nlohmann::ordered_json::object();
    for (const std::pair<std::string, std::string>& entry : metadata) metadata_object[entry.first] = entry.second;
    header["__metadata__"] = std::move(metadata_object);
  }
  int64_t offset = 0;
  for (const TensorData& tensor : tensors) {
    const int64_t end = offset + static_cast<int64_t>(tensor.bytes.size());
    header[tensor.name] = {{"dtype", tensor.dtype}, {"shape", tensor.shape}, {"data_offsets", {offset, end}}};
    offset = end;
  }
  std::string header_text;
  try {
    header_text = dump_json(header);
  } catch (const std::exception& error) {
    fail(path, std::string("cannot save: ") + error.what());  // a name that is not UTF-8
  }
  // Spaces up to a multiple of 8: the data then starts 8-byte aligned (the spec allows this
  // padding, and aligned data can be memory-mapped and read in place).
  while (header_text.size() % 8 != 0) header_text += ' ';

  uint8_t length_bytes[8];
  const uint64_t header_length = header_text.size();
  for (int i = 0; i < 8; ++i) length_bytes[i] = static_cast<uint8_t>(header_length >> (8 * i));

  AtomicFileWriter writer(path);
  writer.write(length_bytes, sizeof(length_bytes));
  writer.write(header_text.data(), header_text.size());
  for (const TensorData& tensor : tensors) writer.write(tensor.bytes.data(), tensor.bytes.size());
  writer.commit();
}

// ---------------------------------------------------------------------------------------------
// Loading

namespace {

// One header entry before its bytes are read.
struct TensorEntry {
  TensorData tensor;  // name, dtype, shape; bytes still empty
  int64_t begin = 0;  // data_offsets, relative to the start of the data section
  int64_t end = 0;
};

// A JSON number that is a whole number in [0, 2^53]; `what` names it in the message. Integers
// written as 8.0 or 1e2 count: the format does not say how a writer spells its numbers.
int64_t read_non_negative_integer(const nlohmann::ordered_json& value, const std::string& path,
                                  const std::string& what) {
  if (!value.is_number()) {
    fail(path, what + " is " + json_type_name(value) + ", expected a non-negative integer");
  }
  // Above 2^53 a double skips integers: nothing in a real file comes near it.
  const uint64_t largest_integer = uint64_t{1} << 53;
  if (value.is_number_unsigned() && value.get<uint64_t>() <= largest_integer) {
    return static_cast<int64_t>(value.get<uint64_t>());
  }
  if (value.is_number_float()) {
    const double number = value.get<double>();
    if (number >= 0 && number <= static_cast<double>(largest_integer) && number == std::trunc(number)) {
      return static_cast<int64_t>(number);
    }
  }
  fail(path, what + " is " + value.dump() + ", expected a non-negative integer");
}

TensorEntry read_tensor_entry(const std::string& name, const nlohmann::ordered_json& description,
                              const std::string& path, uint64_t data_size) {
  TensorEntry entry;
  entry.tensor.name = name;
  const std::string what = "tensor " + in_quotes(name);
  if (!description.is_object()) {
    fail(path, what + ": expected an object with dtype, shape and data_offsets, got " +
                   json_type_name(description));
  }
  for (const auto& [key, field] : description.items()) {
    if (key != "dtype" && key != "shape" && key != "data_offsets") {
      fail(path, what + ": unknown field " + in_quotes(key) + " (expected dtype, shape, data_offsets)");
    }
  }

  entry.tensor.dtype = read_field<std::string>(description, "dtype", path + ": " + what);
  const int64_t element_size = safetensors_dtype_size(entry.tensor.dtype);
  if (element_size == 0) {
    fail(path, what + ": unsupported dtype " + in_quotes(entry.tensor.dtype) +
                   " (this reader handles F32, I32, I64)");
  }

  if (!description.contains("shape")) fail(path, what + ": missing \"shape\"");
  const nlohmann::ordered_json& shape = description.at("shape");
  if (!shape.is_array()) {
    fail(path, what + ": \"shape\" is " + json_type_name(shape) + ", expected an array");
  }
  for (size_t axis = 0; axis < shape.size(); ++axis) {
    entry.tensor.shape.push_back(
        read_non_negative_integer(shape[axis], path, what + ": shape[" + std::to_string(axis) + "]"));
  }

  if (!description.contains("data_offsets")) fail(path, what + ": missing \"data_offsets\"");
  const nlohmann::ordered_json& offsets = description.at("data_offsets");
  if (!offsets.is_array() || offsets.size() != 2) {
    fail(path, what + ": \"data_offsets\" must be an array [begin, end] of two integers");
  }
  entry.begin = read_non_negative_integer(offsets[0], path, what + ": data_offsets[0]");
  entry.end = read_non_negative_integer(offsets[1], path, what + ": data_offsets[1]");
  const std::string range = range_text(entry.begin, entry.end);
  if (entry.begin > entry.end) {
    fail(path, what + ": data_offsets " + range + " begin after they end");
  }
  if (static_cast<uint64_t>(entry.end) > data_size) {
    fail(path, what + ": data_offsets " + range + " run past the end of the data section (" +
                   std::to_string(data_size) + " bytes)");
  }

  const uint64_t range_size = static_cast<uint64_t>(entry.end - entry.begin);
  const int64_t count = checked_element_count(entry.tensor.shape);
  if (count < 0 || count > std::numeric_limits<int64_t>::max() / element_size) {
    fail(path, what + ": shape " + shape_text(entry.tensor.shape) + " of " + entry.tensor.dtype +
                   " is too large (over 2^63 bytes)");
  }
  const uint64_t needed_size = static_cast<uint64_t>(count * element_size);
  if (needed_size != range_size) {
    fail(path, what + ": shape " + shape_text(entry.tensor.shape) + " of " + entry.tensor.dtype +
                   " needs " + std::to_string(needed_size) + " bytes but data_offsets " + range +
                   " hold " + std::to_string(range_size));
  }
  return entry;
}

SafetensorsMetadata read_metadata(const nlohmann::ordered_json& value, const std::string& path) {
  if (!value.is_object()) {
    fail(path, "\"__metadata__\" is " + json_type_name(value) + ", expected an object of strings");
  }
  SafetensorsMetadata metadata;
  for (const auto& [key, text] : value.items()) {
    if (!text.is_string()) {
      fail(path, "\"__metadata__\" value for " + in_quotes(key) + " is " + json_type_name(text) +
                     ", expected a string");
    }
    metadata.emplace_back(key, text.get<std::string>());
  }
  return metadata;
}

// The format forbids holes: sorted by offset, each tensor must start where the previous ended,
// the first at 0 and the last ending at the end of the file.
void check_data_coverage(const std::vector<TensorEntry>& entries, uint64_t data_size,
                         const std::string& path) {
  std::vector<size_t> order(entries.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::sort(order.begin(), order.end(), [&entries](size_t left, size_t right) {
    if (entries[left].begin != entries[right].begin) {
      return entries[left].begin < entries[right].begin;
    }
    return entries[left].end < entries[right].end;
  });
  int64_t covered_until = 0;
  const TensorEntry* previous = nullptr;
  for (const size_t index : order) {
    const TensorEntry& entry = entries[index];
    if (entry.begin < covered_until) {
      fail(path, "tensors " + in_quotes(previous->tensor.name) + " " +
                     range_text(previous->begin, previous->end) + " and " +
                     in_quotes(entry.tensor.name) + " " + range_text(entry.begin, entry.end) +
                     " overlap");
    }
    if (entry.begin > covered_until) {
      fail(path, "hole in the data section: bytes " + range_text(covered_until, entry.begin) +
                     " belong to no tensor (the format requires every byte to be used)");
    }
    covered_until = entry.end;
    previous = &entry;
  }
  if (static_cast<uint64_t>(covered_until) != data_size) {
    fail(
        path,
        std::to_string(data_size - static_cast<uint64_t>(covered_until)) +
            " trailing bytes after the last tensor: bytes " +
            range_text(covered_until, static_cast<int64_t>(data_size)) +
            " of the data section belong to no tensor (the format requires every byte to be used)");
  }
}

}  // namespace

SafetensorsFile load_safetensors(const std::string& path) {
  std::error_code size_error;
  const uint64_t file_size = std::filesystem::file_size(path, size_error);
  if (size_error) fail(path, "cannot read: " + size_error.message());
  std::ifstream file(path, std::ios::binary);
  if (!file) fail(path, std::string("cannot open: ") + std::strerror(errno));

  if (file_size < 8) {
    fail(
        path,
        "file is " + std::to_string(file_size) +
            " bytes, too short for a safetensors file (which starts with an 8-byte header length)");
  }
  uint8_t length_bytes[8];
  read_exactly(file, path, 0, length_bytes, 8);
  uint64_t header_length = 0;
  for (int i = 0; i < 8; ++i) header_length |= static_cast<uint64_t>(length_bytes[i]) << (8 * i);
  if (header_length > maximum_header_length) {
    fail(path, "header length " + std::to_string(header_length) + " is above the " +
                   std::to_string(maximum_header_length) +
                   "-byte limit: corrupt or not a safetensors file");
  }
  if (header_length > file_size - 8) {
    fail(path, "header length " + std::to_string(header_length) +
                   " is larger than the rest of the file (" + std::to_string(file_size - 8) +
                   " bytes): truncated or not a safetensors file");
  }

  std::string header_text(header_length, '\0');
  read_exactly(file, path, 8, header_text.data(), header_length);
  if (header_text.empty() || header_text[0] != '{') {
    fail(path,
         "the header is not a JSON object (it does not start with '{'): not a safetensors file");
  }
  // Parse errors name "<path> header", then the line and column.
  const nlohmann::ordered_json header = parse_json(header_text, path + " header");

  const uint64_t data_start = 8 + header_length;
  const uint64_t data_size = file_size - data_start;
  SafetensorsFile result;
  result.path = path;
  std::vector<TensorEntry> entries;
  // The parser has already refused duplicate keys, so names are unique here.
  for (const auto& [name, value] : header.items()) {
    if (name == "__metadata__") {
      result.metadata = read_metadata(value, path);
    } else {
      entries.push_back(read_tensor_entry(name, value, path, data_size));
    }
  }
  check_data_coverage(entries, data_size, path);

  for (TensorEntry& entry : entries) {
    const uint64_t byte_count = static_cast<uint64_t>(entry.end - entry.begin);
    entry.tensor.bytes.resize(byte_count);
    if (byte_count > 0) {
      read_exactly(file, path, data_start + entry.begin, entry.tensor.bytes.data(), byte_count);
    }
    result.tensors.push_back(std::move(entry.tensor));
  }
  return result;
}

const TensorData* SafetensorsFile::find(const std::string& name) const {
  for (const TensorData& tensor : tensors) {
    if (tensor.name == name) return &tensor;
  }
  return nullptr;
}

const TensorData& SafetensorsFile::get(const std::string& name) const {
  const TensorData* found = find(name);
  if (found != nullptr) return *found;
  std::string known_names;
  const size_t listed_count = std::min<size_t>(tensors.size(), 10);
  for (size_t i = 0; i < listed_count; ++i) {
    known_names += (i > 0 ? ", " : "") + in_quotes(tensors[i].name);
  }
  if (tensors.size() > listed_count) known_names += ", ...";
  if (tensors.empty()) known_names = "none";
  fail(path, "no tensor named " + in_quotes(name) + " (the file has " +
                 std::to_string(tensors.size()) + ": " + known_names + ")");
}

const std::string& SafetensorsFile::get_metadata(const std::string& key) const {
  for (const std::pair<std::string, std::string>& entry : metadata) {
    if (entry.first == key) return entry.second;
  }
  fail(path, "no metadata key " + in_quotes(key) + " in the header's __metadata__");
}

}  // namespace mind::io
