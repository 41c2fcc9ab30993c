// mind_train: train, evaluate and export a multi-interest retrieval model.
// With no argument it trains MIND on the built-in synthetic dataset (planted interests) and
// ends with the test metrics and the interest diagnostics. All the work is in train/trainer.cpp;
// this file only turns the command line into TrainOptions. Every flag is a row of the option
// table (train/option_table.cpp).
#include <CLI/CLI.hpp>

#include <cstdio>
#include <iostream>

#include "tools/config_flag.h"
#include "tools/option_flags.h"
#include "train/input_files.h"
#include "train/option_table.h"
#include "train/trainer.h"

using mind::train::TrainOptions;

namespace {

// --resume DIR: the saved run's options, with the command line applied. A flag may repeat the
// saved value; only the options that say how long or how visibly to train may change.
TrainOptions resumed_options(const mind::tools::OptionFlags& flags, const std::string& folder) {
  TrainOptions saved = mind::train::load_run_options(folder);
  saved.out = folder;  // the outputs are updated where they are
  saved.resume = folder;
  TrainOptions options = saved;
  flags.apply(options, /*fresh_run=*/false);
  mind::train::make_paths_absolute(options);  // a repeated relative --data means the saved absolute one
  mind::train::check_resume_changes(saved, options);
  return options;
}

}  // namespace

int main(int argc, char** argv) {
  // Line-buffered stdout also into a pipe or a file, so that the data:, model: and validation
  // lines appear when they happen, in order with the progress on stderr.
  std::setvbuf(stdout, nullptr, _IOLBF, 0);
  CLI::App app{"mind_train: train MIND (or a baseline) on an interaction log, evaluate it under protocol v1, "
               "and export checkpoints and embeddings.\nWith no argument: MIND on the synthetic dataset."};
  app.get_formatter()->column_width(34);
  const mind::tools::OptionFlags flags(app, mind::train::option_table());
  const CLI::Option* config_file = mind::tools::add_config_flag(app);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& error) {
    return mind::tools::report_parse_error(app, error, config_file);
  }

  TrainOptions options;
  try {
    flags.apply(options, /*fresh_run=*/true);
    if (!options.resume.empty()) options = resumed_options(flags, options.resume);
  } catch (const std::exception& error) {
    // A value the table refuses may have come from the --config file: say where to look.
    std::cerr << "error: " << error.what();
    if (config_file->count() > 0)
      std::cerr << " (flags came from --config " << config_file->as<std::string>() << " and the command line)";
    std::cerr << "\n";
    return 1;
  }
  try {
    const mind::train::TrainReport report = mind::train::run_training(options, std::cout);
    // Killed by a signal, a shell reports 128 + its number (130 for Ctrl-C); say the same after
    // stopping cleanly, so scripts can tell an interrupted run from a finished one.
    if (report.interrupted_by_signal != 0) return 128 + report.interrupted_by_signal;
  } catch (const std::exception& error) {
    std::cerr << "error: " << error.what() << "\n";
    return 1;
  }
  return 0;
}
