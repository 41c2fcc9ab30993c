// TextReader: block-wise reading, line splitting and the RFC 4180 record scanner.
// Records are located and split in one pass over the buffer; a record cut by the end of a
// block is parsed again once the next block has been appended (offsets, never pointers, are kept).
#include "data/text_reader.h"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <stdexcept>
#include <system_error>
#include <utility>

namespace mind::data {

namespace {

// Large enough that a block holds thousands of rows, small enough to stay in the L2/L3 cache.
constexpr size_t block_size = size_t{1} << 20;

// Index of the first '\n' in data[from, available), or `available` if there is none.
size_t find_newline(const char* data, size_t from, size_t available) {
  const void* hit = std::memchr(data + from, '\n', available - from);
  if (hit == nullptr) return available;
  return static_cast<size_t>(static_cast<const char*>(hit) - data);
}

}  // namespace

std::string_view trim_surrounding_spaces(std::string_view text) {
  size_t begin = 0;
  size_t end = text.size();
  while (begin < end && (text[begin] == ' ' || text[begin] == '\t')) ++begin;
  while (end > begin && (text[end - 1] == ' ' || text[end - 1] == '\t')) --end;
  return text.substr(begin, end - begin);
}

TextReader::TextReader(const std::string& path, ProgressReport progress)
    : path_(path), progress_(std::move(progress)) {
  std::error_code error;
  if (std::filesystem::is_directory(path, error)) {
    throw std::runtime_error("'" + path + "' is a folder, expected a file");
  }
  file_ = std::fopen(path.c_str(), "rb");
  if (file_ == nullptr) {
    throw std::runtime_error("cannot open '" + path + "': " + std::strerror(errno));
  }
  const std::uintmax_t size = std::filesystem::file_size(path, error);
  file_size_ = error ? 0 : static_cast<uint64_t>(size);
  // A file smaller than a block gets a buffer just large enough (a fresh 1 MiB per small file
  // was most of the time of reading one; the fuzzers read thousands a second). A file of
  // unknown size (a pipe) gets a whole block. The buffer still grows for a longer record.
  buffer_.resize(file_size_ > 0 ? static_cast<size_t>(std::min<uint64_t>(block_size, file_size_ + 1)) : block_size);
  refill();
  // A file whose lines end in a lone CR (classic Mac OS) reads as one long line, and the first
  // complaint would be about missing columns: say what is really wrong instead.
  const char* first_block = buffer_.data();
  const bool has_line_feed = std::memchr(first_block, '\n', end_) != nullptr;
  const void* carriage_return = std::memchr(first_block, '\r', end_);
  if (!has_line_feed && carriage_return != nullptr &&
      static_cast<const char*>(carriage_return) + 1 < first_block + end_) {
    throw std::runtime_error(path_ + ":1: the lines end in a carriage return alone (CR, as old Mac files do); "
                             "convert them to LF or CRLF first, e.g. tr '\\r' '\\n' < in > out");
  }
  // A UTF-8 byte order mark (spreadsheet programs write one) is not part of the first field.
  if (end_ >= 3 && std::memcmp(buffer_.data(), "\xEF\xBB\xBF", 3) == 0) position_ = 3;
}

TextReader::~TextReader() {
  if (file_ != nullptr) std::fclose(file_);
}

void TextReader::fail(const std::string& problem) const {
  throw std::runtime_error(path_ + ":" + std::to_string(line_number_) + ": " + problem);
}

bool TextReader::refill() {
  if (file_done_) return false;
  const size_t unread = end_ - position_;
  if (position_ > 0 && unread > 0) std::memmove(buffer_.data(), buffer_.data() + position_, unread);
  position_ = 0;
  end_ = unread;
  // One record longer than the whole buffer: make room instead of looping forever.
  if (end_ == buffer_.size()) buffer_.resize(buffer_.size() * 2);
  const size_t wanted = buffer_.size() - end_;
  const size_t got = std::fread(buffer_.data() + end_, 1, wanted, file_);
  if (got == 0) {
    if (std::ferror(file_)) {
      throw std::runtime_error("error reading '" + path_ + "': " + std::strerror(errno));
    }
    file_done_ = true;
    return false;
  }
  end_ += got;
  bytes_read_ += got;
  if (progress_) progress_(bytes_read_, file_size_);
  return true;
}

bool TextReader::next_line(std::string_view& line) {
  for (;;) {
    const char* data = buffer_.data() + position_;
    const size_t available = end_ - position_;
    size_t length = find_newline(data, 0, available);
    const bool complete = length < available;
    if (complete || (file_done_ && available > 0)) {
      position_ += complete ? length + 1 : length;
      if (length > 0 && data[length - 1] == '\r') --length;  // CRLF line end
      line = std::string_view(data, length);
      line_number_ = ++lines_consumed_;
      return true;
    }
    if (file_done_) return false;
    refill();
  }
}

std::string_view TextReader::peek_line() const {
  const char* data = buffer_.data() + position_;
  const size_t available = end_ - position_;
  return std::string_view(data, find_newline(data, 0, available));
}

bool TextReader::next_record(char delimiter, std::vector<std::string_view>& fields) {
  for (;;) {
    if (position_ == end_) {
      if (file_done_) return false;
      refill();
      continue;
    }
    if (parse_record(delimiter, fields)) return true;
    refill();
  }
}

bool TextReader::parse_record(char delimiter, std::vector<std::string_view>& fields) {
  const char* data = buffer_.data() + position_;
  const size_t available = end_ - position_;
  spans_.clear();
  size_t cursor = 0;       // start of the field being parsed
  size_t record_end = 0;   // one past the record's line end, once found
  size_t line_end = find_newline(data, 0, available);  // first '\n' at or after cursor
  bool any_quoted = false;

  for (;;) {
    if (cursor < available && data[cursor] == '"') {
      // Quoted field: runs to a '"' that is not followed by another '"'.
      any_quoted = true;
      const size_t content_begin = cursor + 1;
      size_t scan = content_begin;
      bool has_doubled_quotes = false;
      for (;;) {
        const void* hit = std::memchr(data + scan, '"', available - scan);
        if (hit == nullptr) {
          if (!file_done_) return false;
          line_number_ = lines_consumed_ + 1 +
                         static_cast<uint64_t>(std::count(data, data + cursor, '\n'));
          fail("unterminated quoted field: the '\"' opened on this line is never closed");
        }
        const size_t quote = static_cast<size_t>(static_cast<const char*>(hit) - data);
        if (quote + 1 == available && !file_done_) return false;  // "" or " ? need one more byte
        if (quote + 1 < available && data[quote + 1] == '"') {
          has_doubled_quotes = true;
          scan = quote + 2;
          continue;
        }
        spans_.push_back({content_begin, quote, has_doubled_quotes});
        cursor = quote + 1;
        break;
      }
      if (line_end < cursor) line_end = find_newline(data, cursor, available);
      // After the closing quote only a delimiter or the end of the record may follow.
      if (cursor == available) {
        record_end = available;
        break;
      }
      if (data[cursor] == delimiter) {
        ++cursor;
        continue;
      }
      if (data[cursor] == '\n') {
        record_end = cursor + 1;
        break;
      }
      if (data[cursor] == '\r') {
        if (cursor + 1 == available && !file_done_) return false;
        if (cursor + 1 == available || data[cursor + 1] == '\n') {
          record_end = std::min(cursor + 2, available);
          break;
        }
      }
      line_number_ = lines_consumed_ + 1;
      fail("unexpected character '" + std::string(1, data[cursor]) + "' after the closing quote of field " +
           std::to_string(spans_.size()) + " (a quoted field must end at a delimiter or the line end)");
    }

    // Unquoted field: runs to the next delimiter or the line end.
    const void* hit = std::memchr(data + cursor, delimiter, line_end - cursor);
    if (hit != nullptr) {
      const size_t stop = static_cast<size_t>(static_cast<const char*>(hit) - data);
      spans_.push_back({cursor, stop, false});
      cursor = stop + 1;
      continue;
    }
    if (line_end == available && !file_done_) return false;  // the line goes on in the next block
    size_t field_end = line_end;
    if (field_end > cursor && data[field_end - 1] == '\r') --field_end;  // CRLF line end
    spans_.push_back({cursor, field_end, false});
    record_end = std::min(line_end + 1, available);
    break;
  }

  // Line breaks inside quoted fields belong to this record: count them for later line numbers.
  uint64_t lines_in_record = 1;
  if (any_quoted) {
    for (const FieldSpan& span : spans_) {
      lines_in_record += static_cast<uint64_t>(std::count(data + span.begin, data + span.end, '\n'));
    }
  }
  line_number_ = lines_consumed_ + 1;
  lines_consumed_ += lines_in_record;

  fields.clear();
  char* writable = buffer_.data() + position_;
  for (const FieldSpan& span : spans_) {
    size_t length = span.end - span.begin;
    if (span.has_doubled_quotes) {
      // Collapse each "" to " in place; the record is consumed, so its bytes are ours to edit.
      char* text = writable + span.begin;
      size_t write = 0;
      for (size_t read = 0; read < length; ++read) {
        text[write++] = text[read];
        if (text[read] == '"') ++read;
      }
      length = write;
    }
    fields.push_back(trim_surrounding_spaces(std::string_view(data + span.begin, length)));
  }
  position_ += record_end;
  return true;
}

}  // namespace mind::data
