// The files a run reads, and their fingerprints in run.json: --resume trains on exactly the data
// the run started with, or refuses naming the file that changed. A log that grew, was rewritten in
// another row order, or a features file edited in place would otherwise move trained rows to other
// items silently (dense ids follow the data).
#pragma once
#include <nlohmann/json_fwd.hpp>

#include <cstdint>
#include <string>
#include <vector>

#include "data/load.h"
#include "train/options.h"

namespace mind::train {

struct InputFile {
  std::string path;   // absolute
  uint64_t bytes = 0;
  uint64_t hash = 0;  // content_hash of the bytes
};

// A 64-bit hash of the file's bytes (an xxHash64-style single lane, written here so that the value
// never depends on a library version): words of 8 bytes little-endian, then the tail, then the
// length. Throws std::runtime_error naming the file when it cannot be read.
uint64_t content_hash(const std::string& path);

// The files `data` makes the readers open, absolute, in a fixed order: a CSV/TSV log; a MovieLens
// folder's ratings, movies and users files that exist; --item-features and --user-features. None
// for the synthetic dataset.
std::vector<std::string> input_paths(const data::DataOptions& data);

// input_paths with each file's size and hash.
std::vector<InputFile> fingerprint_inputs(const data::DataOptions& data);

// run.json's "inputs": [{"path": ..., "bytes": ..., "hash": "16 hex digits"}, ...].
nlohmann::json inputs_to_json(const std::vector<InputFile>& inputs);
std::vector<InputFile> inputs_from_json(const nlohmann::json& inputs, const std::string& source);

// Throws std::runtime_error naming the folder and the first input that is new, gone, or has
// another size or hash than `recorded`.
void require_same_inputs(const std::string& folder, const std::vector<InputFile>& recorded,
                         const std::vector<InputFile>& now);

// Every path option (the option table's rows marked .is_path()) made absolute and normal, so that
// run.json means the same files from any working directory. The word "synthetic" stays a word.
void make_paths_absolute(TrainOptions& options);

}  // namespace mind::train
