// mind_data_check: loads an interaction log exactly as the trainer would and prints what it
// holds and how long reading took. With --generate-csv it instead writes a random N-row CSV log
// for timing the reader. It does not apply the protocol (split, remapping): see data/dataset.h.
#include <CLI/CLI.hpp>

#include "tools/data_flags.h"

#include <charconv>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <iostream>
#include <stdexcept>
#include <string>
#include <vector>

#include "autograd/random.h"
#include "data/interaction_log.h"
#include "data/load.h"
#include "train/progress.h"

namespace {

// Appends `value` in decimal to `text` without a temporary string.
void append_number(std::string& text, int64_t value) {
  char digits[24];
  const std::to_chars_result result = std::to_chars(digits, digits + sizeof(digits), value);
  text.append(digits, result.ptr);
}

// A log shaped like a real one for timing purposes: users uniform, item popularity skewed
// (item = items * u^2 puts most rows on the low ids), rows in random user order.
void write_timing_csv(const std::string& path, int64_t rows, uint64_t seed) {
  if (rows <= 0) throw std::runtime_error("--rows must be positive, got " + std::to_string(rows));
  std::FILE* file = std::fopen(path.c_str(), "wb");
  if (file == nullptr) throw std::runtime_error("cannot create '" + path + "'");
  mind::Rng rng(seed);
  const uint64_t user_count = static_cast<uint64_t>(rows / 50 + 1);
  const uint64_t item_count = static_cast<uint64_t>(rows / 10 + 1);
  std::string block = "user,item,timestamp\n";
  for (int64_t row = 0; row < rows; ++row) {
    const double skew = rng.uniform();
    const int64_t user = static_cast<int64_t>(rng.below(user_count));
    const int64_t item = static_cast<int64_t>(static_cast<double>(item_count) * skew * skew);
    const int64_t timestamp = 1500000000 + row * 7 + static_cast<int64_t>(rng.below(1000));
    append_number(block, user);
    block.push_back(',');
    append_number(block, item);
    block.push_back(',');
    append_number(block, timestamp);
    block.push_back('\n');
    if (block.size() > (size_t{1} << 20) || row + 1 == rows) {
      if (std::fwrite(block.data(), 1, block.size(), file) != block.size()) {
        std::fclose(file);
        throw std::runtime_error("error writing '" + path + "'");
      }
      block.clear();
    }
  }
  if (std::fclose(file) != 0) throw std::runtime_error("error writing '" + path + "'");
}

void print_summary(const mind::data::InteractionLog& log, double milliseconds) {
  size_t items_with_categories = 0;
  for (const std::vector<uint32_t>& categories : log.item_categories) {
    if (!categories.empty()) ++items_with_categories;
  }
  std::cout << "source: " << log.source << "\n"
            << "users: " << log.user_ids.size() << "\n"
            << "items: " << log.item_ids.size() << "\n"
            << "interactions: " << log.interactions.size() << "\n"
            << "exact duplicate rows: " << log.duplicate_rows << " (kept: protocol v1 counts every row)\n"
            << "categories: " << log.category_names.size() << " (items with at least one: "
            << items_with_categories << ")\n"
            << "titles: " << (log.item_titles.empty() ? "no" : "yes") << "\n"
            << "profile fields: " << log.profile_field_names.size();
  for (size_t field = 0; field < log.profile_field_names.size(); ++field) {
    std::cout << (field == 0 ? " (" : ", ") << log.profile_field_names[field] << ": "
              << log.profile_values[field].size() << " values";
  }
  std::cout << (log.profile_field_names.empty() ? "" : ")") << "\n";
  std::printf("load time: %.1f ms\n", milliseconds);
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Load an interaction log as mind_train would and print its counts and load time."};
  app.option_defaults()->always_capture_default();
  mind::data::DataOptions options;
  std::string generate_path;
  int64_t rows = 1000000;
  mind::tools::add_data_flags(app, options);
  app.add_option("--generate-csv", generate_path,
                 "instead of loading, write a random CSV log (user,item,timestamp) to this path");
  app.add_option("--rows", rows, "rows written by --generate-csv")->check(CLI::Range(int64_t{1}, INT64_MAX));

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& error) {
    if (error.get_exit_code() == 0) return app.exit(error);  // --help
    std::cerr << "error: " << error.what() << "\n";
    return 1;
  }

  try {
    if (!generate_path.empty()) {
      write_timing_csv(generate_path, rows, options.synthetic.seed);
      std::cout << "wrote " << rows << " rows to " << generate_path << "\n";
      return 0;
    }
    const std::chrono::steady_clock::time_point start = std::chrono::steady_clock::now();
    mind::train::Progress progress(false);  // on stderr, once loading has taken 2 s
    const mind::data::InteractionLog log =
        mind::data::load_interactions(options, mind::train::loading_progress(progress));
    progress.finish();
    const std::chrono::duration<double, std::milli> elapsed = std::chrono::steady_clock::now() - start;
    print_summary(log, elapsed.count());
  } catch (const std::exception& error) {
    std::cerr << "error: " << error.what() << "\n";
    return 1;
  }
  return 0;
}
