// The data flags every program shares (--data, --format, --columns, --delimiter,
// --item-features, --user-features; --fold where the log is split), so they read and mean the same
// everywhere. They are rows of the option table (train/option_table.cpp); DataOptions is
// documented in data/load.h.
#pragma once
#include <CLI/CLI.hpp>

#include <memory>

#include "data/load.h"
#include "tools/option_flags.h"

namespace mind::tools {

// Adds the data flags to `app`; when parsing completes, their values are in `options` (a value
// out of range is a CLI11 validation error naming the flag).
// `with_fold`: also --fold, for the programs that split the log into train/valid/test users
// (not mind_data_check, which only reads it). --seed is the table's row too (its range refuses
// -1, which CLI11 would wrap to 2^64-1); here it seeds only the synthetic dataset, and its help
// says so.
inline void add_data_flags(CLI::App& app, data::DataOptions& options, bool with_fold = false) {
  std::vector<train::Option> rows = train::data_option_table();
  if (with_fold) rows.push_back(train::find_option("--fold"));
  train::Option seed = train::find_option("--seed");
  seed.help = "seed of the synthetic dataset (and of mind_data_check --generate-csv)";
  seed.group = "Data";
  rows.push_back(seed);
  auto flags = std::make_shared<OptionFlags>(app, rows);
  app.parse_complete_callback([flags, &options] {
    train::TrainOptions holder;
    holder.data = options;
    try {
      flags->apply(holder, /*fresh_run=*/true);
    } catch (const std::invalid_argument& error) {  // a row's parse names its flag ("--fold: 'x' is not an integer")
      throw CLI::ValidationError(error.what());
    }
    for (const train::Option& option : flags->rows()) {
      const std::string problem = option.check(holder);
      if (!problem.empty()) throw CLI::ValidationError(option.flag, problem);
    }
    options = holder.data;
  });
}

}  // namespace mind::tools
