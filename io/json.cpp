// The JSON parser (recursive descent, one function per grammar rule of RFC 8259), the writer
// and the value accessors. Numbers go through std::from_chars / std::to_chars, which are exact
// and ignore the C locale (strtod would read "0,5" in a German locale).
#include "io/json.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <stdexcept>
#include <utility>

namespace mind::io {

// ---------------------------------------------------------------------------------------------
// Values

JsonValue JsonValue::make_null() { return JsonValue{}; }

JsonValue JsonValue::make_bool(bool value) {
  JsonValue result;
  result.type = JsonType::boolean;
  result.bool_value = value;
  return result;
}

JsonValue JsonValue::make_number(double value) {
  JsonValue result;
  result.type = JsonType::number;
  result.number_value = value;
  return result;
}

JsonValue JsonValue::make_string(std::string value) {
  JsonValue result;
  result.type = JsonType::string;
  result.string_value = std::move(value);
  return result;
}

JsonValue JsonValue::make_array() {
  JsonValue result;
  result.type = JsonType::array;
  return result;
}

JsonValue JsonValue::make_object() {
  JsonValue result;
  result.type = JsonType::object;
  return result;
}

bool JsonValue::is_null() const { return type == JsonType::null; }
bool JsonValue::is_bool() const { return type == JsonType::boolean; }
bool JsonValue::is_number() const { return type == JsonType::number; }
bool JsonValue::is_string() const { return type == JsonType::string; }
bool JsonValue::is_array() const { return type == JsonType::array; }
bool JsonValue::is_object() const { return type == JsonType::object; }

std::string json_type_name(JsonType type) {
  switch (type) {
    case JsonType::null: return "null";
    case JsonType::boolean: return "a boolean";
    case JsonType::number: return "a number";
    case JsonType::string: return "a string";
    case JsonType::array: return "an array";
    case JsonType::object: return "an object";
  }
  return "an unknown JSON type";
}

namespace {

// "JSON value at byte 120" (or "JSON value" when built in code), the start of accessor errors.
std::string describe_location(const JsonValue& value) {
  if (value.source_offset < 0) return "JSON value";
  return "JSON value at byte " + std::to_string(value.source_offset);
}

void require_type(const JsonValue& value, JsonType expected) {
  if (value.type != expected) {
    throw std::runtime_error(describe_location(value) + ": expected " + json_type_name(expected) +
                             ", got " + json_type_name(value.type));
  }
}

}  // namespace

bool JsonValue::as_bool() const {
  require_type(*this, JsonType::boolean);
  return bool_value;
}

double JsonValue::as_number() const {
  require_type(*this, JsonType::number);
  return number_value;
}

int64_t JsonValue::as_integer() const {
  require_type(*this, JsonType::number);
  const double largest_exact_integer = 9007199254740992.0;  // 2^53
  if (number_value != std::trunc(number_value) || std::fabs(number_value) > largest_exact_integer) {
    throw std::runtime_error(describe_location(*this) + ": expected an integer, got " +
                             format_json_number(number_value));
  }
  return static_cast<int64_t>(number_value);
}

const std::string& JsonValue::as_string() const {
  require_type(*this, JsonType::string);
  return string_value;
}

const std::vector<JsonValue>& JsonValue::as_array() const {
  require_type(*this, JsonType::array);
  return array_items;
}

const std::vector<JsonMember>& JsonValue::as_object() const {
  require_type(*this, JsonType::object);
  return object_members;
}

const JsonValue* JsonValue::find(std::string_view key) const {
  require_type(*this, JsonType::object);
  for (const JsonMember& member : object_members) {
    if (member.key == key) return &member.value;
  }
  return nullptr;
}

const JsonValue& JsonValue::at(std::string_view key) const {
  const JsonValue* found = find(key);
  if (found != nullptr) return *found;
  // Listing a few keys that do exist makes a typo obvious.
  std::string known_keys;
  const size_t listed_count = std::min<size_t>(object_members.size(), 8);
  for (size_t i = 0; i < listed_count; ++i) {
    if (i > 0) known_keys += ", ";
    known_keys += quote_json_string(object_members[i].key);
  }
  if (object_members.size() > listed_count) known_keys += ", ...";
  if (object_members.empty()) known_keys = "none";
  throw std::runtime_error(describe_location(*this) + ": no key " + quote_json_string(key) +
                           " in this object (its keys: " + known_keys + ")");
}

const JsonValue& JsonValue::at(size_t index) const {
  require_type(*this, JsonType::array);
  if (index >= array_items.size()) {
    throw std::runtime_error(describe_location(*this) + ": index " + std::to_string(index) +
                             " is out of range for an array of " +
                             std::to_string(array_items.size()) + " elements");
  }
  return array_items[index];
}

size_t JsonValue::size() const {
  if (type == JsonType::array) return array_items.size();
  if (type == JsonType::object) return object_members.size();
  throw std::runtime_error(describe_location(*this) + ": expected an array or an object, got " +
                           json_type_name(type));
}

void JsonValue::push_back(JsonValue item) {
  require_type(*this, JsonType::array);
  array_items.push_back(std::move(item));
}

void JsonValue::add_member(std::string key, JsonValue value) {
  require_type(*this, JsonType::object);
  object_members.push_back(JsonMember{std::move(key), std::move(value)});
}

// ---------------------------------------------------------------------------------------------
// UTF-8

namespace {

// Length of the well-formed UTF-8 sequence starting at `position`, or 0 if it is malformed
// (RFC 3629: no overlong forms, no UTF-16 surrogates, nothing above U+10FFFF).
size_t utf8_sequence_length(std::string_view text, size_t position) {
  const unsigned char lead = static_cast<unsigned char>(text[position]);
  if (lead < 0x80) return 1;
  size_t length = 0;
  unsigned char second_lowest = 0x80;
  unsigned char second_highest = 0xBF;
  if (lead >= 0xC2 && lead <= 0xDF) {
    length = 2;
  } else if (lead >= 0xE0 && lead <= 0xEF) {
    length = 3;
    if (lead == 0xE0) second_lowest = 0xA0;   // below: overlong
    if (lead == 0xED) second_highest = 0x9F;  // above: surrogates U+D800..U+DFFF
  } else if (lead >= 0xF0 && lead <= 0xF4) {
    length = 4;
    if (lead == 0xF0) second_lowest = 0x90;   // below: overlong
    if (lead == 0xF4) second_highest = 0x8F;  // above: beyond U+10FFFF
  } else {
    return 0;
  }
  if (position + length > text.size()) return 0;
  const unsigned char second = static_cast<unsigned char>(text[position + 1]);
  if (second < second_lowest || second > second_highest) return 0;
  for (size_t i = 2; i < length; ++i) {
    const unsigned char continuation = static_cast<unsigned char>(text[position + i]);
    if (continuation < 0x80 || continuation > 0xBF) return 0;
  }
  return length;
}

void append_utf8(std::string& output, uint32_t code_point) {
  if (code_point < 0x80) {
    output += static_cast<char>(code_point);
  } else if (code_point < 0x800) {
    output += static_cast<char>(0xC0 | (code_point >> 6));
    output += static_cast<char>(0x80 | (code_point & 0x3F));
  } else if (code_point < 0x10000) {
    output += static_cast<char>(0xE0 | (code_point >> 12));
    output += static_cast<char>(0x80 | ((code_point >> 6) & 0x3F));
    output += static_cast<char>(0x80 | (code_point & 0x3F));
  } else {
    output += static_cast<char>(0xF0 | (code_point >> 18));
    output += static_cast<char>(0x80 | ((code_point >> 12) & 0x3F));
    output += static_cast<char>(0x80 | ((code_point >> 6) & 0x3F));
    output += static_cast<char>(0x80 | (code_point & 0x3F));
  }
}

// ---------------------------------------------------------------------------------------------
// Parser

class JsonParser {
 public:
  JsonParser(std::string_view text, const std::string& source_name)
      : text_(text), source_name_(source_name) {}

  JsonValue parse_document() {
    skip_whitespace();
    JsonValue value = parse_value(0);
    skip_whitespace();
    if (position_ < text_.size()) {
      fail(position_, "unexpected " + describe_byte(position_) + " after the JSON value");
    }
    return value;
  }

 private:
  // Every error goes through here so that each one names the source, line, column and byte.
  [[noreturn]] void fail(size_t offset, const std::string& problem) const {
    size_t line = 1;
    size_t line_start = 0;
    for (size_t i = 0; i < offset && i < text_.size(); ++i) {
      if (text_[i] == '\n') {
        ++line;
        line_start = i + 1;
      }
    }
    const size_t column = offset - line_start + 1;
    throw std::runtime_error(source_name_ + ":" + std::to_string(line) + ":" +
                             std::to_string(column) + " (byte " + std::to_string(offset) +
                             "): " + problem);
  }

  // "'x'" for a printable character, "byte 0x93" otherwise, "end of input" past the end.
  std::string describe_byte(size_t offset) const {
    if (offset >= text_.size()) return "end of input";
    const unsigned char byte = static_cast<unsigned char>(text_[offset]);
    if (byte >= 0x20 && byte < 0x7F) return std::string("'") + static_cast<char>(byte) + "'";
    const char* hex_digits = "0123456789ABCDEF";
    return std::string("byte 0x") + hex_digits[byte >> 4] + hex_digits[byte & 0xF];
  }

  bool at_end() const { return position_ >= text_.size(); }
  char peek() const { return text_[position_]; }

  void skip_whitespace() {
    while (!at_end()) {
      const char c = peek();
      if (c != ' ' && c != '\t' && c != '\n' && c != '\r') break;
      ++position_;
    }
  }

  JsonValue parse_value(int depth) {
    if (at_end()) fail(position_, "expected a JSON value, got end of input");
    const size_t start = position_;
    JsonValue value;
    const char c = peek();
    if (c == '{') {
      value = parse_object(depth);
    } else if (c == '[') {
      value = parse_array(depth);
    } else if (c == '"') {
      value = JsonValue::make_string(parse_string());
    } else if (c == '-' || (c >= '0' && c <= '9')) {
      value = parse_number();
    } else if (c == 't' || c == 'f' || c == 'n') {
      value = parse_literal();
    } else if (c == 'N' || c == 'I') {
      fail(start, "NaN and Infinity are not JSON numbers (write them as strings)");
    } else {
      fail(start, "expected a JSON value, got " + describe_byte(start));
    }
    value.source_offset = static_cast<int64_t>(start);
    return value;
  }

  JsonValue parse_literal() {
    const size_t start = position_;
    const std::string_view rest = text_.substr(position_);
    if (rest.starts_with("true")) {
      position_ += 4;
      return JsonValue::make_bool(true);
    }
    if (rest.starts_with("false")) {
      position_ += 5;
      return JsonValue::make_bool(false);
    }
    if (rest.starts_with("null")) {
      position_ += 4;
      return JsonValue::make_null();
    }
    fail(start, "invalid literal (expected true, false or null)");
  }

  // number = [ "-" ] ( "0" / [1-9] *DIGIT ) [ "." 1*DIGIT ] [ ( "e" / "E" ) [ "+" / "-" ] 1*DIGIT ]
  // The grammar is checked here because from_chars alone accepts forms JSON forbids ("01", "1.").
  JsonValue parse_number() {
    const size_t start = position_;
    if (peek() == '-') ++position_;
    if (at_end() || !is_digit(peek())) fail(position_, "expected a digit in the number");
    if (peek() == '0') {
      ++position_;
      if (!at_end() && is_digit(peek())) fail(start, "leading zeros are not allowed in a number");
    } else {
      skip_digits();
    }
    if (!at_end() && peek() == '.') {
      ++position_;
      if (at_end() || !is_digit(peek())) {
        fail(position_, "expected a digit after the decimal point");
      }
      skip_digits();
    }
    if (!at_end() && (peek() == 'e' || peek() == 'E')) {
      ++position_;
      if (!at_end() && (peek() == '+' || peek() == '-')) ++position_;
      if (at_end() || !is_digit(peek())) fail(position_, "expected a digit in the exponent");
      skip_digits();
    }
    double value = 0.0;
    const char* first = text_.data() + start;
    const char* last = text_.data() + position_;
    const std::from_chars_result result = std::from_chars(first, last, value);
    if (result.ec == std::errc::result_out_of_range) {
      fail(start, "number " + std::string(first, last) + " is out of the range of a double");
    }
    if (result.ec != std::errc() || result.ptr != last) {
      fail(start, "cannot read the number " + std::string(first, last));
    }
    return JsonValue::make_number(value);
  }

  static bool is_digit(char c) { return c >= '0' && c <= '9'; }
  void skip_digits() {
    while (!at_end() && is_digit(peek())) ++position_;
  }

  // Reads the 4 hex digits of a \u escape whose backslash is at `escape_start`.
  uint32_t parse_hex4(size_t escape_start) {
    if (position_ + 4 > text_.size()) {
      fail(escape_start, "incomplete \\u escape (needs 4 hex digits)");
    }
    uint32_t value = 0;
    for (int i = 0; i < 4; ++i) {
      const char c = text_[position_ + i];
      uint32_t digit = 0;
      if (c >= '0' && c <= '9') {
        digit = static_cast<uint32_t>(c - '0');
      } else if (c >= 'a' && c <= 'f') {
        digit = static_cast<uint32_t>(c - 'a' + 10);
      } else if (c >= 'A' && c <= 'F') {
        digit = static_cast<uint32_t>(c - 'A' + 10);
      } else {
        fail(escape_start,
             "bad \\u escape: " + describe_byte(position_ + i) + " is not a hex digit");
      }
      value = value * 16 + digit;
    }
    position_ += 4;
    return value;
  }

  // Called on the opening quote; returns the decoded UTF-8 string.
  std::string parse_string() {
    const size_t opening_quote = position_;
    ++position_;
    std::string result;
    while (true) {
      if (at_end()) fail(opening_quote, "unterminated string (no closing quote)");
      const unsigned char byte = static_cast<unsigned char>(peek());
      if (byte == '"') {
        ++position_;
        return result;
      }
      if (byte < 0x20) {
        fail(position_, "raw control character " + describe_byte(position_) +
                            " inside a string (escape it, e.g. \\n or \\u0001)");
      }
      if (byte == '\\') {
        parse_escape(result);
        continue;
      }
      const size_t length = utf8_sequence_length(text_, position_);
      if (length == 0) {
        fail(position_, "invalid UTF-8 (" + describe_byte(position_) + ") in a string");
      }
      result.append(text_.substr(position_, length));
      position_ += length;
    }
  }

  void parse_escape(std::string& output) {
    const size_t escape_start = position_;
    ++position_;
    if (at_end()) fail(escape_start, "unterminated string (ends inside an escape)");
    const char kind = peek();
    ++position_;
    switch (kind) {
      case '"': output += '"'; return;
      case '\\': output += '\\'; return;
      case '/': output += '/'; return;
      case 'b': output += '\b'; return;
      case 'f': output += '\f'; return;
      case 'n': output += '\n'; return;
      case 'r': output += '\r'; return;
      case 't': output += '\t'; return;
      case 'u': break;
      default:
        fail(escape_start,
             "bad escape: " + describe_byte(escape_start + 1) +
                 " after a backslash (allowed: \\\" \\\\ \\/ \\b \\f \\n \\r \\t \\uXXXX)");
    }
    uint32_t code_point = parse_hex4(escape_start);
    // Characters above U+FFFF come as a UTF-16 surrogate pair: \uD83D\uDE00 is U+1F600.
    if (code_point >= 0xDC00 && code_point <= 0xDFFF) {
      fail(escape_start, "bad \\u escape: low surrogate without a high surrogate before it");
    }
    if (code_point >= 0xD800 && code_point <= 0xDBFF) {
      const bool pair_follows =
          position_ + 1 < text_.size() && text_[position_] == '\\' && text_[position_ + 1] == 'u';
      if (!pair_follows) {
        fail(escape_start, "bad \\u escape: high surrogate not followed by a \\u low surrogate");
      }
      const size_t low_escape_start = position_;
      position_ += 2;
      const uint32_t low = parse_hex4(low_escape_start);
      if (low < 0xDC00 || low > 0xDFFF) {
        fail(low_escape_start, "bad \\u escape: high surrogate followed by a non-low surrogate");
      }
      code_point = 0x10000 + ((code_point - 0xD800) << 10) + (low - 0xDC00);
    }
    append_utf8(output, code_point);
  }

  JsonValue parse_array(int depth) {
    if (depth >= json_max_depth) {
      fail(position_, "nesting deeper than " + std::to_string(json_max_depth) + " levels");
    }
    ++position_;  // '['
    JsonValue array = JsonValue::make_array();
    skip_whitespace();
    if (!at_end() && peek() == ']') {
      ++position_;
      return array;
    }
    while (true) {
      skip_whitespace();
      if (!at_end() && peek() == ']') {
        fail(position_, "expected a value (trailing commas are not allowed)");
      }
      array.array_items.push_back(parse_value(depth + 1));
      skip_whitespace();
      if (at_end()) fail(position_, "unterminated array (expected ',' or ']')");
      if (peek() == ']') {
        ++position_;
        return array;
      }
      if (peek() != ',') {
        fail(position_, "expected ',' or ']' in an array, got " + describe_byte(position_));
      }
      ++position_;
    }
  }

  JsonValue parse_object(int depth) {
    if (depth >= json_max_depth) {
      fail(position_, "nesting deeper than " + std::to_string(json_max_depth) + " levels");
    }
    ++position_;  // '{'
    JsonValue object = JsonValue::make_object();
    std::vector<size_t> key_offsets;  // for the duplicate-key message
    skip_whitespace();
    if (!at_end() && peek() == '}') {
      ++position_;
      return object;
    }
    while (true) {
      skip_whitespace();
      if (at_end()) fail(position_, "unterminated object (expected a key)");
      if (peek() == '}') fail(position_, "expected a key (trailing commas are not allowed)");
      if (peek() != '"') {
        fail(position_, "expected a key in double quotes, got " + describe_byte(position_));
      }
      key_offsets.push_back(position_);
      std::string key = parse_string();
      skip_whitespace();
      if (at_end() || peek() != ':') {
        fail(position_, "expected ':' after the key " + quote_json_string(key) + ", got " +
                            describe_byte(position_));
      }
      ++position_;
      skip_whitespace();
      JsonValue value = parse_value(depth + 1);
      object.object_members.push_back(JsonMember{std::move(key), std::move(value)});
      skip_whitespace();
      if (at_end()) fail(position_, "unterminated object (expected ',' or '}')");
      if (peek() == '}') {
        ++position_;
        break;
      }
      if (peek() != ',') {
        fail(position_, "expected ',' or '}' in an object, got " + describe_byte(position_));
      }
      ++position_;
    }
    reject_duplicate_keys(object, key_offsets);
    return object;
  }

  // Sorting member indices by key puts equal keys side by side: O(n log n) for any object size.
  void reject_duplicate_keys(const JsonValue& object,
                             const std::vector<size_t>& key_offsets) const {
    const std::vector<JsonMember>& members = object.object_members;
    if (members.size() < 2) return;
    std::vector<size_t> order(members.size());
    for (size_t i = 0; i < order.size(); ++i) order[i] = i;
    std::sort(order.begin(), order.end(), [&members](size_t left, size_t right) {
      if (members[left].key != members[right].key) return members[left].key < members[right].key;
      return left < right;
    });
    for (size_t i = 1; i < order.size(); ++i) {
      if (members[order[i - 1]].key == members[order[i]].key) {
        fail(key_offsets[order[i]],
             "duplicate key " + quote_json_string(members[order[i]].key) + " in an object");
      }
    }
  }

  std::string_view text_;
  const std::string& source_name_;
  size_t position_ = 0;
};

// ---------------------------------------------------------------------------------------------
// Writer

void append_json(std::string& output, const JsonValue& value) {
  switch (value.type) {
    case JsonType::null: output += "null"; return;
    case JsonType::boolean: output += value.bool_value ? "true" : "false"; return;
    case JsonType::number: output += format_json_number(value.number_value); return;
    case JsonType::string: output += quote_json_string(value.string_value); return;
    case JsonType::array:
      output += '[';
      for (size_t i = 0; i < value.array_items.size(); ++i) {
        if (i > 0) output += ',';
        append_json(output, value.array_items[i]);
      }
      output += ']';
      return;
    case JsonType::object:
      output += '{';
      for (size_t i = 0; i < value.object_members.size(); ++i) {
        if (i > 0) output += ',';
        output += quote_json_string(value.object_members[i].key);
        output += ':';
        append_json(output, value.object_members[i].value);
      }
      output += '}';
      return;
  }
}

}  // namespace

JsonValue parse_json(std::string_view text, const std::string& source_name) {
  JsonParser parser(text, source_name);
  return parser.parse_document();
}

std::string to_json(const JsonValue& value) {
  std::string output;
  append_json(output, value);
  return output;
}

std::string quote_json_string(std::string_view text) {
  std::string output;
  output.reserve(text.size() + 2);
  output += '"';
  size_t position = 0;
  while (position < text.size()) {
    const unsigned char byte = static_cast<unsigned char>(text[position]);
    if (byte == '"') {
      output += "\\\"";
    } else if (byte == '\\') {
      output += "\\\\";
    } else if (byte == '\n') {
      output += "\\n";
    } else if (byte == '\r') {
      output += "\\r";
    } else if (byte == '\t') {
      output += "\\t";
    } else if (byte == '\b') {
      output += "\\b";
    } else if (byte == '\f') {
      output += "\\f";
    } else if (byte < 0x20) {
      const char* hex_digits = "0123456789abcdef";
      output += "\\u00";
      output += hex_digits[byte >> 4];
      output += hex_digits[byte & 0xF];
    } else if (byte < 0x80) {
      output += static_cast<char>(byte);
    } else {
      const size_t length = utf8_sequence_length(text, position);
      if (length == 0) {
        throw std::runtime_error("cannot write a JSON string: invalid UTF-8 at byte " +
                                 std::to_string(position) + " of the string");
      }
      output.append(text.substr(position, length));
      position += length;
      continue;
    }
    ++position;
  }
  output += '"';
  return output;
}

std::string format_json_number(double value) {
  if (std::isnan(value)) {
    throw std::runtime_error(
        "cannot write NaN as a JSON number (write it as a string, e.g. \"nan\")");
  }
  if (std::isinf(value)) {
    throw std::runtime_error(std::string("cannot write ") + (value > 0 ? "inf" : "-inf") +
                             " as a JSON number (write it as a string, e.g. \"-inf\")");
  }
  char buffer[64];
  const double largest_exact_integer = 9007199254740992.0;  // 2^53
  const bool negative_zero = value == 0.0 && std::signbit(value);
  std::to_chars_result result;
  if (value == std::trunc(value) && std::fabs(value) <= largest_exact_integer && !negative_zero) {
    result = std::to_chars(buffer, buffer + sizeof(buffer), static_cast<int64_t>(value));
  } else {
    result = std::to_chars(buffer, buffer + sizeof(buffer), value);  // shortest round trip
  }
  return std::string(buffer, result.ptr);
}

}  // namespace mind::io
