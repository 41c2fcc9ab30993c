// Writing and reading .npy files. The header is a Python dict literal; we read the small subset
// numpy writes (quoted strings, True/False, a tuple of integers) with a hand-written scanner,
// and refuse anything else with a message rather than guessing.
#include "io/npy.h"

#include <bit>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <string_view>

#include "io/atomic_file.h"
#include "io/reading.h"

namespace mind::io {

// '<f4', '<i4' and '<i8' are little-endian; values are copied as they are in memory.
static_assert(std::endian::native == std::endian::little,
              "npy.cpp assumes a little-endian machine");

namespace {

// "\x93NUMPY": numpy's magic string, then the major and minor version bytes.
constexpr char npy_magic[6] = {'\x93', 'N', 'U', 'M', 'P', 'Y'};
// numpy aligns the data to 64 bytes so that it can be memory-mapped for any SIMD width.
constexpr size_t npy_alignment = 64;

[[noreturn]] void fail(const std::string& path, const std::string& problem) {
  throw std::runtime_error(path + ": " + problem);
}

// Python's tuple syntax: "()", "(5,)", "(2, 3)".
std::string shape_tuple(const std::vector<int64_t>& shape) {
  std::string text = "(";
  for (size_t i = 0; i < shape.size(); ++i) {
    if (i > 0) text += ", ";
    text += std::to_string(shape[i]);
  }
  if (shape.size() == 1) text += ",";
  return text + ")";
}

void save_npy(const std::string& path, const char* descr, const std::vector<int64_t>& shape,
              const void* data, size_t value_count, size_t value_size) {
  const int64_t count = checked_element_count(shape);
  if (count < 0 || static_cast<uint64_t>(count) != value_count) {
    fail(path, "cannot save: shape " + shape_tuple(shape) + " does not hold " +
                   std::to_string(value_count) + " values");
  }
  std::string header = std::string("{'descr': '") + descr +
                       "', 'fortran_order': False, 'shape': " + shape_tuple(shape) + ", }";
  // magic (6) + version (2) + header length (2) + header + '\n' is padded to the alignment.
  const size_t unpadded_size = 10 + header.size() + 1;
  header += std::string((npy_alignment - unpadded_size % npy_alignment) % npy_alignment, ' ');
  header += '\n';
  if (header.size() > 65535) {
    fail(path, "cannot save: the .npy 1.0 header would exceed 65535 bytes");
  }

  // The magic string, version 1.0, then the header length as 2 little-endian bytes.
  const uint8_t length_low = static_cast<uint8_t>(header.size() & 0xFF);
  const uint8_t length_high = static_cast<uint8_t>(header.size() >> 8);
  const uint8_t preamble[10] = {0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0, length_low, length_high};
  AtomicFileWriter writer(path);
  writer.write(preamble, sizeof(preamble));
  writer.write(header.data(), header.size());
  writer.write(data, value_count * value_size);
  writer.commit();
}

// What the header dict says.
struct NpyHeader {
  std::string descr;
  bool fortran_order = false;
  std::vector<int64_t> shape;
};

// Scans the header dict: {'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }
class NpyHeaderScanner {
 public:
  NpyHeaderScanner(std::string_view text, const std::string& path) : text_(text), path_(path) {}

  NpyHeader scan() {
    NpyHeader header;
    bool seen_descr = false;
    bool seen_fortran_order = false;
    bool seen_shape = false;
    skip_whitespace();
    expect('{');
    while (true) {
      skip_whitespace();
      if (peek_is('}')) break;
      const size_t key_position = position_;
      const std::string key = read_quoted();
      skip_whitespace();
      expect(':');
      skip_whitespace();
      if (key == "descr" && !seen_descr) {
        header.descr = read_quoted();
        seen_descr = true;
      } else if (key == "fortran_order" && !seen_fortran_order) {
        header.fortran_order = read_boolean();
        seen_fortran_order = true;
      } else if (key == "shape" && !seen_shape) {
        header.shape = read_shape();
        seen_shape = true;
      } else {
        problem_at(key_position, "unexpected or repeated key '" + key + "'");
      }
      skip_whitespace();
      if (peek_is(',')) {
        ++position_;
        continue;
      }
      if (!peek_is('}')) problem_at(position_, "expected ',' or '}'");
    }
    ++position_;  // '}'
    skip_whitespace();
    if (position_ != text_.size()) problem_at(position_, "unexpected text after the closing '}'");
    if (!seen_descr || !seen_fortran_order || !seen_shape) {
      problem_at(0, "the header must have the keys 'descr', 'fortran_order' and 'shape'");
    }
    return header;
  }

 private:
  [[noreturn]] void problem_at(size_t position, const std::string& problem) const {
    std::string shown(text_);
    while (!shown.empty() && (shown.back() == ' ' || shown.back() == '\n')) shown.pop_back();
    fail(path_, "malformed .npy header at character " + std::to_string(position + 1) + ": " +
                    problem + " (header: " + shown + ")");
  }

  bool peek_is(char c) const { return position_ < text_.size() && text_[position_] == c; }

  void expect(char c) {
    if (!peek_is(c)) problem_at(position_, std::string("expected '") + c + "'");
    ++position_;
  }

  void skip_whitespace() {
    while (position_ < text_.size() && (text_[position_] == ' ' || text_[position_] == '\n' ||
                                        text_[position_] == '\t' || text_[position_] == '\r')) {
      ++position_;
    }
  }

  // A Python string in single or double quotes, without escapes (numpy never writes any).
  std::string read_quoted() {
    if (!peek_is('\'') && !peek_is('"')) problem_at(position_, "expected a quoted string");
    const char quote = text_[position_];
    const size_t start = ++position_;
    while (position_ < text_.size() && text_[position_] != quote) {
      if (text_[position_] == '\\') problem_at(position_, "escapes in strings are not supported");
      ++position_;
    }
    if (position_ >= text_.size()) problem_at(start - 1, "unterminated string");
    const std::string value(text_.substr(start, position_ - start));
    ++position_;
    return value;
  }

  bool read_boolean() {
    if (text_.substr(position_).starts_with("True")) {
      position_ += 4;
      return true;
    }
    if (text_.substr(position_).starts_with("False")) {
      position_ += 5;
      return false;
    }
    problem_at(position_, "expected True or False");
  }

  // "()", "(5,)", "(2, 3)"; Python 2 files may write "3L".
  std::vector<int64_t> read_shape() {
    std::vector<int64_t> shape;
    expect('(');
    skip_whitespace();
    while (!peek_is(')')) {
      shape.push_back(read_dimension());
      skip_whitespace();
      if (peek_is(',')) {
        ++position_;
        skip_whitespace();
      } else if (!peek_is(')')) {
        problem_at(position_, "expected ',' or ')' in the shape");
      }
    }
    ++position_;  // ')'
    return shape;
  }

  int64_t read_dimension() {
    const size_t start = position_;
    int64_t value = 0;
    const int64_t largest_dimension = int64_t{1} << 53;
    while (position_ < text_.size() && text_[position_] >= '0' && text_[position_] <= '9') {
      value = value * 10 + (text_[position_] - '0');
      if (value > largest_dimension) problem_at(start, "dimension too large");
      ++position_;
    }
    if (position_ == start) problem_at(start, "expected a non-negative integer in the shape");
    if (peek_is('L')) ++position_;
    return value;
  }

  std::string_view text_;
  const std::string& path_;
  size_t position_ = 0;
};

}  // namespace

int64_t NpyArray::element_count() const {
  const int64_t count = checked_element_count(shape);
  if (count < 0) throw std::runtime_error("NpyArray: invalid shape " + shape_tuple(shape));
  return count;
}

void save_npy_float32(const std::string& path, const std::vector<int64_t>& shape,
                      std::span<const float> values) {
  save_npy(path, "<f4", shape, values.data(), values.size(), sizeof(float));
}

void save_npy_int32(const std::string& path, const std::vector<int64_t>& shape,
                    std::span<const int32_t> values) {
  save_npy(path, "<i4", shape, values.data(), values.size(), sizeof(int32_t));
}

void save_npy_int64(const std::string& path, const std::vector<int64_t>& shape,
                    std::span<const int64_t> values) {
  save_npy(path, "<i8", shape, values.data(), values.size(), sizeof(int64_t));
}

NpyArray load_npy(const std::string& path) {
  std::error_code size_error;
  const uint64_t file_size = std::filesystem::file_size(path, size_error);
  if (size_error) fail(path, "cannot read: " + size_error.message());
  std::ifstream file(path, std::ios::binary);
  if (!file) fail(path, std::string("cannot open: ") + std::strerror(errno));

  // magic (6 bytes), version (2), header length (2 bytes in version 1.0, 4 in 2.0 and 3.0).
  if (file_size < 10) {
    fail(path, "file is " + std::to_string(file_size) + " bytes, too short for a .npy file");
  }
  uint8_t preamble[12] = {};
  read_exactly(file, path, 0, preamble, file_size < 12 ? 10 : 12);
  if (std::memcmp(preamble, npy_magic, sizeof(npy_magic)) != 0) {
    fail(path, "not a .npy file (it does not start with \"\\x93NUMPY\")");
  }
  const int major_version = preamble[6];
  const int minor_version = preamble[7];
  if (minor_version != 0 || major_version < 1 || major_version > 3) {
    fail(path, "unsupported .npy version " + std::to_string(major_version) + "." +
                   std::to_string(minor_version) + " (this reader handles 1.0, 2.0 and 3.0)");
  }
  uint64_t header_length = 0;
  uint64_t header_start = 0;
  if (major_version == 1) {
    header_length = preamble[8] | (static_cast<uint64_t>(preamble[9]) << 8);
    header_start = 10;
  } else {
    if (file_size < 12) fail(path, "file is too short for a .npy version 2 or 3 preamble");
    for (int i = 0; i < 4; ++i) header_length |= static_cast<uint64_t>(preamble[8 + i]) << (8 * i);
    header_start = 12;
  }
  if (header_length > file_size - header_start) {
    fail(path, "header length " + std::to_string(header_length) +
                   " runs past the end of the file (" + std::to_string(file_size) + " bytes)");
  }
  std::string header_text(header_length, '\0');
  read_exactly(file, path, header_start, header_text.data(), header_length);
  const NpyHeader header = NpyHeaderScanner(header_text, path).scan();

  if (header.descr != "<f4" && header.descr != "<i4" && header.descr != "<i8") {
    fail(path, "unsupported dtype '" + header.descr +
                   "' (this reader handles '<f4' float32, '<i4' int32 and '<i8' int64)");
  }
  if (header.fortran_order) {
    fail(path,
         "fortran_order True is not supported (save a C-ordered array: numpy.ascontiguousarray)");
  }
  NpyArray array;
  array.descr = header.descr;
  array.shape = header.shape;
  const int64_t count = checked_element_count(header.shape);
  const uint64_t data_start = header_start + header_length;
  const uint64_t data_size = file_size - data_start;
  const uint64_t value_size = header.descr == "<i8" ? 8 : 4;
  // count <= data_size first, so that count * value_size cannot overflow.
  if (count < 0 || static_cast<uint64_t>(count) > data_size ||
      static_cast<uint64_t>(count) * value_size != data_size) {
    fail(path, "shape " + shape_tuple(header.shape) + " of '" + header.descr + "' needs " +
                   (count < 0 ? std::string("too many")
                              : std::to_string(static_cast<uint64_t>(count) * value_size)) +
                   " bytes of data, the file has " + std::to_string(data_size) +
                   " after the header");
  }
  if (header.descr == "<f4") {
    array.float32_values.resize(static_cast<size_t>(count));
    if (count > 0) read_exactly(file, path, data_start, array.float32_values.data(), data_size);
  } else if (header.descr == "<i4") {
    array.int32_values.resize(static_cast<size_t>(count));
    if (count > 0) read_exactly(file, path, data_start, array.int32_values.data(), data_size);
  } else {
    array.int64_values.resize(static_cast<size_t>(count));
    if (count > 0) read_exactly(file, path, data_start, array.int64_values.data(), data_size);
  }
  return array;
}

}  // namespace mind::io
