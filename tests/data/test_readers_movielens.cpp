// Tests of the three MovieLens readers on small hand-written folders in each layout:
// ids, timestamps, titles (quoted, ISO-8859-1), genres, profile fields, optional files, errors.
#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "data/readers.h"
#include "test_readers_files.h"

using mind::data::InteractionLog;
using mind::data::testing::contains;
using mind::data::testing::error_of;
using mind::data::testing::TempFolder;

TEST_CASE("readers: movielens csv layout reads ratings, quoted titles and genres") {
  TempFolder folder;
  folder.write("ratings.csv",
               "userId,movieId,rating,timestamp\n"
               "1,11,4.0,964982703\n"
               "1,29,5.0,964981247\n"
               "2,11,0.5,1537799250\n"
               "2,50,3.5,828124615\n");
  folder.write("movies.csv",
               "movieId,title,genres\n"
               "1,Toy Story (1995),Adventure|Animation\n"  // nobody rated it: ignored
               "11,\"American President, The (1995)\",Comedy|Drama|Romance\n"
               "29,\"\"\"Great Performances\"\" Cats (1998)\",Musical\n"
               "50,Empty (2000),(no genres listed)\n");
  const InteractionLog log = mind::data::read_movielens_csv(folder.path());
  CHECK(log.user_ids == std::vector<std::string>{"1", "2"});
  CHECK(log.item_ids == std::vector<std::string>{"11", "29", "50"});
  REQUIRE(log.interactions.size() == 4);
  CHECK(log.interactions[1].item == 1);
  CHECK(log.interactions[1].timestamp == 964981247);
  CHECK(log.interactions[3].user == 1);
  CHECK(log.interactions[3].item == 2);
  CHECK(log.interactions[3].timestamp == 828124615);
  CHECK(log.item_titles ==
        std::vector<std::string>{"American President, The (1995)", "\"Great Performances\" Cats (1998)", "Empty (2000)"});
  // Adventure and Animation belong to the unrated movie only, so they are not categories.
  CHECK(log.category_names == std::vector<std::string>{"Comedy", "Drama", "Romance", "Musical"});
  CHECK(log.item_categories[0] == std::vector<uint32_t>{0, 1, 2});
  CHECK(log.item_categories[1] == std::vector<uint32_t>{3});
  CHECK(log.item_categories[2].empty());  // (no genres listed)
  CHECK(log.user_profile.empty());
}

TEST_CASE("readers: movielens csv layout without movies.csv has no item features") {
  TempFolder folder;
  folder.write("ratings.csv", "userId,movieId,rating,timestamp\r\n3,4,1.0,5\r\n");
  const InteractionLog log = mind::data::read_movielens_csv(folder.path());
  CHECK(log.user_ids == std::vector<std::string>{"3"});
  CHECK(log.interactions[0].timestamp == 5);
  CHECK(log.item_titles.empty());
  CHECK(log.category_names.empty());
}

TEST_CASE("readers: movielens csv errors") {
  TempFolder folder;
  const std::string missing = error_of([&] { mind::data::read_movielens_csv(folder.path()); });
  INFO(missing);
  CHECK(contains(missing, folder.path() + "/ratings.csv"));

  folder.write("ratings.csv", "userId,movieId,rating,timestamp\n1,11,4.0,1\n1,abc,4.0,2\n");
  const std::string text_id = error_of([&] { mind::data::read_movielens_csv(folder.path()); });
  INFO(text_id);
  CHECK(contains(text_id, "ratings.csv:3: item id 'abc' is not a non-negative integer"));

  folder.write("ratings.csv", "userId,movieId,rating,timestamp\n1,11,4.0,1\n");
  folder.write("movies.csv", "movieId,title,genres\n11,Twice,Drama\n11,Twice,Drama\n");
  CHECK(contains(error_of([&] { mind::data::read_movielens_csv(folder.path()); }),
                 "movies.csv:3: movie '11' is listed twice"));
  folder.write("movies.csv", "movieId,name,genres\n11,x,Drama\n");
  CHECK(contains(error_of([&] { mind::data::read_movielens_csv(folder.path()); }),
                 "movies.csv:1: expected the header movieId,title,genres"));
  folder.write("movies.csv", "movieId,title,genres\n11,\"x,Drama\n");
  CHECK(contains(error_of([&] { mind::data::read_movielens_csv(folder.path()); }),
                 "movies.csv:2: unterminated quoted field"));
  folder.write("movies.csv", "");
  CHECK(contains(error_of([&] { mind::data::read_movielens_csv(folder.path()); }), "movies.csv:1: the file is empty"));
}

TEST_CASE("readers: movielens-1m reads '::' files, converts Latin-1 titles and maps user codes") {
  TempFolder folder;
  folder.write("ratings.dat",
               "1::1193::5::978300760\n"
               "1::661::3::978302109\n"
               "2::1193::4::978298413\n"
               "3::661::1::978297000\n");
  folder.write("movies.dat",
               "661::James and the Giant Peach (1996)::Animation|Children's|Musical\n"
               "1193::Mis\xE9rables, Les (1995)::Drama\n"
               "9999::Never Rated (2000)::Horror\n");
  folder.write("users.dat",
               "1::F::1::10::48067\n"
               "2::M::56::16::70072\n"
               "4::M::25::12::55117\n");  // user 4 rated nothing: ignored; user 3 has no row
  const InteractionLog log = mind::data::read_movielens_1m(folder.path());
  CHECK(log.user_ids == std::vector<std::string>{"1", "2", "3"});
  CHECK(log.item_ids == std::vector<std::string>{"1193", "661"});
  REQUIRE(log.interactions.size() == 4);
  CHECK(log.interactions[2].user == 1);
  CHECK(log.interactions[2].item == 0);
  CHECK(log.interactions[2].timestamp == 978298413);
  CHECK(log.item_titles == std::vector<std::string>{"Mis\xC3\xA9rables, Les (1995)", "James and the Giant Peach (1996)"});
  CHECK(log.category_names == std::vector<std::string>{"Animation", "Children's", "Musical", "Drama"});
  CHECK(log.item_categories[0] == std::vector<uint32_t>{3});
  CHECK(log.item_categories[1] == std::vector<uint32_t>{0, 1, 2});
  CHECK(log.profile_field_names == std::vector<std::string>{"gender", "age", "occupation"});
  CHECK(log.profile_values[0] == std::vector<std::string>{"F", "M", "(missing)"});
  CHECK(log.profile_values[1] == std::vector<std::string>{"Under 18", "56+", "(missing)"});
  CHECK(log.profile_values[2] == std::vector<std::string>{"K-12 student", "self-employed", "(missing)"});
  CHECK(log.user_profile[0] == std::vector<uint32_t>{0, 0, 0});
  CHECK(log.user_profile[1] == std::vector<uint32_t>{1, 1, 1});
  CHECK(log.user_profile[2] == std::vector<uint32_t>{2, 2, 2});
}

TEST_CASE("readers: movielens-1m without movies.dat and users.dat has no features") {
  TempFolder folder;
  folder.write("ratings.dat", "1::2::3::4\r\n");
  const InteractionLog log = mind::data::read_movielens_1m(folder.path());
  CHECK(log.interactions.size() == 1);
  CHECK(log.interactions[0].timestamp == 4);
  CHECK(log.item_titles.empty());
  CHECK(log.user_profile.empty());
}

TEST_CASE("readers: movielens-1m errors name the file, the line and the problem") {
  TempFolder folder;
  struct Case {
    const char* file;
    const char* content;
    const char* expected;
  };
  const std::string ratings = "1::1193::5::978300760\n2::661::3::978302109\n";
  const std::vector<Case> cases = {
      {"ratings.dat", "1::1193::5::978300760\n1::661::3\n", "ratings.dat:2: expected 4 fields separated by '::', got 3"},
      {"ratings.dat", "", "ratings.dat:1: the file is empty"},
      {"ratings.dat", "1::99999999999999999999::5::1\n", "ratings.dat:1: movie id '99999999999999999999' does not fit in 64 bits"},
      {"ratings.dat", "1::2::5::soon\n", "ratings.dat:1: timestamp 'soon' is not an integer"},
      {"ratings.dat", "1::2::5::1\n\n", "ratings.dat:2: empty line"},
      {"movies.dat", "1193::Title::Drama::extra\n", "movies.dat:1: expected 3 fields separated by '::', got 4"},
      {"movies.dat", "x::Title::Drama\n", "movies.dat:1: movie id 'x' is not a non-negative integer"},
      {"users.dat", "1::F::17::10::48067\n", "users.dat:1: age code '17' is not one of 1, 18, 25, 35, 45, 50, 56"},
      {"users.dat", "1::F::18::21::48067\n", "users.dat:1: occupation code '21' is not between 0 and 20"},
      {"users.dat", "1::F::18::1::1\n1::F::18::1::1\n", "users.dat:2: user '1' is listed twice"},
      {"users.dat", "", "users.dat:1: the file is empty"},
  };
  for (const Case& test : cases) {
    TempFolder case_folder;
    case_folder.write("ratings.dat", ratings);
    case_folder.write(test.file, test.content);
    const std::string message = error_of([&] { mind::data::read_movielens_1m(case_folder.path()); });
    INFO(message);
    CHECK(contains(message, test.expected));
  }
  const std::string missing = error_of([&] { mind::data::read_movielens_1m(folder.path()); });
  CHECK(contains(missing, folder.path() + "/ratings.dat"));
}

TEST_CASE("readers: movielens-100k reads u.data, genre flags, Latin-1 titles and age bands") {
  TempFolder folder;
  folder.write("u.data",
               "196\t242\t3\t881250949\n"
               "186\t302\t3\t891717742\n"
               "196\t302\t1\t-5\n");
  const std::string flags_242 = "0|0|0|0|0|1|0|0|0|0|0|0|0|0|0|0|0|0|0";   // Comedy
  const std::string flags_302 = "0|0|0|0|0|0|1|0|0|0|1|0|0|1|0|0|1|0|0";   // Crime, Film-Noir, Mystery, Thriller
  const std::string flags_none = "0|0|0|0|0|0|0|0|0|0|0|0|0|0|0|0|0|0|0";
  folder.write("u.item",
               "242|Kolya (1996)|24-Jan-1997||http://us.imdb.com/M/title-exact?Kolya%20(1996)|" + flags_242 + "\n" +
                   "302|L.A. Confidential (1997)|01-Jan-1997||http://x|" + flags_302 + "\n" +
                   "1|Cit\xE9 (1995)|01-Jan-1995||http://x|" + flags_none + "\n");
  folder.write("u.user",
               "196|49|M|writer|55105\n"
               "186|17|F|student|00000\n"
               "5|33|F|other|15213\n");
  const InteractionLog log = mind::data::read_movielens_100k(folder.path());
  CHECK(log.user_ids == std::vector<std::string>{"196", "186"});
  CHECK(log.item_ids == std::vector<std::string>{"242", "302"});
  CHECK(log.interactions[2].timestamp == -5);
  CHECK(log.item_titles == std::vector<std::string>{"Kolya (1996)", "L.A. Confidential (1997)"});
  REQUIRE(log.category_names.size() == 19);  // the fixed ML-100K list
  CHECK(log.category_names[0] == "unknown");
  CHECK(log.category_names[4] == "Children's");
  CHECK(log.category_names[18] == "Western");
  CHECK(log.item_categories[0] == std::vector<uint32_t>{5});
  CHECK(log.item_categories[1] == std::vector<uint32_t>{6, 10, 13, 16});
  CHECK(log.profile_values[0] == std::vector<std::string>{"M", "F"});
  CHECK(log.profile_values[1] == std::vector<std::string>{"45-49", "Under 18"});
  CHECK(log.profile_values[2] == std::vector<std::string>{"writer", "student"});
  CHECK(log.user_profile[1] == std::vector<uint32_t>{1, 1, 1});
}

TEST_CASE("readers: movielens-100k Latin-1 title, and its errors") {
  TempFolder folder;
  folder.write("u.data", "1\t1\t5\t10\n");
  const std::string flags = "1|0|0|0|0|0|0|0|0|0|0|0|0|0|0|0|0|0|0";
  folder.write("u.item", "1|Cit\xE9 des enfants perdus, La (1995)|01-Jan-1995||http://x|" + flags + "\n");
  const InteractionLog log = mind::data::read_movielens_100k(folder.path());
  CHECK(log.item_titles[0] == "Cit\xC3\xA9 des enfants perdus, La (1995)");
  CHECK(log.item_categories[0] == std::vector<uint32_t>{0});  // "unknown" is kept as a category

  folder.write("u.item", "1|T|d||u|1|0|0|0|0|0|0|0|0|0|0|0|0|0|0|0|0|0|2\n");
  CHECK(contains(error_of([&] { mind::data::read_movielens_100k(folder.path()); }),
                 "u.item:1: genre flag 19 (Western) is '2', expected 0 or 1"));
  folder.write("u.item", "1|T|d||u|1|0\n");
  CHECK(contains(error_of([&] { mind::data::read_movielens_100k(folder.path()); }),
                 "u.item:1: expected 24 fields separated by '|'"));
  folder.write("u.item", "1|T|d||u|" + flags + "\n");
  folder.write("u.user", "1|forty|M|writer|55105\n");
  CHECK(contains(error_of([&] { mind::data::read_movielens_100k(folder.path()); }),
                 "u.user:1: age 'forty' is not a non-negative integer"));
  folder.write("u.data", "1 1 5 10\n");
  CHECK(contains(error_of([&] { mind::data::read_movielens_100k(folder.path()); }),
                 "u.data:1: expected 4 fields separated by tabs, got 1"));
}
