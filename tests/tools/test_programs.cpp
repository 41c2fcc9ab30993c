// The programs as a user runs them: mind_train's --help and errors, a NaN stop and Ctrl-C with
// --resume, mind_recommend on a finished run (text, --explain, --json) and its errors. Each
// program is started from the build folder and its output and exit code are checked.
#include <doctest/doctest.h>
#include <nlohmann/json.hpp>


#include <algorithm>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include "train/option_table.h"
#include "tools/program_runner.h"
#include "train/trainer.h"

namespace {

using mind::testing::read_text;
using mind::testing::Result;
using mind::testing::run;
using mind::testing::run_from;

// One tiny finished run shared by the tests below, removed when the test program ends.
struct TinyRun {
  std::string folder;
  ~TinyRun() { std::filesystem::remove_all(folder); }
};

const std::string& tiny_run() {
  static const TinyRun tiny{[] {
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
  }()};
  return tiny.folder;
}

// mind_train running in the background with its output going to a file, so that a test can
// send it signals. The destructor kills it if the test ended before it did.
class BackgroundProgram {
 public:
  BackgroundProgram(const std::vector<std::string>& arguments, const std::string& output_path) {
    std::vector<char*> argv;
    for (const std::string& argument : arguments) argv.push_back(const_cast<char*>(argument.c_str()));
    argv.push_back(nullptr);
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, 1, output_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    posix_spawn_file_actions_adddup2(&actions, 1, 2);
    const int error = posix_spawn(&pid_, argv[0], &actions, nullptr, argv.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    REQUIRE_MESSAGE(error == 0, "cannot start " << arguments[0]);
  }
  ~BackgroundProgram() {
    if (pid_ <= 0) return;
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, nullptr, 0);
  }
  BackgroundProgram(const BackgroundProgram&) = delete;
  BackgroundProgram& operator=(const BackgroundProgram&) = delete;

  bool running() {
    if (pid_ <= 0) return false;
    int status = 0;
    if (::waitpid(pid_, &status, WNOHANG) == 0) return true;
    exit_code_ = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    pid_ = -1;
    return false;
  }
  void send(int signal_number) { ::kill(pid_, signal_number); }
  // Waits for the end; the exit code, or -1 when a signal ended it.
  int wait() {
    if (pid_ > 0) {
      int status = 0;
      ::waitpid(pid_, &status, 0);
      exit_code_ = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
      pid_ = -1;
    }
    return exit_code_;
  }

 private:
  pid_t pid_ = -1;
  int exit_code_ = -1;
};

// The number written right after `label` in `text` (-1 when the label is absent).
int64_t number_after(const std::string& text, const std::string& label) {
  const size_t at = text.find(label);
  if (at == std::string::npos) return -1;
  return std::stoll(text.substr(at + label.size()));
}

// A tiny synthetic run: 60 users, 19 steps of 128 samples an epoch.
const std::string tiny_flags =
    " --synthetic-users 60 --synthetic-items 300 --synthetic-categories 30 --dim 8 --hidden 16 --negatives 40"
    " --batch-size 128 --patience 0 --quiet";

std::string temporary_path(const std::string& name) {
  const std::string path = (std::filesystem::temp_directory_path() /
                            ("mind_programs_" + name + "_" + std::to_string(::getpid()))).string();
  std::filesystem::remove_all(path);
  return path;
}

}  // namespace

TEST_CASE("programs: mind_train stops on a NaN with exit code 1, naming the step, and writes no checkpoint") {
  const std::string out = temporary_path("nan");
  const Result result = run("mind_train" + tiny_flags + " --epochs 1 --lr 1e30 --out " + out);
  INFO(result.output);
  CHECK(result.exit_code == 1);
  // The first update throws the weights to ±1e30; the next forward overflows.
  CHECK(result.output.find("error: step 2: the loss is nan in the slice of batch rows 0..") != std::string::npos);
  CHECK(result.output.find("; first non-finite value: the op '") != std::string::npos);
  CHECK(result.output.find("; no parameter holds NaN/Inf (largest value: '") != std::string::npos);
  CHECK(result.output.find("The checkpoints already in " + out + " are untouched.") != std::string::npos);
  CHECK(!std::filesystem::exists(out + "/checkpoint.safetensors"));
  std::filesystem::remove_all(out);
}

TEST_CASE("programs: Ctrl-C stops mind_train with exit code 130, and --resume ends where an uninterrupted run does") {
  const std::string interrupted = temporary_path("interrupted"), straight = temporary_path("straight");
  const std::string output_path = interrupted + ".log";
  std::vector<std::string> arguments = {std::string(MIND_BINARY_DIR) + "/mind_train"};
  std::istringstream flags(tiny_flags + " --epochs 1000 --eval-every 1 --threads 1 --out " + interrupted);
  for (std::string flag; flags >> flag;) arguments.push_back(flag);
  int64_t interrupted_step = -1, steps_per_epoch = -1;
  {
    BackgroundProgram program(arguments, output_path);
    // best.safetensors appears at the first validation (step 1): training is under way.
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(120);
    while (!std::filesystem::exists(interrupted + "/best.safetensors") && program.running() &&
           std::chrono::steady_clock::now() < deadline)
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
    REQUIRE_MESSAGE(program.running(), read_text(output_path));
    // Twice, as an impatient user does: the second one lands in the step or in the saving, and
    // must change nothing.
    program.send(SIGINT);
    program.send(SIGINT);
    const int exit_code = program.wait();
    const std::string output = read_text(output_path);
    INFO(output);
    CHECK(exit_code == 130);
    interrupted_step = number_after(output, "interrupted at step ");
    steps_per_epoch = number_after(output, "batches of 128, ");
    CHECK(output.find("; resume with: mind_train --resume " + interrupted + "\n") != std::string::npos);
  }
  REQUIRE(interrupted_step >= 1);
  REQUIRE(steps_per_epoch == 19);
  // Continue to the end of the epoch after the interrupted one, and train that long in one go.
  const std::string epochs = std::to_string(interrupted_step / steps_per_epoch + 1);
  const Result resumed = run("mind_train --resume " + interrupted + " --epochs " + epochs + " --threads 2 --quiet");
  INFO(resumed.output);
  CHECK(resumed.exit_code == 0);
  CHECK(resumed.output.find("resumed from " + interrupted + " at step " + std::to_string(interrupted_step)) !=
        std::string::npos);
  const Result uninterrupted =
      run("mind_train" + tiny_flags + " --epochs " + epochs + " --eval-every 1 --threads 2 --out " + straight);
  INFO(uninterrupted.output);
  CHECK(uninterrupted.exit_code == 0);
  const auto test_table = [](const std::string& output) {
    const size_t start = output.find("test metrics, mind");
    return start == std::string::npos ? std::string() : output.substr(start, output.find("interests:", start) - start);
  };
  CHECK(!test_table(resumed.output).empty());
  CHECK(test_table(resumed.output) == test_table(uninterrupted.output));
  for (const char* file : {"checkpoint.safetensors", "best.safetensors", "optimizer.safetensors"}) {
    INFO(file);
    CHECK(read_text(interrupted + "/" + file) == read_text(straight + "/" + file));
  }
  std::filesystem::remove_all(interrupted);
  std::filesystem::remove(output_path);
  std::filesystem::remove_all(straight);
}

TEST_CASE("programs: after a SIGKILL, --resume continues from the last --checkpoint-every save and ends as an uninterrupted run") {
  const std::string killed = temporary_path("killed"), straight = temporary_path("killed_straight");
  const std::string output_path = killed + ".log";
  std::vector<std::string> arguments = {std::string(MIND_BINARY_DIR) + "/mind_train"};
  std::istringstream flags(tiny_flags + " --epochs 1000 --checkpoint-every 5 --threads 1 --out " + killed);
  for (std::string flag; flags >> flag;) arguments.push_back(flag);
  {
    BackgroundProgram program(arguments, output_path);
    // train_state.json appears with the first save (step 5); kill a little later, at any point.
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(120);
    while (!std::filesystem::exists(killed + "/train_state.json") && program.running() &&
           std::chrono::steady_clock::now() < deadline)
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    REQUIRE_MESSAGE(program.running(), read_text(output_path));
    program.send(SIGKILL);
    CHECK(program.wait() == -1);  // ended by the signal: nothing was saved on the way out
  }
  const int64_t saved_step = number_after(read_text(killed + "/train_state.json"), "\"step\":");
  // A save may have been cut short: --resume finishes or drops it, so the step is read from its output.
  const std::string epochs = std::to_string(std::max<int64_t>(saved_step, 5) / 19 + 2);
  const Result resumed = run("mind_train --resume " + killed + " --epochs " + epochs + " --threads 2 --quiet");
  INFO(resumed.output);
  REQUIRE(resumed.exit_code == 0);
  const int64_t resumed_step = number_after(resumed.output, "at step ");
  CHECK(resumed_step >= 5);
  CHECK(resumed_step % 5 == 0);  // a save point: at most 5 steps were lost
  const Result uninterrupted =
      run("mind_train" + tiny_flags + " --epochs " + epochs + " --checkpoint-every 5 --threads 2 --out " + straight);
  INFO(uninterrupted.output);
  REQUIRE(uninterrupted.exit_code == 0);
  for (const char* file : {"checkpoint.safetensors", "best.safetensors", "optimizer.safetensors"}) {
    INFO(file);
    CHECK(read_text(killed + "/" + file) == read_text(straight + "/" + file));
  }
  // train_state.json too, but for its wall-clock `seconds`, which no two runs share.
  nlohmann::json killed_state = nlohmann::json::parse(read_text(killed + "/train_state.json"));
  nlohmann::json straight_state = nlohmann::json::parse(read_text(straight + "/train_state.json"));
  killed_state.erase("seconds");
  straight_state.erase("seconds");
  CHECK(killed_state == straight_state);
  std::filesystem::remove_all(killed);
  std::filesystem::remove(output_path);
  std::filesystem::remove_all(straight);
}

TEST_CASE("programs: relative paths are stored absolute: --resume works from another directory, and refuses a changed log") {
  const std::string folder = temporary_path("relative");
  std::filesystem::create_directories(folder);
  {
    std::ofstream log(folder + "/log.csv");
    log << "user,item,timestamp\n";
    for (int user = 0; user < 60; ++user)
      for (int t = 0; t < 12; ++t) log << "u" << user << ",i" << (user * 7 + t * (1 + user % 3)) % 50 << "," << t << "\n";
  }
  const std::string model_flags = " --dim 8 --hidden 16 --negatives 10 --batch-size 64 --quiet";
  const Result first = run_from(folder, "mind_train --data log.csv --out run --epochs 1" + model_flags);
  INFO(first.output);
  REQUIRE(first.exit_code == 0);
  const std::string run_folder = folder + "/run";
  CHECK(mind::train::load_run_options(run_folder).data.data == std::filesystem::canonical(folder + "/log.csv").string());
  // From the root directory, and again from the training directory with the original (relative) command line.
  const Result elsewhere = run_from("/", "mind_train --resume " + run_folder + " --epochs 2 --quiet");
  INFO(elsewhere.output);
  CHECK(elsewhere.exit_code == 0);
  CHECK(elsewhere.output.find("resumed from " + run_folder) != std::string::npos);
  const Result repeated = run_from(folder, "mind_train --data log.csv --resume run --epochs 3" + model_flags);
  INFO(repeated.output);
  CHECK(repeated.exit_code == 0);
  // The same command without --resume: the folder holds a run.
  const Result again = run_from(folder, "mind_train --data log.csv --out run --epochs 1" + model_flags);
  CHECK(again.exit_code == 1);
  CHECK(again.output.find("--out run already holds a run") != std::string::npos);
  // The log grows: refused, naming the file.
  { std::ofstream(folder + "/log.csv", std::ios::app) << "u1,i3,99\n"; }
  const Result changed = run("mind_train --resume " + run_folder + " --epochs 4 --quiet");
  CHECK(changed.exit_code == 1);
  CHECK(changed.output.find("the input file " + std::filesystem::canonical(folder + "/log.csv").string() + " changed") !=
        std::string::npos);
  std::filesystem::remove_all(folder);
}

TEST_CASE("programs: mind_train --help documents every flag of the option table with its default") {
  const Result result = run("mind_train --help");
  CHECK(result.exit_code == 0);
  const mind::train::TrainOptions defaults;
  for (const mind::train::Option& option : mind::train::option_table()) {
    if (option.flag.empty()) continue;
    const size_t at = result.output.find("  " + option.flag + " ");
    CHECK_MESSAGE(at != std::string::npos, option.flag << " is missing from --help");
    const std::string shown = option.default_text.empty() ? option.format(defaults) : option.default_text;
    if (at == std::string::npos || option.is_switch() || shown.empty()) continue;
    const std::string line = result.output.substr(at, result.output.find('\n', at) - at);
    // A long flag's help wraps onto the next lines: its entry ends where the next flag starts.
    const std::string entry = result.output.substr(at, result.output.find("\n  -", at + 1) - at);
    CHECK_MESSAGE(line.find("=" + shown) != std::string::npos, line << " does not show the default " << shown);
    if (!option.range_text.empty())
      CHECK_MESSAGE(entry.find("(range " + option.range_text + ")") != std::string::npos, entry << " does not show its range");
  }
  CHECK(result.output.find("--config") != std::string::npos);  // not a table row: the file of flags
}

TEST_CASE("programs: the data-only programs' --seed says it seeds the synthetic dataset, not a model") {
  for (const char* program : {"mind_data_check", "mind_most_popular"}) {
    const Result result = run(std::string(program) + " --help");
    INFO(program << ": " << result.output);
    CHECK(result.exit_code == 0);
    CHECK(result.output.find("seed of the synthetic dataset") != std::string::npos);
    CHECK(result.output.find("shuffles") == std::string::npos);
  }
}

TEST_CASE("programs: mind_train --resume takes a repeated command line, and refuses a changed model option") {
  const std::string out = temporary_path("resume_flags");
  const Result first = run("mind_train" + tiny_flags + " --epochs 1 --out " + out);
  INFO(first.output);
  REQUIRE(first.exit_code == 0);
  std::string wider_flags = tiny_flags;
  wider_flags.replace(wider_flags.find("--dim 8"), 7, "--dim 16");
  const Result changed = run("mind_train" + wider_flags + " --epochs 2 --resume " + out);
  CHECK(changed.exit_code == 1);
  CHECK(changed.output.find("--dim cannot change on --resume: the run has '8', the command line says '16'") !=
        std::string::npos);
  const Result repeated = run("mind_train" + tiny_flags + " --epochs 2 --resume " + out);
  INFO(repeated.output);
  CHECK(repeated.exit_code == 0);
  CHECK(repeated.output.find("resumed from " + out + " at step 1") != std::string::npos);
  std::filesystem::remove_all(out);
}

TEST_CASE("programs: mind_train refuses bad input with a message naming the problem and exit code 1") {
  // A mistyped input path is refused before the output folder is made.
  const std::string never_written = temporary_path("never_written");
  const Result missing = run("mind_train --data /nonexistent/ratings_folder --out " + never_written);
  CHECK(missing.exit_code == 1);
  CHECK(missing.output.find("/nonexistent/ratings_folder") != std::string::npos);
  const std::string log = temporary_path("one_row") + ".csv";
  { std::ofstream(log) << "user,item,timestamp\nu,i,1\n"; }
  const Result missing_features =
      run("mind_train --data " + log + " --item-features /nonexistent/items.csv --out " + never_written);
  std::filesystem::remove(log);
  CHECK(missing_features.exit_code == 1);
  CHECK(missing_features.output.find("--item-features /nonexistent/items.csv: no such file") != std::string::npos);
  CHECK_FALSE(std::filesystem::exists(never_written));
  const Result bad_k = run("mind_train --interests 0 --out /tmp/mind_never_written");
  CHECK(bad_k.exit_code == 1);
  CHECK(bad_k.output.find("--interests") != std::string::npos);
  const Result bad_power = run("mind_train --attention-power soft --out /tmp/mind_never_written");
  CHECK(bad_power.exit_code == 1);
  CHECK(bad_power.output.find("--attention-power") != std::string::npos);
  // The training mechanisms refuse settings where they would do nothing, or could not.
  for (const char* flags : {"--routing-regularization 1", "--interest-selection sample --model youtube_dnn",
                            "--hard-negative-beta -1", "--hard-negative-beta 1 --loss full", "--weight-decay -0.5"}) {
    const std::string flag = std::string(flags).substr(0, std::string(flags).find(' '));
    const Result refused = run(std::string("mind_train ") + flags + " --out /tmp/mind_never_written");
    INFO(flags << ": " << refused.output);
    CHECK(refused.exit_code == 1);
    CHECK(refused.output.find(flag) != std::string::npos);
  }
}

TEST_CASE("programs: mind_train --config reads flags from a file, and the command line overrides it") {
  const std::string out = temporary_path("config_run");
  const std::string config = temporary_path("config") + ".toml";
  {
    std::ofstream file(config);
    file << "# a recipe\nsynthetic-users = 60\nsynthetic-items = 300\nsynthetic-categories = 30\ndim = 8\n"
            "hidden = 16\nnegatives = 40\nbatch-size = 128\ninterests = 3\nepochs = 1\nfold = 2\nquiet = true\n";
  }
  const Result result = run("mind_train --config " + config + " --interests 2 --out " + out);
  INFO(result.output);
  REQUIRE(result.exit_code == 0);
  const mind::train::TrainOptions saved = mind::train::load_run_options(out);
  CHECK(saved.model.interests == 2);  // the command line wins
  CHECK(saved.model.dim == 8);        // the file's
  CHECK(saved.data.fold == 2);
  CHECK(saved.epochs == 1);
  CHECK(saved.quiet == false);  // not saved in run.json; the file's 'quiet' still parsed without error
  // Fold 2 of 60 users tests positions 2, 12, ..., 52: six users, one row each.
  const std::string table = read_text(out + "/test_metrics_by_user.tsv");
  CHECK(table.rfind("user\trecall@20\trecall@50\thitrate@20\thitrate@50\tndcg@20\tndcg@50\n", 0) == 0);
  CHECK(std::count(table.begin(), table.end(), '\n') == 1 + 6);
  std::filesystem::remove_all(out);
  std::filesystem::remove(config);
}

TEST_CASE("programs: a bad --config file is refused naming the file and the line") {
  const std::string config = temporary_path("bad_config") + ".toml";
  {
    std::ofstream file(config);
    file << "interests = 2\n\nno-such-flag = 3\n";
  }
  const Result unknown = run("mind_train --config " + config + " --out /tmp/mind_never_written");
  INFO(unknown.output);
  CHECK(unknown.exit_code != 0);
  CHECK(unknown.output.find("error: --config " + config + ":3: 'no-such-flag' is not a flag of this program") !=
        std::string::npos);
  {
    std::ofstream file(config);
    file << "interests = many\n";
  }
  const Result bad_value = run("mind_train --config " + config + " --out /tmp/mind_never_written");
  INFO(bad_value.output);
  CHECK(bad_value.exit_code != 0);
  CHECK(bad_value.output.find("--interests") != std::string::npos);
  CHECK(bad_value.output.find("--config " + config) != std::string::npos);
  const Result missing = run("mind_train --config /nonexistent/recipe.toml --out /tmp/mind_never_written");
  CHECK(missing.exit_code != 0);
  CHECK(missing.output.find("/nonexistent/recipe.toml") != std::string::npos);
  std::filesystem::remove(config);
}

TEST_CASE("programs: --fold chooses the test users of mind_most_popular and is checked") {
  const std::string log = temporary_path("fold_log") + ".csv";
  {
    std::ofstream file(log);
    file << "user,item,timestamp\n";
    for (int user = 1; user <= 25; ++user) file << user << "," << user % 4 << ",1\n" << user << ",7,2\n";
  }
  // 25 users: fold 3 tests positions 3, 13, 23 and validates 2, 12, 22.
  const Result fold_3 = run("mind_most_popular --data " + log + " --fold 3");
  INFO(fold_3.output);
  CHECK(fold_3.exit_code == 0);
  CHECK(fold_3.output.find("split: train 19, valid 3, test 3 users") != std::string::npos);
  std::filesystem::remove(log);
  const Result bad = run("mind_most_popular --fold 10");
  CHECK(bad.exit_code != 0);
  CHECK(bad.output.find("--fold") != std::string::npos);
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

TEST_CASE("programs: every program refuses --seed -1 and a malformed number with the flag named, never wraps or aborts") {
  for (const char* program : {"mind_train --out /tmp/mind_never_written", "mind_most_popular", "mind_data_check"}) {
    const Result seed = run(std::string(program) + " --seed -1");
    INFO(program << ": " << seed.output);
    CHECK(seed.exit_code != 0);
    CHECK(seed.exit_code < 128);  // an error, not an abort
    CHECK(seed.output.find("--seed must be at least 0, got -1") != std::string::npos);
  }
  const Result fold = run("mind_most_popular --fold x");
  INFO(fold.output);
  CHECK(fold.exit_code == 105);  // CLI11's validation error, not std::terminate
  CHECK(fold.output.find("--fold: 'x' is not an integer") != std::string::npos);
}

TEST_CASE("programs: a huge --max-len, --dim or --hidden is refused at once with the flag and the estimate, leaving no run in --out") {
  for (const char* flags : {"--max-len 1000000000", "--dim 100000000 --hidden 8", "--hidden 1000000000"}) {
    const std::string flag = std::string(flags).substr(0, std::string(flags).find(' '));
    const Result refused = run(std::string("mind_train --synthetic-users 100 --synthetic-items 200 "
                                           "--synthetic-categories 20 --negatives 50 ") +
                               flags + " --out " + temporary_path("huge"));
    INFO(flags << ": " << refused.output);
    CHECK(refused.exit_code == 1);
    CHECK(refused.output.find("the model and a training step need at least") != std::string::npos);
    const std::string flag_and_value = std::string(flags).substr(0, std::string(flags).find(' ', flag.size() + 1));
    CHECK(refused.output.find(flag_and_value) != std::string::npos);
    // The refused run left no run.json, so the corrected command may use the same --out.
    CHECK_FALSE(std::filesystem::exists(temporary_path("huge") + "/run.json"));
    std::filesystem::remove_all(temporary_path("huge"));
  }
  const std::string out = temporary_path("corrected");
  const std::string small = "mind_train --synthetic-users 100 --synthetic-items 200 --synthetic-categories 20 --max-steps 1 --dim 8 ";
  CHECK(run(small + "--negatives 500 --out " + out).exit_code == 1);  // M >= N, known only from the data
  CHECK(run(small + "--max-len 1000000000 --out " + out).exit_code == 1);
  const Result corrected = run(small + "--negatives 50 --out " + out);
  INFO(corrected.output);
  CHECK(corrected.exit_code == 0);
  std::filesystem::remove_all(out);
}

TEST_CASE("programs: a log without validation or test users stops before training; no metric over zero users") {
  const std::string log = temporary_path("three_users") + ".csv";
  {
    std::ofstream file(log);
    file << "user,item,timestamp\n1,1,1\n1,2,2\n2,1,1\n2,3,2\n3,2,3\n3,3,4\n3,3,4\n";
  }
  const Result trained = run("mind_train --data " + log + " --out " + temporary_path("three_users_run"));
  INFO(trained.output);
  CHECK(trained.exit_code == 1);
  CHECK(trained.output.find("too small to evaluate: 3 users give 0 validation and 0 test users") != std::string::npos);
  CHECK(trained.output.find("--split none") != std::string::npos);
  CHECK(trained.output.find(" profile fields, 1 exact duplicate rows (kept: protocol v1 counts every row)\n") !=
        std::string::npos);
  CHECK(trained.output.find("Recall") == std::string::npos);
  CHECK(!std::filesystem::exists(temporary_path("three_users_run") + "/metrics.jsonl"));
  const Result popular = run("mind_most_popular --data " + log);
  INFO(popular.output);
  CHECK(popular.output.find("recall@20 0.0000") == std::string::npos);
  CHECK(popular.output.find("no evaluated users, no metrics") != std::string::npos);
  std::filesystem::remove(log);
  std::filesystem::remove_all(temporary_path("three_users_run"));
}

TEST_CASE("programs: into a file, stdout lines appear as they happen, and SIGTERM stops mind_train with 128 + 15") {
  const std::string out = temporary_path("line_buffered"), output_path = out + ".log";
  // The default synthetic log: its first validation is an epoch (hundreds of steps) away.
  const std::vector<std::string> arguments = {std::string(MIND_BINARY_DIR) + "/mind_train", "--epochs", "1",
                                              "--threads", "1", "--quiet", "--out", out};
  BackgroundProgram program(arguments, output_path);
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (read_text(output_path).find("\nmodel: ") == std::string::npos && program.running() &&
         std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  const std::string early = read_text(output_path);
  INFO(early);
  REQUIRE(program.running());
  CHECK(early.find("data: synthetic") != std::string::npos);
  CHECK(early.find("\nmodel: ") != std::string::npos);
  CHECK(early.find("valid:") == std::string::npos);  // seen before the first validation, not with it
  program.send(SIGTERM);
  CHECK(program.wait() == 128 + SIGTERM);
  CHECK(read_text(output_path).find("interrupted at step ") != std::string::npos);
  std::filesystem::remove_all(out);
  std::filesystem::remove(output_path);
}

TEST_CASE("programs: --threads above the cores is capped with one warning, in mind_train and mind_recommend") {
  const Result recommend = run("mind_recommend --run " + tiny_run() + " --user 9 --top 3 --threads 1000");
  INFO(recommend.output);
  CHECK(recommend.exit_code == 0);
  CHECK(recommend.output.find("warning: --threads 1000 is more than the ") != std::string::npos);
  const std::string out = temporary_path("many_threads");
  const Result train = run("mind_train" + tiny_flags + " --epochs 1 --threads 1000 --out " + out);
  INFO(train.output);
  CHECK(train.exit_code == 0);
  const size_t first = train.output.find("warning: --threads 1000 is more than the ");
  CHECK(first != std::string::npos);
  CHECK(train.output.find("warning: --threads", first + 1) == std::string::npos);  // once
  std::filesystem::remove_all(out);
}

TEST_CASE("programs: bad numeric flags (--threads -2, --lr inf, --negatives 0, --profile-width 0, ...) are refused before any work, naming the flag and the value") {
  const std::string movielens = std::string(MIND_SOURCE_DIR) + "/datasets/ml-latest-small";
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"--threads -2", "--threads must be at least 0, got -2"},
      {"--seed -1", "--seed must be at least 0, got -1"},
      {"--clip-norm nan", "--clip-norm must be a finite number, got nan"},
      {"--clip-norm inf", "--clip-norm must be a finite number, got inf"},
      {"--diversity-weight inf", "--diversity-weight must be a finite number, got inf"},
      {"--lr inf", "--lr must be a finite number, got inf"},
      {"--negatives 0", "--negatives must be at least 1, got 0"},
      {"--profile-width 0", "--profile-width must be at least 1, got 0"},
      {"--profile-width -1", "--profile-width must be at least 1, got -1"},
      // MovieLens latest has no profile field: the width is refused all the same.
      {"--data " + movielens + " --profile-width -1", "--profile-width must be at least 1, got -1"},
  };
  for (const auto& [flags, message] : cases) {
    const Result refused = run("mind_train " + flags + " --out /tmp/mind_never_written");
    INFO(flags << ": " << refused.output);
    CHECK(refused.exit_code == 1);
    CHECK(refused.output.find("error: " + message + "\n") != std::string::npos);
    CHECK(refused.output.find("data:") == std::string::npos);  // refused before loading
  }
}
