// Checkpoints in the safetensors format, over plain byte arrays: an 8-byte little-endian header
// length N, N bytes of JSON header (name -> dtype, shape, data_offsets; "__metadata__" -> strings),
// then the raw little-endian data. Files follow the published format, so Python's `safetensors`
// and PyTorch users can load them without our code.
// Only F32, I32 and I64 are handled, and nothing here knows about Tensor or models.
#pragma once
#include <cstdint>
#include <span>
#include <string>
#include <utility>
#include <vector>

namespace mind::io {

// One named array as stored in the file. `bytes` holds element_count() values, little-endian,
// row-major (C order); an empty shape is a scalar holding one value.
struct TensorData {
  std::string name;
  std::string dtype;  // "F32", "I32" or "I64"
  std::vector<int64_t> shape;
  std::vector<uint8_t> bytes;

  // Copy `values` in; their count must equal the product of `shape`.
  static TensorData from_float32(std::string name, std::vector<int64_t> shape,
                                 std::span<const float> values);
  static TensorData from_int32(std::string name, std::vector<int64_t> shape,
                               std::span<const int32_t> values);
  static TensorData from_int64(std::string name, std::vector<int64_t> shape,
                               std::span<const int64_t> values);

  int64_t element_count() const;

  // The values, copied out; each throws unless `dtype` matches, naming the tensor.
  std::vector<float> to_float32() const;
  std::vector<int32_t> to_int32() const;
  std::vector<int64_t> to_int64() const;
  // Copy F32 values straight into an existing buffer (a model parameter) of the same size.
  void copy_float32_to(std::span<float> destination) const;
};

// Bytes per element of a safetensors dtype we handle; 0 for any other dtype name.
int64_t safetensors_dtype_size(const std::string& dtype);

using SafetensorsMetadata = std::vector<std::pair<std::string, std::string>>;

// Writes `tensors` in the given order (header keys and data alike, "__metadata__" first when
// there is any), so the same inputs always give a byte-identical file. The header is padded
// with spaces to a multiple of 8 bytes so the data section starts 8-byte aligned; tensors are
// packed without gaps (the format forbids them), so an I64 tensor placed after an F32 tensor
// of odd length is only 4-byte aligned: list I64 tensors first when that matters to a reader.
// The write is atomic (io/atomic_file.h): on any failure the previous file at `path` is untouched.
// Duplicate or reserved names and sizes that disagree with shapes are refused before writing.
void save_safetensors(const std::string& path, const std::vector<TensorData>& tensors,
                      const SafetensorsMetadata& metadata);

struct SafetensorsFile {
  std::string path;                 // for messages
  std::vector<TensorData> tensors;  // in header order
  SafetensorsMetadata metadata;     // in header order

  const TensorData* find(const std::string& name) const;  // nullptr when absent
  const TensorData& get(const std::string& name) const;   // throws naming the file and tensor
  const std::string& get_metadata(const std::string& key) const;  // throws naming the key
};

// Reads and checks a whole file. Every problem is an exception naming the file and the problem:
// short file, header length beyond the file (or above 100 MB), a header that is not a JSON
// object, entries missing or with malformed dtype/shape/data_offsets, unknown dtypes, a shape
// whose size disagrees with its byte range, ranges out of order, past the end or overlapping,
// and, as the format requires, holes or trailing bytes in the data section.
SafetensorsFile load_safetensors(const std::string& path);

}  // namespace mind::io
