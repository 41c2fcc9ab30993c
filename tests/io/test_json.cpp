// Tests of io/json: what it adds to nlohmann-json (messages naming the file, repeated keys and
// deep nesting refused, NaN and infinity refused on writing, typed fields with clear errors)
// and what our files rely on (key order kept, numbers that read back bit for bit). The JSON
// grammar itself is nlohmann's, tested and fuzzed upstream.
#include <doctest/doctest.h>

#include <cmath>
#include <cstring>
#include <functional>
#include <limits>
#include <stdexcept>
#include <string>

#include "autograd/random.h"
#include "io/json.h"
#include "io_test_files.h"

using mind::io::dump_json;
using mind::io::parse_json;
using mind::io::read_field;
using Json = nlohmann::ordered_json;

using mind::io::testing::bits_of;
using mind::io::testing::contains;
using mind::io::testing::error_message;

namespace {

std::string parse_error(std::string_view text) {
  return error_message([text] { parse_json(text, "t.json"); });
}

}  // namespace

TEST_CASE("json: parse errors name the source, the line and column, and the problem") {
  // nlohmann's own tag ("[json.exception.parse_error.101]") is left out of the message.
  CHECK(contains(parse_error("[1,\n 2,\n x]"),
                 "t.json: parse error at line 3, column 2: syntax error while parsing value - invalid literal"));
  CHECK(contains(parse_error(""), "t.json: parse error at line 1, column 1"));
  CHECK(contains(parse_error("{\"a\": \"abc"), "t.json: parse error"));
  CHECK(contains(parse_error("{} x"), "t.json: parse error at line 1, column 4"));
  CHECK(contains(parse_error("[1,]"), "t.json: parse error"));
  CHECK(contains(parse_error("NaN"), "t.json: parse error"));
  CHECK(parse_error("1e400") == "t.json: number overflow parsing '1e400'");
  CHECK(contains(parse_error("\"\xC3\x28\""), "invalid string: ill-formed UTF-8 byte"));
}

TEST_CASE("json: a key repeated in one object is refused, in another object it is not") {
  CHECK(parse_error("{\"a\":1,\"b\":2,\"a\":3}") == "t.json: duplicate key \"a\" in an object");
  CHECK(parse_error("{\"x\":{\"a\":1},\"y\":[{\"b\":1,\"b\":2}]}") == "t.json: duplicate key \"b\" in an object");
  const Json value = parse_json("{\"a\":{\"a\":1},\"b\":[{\"a\":2},{\"a\":3}]}", "t.json");
  CHECK(value.at("b").at(1).at("a").get<int>() == 3);
}

TEST_CASE("json: nesting is limited") {
  const int limit = mind::io::json_max_depth;
  const Json deepest = parse_json(std::string(limit, '[') + std::string(limit, ']'), "deep.json");
  CHECK(deepest.is_array());
  CHECK(parse_error(std::string(limit + 1, '[') + std::string(limit + 1, ']')) ==
        "t.json: nesting deeper than 512 levels");
  CHECK(parse_error(std::string(200000, '[')) == "t.json: nesting deeper than 512 levels");
  std::string deep_objects;
  for (int i = 0; i < 1000; ++i) deep_objects += "{\"a\":";
  CHECK(parse_error(deep_objects) == "t.json: nesting deeper than 512 levels");
}

TEST_CASE("json: objects keep their keys in file order and in the order they are added") {
  const Json value = parse_json("{\"z\": 1, \"a\": [true, null, {\"k\": \"v\"}], \"m\": {}}", "t.json");
  std::vector<std::string> keys;
  for (const auto& [key, item] : value.items()) keys.push_back(key);
  CHECK(keys == std::vector<std::string>{"z", "a", "m"});
  Json built;
  built["second"] = 2;
  built["first"] = 1;
  CHECK(dump_json(built) == "{\"second\":2,\"first\":1}");
}

TEST_CASE("json: the writer is compact, exact for integers, and round-trips text") {
  const Json object = {{"name", "a\"b\n"},
                       {"list", {1, -0.5, 1000000, 1e-7, true, nullptr}},
                       {"big", uint64_t{18446744073709551615u}},
                       {"empty", Json::object()},
                       {"none", Json::array()}};
  CHECK(dump_json(object) ==
        "{\"name\":\"a\\\"b\\n\",\"list\":[1,-0.5,1000000,1e-07,true,null],\"big\":18446744073709551615,"
        "\"empty\":{},\"none\":[]}");
  // Every 64-bit integer reads back exactly (nlohmann keeps integers apart from doubles).
  CHECK(parse_json("[18446744073709551615, -9223372036854775808]", "t.json").at(0).get<uint64_t>() ==
        std::numeric_limits<uint64_t>::max());
  const std::string canonical =
      "{\"config\":{\"N\":12,\"eps\":1e-08,\"hist\":[[3,5],[0,12]]},\"runs\":[{\"loss\":2.2462663143337043,"
      "\"logits\":[-0.6015956243961832,\"-inf\"],\"name\":\"d\\u0001\\\"\xE2\x82\xAC\"}],\"flag\":false,\"x\":null}";
  CHECK(dump_json(parse_json(canonical, "t.json")) == canonical);
}

TEST_CASE("json: any finite double survives dump_json then parse_json bit for bit") {
  mind::Rng rng(7);
  Json numbers = Json::array();
  std::vector<double> originals;
  while (originals.size() < 2000) {
    const uint64_t bits = rng.next_u64();
    double value = 0.0;
    std::memcpy(&value, &bits, sizeof(value));
    if (!std::isfinite(value)) continue;
    originals.push_back(value);
    numbers.push_back(value);
  }
  for (double value : {-0.0, 4.9e-324, 0.1, 1e300, -2.5e-5}) {
    originals.push_back(value);
    numbers.push_back(value);
  }
  const Json parsed = parse_json(dump_json(numbers), "numbers.json");
  REQUIRE(parsed.size() == originals.size());
  int mismatches = 0;
  for (size_t i = 0; i < originals.size(); ++i) {
    if (bits_of(parsed.at(i).get<double>()) != bits_of(originals[i])) ++mismatches;
  }
  CHECK(mismatches == 0);
}

TEST_CASE("json: NaN, infinity and invalid UTF-8 are refused on writing, naming where") {
  CHECK(error_message([] { dump_json({{"epoch", 1}, {"loss", NAN}}); }) ==
        "cannot write NaN at /loss as JSON (JSON has no such number; write it as a string or null)");
  CHECK(contains(error_message([] { dump_json({{"a", {1.0, -INFINITY}}}); }), "cannot write -inf at /a/1"));
  CHECK(contains(error_message([] { dump_json(INFINITY); }), "cannot write inf at /"));
  CHECK(error_message([] { dump_json("ok\xFF!"); }) == "cannot write JSON: invalid UTF-8 byte at index 2: 0xFF");
  CHECK(error_message([] { dump_json("ok\xC3"); }) == "cannot write JSON: incomplete UTF-8 string; last byte: 0xC3");
}

TEST_CASE("json: read_field names the missing key, the wrong type and a fraction where an integer belongs") {
  const Json value = parse_json(
      "{\"text\": \"abc\", \"n\": 2.5, \"count\": 7, \"flag\": true, \"negative\": -1, \"huge\": 1e300}", "t.json");
  CHECK(read_field<std::string>(value, "text", "t.json") == "abc");
  CHECK(read_field<double>(value, "n", "t.json") == 2.5);
  CHECK(read_field<double>(value, "count", "t.json") == 7.0);
  CHECK(read_field<int64_t>(value, "count", "t.json") == 7);
  CHECK(read_field<bool>(value, "flag", "t.json") == true);
  CHECK(read_field<int64_t>(value, "negative", "t.json") == -1);
  CHECK(error_message([&] { read_field<int64_t>(value, "missing", "t.json"); }) == "t.json: missing \"missing\"");
  CHECK(error_message([&] { read_field<double>(value, "text", "t.json"); }) ==
        "t.json: \"text\" is a string, expected a number");
  CHECK(error_message([&] { read_field<int64_t>(value, "n", "t.json"); }) == "t.json: \"n\" is 2.5, expected an integer");
  CHECK(error_message([&] { read_field<int64_t>(value, "huge", "t.json"); }) ==
        "t.json: \"huge\" is 1e+300, expected an integer");
  CHECK(error_message([&] { read_field<uint64_t>(value, "negative", "t.json"); }) ==
        "t.json: \"negative\" is -1, expected an integer");
  CHECK(error_message([&] { read_field<bool>(value, "count", "t.json"); }) ==
        "t.json: \"count\" is a number, expected a boolean");
  CHECK(error_message([&] { read_field<std::string>(value, "flag", "t.json"); }) ==
        "t.json: \"flag\" is a boolean, expected a string");
}

TEST_CASE("json: type names for messages") {
  CHECK(mind::io::json_type_name(Json()) == "null");
  CHECK(mind::io::json_type_name(Json(true)) == "a boolean");
  CHECK(mind::io::json_type_name(Json(3)) == "a number");
  CHECK(mind::io::json_type_name(Json(3.5)) == "a number");
  CHECK(mind::io::json_type_name(Json("x")) == "a string");
  CHECK(mind::io::json_type_name(Json::array()) == "an array");
  CHECK(mind::io::json_type_name(Json::object()) == "an object");
}
