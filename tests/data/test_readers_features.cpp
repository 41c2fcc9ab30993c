// Tests of the item and user feature files added to a generic log: categories, titles and
// profile values read back, the "(missing)" rule for users without a row, and the errors.
#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "data/readers.h"
#include "test_readers_files.h"

using mind::data::CsvLayout;
using mind::data::InteractionLog;
using mind::data::read_csv_log;
using mind::data::read_item_features;
using mind::data::read_user_features;
using mind::data::testing::contains;
using mind::data::testing::error_of;
using mind::data::testing::TempFolder;

namespace {

// Users u1, u2, u3 and items a, b, c (in that order of first appearance).
InteractionLog small_log(const TempFolder& folder) {
  const std::string path = folder.write("log.csv",
                                        "user,item,timestamp\n"
                                        "u1,a,1\n"
                                        "u2,b,2\n"
                                        "u3,c,3\n"
                                        "u1,b,4\n");
  return read_csv_log(path, CsvLayout{});
}

}  // namespace

TEST_CASE("readers: item features give categories in order of first appearance, and titles") {
  TempFolder folder;
  InteractionLog log = small_log(folder);
  const std::string path = folder.write("items.csv",
                                        "item,title,categories\n"
                                        "c,\"Crime, Inc.\",Crime|Drama\n"
                                        "a,Alpha,Drama\n");
  read_item_features(path, log);
  CHECK(log.category_names == std::vector<std::string>{"Crime", "Drama"});
  REQUIRE(log.item_categories.size() == 3);
  CHECK(log.item_categories[0] == std::vector<uint32_t>{1});     // a: Drama
  CHECK(log.item_categories[1].empty());                          // b: not listed
  CHECK(log.item_categories[2] == std::vector<uint32_t>{0, 1});  // c: Crime, Drama
  CHECK(log.item_titles == std::vector<std::string>{"Alpha", "", "Crime, Inc."});
}

TEST_CASE("readers: item features without a title column leave titles empty, and tabs are detected") {
  TempFolder folder;
  InteractionLog log = small_log(folder);
  const std::string path = folder.write("items.tsv", "item\tcategories\nb\tX\nc\t\n");
  read_item_features(path, log);
  CHECK(log.item_titles.empty());
  CHECK(log.category_names == std::vector<std::string>{"X"});
  CHECK(log.item_categories[1] == std::vector<uint32_t>{0});
  CHECK(log.item_categories[2].empty());  // "" means no categories
}

TEST_CASE("readers: item feature errors name the file, the line and the item") {
  TempFolder folder;
  struct Case {
    const char* name;
    const char* content;
    const char* where;
    const char* problem;
  };
  const std::vector<Case> cases = {
      {"unknown.csv", "item,categories\na,X\nzz,Y\n", "unknown.csv:3:", "item 'zz' is not in the interaction log"},
      {"twice.csv", "item,categories\na,X\na,Y\n", "twice.csv:3:", "item 'a' is listed twice"},
      {"empty_name.csv", "item,categories\na,X||Y\n", "empty_name.csv:2:", "empty category name in 'X||Y'"},
      {"repeat.csv", "item,categories\na,X|X\n", "repeat.csv:2:", "category 'X' is listed twice"},
      {"no_column.csv", "item,genres\na,X\n", "no_column.csv:1:", "must have the columns 'item' and 'categories'"},
      {"header_only.csv", "item,categories\n", "header_only.csv:1:", "no items"},
      {"empty.csv", "", "empty.csv:1:", "the file is empty"},
      {"short.csv", "item,categories\na\n", "short.csv:2:", "expected 2 fields"},
      {"quote.csv", "item,categories\na,\"X\n", "quote.csv:2:", "unterminated quoted field"},
  };
  for (const Case& test : cases) {
    InteractionLog log = small_log(folder);
    const std::string path = folder.write(test.name, test.content);
    const std::string message = error_of([&] { read_item_features(path, log); });
    INFO(test.name << ": " << message);
    CHECK(contains(message, test.where));
    CHECK(contains(message, test.problem));
  }
}

TEST_CASE("readers: user features become profile fields, and users without a row get (missing)") {
  TempFolder folder;
  InteractionLog log = small_log(folder);
  const std::string path = folder.write("users.csv",
                                        "gender,user,age\n"
                                        "F,u3,25-34\n"
                                        "M,u1,\n");
  read_user_features(path, log);
  CHECK(log.profile_field_names == std::vector<std::string>{"gender", "age"});
  REQUIRE(log.profile_values.size() == 2);
  CHECK(log.profile_values[0] == std::vector<std::string>{"F", "M", "(missing)"});
  CHECK(log.profile_values[1] == std::vector<std::string>{"25-34", "(missing)"});
  REQUIRE(log.user_profile.size() == 3);
  CHECK(log.user_profile[0] == std::vector<uint32_t>{1, 1});  // u1: M, empty age
  CHECK(log.user_profile[1] == std::vector<uint32_t>{2, 1});  // u2: no row
  CHECK(log.user_profile[2] == std::vector<uint32_t>{0, 0});  // u3: F, 25-34
  CHECK(mind::data::missing_profile_value == "(missing)");
}

TEST_CASE("readers: user feature errors name the file, the line and the user") {
  TempFolder folder;
  struct Case {
    const char* name;
    const char* content;
    const char* where;
    const char* problem;
  };
  const std::vector<Case> cases = {
      {"unknown.csv", "user,gender\nu1,F\nghost,M\n", "unknown.csv:3:", "user 'ghost' is not in the interaction log"},
      {"twice.csv", "user,gender\nu1,F\nu1,M\n", "twice.csv:3:", "user 'u1' is listed twice"},
      {"no_user.csv", "id,gender\nu1,F\n", "no_user.csv:1:", "must have a column 'user'"},
      {"no_field.csv", "user\nu1\n", "no_field.csv:1:", "no profile field"},
      {"dup_field.csv", "user,age,age\nu1,1,2\n", "dup_field.csv:1:", "column 'age' appears twice"},
      {"header_only.csv", "user,gender\n", "header_only.csv:1:", "no users"},
      {"long.csv", "user,gender\nu1,F,extra\n", "long.csv:2:", "expected 2 fields separated by ',' (as in the header), got 3"},
  };
  for (const Case& test : cases) {
    InteractionLog log = small_log(folder);
    const std::string path = folder.write(test.name, test.content);
    const std::string message = error_of([&] { read_user_features(path, log); });
    INFO(test.name << ": " << message);
    CHECK(contains(message, test.where));
    CHECK(contains(message, test.problem));
  }
}

TEST_CASE("readers: feature files cannot replace features the log already has") {
  TempFolder folder;
  InteractionLog log = small_log(folder);
  const std::string items = folder.write("items.csv", "item,categories\na,X\n");
  read_item_features(items, log);
  CHECK(contains(error_of([&] { read_item_features(items, log); }), "already has item features"));
  const std::string users = folder.write("users.csv", "user,g\nu1,F\n");
  read_user_features(users, log);
  CHECK(contains(error_of([&] { read_user_features(users, log); }), "already has user profiles"));
}
