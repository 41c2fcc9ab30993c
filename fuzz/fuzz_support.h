// What every harness shares: a scratch folder per fuzzing process (reused every iteration),
// writing the fuzz input into files there, and the checks that a successfully read
// InteractionLog must pass. Not a test framework: a failed check is __builtin_trap(), which
// libFuzzer reports as a crash and saves the input.
#pragma once
#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <string_view>
#include <vector>

#include "data/interaction_log.h"

namespace mind::fuzz {

// A trap with a name: libFuzzer prints the stack, which shows the check that failed.
inline void require(bool condition) {
  if (!condition) __builtin_trap();
}

// $TMPDIR (or /tmp) / mind_fuzz_<harness>_<pid>, created once and reused by every iteration
// (creating a folder per input would cost more than most inputs take to read), removed when
// the process exits normally.
class ScratchFolder {
 public:
  explicit ScratchFolder(const std::string& harness) {
    const char* temp = std::getenv("TMPDIR");
    path_ = std::filesystem::path(temp != nullptr && temp[0] != '\0' ? temp : "/tmp") /
            ("mind_fuzz_" + harness + "_" + std::to_string(::getpid()));
    std::filesystem::create_directories(path_);
  }
  ~ScratchFolder() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
  }
  ScratchFolder(const ScratchFolder&) = delete;
  ScratchFolder& operator=(const ScratchFolder&) = delete;
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

inline const std::filesystem::path& scratch_folder(const std::string& harness) {
  static const ScratchFolder folder(harness);
  return folder.path();
}

// Writes `content` to `folder/name` byte for byte and returns the path.
inline std::string write_file(const std::filesystem::path& folder, const std::string& name,
                              std::string_view content) {
  const std::filesystem::path path = folder / name;
  std::ofstream stream(path, std::ios::binary | std::ios::trunc);
  stream.write(content.data(), static_cast<std::streamsize>(content.size()));
  return path.string();
}

inline void remove_file(const std::filesystem::path& folder, const std::string& name) {
  std::error_code ignored;
  std::filesystem::remove(folder / name, ignored);
}

// The separator between the files of a folder inside one fuzz input (e.g. ratings, then movies).
inline constexpr std::string_view file_separator = "\n@@@\n";

// Splits `input` at file_separator into at most `most` parts (the last part keeps any further
// separators, so a reader still sees them as text).
inline std::vector<std::string_view> split_files(std::string_view input, size_t most) {
  std::vector<std::string_view> parts;
  while (parts.size() + 1 < most) {
    const size_t at = input.find(file_separator);
    if (at == std::string_view::npos) break;
    parts.push_back(input.substr(0, at));
    input.remove_prefix(at + file_separator.size());
  }
  parts.push_back(input);
  return parts;
}

// Writes part i of `parts` to names[i], and removes the files of the parts that are absent, so
// that a reader sees exactly the files this input describes.
inline void write_folder(const std::filesystem::path& folder, const std::vector<std::string>& names,
                         const std::vector<std::string_view>& parts) {
  for (size_t i = 0; i < names.size(); ++i) {
    if (i < parts.size()) {
      write_file(folder, names[i], parts[i]);
    } else {
      remove_file(folder, names[i]);
    }
  }
}

inline size_t count_lines(std::string_view text) {
  size_t lines = 1;
  for (char c : text) lines += c == '\n' ? 1 : 0;
  return lines;
}

inline bool all_distinct_and_non_empty(const std::vector<std::string>& names) {
  std::vector<std::string> sorted = names;
  std::sort(sorted.begin(), sorted.end());
  for (size_t i = 0; i < sorted.size(); ++i) {
    if (sorted[i].empty()) return false;
    if (i > 0 && sorted[i] == sorted[i - 1]) return false;
  }
  return true;
}

// Strict UTF-8 (RFC 3629): no overlong forms, no surrogates, nothing above U+10FFFF.
inline bool is_valid_utf8(std::string_view text) {
  size_t index = 0;
  while (index < text.size()) {
    const unsigned char lead = static_cast<unsigned char>(text[index]);
    if (lead < 0x80) {
      ++index;
      continue;
    }
    size_t continuation_count = 0;
    uint32_t code_point = 0;
    uint32_t smallest = 0;  // below this the sequence is overlong
    if (lead >= 0xC0 && lead <= 0xDF) {
      continuation_count = 1;
      code_point = lead & 0x1F;
      smallest = 0x80;
    } else if (lead >= 0xE0 && lead <= 0xEF) {
      continuation_count = 2;
      code_point = lead & 0x0F;
      smallest = 0x800;
    } else if (lead >= 0xF0 && lead <= 0xF7) {
      continuation_count = 3;
      code_point = lead & 0x07;
      smallest = 0x10000;
    } else {
      return false;
    }
    if (index + continuation_count >= text.size()) return false;  // cut short by the end
    for (size_t offset = 1; offset <= continuation_count; ++offset) {
      const unsigned char byte = static_cast<unsigned char>(text[index + offset]);
      if ((byte & 0xC0) != 0x80) return false;
      code_point = (code_point << 6) | (byte & 0x3F);
    }
    if (code_point < smallest || code_point > 0x10FFFF) return false;
    if (code_point >= 0xD800 && code_point <= 0xDFFF) return false;
    index += continuation_count + 1;
  }
  return true;
}

// The project's text rule (data/text_fields.h, check_text): printable UTF-8, no control character.
inline bool is_printable_utf8(std::string_view text) {
  for (const char character : text) {
    const unsigned char byte = static_cast<unsigned char>(character);
    if (byte < 0x20 || byte == 0x7F) return false;
  }
  return is_valid_utf8(text);
}

inline bool all_printable_utf8(const std::vector<std::string>& names) {
  for (const std::string& name : names)
    if (!is_printable_utf8(name)) return false;
  return true;
}

// A field as the readers see it: without the spaces and tabs around it.
inline std::string_view trimmed(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t')) text.remove_suffix(1);
  return text;
}

// The rows of a headerless ratings file (ML-1M ratings.dat, ML-100K u.data) by a plain split:
// a successful read must hold exactly these users, items and timestamps, in file order.
inline void check_ratings_lines(const data::InteractionLog& log, std::string_view file, std::string_view separator) {
  std::vector<std::string_view> lines;
  // A UTF-8 byte order mark is not part of the first field (data/text_reader.h).
  size_t start = file.substr(0, 3) == "\xEF\xBB\xBF" ? 3 : 0;
  while (start < file.size()) {
    size_t end = file.find('\n', start);
    if (end == std::string_view::npos) end = file.size();
    std::string_view line = file.substr(start, end - start);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    lines.push_back(line);
    start = end + 1;
  }
  require(log.interactions.size() == lines.size());
  for (size_t row = 0; row < lines.size(); ++row) {
    std::vector<std::string_view> fields;
    std::string_view rest = lines[row];
    while (true) {
      const size_t at = rest.find(separator);
      fields.push_back(trimmed(rest.substr(0, at)));
      if (at == std::string_view::npos) break;
      rest.remove_prefix(at + separator.size());
    }
    require(fields.size() == 4);
    const data::Interaction& interaction = log.interactions[row];
    require(log.user_ids[interaction.user] == fields[0]);
    require(log.item_ids[interaction.item] == fields[1]);
    int64_t timestamp = 0;
    const char* time_end = fields[3].data() + fields[3].size();
    const std::from_chars_result parsed = std::from_chars(fields[3].data(), time_end, timestamp);
    require(parsed.ec == std::errc() && parsed.ptr == time_end && timestamp == interaction.timestamp);
  }
}

// What every log a reader returns must satisfy: at least one interaction, every user and item
// index within the id lists, ids distinct and non-empty and each used (ids are collected in
// order of first appearance), no more rows than the
// file has lines, and item/user features either absent or one entry per item/user with every
// index in range.
// `categories_by_use`: category names are collected in order of first use (all but ML-100K,
// whose fixed list of 19 is there whether used or not), so each one is used by some item.
inline void check_log(const data::InteractionLog& log, size_t line_limit, bool categories_by_use = true) {
  require(!log.interactions.empty());
  require(log.interactions.size() <= line_limit);
  require(all_distinct_and_non_empty(log.user_ids));
  require(all_distinct_and_non_empty(log.item_ids));
  // Every text a run will write into its TSV and JSON files obeys the one text rule.
  require(all_printable_utf8(log.user_ids) && all_printable_utf8(log.item_ids));
  require(all_printable_utf8(log.category_names) && all_printable_utf8(log.item_titles));
  for (const std::vector<std::string>& values : log.profile_values) require(all_printable_utf8(values));
  // Ids are numbered in order of first appearance: a row either reuses an index already seen
  // or introduces exactly the next one.
  size_t users_seen = 0;
  size_t items_seen = 0;
  for (const data::Interaction& interaction : log.interactions) {
    require(interaction.user <= users_seen && interaction.item <= items_seen);
    if (interaction.user == users_seen) ++users_seen;
    if (interaction.item == items_seen) ++items_seen;
  }
  require(users_seen == log.user_ids.size());
  require(items_seen == log.item_ids.size());

  require(log.item_titles.empty() || log.item_titles.size() == log.item_ids.size());
  require(log.item_categories.empty() || log.item_categories.size() == log.item_ids.size());
  require(all_distinct_and_non_empty(log.category_names));
  for (const std::vector<uint32_t>& categories : log.item_categories) {
    std::vector<uint32_t> sorted = categories;
    std::sort(sorted.begin(), sorted.end());
    for (size_t i = 0; i < sorted.size(); ++i) {
      require(sorted[i] < log.category_names.size());
      require(i == 0 || sorted[i] != sorted[i - 1]);
    }
  }
  if (categories_by_use) {
    std::vector<bool> used(log.category_names.size(), false);
    for (const std::vector<uint32_t>& categories : log.item_categories)
      for (uint32_t category : categories) used[category] = true;
    for (bool category_used : used) require(category_used);
  }

  require(log.profile_values.size() == log.profile_field_names.size());
  require(all_distinct_and_non_empty(log.profile_field_names));
  require(log.user_profile.empty() || log.user_profile.size() == log.user_ids.size());
  require(log.user_profile.empty() == log.profile_field_names.empty());
  for (const std::vector<std::string>& values : log.profile_values) require(all_distinct_and_non_empty(values));
  for (const std::vector<uint32_t>& row : log.user_profile) {
    require(row.size() == log.profile_field_names.size());
    for (size_t field = 0; field < row.size(); ++field) require(row[field] < log.profile_values[field].size());
  }
}

}  // namespace mind::fuzz
