// mind_most_popular: applies protocol v1 to a log and prints the split, the sample counts and
// the Most-Popular baseline's Recall/HitRate/NDCG @20/@50. These numbers depend on nothing but
// the protocol, so they are the first check that two implementations read the data alike.
#include <CLI/CLI.hpp>

#include "tools/data_flags.h"

#include <chrono>
#include <cstdio>
#include <exception>
#include <iostream>
#include <optional>
#include <string>

#include "data/dataset.h"
#include "data/load.h"
#include "data/most_popular.h"
#include "train/evaluation_checks.h"
#include "train/progress.h"

namespace {

void print_result(const char* split, const mind::data::EvalResult& result) {
  if (result.user_count == 0) {  // a mean over nobody is no number
    std::printf("most-popular %-5s users      0  no evaluated users, no metrics\n", split);
    return;
  }
  std::printf(
      "most-popular %-5s users %6lld  recall@20 %.4f  hitrate@20 %.4f  ndcg@20 %.4f  "
      "recall@50 %.4f  hitrate@50 %.4f  ndcg@50 %.4f\n",
      split, static_cast<long long>(result.user_count), result.at_20.recall, result.at_20.hit_rate,
      result.at_20.ndcg, result.at_50.recall, result.at_50.hit_rate, result.at_50.ndcg);
}

}  // namespace

int main(int argc, char** argv) {
  std::setvbuf(stdout, nullptr, _IOLBF, 0);  // each line as it is printed, also into a pipe
  CLI::App app{"Protocol v1 counts and the Most-Popular baseline on an interaction log."};
  app.option_defaults()->always_capture_default();
  mind::data::DataOptions options;
  bool keep_history = false;
  mind::tools::add_data_flags(app, options, /*with_fold=*/true);
  app.add_flag(
      "--keep-history", keep_history,
      "do not exclude the user's history from the recommendations (protocol v1 excludes it)");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& error) {
    return app.exit(error);
  }

  try {
    const std::chrono::steady_clock::time_point start = std::chrono::steady_clock::now();
    mind::train::Progress progress(false);  // on stderr, once loading has taken 2 s
    const mind::data::InteractionLog log =
        mind::data::load_interactions(options, mind::train::loading_progress(progress));
    progress.finish();
    const mind::data::Dataset dataset = mind::data::build_dataset(log, options.fold);
    const std::chrono::duration<double> prepared = std::chrono::steady_clock::now() - start;
    std::printf(
        "source %s: %lld users, %lld items (%lld seen in training), %lld interactions "
        "(loaded and prepared in %.2f s)\n",
        dataset.source.c_str(), static_cast<long long>(dataset.user_count),
        static_cast<long long>(dataset.item_count),
        static_cast<long long>(dataset.train_item_count),
        static_cast<long long>(dataset.interaction_count), prepared.count());
    if (dataset.users_without_interactions > 0 || dataset.items_without_interactions > 0) {
      std::printf("left out: %lld listed users and %lld listed items without any interaction\n",
                  static_cast<long long>(dataset.users_without_interactions),
                  static_cast<long long>(dataset.items_without_interactions));
    }
    std::printf("split: train %zu, valid %zu, test %zu users\n", dataset.train_users.size(),
                dataset.valid_users.size(), dataset.test_users.size());
    std::printf("training samples: %lld\n", static_cast<long long>(dataset.training_sample_count));
    std::printf(
        "evaluated users: valid %zu (%lld with < 2 interactions left out), "
        "test %zu (%lld left out)\n",
        mind::data::evaluation_users(dataset, mind::data::Split::valid).size(),
        static_cast<long long>(dataset.valid_users_too_short),
        mind::data::evaluation_users(dataset, mind::data::Split::test).size(),
        static_cast<long long>(dataset.test_users_too_short));
    const bool exclude_history = !keep_history;
    for (mind::data::Split split : {mind::data::Split::valid, mind::data::Split::test})
      if (const std::optional<std::string> warning =
              mind::train::all_targets_in_history_warning(dataset, split, exclude_history, "--keep-history"))
        std::cerr << *warning << "\n";
    print_result("valid", mind::data::evaluate_most_popular(dataset, mind::data::Split::valid,
                                                            exclude_history));
    print_result("test", mind::data::evaluate_most_popular(dataset, mind::data::Split::test,
                                                           exclude_history));
  } catch (const std::exception& error) {
    std::cerr << "error: " << error.what() << "\n";
    return 1;
  }
  return 0;
}
