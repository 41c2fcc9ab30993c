// Tests of io/npy: the exact bytes numpy expects, bit-exact round trips, headers as numpy and
// older numpy versions write them, one hand-made file per validation error, interrupted saves.
#include <doctest/doctest.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <limits>
#include <stdexcept>
#include <string>
#include <vector>

#include <unistd.h>

#include "io/atomic_file.h"
#include "io/npy.h"
#include "io_test_files.h"

using mind::io::load_npy;
using mind::io::NpyArray;
using mind::io::save_npy_float32;
using mind::io::save_npy_int32;

using mind::io::testing::bits_of;
using mind::io::testing::contains;
using mind::io::testing::error_message;
using mind::io::testing::float_from_bits;
using mind::io::testing::read_bytes;
using mind::io::testing::TemporaryDirectory;
using mind::io::testing::write_bytes;

namespace {

// A version 1.0 file written by hand: magic, version, 2-byte header length, header, data.
std::string npy_v1(const std::string& header, const std::string& data) {
  std::string bytes("\x93NUMPY\x01\x00", 8);
  bytes += static_cast<char>(header.size() & 0xFF);
  bytes += static_cast<char>(header.size() >> 8);
  return bytes + header + data;
}

std::string load_error_of(const TemporaryDirectory& directory, const std::string& bytes) {
  const std::string path = directory.file("handmade.npy");
  write_bytes(path, bytes);
  return error_message([&path] { load_npy(path); });
}

// 0.5f, 1.0f, 2.0f little-endian.
const std::string three_floats =
    std::string("\x00\x00\x00\x3F\x00\x00\x80\x3F\x00\x00\x00\x40", 12);

}  // namespace

TEST_CASE("npy: a [2, 3] float32 file has exactly the bytes numpy writes") {
  TemporaryDirectory directory;
  const std::string path = directory.file("matrix.npy");
  const std::vector<float> values = {0.5f, 1.0f, 2.0f, -1.0f, 0.0f, 3.0f};  // [2, 3]
  save_npy_float32(path, {2, 3}, values);
  // 10 preamble bytes + 59 dict bytes + 58 spaces + '\n' = 128; header length 118 = 0x76.
  const std::string dict = "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }";
  const std::string expected_header =
      std::string("\x93NUMPY\x01\x00\x76\x00", 10) + dict + std::string(58, ' ') + "\n";
  const std::string expected_data = std::string(
      "\x00\x00\x00\x3F"
      "\x00\x00\x80\x3F"
      "\x00\x00\x00\x40"
      "\x00\x00\x80\xBF"
      "\x00\x00\x00\x00"
      "\x00\x00\x40\x40",
      24);
  const std::string bytes = read_bytes(path);
  CHECK(bytes.size() == 128 + 24);
  CHECK(bytes.substr(0, 128) == expected_header);
  CHECK(bytes.substr(128) == expected_data);
}

TEST_CASE("npy: headers of every rank are padded to 64 bytes and end with a newline") {
  TemporaryDirectory directory;
  const std::string path = directory.file("ranks.npy");
  save_npy_int32(path, {}, std::vector<int32_t>{7});
  std::string bytes = read_bytes(path);
  CHECK(bytes.substr(10, 55) == "{'descr': '<i4', 'fortran_order': False, 'shape': (), }");
  save_npy_int32(path, {5}, std::vector<int32_t>(5, 1));
  bytes = read_bytes(path);
  CHECK(bytes.substr(10, 57) == "{'descr': '<i4', 'fortran_order': False, 'shape': (5,), }");

  const std::vector<std::vector<int64_t>> shapes = {
      {},
      {1},
      {3},
      {2, 3},
      {1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1},
      {0, 123456789}};
  for (const std::vector<int64_t>& shape : shapes) {
    int64_t count = 1;
    for (const int64_t dimension : shape) count *= dimension;
    save_npy_float32(path, shape, std::vector<float>(static_cast<size_t>(count), 1.5f));
    bytes = read_bytes(path);
    const size_t header_length =
        static_cast<uint8_t>(bytes[8]) | (static_cast<uint8_t>(bytes[9]) << 8);
    INFO("rank " << shape.size());
    CHECK((10 + header_length) % 64 == 0);
    CHECK(bytes[10 + header_length - 1] == '\n');
    CHECK(bytes.size() == 10 + header_length + 4 * static_cast<size_t>(count));
    CHECK(load_npy(path).shape == shape);
  }
}

TEST_CASE("npy: float32 and int32 arrays round trip bit for bit") {
  TemporaryDirectory directory;
  const std::string path = directory.file("values.npy");
  const std::vector<float> floats = {float_from_bits(0x7FC00001u),           -0.0f,
                                     std::numeric_limits<float>::infinity(), float_from_bits(1u),
                                     std::numeric_limits<float>::lowest(),   0.1f};
  save_npy_float32(path, {1, 2, 3}, floats);  // [1, 2, 3]
  const NpyArray loaded = load_npy(path);
  CHECK(loaded.descr == "<f4");
  CHECK(loaded.shape == std::vector<int64_t>{1, 2, 3});
  CHECK(loaded.element_count() == 6);
  CHECK(loaded.int32_values.empty());
  REQUIRE(loaded.float32_values.size() == floats.size());
  for (size_t i = 0; i < floats.size(); ++i) {
    CHECK(bits_of(loaded.float32_values[i]) == bits_of(floats[i]));
  }

  const std::vector<int32_t> ints = {std::numeric_limits<int32_t>::min(), -1, 0, 1,
                                     std::numeric_limits<int32_t>::max()};
  save_npy_int32(path, {5}, ints);
  const NpyArray loaded_ints = load_npy(path);
  CHECK(loaded_ints.descr == "<i4");
  CHECK(loaded_ints.int32_values == ints);
  CHECK(loaded_ints.float32_values.empty());

  // int64: the run folder's offsets (numpy's default integer type).
  const std::vector<int64_t> longs = {std::numeric_limits<int64_t>::min(), -1, 0, int64_t{1} << 40,
                                      std::numeric_limits<int64_t>::max()};
  mind::io::save_npy_int64(path, {5}, longs);
  const NpyArray loaded_longs = load_npy(path);
  CHECK(loaded_longs.descr == "<i8");
  CHECK(loaded_longs.int64_values == longs);
  CHECK(loaded_longs.int32_values.empty());
  CHECK((read_bytes(path).size() - 5 * 8) % 64 == 0);  // 8 bytes a value after the aligned header

  save_npy_float32(path, {}, std::vector<float>{2.5f});
  CHECK(load_npy(path).float32_values == std::vector<float>{2.5f});
  CHECK(load_npy(path).shape.empty());
  save_npy_float32(path, {0, 4}, std::vector<float>{});
  const NpyArray empty = load_npy(path);
  CHECK(empty.shape == std::vector<int64_t>{0, 4});
  CHECK(empty.float32_values.empty());
}

TEST_CASE("npy: headers written by numpy and its older versions load") {
  TemporaryDirectory directory;
  const std::string path = directory.file("numpy.npy");
  // Version 2.0 (4-byte header length), double quotes, no trailing comma, a Python 2 long.
  const std::string header = "{\"descr\": \"<f4\", \"fortran_order\": False, \"shape\": (3L,)}\n";
  std::string bytes("\x93NUMPY\x02\x00", 8);
  for (int i = 0; i < 4; ++i) bytes += static_cast<char>((header.size() >> (8 * i)) & 0xFF);
  write_bytes(path, bytes + header + three_floats);
  const NpyArray loaded = load_npy(path);
  CHECK(loaded.shape == std::vector<int64_t>{3});
  CHECK(loaded.float32_values == std::vector<float>{0.5f, 1.0f, 2.0f});
  // Keys in another order, 16-byte alignment as numpy before 1.9 wrote, "(3)" without a comma.
  write_bytes(path, npy_v1("{'shape': (3), 'fortran_order': False, 'descr': '<i4'}\n",
                           std::string(12, '\0')));
  CHECK(load_npy(path).int32_values == std::vector<int32_t>{0, 0, 0});
}

TEST_CASE("npy: bad preambles are refused naming the file and the problem") {
  TemporaryDirectory directory;
  const std::string path = directory.file("handmade.npy");
  const std::string good_header = "{'descr': '<f4', 'fortran_order': False, 'shape': (3,), }\n";
  CHECK(load_error_of(directory, "\x93NUMPY") ==
        path + ": file is 6 bytes, too short for a .npy file");
  CHECK(load_error_of(directory, std::string("PK\x03\x04\x00\x00\x00\x00\x00\x00", 10)) ==
        path + ": not a .npy file (it does not start with \"\\x93NUMPY\")");
  CHECK(load_error_of(directory, std::string("\x93NUMPY\x04\x00\x00\x00", 10)) ==
        path + ": unsupported .npy version 4.0 (this reader handles 1.0, 2.0 and 3.0)");
  CHECK(contains(load_error_of(directory, std::string("\x93NUMPY\x01\x01\x00\x00", 10)),
                 "unsupported .npy version 1.1"));
  CHECK(load_error_of(directory, std::string("\x93NUMPY\x01\x00\xFF\x00{}", 12)) ==
        path + ": header length 255 runs past the end of the file (12 bytes)");
  CHECK(contains(load_error_of(directory, std::string("\x93NUMPY\x02\x00\x00\x00", 10)),
                 "too short for a .npy version 2 or 3 preamble"));
  // The good header itself is accepted with the right amount of data.
  CHECK(contains(load_error_of(directory, npy_v1(good_header, three_floats)), "(no exception)"));
}

TEST_CASE("npy: unsupported dtypes orders and malformed headers are refused") {
  TemporaryDirectory directory;
  const std::string path = directory.file("handmade.npy");
  CHECK(load_error_of(
            directory,
            npy_v1("{'descr': '<f8', 'fortran_order': False, 'shape': (3,), }\n", three_floats)) ==
        path + ": unsupported dtype '<f8' (this reader handles '<f4' float32, '<i4' int32 and '<i8' int64)");
  CHECK(contains(
      load_error_of(directory, npy_v1("{'descr': '>f4', 'fortran_order': False, 'shape': (3,), }\n",
                                      three_floats)),
      "unsupported dtype '>f4'"));
  CHECK(contains(
      load_error_of(directory, npy_v1("{'descr': '<f4', 'fortran_order': True, 'shape': (3,), }\n",
                                      three_floats)),
      path + ": fortran_order True is not supported"));
  CHECK(load_error_of(directory, npy_v1("{'descr': '<f4', 'shape': (3,), }\n", three_floats)) ==
        path +
            ": malformed .npy header at character 1: the header must have the keys 'descr', "
            "'fortran_order' "
            "and 'shape' (header: {'descr': '<f4', 'shape': (3,), })");
  CHECK(
      contains(load_error_of(
                   directory,
                   npy_v1("{'descr': '<f4', 'descr': '<f4', 'fortran_order': False, 'shape': (3,)}",
                          three_floats)),
               "malformed .npy header at character 18: unexpected or repeated key 'descr'"));
  CHECK(contains(
      load_error_of(
          directory,
          npy_v1("{'descr': '<f4', 'fortran_order': False, 'shape': (3,), 'x': 1}", three_floats)),
      "unexpected or repeated key 'x'"));
  CHECK(contains(
      load_error_of(directory, npy_v1("{'descr': '<f4', 'fortran_order': false, 'shape': (3,)}",
                                      three_floats)),
      "at character 35: expected True or False"));
  CHECK(contains(
      load_error_of(directory, npy_v1("{'descr': '<f4', 'fortran_order': False, 'shape': (-3,)}",
                                      three_floats)),
      "expected a non-negative integer in the shape"));
  CHECK(contains(
      load_error_of(directory, npy_v1("{'descr': '<f4', 'fortran_order': False, 'shape': (3 4)}",
                                      three_floats)),
      "expected ',' or ')' in the shape"));
  CHECK(contains(
      load_error_of(
          directory,
          npy_v1("{'descr': '<f4', 'fortran_order': False, 'shape': (3,)} junk", three_floats)),
      "unexpected text after the closing '}'"));
  CHECK(
      contains(load_error_of(directory, npy_v1("{'descr: '<f4'}", three_floats)), "expected ':'"));
  CHECK(contains(load_error_of(directory, npy_v1("{'descr': '<f4", three_floats)),
                 "unterminated string"));
  CHECK(contains(load_error_of(directory, npy_v1("", three_floats)), "expected '{'"));
}

TEST_CASE("npy: data that does not match the shape is refused") {
  TemporaryDirectory directory;
  const std::string path = directory.file("handmade.npy");
  const std::string header = "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 2), }\n";
  CHECK(load_error_of(directory, npy_v1(header, three_floats)) ==
        path + ": shape (2, 2) of '<f4' needs 16 bytes of data, the file has 12 after the header");
  CHECK(contains(load_error_of(directory, npy_v1(header, three_floats + three_floats)),
                 "needs 16 bytes of data, the file has 24 after the header"));
  CHECK(
      contains(load_error_of(directory, npy_v1("{'descr': '<i4', 'fortran_order': False, 'shape': "
                                               "(4611686018427387904, 4611686018427387904), }",
                                               "")),
               "dimension too large"));
  CHECK(contains(load_error_of(directory, npy_v1("{'descr': '<i4', 'fortran_order': False, "
                                                 "'shape': (4294967296, 4294967296, 4294967296), }",
                                                 "")),
                 "needs too many bytes of data"));
}

TEST_CASE("npy: save refuses a shape that does not match the values") {
  TemporaryDirectory directory;
  const std::string path = directory.file("refused.npy");
  CHECK(error_message([&] {
          save_npy_float32(path, {2, 2}, std::vector<float>(3, 0.0f));
        }) == path + ": cannot save: shape (2, 2) does not hold 3 values");
  CHECK(contains(error_message([&] { save_npy_int32(path, {-1}, std::vector<int32_t>(1, 0)); }),
                 "cannot save: shape (-1,) does not hold 1 values"));
  CHECK(directory.entries().empty());
}

TEST_CASE("npy: an interrupted save keeps the previous file intact") {
  TemporaryDirectory directory;
  const std::string path = directory.file("items.npy");
  save_npy_float32(path, {3}, std::vector<float>{1.0f, 2.0f, 3.0f});
  const std::string old_bytes = read_bytes(path);
  const std::vector<float> new_values(16, 9.0f);  // the new file is 128 + 64 bytes
  for (const int64_t failure_point : {0, 5, 10, 127, 128, 129, 191}) {
    INFO("failure after " << failure_point << " bytes");
    mind::io::set_write_failure_after_bytes_for_testing(failure_point);
    const std::string message = error_message([&] { save_npy_float32(path, {4, 4}, new_values); });
    mind::io::set_write_failure_after_bytes_for_testing(-1);
    CHECK(contains(message, "simulated write failure"));
    CHECK(read_bytes(path) == old_bytes);
    CHECK(load_npy(path).float32_values == std::vector<float>{1.0f, 2.0f, 3.0f});
    CHECK(directory.entries().size() == 1);
  }
  save_npy_float32(path, {4, 4}, new_values);
  CHECK(read_bytes(path).size() == 192);
  CHECK(load_npy(path).float32_values == new_values);
}
