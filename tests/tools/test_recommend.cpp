// mind_recommend serving from a run folder alone: the folder moved and the log deleted, --all
// against the scalar retrieval reference, new users (one equal to a known user gets that user's
// list, also past a batch of --histories), the run folder's files, and the errors. The run is
// trained on a CSV log (the synthetic data written out by --export-data, without its user
// profiles) so that the log can be deleted.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include <sys/wait.h>
#include <unistd.h>

#include "data/retrieval.h"
#include "io/npy.h"
#include "tools/program_runner.h"
#include "train/run_folder.h"

namespace {

using mind::testing::read_text;
using mind::testing::Result;
using mind::testing::run;

void write_text(const std::string& path, const std::string& text) {
  std::ofstream file(path, std::ios::binary);
  file << text;
}

std::string temporary_path(const std::string& name) {
  const std::string path = (std::filesystem::temp_directory_path() /
                            ("mind_recommend_" + name + "_" + std::to_string(::getpid()))).string();
  std::filesystem::remove_all(path);
  return path;
}

// A tiny run trained on a CSV log that lives in `<root>/log` (deleted by the first test).
struct CsvRun {
  std::string root = temporary_path("csv_run");
  std::string log = root + "/log";
  std::string folder = root + "/run";
  CsvRun() {
    const std::string model_flags = " --dim 8 --hidden 16 --negatives 40 --batch-size 64 --epochs 1 --quiet";
    const Result exported =
        run("mind_train --synthetic-users 120 --synthetic-items 200 --synthetic-categories 20 --max-steps 1" +
            model_flags + " --export-data " + log + " --out " + root + "/synthetic");
    REQUIRE_MESSAGE(exported.exit_code == 0, exported.output);
    const Result trained = run("mind_train --data " + log + "/interactions.csv --item-features " + log +
                               "/item_categories.csv" + model_flags + " --out " + folder);
    REQUIRE_MESSAGE(trained.exit_code == 0, trained.output);
  }
  ~CsvRun() { std::filesystem::remove_all(root); }
};

CsvRun& csv_run() {
  static CsvRun instance;
  return instance;
}

// TSV rows after the header, split at tabs.
std::vector<std::vector<std::string>> tsv_rows(const std::string& text) {
  std::vector<std::vector<std::string>> rows;
  std::istringstream lines(text);
  std::string line;
  std::getline(lines, line);
  CHECK(line == "user\trank\titem\tscore\tinterest");
  while (std::getline(lines, line)) {
    std::vector<std::string> fields;
    std::istringstream cells(line);
    for (std::string cell; std::getline(cells, cell, '\t');) fields.push_back(cell);
    REQUIRE(fields.size() == 5);
    rows.push_back(fields);
  }
  return rows;
}

// A known user's whole history as original item ids, oldest first.
std::vector<std::string> history_ids(const mind::train::RunFolder& run, int64_t user) {
  std::vector<std::string> ids;
  for (int32_t item : run.data.sequences[user]) ids.push_back(run.data.item_original_ids[item]);
  return ids;
}

// The text output without its first line (which names the user).
std::string after_first_line(const std::string& text) { return text.substr(text.find('\n') + 1); }

}  // namespace

TEST_CASE("recommend: the run folder stands alone: moved, with the log deleted, the answers are identical") {
  CsvRun& fixture = csv_run();
  const std::string all_before = fixture.root + "/all_before.tsv";
  Result all = run("mind_recommend --run " + fixture.folder + " --all --top 6 --quiet --output " + all_before);
  REQUIRE_MESSAGE(all.exit_code == 0, all.output);
  const Result user_before = run("mind_recommend --run " + fixture.folder + " --user 7 --top 6 --explain --json");
  REQUIRE_MESSAGE(user_before.exit_code == 0, user_before.output);

  const std::string moved = fixture.root + "/elsewhere/moved_run";
  std::filesystem::create_directories(fixture.root + "/elsewhere");
  std::filesystem::rename(fixture.folder, moved);
  std::filesystem::remove_all(fixture.log);
  fixture.folder = moved;
  REQUIRE(!std::filesystem::exists(fixture.log));

  const std::string all_after = fixture.root + "/all_after.tsv";
  all = run("mind_recommend --run " + moved + " --all --top 6 --quiet --output " + all_after);
  REQUIRE_MESSAGE(all.exit_code == 0, all.output);
  CHECK(read_text(all_after) == read_text(all_before));
  CHECK(tsv_rows(read_text(all_after)).size() == 120 * 6);
  const Result user_after = run("mind_recommend --run " + moved + " --user 7 --top 6 --explain --json");
  CHECK(user_after.exit_code == 0);
  CHECK(user_after.output == user_before.output);
  CHECK(user_after.output.find("\"score\":") != std::string::npos);
  CHECK(user_after.output.find("\"interest\":") != std::string::npos);
  CHECK(user_after.output.find("\"routing_weights\":[") != std::string::npos);
}

TEST_CASE("recommend: --all equals the scalar retrieval reference on the exported vectors, on 1 and 2 threads") {
  const std::string folder = csv_run().folder;
  const mind::train::RunFolder run_folder = mind::train::read_run_folder(folder);
  const mind::train::ExportedVectors vectors = mind::train::read_exported_vectors(run_folder);
  const int64_t top = 8;
  for (bool include_history : {false, true}) {
    INFO("include history " << include_history);
    mind::data::RetrievalInputs inputs;
    inputs.item_embeddings = vectors.items.data();
    inputs.item_count = run_folder.data.item_count;
    inputs.width = vectors.width;
    inputs.user_interests = vectors.user_interests.data();
    inputs.interest_counts = vectors.user_counts.data();
    inputs.user_count = run_folder.data.user_count;
    inputs.max_interests = vectors.interest_count;
    for (const std::vector<int32_t>& sequence : run_folder.data.sequences) inputs.excluded.emplace_back(sequence);
    inputs.exclude_history = !include_history;
    const mind::data::RankedLists reference = mind::data::retrieve_ranked_reference(inputs, top);

    const std::string flags = " --all --top 8 --quiet" + std::string(include_history ? " --include-history" : "");
    const std::string one = csv_run().root + "/threads1.tsv", two = csv_run().root + "/threads2.tsv";
    REQUIRE(run("mind_recommend --run " + folder + flags + " --threads 1 --output " + one).exit_code == 0);
    REQUIRE(run("mind_recommend --run " + folder + flags + " --threads 2 --output " + two).exit_code == 0);
    CHECK(read_text(one) == read_text(two));
    const std::vector<std::vector<std::string>> rows = tsv_rows(read_text(one));
    REQUIRE(static_cast<int64_t>(rows.size()) == run_folder.data.user_count * top);
    int64_t history_items_listed = 0;
    for (size_t row = 0; row < rows.size(); ++row) {
      const int64_t user = static_cast<int64_t>(row) / top, rank = static_cast<int64_t>(row) % top;
      const int64_t at = user * top + rank;
      INFO("user " << run_folder.data.user_original_ids[user] << " rank " << rank + 1);
      CHECK(rows[row][0] == run_folder.data.user_original_ids[user]);
      CHECK(rows[row][1] == std::to_string(rank + 1));
      CHECK(rows[row][2] == run_folder.data.item_original_ids[reference.items[at]]);
      CHECK(std::stof(rows[row][3]) == doctest::Approx(reference.scores[at]).epsilon(1e-5));
      CHECK(std::stoi(rows[row][4]) == reference.interests[at]);
      const std::vector<int32_t>& history = run_folder.data.sequences[user];
      history_items_listed += std::count(history.begin(), history.end(), reference.items[at]) > 0;
    }
    // The users' own items are left out unless asked for (and then some of them do rank).
    CHECK((history_items_listed > 0) == include_history);
  }
}

TEST_CASE("recommend: a new user whose history equals a known user's gets that user's list") {
  const std::string folder = csv_run().folder;
  const mind::train::RunFolder run_folder = mind::train::read_run_folder(folder);
  const int64_t user = 11;
  const std::string known_id = run_folder.data.user_original_ids[user];
  const std::vector<std::string> ids = history_ids(run_folder, user);
  std::string list;
  for (const std::string& id : ids) list += (list.empty() ? "" : ",") + id;

  // --history, with one unknown id among the known ones: reported, skipped, same list.
  const Result known = run("mind_recommend --run " + folder + " --user " + known_id + " --top 10 --explain");
  const Result fresh = run("mind_recommend --run " + folder + " --history no_such_item," + list + " --top 10 --explain");
  REQUIRE_MESSAGE(known.exit_code == 0, known.output);
  REQUIRE_MESSAGE(fresh.exit_code == 0, fresh.output);
  CHECK(fresh.output.find("--history: skipped 1 history entry with 1 item id the run does not know: no_such_item") !=
        std::string::npos);
  CHECK(after_first_line(fresh.output.substr(fresh.output.find("user (new user)"))) == after_first_line(known.output));

  // --histories: the same history written newest first with timestamps (sorted back), a second
  // user with only unknown items (skipped, counted), and the rows of --all for the known user.
  const std::string file = csv_run().root + "/new_users.csv";
  std::string csv = "user,item,timestamp\n";
  for (size_t i = ids.size(); i-- > 0;) csv += "twin," + ids[i] + "," + std::to_string(1000 + i) + "\n";
  csv += "stranger,unknown_a,5\nstranger,unknown_b,6\n";
  write_text(file, csv);
  const std::string output = csv_run().root + "/new_users.tsv";
  const Result histories = run("mind_recommend --run " + folder + " --histories " + file + " --top 10 --output " + output);
  REQUIRE_MESSAGE(histories.exit_code == 0, histories.output);
  CHECK(histories.output.find("skipped 2 history entries with 2 item ids the run does not know: unknown_a unknown_b") !=
        std::string::npos);
  CHECK(histories.output.find("skipped 1 user with no item the run knows: stranger") != std::string::npos);
  const std::string all_path = csv_run().root + "/all_for_twin.tsv";
  REQUIRE(run("mind_recommend --run " + folder + " --all --top 10 --quiet --output " + all_path).exit_code == 0);
  std::vector<std::vector<std::string>> expected;
  for (const std::vector<std::string>& row : tsv_rows(read_text(all_path)))
    if (row[0] == known_id) expected.push_back({"twin", row[1], row[2], row[3], row[4]});
  CHECK(expected.size() == 10);
  CHECK(tsv_rows(read_text(output)) == expected);
}

TEST_CASE("recommend: --histories works in batches of 4096 users: every copy of a known user gets its list") {
  const std::string folder = csv_run().folder;
  const mind::train::RunFolder run_folder = mind::train::read_run_folder(folder);
  const int64_t user = 7;
  const std::string known_id = run_folder.data.user_original_ids[user];
  const std::vector<std::string> ids = history_ids(run_folder, user);
  const int64_t copies = 4100;  // two batches, the second of 4 users
  std::string csv = "user,item\n";
  for (int64_t copy = 0; copy < copies; ++copy)
    for (const std::string& id : ids) csv += "copy" + std::to_string(copy) + "," + id + "\n";
  const std::string file = csv_run().root + "/copies.csv";
  write_text(file, csv);
  const std::string output = csv_run().root + "/copies.tsv";
  const Result copied = run("mind_recommend --run " + folder + " --histories " + file + " --top 5 --output " + output);
  REQUIRE_MESSAGE(copied.exit_code == 0, copied.output);
  const std::string all_path = csv_run().root + "/all_for_copies.tsv";
  REQUIRE(run("mind_recommend --run " + folder + " --all --top 5 --quiet --output " + all_path).exit_code == 0);
  std::vector<std::vector<std::string>> known_rows;  // without the user column
  for (const std::vector<std::string>& row : tsv_rows(read_text(all_path)))
    if (row[0] == known_id) known_rows.push_back({row[1], row[2], row[3], row[4]});
  REQUIRE(known_rows.size() == 5);
  const std::vector<std::vector<std::string>> rows = tsv_rows(read_text(output));
  REQUIRE(rows.size() == static_cast<size_t>(copies * 5));
  int64_t differing = 0;
  for (size_t at = 0; at < rows.size(); ++at) {
    if (rows[at][0] != "copy" + std::to_string(at / 5) ||
        std::vector<std::string>(rows[at].begin() + 1, rows[at].end()) != known_rows[at % 5])
      ++differing;
  }
  CHECK(differing == 0);
}

TEST_CASE("recommend: the run folder's serving files follow the documented format") {
  const std::string folder = csv_run().folder;
  const mind::train::RunFolder run_folder = mind::train::read_run_folder(folder);
  const int64_t users = run_folder.data.user_count;
  CHECK(users == 120);
  CHECK(run_folder.data.item_count > 0);
  CHECK(run_folder.data.category_names.size() == 20);
  CHECK(run_folder.data.field_count() == 0);  // the CSV log has no user features
  CHECK(!std::filesystem::exists(folder + "/profile_fields.tsv"));
  const mind::io::NpyArray offsets = mind::io::load_npy(folder + "/user_history_offsets.npy");
  CHECK(offsets.descr == "<i8");
  CHECK(offsets.shape == std::vector<int64_t>{users + 1});
  const mind::io::NpyArray interests = mind::io::load_npy(folder + "/all_user_interests.npy");
  CHECK(interests.shape == std::vector<int64_t>{users, 4, 8});
  const mind::io::NpyArray counts = mind::io::load_npy(folder + "/all_user_interest_counts.npy");
  CHECK(counts.descr == "<i8");
  // Rows past a user's live count are zero.
  for (int64_t user = 0; user < users; ++user)
    for (int64_t row = counts.int64_values[user]; row < 4; ++row)
      for (int64_t k = 0; k < 8; ++k) CHECK(interests.float32_values[(user * 4 + row) * 8 + k] == 0.0f);
  CHECK(read_text(folder + "/all_users.tsv").rfind("row\toriginal_id\n", 0) == 0);
  CHECK(read_text(folder + "/categories.tsv").rfind("index\tname\n", 0) == 0);
  // The test users' exports are still there.
  for (const char* file : {"user_interests.npy", "user_interest_counts.npy", "test_users.tsv", "item_embeddings.npy"})
    CHECK_MESSAGE(std::filesystem::exists(folder + "/" + file), file);
}

TEST_CASE("recommend: a synthetic run's profile: new users need --profile, and get the known user's list with it") {
  const std::string folder = csv_run().root + "/synthetic";  // trained with the synthetic profile fields
  const mind::train::RunFolder run_folder = mind::train::read_run_folder(folder);
  REQUIRE(run_folder.data.field_count() == 2);
  const int64_t user = 3;
  std::string list, profile;
  for (const std::string& id : history_ids(run_folder, user)) list += (list.empty() ? "" : ",") + id;
  for (int64_t field = 0; field < 2; ++field)
    profile += (profile.empty() ? "" : ",") + run_folder.data.profile_field_names[field] + "=" +
               run_folder.data.profile_values[field][run_folder.data.user_profile[user * 2 + field]];
  const Result without = run("mind_recommend --run " + folder + " --history " + list);
  CHECK(without.exit_code == 1);
  CHECK(without.output.find("--profile age_band=VALUE") != std::string::npos);
  const Result known = run("mind_recommend --run " + folder + " --user " + run_folder.data.user_original_ids[user]);
  const Result fresh = run("mind_recommend --run " + folder + " --history " + list + " --profile " + profile);
  REQUIRE_MESSAGE(fresh.exit_code == 0, fresh.output);
  CHECK(after_first_line(fresh.output) == after_first_line(known.output));
  const Result bad = run("mind_recommend --run " + folder + " --history " + list + " --profile age_band=nope");
  CHECK(bad.exit_code == 1);
  CHECK(bad.output.find("--profile: the run has no value 'nope' of the field 'age_band'") != std::string::npos);
}

TEST_CASE("recommend: errors name the flag or the file, never --resume") {
  const std::string folder = csv_run().folder;
  const Result nope = run("mind_recommend --run nope --all");
  CHECK(nope.exit_code == 1);
  CHECK(nope.output.find("--run nope: no such folder") != std::string::npos);
  CHECK(nope.output.find("--resume") == std::string::npos);
  const std::string empty = temporary_path("empty_folder");
  std::filesystem::create_directories(empty);
  const Result no_run = run("mind_recommend --run " + empty + " --all");
  CHECK(no_run.output.find("--run " + empty + ": no run.json there") != std::string::npos);
  CHECK(no_run.output.find("--resume") == std::string::npos);
  std::filesystem::remove_all(empty);

  const Result nobody = run("mind_recommend --run " + folder);
  CHECK(nobody.exit_code == 1);
  CHECK(nobody.output.find("--user ID, --history ITEMS, --all or --histories FILE") != std::string::npos);
  const Result both = run("mind_recommend --run " + folder + " --all --user 1");
  CHECK(both.exit_code != 0);
  CHECK(both.output.find("excludes") != std::string::npos);
  const Result json_all = run("mind_recommend --run " + folder + " --all --json");
  CHECK(json_all.output.find("--json applies to --user and --history only") != std::string::npos);
  const Result unknown_only = run("mind_recommend --run " + folder + " --history x1,x2");
  CHECK(unknown_only.exit_code == 1);
  CHECK(unknown_only.output.find("--history: none of the items is known to the run") != std::string::npos);

  const std::string bad_csv = csv_run().root + "/bad.csv";
  write_text(bad_csv, "person,item\n1,2\n");
  const Result bad_header = run("mind_recommend --run " + folder + " --histories " + bad_csv);
  CHECK(bad_header.exit_code == 1);
  CHECK(bad_header.output.find(bad_csv + ":1: the header has no column 'user'") != std::string::npos);
  write_text(bad_csv, "user,item,timestamp\n1,2,yesterday\n");
  const Result bad_time = run("mind_recommend --run " + folder + " --histories " + bad_csv);
  CHECK(bad_time.output.find(bad_csv + ":2: timestamp 'yesterday' is not an integer") != std::string::npos);
  write_text(bad_csv, "user,item\n\"a\tb\",2\n");
  const Result tab_in_id = run("mind_recommend --run " + folder + " --histories " + bad_csv);
  CHECK(tab_in_id.exit_code == 1);
  CHECK(tab_in_id.output.find(bad_csv + ":2: user id 'a\\x09b' holds the control character 0x09 at byte 2") !=
        std::string::npos);
  // The project's one text rule, as in every reader: a NUL byte, invalid UTF-8, in either id.
  const char nul_in_user[] = "user,item\nu\0" "1,2\n";
  write_text(bad_csv, std::string(nul_in_user, sizeof(nul_in_user) - 1));
  const Result nul_in_id = run("mind_recommend --run " + folder + " --histories " + bad_csv);
  CHECK(nul_in_id.exit_code == 1);
  CHECK(nul_in_id.output.find(bad_csv + ":2: user id 'u\\x001' holds the control character 0x00 at byte 2") !=
        std::string::npos);
  write_text(bad_csv, "user,item\nu1,\xff\xfe\n");
  const Result latin_item = run("mind_recommend --run " + folder + " --histories " + bad_csv);
  CHECK(latin_item.exit_code == 1);
  CHECK(latin_item.output.find(bad_csv + ":2: item id ") != std::string::npos);
  CHECK(latin_item.output.find("is not valid UTF-8 (byte 1 is 0xFF") != std::string::npos);
  write_text(bad_csv, "user,item,item\nu1,2,3\n");
  const Result twice = run("mind_recommend --run " + folder + " --histories " + bad_csv);
  CHECK(twice.exit_code == 1);
  CHECK(twice.output.find(bad_csv + ":1: column 'item' appears twice in the header") != std::string::npos);
  const Result bad_history = run("mind_recommend --run " + folder + " --history 2,\x01x");
  CHECK(bad_history.exit_code == 1);
  CHECK(bad_history.output.find("--history: the item id '\\x01x' holds the control character 0x01 at byte 1") !=
        std::string::npos);

  // A damaged folder: the file and the problem are named.
  const std::string damaged = csv_run().root + "/damaged";
  std::filesystem::copy(folder, damaged);
  std::filesystem::remove(damaged + "/user_history_items.npy");
  const Result missing = run("mind_recommend --run " + damaged + " --all");
  CHECK(missing.exit_code == 1);
  CHECK(missing.output.find(damaged + "/user_history_items.npy: missing") != std::string::npos);
  write_text(damaged + "/items.tsv", "index\toriginal_id\n0\ta\n2\tb\n");
  const Result gap = run("mind_recommend --run " + damaged + " --all");
  CHECK(gap.output.find(damaged + "/items.tsv:3: row 1 has index 2") != std::string::npos);
  // Edited into CRLF line ends: every id would end in a carriage return.
  write_text(damaged + "/items.tsv", "index\toriginal_id\r\n0\ta\r\n");
  const Result crlf = run("mind_recommend --run " + damaged + " --all");
  CHECK(crlf.exit_code == 1);
  CHECK(crlf.output.find(damaged + "/items.tsv:1: the field 'original_id\\x0D' holds the control character 0x0D") !=
        std::string::npos);
}
