// The option table: one row per option (see option_table.h for what a row holds and how to add
// one). The first half builds rows of each type; the table itself is option_table() below.
#include "train/option_table.h"

#include <charconv>
#include <cmath>
#include <limits>
#include <sstream>
#include <stdexcept>
#include <system_error>
#include <type_traits>

namespace mind::train {

using nlohmann::json;

Option Option::saved_as(const std::string& key) const {
  Option option = *this;
  option.run_key = key;
  return option;
}

Option Option::in_metadata(const std::string& key) const {
  Option option = *this;
  option.metadata_key = key;
  return option;
}

Option Option::may_change_on_resume() const {
  Option option = *this;
  option.changes_on_resume = true;
  return option;
}

Option Option::as_path() const {
  Option option = *this;
  option.is_path = true;
  return option;
}

Option Option::with_default_text(const std::string& text) const {
  Option option = *this;
  option.default_text = text;
  return option;
}

namespace {

// A row reaches its member through an accessor: a lambda that names it, e.g.
//   [](TrainOptions& o) -> int64_t& { return o.model.dim; }
template <class T>
using Member = T& (*)(TrainOptions&);

// Reading through an accessor: it only names a member, so a const TrainOptions stays unchanged.
template <class T>
const T& read(Member<T> member, const TrainOptions& options) {
  return member(const_cast<TrainOptions&>(options));
}

// The shortest text that reads back as the same value ("1", "0.001", "1e+30").
template <class T>
std::string number_text(T value) {
  char text[64];
  const std::to_chars_result end = std::to_chars(text, text + sizeof(text), value);
  return std::string(text, end.ptr);
}

// The whole of `text` as a T, or an error naming the flag.
template <class T>
T parse_number(const std::string& flag, const std::string& text) {
  T value{};
  const char* end = text.data() + text.size();
  const std::from_chars_result result = std::from_chars(text.data(), end, value);
  // A minus sign before an unsigned value (--seed -1) would wrap around in a naive parser; and
  // a value past the type's limits is a range problem, not a spelling one.
  if (std::is_unsigned_v<T> && !text.empty() && text[0] == '-')
    throw std::invalid_argument(flag + " must be at least 0, got " + text);
  if (result.ec == std::errc::result_out_of_range && result.ptr == end)
    throw std::invalid_argument(flag + ": '" + text + "' is out of range (at most " +
                                number_text(std::numeric_limits<T>::max()) + ")");
  if (text.empty() || result.ec != std::errc() || result.ptr != end)
    throw std::invalid_argument(flag + ": '" + text + "' is not " +
                                (std::is_integral_v<T> ? "an integer" : "a number"));
  return value;
}

// The values a number may take: [low, high], with the low end excluded when `low_open`.
struct Range {
  double low = -std::numeric_limits<double>::infinity();
  double high = std::numeric_limits<double>::infinity();
  bool low_open = false;

  // "" when `value` is inside, else the problem.
  std::string problem(double value, const std::string& value_text) const {
    const bool inside = (low_open ? value > low : value >= low) && value <= high;
    if (inside) return "";
    const bool unbounded_above = std::isinf(high);
    std::string rule;
    if (unbounded_above)
      rule = low_open ? "be greater than " + number_text(low) : "be at least " + number_text(low);
    else
      rule = std::string("be in ") + (low_open ? "(" : "[") + number_text(low) + ", " + number_text(high) + "]";
    return "must " + rule + ", got " + value_text;
  }

  // The range as --help shows it: "≥ 1", "> 0", "0..9", "(0, 1]", or "any".
  std::string text() const {
    if (std::isinf(low) && std::isinf(high)) return "any";
    if (std::isinf(high)) return (low_open ? "> " : ">= ") + number_text(low);
    return std::string(low_open ? "(" : "[") + number_text(low) + ", " + number_text(high) + "]";
  }
};

Range any_value() { return Range{}; }
Range at_least(double low) { return Range{low, std::numeric_limits<double>::infinity(), false}; }
Range above(double low) { return Range{low, std::numeric_limits<double>::infinity(), true}; }
Range between(double low, double high) { return Range{low, high, false}; }
Range above_up_to(double low, double high) { return Range{low, high, true}; }

Option base(const std::string& flag, const std::string& group, const std::string& help, const std::string& type_name) {
  Option option;
  option.flag = flag;
  option.group = group;
  option.help = help;
  option.type_name = type_name;
  option.check = [](const TrainOptions&) { return std::string(); };
  return option;
}

// An integer or a real number in `range`. A 64-bit unsigned value (a seed) is a string in
// run.json: a JSON number is a double, which holds 53 bits.
template <class T>
Option number(const std::string& flag, const std::string& group, const std::string& help, Range range,
              Member<T> member) {
  Option option = base(flag, group, help, std::is_integral_v<T> ? "INT" : "NUMBER");
  option.range_text = std::is_unsigned_v<T> && std::isinf(range.low) ? "[0, 2^64-1]" : range.text() +
                      (std::is_floating_point_v<T> ? ", finite" : "");
  option.format = [member](const TrainOptions& options) { return number_text(read(member, options)); };
  option.parse = [member, flag](TrainOptions& options, const std::string& text) {
    member(options) = parse_number<T>(flag, text);
  };
  option.to_json = [member](const TrainOptions& options) -> json {
    if constexpr (std::is_same_v<T, uint64_t>) return number_text(read(member, options));
    // A float as the double its shortest text spells (0.001, not 0.0010000000474974513): it reads
    // back as the same float.
    else if constexpr (std::is_same_v<T, float>) return parse_number<double>("", number_text(read(member, options)));
    else return read(member, options);
  };
  option.from_json = [member, flag](TrainOptions& options, const json& value) {
    if constexpr (std::is_same_v<T, uint64_t>) member(options) = parse_number<T>(flag, value.get<std::string>());
    else if constexpr (std::is_integral_v<T>) {
      if (!value.is_number_integer()) throw std::invalid_argument("expected an integer, got " + value.dump());
      member(options) = value.get<T>();
    } else {
      member(options) = value.get<T>();
    }
  };
  option.check = [member, range](const TrainOptions& options) {
    const T value = read(member, options);
    if (std::is_floating_point_v<T> && !std::isfinite(static_cast<double>(value)))
      return "must be a finite number, got " + number_text(value);
    return range.problem(static_cast<double>(value), number_text(value));
  };
  return option;
}

Option integer(const std::string& flag, const std::string& group, const std::string& help, Range range,
               Member<int64_t> member) {
  return number<int64_t>(flag, group, help, range, member);
}

// Text, one of `allowed` when that is not empty.
Option text(const std::string& flag, const std::string& group, const std::string& help,
            const std::vector<std::string>& allowed, Member<std::string> member) {
  Option option = base(flag, group, help, "TEXT");
  option.format = [member](const TrainOptions& options) { return read(member, options); };
  option.parse = [member](TrainOptions& options, const std::string& value) { member(options) = value; };
  option.to_json = [member](const TrainOptions& options) -> json { return read(member, options); };
  option.from_json = [member](TrainOptions& options, const json& value) { member(options) = value.get<std::string>(); };
  option.check = [member, allowed](const TrainOptions& options) {
    const std::string& value = read(member, options);
    if (allowed.empty()) return std::string();
    std::string choices;
    for (const std::string& choice : allowed) {
      if (value == choice) return std::string();
      choices += (choices.empty() ? "" : "|") + choice;
    }
    return "must be one of " + choices + ", got '" + value + "'";
  };
  return option;
}

// A flag without value: giving it sets the member to `when_given` (--fixed-k sets
// dynamic_interests to false). Its text is the member's value, "true" or "false".
Option switch_flag(const std::string& flag, const std::string& group, const std::string& help, bool when_given,
                   Member<bool> member) {
  Option option = base(flag, group, help, "");
  option.format = [member](const TrainOptions& options) { return std::string(read(member, options) ? "true" : "false"); };
  option.parse = [member, when_given](TrainOptions& options, const std::string&) { member(options) = when_given; };
  option.to_json = [member](const TrainOptions& options) -> json { return read(member, options); };
  option.from_json = [member](TrainOptions& options, const json& value) { member(options) = value.get<bool>(); };
  return option;
}

// --routing-softmax: the enum as the words "interests" and "behaviours".
Option routing_softmax_option() {
  Option option = base("--routing-softmax", "Model",
                       "routing softmax over 'interests' (each behaviour splits its vote) or 'behaviours'", "TEXT");
  option.format = [](const TrainOptions& options) {
    return std::string(options.model.routing_softmax == nn::RoutingSoftmax::over_interests ? "interests" : "behaviours");
  };
  option.parse = [](TrainOptions& options, const std::string& value) {
    if (value == "interests") options.model.routing_softmax = nn::RoutingSoftmax::over_interests;
    else if (value == "behaviours") options.model.routing_softmax = nn::RoutingSoftmax::over_behaviours;
    else throw std::invalid_argument("--routing-softmax must be 'interests' or 'behaviours', got '" + value + "'");
  };
  option.to_json = [format = option.format](const TrainOptions& options) -> json { return format(options); };
  option.from_json = [parse = option.parse](TrainOptions& options, const json& value) {
    parse(options, value.get<std::string>());
  };
  return option;
}

// --interest-selection: how training picks the interest a target trains, "argmax" (the label-aware
// attention's hard choice) or "sample" (drawn from the softmax of the interest scores).
Option interest_selection_option() {
  Option option = base("--interest-selection", "Model",
                       "training: the interest a target trains, 'argmax' or 'sample' (drawn from softmax of the scores)",
                       "TEXT");
  option.format = [](const TrainOptions& options) {
    return std::string(options.model.attention.sample ? "sample" : "argmax");
  };
  option.parse = [](TrainOptions& options, const std::string& value) {
    if (value == "argmax") options.model.attention.sample = false;
    else if (value == "sample") options.model.attention.sample = true;
    else throw std::invalid_argument("--interest-selection must be 'argmax' or 'sample', got '" + value + "'");
  };
  option.to_json = [format = option.format](const TrainOptions& options) -> json { return format(options); };
  option.from_json = [parse = option.parse](TrainOptions& options, const json& value) {
    parse(options, value.get<std::string>());
  };
  return option;
}

// --attention-power: the word "hard" (argmax) or a positive number p; in run.json the same.
Option attention_power_option() {
  Option option = base("--attention-power", "Model", "label-aware attention power p: a number, or 'hard' (argmax)",
                       "TEXT");
  option.format = [](const TrainOptions& options) {
    return options.model.attention.hard ? std::string("hard") : number_text(options.model.attention.power);
  };
  option.parse = [](TrainOptions& options, const std::string& value) {
    if (value == "hard") {
      options.model.attention.hard = true;
      return;
    }
    try {
      options.model.attention.power = parse_number<float>("--attention-power", value);
    } catch (const std::invalid_argument&) {
      throw std::invalid_argument("--attention-power must be a number or 'hard', got '" + value + "'");
    }
    options.model.attention.hard = false;
  };
  option.to_json = [](const TrainOptions& options) -> json {
    if (options.model.attention.hard) return "hard";
    return options.model.attention.power;
  };
  option.from_json = [](TrainOptions& options, const json& value) {
    options.model.attention.hard = value.is_string() && value.get<std::string>() == "hard";
    if (!options.model.attention.hard) options.model.attention.power = value.get<float>();
  };
  option.range_text = "> 0, finite, or 'hard'";
  option.check = [](const TrainOptions& options) {
    if (options.model.attention.hard ||
        (options.model.attention.power > 0.0f && std::isfinite(options.model.attention.power)))
      return std::string();
    return "must be a positive number or 'hard', got " + number_text(options.model.attention.power);
  };
  return option;
}

// A width written as a number, or as a multiple of --dim ("2d"). Parsed after --dim (table order).
int64_t parse_width(const std::string& flag, const std::string& text, int64_t dim) {
  if (text.size() >= 2 && text.back() == 'd') {
    const int64_t multiple = parse_number<int64_t>(flag, text.substr(0, text.size() - 1));
    if (dim > 0 && (multiple > std::numeric_limits<int64_t>::max() / dim || multiple < -std::numeric_limits<int64_t>::max() / dim))
      throw std::invalid_argument(flag + ": '" + text + "' times --dim " + number_text(dim) + " is out of range");
    return multiple * dim;
  }
  return parse_number<int64_t>(flag, text);
}

// --hidden: the MLP's hidden widths, comma-separated; in run.json an array of numbers.
Option hidden_option() {
  Option option = base("--hidden", "Model", "MLP hidden widths, comma-separated ('2d' = twice --dim)", "TEXT");
  option.format = [](const TrainOptions& options) {
    std::string widths;
    for (int64_t width : options.model.hidden) widths += (widths.empty() ? "" : ",") + number_text(width);
    return widths;
  };
  option.parse = [](TrainOptions& options, const std::string& value) {
    options.model.hidden.clear();
    std::stringstream widths(value);
    for (std::string width; std::getline(widths, width, ',');) {
      try {
        options.model.hidden.push_back(parse_width("--hidden", width, options.model.dim));
      } catch (const std::invalid_argument&) {
        throw std::invalid_argument("--hidden must be comma-separated widths (or '2d'), got '" + value + "'");
      }
    }
  };
  option.to_json = [](const TrainOptions& options) -> json { return options.model.hidden; };
  option.from_json = [](TrainOptions& options, const json& value) {
    options.model.hidden = value.get<std::vector<int64_t>>();
  };
  option.range_text = "each >= 1";
  option.check = [](const TrainOptions& options) {
    for (int64_t width : options.model.hidden)
      if (width < 1) return "must be widths of at least 1, got " + number_text(width);
    return std::string();
  };
  return option;
}

// --attention-width: ComiRec-SA's d_a, a number or a multiple of --dim ("4d").
Option attention_width_option() {
  Option option = base("--attention-width", "Model", "ComiRec-SA's attention width d_a ('4d' = four times --dim)",
                       "TEXT");
  option.format = [](const TrainOptions& options) { return number_text(options.model.attention_width); };
  option.parse = [](TrainOptions& options, const std::string& value) {
    options.model.attention_width = parse_width("--attention-width", value, options.model.dim);
  };
  option.to_json = [](const TrainOptions& options) -> json { return options.model.attention_width; };
  option.from_json = [](TrainOptions& options, const json& value) {
    options.model.attention_width = value.get<int64_t>();
  };
  option.range_text = ">= 1";
  option.check = [](const TrainOptions& options) {
    return at_least(1).problem(static_cast<double>(options.model.attention_width),
                               number_text(options.model.attention_width));
  };
  return option;
}

// --seed: every random choice, the synthetic dataset's included (its own row below keeps the
// dataset's seed in run.json, for runs whose options were set in code).
Option seed_option() {
  Option option = number<uint64_t>("--seed", "Training",
                                   "seed of every random choice (model, shuffles, negatives, synthetic data)",
                                   any_value(), [](TrainOptions& o) -> uint64_t& { return o.seed; });
  option.parse = [](TrainOptions& options, const std::string& text) {
    options.seed = parse_number<uint64_t>("--seed", text);
    options.data.synthetic.seed = options.seed;
  };
  return option;
}

std::vector<Option> build_table() {
  std::vector<Option> table;
  const Range any = any_value();

  // ---- Data ---------------------------------------------------------------------------------
  table.push_back(text("--data", "Data",
                       "'synthetic', a .csv/.tsv log, or a MovieLens folder (ml-latest(-small), ml-20m/25m, ml-1m, ml-100k)",
                       {}, [](TrainOptions& o) -> std::string& { return o.data.data; })
                      .saved_as("/data/data").as_path());
  table.push_back(text("--format", "Data", "auto|csv|movielens|movielens-1m|movielens-100k|synthetic",
                       {"auto", "csv", "movielens", "movielens-1m", "movielens-100k", "synthetic"},
                       [](TrainOptions& o) -> std::string& { return o.data.format; })
                      .saved_as("/data/format"));
  table.push_back(text("--columns", "Data",
                       "CSV/TSV: header columns as user=COL,item=COL,time=COL (default user,item,timestamp)", {},
                       [](TrainOptions& o) -> std::string& { return o.data.columns; })
                      .saved_as("/data/columns"));
  table.push_back(text("--delimiter", "Data", "CSV/TSV: one character, 'tab' or 'comma' (default: detect)", {},
                       [](TrainOptions& o) -> std::string& { return o.data.delimiter; })
                      .saved_as("/data/delimiter"));
  table.push_back(text("--item-features", "Data",
                       "CSV of item,categories[,title] ('|' between categories) for a generic log", {},
                       [](TrainOptions& o) -> std::string& { return o.data.item_features; })
                      .saved_as("/data/item_features").as_path());
  table.push_back(text("--user-features", "Data", "CSV of user,FIELD,... (categorical profile fields)", {},
                       [](TrainOptions& o) -> std::string& { return o.data.user_features; })
                      .saved_as("/data/user_features").as_path());
  table.push_back(integer("--fold", "Data",
                          "test users are those at position u (in id order) with u % 10 == FOLD, validation users "
                          "u % 10 == (FOLD + 9) % 10; 9 is protocol v1",
                          between(0, 9), [](TrainOptions& o) -> int64_t& { return o.data.fold; })
                      .saved_as("/data/fold"));
  table.push_back(text("--split", "Data",
                       "'users': hold out the fold's validation and test users (protocol v1); 'none': every user "
                       "trains on the whole sequence, nothing is evaluated, best.safetensors = the last weights",
                       {"users", "none"}, [](TrainOptions& o) -> std::string& { return o.data.split; })
                      .saved_as("/data/split"));
  // The synthetic dataset's shape; data/synthetic.cpp checks the values together (min ≤ max, ...).
  Option synthetic_seed = number<uint64_t>("", "Data", "synthetic dataset: seed (set by --seed)", any,
                                           [](TrainOptions& o) -> uint64_t& { return o.data.synthetic.seed; });
  table.push_back(synthetic_seed.saved_as("/data/synthetic/seed"));
  table.push_back(integer("--synthetic-users", "Data", "synthetic dataset: users", at_least(1),
                          [](TrainOptions& o) -> int64_t& { return o.data.synthetic.users; })
                      .saved_as("/data/synthetic/users"));
  table.push_back(integer("--synthetic-items", "Data", "synthetic dataset: items", at_least(1),
                          [](TrainOptions& o) -> int64_t& { return o.data.synthetic.items; })
                      .saved_as("/data/synthetic/items"));
  table.push_back(integer("--synthetic-categories", "Data", "synthetic dataset: categories", at_least(1),
                          [](TrainOptions& o) -> int64_t& { return o.data.synthetic.categories; })
                      .saved_as("/data/synthetic/categories"));
  table.push_back(integer("--synthetic-max-interests", "Data", "synthetic dataset: planted categories per user, at most",
                          at_least(1), [](TrainOptions& o) -> int64_t& { return o.data.synthetic.max_interests; })
                      .saved_as("/data/synthetic/max_interests"));
  table.push_back(integer("--synthetic-min-length", "Data", "synthetic dataset: shortest user sequence", at_least(1),
                          [](TrainOptions& o) -> int64_t& { return o.data.synthetic.min_length; })
                      .saved_as("/data/synthetic/min_length"));
  table.push_back(integer("--synthetic-max-length", "Data", "synthetic dataset: longest user sequence", at_least(2),
                          [](TrainOptions& o) -> int64_t& { return o.data.synthetic.max_length; })
                      .saved_as("/data/synthetic/max_length"));
  table.push_back(number<double>("--synthetic-zipf-exponent", "Data",
                                 "synthetic dataset: popularity exponent inside a category", at_least(0),
                                 [](TrainOptions& o) -> double& { return o.data.synthetic.zipf_exponent; })
                      .saved_as("/data/synthetic/zipf_exponent"));
  table.push_back(number<double>("--synthetic-category-zipf-exponent", "Data",
                                 "synthetic dataset: popularity exponent of the categories", at_least(0),
                                 [](TrainOptions& o) -> double& { return o.data.synthetic.category_zipf_exponent; })
                      .saved_as("/data/synthetic/category_zipf_exponent"));
  table.push_back(number<double>("--synthetic-noise", "Data",
                                 "synthetic dataset: share of interactions outside the user's interests", between(0, 1),
                                 [](TrainOptions& o) -> double& { return o.data.synthetic.noise; })
                      .saved_as("/data/synthetic/noise"));
  table.push_back(number<double>("--synthetic-segment-correlation", "Data",
                                 "synthetic dataset: how strongly the segment field predicts the interests",
                                 between(0, 1),
                                 [](TrainOptions& o) -> double& { return o.data.synthetic.segment_correlation; })
                      .saved_as("/data/synthetic/segment_correlation"));
  table.push_back(integer("--synthetic-segments", "Data", "synthetic dataset: values of the segment profile field",
                          at_least(1), [](TrainOptions& o) -> int64_t& { return o.data.synthetic.segments; })
                      .saved_as("/data/synthetic/segments"));
  table.push_back(integer("--synthetic-age-bands", "Data", "synthetic dataset: values of the age_band profile field",
                          at_least(1), [](TrainOptions& o) -> int64_t& { return o.data.synthetic.age_bands; })
                      .saved_as("/data/synthetic/age_bands"));
  table.push_back(text("--export-data", "Data", "also write the log as CSV files (interactions.csv, ...) to this folder",
                       {}, [](TrainOptions& o) -> std::string& { return o.export_data; })
                      .may_change_on_resume().as_path());

  // ---- Model (the metadata keys, in this order, are the checkpoint's __metadata__) ------------
  table.push_back(text("--model", "Model", "mind|youtube_dnn|most_popular|comirec_dr|comirec_sa",
                       {"mind", "youtube_dnn", "most_popular", "comirec_dr", "comirec_sa"},
                       [](TrainOptions& o) -> std::string& { return o.model.model; })
                      .saved_as("/model/model").in_metadata("model"));
  table.push_back(integer("--dim", "Model", "embedding width d", at_least(1),
                          [](TrainOptions& o) -> int64_t& { return o.model.dim; })
                      .saved_as("/model/dim").in_metadata("d"));
  table.push_back(integer("--interests", "Model", "interests K", at_least(1),
                          [](TrainOptions& o) -> int64_t& { return o.model.interests; })
                      .saved_as("/model/interests").in_metadata("K"));
  table.push_back(integer("--max-len", "Model", "history length L fed to the model", at_least(1),
                          [](TrainOptions& o) -> int64_t& { return o.model.max_len; })
                      .saved_as("/model/max_len").in_metadata("L"));
  table.push_back(integer("--routing-iterations", "Model", "routing iterations R", at_least(1),
                          [](TrainOptions& o) -> int64_t& { return o.model.routing_iterations; })
                      .saved_as("/model/routing_iterations").in_metadata("R"));
  table.push_back(routing_softmax_option().saved_as("/model/routing_softmax").in_metadata("routing_softmax"));
  table.push_back(switch_flag("--fixed-k", "Model", "always K interests (no dynamic interest count)", false,
                              [](TrainOptions& o) -> bool& { return o.model.dynamic_interests; })
                      .saved_as("/model/dynamic_interests").in_metadata("dynamic_k"));
  table.push_back(switch_flag("--routing-gradient", "Model", "back-propagate through every routing iteration", true,
                              [](TrainOptions& o) -> bool& { return o.model.routing_gradient; })
                      .saved_as("/model/routing_gradient").in_metadata("routing_gradient"));
  table.push_back(switch_flag("--fresh-routing-logits", "Model", "draw the routing logits b⁰ anew every forward", true,
                              [](TrainOptions& o) -> bool& { return o.model.fresh_routing_logits; })
                      .saved_as("/model/fresh_routing_logits"));
  table.push_back(number<float>("--squash-power", "Model", "q in the improved squash (|z|^2/(1+|z|^2))^q, in (0, 1]",
                                above_up_to(0, 1), [](TrainOptions& o) -> float& { return o.model.squash_power; })
                      .saved_as("/model/squash_power").in_metadata("squash_power"));
  table.push_back(attention_power_option().saved_as("/model/attention_power").in_metadata("attention_power"));
  table.push_back(hidden_option().with_default_text("2d").saved_as("/model/hidden").in_metadata("hidden"));
  table.push_back(switch_flag("--no-categories", "Model",
                              "ignore the data's item categories in the model (id embeddings only)", false,
                              [](TrainOptions& o) -> bool& { return o.model.use_categories; })
                      .saved_as("/model/use_categories").in_metadata("use_categories"));
  table.push_back(integer("--profile-width", "Model", "embedding width of each profile field", at_least(1),
                          [](TrainOptions& o) -> int64_t& { return o.model.profile_width; })
                      .saved_as("/model/profile_width").in_metadata("profile_width"));
  table.push_back(attention_width_option().with_default_text("4d").saved_as("/model/attention_width"));
  table.push_back(integer("--negatives", "Model", "shared sampled negatives M per batch (fewer than the items)",
                          at_least(1), [](TrainOptions& o) -> int64_t& { return o.model.negatives; })
                      .saved_as("/model/negatives"));
  table.push_back(text("--loss", "Model", "sampled|full softmax", {"sampled", "full"},
                       [](TrainOptions& o) -> std::string& { return o.model.loss; })
                      .saved_as("/model/loss"));
  table.push_back(number<float>("--hard-negative-beta", "Model",
                                "REMI hard negatives: weight each sampled negative by exp(beta * score), normalised (0: off)",
                                at_least(0), [](TrainOptions& o) -> float& { return o.model.hard_negative_beta; })
                      .saved_as("/model/hard_negative_beta"));
  table.push_back(number<float>("--routing-regularization", "Model",
                                "REMI routing regularisation weight on the spread of each interest's routing weights "
                                "(0: off; > 0 evens them, < 0 concentrates them; mind/comirec_dr need --routing-gradient)",
                                any, [](TrainOptions& o) -> float& { return o.model.routing_regularization; })
                      .saved_as("/model/routing_regularization"));
  table.push_back(interest_selection_option().saved_as("/model/interest_selection"));
  table.push_back(number<float>("--diversity-weight", "Model", "weight of the interest-similarity penalty (0: off)",
                                at_least(0), [](TrainOptions& o) -> float& { return o.model.diversity_weight; })
                      .saved_as("/model/diversity_weight"));

  // ---- Training -----------------------------------------------------------------------------
  table.push_back(integer("--batch-size", "Training", "batch size B", at_least(1),
                          [](TrainOptions& o) -> int64_t& { return o.batch_size; })
                      .saved_as("/batch_size"));
  table.push_back(integer("--epochs", "Training", "epochs in total (a resumed run counts the earlier ones)",
                          at_least(0), [](TrainOptions& o) -> int64_t& { return o.epochs; })
                      .saved_as("/epochs").may_change_on_resume());
  table.push_back(integer("--max-steps", "Training", "stop after this many steps and report samples/s (0: no limit)",
                          at_least(0), [](TrainOptions& o) -> int64_t& { return o.max_steps; })
                      .saved_as("/max_steps").may_change_on_resume());
  table.push_back(number<float>("--lr", "Training", "Adam learning rate", above(0),
                                [](TrainOptions& o) -> float& { return o.learning_rate; })
                      .saved_as("/learning_rate"));
  table.push_back(number<float>("--clip-norm", "Training", "clip gradients to this global norm (0: off)", at_least(0),
                                [](TrainOptions& o) -> float& { return o.clip_norm; })
                      .saved_as("/clip_norm"));
  table.push_back(number<float>("--weight-decay", "Training",
                                "decoupled (AdamW) weight decay; embedding rows decay only when a step touches them (0: off)",
                                at_least(0), [](TrainOptions& o) -> float& { return o.weight_decay; })
                      .saved_as("/weight_decay"));
  table.push_back(seed_option().saved_as("/seed"));
  table.push_back(integer("--threads", "Training", "OpenMP threads (0: all cores)", at_least(0),
                          [](TrainOptions& o) -> int64_t& { return o.threads; })
                      .may_change_on_resume());
  table.push_back(integer("--eval-every", "Training", "validate every N steps (0: after every epoch)", at_least(0),
                          [](TrainOptions& o) -> int64_t& { return o.eval_every; })
                      .saved_as("/eval_every").may_change_on_resume());
  table.push_back(integer("--patience", "Training",
                          "early stop after N validations without a better Recall@50 (0: never)", at_least(0),
                          [](TrainOptions& o) -> int64_t& { return o.patience; })
                      .saved_as("/patience").may_change_on_resume());
  table.push_back(switch_flag("--no-exclude-history", "Training",
                              "let candidates include the user's history (ComiRec's evaluation)", false,
                              [](TrainOptions& o) -> bool& { return o.exclude_history; })
                      .saved_as("/exclude_history"));
  table.push_back(integer("--eval-batch-size", "Training", "users per evaluation batch", at_least(1),
                          [](TrainOptions& o) -> int64_t& { return o.eval_batch_size; })
                      .saved_as("/eval_batch_size").may_change_on_resume());

  // ---- Output -------------------------------------------------------------------------------
  table.push_back(text("--out", "Output", "output folder (on --resume: the resumed folder)", {},
                       [](TrainOptions& o) -> std::string& { return o.out; }));
  table.push_back(text("--resume", "Output",
                       "continue the run saved in this folder (its outputs are updated there); the other flags "
                       "may be repeated, and only how long and how visibly to train may change",
                       {}, [](TrainOptions& o) -> std::string& { return o.resume; })
                      .may_change_on_resume());
  table.push_back(switch_flag("--overwrite", "Output",
                              "--out may hold an earlier run: remove that run's files first (never other files; nothing with --resume)", true,
                              [](TrainOptions& o) -> bool& { return o.overwrite; })
                      .may_change_on_resume());
  table.push_back(integer("--checkpoint-every", "Output",
                          "save the state --resume needs every N steps (0: at the end of every epoch); a killed "
                          "run loses at most that much work",
                          at_least(0), [](TrainOptions& o) -> int64_t& { return o.checkpoint_every; })
                      .saved_as("/checkpoint_every").may_change_on_resume());
  table.push_back(switch_flag("--quiet", "Output", "no progress line", true,
                              [](TrainOptions& o) -> bool& { return o.quiet; })
                      .may_change_on_resume());
  return table;
}

}  // namespace

const std::vector<Option>& option_table() {
  static const std::vector<Option> table = build_table();
  return table;
}

std::vector<Option> data_option_table() {
  std::vector<Option> rows;
  for (const Option& option : option_table())
    if (option.run_key.rfind("/data/", 0) == 0 && option.run_key.rfind("/data/synthetic/", 0) != 0 &&
        option.flag != "--fold" && option.flag != "--split")  // only the programs that split take these
      rows.push_back(option);
  return rows;
}

const Option& find_option(const std::string& flag) {
  for (const Option& option : option_table())
    if (option.flag == flag) return option;
  throw std::invalid_argument("no option " + flag);
}

void check_options(const TrainOptions& options) {
  for (const Option& option : option_table()) {
    const std::string problem = option.check(options);
    if (!problem.empty())
      throw std::invalid_argument((option.flag.empty() ? option.run_key : option.flag) + " " + problem);
  }
}

void check_resume_changes(const TrainOptions& saved, const TrainOptions& resumed) {
  for (const Option& option : option_table()) {
    if (option.changes_on_resume) continue;
    const std::string before = option.format(saved), after = option.format(resumed);
    if (before != after)
      throw std::invalid_argument((option.flag.empty() ? option.run_key : option.flag) +
                                  " cannot change on --resume: the run has '" + before +
                                  "', the command line says '" + after + "'");
  }
}

}  // namespace mind::train
