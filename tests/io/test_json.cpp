// Tests of io/json: values parsed exactly, text written exactly, and every parse error naming
// the source, line, column and byte. Expected offsets are counted by hand in the comments.
#include <doctest/doctest.h>

#include <cmath>
#include <cstring>
#include <functional>
#include <stdexcept>
#include <string>

#include "autograd/random.h"
#include "io/json.h"

using mind::io::JsonType;
using mind::io::JsonValue;
using mind::io::parse_json;
using mind::io::to_json;

namespace {

// The message of the std::runtime_error that `action` throws, or a marker if it throws none.
std::string error_message(const std::function<void()>& action) {
  try {
    action();
  } catch (const std::runtime_error& error) {
    return error.what();
  }
  return "(no exception)";
}

std::string parse_error(std::string_view text) {
  return error_message([text] { parse_json(text, "t.json"); });
}

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

uint64_t bits_of(double value) {
  uint64_t bits = 0;
  std::memcpy(&bits, &value, sizeof(bits));
  return bits;
}

}  // namespace

TEST_CASE("json: scalars parse to exact values") {
  CHECK(parse_json("null", "t.json").is_null());
  CHECK(parse_json("true", "t.json").as_bool() == true);
  CHECK(parse_json(" \t\r\nfalse\n", "t.json").as_bool() == false);
  CHECK(parse_json("0", "t.json").as_number() == 0.0);
  const double negative_zero = parse_json("-0", "t.json").as_number();
  CHECK(negative_zero == 0.0);
  CHECK(std::signbit(negative_zero));
  CHECK(parse_json("3.25", "t.json").as_number() == 3.25);
  CHECK(parse_json("-12e-1", "t.json").as_number() == -1.2);
  CHECK(parse_json("1E+2", "t.json").as_number() == 100.0);
  CHECK(parse_json("0.1", "t.json").as_number() == 0.1);
  CHECK(parse_json("123456789012", "t.json").as_integer() == 123456789012);
  CHECK(parse_json("4.9e-324", "t.json").as_number() == 4.9e-324);  // smallest subnormal
  CHECK(parse_json("\"h\\u00e9llo\"", "t.json").as_string() == "h\xC3\xA9llo");
}

TEST_CASE("json: objects keep key order and nested values are reachable") {
  //                 0         1         2         3         4
  //                 0123456789012345678901234567890123456789012345
  const char* text = "{\"z\": 1, \"a\": [true, null, {\"k\": \"v\"}], \"m\": {}}";
  const JsonValue value = parse_json(text, "t.json");
  REQUIRE(value.is_object());
  REQUIRE(value.size() == 3);
  CHECK(value.object_members[0].key == "z");
  CHECK(value.object_members[1].key == "a");
  CHECK(value.object_members[2].key == "m");
  CHECK(value.at("z").as_number() == 1.0);
  const JsonValue& list = value.at("a");
  REQUIRE(list.size() == 3);
  CHECK(list.at(0).as_bool() == true);
  CHECK(list.at(1).is_null());
  CHECK(list.at(2).at("k").as_string() == "v");
  CHECK(value.at("m").is_object());
  CHECK(value.at("m").size() == 0);
  CHECK(value.find("absent") == nullptr);
  // Where each value began: the list at byte 14, its third element at byte 27.
  CHECK(value.source_offset == 0);
  CHECK(list.source_offset == 14);
  CHECK(list.at(2).source_offset == 27);
}

TEST_CASE("json: string escapes and surrogate pairs decode to UTF-8") {
  const std::string text =
      "\"\\\"\\\\\\/\\b\\f\\n\\r\\t\\u0041\\u00e9\\u20AC\\uD83D\\uDE00 raw:\xC3\xA9\"";
  const std::string expected = "\"\\/\b\f\n\r\tA\xC3\xA9\xE2\x82\xAC\xF0\x9F\x98\x80 raw:\xC3\xA9";
  CHECK(parse_json(text, "t.json").as_string() == expected);
  // \u0000 is a real character: the string keeps an embedded NUL.
  const std::string with_nul = parse_json("\"a\\u0000b\"", "t.json").as_string();
  REQUIRE(with_nul.size() == 3);
  CHECK(with_nul[1] == '\0');
}

TEST_CASE("json: writer output is compact and exact") {
  JsonValue object = JsonValue::make_object();
  object.add_member("name", JsonValue::make_string("a\"b\n"));
  JsonValue list = JsonValue::make_array();
  list.push_back(JsonValue::make_number(1.0));
  list.push_back(JsonValue::make_number(-0.5));
  list.push_back(JsonValue::make_number(1000000.0));
  list.push_back(JsonValue::make_number(1e-7));
  list.push_back(JsonValue::make_bool(true));
  list.push_back(JsonValue::make_null());
  object.add_member("list", std::move(list));
  object.add_member("empty", JsonValue::make_object());
  object.add_member("none", JsonValue::make_array());
  CHECK(to_json(object) ==
        "{\"name\":\"a\\\"b\\n\",\"list\":[1,-0.5,1000000,1e-07,true,null],\"empty\":{},\"none\":[]"
        "}");

  CHECK(mind::io::format_json_number(-0.0) == "-0");
  CHECK(mind::io::format_json_number(9007199254740992.0) == "9007199254740992");
  CHECK(mind::io::format_json_number(-42.0) == "-42");
  CHECK(mind::io::format_json_number(0.1) == "0.1");
  CHECK(mind::io::format_json_number(1e300) == "1e+300");
  CHECK(mind::io::format_json_number(2.5e-5) == "2.5e-05");
}

TEST_CASE("json: text round trip and number round trip are exact") {
  const std::string canonical =
      "{\"config\":{\"N\":12,\"eps\":1e-08,\"hist\":[[3,5],[0,12]]},\"runs\":[{\"loss\":2."
      "2462663143337043,"
      "\"logits\":[-0.6015956243961832,\"-inf\"],\"name\":\"d\\u0001\\\"\xE2\x82\xAC\"}],\"flag\":"
      "false,\"x\":null}";
  CHECK(to_json(parse_json(canonical, "t.json")) == canonical);

  // Any finite double survives to_json -> parse_json bit for bit (shortest round-trip printing).
  mind::Rng rng(7);
  JsonValue numbers = JsonValue::make_array();
  std::vector<double> originals;
  while (originals.size() < 2000) {
    const uint64_t bits = rng.next_u64();
    double value = 0.0;
    std::memcpy(&value, &bits, sizeof(value));
    if (!std::isfinite(value)) continue;
    originals.push_back(value);
    numbers.push_back(JsonValue::make_number(value));
  }
  originals.push_back(-0.0);
  numbers.push_back(JsonValue::make_number(-0.0));
  const JsonValue parsed = parse_json(to_json(numbers), "numbers.json");
  REQUIRE(parsed.size() == originals.size());
  int mismatches = 0;
  for (size_t i = 0; i < originals.size(); ++i) {
    if (bits_of(parsed.at(i).as_number()) != bits_of(originals[i])) ++mismatches;
  }
  CHECK(mismatches == 0);
}

TEST_CASE("json: quote_json_string escapes control characters and refuses bad UTF-8") {
  CHECK(mind::io::quote_json_string("a\x01\x1f\x7f\t\\") == "\"a\\u0001\\u001f\x7f\\t\\\\\"");
  CHECK(mind::io::quote_json_string("\xF0\x9F\x98\x80") == "\"\xF0\x9F\x98\x80\"");
  CHECK(contains(error_message([] { mind::io::quote_json_string("ok\xC3"); }),
                 "invalid UTF-8 at byte 2"));
  CHECK(contains(error_message([] { to_json(JsonValue::make_number(NAN)); }), "cannot write NaN"));
  CHECK(contains(error_message([] { to_json(JsonValue::make_number(-INFINITY)); }),
                 "cannot write -inf"));
}

TEST_CASE("json: errors name source line column byte and problem") {
  CHECK(parse_error("") == "t.json:1:1 (byte 0): expected a JSON value, got end of input");
  // {"a": "abc   -- the string opens at byte 6
  CHECK(parse_error("{\"a\": \"abc") ==
        "t.json:1:7 (byte 6): unterminated string (no closing quote)");
  CHECK(parse_error("{} x") == "t.json:1:4 (byte 3): unexpected 'x' after the JSON value");
  // "[1,\n 2,\n x]": line 3 starts at byte 8, the x is its second character.
  CHECK(parse_error("[1,\n 2,\n x]") == "t.json:3:2 (byte 9): expected a JSON value, got 'x'");
  // {"a":1,"b":2,"a":3}: the second "a" starts at byte 13.
  CHECK(parse_error("{\"a\":1,\"b\":2,\"a\":3}") ==
        "t.json:1:14 (byte 13): duplicate key \"a\" in an object");
  CHECK(parse_error("{\"a\" 1}") ==
        "t.json:1:6 (byte 5): expected ':' after the key \"a\", got '1'");
  CHECK(parse_error("{\"a\": tru}") ==
        "t.json:1:7 (byte 6): invalid literal (expected true, false or null)");
}

TEST_CASE("json: malformed strings and escapes are refused") {
  CHECK(contains(parse_error("\"\\x\""), "t.json:1:2 (byte 1): bad escape: 'x' after a backslash"));
  CHECK(contains(parse_error("\"\\u12G4\""), "(byte 1): bad \\u escape: 'G' is not a hex digit"));
  CHECK(contains(parse_error("\"\\u12"), "(byte 1): incomplete \\u escape"));
  CHECK(contains(parse_error("\"\\uD800\""),
                 "(byte 1): bad \\u escape: high surrogate not followed"));
  CHECK(contains(parse_error("\"\\uD800\\u0041\""),
                 "(byte 7): bad \\u escape: high surrogate followed by a non-low"));
  CHECK(contains(parse_error("\"\\uDC00\""), "(byte 1): bad \\u escape: low surrogate without"));
  CHECK(contains(parse_error("\"a\tb\""),
                 "(byte 2): raw control character byte 0x09 inside a string"));
  CHECK(contains(parse_error("\"\xC3\x28\""), "(byte 1): invalid UTF-8 (byte 0xC3)"));
  CHECK(contains(parse_error("\"\xC0\xAF\""), "invalid UTF-8 (byte 0xC0)"));  // overlong '/'
  CHECK(
      contains(parse_error("\"\xED\xA0\x80\""), "invalid UTF-8 (byte 0xED)"));  // encoded surrogate
  CHECK(contains(parse_error("\"abc\\"), "unterminated string (ends inside an escape)"));
}

TEST_CASE("json: malformed numbers literals and containers are refused") {
  CHECK(contains(parse_error("01"), "(byte 0): leading zeros are not allowed"));
  CHECK(contains(parse_error("1."), "(byte 2): expected a digit after the decimal point"));
  CHECK(contains(parse_error("-"), "(byte 1): expected a digit in the number"));
  CHECK(contains(parse_error("1e+"), "(byte 3): expected a digit in the exponent"));
  CHECK(contains(parse_error(".5"), "expected a JSON value, got '.'"));
  CHECK(contains(parse_error("+1"), "expected a JSON value, got '+'"));
  CHECK(contains(parse_error("NaN"), "NaN and Infinity are not JSON numbers"));
  CHECK(contains(parse_error("1e400"), "number 1e400 is out of the range of a double"));
  CHECK(contains(parse_error("[1,]"),
                 "(byte 3): expected a value (trailing commas are not allowed)"));
  CHECK(contains(parse_error("{\"a\":1,}"),
                 "(byte 7): expected a key (trailing commas are not allowed)"));
  CHECK(contains(parse_error("[1, 2"), "(byte 5): unterminated array"));
  CHECK(contains(parse_error("[1 2]"), "(byte 3): expected ',' or ']' in an array, got '2'"));
  CHECK(contains(parse_error("{\"a\":1"), "unterminated object"));
  CHECK(contains(parse_error("{1:2}"), "expected a key in double quotes, got '1'"));
  CHECK(contains(parse_error("nul"), "invalid literal"));
  CHECK(contains(parse_error("\xEF\xBB\xBF{}"), "expected a JSON value, got byte 0xEF"));  // a BOM
}

TEST_CASE("json: nesting is limited instead of overflowing the stack") {
  const int limit = mind::io::json_max_depth;
  const std::string deepest_allowed = std::string(limit, '[') + std::string(limit, ']');
  const JsonValue value = parse_json(deepest_allowed, "deep.json");
  CHECK(value.is_array());
  const std::string one_too_deep = std::string(limit + 1, '[') + std::string(limit + 1, ']');
  CHECK(parse_error(one_too_deep) == "t.json:1:513 (byte 512): nesting deeper than 512 levels");
  // A hostile input far deeper than any stack would allow.
  CHECK(contains(parse_error(std::string(200000, '[')), "nesting deeper than 512 levels"));
  CHECK(contains(parse_error(std::string(200000, '{')), "expected a key in double quotes"));
  std::string deep_objects;
  for (int i = 0; i < 1000; ++i) deep_objects += "{\"a\":";
  CHECK(contains(parse_error(deep_objects), "(byte 2560): nesting deeper than 512 levels"));
}

TEST_CASE("json: accessors name the expected type the missing key and the position") {
  //                                  0123456
  const JsonValue value = parse_json("{\"a\": \"text\", \"n\": 2.5, \"list\": [1]}", "t.json");
  CHECK(error_message([&] { value.at("a").as_number(); }) ==
        "JSON value at byte 6: expected a number, got a string");
  CHECK(
      error_message([&] { value.at("missing"); }) ==
      "JSON value at byte 0: no key \"missing\" in this object (its keys: \"a\", \"n\", \"list\")");
  CHECK(
      contains(error_message([&] { value.at("n").as_integer(); }), "expected an integer, got 2.5"));
  CHECK(contains(error_message([&] { value.at("list").at(3); }),
                 "index 3 is out of range for an array of 1 elements"));
  CHECK(contains(error_message([&] { value.at("list").as_object(); }),
                 "expected an object, got an array"));
  CHECK(error_message([] { JsonValue::make_bool(true).as_string(); }) ==
        "JSON value: expected a string, got a boolean");
  CHECK(contains(error_message([] { JsonValue::make_number(1e300).as_integer(); }),
                 "expected an integer"));
  CHECK(value.at("list").at(0).as_integer() == 1);
  CHECK(value.at("a").type == JsonType::string);
}
