// Fuzzes the generic CSV/TSV log reader (read_csv_log) and the --columns/--delimiter parser.
// Input: one layout byte, then the file. '0' detects the delimiter with the default columns;
// '1' user=u,item=i,time=t with ','; '2' ';' with time=ts; '3' tab with integer ids; '4' takes
// the --columns and --delimiter texts from the file's first line ("COLUMNS<tab>DELIMITER\n").
// A successful read must match what a plain split of the file gives when nothing is quoted.
#include <charconv>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <string>
#include <string_view>
#include <vector>

#include "data/readers.h"
#include "fuzz/fuzz_support.h"

namespace {

using mind::fuzz::require;

std::vector<std::string_view> split(std::string_view text, char separator) {
  std::vector<std::string_view> parts;
  size_t start = 0;
  while (true) {
    const size_t at = text.find(separator, start);
    if (at == std::string_view::npos) break;
    parts.push_back(text.substr(start, at - start));
    start = at + 1;
  }
  parts.push_back(text.substr(start));
  return parts;
}

// The oracle: for a file with no quotes, no CR and no byte order mark, the rows are the lines
// split at the delimiter, and a successful read must return exactly these users, items and
// timestamps in file order.
void check_against_plain_split(const mind::data::InteractionLog& log, std::string_view file,
                               const mind::data::CsvLayout& layout) {
  if (file.find('"') != std::string_view::npos || file.find('\r') != std::string_view::npos) return;
  if (file.substr(0, 3) == "\xEF\xBB\xBF") return;
  std::vector<std::string_view> lines = split(file, '\n');
  if (!lines.empty() && lines.back().empty()) lines.pop_back();  // the last line's end
  require(!lines.empty());
  const char delimiter = layout.delimiter != 0 ? layout.delimiter
                         : lines[0].find('\t') != std::string_view::npos ? '\t'
                                                                         : ',';
  std::vector<std::string_view> header = split(lines[0], delimiter);
  for (std::string_view& name : header) name = mind::fuzz::trimmed(name);  // readers trim every field
  size_t user_column = header.size();
  size_t item_column = header.size();
  size_t time_column = header.size();
  for (size_t column = 0; column < header.size(); ++column) {
    if (header[column] == layout.user_column) user_column = column;
    if (header[column] == layout.item_column) item_column = column;
    if (header[column] == layout.time_column) time_column = column;
  }
  require(user_column < header.size() && item_column < header.size() && time_column < header.size());
  require(log.interactions.size() == lines.size() - 1);
  for (size_t row = 1; row < lines.size(); ++row) {
    std::vector<std::string_view> fields = split(lines[row], delimiter);
    for (std::string_view& field : fields) field = mind::fuzz::trimmed(field);
    require(fields.size() == header.size());
    const mind::data::Interaction& interaction = log.interactions[row - 1];
    require(log.user_ids[interaction.user] == fields[user_column]);
    require(log.item_ids[interaction.item] == fields[item_column]);
    int64_t timestamp = 0;
    const std::string_view time_text = fields[time_column];
    const auto [end, error] = std::from_chars(time_text.data(), time_text.data() + time_text.size(), timestamp);
    require(error == std::errc() && end == time_text.data() + time_text.size());
    require(timestamp == interaction.timestamp);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const uint8_t mode = static_cast<uint8_t>(data[0] - '0') % 5;
  std::string_view file(reinterpret_cast<const char*>(data) + 1, size - 1);
  mind::data::CsvLayout layout;
  try {
    if (mode == 1) layout = mind::data::parse_csv_layout("user=u,item=i,time=t", ",");
    if (mode == 2) layout = mind::data::parse_csv_layout("time=ts", ";");
    if (mode == 3) {
      layout = mind::data::parse_csv_layout("", "tab");
      layout.integer_ids = true;
    }
    if (mode == 4) {
      const size_t line_end = file.find('\n');
      const std::string_view options = file.substr(0, line_end);
      const size_t tab = options.find('\t');
      layout = mind::data::parse_csv_layout(std::string(options.substr(0, tab)),
                                            tab == std::string_view::npos ? "" : std::string(options.substr(tab + 1)));
      file = line_end == std::string_view::npos ? std::string_view() : file.substr(line_end + 1);
    }
  } catch (const std::exception&) {
    return 0;  // a malformed option text is refused with a message: correct
  }
  // Options that parse must be usable: non-empty column names, a delimiter that is not a quote.
  require(!layout.user_column.empty() && !layout.item_column.empty() && !layout.time_column.empty());
  require(layout.delimiter != '"' && layout.delimiter != '\n' && layout.delimiter != '\r');

  const std::string path = mind::fuzz::write_file(mind::fuzz::scratch_folder("csv"), "log.csv", file);
  mind::data::InteractionLog log;
  try {
    log = mind::data::read_csv_log(path, layout);
  } catch (const std::exception&) {
    return 0;  // a clear error is a correct outcome
  }
  mind::fuzz::check_log(log, mind::fuzz::count_lines(file));
  require(log.source == path);
  if (layout.integer_ids) {
    for (const std::string& id : log.user_ids) require(id.find_first_not_of("0123456789") == std::string::npos);
    for (const std::string& id : log.item_ids) require(id.find_first_not_of("0123456789") == std::string::npos);
  }
  check_against_plain_split(log, file, layout);
  return 0;
}
