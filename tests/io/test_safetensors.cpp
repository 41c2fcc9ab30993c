// Tests of io/safetensors and io/atomic_file: exact file bytes, bit-exact round trips, one
// hand-written file per validation error (each message must name the file and the problem),
// truncated and corrupted files, and saves interrupted part way that must not harm the old file.
#include <doctest/doctest.h>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <limits>
#include <stdexcept>
#include <string>
#include <vector>

#include <unistd.h>

#include "autograd/random.h"
#include "io/atomic_file.h"
#include "io/safetensors.h"
#include "io_test_files.h"

using mind::io::load_safetensors;
using mind::io::SafetensorsFile;
using mind::io::SafetensorsMetadata;
using mind::io::save_safetensors;
using mind::io::TensorData;

using mind::io::testing::bits_of;
using mind::io::testing::contains;
using mind::io::testing::error_message;
using mind::io::testing::float_from_bits;
using mind::io::testing::read_bytes;
using mind::io::testing::TemporaryDirectory;
using mind::io::testing::write_bytes;

namespace {

// Turns fault injection off even when a REQUIRE leaves the test early.
struct WriteFailureGuard {
  explicit WriteFailureGuard(int64_t byte_count) {
    mind::io::set_write_failure_after_bytes_for_testing(byte_count);
  }
  ~WriteFailureGuard() { mind::io::set_write_failure_after_bytes_for_testing(-1); }
};

std::string little_endian_u64(uint64_t value) {
  std::string bytes(8, '\0');
  for (int i = 0; i < 8; ++i) bytes[i] = static_cast<char>((value >> (8 * i)) & 0xFF);
  return bytes;
}

// A safetensors file written by hand: length prefix, header text, data bytes.
std::string raw_file(const std::string& header, const std::string& data) {
  return little_endian_u64(header.size()) + header + data;
}

// Writes `bytes` to a fresh file and returns the message loading it gives.
std::string load_error_of(const TemporaryDirectory& directory, const std::string& bytes) {
  const std::string path = directory.file("handmade.safetensors");
  write_bytes(path, bytes);
  return error_message([&path] { load_safetensors(path); });
}

// Eight bytes of F32 data: 1.0f, 2.0f.
const std::string two_floats = std::string("\x00\x00\x80\x3F\x00\x00\x00\x40", 8);

// Runs the hand-made header against 8 data bytes and checks the message names the file and the
// problem.
void check_refused(const TemporaryDirectory& directory, const std::string& header,
                   const std::string& data, const std::string& expected_problem) {
  const std::string message = load_error_of(directory, raw_file(header, data));
  INFO("header: " << header);
  INFO("message: " << message);
  CHECK(contains(message, directory.file("handmade.safetensors") + ":"));
  CHECK(contains(message, expected_problem));
}

std::vector<TensorData> sample_tensors() {
  // F32 [2, 3] with the values a careless copy would change: NaN payloads, -0, infinities,
  // the smallest subnormal and the largest float.
  const std::vector<float> weights = {
      float_from_bits(0x7FC00001u),
      float_from_bits(0xFF812345u),  // quiet NaN payload, signalling NaN
      -0.0f,
      std::numeric_limits<float>::infinity(),
      -std::numeric_limits<float>::infinity(),
      float_from_bits(0x00000001u)};
  const std::vector<int32_t> counts = {std::numeric_limits<int32_t>::min(), -1, 0,
                                       std::numeric_limits<int32_t>::max()};
  const std::vector<int64_t> steps = {std::numeric_limits<int64_t>::min(),
                                      std::numeric_limits<int64_t>::max()};
  const std::vector<float> scalar = {3.5f};
  const std::vector<float> nothing;
  std::vector<TensorData> tensors;
  tensors.push_back(TensorData::from_float32("layer.weight", {2, 3}, weights));  // [2, 3]
  tensors.push_back(TensorData::from_int32("counts", {4}, counts));              // [4]
  tensors.push_back(TensorData::from_int64("optimizer.step", {2, 1}, steps));    // [2, 1]
  tensors.push_back(TensorData::from_float32("temperature", {}, scalar));        // scalar
  tensors.push_back(TensorData::from_float32("empty", {0, 4}, nothing));         // [0, 4]
  tensors.push_back(
      TensorData::from_float32("max", {1}, std::vector<float>{std::numeric_limits<float>::max()}));
  return tensors;
}

const SafetensorsMetadata sample_metadata = {
    {"format", "pt"}, {"model", "MIND \"small\"\n\xC3\xA9t\xC3\xA9"}, {"empty", ""}};

}  // namespace

TEST_CASE("safetensors: a small file has exactly the expected bytes") {
  TemporaryDirectory directory;
  const std::string path = directory.file("w.safetensors");
  const std::vector<float> values = {1.0f, -2.0f};
  save_safetensors(path, {TensorData::from_float32("w", {2}, values)}, {{"format", "pt"}});
  // 85 bytes of JSON padded with 3 spaces to 88 (0x58), then 1.0f and -2.0f little-endian.
  const std::string header =
      "{\"__metadata__\":{\"format\":\"pt\"},\"w\":{\"dtype\":\"F32\",\"shape\":[2],\"data_"
      "offsets\":[0,8]}}   ";
  const std::string expected = std::string("\x58\0\0\0\0\0\0\0", 8) + header +
                               std::string("\x00\x00\x80\x3F\x00\x00\x00\xC0", 8);
  CHECK(read_bytes(path) == expected);
  // Without metadata there is no "__metadata__" key at all.
  save_safetensors(path, {TensorData::from_float32("w", {2}, values)}, {});
  const std::string bare = read_bytes(path);
  CHECK(bare.substr(8, 56) == "{\"w\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}  ");
  CHECK(bare[0] == 0x38);  // 54 bytes of JSON + 2 spaces = 56
  CHECK(bare.size() == 8 + 56 + 8);
}

TEST_CASE("safetensors: save then load reproduces every tensor bit for bit") {
  TemporaryDirectory directory;
  const std::string path = directory.file("model.safetensors");
  const std::vector<TensorData> tensors = sample_tensors();
  save_safetensors(path, tensors, sample_metadata);
  const SafetensorsFile loaded = load_safetensors(path);

  CHECK(loaded.path == path);
  REQUIRE(loaded.tensors.size() == tensors.size());
  for (size_t i = 0; i < tensors.size(); ++i) {
    INFO("tensor " << tensors[i].name);
    CHECK(loaded.tensors[i].name == tensors[i].name);  // header order is kept
    CHECK(loaded.tensors[i].dtype == tensors[i].dtype);
    CHECK(loaded.tensors[i].shape == tensors[i].shape);
    CHECK(loaded.tensors[i].bytes == tensors[i].bytes);
  }
  CHECK(loaded.metadata == sample_metadata);
  CHECK(loaded.get_metadata("model") == "MIND \"small\"\n\xC3\xA9t\xC3\xA9");

  const std::vector<float> weights = loaded.get("layer.weight").to_float32();
  REQUIRE(weights.size() == 6);
  CHECK(bits_of(weights[0]) == 0x7FC00001u);
  CHECK(bits_of(weights[1]) == 0xFF812345u);
  CHECK(bits_of(weights[2]) == 0x80000000u);  // -0.0
  CHECK(weights[3] == std::numeric_limits<float>::infinity());
  CHECK(weights[4] == -std::numeric_limits<float>::infinity());
  CHECK(bits_of(weights[5]) == 1u);
  CHECK(loaded.get("counts").to_int32() ==
        std::vector<int32_t>{std::numeric_limits<int32_t>::min(), -1, 0,
                             std::numeric_limits<int32_t>::max()});
  CHECK(loaded.get("optimizer.step").to_int64() ==
        std::vector<int64_t>{std::numeric_limits<int64_t>::min(),
                             std::numeric_limits<int64_t>::max()});
  CHECK(loaded.get("temperature").to_float32() == std::vector<float>{3.5f});
  CHECK(loaded.get("temperature").element_count() == 1);
  CHECK(loaded.get("empty").element_count() == 0);
  CHECK(loaded.get("empty").to_float32().empty());

  std::vector<float> parameter(1, 0.0f);
  loaded.get("max").copy_float32_to(parameter);
  CHECK(parameter[0] == std::numeric_limits<float>::max());
}

TEST_CASE("safetensors: saving the same tensors twice gives byte-identical files") {
  TemporaryDirectory directory;
  const std::string first_path = directory.file("first.safetensors");
  const std::string second_path = directory.file("second.safetensors");
  save_safetensors(first_path, sample_tensors(), sample_metadata);
  const SafetensorsFile loaded = load_safetensors(first_path);
  save_safetensors(second_path, loaded.tensors, loaded.metadata);
  const std::string first_bytes = read_bytes(first_path);
  CHECK(first_bytes.size() > 8);
  CHECK(read_bytes(second_path) == first_bytes);
  save_safetensors(first_path, sample_tensors(), sample_metadata);  // over itself
  CHECK(read_bytes(first_path) == first_bytes);
}

TEST_CASE("safetensors: the header is padded with spaces so data starts 8-byte aligned") {
  TemporaryDirectory directory;
  const std::string path = directory.file("aligned.safetensors");
  const std::vector<float> value = {1.0f};
  for (const std::string name :
       {"a", "ab", "abc", "abcd", "abcde", "abcdef", "abcdefg", "abcdefgh"}) {
    save_safetensors(path, {TensorData::from_float32(name, {1}, value)}, {});
    const std::string bytes = read_bytes(path);
    uint64_t header_length = 0;
    for (int i = 0; i < 8; ++i) {
      header_length |= static_cast<uint64_t>(static_cast<uint8_t>(bytes[i])) << (8 * i);
    }
    INFO("name " << name);
    CHECK(header_length % 8 == 0);
    CHECK(bytes.size() == 8 + header_length + 4);
    const std::string header = bytes.substr(8, header_length);
    const size_t json_end = header.rfind('}') + 1;
    CHECK(header.find_first_not_of(' ', json_end) == std::string::npos);
    CHECK(header_length - json_end < 8);
    CHECK(load_safetensors(path).get(name).to_float32() == value);
  }
}

TEST_CASE("safetensors: lookups and typed views refuse mismatches with clear messages") {
  TemporaryDirectory directory;
  const std::string path = directory.file("views.safetensors");
  const std::vector<float> values = {1.0f, 2.0f};
  save_safetensors(path, {TensorData::from_float32("w", {2}, values)}, {{"epoch", "3"}});
  const SafetensorsFile loaded = load_safetensors(path);
  CHECK(loaded.find("nope") == nullptr);
  CHECK(error_message([&] { loaded.get("nope"); }) ==
        path + ": no tensor named \"nope\" (the file has 1: \"w\")");
  CHECK(error_message([&] { loaded.get_metadata("seed"); }) ==
        path + ": no metadata key \"seed\" in the header's __metadata__");
  CHECK(error_message([&] { loaded.get("w").to_int32(); }) ==
        "tensor \"w\" has dtype F32, expected I32");
  CHECK(error_message([&] { loaded.get("w").to_int64(); }) ==
        "tensor \"w\" has dtype F32, expected I64");
  std::vector<float> too_small(1);
  CHECK(error_message([&] { loaded.get("w").copy_float32_to(too_small); }) ==
        "tensor \"w\" of shape [2] has 2 values, the destination holds 1");
  CHECK(error_message([&] {
          TensorData::from_float32("x", {2, 2}, values);
        }) == "tensor \"x\": shape [2, 2] does not hold 2 values");
  TensorData inconsistent = loaded.get("w");
  inconsistent.shape = {3};
  CHECK(error_message([&] { inconsistent.to_float32(); }) ==
        "tensor \"w\": 8 bytes do not match shape [3]");
  CHECK(error_message([&] { TensorData::from_float32("x", {-1}, values); }) ==
        "tensor \"x\": shape [-1] does not hold 2 values");
}

TEST_CASE("safetensors: save refuses inconsistent input and writes nothing") {
  TemporaryDirectory directory;
  const std::string path = directory.file("refused.safetensors");
  const std::vector<float> values = {1.0f, 2.0f};
  const TensorData good = TensorData::from_float32("w", {2}, values);
  TensorData wrong_size = good;
  wrong_size.shape = {3};
  TensorData wrong_dtype = good;
  wrong_dtype.dtype = "F16";
  TensorData reserved = good;
  reserved.name = "__metadata__";
  TensorData huge = good;
  huge.shape = {int64_t{1} << 62, 4};
  TensorData bad_name = good;
  bad_name.name = "w\xFF";

  CHECK(error_message([&] {
          save_safetensors(path, {good, good}, {});
        }) == path + ": cannot save: two tensors are named \"w\"");
  CHECK(error_message([&] { save_safetensors(path, {wrong_size}, {}); }) ==
        path + ": cannot save tensor \"w\": shape [3] of F32 needs 12 bytes, it has 8");
  CHECK(error_message([&] { save_safetensors(path, {huge}, {}); }) ==
        path + ": cannot save tensor \"w\": invalid shape [4611686018427387904, 4]");
  CHECK(error_message([&] { save_safetensors(path, {wrong_dtype}, {}); }) ==
        path + ": cannot save tensor \"w\": unsupported dtype \"F16\"");
  CHECK(error_message([&] { save_safetensors(path, {reserved}, {}); }) ==
        path + ": cannot save tensor \"__metadata__\": the name is reserved for metadata");
  CHECK(error_message([&] {
          save_safetensors(path, {good}, {{"k", "1"}, {"k", "2"}});
        }) == path + ": cannot save: metadata key \"k\" appears twice");
  CHECK(contains(error_message([&] { save_safetensors(path, {bad_name}, {}); }), "invalid UTF-8"));
  CHECK(directory.entries().empty());

  const std::string missing_directory = directory.file("no/such/dir/model.safetensors");
  const std::string message =
      error_message([&] { save_safetensors(missing_directory, {good}, {}); });
  CHECK(contains(message, missing_directory));
  CHECK(contains(message, "No such file or directory"));
}

TEST_CASE("safetensors: hand-made files with a bad size or header are refused") {
  TemporaryDirectory directory;
  const std::string path = directory.file("handmade.safetensors");
  CHECK(load_error_of(directory, "") == path +
                                            ": file is 0 bytes, too short for a safetensors file "
                                            "(which starts with an 8-byte header length)");
  CHECK(contains(load_error_of(directory, std::string("\x05\0\0\0\0", 5)),
                 path + ": file is 5 bytes, too short"));
  CHECK(load_error_of(directory, little_endian_u64(1000) + "{}") ==
        path +
            ": header length 1000 is larger than the rest of the file (2 bytes): truncated or not "
            "a safetensors file");
  CHECK(contains(load_error_of(directory, little_endian_u64(uint64_t{1} << 63) + "{}"),
                 path + ": header length 9223372036854775808 is above the 100000000-byte limit"));
  CHECK(contains(load_error_of(directory, raw_file("", "")),
                 path + ": the header is not a JSON object"));
  CHECK(contains(load_error_of(directory, raw_file("[1, 2]  ", "")),
                 path + ": the header is not a JSON object"));
  // JSON errors name "<path> header", then nlohmann's line, column and problem.
  CHECK(contains(load_error_of(directory, raw_file("{not json}", "")),
                 path + " header: parse error at line 1, column 3: syntax error while parsing object key"));
  CHECK(contains(load_error_of(directory, raw_file("{} x", "")),
                 path + " header: parse error at line 1, column 4"));
  // Duplicate tensor names are duplicate JSON keys: refused, not one of them silently kept.
  const std::string entry = "{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}";
  CHECK(load_error_of(directory, raw_file("{\"a\":" + entry + ",\"a\":" + entry + "}", two_floats)) ==
        path + " header: duplicate key \"a\" in an object");
}

TEST_CASE("safetensors: hand-made entries with bad fields are refused") {
  TemporaryDirectory directory;
  check_refused(
      directory, "{\"w\":5}", two_floats,
      "tensor \"w\": expected an object with dtype, shape and data_offsets, got a number");
  check_refused(directory, "{\"w\":{\"shape\":[2],\"data_offsets\":[0,8]}}", two_floats,
                "tensor \"w\": missing \"dtype\"");
  check_refused(directory, "{\"w\":{\"dtype\":\"F32\",\"data_offsets\":[0,8]}}", two_floats,
                "tensor \"w\": missing \"shape\"");
  check_refused(directory, "{\"w\":{\"dtype\":\"F32\",\"shape\":[2]}}", two_floats,
                "tensor \"w\": missing \"data_offsets\"");
  check_refused(directory, "{\"w\":{\"dtype\":\"F16\",\"shape\":[4],\"data_offsets\":[0,8]}}",
                two_floats,
                "tensor \"w\": unsupported dtype \"F16\" (this reader handles F32, I32, I64)");
  check_refused(directory, "{\"w\":{\"dtype\":32,\"shape\":[2],\"data_offsets\":[0,8]}}",
                two_floats, "tensor \"w\": \"dtype\" is a number, expected a string");
  check_refused(directory, "{\"w\":{\"dtype\":\"F32\",\"shape\":[-2],\"data_offsets\":[0,8]}}",
                two_floats, "tensor \"w\": shape[0] is -2, expected a non-negative integer");
  check_refused(directory, "{\"w\":{\"dtype\":\"F32\",\"shape\":[1,1.5],\"data_offsets\":[0,8]}}",
                two_floats, "tensor \"w\": shape[1] is 1.5, expected a non-negative integer");
  check_refused(directory, "{\"w\":{\"dtype\":\"F32\",\"shape\":[\"2\"],\"data_offsets\":[0,8]}}",
                two_floats, "tensor \"w\": shape[0] is a string, expected a non-negative integer");
  check_refused(directory, "{\"w\":{\"dtype\":\"F32\",\"shape\":2,\"data_offsets\":[0,8]}}",
                two_floats, "tensor \"w\": \"shape\" is a number, expected an array");
  check_refused(directory, "{\"w\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[8]}}",
                two_floats,
                "tensor \"w\": \"data_offsets\" must be an array [begin, end] of two integers");
  check_refused(directory, "{\"w\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,-8]}}",
                two_floats, "tensor \"w\": data_offsets[1] is -8, expected a non-negative integer");
  check_refused(directory,
                "{\"w\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8],\"extra\":1}}",
                two_floats, "tensor \"w\": unknown field \"extra\"");
  check_refused(directory, "{\"__metadata__\":{\"epoch\":3}}", "",
                "\"__metadata__\" value for \"epoch\" is a number, expected a string");
  check_refused(directory, "{\"__metadata__\":[\"a\"]}", "",
                "\"__metadata__\" is an array, expected an object of strings");
}

TEST_CASE("safetensors: hand-made byte ranges that disagree with the data are refused") {
  TemporaryDirectory directory;
  check_refused(directory, "{\"w\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[0,8]}}",
                two_floats,
                "tensor \"w\": shape [3] of F32 needs 12 bytes but data_offsets [0, 8] hold 8");
  check_refused(directory, "{\"w\":{\"dtype\":\"I64\",\"shape\":[2],\"data_offsets\":[0,8]}}",
                two_floats,
                "tensor \"w\": shape [2] of I64 needs 16 bytes but data_offsets [0, 8] hold 8");
  check_refused(directory,
                "{\"w\":{\"dtype\":\"F32\",\"shape\":[4294967296,4294967296,4294967296],\"data_"
                "offsets\":[0,8]}}",
                two_floats,
                "tensor \"w\": shape [4294967296, 4294967296, 4294967296] of F32 is too large");
  check_refused(
      directory, "{\"w\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[0,16]}}", two_floats,
      "tensor \"w\": data_offsets [0, 16] run past the end of the data section (8 bytes)");
  check_refused(directory, "{\"w\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[8,0]}}",
                two_floats, "tensor \"w\": data_offsets [8, 0] begin after they end");
  // a [0, 8] and b [4, 12] share bytes 4..8.
  check_refused(directory,
                "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
                "\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[4,12]}}",
                two_floats + "1234", "tensors \"a\" [0, 8] and \"b\" [4, 12] overlap");
  check_refused(directory,
                "{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},"
                "\"b\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[8,12]}}",
                two_floats + "1234",
                "hole in the data section: bytes [4, 8] belong to no tensor (the format requires "
                "every byte to be used)");
  check_refused(directory, "{\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}",
                two_floats, "hole in the data section: bytes [0, 4] belong to no tensor");
  check_refused(directory, "{\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}",
                two_floats,
                "4 trailing bytes after the last tensor: bytes [4, 8] of the data section belong "
                "to no tensor");
  check_refused(directory, "{}", "x", "1 trailing bytes after the last tensor");
}

TEST_CASE("safetensors: valid files written by other tools are accepted") {
  TemporaryDirectory directory;
  const std::string path = directory.file("other.safetensors");
  // Header order differs from data order, a zero-size tensor sits between the two, the header
  // ends with padding that is not a multiple of 8, and the metadata comes last.
  const std::string header =
      "{\"b\":{\"dtype\":\"I32\",\"shape\":[1],\"data_offsets\":[4,8]},"
      "\"none\":{\"dtype\":\"F32\",\"shape\":[0],\"data_offsets\":[4,4]},"
      "\"a\":{\"dtype\":\"F32\",\"shape\":[],\"data_offsets\":[0,4]},"
      "\"__metadata__\":{\"format\":\"pt\"}}   ";
  write_bytes(path, raw_file(header, std::string("\x00\x00\x80\x3F\x07\x00\x00\x00", 8)));
  const SafetensorsFile loaded = load_safetensors(path);
  REQUIRE(loaded.tensors.size() == 3);
  CHECK(loaded.tensors[0].name == "b");
  CHECK(loaded.tensors[1].name == "none");
  CHECK(loaded.tensors[2].name == "a");
  CHECK(loaded.get("b").to_int32() == std::vector<int32_t>{7});
  CHECK(loaded.get("a").to_float32() == std::vector<float>{1.0f});
  CHECK(loaded.get("a").shape.empty());
  CHECK(loaded.get("none").bytes.empty());
  CHECK(loaded.get_metadata("format") == "pt");
  // An empty file in the format: no tensors, no data.
  write_bytes(path, raw_file("{}      ", ""));
  CHECK(load_safetensors(path).tensors.empty());
}

TEST_CASE("safetensors: every truncation of a valid file is refused") {
  TemporaryDirectory directory;
  const std::string path = directory.file("full.safetensors");
  save_safetensors(path, sample_tensors(), sample_metadata);
  const std::string bytes = read_bytes(path);
  const std::string cut_path = directory.file("cut.safetensors");
  int refused_count = 0;
  for (size_t length = 0; length < bytes.size(); ++length) {
    write_bytes(cut_path, bytes.substr(0, length));
    const std::string message = error_message([&cut_path] { load_safetensors(cut_path); });
    INFO("cut at " << length << ": " << message);
    CHECK(contains(message, cut_path));
    if (contains(message, cut_path)) ++refused_count;
  }
  CHECK(refused_count == static_cast<int>(bytes.size()));
  // The cut just before the data ends is caught by the byte ranges, not the JSON parser.
  write_bytes(cut_path, bytes.substr(0, bytes.size() - 1));
  CHECK(contains(error_message([&cut_path] { load_safetensors(cut_path); }),
                 "run past the end of the data section"));
}

TEST_CASE("safetensors: corrupted bytes give an error or a consistent file, never a crash") {
  TemporaryDirectory directory;
  const std::string path = directory.file("good.safetensors");
  save_safetensors(path, sample_tensors(), sample_metadata);
  const std::string bytes = read_bytes(path);
  const std::string corrupt_path = directory.file("corrupt.safetensors");
  mind::Rng rng(42);
  int refused_count = 0;
  int loaded_count = 0;
  for (int trial = 0; trial < 400; ++trial) {
    std::string corrupt = bytes;
    // Corrupt the length prefix or the header mostly: that is where the checks are.
    const size_t position = static_cast<size_t>(rng.below(trial % 4 == 0 ? bytes.size() : 8 + 300));
    corrupt[position] = static_cast<char>(rng.below(256));
    write_bytes(corrupt_path, corrupt);
    try {
      const SafetensorsFile loaded = load_safetensors(corrupt_path);
      size_t byte_total = 0;
      for (const TensorData& tensor : loaded.tensors) byte_total += tensor.bytes.size();
      CHECK(byte_total <= corrupt.size());
      ++loaded_count;
    } catch (const std::runtime_error& error) {
      CHECK(contains(error.what(), corrupt_path));
      ++refused_count;
    }
  }
  CHECK(refused_count + loaded_count == 400);
  CHECK(refused_count > 100);
}

TEST_CASE(
    "safetensors: an interrupted save keeps the previous file intact and leaves no temp file") {
  TemporaryDirectory directory;
  const std::string path = directory.file("checkpoint.safetensors");
  const std::vector<float> old_values = {1.0f, 2.0f, 3.0f};
  save_safetensors(path, {TensorData::from_float32("w", {3}, old_values)}, {{"step", "100"}});
  const std::string old_bytes = read_bytes(path);

  const std::vector<float> new_values = {4.0f, 5.0f, 6.0f, 7.0f};
  const std::vector<TensorData> new_tensors = {
      TensorData::from_float32("w", {4}, new_values),
      TensorData::from_int64("step", {1}, std::vector<int64_t>{200})};
  // The new file, made once elsewhere: 8 length bytes, a 143-byte header padded to 144, then
  // 24 data bytes. Fail inside each part and on the boundaries between them.
  save_safetensors(directory.file("reference.safetensors"), new_tensors, {{"step", "200"}});
  const std::string new_bytes = read_bytes(directory.file("reference.safetensors"));
  std::filesystem::remove(directory.file("reference.safetensors"));
  REQUIRE(new_bytes.size() == 8 + 144 + 24);
  const std::vector<int64_t> failure_points = {0, 1, 7, 8, 9, 80, 151, 152, 153, 170, 175};
  for (const int64_t failure_point : failure_points) {
    INFO("failure after " << failure_point << " bytes");
    {
      WriteFailureGuard guard(failure_point);
      const std::string message = error_message([&] {
        save_safetensors(path, new_tensors, {{"step", "200"}});
      });
      CHECK(contains(message,
                     "simulated write failure after " + std::to_string(failure_point) + " bytes"));
      CHECK(contains(message, path + ".tmp-"));
    }
    CHECK(read_bytes(path) == old_bytes);
    CHECK(load_safetensors(path).get("w").to_float32() == old_values);
    CHECK(directory.entries() == std::vector<std::string>{"checkpoint.safetensors"});
  }

  // With the limit at the new file's exact size nothing fails and the new file replaces the old.
  {
    WriteFailureGuard guard(static_cast<int64_t>(new_bytes.size()));
    save_safetensors(path, new_tensors, {{"step", "200"}});
  }
  CHECK(read_bytes(path) == new_bytes);
  CHECK(load_safetensors(path).get("step").to_int64() == std::vector<int64_t>{200});
  CHECK(directory.entries() == std::vector<std::string>{"checkpoint.safetensors"});

  // A first save that fails leaves nothing at all.
  const std::string fresh_path = directory.file("fresh.safetensors");
  {
    WriteFailureGuard guard(20);
    CHECK(contains(error_message([&] { save_safetensors(fresh_path, new_tensors, {}); }),
                   "simulated write failure"));
  }
  CHECK(!std::filesystem::exists(fresh_path));
  CHECK(directory.entries() == std::vector<std::string>{"checkpoint.safetensors"});
}

TEST_CASE("atomic file: a writer that is never committed leaves the old file alone") {
  TemporaryDirectory directory;
  const std::string path = directory.file("note.txt");
  write_bytes(path, "old");
  {
    mind::io::AtomicFileWriter writer(path);
    writer.write("new content", 11);
    CHECK(std::filesystem::exists(writer.temporary_path()));
    CHECK(read_bytes(path) == "old");
  }
  CHECK(read_bytes(path) == "old");
  CHECK(directory.entries() == std::vector<std::string>{"note.txt"});
  {
    mind::io::AtomicFileWriter writer(path);
    writer.write("new ", 4);
    writer.write("content", 7);
    writer.commit();
    CHECK(contains(error_message([&] { writer.write("x", 1); }),
                   "write after the file was committed"));
  }
  CHECK(read_bytes(path) == "new content");
  CHECK(directory.entries() == std::vector<std::string>{"note.txt"});
}
