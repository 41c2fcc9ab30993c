// dump_batches: writes the first N training batches of a mind_train run as .npy files, so that
// another implementation (bench/torch_mind.py) trains on exactly the batches and negatives ours
// sees. It builds the data as mind_train does (same flags, same seeds, same stream numbers) but
// trains nothing. Not a general export: for embeddings and id maps use mind_train --out.
#include <CLI/CLI.hpp>

#include <cstdint>
#include <filesystem>
#include <iostream>
#include <string>
#include <vector>

#include "data/batcher.h"
#include "data/dataset.h"
#include "data/load.h"
#include "io/atomic_file.h"
#include "io/json.h"
#include "io/npy.h"
#include "nn/sampled_softmax.h"
#include "tools/data_flags.h"

namespace {

// The same derivation as train/trainer.cpp: one --seed, one generator per stream
// (1: the epoch shuffles, 2: the shared negatives). Keep the two in step.
uint64_t stream_seed(uint64_t seed, uint64_t stream) { return seed * 0x9e3779b97f4a7c15ULL + stream; }

struct DumpOptions {
  mind::data::DataOptions data;
  uint64_t seed = 1;
  int64_t batch_size = 128;   // B
  int64_t max_len = 20;       // L
  int64_t negatives = 1280;   // M
  int64_t steps = 200;        // N batches written
  int64_t dim = 64;           // d, only recorded in meta.json (the reader may override it)
  int64_t interests = 4;      // K, likewise
  int64_t profile_width = 8;  // likewise
  std::string out = "bench_batches";
};

void dump(const DumpOptions& options) {
  if (options.batch_size < 1) throw std::invalid_argument("--batch-size must be at least 1");
  if (options.max_len < 1) throw std::invalid_argument("--max-len must be at least 1");
  if (options.steps < 1) throw std::invalid_argument("--steps must be at least 1");
  std::filesystem::create_directories(options.out);

  const mind::data::InteractionLog log = mind::data::load_interactions(options.data);
  const mind::data::Dataset dataset = mind::data::build_dataset(log);
  if (options.negatives < 1 || options.negatives >= dataset.item_count)
    throw std::invalid_argument("--negatives (M) must be in [1, N) = [1, " + std::to_string(dataset.item_count) +
                                "), got " + std::to_string(options.negatives));
  const int64_t B = options.batch_size, L = options.max_len, M = options.negatives, N = options.steps;
  const int64_t F = dataset.field_count();

  mind::data::TrainBatcher batcher(dataset, B, L, stream_seed(options.seed, 1));
  mind::Rng negative_rng(stream_seed(options.seed, 2));
  const mind::nn::LogUniformSampler sampler(dataset.item_count);

  std::vector<int32_t> history(N * B * L);  // [N, B, L], -1 padding
  std::vector<int32_t> lengths(N * B);      // [N, B]
  std::vector<int32_t> targets(N * B);      // [N, B]
  std::vector<int32_t> profile(N * B * F);  // [N, B, F]
  std::vector<int32_t> negatives(N * M);    // [N, M]
  mind::data::Batch batch;
  int64_t written = 0, partial_batches_skipped = 0;
  while (written < N) {
    if (!batcher.next(batch)) {
      batcher.start_epoch();
      continue;
    }
    // The trainer draws negatives for every batch, the short last one of an epoch too; draw them
    // here as well so the negative stream stays in step with a real run.
    const std::vector<int32_t> drawn = sampler.sample(M, negative_rng);
    if (batch.size < B) {  // the arrays are fixed-shape: leave the epoch's short batch out
      ++partial_batches_skipped;
      continue;
    }
    std::copy(batch.history.begin(), batch.history.begin() + B * L, history.begin() + written * B * L);
    std::copy(batch.lengths.begin(), batch.lengths.begin() + B, lengths.begin() + written * B);
    std::copy(batch.targets.begin(), batch.targets.begin() + B, targets.begin() + written * B);
    std::copy(batch.profile.begin(), batch.profile.begin() + B * F, profile.begin() + written * B * F);
    std::copy(drawn.begin(), drawn.end(), negatives.begin() + written * M);
    ++written;
  }

  // The category pooling table as nn::ItemEmbedding builds it: item i's category ids, -1 padded
  // to the most categories any item has (at least 1 column). e_i = (E[i] + Σ C[c]) / (1 + |cats|).
  const int64_t category_count = static_cast<int64_t>(dataset.category_names.size());
  int64_t max_categories = 1;
  for (const auto& list : dataset.item_categories)
    max_categories = std::max<int64_t>(max_categories, static_cast<int64_t>(list.size()));
  std::vector<int32_t> item_categories(dataset.item_count * max_categories, -1);  // [items, max_categories]
  if (category_count > 0)
    for (int64_t item = 0; item < dataset.item_count; ++item)
      for (size_t k = 0; k < dataset.item_categories[item].size(); ++k)
        item_categories[item * max_categories + static_cast<int64_t>(k)] = dataset.item_categories[item][k];

  const std::string folder = options.out + "/";
  mind::io::save_npy_int32(folder + "history.npy", {N, B, L}, history);
  mind::io::save_npy_int32(folder + "lengths.npy", {N, B}, lengths);
  mind::io::save_npy_int32(folder + "targets.npy", {N, B}, targets);
  mind::io::save_npy_int32(folder + "profile.npy", {N, B, F}, profile);
  mind::io::save_npy_int32(folder + "negatives.npy", {N, M}, negatives);
  mind::io::save_npy_int32(folder + "item_categories.npy", {dataset.item_count, max_categories}, item_categories);

  nlohmann::ordered_json meta = {{"source", dataset.source},
                                 {"item_count", dataset.item_count},
                                 {"category_count", category_count},
                                 {"max_categories", max_categories}};
  nlohmann::ordered_json cardinalities = nlohmann::ordered_json::array();
  nlohmann::ordered_json field_names = nlohmann::ordered_json::array();
  for (int64_t f = 0; f < F; ++f) {
    cardinalities.push_back(dataset.profile_cardinalities[f]);
    field_names.push_back(dataset.profile_field_names[f]);
  }
  meta["profile_fields"] = field_names;
  meta["profile_cardinalities"] = cardinalities;
  meta["training_samples"] = dataset.training_sample_count;
  meta["d"] = options.dim;
  meta["K"] = options.interests;
  meta["L"] = L;
  meta["M"] = M;
  meta["B"] = B;
  meta["steps"] = N;
  meta["profile_width"] = options.profile_width;
  meta["seed"] = options.seed;
  meta["partial_batches_skipped"] = partial_batches_skipped;
  const std::string text = mind::io::dump_json(meta) + "\n";
  mind::io::AtomicFileWriter writer(folder + "meta.json");
  writer.write(text.data(), text.size());
  writer.commit();

  std::cout << "dump_batches: " << dataset.source << ": " << dataset.item_count << " items, " << category_count
            << " categories, " << F << " profile fields; wrote " << N << " batches of " << B << " (L = " << L
            << ", M = " << M << ") to " << options.out << "/";
  if (partial_batches_skipped > 0) std::cout << " (" << partial_batches_skipped << " short end-of-epoch batches left out)";
  std::cout << "\n";
}

}  // namespace

int main(int argc, char** argv) {
  DumpOptions options;
  CLI::App app{"dump_batches: write the first --steps training batches of a mind_train run (same data flags, "
               "same --seed) as .npy files plus meta.json, for bench/torch_mind.py."};
  app.get_formatter()->column_width(34);
  mind::tools::add_data_flags(app, options.data);
  app.add_option("--synthetic-users", options.data.synthetic.users, "synthetic dataset: users")
      ->capture_default_str()->group("Data");
  app.add_option("--synthetic-items", options.data.synthetic.items, "synthetic dataset: items")
      ->capture_default_str()->group("Data");
  app.add_option("--synthetic-categories", options.data.synthetic.categories, "synthetic dataset: categories")
      ->capture_default_str()->group("Data");
  app.add_option("--seed", options.seed, "mind_train's --seed (synthetic data, shuffles, negatives)")
      ->capture_default_str();
  app.add_option("--batch-size", options.batch_size, "batch size B")->capture_default_str();
  app.add_option("--max-len", options.max_len, "history length L")->capture_default_str();
  app.add_option("--negatives", options.negatives, "shared sampled negatives M per batch")->capture_default_str();
  app.add_option("--steps", options.steps, "batches to write (the epoch's short last batch is left out)")
      ->capture_default_str();
  app.add_option("--dim", options.dim, "d, recorded in meta.json only")->capture_default_str();
  app.add_option("--interests", options.interests, "K, recorded in meta.json only")->capture_default_str();
  app.add_option("--profile-width", options.profile_width, "profile embedding width, recorded in meta.json only")
      ->capture_default_str();
  app.add_option("--out", options.out, "output folder")->capture_default_str();
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& error) {
    return app.exit(error);
  }
  try {
    options.data.synthetic.seed = options.seed;  // as mind_train does
    dump(options);
  } catch (const std::exception& error) {
    std::cerr << "error: " << error.what() << "\n";
    return 1;
  }
  return 0;
}
