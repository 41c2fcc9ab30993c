// What the .npy and safetensors readers share: the element count of a shape a file claims,
// checked, and reading a block of bytes the header promised. A file can claim anything, so both
// turn a broken promise into an error naming the file.
#pragma once
#include <cstdint>
#include <fstream>
#include <limits>
#include <stdexcept>
#include <string>
#include <vector>

namespace mind::io {

// Product of the dimensions, or -1 if one is negative or the product overflows.
inline int64_t checked_element_count(const std::vector<int64_t>& shape) {
  int64_t count = 1;
  for (const int64_t dimension : shape) {
    if (dimension < 0) return -1;
    if (dimension != 0 && count > std::numeric_limits<int64_t>::max() / dimension) return -1;
    count *= dimension;
  }
  return count;
}

// Reads `byte_count` bytes at `file_offset` of `file` into `destination`, or throws naming `path`.
inline void read_exactly(std::ifstream& file, const std::string& path, uint64_t file_offset, void* destination,
                         uint64_t byte_count) {
  file.seekg(static_cast<std::streamoff>(file_offset));
  file.read(static_cast<char*>(destination), static_cast<std::streamsize>(byte_count));
  if (!file || static_cast<uint64_t>(file.gcount()) != byte_count) {
    throw std::runtime_error(path + ": cannot read " + std::to_string(byte_count) + " bytes at offset " +
                             std::to_string(file_offset) + " (file changed while reading?)");
  }
}

}  // namespace mind::io
