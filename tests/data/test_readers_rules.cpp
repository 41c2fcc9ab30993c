// The project's rules for text in input files, each a regression test for a defect a new user
// hit: surrounding spaces never count, ids are printable UTF-8 (no NUL, tab or line break can
// hide in one), CR-only line endings and a wrong delimiter get a message that says so, and exact
// duplicate rows are counted.
#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "data/load.h"
#include "data/readers.h"
#include "test_readers_files.h"

using mind::data::CsvLayout;
using mind::data::InteractionLog;
using mind::data::read_csv_log;
using mind::data::testing::contains;
using mind::data::testing::error_of;
using mind::data::testing::TempFolder;

TEST_CASE("readers: spaces around a field are not part of it, quoted or not") {
  TempFolder folder;
  const std::string path = folder.write("log.csv",
                                        "user , item,timestamp\n"
                                        "\"a \",1, 2\n"
                                        "a,1,3\n"
                                        " a ,\" 1\",4 \n");
  const InteractionLog log = read_csv_log(path, CsvLayout{});
  CHECK(log.user_ids == std::vector<std::string>{"a"});
  CHECK(log.item_ids == std::vector<std::string>{"1"});
  REQUIRE(log.interactions.size() == 3);
  CHECK(log.interactions[0].timestamp == 2);  // ' 2' was an error before
  CHECK(log.interactions[2].timestamp == 4);
}

TEST_CASE("readers: a control character inside an id is refused with the file and line") {
  TempFolder folder;
  const char with_nul[] = "user,item,timestamp\nu1,i1,1\nu\0x,i1,2\n";
  const std::string nul = folder.write("nul.csv", std::string(with_nul, sizeof(with_nul) - 1));
  const std::string error = error_of([&] { read_csv_log(nul, CsvLayout{}); });
  CHECK(contains(error, nul + ":3: user id 'u\\x00x' holds the control character 0x00 at byte 2"));

  const std::string tab = folder.write("tab.csv", "user,item,timestamp\nu1,\"i\t1\",1\n");
  CHECK(contains(error_of([&] { read_csv_log(tab, CsvLayout{}); }),
                 tab + ":2: item id 'i\\x091' holds the control character 0x09"));

  // A line break is legal inside a quoted CSV field, but not in an id: it would break items.tsv.
  const std::string newline = folder.write("newline.csv", "user,item,timestamp\n\"u\n1\",i1,1\n");
  CHECK(contains(error_of([&] { read_csv_log(newline, CsvLayout{}); }),
                 newline + ":2: user id 'u\\x0A1' holds the control character 0x0A"));

  const std::string escape = folder.write("escape.csv", "user,item,timestamp\nu\x1b[31m,i1,1\n");
  CHECK(contains(error_of([&] { read_csv_log(escape, CsvLayout{}); }), "control character 0x1B"));
}

TEST_CASE("readers: an id that is not valid UTF-8 is refused, naming the byte") {
  TempFolder folder;
  const std::string path = folder.write("latin1.csv", "user,item,timestamp\nu1,caf\xe9,1\n");
  CHECK(contains(error_of([&] { read_csv_log(path, CsvLayout{}); }),
                 path + ":2: item id 'caf\xe9' is not valid UTF-8 (byte 4 is 0xE9"));
  // Valid multi-byte UTF-8 is an ordinary id.
  const std::string good = folder.write("utf8.csv", "user,item,timestamp\nu1,caf\xc3\xa9,1\n");
  CHECK(read_csv_log(good, CsvLayout{}).item_ids == std::vector<std::string>{"caf\xc3\xa9"});
}

TEST_CASE("readers: the same text rule holds in the feature files") {
  TempFolder folder;
  const std::string log_path = folder.write("log.csv", "user,item,timestamp\nu1,i1,1\n");
  InteractionLog log = read_csv_log(log_path, CsvLayout{});
  const std::string items = folder.write("items.csv", "item,categories\ni1,Drama|Bad\x01Name\n");
  CHECK(contains(error_of([&] { mind::data::read_item_features(items, log); }),
                 items + ":2: category name 'Bad\\x01Name' holds the control character 0x01"));
  const std::string users = folder.write("users.csv", "user,city\nu1,\"Z\xfcrich\"\n");
  CHECK(contains(error_of([&] { mind::data::read_user_features(users, log); }),
                 users + ":2: value of 'city' 'Z\xfcrich' is not valid UTF-8"));
}

TEST_CASE("readers: CR-only line endings are named as the problem") {
  TempFolder folder;
  const std::string path = folder.write("mac.csv", "user,item,timestamp\ru1,i1,1\ru2,i1,2\r");
  CHECK(contains(error_of([&] { read_csv_log(path, CsvLayout{}); }),
                 path + ":1: the lines end in a carriage return alone"));
  // CRLF is fine.
  const std::string windows = folder.write("windows.csv", "user,item,timestamp\r\nu1,i1,1\r\n");
  CHECK(read_csv_log(windows, CsvLayout{}).interactions.size() == 1);
}

TEST_CASE("readers: a file separated by another character suggests --delimiter") {
  TempFolder folder;
  const std::string path = folder.write("semicolon.csv", "user;item;timestamp\nu1;i1;1\n");
  CHECK(contains(error_of([&] { read_csv_log(path, CsvLayout{}); }),
                 path + ":1: the header has a single column 'user;item;timestamp': is the file separated by "
                        "';'? Then say so with --delimiter ';'"));
}

TEST_CASE("readers: exact duplicate rows are kept and counted") {
  TempFolder folder;
  const std::string path = folder.write("log.csv",
                                        "user,item,timestamp\n"
                                        "u1,i1,1\nu2,i1,1\nu1,i1,1\nu1,i1,2\nu1,i1,1\nu2,i2,1\n");
  mind::data::DataOptions options;
  options.data = path;
  const InteractionLog log = mind::data::load_interactions(options);
  CHECK(log.interactions.size() == 6);  // protocol v1 keeps every row
  CHECK(log.duplicate_rows == 2);       // the 3rd and 5th rows repeat the 1st
  CHECK(mind::data::count_duplicate_rows(read_csv_log(path, CsvLayout{})) == 2);
}
