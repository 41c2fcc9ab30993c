// Small field-level helpers shared by the readers: splitting a line at a separator, checking a
// field count, integers with std::from_chars, ISO-8859-1 to UTF-8, and quoting text in messages.
// Every check that can fail takes the TextReader so its message names the file and the line.
#pragma once
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "data/text_reader.h"

namespace mind::data {

// Splits `line` at every occurrence of `separator` (one or more characters, e.g. "::"); each
// field loses the spaces and tabs around it (trim_surrounding_spaces).
// "a::b" gives {"a", "b"}; "" gives {""}; "a::" gives {"a", ""}.
void split_fields(std::string_view line, std::string_view separator,
                  std::vector<std::string_view>& fields);

// Throws "<file>:<line>: expected 4 fields separated by '::', got 3" unless the count is right
// (with a plainer message for an empty line). `separator_name` is how the message shows it.
void expect_field_count(const TextReader& reader, const std::vector<std::string_view>& fields,
                        size_t expected, const std::string& separator_name);

// Position of the column called `name` in `header`, or header.size() when there is none. A name
// the header holds twice is an error naming it: which of the two columns would be meant?
size_t find_header_column(const TextReader& reader, const std::vector<std::string>& header, std::string_view name);

// How a single-character delimiter is shown in messages: "','", "tabs".
std::string delimiter_name(char delimiter);

// The whole of `text` as a decimal integer (an optional '-' then digits: no spaces, no '+').
// Throws "<file>:<line>: <what> 'x' is not an integer" or "... does not fit in 64 bits".
int64_t parse_int64(const TextReader& reader, std::string_view text, const std::string& what);
// As above, non-negative; MovieLens ids must be integers that fit in 64 bits.
uint64_t parse_uint64(const TextReader& reader, std::string_view text, const std::string& what);

// ISO-8859-1 (Latin-1) maps each byte to the code point of the same value, so the conversion
// is a fixed two-byte encoding of every byte >= 0x80. Text that already is valid UTF-8 with
// non-ASCII characters is returned unchanged, so a copy that someone re-encoded is not mangled.
std::string latin1_to_utf8(std::string_view text);

// The project's one rule for text that becomes an id, a category name, a profile value or a
// title: valid UTF-8 with no control character (bytes below 0x20, and 0x7F). So a NUL byte, a
// tab or a line break (legal inside a quoted CSV field) can never make two ids of one or break
// the TSV and JSON files a run writes. Throws "<file>:<line>: <what> '...' holds the control
// character 0x09 at byte 3 ..." or "... is not valid UTF-8 (byte 2 is 0xFF ...)".
void check_text(const TextReader& reader, std::string_view text, const std::string& what);

// The same rule for text that comes from elsewhere (a command line): "" when `text` keeps it,
// otherwise what is wrong ("holds the control character 0x09 at byte 3 (...)").
std::string text_rule_problem(std::string_view text);

// `text` in single quotes for an error message, shortened to 60 characters, control
// characters shown as \xNN.
std::string quote_for_message(std::string_view text);

}  // namespace mind::data
