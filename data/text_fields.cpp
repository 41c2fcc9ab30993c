// Field-level helpers for the readers (see text_fields.h).
#include "data/text_fields.h"

#include <charconv>
#include <system_error>

namespace mind::data {

namespace {

// The position of the first byte of `text` that does not begin a valid UTF-8 sequence, or
// std::string_view::npos if all of it is UTF-8; `any_multibyte` tells whether it holds
// non-ASCII characters. Checks lead bytes and continuation counts; that is enough to tell
// UTF-8 from Latin-1 titles, because Latin-1 accented letters (0xC0-0xFF) are almost never
// followed by 0x80-0xBF bytes. The second byte's range also depends on the lead (RFC 3629, table 3-7 of the Unicode
// standard): without that, Latin-1 text such as "\xED\xA0\x80" would pass as UTF-8 and be kept
// as it is, though it encodes a surrogate (or an overlong form, or a code point above U+10FFFF),
// which no UTF-8 reader accepts.
size_t first_invalid_utf8(std::string_view text, bool& any_multibyte) {
  any_multibyte = false;
  size_t index = 0;
  while (index < text.size()) {
    const unsigned char lead = static_cast<unsigned char>(text[index]);
    size_t continuation_count = 0;
    unsigned char second_lowest = 0x80;
    unsigned char second_highest = 0xBF;
    if (lead < 0x80) {
      ++index;
      continue;
    } else if (lead >= 0xC2 && lead <= 0xDF) {
      continuation_count = 1;
    } else if (lead >= 0xE0 && lead <= 0xEF) {
      continuation_count = 2;
      if (lead == 0xE0) second_lowest = 0xA0;   // below: overlong (under U+0800)
      if (lead == 0xED) second_highest = 0x9F;  // above: surrogates U+D800..U+DFFF
    } else if (lead >= 0xF0 && lead <= 0xF4) {
      continuation_count = 3;
      if (lead == 0xF0) second_lowest = 0x90;   // below: overlong (under U+10000)
      if (lead == 0xF4) second_highest = 0x8F;  // above: beyond U+10FFFF
    } else {
      return index;
    }
    if (index + continuation_count >= text.size()) return index;  // cut short by the end
    for (size_t offset = 1; offset <= continuation_count; ++offset) {
      const unsigned char byte = static_cast<unsigned char>(text[index + offset]);
      const unsigned char lowest = offset == 1 ? second_lowest : 0x80;
      const unsigned char highest = offset == 1 ? second_highest : 0xBF;
      if (byte < lowest || byte > highest) return index;
    }
    any_multibyte = true;
    index += continuation_count + 1;
  }
  return std::string_view::npos;
}

bool is_non_ascii_utf8(std::string_view text) {
  bool any_multibyte = false;
  return first_invalid_utf8(text, any_multibyte) == std::string_view::npos && any_multibyte;
}

std::string hex_byte(unsigned char byte) {
  const char* digits = "0123456789ABCDEF";
  std::string text = "0x";
  text.push_back(digits[byte >> 4]);
  text.push_back(digits[byte & 0x0F]);
  return text;
}

}  // namespace

void split_fields(std::string_view line, std::string_view separator,
                  std::vector<std::string_view>& fields) {
  fields.clear();
  size_t start = 0;
  for (;;) {
    const size_t stop = line.find(separator, start);
    if (stop == std::string_view::npos) {
      fields.push_back(trim_surrounding_spaces(line.substr(start)));
      return;
    }
    fields.push_back(trim_surrounding_spaces(line.substr(start, stop - start)));
    start = stop + separator.size();
  }
}

void expect_field_count(const TextReader& reader, const std::vector<std::string_view>& fields,
                        size_t expected, const std::string& separator_name) {
  if (fields.size() == expected) return;
  if (fields.size() == 1 && fields[0].empty()) {
    reader.fail("empty line: expected " + std::to_string(expected) + " fields separated by " +
                separator_name);
  }
  reader.fail("expected " + std::to_string(expected) + " fields separated by " + separator_name +
              ", got " + std::to_string(fields.size()));
}

std::string delimiter_name(char delimiter) {
  if (delimiter == '\t') return "tabs";
  // Built by appending: GCC 12 warns falsely (-Wrestrict, its bug 105651) on "'" + string + "'".
  std::string name(1, '\'');
  name.push_back(delimiter);
  name.push_back('\'');
  return name;
}

int64_t parse_int64(const TextReader& reader, std::string_view text, const std::string& what) {
  int64_t value = 0;
  const char* end = text.data() + text.size();
  const std::from_chars_result result = std::from_chars(text.data(), end, value);
  if (result.ec == std::errc::result_out_of_range) {
    reader.fail(what + " " + quote_for_message(text) + " does not fit in 64 bits");
  }
  if (text.empty() || result.ec != std::errc() || result.ptr != end) {
    reader.fail(what + " " + quote_for_message(text) + " is not an integer");
  }
  return value;
}

uint64_t parse_uint64(const TextReader& reader, std::string_view text, const std::string& what) {
  uint64_t value = 0;
  const char* end = text.data() + text.size();
  const std::from_chars_result result = std::from_chars(text.data(), end, value);
  if (result.ec == std::errc::result_out_of_range) {
    reader.fail(what + " " + quote_for_message(text) + " does not fit in 64 bits");
  }
  if (text.empty() || result.ec != std::errc() || result.ptr != end) {
    reader.fail(what + " " + quote_for_message(text) + " is not a non-negative integer");
  }
  return value;
}

std::string latin1_to_utf8(std::string_view text) {
  if (is_non_ascii_utf8(text)) return std::string(text);
  std::string converted;
  converted.reserve(text.size() * 2);
  for (const char character : text) {
    const unsigned char byte = static_cast<unsigned char>(character);
    if (byte < 0x80) {
      converted.push_back(character);
    } else {
      // Code point U+0080..U+00FF: 110000xx 10xxxxxx.
      converted.push_back(static_cast<char>(0xC0 | (byte >> 6)));
      converted.push_back(static_cast<char>(0x80 | (byte & 0x3F)));
    }
  }
  return converted;
}

size_t find_header_column(const TextReader& reader, const std::vector<std::string>& header, std::string_view name) {
  size_t found = header.size();
  for (size_t column = 0; column < header.size(); ++column) {
    if (header[column] != name) continue;
    if (found != header.size()) reader.fail("column '" + std::string(name) + "' appears twice in the header");
    found = column;
  }
  return found;
}

std::string text_rule_problem(std::string_view text) {
  for (size_t position = 0; position < text.size(); ++position) {
    const unsigned char byte = static_cast<unsigned char>(text[position]);
    if (byte < 0x20 || byte == 0x7F) {
      return "holds the control character " + hex_byte(byte) + " at byte " + std::to_string(position + 1) +
             " (ids, categories and profile values must be printable UTF-8 text)";
    }
  }
  bool any_multibyte = false;
  const size_t invalid = first_invalid_utf8(text, any_multibyte);
  if (invalid != std::string_view::npos) {
    return "is not valid UTF-8 (byte " + std::to_string(invalid + 1) + " is " +
           hex_byte(static_cast<unsigned char>(text[invalid])) + "; save the file as UTF-8)";
  }
  return "";
}

void check_text(const TextReader& reader, std::string_view text, const std::string& what) {
  const std::string problem = text_rule_problem(text);
  if (!problem.empty()) reader.fail(what + " " + quote_for_message(text) + " " + problem);
}

std::string quote_for_message(std::string_view text) {
  constexpr size_t longest = 60;
  std::string quoted(1, '\'');
  // Control characters are shown as \xNN, so a message never carries a NUL, a line break or a
  // terminal escape from the file.
  for (size_t position = 0; position < text.size() && position < longest; ++position) {
    const unsigned char byte = static_cast<unsigned char>(text[position]);
    if (byte < 0x20 || byte == 0x7F) {
      quoted += "\\x" + hex_byte(byte).substr(2);
    } else {
      quoted.push_back(text[position]);
    }
  }
  if (text.size() > longest) quoted.append("...");
  quoted.push_back('\'');
  return quoted;
}

}  // namespace mind::data
