// Fuzzes the .npy reader and the writer/reader round trip (io/npy.h).
// Input: the whole input is first read as a .npy file by load_npy. Then it is used as a
// recipe: byte 0 picks float32 or int32 and a rank 0-4, the next `rank` bytes the sizes (0-5),
// and the bytes after them are the values' bits (cycled when too few, so NaNs and infinities
// come up). What is saved must load back bit for bit, and its header must be what numpy writes,
// checked here by a small parser independent of io/npy.cpp.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <exception>
#include <fstream>
#include <iterator>
#include <string>
#include <string_view>
#include <vector>

#include "fuzz/fuzz_support.h"
#include "io/npy.h"

namespace {

using mind::fuzz::require;

void check_loaded(const mind::io::NpyArray& array) {
  require(array.descr == "<f4" || array.descr == "<i4" || array.descr == "<i8");  // the three the reader takes
  int64_t count = 1;
  for (int64_t size : array.shape) {
    require(size >= 0);
    count *= size;
  }
  require(count == array.element_count());
  const size_t expected = static_cast<size_t>(count);
  // Exactly one of the value arrays is filled, the one of the file's type.
  const size_t filled = !array.float32_values.empty() + !array.int32_values.empty() + !array.int64_values.empty();
  require(filled <= 1);
  if (array.descr == "<f4") require(array.float32_values.size() == expected);
  if (array.descr == "<i4") require(array.int32_values.size() == expected);
  if (array.descr == "<i8") require(array.int64_values.size() == expected);
}

// The file's bytes must be: magic, version 1.0, a 2-byte header length, then exactly
// "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }" padded with spaces and a final
// '\n' to a multiple of 64 bytes, then count * 4 bytes of data.
void check_written_file(const std::string& bytes, const char* descr, const std::vector<int64_t>& shape,
                        size_t count) {
  require(bytes.size() >= 10);
  require(bytes.compare(0, 8, std::string("\x93NUMPY\x01\x00", 8)) == 0);
  const size_t header_length = static_cast<uint8_t>(bytes[8]) | (static_cast<size_t>(static_cast<uint8_t>(bytes[9])) << 8);
  require((10 + header_length) % 64 == 0);
  require(bytes.size() == 10 + header_length + count * 4);
  std::string tuple = "(";
  for (size_t i = 0; i < shape.size(); ++i) tuple += (i > 0 ? ", " : "") + std::to_string(shape[i]);
  tuple += shape.size() == 1 ? ",)" : ")";
  const std::string dict = std::string("{'descr': '") + descr + "', 'fortran_order': False, 'shape': " + tuple + ", }";
  const std::string header = bytes.substr(10, header_length);
  require(header.compare(0, dict.size(), dict) == 0);
  require(header.back() == '\n');
  for (size_t i = dict.size(); i + 1 < header.size(); ++i) require(header[i] == ' ');
}

std::string read_whole(const std::string& path) {
  std::ifstream stream(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(stream), std::istreambuf_iterator<char>());
}

void round_trip(std::string_view recipe, const std::filesystem::path& folder) {
  if (recipe.empty()) return;
  const uint8_t kind = static_cast<uint8_t>(recipe[0]);
  const bool as_float = (kind & 1) == 0;
  const size_t rank = (kind >> 1) % 5;
  if (recipe.size() < 1 + rank) return;
  std::vector<int64_t> shape;  // [rank]
  size_t count = 1;
  for (size_t axis = 0; axis < rank; ++axis) {
    shape.push_back(static_cast<uint8_t>(recipe[1 + axis]) % 6);
    count *= static_cast<size_t>(shape.back());
  }
  std::string_view value_bytes = recipe.substr(1 + rank);
  if (value_bytes.empty()) value_bytes = std::string_view("\x7f\xc0\x00\x01", 4);  // a NaN's bits
  std::vector<uint32_t> bits(count);  // [count]
  for (size_t i = 0; i < count; ++i) {
    uint32_t word = 0;
    for (size_t b = 0; b < 4; ++b) word |= static_cast<uint32_t>(static_cast<uint8_t>(value_bytes[(i * 4 + b) % value_bytes.size()])) << (8 * b);
    bits[i] = word;
  }
  const std::string path = (folder / "round_trip.npy").string();
  if (as_float) {
    std::vector<float> values(count);  // [count]
    if (count > 0) std::memcpy(values.data(), bits.data(), count * 4);
    mind::io::save_npy_float32(path, shape, values);
  } else {
    std::vector<int32_t> values(count);  // [count]
    if (count > 0) std::memcpy(values.data(), bits.data(), count * 4);
    mind::io::save_npy_int32(path, shape, values);
  }
  check_written_file(read_whole(path), as_float ? "<f4" : "<i4", shape, count);
  const mind::io::NpyArray loaded = mind::io::load_npy(path);
  check_loaded(loaded);
  require(loaded.shape == shape);
  require(loaded.descr == (as_float ? "<f4" : "<i4"));
  const void* loaded_values = as_float ? static_cast<const void*>(loaded.float32_values.data())
                                       : static_cast<const void*>(loaded.int32_values.data());
  require(count == 0 || std::memcmp(loaded_values, bits.data(), count * 4) == 0);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  const std::filesystem::path& folder = mind::fuzz::scratch_folder("npy");
  const std::string path = mind::fuzz::write_file(folder, "input.npy", input);
  try {
    check_loaded(mind::io::load_npy(path));
  } catch (const std::exception&) {
    // a clear error is a correct outcome
  }
  round_trip(input, folder);
  return 0;
}
