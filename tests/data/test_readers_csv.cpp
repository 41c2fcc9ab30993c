// Tests of the generic CSV/TSV log reader: values read from hand-written files, delimiter
// detection, column remapping, and every error it reports (file, line and problem).
#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "data/readers.h"
#include "test_readers_files.h"

using mind::data::CsvLayout;
using mind::data::InteractionLog;
using mind::data::parse_csv_layout;
using mind::data::read_csv_log;
using mind::data::testing::contains;
using mind::data::testing::error_of;
using mind::data::testing::TempFolder;

TEST_CASE("readers: csv log keeps ids as text in order of first appearance and rows in file order") {
  TempFolder folder;
  const std::string path = folder.write("log.csv",
                                        "user,item,rating,timestamp\r\n"
                                        "alice,\"Cry, the Beloved Country\",5,100\r\n"
                                        "bob,42,3,-7\r\n"
                                        "alice,42,1,100\r\n"
                                        "007,\"say \"\"hi\"\"\",2,9223372036854775807\r\n");
  const InteractionLog log = read_csv_log(path, CsvLayout{});
  CHECK(log.source == path);
  CHECK(log.user_ids == std::vector<std::string>{"alice", "bob", "007"});
  CHECK(log.item_ids == std::vector<std::string>{"Cry, the Beloved Country", "42", "say \"hi\""});
  REQUIRE(log.interactions.size() == 4);
  CHECK(log.interactions[0].user == 0);
  CHECK(log.interactions[0].item == 0);
  CHECK(log.interactions[0].timestamp == 100);
  CHECK(log.interactions[1].user == 1);
  CHECK(log.interactions[1].item == 1);
  CHECK(log.interactions[1].timestamp == -7);  // negative timestamps (before 1970) are allowed
  CHECK(log.interactions[2].user == 0);
  CHECK(log.interactions[2].item == 1);
  CHECK(log.interactions[3].user == 2);
  CHECK(log.interactions[3].item == 2);
  CHECK(log.interactions[3].timestamp == INT64_MAX);
  CHECK(log.item_categories.empty());
  CHECK(log.user_profile.empty());
}

TEST_CASE("readers: tsv delimiter is detected from the header and columns are remapped") {
  TempFolder folder;
  const std::string path = folder.write("log.tsv",
                                        "when\tvisitor\tpage, with comma\n"
                                        "10\tv1\tp1\n"
                                        "20\tv2\tp1\n");
  const CsvLayout remapped = parse_csv_layout("time=when,user=visitor,item=page", "");
  CHECK(remapped.user_column == "visitor");
  CHECK(remapped.item_column == "page");
  CHECK(remapped.time_column == "when");
  CHECK(remapped.delimiter == 0);

  const std::string good = folder.write("good.tsv", "when\tvisitor\tpage\n10\tv1\tp1\n20\tv2\tp1\n30\tv1\tp2\n");
  const InteractionLog log = read_csv_log(good, remapped);
  CHECK(log.user_ids == std::vector<std::string>{"v1", "v2"});
  CHECK(log.item_ids == std::vector<std::string>{"p1", "p2"});
  REQUIRE(log.interactions.size() == 3);
  CHECK(log.interactions[2].user == 0);
  CHECK(log.interactions[2].item == 1);
  CHECK(log.interactions[2].timestamp == 30);
  // The tab-separated header of `path` is split at tabs, so its third column keeps its comma.
  const std::string message = error_of([&] { read_csv_log(path, CsvLayout{}); });
  INFO(message);
  CHECK(contains(message, "no column 'user' (the user column) in the header; its columns are 'when', "
                          "'visitor', 'page, with comma'"));
}

TEST_CASE("readers: an explicit delimiter overrides detection") {
  TempFolder folder;
  const std::string path = folder.write("log.txt", "user;item;timestamp\nu1;i1;5\n");
  const InteractionLog log = read_csv_log(path, parse_csv_layout("", ";"));
  CHECK(log.user_ids == std::vector<std::string>{"u1"});
  CHECK(log.interactions[0].timestamp == 5);
  CHECK(parse_csv_layout("", "tab").delimiter == '\t');
  CHECK(parse_csv_layout("", "\\t").delimiter == '\t');
  CHECK(parse_csv_layout("", "comma").delimiter == ',');
}

TEST_CASE("readers: malformed --columns and --delimiter are errors naming the option") {
  CHECK(contains(error_of([] { parse_csv_layout("user", ""); }), "--columns 'user': each part must be KEY=COLUMN"));
  CHECK(contains(error_of([] { parse_csv_layout("person=a", ""); }), "unknown key 'person'"));
  CHECK(contains(error_of([] { parse_csv_layout("user=a,user=b", ""); }), "key 'user' given twice"));
  CHECK(contains(error_of([] { parse_csv_layout("user=", ""); }), "each part must be KEY=COLUMN"));
  CHECK(contains(error_of([] { parse_csv_layout("", "::"); }), "--delimiter '::': expected one character"));
  CHECK(contains(error_of([] { parse_csv_layout("", "\""); }), "--delimiter"));
}

TEST_CASE("readers: csv errors name the file, the line and the problem") {
  TempFolder folder;
  struct Case {
    const char* name;
    const char* content;
    const char* where;
    const char* problem;
  };
  const std::vector<Case> cases = {
      {"empty.csv", "", "empty.csv:1:", "the file is empty"},
      {"header_only.csv", "user,item,timestamp\n", "header_only.csv:1:", "no interactions"},
      {"no_time.csv", "user,item,time\nu,i,1\n", "no_time.csv:1:", "no column 'timestamp' (the time column)"},
      {"twice.csv", "user,item,user,timestamp\nu,i,u,1\n", "twice.csv:1:", "column 'user' appears twice"},
      {"text_time.csv", "user,item,timestamp\nu,i,1\nu,i,yesterday\n", "text_time.csv:3:",
       "timestamp 'yesterday' is not an integer"},
      {"float_time.csv", "user,item,timestamp\nu,i,1.5\n", "float_time.csv:2:", "timestamp '1.5' is not an integer"},
      {"short_row.csv", "user,item,timestamp\nu,i,1\nu,i\n", "short_row.csv:3:",
       "expected 3 fields separated by ',' (as in the header), got 2"},
      {"blank.csv", "user,item,timestamp\nu,i,1\n\nu,i,2\n", "blank.csv:3:", "empty line"},
      {"quote.csv", "user,item,timestamp\nu,\"i,1\nu,i,2\n", "quote.csv:2:", "unterminated quoted field"},
      {"again.csv", "user,item,timestamp\nu,i,1\nuser,item,timestamp\n", "again.csv:3:",
       "the header row appears again"},
      {"empty_user.csv", "user,item,timestamp\n,i,1\n", "empty_user.csv:2:", "empty user id"},
      {"big_time.csv", "user,item,timestamp\nu,i,99999999999999999999\n", "big_time.csv:2:",
       "does not fit in 64 bits"},
  };
  for (const Case& test : cases) {
    const std::string path = folder.write(test.name, test.content);
    const std::string message = error_of([&] { read_csv_log(path, CsvLayout{}); });
    INFO(test.name << ": " << message);
    CHECK(contains(message, test.where));
    CHECK(contains(message, test.problem));
  }
}

TEST_CASE("readers: a missing column named in --columns lists the header's columns") {
  TempFolder folder;
  const std::string path = folder.write("log.csv", "userId,movieId,timestamp\n1,2,3\n");
  const std::string message = error_of([&] { read_csv_log(path, parse_csv_layout("user=userId,item=film", "")); });
  INFO(message);
  CHECK(contains(message, "log.csv:1: no column 'film' (the item column)"));
  CHECK(contains(message, "'userId', 'movieId', 'timestamp'"));
}

TEST_CASE("readers: integer ids are enforced when the layout asks for them") {
  TempFolder folder;
  CsvLayout layout;
  layout.integer_ids = true;
  const std::string good = folder.write("good.csv", "user,item,timestamp\n18446744073709551615,2,3\n");
  CHECK(read_csv_log(good, layout).user_ids == std::vector<std::string>{"18446744073709551615"});
  const std::string big = folder.write("big.csv", "user,item,timestamp\n1,2,3\n1,18446744073709551616,4\n");
  const std::string message = error_of([&] { read_csv_log(big, layout); });
  INFO(message);
  CHECK(contains(message, "big.csv:3: item id '18446744073709551616' does not fit in 64 bits"));
  const std::string text = folder.write("text.csv", "user,item,timestamp\nu1,2,3\n");
  CHECK(contains(error_of([&] { read_csv_log(text, layout); }), "text.csv:2: user id 'u1' is not a non-negative integer"));
}
