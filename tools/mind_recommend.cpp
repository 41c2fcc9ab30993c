// mind_recommend: recommendations from a finished mind_train run, read from the run folder
// alone (train/run_folder.h; the training log is never read). Four ways to ask:
//   --user ID       one known user, explained: the history, each live interest with its own
//                   top items, the merged top-N (score = max over interests) with each item's
//                   score and the interest that found it, and with --explain the routing weights
//                   of every history item over the interests at every routing iteration;
//   --history A,B   the same for a user the model never saw, from their items (oldest first);
//   --all           top-N for every known user, as TSV (user, rank, item, score, interest), from
//                   the exported interests, in batches on all cores, streamed;
//   --histories F   the same TSV for the new users of a CSV file of user,item[,timestamp] rows.
// A user's whole history is excluded from their recommendations unless --include-history.
#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>
#include <omp.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <iostream>
#include <memory>
#include <optional>
#include <span>

#include "data/retrieval.h"
#include "io/atomic_file.h"
#include "train/checkpoint.h"
#include "train/evaluate.h"
#include "train/new_users.h"
#include "train/progress.h"
#include "train/run_folder.h"
#include "train/threads.h"

using namespace mind;

namespace {

std::string item_label(const data::Dataset& data, int32_t item) {
  std::string label = data.item_original_ids[item];
  if (!data.item_titles.empty() && !data.item_titles[item].empty()) label += "  " + data.item_titles[item];
  return label;
}

std::string item_categories(const data::Dataset& data, int32_t item) {
  std::string text;
  if (data.item_categories.empty()) return text;
  for (int32_t category : data.item_categories[item]) {
    if (!text.empty()) text += "|";
    text += data.category_names[category];
  }
  return text;
}

std::string score_text(float score) {
  char text[32];
  std::snprintf(text, sizeof(text), "%.9g", score);  // enough digits to read the float back exactly
  return text;
}

// The users' interests ([U, K, d], the first counts[u] live) and their exclusions, for retrieval.
data::RetrievalInputs retrieval_inputs(const std::vector<float>& items, int64_t width, const float* interests,
                                       const int32_t* counts, int64_t user_count, int64_t max_interests,
                                       const std::vector<std::span<const int32_t>>& excluded, bool exclude_history) {
  data::RetrievalInputs inputs;
  inputs.item_embeddings = items.data();
  inputs.item_count = static_cast<int64_t>(items.size()) / width;
  inputs.width = width;
  inputs.user_interests = interests;
  inputs.interest_counts = counts;
  inputs.user_count = user_count;
  inputs.max_interests = max_interests;
  inputs.excluded = excluded;
  inputs.exclude_history = exclude_history;
  return inputs;
}

// Writes ranked lists as TSV rows `user rank item score interest`, to a file (atomically, once
// complete) or to stdout, as they come.
class ListWriter {
 public:
  explicit ListWriter(const std::string& path) {
    if (!path.empty()) file_ = std::make_unique<io::AtomicFileWriter>(path);
    emit("user\trank\titem\tscore\tinterest\n");
  }

  void write(const data::Dataset& data, const std::vector<std::string>& user_ids, const data::RankedLists& lists) {
    std::string text;
    for (size_t user = 0; user < user_ids.size(); ++user) {
      for (int64_t rank = 0; rank < lists.top_n; ++rank) {
        const int64_t at = static_cast<int64_t>(user) * lists.top_n + rank;
        if (lists.items[at] < 0) break;  // fewer candidates than --top
        text += user_ids[user] + "\t" + std::to_string(rank + 1) + "\t" + data.item_original_ids[lists.items[at]] +
                "\t" + score_text(lists.scores[at]) + "\t" + std::to_string(lists.interests[at]) + "\n";
      }
    }
    emit(text);
  }

  void finish() {
    if (file_) {
      file_->commit();
    } else {
      std::cout.flush();
      if (!std::cout) throw std::runtime_error("cannot write the recommendations to stdout");
    }
  }

 private:
  void emit(const std::string& text) {
    if (file_) {
      file_->write(text.data(), text.size());
    } else {
      std::cout << text;
    }
  }
  std::unique_ptr<io::AtomicFileWriter> file_;
};

// --all: every known user's top-N from the exported interests, `users_per_batch` at a time.
void recommend_all(const train::RunFolder& run, const train::ExportedVectors& vectors, int64_t top,
                   bool include_history, const std::string& output, bool quiet) {
  const data::Dataset& data = run.data;
  const int64_t users_per_batch = 4096;
  ListWriter writer(output);
  train::Progress progress(quiet, 10.0);
  progress.start("--all", data.user_count, "users", "users");
  const auto start = std::chrono::steady_clock::now();
  const int64_t K = vectors.interest_count, d = vectors.width;
  for (int64_t first = 0; first < data.user_count; first += users_per_batch) {
    const int64_t count = std::min(users_per_batch, data.user_count - first);
    std::vector<std::span<const int32_t>> excluded;
    std::vector<std::string> ids;
    for (int64_t user = first; user < first + count; ++user) {
      excluded.emplace_back(data.sequences[user]);
      ids.push_back(data.user_original_ids[user]);
    }
    const data::RetrievalInputs inputs =
        retrieval_inputs(vectors.items, d, vectors.user_interests.data() + first * K * d,
                         vectors.user_counts.data() + first, count, K, excluded, !include_history);
    writer.write(data, ids, data::retrieve_ranked(inputs, top));
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    progress.update(first + count, (first + count) / std::max(1e-9, seconds), NAN);
  }
  progress.finish();
  writer.finish();
}

// The model of the run, with its best weights.
std::unique_ptr<models::Model> load_model(const train::RunFolder& run) {
  Rng rng(0);  // the initial values are overwritten by the checkpoint
  std::unique_ptr<models::Model> model =
      models::make_model(run.options.model, models::catalogue_of(run.data), rng);
  train::load_model(run.folder + "/best.safetensors", *model);
  return model;
}

// --histories: new users' top-N, encoded by the model, as TSV, `users_per_batch` at a time.
void recommend_new_users(train::RunFolder& run, const train::ExportedVectors& vectors, const train::NewUsers& users,
                         const std::vector<std::string>& profile, int64_t top, bool include_history,
                         const std::string& output, bool quiet) {
  std::unique_ptr<models::Model> model = load_model(run);
  std::vector<data::EvalUser> rows;
  std::vector<std::string> ids;
  for (const train::NewUser& user : users.users) {
    const int32_t index = train::append_new_user(run.data, user, profile);
    rows.push_back({index, static_cast<int32_t>(user.items.size()), {}});
    ids.push_back(user.id);
  }
  const int64_t user_count = static_cast<int64_t>(rows.size());
  const int64_t users_per_batch = 4096;
  ListWriter writer(output);
  train::Progress progress(quiet, 10.0);
  progress.start("--histories", user_count, "users", "users", 2.0);
  const auto start = std::chrono::steady_clock::now();
  for (int64_t first = 0; first < user_count; first += users_per_batch) {
    const int64_t count = std::min(users_per_batch, user_count - first);
    const std::vector<data::EvalUser> batch(rows.begin() + first, rows.begin() + first + count);
    const train::EncodedUsers encoded = train::encode_users(*model, run.data, batch, run.options.eval_batch_size);
    std::vector<std::span<const int32_t>> excluded;
    for (const data::EvalUser& row : batch) excluded.emplace_back(run.data.sequences[row.user]);
    const data::RetrievalInputs inputs =
        retrieval_inputs(vectors.items, vectors.width, encoded.interests.data(), encoded.counts.data(), count,
                         encoded.interest_count, excluded, !include_history);
    const std::vector<std::string> batch_ids(ids.begin() + first, ids.begin() + first + count);
    writer.write(run.data, batch_ids, data::retrieve_ranked(inputs, top));
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    progress.update(first + count, (first + count) / std::max(1e-9, seconds), NAN);
  }
  progress.finish();
  writer.finish();
}

// --user / --history: one user, explained.
void explain_user(const train::RunFolder& run, const train::ExportedVectors& vectors, int32_t user,
                  const std::string& user_id, int64_t top, bool include_history, bool as_json, bool explain) {
  const data::Dataset& data = run.data;
  const std::vector<int32_t>& history = data.sequences[user];
  if (history.empty()) throw std::runtime_error("--user " + user_id + ": has no interactions");
  std::unique_ptr<models::Model> model = load_model(run);
  const int64_t max_len = run.options.model.max_len;

  // Encode the user's last L interactions.
  data::EvalUser whole_history{user, static_cast<int32_t>(history.size()), {}};
  data::Batch batch;
  data::make_eval_batch(data, {whole_history}, 0, 1, max_len, batch);
  NoGrad no_grad;
  Rng serving_rng(0);  // as encode_users: only fresh routing logits use it
  const models::UserInterests encoded = model->encode(batch, &serving_rng);
  const int64_t K = encoded.interests.size(1), d = encoded.interests.size(2);
  // Live interests first, packed as encode_users packs them (and as the exports hold them).
  std::vector<float> interests;  // [live, d]
  std::vector<int64_t> slots;    // the model's interest slot of each live interest
  for (int64_t j = 0; j < K; ++j) {
    if (encoded.interest_mask.data()[j] == 0.0f) continue;
    interests.insert(interests.end(), encoded.interests.data() + j * d, encoded.interests.data() + (j + 1) * d);
    slots.push_back(j);
  }
  const int32_t live = static_cast<int32_t>(slots.size());
  const std::vector<std::span<const int32_t>> excluded = {std::span<const int32_t>(history)};

  std::vector<data::RankedLists> per_interest;
  for (int32_t j = 0; j < live; ++j) {
    const int32_t one = 1;
    per_interest.push_back(data::retrieve_ranked(
        retrieval_inputs(vectors.items, d, interests.data() + j * d, &one, 1, 1, excluded, !include_history),
        std::min<int64_t>(top, 10)));
  }
  const data::RankedLists merged =
      data::retrieve_ranked(retrieval_inputs(vectors.items, d, interests.data(), &live, 1, live, excluded,
                                             !include_history), top);
  const int64_t fed = batch.lengths[0];
  const int64_t first_fed = static_cast<int64_t>(history.size()) - fed;

  if (as_json) {
    using json = nlohmann::ordered_json;  // members in the order written
    auto item_json = [&](int32_t item) {
      json value = {{"id", data.item_original_ids[item]}};
      if (!data.item_titles.empty()) value["title"] = data.item_titles[item];
      value["categories"] = item_categories(data, item);
      return value;
    };
    auto list_json = [&](const data::RankedLists& lists, bool with_interest) {
      json list = json::array();
      for (int64_t rank = 0; rank < lists.top_n && lists.items[rank] >= 0; ++rank) {
        json value = item_json(lists.items[rank]);
        value["score"] = lists.scores[rank];
        if (with_interest) value["interest"] = lists.interests[rank];
        list.push_back(value);
      }
      return list;
    };
    json root = {{"user", user_id}};
    json history_json = json::array();
    for (int32_t item : history) history_json.push_back(item_json(item));
    root["history"] = history_json;
    json interests_json = json::array();
    for (int32_t j = 0; j < live; ++j) interests_json.push_back(list_json(per_interest[j], false));
    root["interests"] = interests_json;
    root["recommendations"] = list_json(merged, true);
    if (explain && !encoded.routing_weights.empty()) {
      json iterations = json::array();
      for (const Tensor& weights : encoded.routing_weights) {  // [1, K, L]
        json rows = json::array();
        for (int64_t i = 0; i < fed; ++i) {
          json row = json::array();
          for (int64_t slot : slots) row.push_back(weights.data()[slot * max_len + i]);
          rows.push_back(row);
        }
        iterations.push_back(rows);
      }
      root["routing_weights"] = iterations;
    }
    std::cout << root.dump() << "\n";
    return;
  }

  std::cout << "user " << user_id << ": " << history.size() << " interactions, the last " << fed << " fed to "
            << run.options.model.model << " (" << live << " live interest" << (live == 1 ? "" : "s")
            << ")\n\nhistory (oldest first):\n";
  for (size_t i = 0; i < history.size(); ++i)
    std::cout << (static_cast<int64_t>(i) >= first_fed ? "  * " : "    ") << item_label(data, history[i]) << "  ["
              << item_categories(data, history[i]) << "]\n";
  for (int32_t j = 0; j < live; ++j) {
    std::cout << "\ninterest " << j << ", its own top items (score):\n";
    const data::RankedLists& lists = per_interest[j];
    for (int64_t rank = 0; rank < lists.top_n && lists.items[rank] >= 0; ++rank)
      std::cout << "    " << score_text(lists.scores[rank]) << "  " << item_label(data, lists.items[rank]) << "  ["
                << item_categories(data, lists.items[rank]) << "]\n";
  }
  int64_t listed = 0;
  while (listed < merged.top_n && merged.items[listed] >= 0) ++listed;
  std::cout << "\ntop " << listed << " (score = max over interests; #j = the interest that found it):\n";
  for (int64_t rank = 0; rank < listed; ++rank)
    std::cout << "  " << rank + 1 << ". #" << merged.interests[rank] << "  " << score_text(merged.scores[rank]) << "  "
              << item_label(data, merged.items[rank]) << "  [" << item_categories(data, merged.items[rank]) << "]\n";
  if (!explain) return;
  if (encoded.routing_weights.empty()) {
    std::cout << "\n--explain: " << run.options.model.model << " does not route, there are no routing weights\n";
    return;
  }
  for (size_t r = 0; r < encoded.routing_weights.size(); ++r) {
    std::cout << "\nrouting iteration " << r + 1 << ": weight of each fed history item on each interest\n";
    const float* weights = encoded.routing_weights[r].data();  // [1, K, L]
    for (int64_t i = 0; i < fed; ++i) {
      std::cout << "  ";
      for (int64_t slot : slots) {
        char cell[16];
        std::snprintf(cell, sizeof(cell), "%6.3f", weights[slot * max_len + i]);
        std::cout << cell;
      }
      std::cout << "   " << item_label(data, history[first_fed + i]) << "  ["
                << item_categories(data, history[first_fed + i]) << "]\n";
    }
  }
}

}  // namespace

int main(int argc, char** argv) {
  std::string folder, user_id, history_list, histories_path, output, profile_text;
  int64_t top = 20, threads = 0;
  bool all = false, as_json = false, explain = false, include_history = false, quiet = false;
  CLI::App app{"mind_recommend: recommendations from a mind_train run folder (it reads nothing else), explained."};
  app.add_option("--run", folder, "the mind_train output folder (--out of the run)")->required();
  CLI::Option* user_flag = app.add_option("--user", user_id, "one known user's original id: explain their top items");
  CLI::Option* history_flag = app.add_option(
      "--history", history_list, "a new user's item ids, oldest first, comma-separated: explain their top items");
  CLI::Option* all_flag = app.add_flag("--all", all, "top items of every known user, as TSV: user rank item score interest");
  CLI::Option* histories_flag = app.add_option(
      "--histories", histories_path,
      "a CSV/TSV file with a header user,item[,timestamp] of new users' histories: their top items as TSV");
  user_flag->excludes(history_flag, all_flag, histories_flag);
  history_flag->excludes(all_flag, histories_flag);
  all_flag->excludes(histories_flag);
  app.add_option("--profile", profile_text,
                 "--history / --histories: the new users' profile as FIELD=VALUE,... (fields not given: '(missing)')");
  app.add_option("--top", top, "how many items to recommend per user")->capture_default_str()->check(CLI::Range(1, 100000));
  app.add_option("--output", output, "--all / --histories: write the TSV to this file (default: stdout)");
  app.add_flag("--include-history", include_history, "allow the user's own items in their recommendations (default: excluded)");
  app.add_flag("--json", as_json, "--user / --history: print JSON instead of text");
  app.add_flag("--explain", explain, "--user / --history: print the routing weights of the history at every iteration");
  app.add_option("--threads", threads, "OpenMP threads for encoding and ranking (0: all cores)")->capture_default_str()->check(CLI::Range(0, 1024));
  app.add_flag("--quiet", quiet, "--all / --histories: no progress line on stderr");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& error) {
    return app.exit(error);
  }

  try {
    const bool one_user = !user_id.empty() || !history_list.empty();
    if (!one_user && !all && histories_path.empty())
      throw std::runtime_error("say whom to recommend for: --user ID, --history ITEMS, --all or --histories FILE");
    if (!one_user && (as_json || explain))
      throw std::runtime_error(std::string(as_json ? "--json" : "--explain") + " applies to --user and --history only");
    if (one_user && !output.empty()) throw std::runtime_error("--output applies to --all and --histories only");
    if (!profile_text.empty() && history_list.empty() && histories_path.empty())
      throw std::runtime_error("--profile applies to the new users of --history and --histories only");
    mind::train::use_threads(threads, std::cerr);

    train::RunFolder run = train::read_run_folder(folder);
    if (run.options.model.model == "most_popular")
      throw std::runtime_error("--run " + folder + ": a most_popular run has no model to recommend with");
    // One user needs only the items; the users' interests are read for --all.
    const train::ExportedVectors vectors = train::read_exported_vectors(run, all);
    if (vectors.width != run.options.model.dim)
      throw std::runtime_error(folder + "/item_embeddings.npy: vectors of width " + std::to_string(vectors.width) +
                               ", but run.json says --dim " + std::to_string(run.options.model.dim));
    const std::vector<std::string> profile = train::parse_profile(profile_text, run.data);

    if (all) {
      recommend_all(run, vectors, top, include_history, output, quiet);
      return 0;
    }
    if (!histories_path.empty()) {
      train::Progress reading(quiet);
      const train::NewUsers users = train::read_histories_file(
          histories_path, run.data, train::reading_progress(reading, "loading " + histories_path));
      reading.finish();
      std::cerr << train::describe_skipped(users, "--histories " + histories_path);
      if (users.users.empty()) throw std::runtime_error("--histories " + histories_path + ": no user with an item the run knows");
      recommend_new_users(run, vectors, users, profile, top, include_history, output, quiet);
      return 0;
    }
    int32_t user = -1;
    if (!user_id.empty()) {
      for (int64_t u = 0; u < run.data.user_count; ++u)
        if (run.data.user_original_ids[u] == user_id) user = static_cast<int32_t>(u);
      if (user < 0) throw std::runtime_error("--user " + user_id + ": no such user in " + folder + "/users.tsv");
    } else {
      const train::NewUsers users = train::parse_history_list(history_list, run.data);
      std::cerr << train::describe_skipped(users, "--history");
      if (users.users.empty()) throw std::runtime_error("--history: none of the items is known to the run");
      user_id = users.users[0].id;
      user = train::append_new_user(run.data, users.users[0], profile);
    }
    explain_user(run, vectors, user, user_id, top, include_history, as_json, explain);
  } catch (const std::exception& error) {
    std::cerr << "error: " << error.what() << "\n";
    return 1;
  }
  return 0;
}
