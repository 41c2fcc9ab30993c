// TextReader: streams a text file in large blocks and hands out one line, or one CSV record,
// at a time as views into its buffer, counting line numbers for error messages.
// It knows nothing about what the fields mean; the readers in data/read_*.cpp do.
#pragma once
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <string>
#include <string_view>
#include <vector>

#include "data/progress_report.h"

namespace mind::data {

// `text` without the spaces and tabs at its start and end. Every reader applies it to every
// field, so an id, a timestamp or a category reads the same however the file was padded.
std::string_view trim_surrounding_spaces(std::string_view text);

class TextReader {
 public:
  // Opens `path`; throws std::runtime_error naming the path when it cannot. `progress`, if
  // given, is told the bytes read so far of the file's size after every block (about 1 MiB; the
  // first one already here).
  explicit TextReader(const std::string& path, ProgressReport progress = {});
  ~TextReader();
  TextReader(const TextReader&) = delete;
  TextReader& operator=(const TextReader&) = delete;

  // The next line without its line end ("\n" or "\r\n"). No quoting: for the '::', '|' and
  // tab formats of MovieLens. Returns false at the end of the file. The view stays valid until
  // the next call.
  bool next_line(std::string_view& line);

  // The next RFC 4180 record split at `delimiter` into `fields` (views valid until the next
  // call). A field that starts with '"' is quoted: it runs to the closing quote, may hold the
  // delimiter and line breaks, and "" inside it stands for one '"'. A '"' inside an unquoted
  // field is an ordinary character (as most CSV writers and readers treat it).
  // Spaces and tabs around a field are not part of it, quoted or not (the project's one rule,
  // see trim_surrounding_spaces), so "a ", " a" and "a" are the same id.
  // Returns false at the end of the file; throws on an unterminated quote.
  bool next_record(char delimiter, std::vector<std::string_view>& fields);

  // The unread text up to the next line end, without consuming it (what is in the buffer: the
  // whole line unless it is longer than a block). Used to detect a header's delimiter.
  std::string_view peek_line() const;

  // 1-based line on which the last line or record started (0 before the first).
  uint64_t line_number() const { return line_number_; }
  const std::string& path() const { return path_; }
  uint64_t file_size() const { return file_size_; }

  // Throws std::runtime_error "path:line: problem" for the last line or record.
  [[noreturn]] void fail(const std::string& problem) const;

 private:
  // Moves the unread bytes to the front of the buffer and appends more from the file,
  // doubling the buffer when one record fills it. Returns false if the file had no more bytes.
  bool refill();
  // Parses the record at position_ into field spans; false if it needs more bytes first.
  bool parse_record(char delimiter, std::vector<std::string_view>& fields);

  std::string path_;
  std::FILE* file_ = nullptr;
  uint64_t file_size_ = 0;
  uint64_t bytes_read_ = 0;  // from the file so far, for progress_
  ProgressReport progress_;
  std::vector<char> buffer_;
  size_t position_ = 0;  // first unread byte in buffer_
  size_t end_ = 0;       // one past the last byte read into buffer_
  bool file_done_ = false;
  uint64_t line_number_ = 0;       // line on which the current line or record starts
  uint64_t lines_consumed_ = 0;    // complete lines handed out so far
  // Start and end offsets (relative to position_) of each field of the record being parsed,
  // and whether it holds doubled quotes to collapse.
  struct FieldSpan {
    size_t begin;
    size_t end;
    bool has_doubled_quotes;
  };
  std::vector<FieldSpan> spans_;
};

}  // namespace mind::data
