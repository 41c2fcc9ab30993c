// mind_train: train, evaluate and export a multi-interest retrieval model.
// With no argument it trains MIND on the built-in synthetic dataset (planted interests) and
// ends with the test metrics and the interest diagnostics. All the work is in train/trainer.cpp;
// this file only turns the command line into TrainOptions.
#include <CLI/CLI.hpp>

#include <iostream>

#include "tools/data_flags.h"
#include "train/trainer.h"

using mind::train::TrainOptions;

int main(int argc, char** argv) {
  TrainOptions options;
  mind::models::ModelConfig& model = options.model;
  CLI::App app{"mind_train: train MIND (or a baseline) on an interaction log, evaluate it under protocol v1, "
               "and export checkpoints and embeddings.\nWith no argument: MIND on the synthetic dataset."};
  app.get_formatter()->column_width(34);

  // Data.
  mind::tools::add_data_flags(app, options.data);
  app.add_option("--synthetic-users", options.data.synthetic.users, "synthetic dataset: users")->capture_default_str()->group("Data");
  app.add_option("--synthetic-items", options.data.synthetic.items, "synthetic dataset: items")->capture_default_str()->group("Data");
  app.add_option("--synthetic-categories", options.data.synthetic.categories, "synthetic dataset: categories")
      ->capture_default_str()->group("Data");
  app.add_option("--export-data", options.export_data, "also write the log as CSV files (interactions.csv, ...) to this folder")
      ->group("Data");

  // Model.
  app.add_option("--model", model.model, "mind|youtube_dnn|most_popular|comirec_dr|comirec_sa")
      ->capture_default_str()->group("Model")
      ->check(CLI::IsMember({"mind", "youtube_dnn", "most_popular", "comirec_dr", "comirec_sa"}));
  app.add_option("--dim", model.dim, "embedding width d")->capture_default_str()->group("Model");
  app.add_option("--interests", model.interests, "interests K")->capture_default_str()->group("Model");
  app.add_option("--max-len", model.max_len, "history length L fed to the model")->capture_default_str()->group("Model");
  app.add_option("--routing-iterations", model.routing_iterations, "routing iterations R")->capture_default_str()->group("Model");
  std::string routing_softmax = "interests";
  app.add_option("--routing-softmax", routing_softmax,
                 "routing softmax over 'interests' (each behaviour splits its vote) or 'behaviours'")
      ->capture_default_str()->group("Model")->check(CLI::IsMember({"interests", "behaviours"}));
  bool fixed_k = false;
  app.add_flag("--fixed-k", fixed_k, "always K interests (no dynamic interest count)")->group("Model");
  app.add_flag("--routing-gradient", model.routing_gradient, "back-propagate through every routing iteration")->group("Model");
  app.add_flag("--fresh-routing-logits", model.fresh_routing_logits, "draw the routing logits anew every forward")->group("Model");
  app.add_option("--squash-power", model.squash_power, "q in the improved squash (|z|^2/(1+|z|^2))^q, in (0, 1]")
      ->capture_default_str()->group("Model");
  std::string attention_power = "hard";
  app.add_option("--attention-power", attention_power, "label-aware attention power p: a number, or 'hard' (argmax)")
      ->capture_default_str()->group("Model");
  std::string hidden = "2d";
  app.add_option("--hidden", hidden, "MLP hidden widths, comma-separated ('2d' = twice --dim)")
      ->capture_default_str()->group("Model");
  app.add_option("--profile-width", model.profile_width, "embedding width of each profile field")
      ->capture_default_str()->group("Model");
  app.add_option("--negatives", model.negatives, "shared sampled negatives M per batch")->capture_default_str()->group("Model");
  app.add_option("--loss", model.loss, "sampled|full softmax")->capture_default_str()->group("Model")
      ->check(CLI::IsMember({"sampled", "full"}));
  app.add_option("--diversity-weight", model.diversity_weight, "weight of the interest-similarity penalty (0: off)")
      ->capture_default_str()->group("Model");
  app.add_option("--hard-negative-beta", model.hard_negative_beta,
                 "REMI hard negatives: weight each sampled negative by exp(beta * score), normalised (0: off)")
      ->capture_default_str()->group("Model");
  app.add_option("--routing-regularization", model.routing_regularization,
                 "REMI routing regularisation weight on the spread of each interest's routing weights (0: off; "
                 "> 0 evens them, < 0 concentrates them; mind/comirec_dr need --routing-gradient)")
      ->capture_default_str()->group("Model");
  std::string interest_selection = "argmax";
  app.add_option("--interest-selection", interest_selection,
                 "training: the interest a target trains, 'argmax' or 'sample' (drawn from softmax of the scores)")
      ->capture_default_str()->group("Model")->check(CLI::IsMember({"argmax", "sample"}));

  bool no_categories = false;
  app.add_flag("--no-categories", no_categories, "ignore the data's item categories in the model (id embeddings only)")
      ->group("Model");

  // Training.
  app.add_option("--batch-size", options.batch_size, "batch size B")->capture_default_str()->group("Training");
  app.add_option("--epochs", options.epochs, "epochs in total (a resumed run counts the earlier ones)")
      ->capture_default_str()->group("Training");
  app.add_option("--max-steps", options.max_steps, "stop after this many steps and report samples/s (0: no limit)")
      ->capture_default_str()->group("Training");
  app.add_option("--lr", options.learning_rate, "Adam learning rate")->capture_default_str()->group("Training");
  app.add_option("--clip-norm", options.clip_norm, "clip gradients to this global norm (0: off)")
      ->capture_default_str()->group("Training");
  app.add_option("--weight-decay", options.weight_decay,
                 "decoupled (AdamW) weight decay; embedding rows decay only when a step touches them (0: off)")
      ->capture_default_str()->group("Training");
  app.add_option("--seed", options.seed, "seed of every random choice (model, shuffles, negatives, synthetic data)")
      ->capture_default_str()->group("Training");
  app.add_option("--threads", options.threads, "OpenMP threads (0: all cores)")->capture_default_str()->group("Training");
  app.add_option("--eval-every", options.eval_every, "validate every N steps (0: after every epoch)")
      ->capture_default_str()->group("Training");
  app.add_option("--patience", options.patience, "early stop after N validations without a better Recall@50 (0: never)")
      ->capture_default_str()->group("Training");
  bool keep_history = false;
  app.add_flag("--no-exclude-history", keep_history, "let candidates include the user's history (ComiRec's evaluation)")
      ->group("Training");
  app.add_option("--out", options.out, "output folder")->capture_default_str()->group("Output");
  app.add_option("--resume", options.resume, "continue the run saved in this folder (its outputs are updated there)")
      ->group("Output");
  app.add_flag("--quiet", options.quiet, "no progress line")->group("Output");

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& error) {
    return app.exit(error);
  }

  try {
    if (!options.resume.empty()) {
      // Continue with the saved run's data and model; only how long to train may change.
      TrainOptions saved = mind::train::load_run_options(options.resume);
      for (const char* flag : {"--data", "--format", "--model", "--dim", "--interests", "--max-len", "--batch-size",
                               "--seed", "--negatives", "--hidden", "--lr", "--loss", "--hard-negative-beta",
                               "--routing-regularization", "--interest-selection", "--weight-decay"})
        if (app.count(flag) > 0)
          throw std::invalid_argument(std::string(flag) + " cannot change on --resume (the saved run.json decides it)");
      // Without --epochs / --max-steps the run continues to the end it was started for.
      saved.epochs = app.count("--epochs") ? options.epochs : saved.epochs;
      saved.max_steps = app.count("--max-steps") ? options.max_steps : saved.max_steps;
      saved.patience = app.count("--patience") ? options.patience : saved.patience;
      saved.threads = options.threads;
      saved.quiet = options.quiet;
      saved.resume = options.resume;
      saved.out = options.resume;
      options = saved;
    } else {
      options.data.synthetic.seed = options.seed;
      model.routing_softmax = routing_softmax == "behaviours" ? mind::nn::RoutingSoftmax::over_behaviours
                                                             : mind::nn::RoutingSoftmax::over_interests;
      model.dynamic_interests = !fixed_k;
      model.use_categories = !no_categories;
      model.attention.sample = interest_selection == "sample";
      options.exclude_history = !keep_history;
      if (attention_power == "hard") {
        model.attention.hard = true;
      } else {
        model.attention.hard = false;
        try {
          model.attention.power = std::stof(attention_power);
        } catch (const std::exception&) {
          throw std::invalid_argument("--attention-power must be a number or 'hard', got '" + attention_power + "'");
        }
      }
      model.hidden.clear();
      std::stringstream widths(hidden);
      for (std::string width; std::getline(widths, width, ',');) {
        if (width == "2d") {
          model.hidden.push_back(2 * model.dim);
          continue;
        }
        try {
          model.hidden.push_back(std::stoll(width));
        } catch (const std::exception&) {
          throw std::invalid_argument("--hidden must be comma-separated widths (or '2d'), got '" + hidden + "'");
        }
      }
      model.attention_width = 4 * model.dim;
    }
    const mind::train::TrainReport report = mind::train::run_training(options, std::cout);
    // Killed by a signal, a shell reports 128 + its number (130 for Ctrl-C); say the same after
    // stopping cleanly, so scripts can tell an interrupted run from a finished one.
    if (report.interrupted_by_signal != 0) return 128 + report.interrupted_by_signal;
  } catch (const std::exception& error) {
    std::cerr << "error: " << error.what() << "\n";
    return 1;
  }
  return 0;
}
