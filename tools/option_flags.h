// The command-line side of the option table (train/option_table.h): one CLI11 flag per row, with
// the row's help, type and default, and the given flags applied to a TrainOptions in table order
// (so that "--hidden 2d" sees --dim). A flag's text is turned into a value by the row itself,
// whose error names the flag.
#pragma once
#include <CLI/CLI.hpp>

#include <map>
#include <string>
#include <vector>

#include "train/option_table.h"

namespace mind::tools {

class OptionFlags {
 public:
  // Adds a flag to `app` for every row of `table` that has one.
  OptionFlags(CLI::App& app, std::vector<train::Option> table) : app_(app), table_(std::move(table)) {
    const train::TrainOptions defaults;
    for (const train::Option& option : table_) {
      if (option.flag.empty()) continue;
      if (option.is_switch()) {
        app.add_flag(option.flag, option.help)->group(option.group);
        continue;
      }
      const std::string shown = option.default_text.empty() ? option.format(defaults) : option.default_text;
      const std::string help = option.range_text.empty() ? option.help : option.help + " (range " + option.range_text + ")";
      app.add_option(option.flag, texts_[option.flag], help)
          ->type_name(option.type_name)
          ->default_str(shown)
          ->group(option.group);
    }
  }
  const std::vector<train::Option>& rows() const { return table_; }

  OptionFlags(const OptionFlags&) = delete;  // CLI11 writes into texts_
  OptionFlags& operator=(const OptionFlags&) = delete;

  // Sets `options` from the flags the command line gave, in table order. On a fresh run, a row
  // whose default depends on other flags ("2d") gets that default when its flag is absent.
  void apply(train::TrainOptions& options, bool fresh_run) const {
    for (const train::Option& option : table_) {
      if (option.flag.empty()) continue;
      if (app_.count(option.flag) > 0)
        option.parse(options, option.is_switch() ? std::string() : texts_.at(option.flag));
      else if (fresh_run && !option.default_text.empty())
        option.parse(options, option.default_text);
    }
  }

 private:
  CLI::App& app_;
  std::vector<train::Option> table_;
  std::map<std::string, std::string> texts_;  // flag → its text on the command line
};

}  // namespace mind::tools
