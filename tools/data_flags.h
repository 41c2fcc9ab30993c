// The data flags every program shares (--data, --format, --columns, --delimiter,
// --item-features, --user-features; --fold where the log is split), so they read and mean the same
// everywhere.
// Documented in data/load.h, where DataOptions is.
#pragma once
#include <CLI/CLI.hpp>

#include "data/load.h"

namespace mind::tools {

inline void add_data_flags(CLI::App& app, data::DataOptions& options) {
  app.add_option("--data", options.data,
                 "'synthetic', a .csv/.tsv log, or a MovieLens folder (ml-latest(-small), ml-20m/25m, ml-1m, ml-100k)")
      ->capture_default_str()->group("Data");
  app.add_option("--format", options.format, "auto|csv|movielens|movielens-1m|movielens-100k|synthetic")
      ->capture_default_str()->group("Data")
      ->check(CLI::IsMember({"auto", "csv", "movielens", "movielens-1m", "movielens-100k", "synthetic"}));
  app.add_option("--columns", options.columns,
                 "CSV/TSV: header columns as user=COL,item=COL,time=COL (default user,item,timestamp)")
      ->group("Data");
  app.add_option("--delimiter", options.delimiter, "CSV/TSV: one character, 'tab' or 'comma' (default: detect)")
      ->group("Data");
  app.add_option("--item-features", options.item_features,
                 "CSV of item,categories[,title] ('|' between categories) for a generic log")->group("Data");
  app.add_option("--user-features", options.user_features, "CSV of user,FIELD,... (categorical profile fields)")
      ->group("Data");
}

// --fold, for the programs that split the log into train/valid/test users (not mind_data_check,
// which only reads it).
inline void add_fold_flag(CLI::App& app, data::DataOptions& options) {
  app.add_option("--fold", options.fold,
                 "test users are those at position u (in id order) with u % 10 == FOLD, validation users "
                 "u % 10 == (FOLD + 9) % 10; 9 is protocol v1")
      ->capture_default_str()->group("Data")->check(CLI::Range(0, 9));
}

}  // namespace mind::tools
