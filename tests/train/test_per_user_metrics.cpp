// The evaluation a comparison can pair user by user: --fold chooses the test users, each run
// writes test_metrics_by_user.tsv whose column means are the test line of metrics.jsonl, and
// run.json carries the fold.
#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "train/trainer.h"
#include "training_helpers.h"

using namespace mind;

using testing::file_bytes;
using testing::fresh_folder;
using testing::tiny_options;

namespace {

const std::vector<std::string> metric_names = {"recall@20", "recall@50", "hitrate@20",
                                               "hitrate@50", "ndcg@20",   "ndcg@50"};

struct UserTable {
  std::string header;
  std::vector<std::string> users;          // original ids, in file order
  std::vector<std::vector<double>> values;  // [rows][6], in metric_names order
};

UserTable read_user_table(const std::string& path) {
  std::ifstream file(path);
  REQUIRE_MESSAGE(file, "cannot open " << path);
  UserTable table;
  std::getline(file, table.header);
  for (std::string line; std::getline(file, line);) {
    std::stringstream fields(line);
    std::string user;
    std::getline(fields, user, '\t');
    table.users.push_back(user);
    std::vector<double> row;
    for (std::string field; std::getline(fields, field, '\t');) row.push_back(std::stod(field));
    REQUIRE(row.size() == 6);
    table.values.push_back(row);
  }
  return table;
}

// The metrics.jsonl line of the test evaluation.
nlohmann::json test_line(const std::string& folder) {
  std::ifstream file(folder + "/metrics.jsonl");
  REQUIRE(file);
  for (std::string line; std::getline(file, line);) {
    nlohmann::json value = nlohmann::json::parse(line);
    if (value.at("split").get<std::string>() == "test") return value;
  }
  FAIL("no test line in " << folder << "/metrics.jsonl");
  return nlohmann::json();
}

// original id -> dense index, from the run's users.tsv.
std::map<std::string, int64_t> dense_users(const std::string& folder) {
  std::ifstream file(folder + "/users.tsv");
  REQUIRE(file);
  std::map<std::string, int64_t> result;
  std::string line;
  std::getline(file, line);  // header
  while (std::getline(file, line)) {
    const size_t tab = line.find('\t');
    result[line.substr(tab + 1)] = std::stoll(line.substr(0, tab));
  }
  return result;
}

// The table's column means equal metrics.jsonl's test figures, and every row is a test user of
// `fold` (dense index % 10 == fold).
void check_table_against_run(const std::string& folder, int fold) {
  const UserTable table = read_user_table(folder + "/test_metrics_by_user.tsv");
  CHECK(table.header == "user\trecall@20\trecall@50\thitrate@20\thitrate@50\tndcg@20\tndcg@50");
  const nlohmann::json line = test_line(folder);
  REQUIRE(static_cast<int64_t>(table.users.size()) == line.at("users").get<int64_t>());
  REQUIRE(!table.users.empty());
  for (size_t metric = 0; metric < metric_names.size(); ++metric) {
    double sum = 0.0;
    for (const std::vector<double>& row : table.values) sum += row[metric];
    const double mean = sum / static_cast<double>(table.values.size());
    INFO(metric_names[metric]);
    CHECK(mean == doctest::Approx(line.at(metric_names[metric]).get<double>()).epsilon(1e-9));
  }
  // Some user must differ from the mean, or the rows could be the mean copied.
  bool rows_differ = false;
  for (const std::vector<double>& row : table.values) rows_differ |= row[1] != table.values[0][1];
  CHECK(rows_differ);
  const std::map<std::string, int64_t> dense = dense_users(folder);
  for (const std::string& user : table.users) {
    REQUIRE(dense.count(user) == 1);
    CHECK(dense.at(user) % 10 == fold);
  }
}

}  // namespace

TEST_CASE("per-user metrics: a MIND run on fold 3 writes one row per test user, averaging to metrics.jsonl") {
  const std::string out = fresh_folder("by_user_mind");
  std::ostringstream log;
  train::TrainOptions options = tiny_options(out);
  options.epochs = 1;
  options.data.fold = 3;
  train::run_training(options, log);
  check_table_against_run(out, 3);
  const nlohmann::json saved = nlohmann::json::parse(file_bytes(out + "/run.json"));
  CHECK(saved.at("data").at("fold").get<int64_t>() == 3);
  CHECK(train::load_run_options(out).data.fold == 3);
  std::filesystem::remove_all(out);
}

TEST_CASE("per-user metrics: Most-Popular writes the same table, and other folds test other users") {
  for (int fold : {0, 9}) {
    const std::string out = fresh_folder("by_user_popular_" + std::to_string(fold));
    std::ostringstream log;
    train::TrainOptions options = tiny_options(out);
    options.model.model = "most_popular";
    options.data.fold = fold;
    train::run_training(options, log);
    check_table_against_run(out, fold);
    std::filesystem::remove_all(out);
  }
}
