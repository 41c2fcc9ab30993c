// The one entry point for getting an interaction log: load_interactions(DataOptions) picks the
// reader from --data and --format and adds the optional feature files. The readers themselves
// are declared in data/readers.h; the command-line flags that fill DataOptions live in tools/.
#pragma once
#include <functional>
#include <string>

#include "data/dataset.h"
#include "data/interaction_log.h"
#include "data/progress_report.h"
#include "data/synthetic.h"
#include "data/text_reader.h"

namespace mind::data {

struct DataOptions {
  // What to read: the word "synthetic" (the built-in dataset with planted interests), a
  // .csv/.tsv log file, or a MovieLens folder. To read a folder that is called "synthetic",
  // write it as "./synthetic".
  std::string data = "synthetic";

  // How to read it:
  //   auto            decide from `data` (below);
  //   csv             a delimited log with a header row (any file name);
  //   movielens       a folder with ratings.csv (+ movies.csv): ml-latest, -small, -20m, -25m;
  //   movielens-1m    a folder with ratings.dat (+ movies.dat, users.dat);
  //   movielens-100k  a folder with u.data (+ u.item, u.user);
  //   synthetic       the built-in dataset (then `data` must be left at "synthetic").
  // auto: "synthetic" is the built-in dataset; a folder holding ratings.csv and movies.csv is
  // MovieLens CSV, one holding ratings.dat is MovieLens-1M, one holding u.data MovieLens-100K;
  // a file ending in .csv or .tsv is a generic log. Anything else is an error saying what was
  // looked for.
  std::string format = "auto";

  // CSV/TSV logs only: which header columns hold the user, the item and the timestamp, as
  // "user=COL,item=COL,time=COL" (any subset; "" means user, item, timestamp).
  std::string columns;

  // CSV/TSV logs only: the field delimiter: "" detects it from the header (tab if the header
  // holds one, else comma); otherwise one character, "tab" or "comma".
  std::string delimiter;

  // Optional item features file (header item,categories[,title]; categories '|'-separated).
  // Not for logs that bring their own item features (MovieLens movies files, synthetic).
  std::string item_features;

  // Optional user features file (header user,FIELD,...; each field categorical; users without
  // a row get the value "(missing)"). Not for logs that bring their own (ML-1M/100K users
  // files, synthetic).
  std::string user_features;

  // The built-in dataset's size, shape and seed (used when the format is synthetic).
  SyntheticOptions synthetic;

  // Which tenth of the users is tested (0..9, see build_dataset in data/dataset.h); not used by
  // load_interactions itself, but carried here so every program that splits a log and every
  // run.json agree on it. The default is protocol v1's split.
  int64_t fold = protocol_v1_fold;

  // "users": hold out the fold's validation and test users (protocol v1); "none": every user
  // trains and nothing is evaluated (UserSplit in data/dataset.h). Carried here like `fold`.
  std::string split = "users";
};

// Where load_interactions tells how far it has got; both parts are optional.
struct LoadProgress {
  // Asked once per file as its reading starts (the log, then --item-features, then
  // --user-features) for the report that is told the bytes read of that file.
  std::function<ProgressReport(const std::string& path)> reading;
  // Told the users generated so far of the built-in synthetic dataset.
  ProgressReport generating;
};

// Reads (or generates) the log described by `options`. Throws std::runtime_error with a message
// naming the file, the line and the problem (or the option and the problem).
InteractionLog load_interactions(const DataOptions& options, const LoadProgress& progress = {});

// Every input path of `options` exists: the log file or MovieLens folder (unless the data is
// synthetic) and the feature files; throws naming the flag and the path otherwise. Cheap: the
// programs call it before they create anything, so that a mistyped path leaves nothing behind.
void require_inputs_exist(const DataOptions& options);

// How many rows of `log` repeat an earlier row exactly (same user, item and timestamp).
uint64_t count_duplicate_rows(const InteractionLog& log);

// The format `auto` resolves to for `data` ("csv", "movielens", "movielens-1m",
// "movielens-100k" or "synthetic"); throws saying what was looked for when it is none of them.
std::string detect_format(const std::string& data);

}  // namespace mind::data
