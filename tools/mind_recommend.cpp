// mind_recommend: one user's interests and recommendations from a finished mind_train run,
// explained. It reloads the run's data (run.json says how), rebuilds the model from its best
// checkpoint, feeds the user's last L interactions, and prints:
//   the history (with titles and categories where the data has them),
//   each live interest with its own top items,
//   the merged top-N (score = max over interests), marking which interest found each item,
//   with --explain, the routing weights of every history item over the interests at every
//   routing iteration: dynamic routing clustering the behaviours, step by step.
// The user's whole known sequence is the history here (and is excluded from the results).
#include <CLI/CLI.hpp>

#include <cstdio>
#include <fstream>
#include <iostream>
#include <sstream>

#include "data/dataset.h"
#include "data/retrieval.h"
#include "io/json.h"
#include "train/checkpoint.h"
#include "train/evaluate.h"
#include "train/trainer.h"

using namespace mind;

namespace {

std::string item_label(const data::Dataset& dataset, int32_t item) {
  std::string label = dataset.item_original_ids[item];
  if (!dataset.item_titles.empty() && !dataset.item_titles[item].empty()) label += "  " + dataset.item_titles[item];
  return label;
}

std::string item_categories(const data::Dataset& dataset, int32_t item) {
  std::string text;
  if (dataset.item_categories.empty()) return text;
  for (int32_t category : dataset.item_categories[item]) {
    if (!text.empty()) text += "|";
    text += dataset.category_names[category];
  }
  return text;
}

// The data a run was trained on must be the data we just loaded: compare with its items.tsv.
void check_same_items(const std::string& folder, const data::Dataset& dataset) {
  const std::string path = folder + "/items.tsv";
  std::ifstream file(path);
  if (!file) throw std::runtime_error(path + ": missing (the run did not finish?)");
  std::string line;
  std::getline(file, line);  // header
  int64_t index = 0;
  while (std::getline(file, line)) {
    const size_t tab = line.find('\t');
    if (index >= dataset.item_count || tab == std::string::npos ||
        line.substr(tab + 1) != dataset.item_original_ids[index])
      throw std::runtime_error(path + ":" + std::to_string(index + 2) +
                               ": the run's items differ from the data loaded now (has the data changed since training?)");
    ++index;
  }
  if (index != dataset.item_count)
    throw std::runtime_error(path + ": the run had " + std::to_string(index) + " items, the data now has " +
                             std::to_string(dataset.item_count));
}

// Top `count` items of one user's interests (all, or the single interest `only`).
std::vector<int32_t> top_items(const data::Dataset& dataset, const std::vector<float>& items, int64_t width,
                               const float* interests, int32_t interest_count, const std::vector<int32_t>& history,
                               int64_t count) {
  data::RetrievalInputs inputs;
  inputs.item_embeddings = items.data();
  inputs.item_count = dataset.item_count;
  inputs.width = width;
  inputs.user_interests = interests;
  inputs.interest_counts = &interest_count;
  inputs.user_count = 1;
  inputs.max_interests = interest_count;
  inputs.excluded.emplace_back(history.data(), history.size());
  std::vector<int32_t> ranked = data::retrieve_top_n(inputs, count);
  while (!ranked.empty() && ranked.back() < 0) ranked.pop_back();
  return ranked;
}

float dot(const float* a, const float* b, int64_t n) {
  float total = 0.0f;
  for (int64_t i = 0; i < n; ++i) total += a[i] * b[i];
  return total;
}

}  // namespace

int main(int argc, char** argv) {
  std::string folder, user_id;
  int64_t top = 20;
  bool as_json = false, explain = false;
  CLI::App app{"mind_recommend: a user's interests and top items from a mind_train run, explained."};
  app.add_option("--run", folder, "the mind_train output folder (--out of the run)")->required();
  app.add_option("--user", user_id, "the user's original id, as in the data")->required();
  app.add_option("--top", top, "how many items to recommend")->capture_default_str()->check(CLI::Range(1, 100000));
  app.add_flag("--json", as_json, "print JSON instead of text");
  app.add_flag("--explain", explain, "print the routing weights of the history over the interests at every iteration");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& error) {
    return app.exit(error);
  }

  try {
    const train::TrainOptions options = train::load_run_options(folder);
    if (options.model.model == "most_popular")
      throw std::runtime_error(folder + ": a most_popular run has no model to explain");
    const data::Dataset dataset = data::build_dataset(data::load_interactions(options.data));
    check_same_items(folder, dataset);

    int32_t user = -1;
    for (int64_t u = 0; u < dataset.user_count; ++u)
      if (dataset.user_original_ids[u] == user_id) user = static_cast<int32_t>(u);
    if (user < 0) throw std::runtime_error("--user " + user_id + ": no such user in " + dataset.source);
    const std::vector<int32_t>& history = dataset.sequences[user];
    if (history.empty()) throw std::runtime_error("--user " + user_id + ": has no interactions");

    Rng rng(0);  // the initial values are overwritten by the checkpoint
    std::unique_ptr<models::Model> model = models::make_model(options.model, models::catalogue_of(dataset), rng);
    train::load_model(folder + "/best.safetensors", *model);

    // Encode the user's last L interactions.
    data::EvalUser whole_history{user, static_cast<int32_t>(history.size()), {}};
    data::Batch batch;
    data::make_eval_batch(dataset, {whole_history}, 0, 1, options.model.max_len, batch);
    NoGrad no_grad;
    Rng serving_rng(0);
    models::UserInterests encoded = model->encode(batch, &serving_rng);
    const int64_t K = encoded.interests.size(1), d = encoded.interests.size(2);
    int32_t live = 0;
    for (int64_t j = 0; j < K; ++j) live += encoded.interest_mask.data()[j] != 0.0f;
    const std::vector<float> items = train::item_vectors(*model);
    const float* interests = encoded.interests.data();  // [1, K, d], live ones first

    std::vector<std::vector<int32_t>> per_interest(live);
    for (int32_t j = 0; j < live; ++j)
      per_interest[j] = top_items(dataset, items, d, interests + j * d, 1, history, std::min<int64_t>(top, 10));
    const std::vector<int32_t> merged = top_items(dataset, items, d, interests, live, history, top);
    auto finder = [&](int32_t item) {  // the interest that scores the item highest
      int32_t best = 0;
      for (int32_t j = 1; j < live; ++j)
        if (dot(interests + j * d, &items[item * d], d) > dot(interests + best * d, &items[item * d], d)) best = j;
      return best;
    };
    const int64_t fed = batch.lengths[0];
    const int64_t first_fed = static_cast<int64_t>(history.size()) - fed;

    if (as_json) {
      using Json = nlohmann::ordered_json;
      auto item_json = [&](int32_t item) {
        Json value = {{"id", dataset.item_original_ids[item]}};
        if (!dataset.item_titles.empty()) value["title"] = dataset.item_titles[item];
        value["categories"] = item_categories(dataset, item);
        return value;
      };
      Json root = {{"user", user_id}};
      Json history_json = Json::array();
      for (int32_t item : history) history_json.push_back(item_json(item));
      root["history"] = history_json;
      Json interests_json = Json::array();
      for (int32_t j = 0; j < live; ++j) {
        Json list = Json::array();
        for (int32_t item : per_interest[j]) list.push_back(item_json(item));
        interests_json.push_back(list);
      }
      root["interests"] = interests_json;
      Json merged_json = Json::array();
      for (int32_t item : merged) {
        Json value = item_json(item);
        value["interest"] = finder(item);
        merged_json.push_back(value);
      }
      root["recommendations"] = merged_json;
      if (explain && !encoded.routing_weights.empty()) {
        Json iterations = Json::array();
        for (const Tensor& weights : encoded.routing_weights) {  // [1, K, L]
          Json rows = Json::array();
          for (int64_t i = 0; i < fed; ++i) {
            Json row = Json::array();
            for (int64_t j = 0; j < live; ++j) row.push_back(weights.data()[j * options.model.max_len + i]);
            rows.push_back(row);
          }
          iterations.push_back(rows);
        }
        root["routing_weights"] = iterations;
      }
      std::cout << io::dump_json(root) << "\n";
      return 0;
    }

    std::cout << "user " << user_id << ": " << history.size() << " interactions, the last " << fed << " fed to "
              << options.model.model << " (" << live << " live interest" << (live == 1 ? "" : "s") << ")\n\nhistory (oldest first):\n";
    for (size_t i = 0; i < history.size(); ++i)
      std::cout << (static_cast<int64_t>(i) >= first_fed ? "  * " : "    ") << item_label(dataset, history[i])
                << "  [" << item_categories(dataset, history[i]) << "]\n";
    for (int32_t j = 0; j < live; ++j) {
      std::cout << "\ninterest " << j << ", its own top items:\n";
      for (int32_t item : per_interest[j])
        std::cout << "    " << item_label(dataset, item) << "  [" << item_categories(dataset, item) << "]\n";
    }
    std::cout << "\ntop " << merged.size() << " (score = max over interests; #j = the interest that found it):\n";
    for (size_t r = 0; r < merged.size(); ++r)
      std::cout << "  " << r + 1 << ". #" << finder(merged[r]) << "  " << item_label(dataset, merged[r]) << "  ["
                << item_categories(dataset, merged[r]) << "]\n";
    if (explain) {
      if (encoded.routing_weights.empty()) {
        std::cout << "\n--explain: " << options.model.model << " does not route, there are no routing weights\n";
      } else {
        for (size_t r = 0; r < encoded.routing_weights.size(); ++r) {
          std::cout << "\nrouting iteration " << r + 1 << ": weight of each fed history item on each interest\n";
          const float* weights = encoded.routing_weights[r].data();  // [1, K, L]
          for (int64_t i = 0; i < fed; ++i) {
            std::cout << "  ";
            for (int64_t j = 0; j < live; ++j) {
              char cell[16];
              std::snprintf(cell, sizeof(cell), "%6.3f", weights[j * options.model.max_len + i]);
              std::cout << cell;
            }
            std::cout << "   " << item_label(dataset, history[first_fed + i]) << "  ["
                      << item_categories(dataset, history[first_fed + i]) << "]\n";
          }
        }
      }
    }
  } catch (const std::exception& error) {
    std::cerr << "error: " << error.what() << "\n";
    return 1;
  }
  return 0;
}
