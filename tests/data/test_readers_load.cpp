// Tests of load_interactions: format detection for every layout, the synthetic dataset, feature
// files added to a CSV log, and the errors for paths and options that fit no reader.
#include <doctest/doctest.h>

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "data/load.h"
#include "test_readers_files.h"

using mind::data::DataOptions;
using mind::data::detect_format;
using mind::data::InteractionLog;
using mind::data::load_interactions;
using mind::data::LoadProgress;
using mind::data::ProgressReport;
using mind::data::testing::contains;
using mind::data::testing::error_of;
using mind::data::testing::TempFolder;

TEST_CASE("readers: auto format recognises each layout") {
  TempFolder latest;
  latest.write("ratings.csv", "userId,movieId,rating,timestamp\n1,2,3.0,4\n");
  latest.write("movies.csv", "movieId,title,genres\n2,T,Drama\n");
  TempFolder one_million;
  one_million.write("ratings.dat", "1::2::3::4\n");
  TempFolder hundred_k;
  hundred_k.write("u.data", "1\t2\t3\t4\n");
  TempFolder files;
  const std::string csv = files.write("log.CSV", "user,item,timestamp\nu,i,1\n");
  const std::string tsv = files.write("log.tsv", "user\titem\ttimestamp\nu\ti\t1\n");

  CHECK(detect_format("synthetic") == "synthetic");
  CHECK(detect_format(latest.path()) == "movielens");
  CHECK(detect_format(one_million.path()) == "movielens-1m");
  CHECK(detect_format(hundred_k.path()) == "movielens-100k");
  CHECK(detect_format(csv) == "csv");
  CHECK(detect_format(tsv) == "csv");

  DataOptions options;
  options.data = latest.path();
  const InteractionLog log = load_interactions(options);
  CHECK(log.item_titles == std::vector<std::string>{"T"});
  options.data = hundred_k.path();
  CHECK(load_interactions(options).interactions[0].timestamp == 4);
  options.data = tsv;
  CHECK(load_interactions(options).user_ids == std::vector<std::string>{"u"});
}

TEST_CASE("readers: auto format errors say what was looked for") {
  TempFolder folder;
  const std::string not_movielens = error_of([&] { detect_format(folder.path()); });
  INFO(not_movielens);
  CHECK(contains(not_movielens, folder.path()));
  CHECK(contains(not_movielens, "looked for ratings.csv and movies.csv"));
  CHECK(contains(not_movielens, "ratings.dat"));
  CHECK(contains(not_movielens, "u.data"));

  folder.write("ratings.csv", "userId,movieId,rating,timestamp\n1,2,3.0,4\n");
  CHECK(contains(error_of([&] { detect_format(folder.path()); }), "not a MovieLens one"));  // no movies.csv

  const std::string json = folder.write("log.json", "{}");
  const std::string unknown = error_of([&] { detect_format(json); });
  INFO(unknown);
  CHECK(contains(unknown, "cannot tell the format of '" + json + "'"));
  CHECK(contains(unknown, ".csv or .tsv"));
  CHECK(contains(error_of([&] { detect_format(folder.path() + "/absent.csv"); }), "does not exist"));
  CHECK(contains(error_of([&] { detect_format(folder.write("ratings.dat", "1::2::3::4\n")); }),
                 "pass the folder that holds it"));
}

TEST_CASE("readers: an explicit format reads a file whatever its name") {
  TempFolder folder;
  DataOptions options;
  options.data = folder.write("log.txt", "user,item,timestamp\nu,i,7\n");
  CHECK(contains(error_of([&] { load_interactions(options); }), "cannot tell the format"));
  options.format = "csv";
  CHECK(load_interactions(options).interactions[0].timestamp == 7);
  options.format = "parquet";
  CHECK(contains(error_of([&] { load_interactions(options); }), "--format 'parquet' is not one of"));
}

TEST_CASE("readers: the synthetic dataset is the default") {
  DataOptions options;
  options.synthetic.users = 20;
  options.synthetic.items = 50;
  options.synthetic.categories = 5;
  options.synthetic.min_length = 3;
  options.synthetic.max_length = 5;
  const InteractionLog log = load_interactions(options);
  CHECK(log.source == "synthetic");
  CHECK(log.user_ids.size() == 20);
  CHECK(log.interactions.size() >= 60);
  CHECK(log.interactions.size() <= 100);
  options.data = "elsewhere.csv";
  options.format = "synthetic";
  CHECK(contains(error_of([&] { load_interactions(options); }), "--data must be 'synthetic'"));
}

TEST_CASE("readers: options that do not fit the format are errors naming the option") {
  TempFolder folder;
  folder.write("ratings.dat", "1::2::3::4\n");
  DataOptions options;
  options.data = folder.path();
  options.columns = "user=a";
  CHECK(contains(error_of([&] { load_interactions(options); }),
                 "--columns and --delimiter apply to CSV/TSV logs only, not to the movielens-1m format"));
  DataOptions csv_without_data;
  csv_without_data.format = "csv";
  CHECK(contains(error_of([&] { load_interactions(csv_without_data); }), "give its path with --data"));
  DataOptions synthetic_with_items;
  synthetic_with_items.synthetic.users = 10;
  synthetic_with_items.synthetic.items = 20;
  synthetic_with_items.synthetic.categories = 4;
  synthetic_with_items.synthetic.min_length = 3;
  synthetic_with_items.synthetic.max_length = 5;
  synthetic_with_items.item_features = folder.write("items.csv", "item,categories\n0,X\n");
  CHECK(contains(error_of([&] { load_interactions(synthetic_with_items); }), "already has item features"));
}

TEST_CASE("readers: load adds item and user feature files to a csv log") {
  TempFolder folder;
  DataOptions options;
  options.data = folder.write("log.csv", "visitor;page;when\nv1;p1;3\nv2;p2;4\n");
  options.columns = "user=visitor,item=page,time=when";
  options.delimiter = ";";
  options.item_features = folder.write("items.csv", "item,categories\np2,Sports|News\n");
  options.user_features = folder.write("users.tsv", "user\tcountry\nv2\tFR\n");
  const InteractionLog log = load_interactions(options);
  CHECK(log.category_names == std::vector<std::string>{"Sports", "News"});
  CHECK(log.item_categories[0].empty());
  CHECK(log.item_categories[1] == std::vector<uint32_t>{0, 1});
  CHECK(log.profile_field_names == std::vector<std::string>{"country"});
  CHECK(log.profile_values[0] == std::vector<std::string>{"FR", "(missing)"});
  CHECK(log.user_profile[0] == std::vector<uint32_t>{1});
  CHECK(log.user_profile[1] == std::vector<uint32_t>{0});
}

TEST_CASE("readers: load reports the bytes read block by block, ending at the file size") {
  TempFolder folder;
  // About 3.5 MiB of short rows: four blocks of at most 1 MiB each.
  std::string content = "user,item,timestamp\n";
  for (int row = 0; content.size() < (7u << 19); ++row) {
    content += std::to_string(row % 997);
    content += ',';
    content += std::to_string(row % 1009);
    content += ',';
    content += std::to_string(row);
    content += '\n';
  }
  DataOptions options;
  options.data = folder.write("big.csv", content);
  std::vector<std::pair<uint64_t, uint64_t>> calls;  // (done, total)
  LoadProgress progress;
  progress.reading = [&calls](const std::string&) -> ProgressReport {
    return [&calls](uint64_t done, uint64_t total) { calls.emplace_back(done, total); };
  };
  const InteractionLog log = load_interactions(options, progress);
  CHECK(log.interactions.size() > 100000);
  REQUIRE(calls.size() >= 4);
  CHECK(calls.size() <= 5);
  uint64_t previous = 0;
  for (const auto& [done, total] : calls) {
    CHECK(total == content.size());
    CHECK(done > previous);
    CHECK(done - previous <= (1u << 20));  // at most one call per block
    previous = done;
  }
  CHECK(calls.back().first == content.size());
}

TEST_CASE("readers: a MovieLens log reports the progress of its ratings file") {
  TempFolder folder;
  std::string ratings;
  for (int row = 0; row < 1000; ++row) {
    ratings += std::to_string(row % 17 + 1);
    ratings += "::";
    ratings += std::to_string(row % 31 + 1);
    ratings += "::5::";
    ratings += std::to_string(row);
    ratings += '\n';
  }
  folder.write("ratings.dat", ratings);
  DataOptions options;
  options.data = folder.path();
  uint64_t last_done = 0;
  uint64_t last_total = 0;
  std::string path;
  LoadProgress progress;
  progress.reading = [&](const std::string& started) -> ProgressReport {
    path = started;
    return [&](uint64_t done, uint64_t total) {
      last_done = done;
      last_total = total;
    };
  };
  load_interactions(options, progress);
  CHECK(path == folder.path() + "/ratings.dat");
  CHECK(last_total == ratings.size());
  CHECK(last_done == ratings.size());
}

TEST_CASE("readers: load reports each file it reads, the feature files too, each to its size") {
  TempFolder folder;
  DataOptions options;
  const std::string log_text = "user,item,timestamp\nv1,p1,3\nv2,p2,4\n";
  const std::string items_text = "item,categories\np2,Sports|News\n";
  const std::string users_text = "user\tcountry\nv2\tFR\n";
  options.data = folder.write("log.csv", log_text);
  options.item_features = folder.write("items.csv", items_text);
  options.user_features = folder.write("users.tsv", users_text);
  std::vector<std::string> started;
  std::vector<std::pair<uint64_t, uint64_t>> last;  // per file: (done, total) of its last call
  LoadProgress progress;
  progress.reading = [&](const std::string& path) -> ProgressReport {
    started.push_back(path);
    last.emplace_back(0, 0);
    const size_t file = last.size() - 1;
    return [&last, file](uint64_t done, uint64_t total) { last[file] = {done, total}; };
  };
  progress.generating = [](uint64_t, uint64_t) { FAIL("a csv log generates nothing"); };
  load_interactions(options, progress);
  CHECK(started == std::vector<std::string>{options.data, options.item_features, options.user_features});
  REQUIRE(last.size() == 3);
  CHECK(last[0] == std::pair<uint64_t, uint64_t>{log_text.size(), log_text.size()});
  CHECK(last[1] == std::pair<uint64_t, uint64_t>{items_text.size(), items_text.size()});
  CHECK(last[2] == std::pair<uint64_t, uint64_t>{users_text.size(), users_text.size()});
}

TEST_CASE("readers: the synthetic dataset reports the users generated and reads no file") {
  DataOptions options;
  options.synthetic.users = 9000;  // more than one report (every 4096 users)
  options.synthetic.min_length = 3;
  options.synthetic.max_length = 4;
  std::vector<std::pair<uint64_t, uint64_t>> calls;
  LoadProgress progress;
  progress.reading = [](const std::string& path) -> ProgressReport {
    FAIL("the synthetic dataset reads no file, asked for " << path);
    return {};
  };
  progress.generating = [&calls](uint64_t done, uint64_t total) { calls.emplace_back(done, total); };
  const InteractionLog reported = load_interactions(options, progress);
  CHECK(calls == std::vector<std::pair<uint64_t, uint64_t>>{{4096, 9000}, {8192, 9000}, {9000, 9000}});
  // Reporting changes nothing generated.
  const InteractionLog silent = load_interactions(options);
  REQUIRE(silent.interactions.size() == reported.interactions.size());
  size_t differing_rows = 0;
  for (size_t row = 0; row < silent.interactions.size(); ++row)
    if (silent.interactions[row].item != reported.interactions[row].item ||
        silent.interactions[row].timestamp != reported.interactions[row].timestamp)
      ++differing_rows;
  CHECK(differing_rows == 0);
}
