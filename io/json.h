// JSON through nlohmann-json (Debian's nlohmann-json3-dev), with the few rules our files need on
// top of it: errors name the file, a key may appear only once in an object, nesting is limited,
// and NaN or infinity are refused instead of being written as null. Values are
// nlohmann::ordered_json: objects keep their keys in the order they were read or added, so a
// safetensors header lists its tensors in file order and the files we write read in the order
// the code builds them.
#pragma once
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>

namespace mind::io {

// Parses one JSON text. Errors start with `source` (a file name) and give nlohmann's line,
// column and problem: "run.json: parse error at line 3, column 17: syntax error ...".
nlohmann::ordered_json parse_json(std::string_view text, const std::string& source);
// Deeper nesting is refused: our files nest 4 levels at most, and recursing through a hostile
// file's depth (writing it, destroying it) could overflow the stack.
inline constexpr int json_max_depth = 512;

// Compact JSON text (no spaces). Throws for NaN or infinity, naming where they are ("/loss"),
// and for strings that are not valid UTF-8. Numbers are written so that they read back exactly.
std::string dump_json(const nlohmann::ordered_json& value);

// "null", "a boolean", "a number", "a string", "an array", "an object", for messages.
std::string json_type_name(const nlohmann::ordered_json& value);

// object[key] as a bool, an integer, a floating-point number or a string. A missing key, a value
// of another type, or a number with a fraction (or out of T's range) where an integer belongs throws
// "CONTEXT: missing \"key\"" or "CONTEXT: \"key\" is a string, expected an integer".
template <typename T>
T read_field(const nlohmann::ordered_json& object, const std::string& key, const std::string& context) {
  const auto found = object.find(key);
  if (found == object.end()) throw std::runtime_error(context + ": missing \"" + key + "\"");
  bool matches = false;
  std::string expected;
  if constexpr (std::is_same_v<T, bool>) {
    matches = found->is_boolean();
    expected = "a boolean";
  } else if constexpr (std::is_integral_v<T>) {
    matches = found->is_number_unsigned() ? std::in_range<T>(found->get<uint64_t>())
                                          : found->is_number_integer() && std::in_range<T>(found->get<int64_t>());
    expected = "an integer";
  } else if constexpr (std::is_floating_point_v<T>) {
    matches = found->is_number();
    expected = "a number";
  } else {
    static_assert(std::is_same_v<T, std::string>, "read_field reads bool, integers, floats and strings");
    matches = found->is_string();
    expected = "a string";
  }
  if (!matches) {
    // "is 2.5, expected an integer" shows the number; otherwise the type says enough.
    const bool show_number = found->is_number() && std::is_integral_v<T> && !std::is_same_v<T, bool>;
    const std::string found_text = show_number ? found->dump() : json_type_name(*found);
    throw std::runtime_error(context + ": \"" + key + "\" is " + found_text + ", expected " + expected);
  }
  return found->get<T>();
}

}  // namespace mind::io
