// What the trainer tests share: a fresh temporary output folder, a tiny fixed-seed run's
// options, and a file's bytes (checkpoints are compared byte for byte).
#pragma once
#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include <unistd.h>

#include "train/options.h"

namespace mind::testing {

// An empty folder in the temp directory, unique to this process and `name`.
inline std::string fresh_folder(const std::string& name) {
  const std::filesystem::path folder = std::filesystem::temp_directory_path() /
                                       ("mind_train_test_" + name + "_" + std::to_string(::getpid()));
  std::filesystem::remove_all(folder);
  return folder.string();
}

// Small enough for CI under AddressSanitizer: 400 users, 300 items, 30 categories, d = 8.
inline train::TrainOptions tiny_options(const std::string& out) {
  train::TrainOptions options;
  options.data.synthetic.users = 400;
  options.data.synthetic.items = 300;
  options.data.synthetic.categories = 30;
  options.data.synthetic.min_length = 8;
  options.data.synthetic.max_length = 16;
  options.data.synthetic.segments = 4;
  options.model.dim = 8;
  options.model.hidden = {16};
  options.model.profile_width = 4;
  options.model.attention_width = 32;
  options.model.negatives = 40;
  options.batch_size = 64;
  options.epochs = 2;
  options.patience = 0;
  options.eval_batch_size = 64;
  options.quiet = true;
  options.out = out;
  return options;
}

inline std::string file_bytes(const std::string& path) {
  std::ifstream file(path, std::ios::binary);
  REQUIRE_MESSAGE(file, "cannot open " << path);
  std::stringstream bytes;
  bytes << file.rdbuf();
  return bytes.str();
}

}  // namespace mind::testing
