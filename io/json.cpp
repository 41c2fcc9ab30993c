// The rules io/json.h adds to nlohmann-json: a parse callback that refuses repeated keys and deep
// nesting, a walk that refuses non-finite numbers before writing, and messages that name the file.
#include "io/json.h"

#include <cmath>
#include <set>
#include <vector>

namespace mind::io {

using Json = nlohmann::ordered_json;

namespace {

// The problem an nlohmann exception describes, without its "[json.exception.parse_error.101] " tag.
std::string describe_json_error(const Json::exception& error) {
  const std::string message = error.what();
  const size_t tag_end = message.find("] ");
  if (message.rfind("[json.exception.", 0) == 0 && tag_end != std::string::npos) return message.substr(tag_end + 2);
  return message;
}

// JSON has no NaN or infinity, and nlohmann would write them as null: a metric or a state that
// became NaN must stop the write instead. `where` is the JSON pointer of `value` ("/loss").
void refuse_non_finite(const Json& value, const std::string& where) {
  if (value.is_number_float() && !std::isfinite(value.get<double>())) {
    const double number = value.get<double>();
    const std::string name = std::isnan(number) ? "NaN" : number > 0 ? "inf" : "-inf";
    throw std::runtime_error("cannot write " + name + " at " + (where.empty() ? "/" : where) +
                             " as JSON (JSON has no such number; write it as a string or null)");
  }
  if (value.is_object()) {
    for (const auto& [key, item] : value.items()) refuse_non_finite(item, where + "/" + key);
  }
  if (value.is_array()) {
    for (size_t index = 0; index < value.size(); ++index) refuse_non_finite(value[index], where + "/" + std::to_string(index));
  }
}

}  // namespace

Json parse_json(std::string_view text, const std::string& source) {
  // nlohmann keeps the last of two equal keys; a checkpoint naming a tensor twice must be
  // refused instead, so the callback keeps the keys of every object still open.
  std::vector<std::set<std::string>> open_objects_keys;
  const Json::parser_callback_t check = [&](int depth, Json::parse_event_t event, Json& parsed) {
    if (event == Json::parse_event_t::object_start || event == Json::parse_event_t::array_start) {
      if (depth >= json_max_depth) {
        throw std::runtime_error(source + ": nesting deeper than " + std::to_string(json_max_depth) + " levels");
      }
    }
    if (event == Json::parse_event_t::object_start) open_objects_keys.emplace_back();
    if (event == Json::parse_event_t::object_end) open_objects_keys.pop_back();
    if (event == Json::parse_event_t::key && !open_objects_keys.back().insert(parsed.get<std::string>()).second) {
      throw std::runtime_error(source + ": duplicate key " + parsed.dump() + " in an object");
    }
    return true;
  };
  try {
    return Json::parse(text, check);
  } catch (const Json::exception& error) {
    throw std::runtime_error(source + ": " + describe_json_error(error));
  }
}

std::string dump_json(const Json& value) {
  refuse_non_finite(value, "");
  try {
    return value.dump();
  } catch (const Json::exception& error) {
    throw std::runtime_error("cannot write JSON: " + describe_json_error(error));  // invalid UTF-8
  }
}

std::string json_type_name(const Json& value) {
  switch (value.type()) {
    case Json::value_t::null: return "null";
    case Json::value_t::boolean: return "a boolean";
    case Json::value_t::number_integer:
    case Json::value_t::number_unsigned:
    case Json::value_t::number_float: return "a number";
    case Json::value_t::string: return "a string";
    case Json::value_t::array: return "an array";
    case Json::value_t::object: return "an object";
    case Json::value_t::binary: return "binary data";
    case Json::value_t::discarded: return "a discarded value";
  }
  return "an unknown JSON type";
}

}  // namespace mind::io
