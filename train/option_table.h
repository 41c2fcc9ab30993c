// Every option of a training run, declared once. One row of the table says everything about an
// option: its flag, its --help line and section, its type, its range or allowed values, whether it
// may change on --resume, and where run.json and a checkpoint's __metadata__ keep it. The flags of
// mind_train (tools/option_flags.h), their range checks, run.json (train/options.cpp), the
// checkpoint metadata (train/checkpoint.cpp) and the --resume comparison all read this table, so
// a new option cannot be saved but not loaded, or locked but not saved.
//
// Adding an option:
//   1. add the member, with its default, to ModelConfig (models/model.h), DataOptions
//      (data/load.h) or TrainOptions (train/options.h);
//   2. add one row in option_table.cpp, in the section of its --help group, e.g.
//        table.push_back(integer("--dim", "Model", "embedding width d", at_least(1),
//                                [](TrainOptions& o) -> int64_t& { return o.model.dim; })
//                            .saved_as("/model/dim").in_metadata("d"));
//      (`.may_change_on_resume()` for options that only say how long or how visibly to train;
//      `.in_metadata(key)` for hyper-parameters a checkpoint reader needs to rebuild the model).
// That is all: --help, the flag, its check, run.json, the metadata and --resume follow, and the
// tests (tests/train/test_option_table.cpp) cover the new row without being told about it.
#pragma once
#include <nlohmann/json.hpp>

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "train/options.h"

namespace mind::train {

struct Option {
  std::string flag;   // "--dim"; empty for a value saved in run.json but set through another flag
  std::string group;  // the --help section: Data, Model, Training or Output
  std::string help;   // one line for --help (the default is shown beside it)
  std::string type_name;  // INT, NUMBER, TEXT, or empty for a switch (a flag without value)
  // Shown as the default in --help when the struct's default is not what the command line writes
  // ("2d" for --hidden), and applied on a fresh run when the flag is absent, because such a
  // default depends on other flags (twice --dim). Empty: the struct's default, formatted.
  std::string default_text;
  std::string run_key;       // where run.json keeps it, as a JSON pointer ("/model/dim"); "" = not saved
  std::string metadata_key;  // its key in a checkpoint's __metadata__; "" = not there
  bool changes_on_resume = false;  // may a --resume command line give it another value?
  bool is_path = false;  // a file or folder: stored absolute (train/input_files.h)
  // The values it takes, as --help shows them ("[1, 9]", ">= 1", "> 0, finite"); empty for a
  // switch and for text without a fixed list of values.
  std::string range_text;

  // The value as text: --help's default, the checkpoint metadata, and what --resume compares.
  std::function<std::string(const TrainOptions&)> format;
  // Sets the value from the command line's text ("" for a switch). Throws std::invalid_argument
  // naming the flag when the text is not a value of this option's type.
  std::function<void(TrainOptions&, const std::string&)> parse;
  // The value in run.json, and back (throws nlohmann::json::exception on a wrong JSON type).
  std::function<nlohmann::json(const TrainOptions&)> to_json;
  std::function<void(TrainOptions&, const nlohmann::json&)> from_json;
  // "" when the value is in range, else the problem ("must be at least 1, got 0"), without the flag.
  std::function<std::string(const TrainOptions&)> check;

  bool is_switch() const { return type_name.empty(); }

  // The row's optional parts, chained after the constructor function (integer, text, ...).
  Option saved_as(const std::string& key) const;
  Option in_metadata(const std::string& key) const;
  Option may_change_on_resume() const;
  Option with_default_text(const std::string& text) const;
  Option as_path() const;
};

// Every option of mind_train, in --help order.
const std::vector<Option>& option_table();

// The rows of the data flags every program shares (--data, --format, --columns, --delimiter,
// --item-features, --user-features); not --fold, which only the programs that split take.
std::vector<Option> data_option_table();

// The option of `flag` ("--dim"); throws std::invalid_argument when there is none.
const Option& find_option(const std::string& flag);

// Checks every option's range; throws std::invalid_argument naming the first bad flag and value.
void check_options(const TrainOptions& options);

// For --resume: `resumed` is the saved run's options with the command line applied. Throws
// std::invalid_argument for the first option that may not change and did, naming its flag and
// both values ("--dim cannot change on --resume: the run has 64, the command line says 32").
void check_resume_changes(const TrainOptions& saved, const TrainOptions& resumed);

}  // namespace mind::train
