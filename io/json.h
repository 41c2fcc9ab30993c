// A small JSON value with a parser and a compact writer (RFC 8259), used for checkpoint headers,
// metrics lines and the golden-test file. Everything is held in memory (no streaming); objects
// keep their members in file order and a key may appear only once.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace mind::io {

enum class JsonType { null, boolean, number, string, array, object };

struct JsonMember;

// One JSON value. Only the field matching `type` is meaningful; the accessors check the type
// and throw a message naming what was expected, what was found and where it was parsed.
struct JsonValue {
  JsonType type = JsonType::null;
  bool bool_value = false;
  double number_value = 0.0;
  std::string string_value;  // UTF-8
  std::vector<JsonValue> array_items;
  std::vector<JsonMember> object_members;  // in the order they were parsed or added
  int64_t source_offset = -1;  // byte of the parsed text where the value began; -1 if built in code

  static JsonValue make_null();
  static JsonValue make_bool(bool value);
  static JsonValue make_number(double value);
  static JsonValue make_string(std::string value);
  static JsonValue make_array();
  static JsonValue make_object();

  bool is_null() const;
  bool is_bool() const;
  bool is_number() const;
  bool is_string() const;
  bool is_array() const;
  bool is_object() const;

  bool as_bool() const;
  double as_number() const;
  // A number with no fractional part and |x| <= 2^53 (beyond that a double skips integers).
  int64_t as_integer() const;
  const std::string& as_string() const;
  const std::vector<JsonValue>& as_array() const;
  const std::vector<JsonMember>& as_object() const;

  // Object lookup by key (a linear scan: our objects are small). find() returns nullptr for a
  // missing key; at() throws naming it.
  const JsonValue* find(std::string_view key) const;
  const JsonValue& at(std::string_view key) const;
  // Array element; throws when out of range.
  const JsonValue& at(size_t index) const;
  // Number of array elements or object members.
  size_t size() const;

  // Building values in code. add_member does not look for an existing key (that would make
  // building a large object quadratic): the caller keeps keys unique.
  void push_back(JsonValue item);
  void add_member(std::string key, JsonValue value);
};

struct JsonMember {
  std::string key;
  JsonValue value;
};

// "null", "a boolean", "a number", ... for messages.
std::string json_type_name(JsonType type);

// Parses one JSON text. Errors name `source_name`, the line and column (1-based, in bytes), the
// byte offset and the problem: "golden.json:3:17 (byte 45): unterminated string".
// Nesting deeper than json_max_depth is an error rather than a stack overflow.
JsonValue parse_json(std::string_view text, const std::string& source_name);
inline constexpr int json_max_depth = 512;

// Compact JSON text (no spaces). Throws for NaN or infinity (JSON has no such numbers; write
// them as strings such as "-inf") and for strings that are not valid UTF-8.
std::string to_json(const JsonValue& value);

// `text` as a JSON string literal, quotes included: "a\"b" for a"b. Throws if not valid UTF-8.
std::string quote_json_string(std::string_view text);

// The shortest text that reads back as exactly `value`; integers up to 2^53 print without an
// exponent ("1000000", not "1e+06"), which readers expecting integers (safetensors) need.
std::string format_json_number(double value);

}  // namespace mind::io
