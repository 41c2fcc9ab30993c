// The programs as a user runs them: mind_train's --help and errors, mind_recommend on a
// finished run (text, --explain, --json) and its errors. Each program is started from the
// build folder and its output and exit code are checked.
#include <doctest/doctest.h>

#include <cstdio>
#include <filesystem>
#include <sstream>
#include <string>
#include <sys/wait.h>

#include "train/trainer.h"

namespace {

struct Result {
  int exit_code = -1;
  std::string output;  // stdout and stderr together
};

Result run(const std::string& arguments) {
  const std::string command = std::string(MIND_BINARY_DIR) + "/" + arguments + " 2>&1";
  Result result;
  FILE* pipe = popen(command.c_str(), "r");
  REQUIRE_MESSAGE(pipe != nullptr, "cannot start " << command);
  char buffer[4096];
  while (size_t count = fread(buffer, 1, sizeof(buffer), pipe)) result.output.append(buffer, count);
  const int status = pclose(pipe);
  result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return result;
}

// One tiny finished run shared by the tests below.
const std::string& tiny_run() {
  static const std::string folder = [] {
    const std::string out = (std::filesystem::temp_directory_path() /
                             ("mind_programs_test_" + std::to_string(::getpid()))).string();
    std::filesystem::remove_all(out);
    mind::train::TrainOptions options;
    options.data.synthetic.users = 200;
    options.data.synthetic.items = 300;
    options.data.synthetic.categories = 30;
    options.data.synthetic.min_length = 10;
    options.data.synthetic.max_length = 16;
    options.model.dim = 8;
    options.model.hidden = {16};
    options.model.negatives = 40;
    options.model.attention_width = 32;
    options.epochs = 1;
    options.quiet = true;
    options.out = out;
    std::ostringstream log;
    mind::train::run_training(options, log);
    return out;
  }();
  return folder;
}

}  // namespace

TEST_CASE("programs: mind_train --help documents every flag with its default") {
  const Result result = run("mind_train --help");
  CHECK(result.exit_code == 0);
  for (const char* flag : {"--data", "--format", "--columns", "--delimiter", "--item-features", "--user-features",
                           "--model", "--dim", "--interests", "--max-len", "--routing-iterations", "--routing-softmax",
                           "--squash-power", "--attention-power", "--fixed-k", "--hidden", "--negatives", "--loss",
                           "--diversity-weight", "--batch-size", "--epochs", "--max-steps", "--lr", "--seed",
                           "--threads", "--eval-every", "--patience", "--no-exclude-history", "--out", "--resume"})
    CHECK_MESSAGE(result.output.find(flag) != std::string::npos, flag << " is missing from --help");
  CHECK(result.output.find("=64") != std::string::npos);  // --dim's default shown
}

TEST_CASE("programs: mind_train refuses bad input with a message naming the problem and exit code 1") {
  const Result missing = run("mind_train --data /nonexistent/ratings_folder --out /tmp/mind_never_written");
  CHECK(missing.exit_code == 1);
  CHECK(missing.output.find("/nonexistent/ratings_folder") != std::string::npos);
  const Result bad_k = run("mind_train --interests 0 --out /tmp/mind_never_written");
  CHECK(bad_k.exit_code == 1);
  CHECK(bad_k.output.find("--interests") != std::string::npos);
  const Result bad_power = run("mind_train --attention-power soft --out /tmp/mind_never_written");
  CHECK(bad_power.exit_code == 1);
  CHECK(bad_power.output.find("--attention-power") != std::string::npos);
}

TEST_CASE("programs: mind_recommend explains a user's interests and recommendations") {
  const Result result = run("mind_recommend --run " + tiny_run() + " --user 9 --top 7 --explain");
  INFO(result.output);
  CHECK(result.exit_code == 0);
  CHECK(result.output.find("user 9:") != std::string::npos);
  CHECK(result.output.find("history (oldest first)") != std::string::npos);
  CHECK(result.output.find("interest 0, its own top items") != std::string::npos);
  CHECK(result.output.find("top 7 (score = max over interests") != std::string::npos);
  CHECK(result.output.find("  7. #") != std::string::npos);
  CHECK(result.output.find("routing iteration 3") != std::string::npos);  // R = 3 by default
}

TEST_CASE("programs: mind_recommend --json lists the recommendations and the routing weights") {
  const Result result = run("mind_recommend --run " + tiny_run() + " --user 9 --top 5 --json --explain");
  INFO(result.output);
  CHECK(result.exit_code == 0);
  CHECK(result.output.rfind("{\"user\":\"9\"", 0) == 0);
  CHECK(result.output.find("\"recommendations\":[") != std::string::npos);
  CHECK(result.output.find("\"routing_weights\":[") != std::string::npos);
}

TEST_CASE("programs: mind_recommend refuses an unknown user and a missing run folder") {
  const Result unknown = run("mind_recommend --run " + tiny_run() + " --user no_such_user");
  CHECK(unknown.exit_code == 1);
  CHECK(unknown.output.find("--user no_such_user: no such user") != std::string::npos);
  const Result missing = run("mind_recommend --run /nonexistent/run --user 1");
  CHECK(missing.exit_code == 1);
  CHECK(missing.output.find("/nonexistent/run") != std::string::npos);
}
