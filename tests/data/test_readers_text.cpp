// Tests of the text layer under the readers: TextReader (lines, RFC 4180 records, block
// boundaries, line numbers), the field helpers and IdIndex.
#include <doctest/doctest.h>

#include <string>
#include <string_view>
#include <vector>

#include "data/text_fields.h"
#include "data/text_ids.h"
#include "data/text_reader.h"
#include "test_readers_files.h"

using mind::data::IdIndex;
using mind::data::TextReader;
using mind::data::testing::contains;
using mind::data::testing::error_of;
using mind::data::testing::TempFolder;

namespace {

// Every record of `path` parsed with `delimiter`, each as owned strings.
std::vector<std::vector<std::string>> all_records(const std::string& path, char delimiter) {
  TextReader reader(path);
  std::vector<std::vector<std::string>> records;
  std::vector<std::string_view> fields;
  while (reader.next_record(delimiter, fields)) records.emplace_back(fields.begin(), fields.end());
  return records;
}

}  // namespace

TEST_CASE("readers: next_line strips LF and CRLF and counts lines") {
  TempFolder folder;
  const std::string path = folder.write("lines.txt", "a::b\r\n\r\nlast");
  TextReader reader(path);
  std::string_view line;
  REQUIRE(reader.next_line(line));
  CHECK(line == "a::b");
  CHECK(reader.line_number() == 1);
  REQUIRE(reader.next_line(line));
  CHECK(line == "");
  CHECK(reader.line_number() == 2);
  REQUIRE(reader.next_line(line));
  CHECK(line == "last");  // no line end at the end of the file
  CHECK(reader.line_number() == 3);
  CHECK_FALSE(reader.next_line(line));
}

TEST_CASE("readers: next_record handles quotes, doubled quotes, line breaks in quotes and CRLF") {
  TempFolder folder;
  const std::string path = folder.write(
      "quoted.csv",
      "id,title\r\n"
      "1,\"Cry, the Beloved Country\"\r\n"
      "2,\"He said \"\"hi\"\"\"\r\n"
      "3,\"two\nlines\"\n"
      "4,plain \"quote\" inside\n"
      "5,\"\"\n"
      "6,");
  TextReader reader(path);
  std::vector<std::string_view> fields;
  REQUIRE(reader.next_record(',', fields));
  CHECK(fields == std::vector<std::string_view>{"id", "title"});
  REQUIRE(reader.next_record(',', fields));
  CHECK(fields == std::vector<std::string_view>{"1", "Cry, the Beloved Country"});
  CHECK(reader.line_number() == 2);
  REQUIRE(reader.next_record(',', fields));
  CHECK(fields == std::vector<std::string_view>{"2", "He said \"hi\""});
  REQUIRE(reader.next_record(',', fields));
  CHECK(fields == std::vector<std::string_view>{"3", "two\nlines"});
  CHECK(reader.line_number() == 4);
  REQUIRE(reader.next_record(',', fields));
  CHECK(fields == std::vector<std::string_view>{"4", "plain \"quote\" inside"});
  CHECK(reader.line_number() == 6);  // the record before spanned lines 4 and 5
  REQUIRE(reader.next_record(',', fields));
  CHECK(fields == std::vector<std::string_view>{"5", ""});
  REQUIRE(reader.next_record(',', fields));
  CHECK(fields == std::vector<std::string_view>{"6", ""});
  CHECK(reader.line_number() == 8);
  CHECK_FALSE(reader.next_record(',', fields));
}

TEST_CASE("readers: a UTF-8 byte order mark is not part of the first field") {
  TempFolder folder;
  const std::string path = folder.write("bom.csv", "\xEF\xBB\xBFuser,item\nu,i\n");
  const std::vector<std::vector<std::string>> records = all_records(path, ',');
  REQUIRE(records.size() == 2);
  CHECK(records[0][0] == "user");
}

TEST_CASE("readers: records cut by the block boundary and records longer than a block") {
  TempFolder folder;
  // Rows of different widths so that many of them straddle the 1 MiB block boundaries, with
  // quoted fields holding commas, doubled quotes and line breaks; then one 3 MiB quoted field.
  std::string content;
  const int row_count = 60000;
  for (int row = 0; row < row_count; ++row) {
    content += std::to_string(row) + ",\"t, \"\"" + std::to_string(row * 7) + "\"\"\nx\"," +
               std::string(static_cast<size_t>(row % 13), 'z') + "\n";
  }
  const std::string long_field(3u << 20, 'L');
  content += "last,\"" + long_field + "\",end\n";
  const std::string path = folder.write("big.csv", content);
  TextReader reader(path);
  std::vector<std::string_view> fields;
  for (int row = 0; row < row_count; ++row) {
    REQUIRE(reader.next_record(',', fields));
    REQUIRE(fields.size() == 3);
    REQUIRE(fields[0] == std::to_string(row));
    REQUIRE(fields[1] == "t, \"" + std::to_string(row * 7) + "\"\nx");
    REQUIRE(fields[2] == std::string(static_cast<size_t>(row % 13), 'z'));
    REQUIRE(reader.line_number() == static_cast<uint64_t>(2 * row + 1));
  }
  REQUIRE(reader.next_record(',', fields));
  REQUIRE(fields.size() == 3);
  CHECK(fields[1].size() == long_field.size());
  CHECK(fields[2] == "end");
  CHECK(reader.line_number() == 2 * row_count + 1);
  CHECK_FALSE(reader.next_record(',', fields));
}

TEST_CASE("readers: an unterminated quote names the file and the line where it opened") {
  TempFolder folder;
  const std::string path = folder.write("open.csv", "a,b\n1,2\n3,\"never closed\n4,5\n");
  const std::string message = error_of([&] { all_records(path, ','); });
  INFO(message);
  CHECK(contains(message, "open.csv:3:"));
  CHECK(contains(message, "unterminated quoted field"));
}

TEST_CASE("readers: text after a closing quote is an error") {
  TempFolder folder;
  const std::string path = folder.write("after.csv", "a,b\n\"x\"y,2\n");
  const std::string message = error_of([&] { all_records(path, ','); });
  INFO(message);
  CHECK(contains(message, "after.csv:2:"));
  CHECK(contains(message, "unexpected character 'y' after the closing quote of field 1"));
}

TEST_CASE("readers: a missing file and a folder are errors naming the path") {
  TempFolder folder;
  const std::string missing = folder.path() + "/nothing.csv";
  const std::string message = error_of([&] { TextReader reader(missing); });
  INFO(message);
  CHECK(contains(message, missing));
  CHECK(contains(message, "No such file"));
  CHECK(contains(error_of([&] { TextReader reader(folder.path()); }), "is a folder"));
}

TEST_CASE("readers: split_fields and expect_field_count") {
  std::vector<std::string_view> fields;
  mind::data::split_fields("1::Toy Story::Animation", "::", fields);
  CHECK(fields == std::vector<std::string_view>{"1", "Toy Story", "Animation"});
  mind::data::split_fields("a::", "::", fields);
  CHECK(fields == std::vector<std::string_view>{"a", ""});

  TempFolder folder;
  const std::string path = folder.write("ratings.dat", "1::2::3\n");
  TextReader reader(path);
  std::string_view line;
  REQUIRE(reader.next_line(line));
  mind::data::split_fields(line, "::", fields);
  CHECK(error_of([&] { mind::data::expect_field_count(reader, fields, 4, "'::'"); }) ==
        path + ":1: expected 4 fields separated by '::', got 3");
}

TEST_CASE("readers: integers parse whole fields, with errors for text and overflow") {
  TempFolder folder;
  TextReader reader(folder.write("n.txt", "x\n"));
  CHECK(mind::data::parse_int64(reader, "-42", "timestamp") == -42);
  CHECK(mind::data::parse_int64(reader, "9223372036854775807", "timestamp") == INT64_MAX);
  CHECK(mind::data::parse_uint64(reader, "18446744073709551615", "user id") == UINT64_MAX);
  CHECK(contains(error_of([&] { mind::data::parse_int64(reader, "12a", "timestamp"); }),
                 "timestamp '12a' is not an integer"));
  CHECK(contains(error_of([&] { mind::data::parse_int64(reader, "1.5", "timestamp"); }), "is not an integer"));
  CHECK(contains(error_of([&] { mind::data::parse_int64(reader, "", "timestamp"); }), "is not an integer"));
  CHECK(contains(error_of([&] { mind::data::parse_int64(reader, "+5", "timestamp"); }), "is not an integer"));
  CHECK(contains(error_of([&] { mind::data::parse_uint64(reader, "18446744073709551616", "user id"); }),
                 "user id '18446744073709551616' does not fit in 64 bits"));
  CHECK(contains(error_of([&] { mind::data::parse_uint64(reader, "-1", "user id"); }),
                 "is not a non-negative integer"));
}

TEST_CASE("readers: latin1_to_utf8 converts bytes 0x80-0xFF and leaves UTF-8 alone") {
  CHECK(mind::data::latin1_to_utf8("Mis\xE9rables") == "Mis\xC3\xA9rables");  // é
  CHECK(mind::data::latin1_to_utf8("\xFF") == "\xC3\xBF");                      // ÿ
  CHECK(mind::data::latin1_to_utf8("plain") == "plain");
  CHECK(mind::data::latin1_to_utf8("Mis\xC3\xA9rables") == "Mis\xC3\xA9rables");  // already UTF-8
}

TEST_CASE("readers: IdIndex numbers ids in order of first appearance") {
  IdIndex index;
  CHECK(index.add("42") == 0);
  CHECK(index.add("7") == 1);
  CHECK(index.add("42") == 0);
  CHECK(index.add("") == 2);
  CHECK(index.find("7") == 1);
  CHECK(index.find("8") == IdIndex::not_found);
  CHECK(index.size() == 3);
  CHECK(index.take_ids() == std::vector<std::string>{"42", "7", ""});
  CHECK(index.size() == 0);
  CHECK(index.find("42") == IdIndex::not_found);
}

TEST_CASE("readers: IdIndex stays correct while its table grows") {
  IdIndex index;
  for (int id = 0; id < 5000; ++id) REQUIRE(index.add("id" + std::to_string(id * 3)) == static_cast<uint32_t>(id));
  for (int id = 0; id < 5000; ++id) REQUIRE(index.find("id" + std::to_string(id * 3)) == static_cast<uint32_t>(id));
  CHECK(index.find("id1") == IdIndex::not_found);
  CHECK(index.id(4999) == "id14997");
  // Ids of 8 bytes or fewer live in the table's slots, longer ones in its text buffer.
  IdIndex lengths;
  const std::vector<std::string> ids = {"1234567", "12345678", "123456789", "12345679", std::string("a\0", 2), "a",
                                        "a much longer identifier"};
  for (size_t position = 0; position < ids.size(); ++position) {
    CHECK(lengths.add(ids[position]) == position);
  }
  for (size_t position = 0; position < ids.size(); ++position) CHECK(lengths.find(ids[position]) == position);
  CHECK(lengths.find("123456780") == IdIndex::not_found);
  CHECK(lengths.find("a much longer identifieR") == IdIndex::not_found);
  CHECK(lengths.id(2) == "123456789");
  const IdIndex copy(std::vector<std::string>{"b", "a"});
  CHECK(copy.find("a") == 1);
}
