// A synthetic interaction log with planted interests: the data on which a multi-interest model
// must visibly beat a one-vector model, and where we know the right answer (each user's true
// categories). Deterministic by seed. It is a generator only; data/export_csv.h writes it out.
#pragma once
#include <cstdint>

#include "data/interaction_log.h"
#include "data/progress_report.h"

namespace mind::data {

struct SyntheticOptions {
  uint64_t seed = 1;
  int64_t users = 6000;
  int64_t items = 10000;
  int64_t categories = 500;    // C; item i belongs to category i % C (see synthetic.cpp for why 500)
  int64_t max_interests = 4;   // each user has 1..max_interests planted categories
  int64_t min_length = 30;     // each user's sequence length is uniform in [min, max]
  int64_t max_length = 60;
  // Popularity inside a category: the item of rank r = i / C has weight 1 / (r + 1)^s.
  double zipf_exponent = 1.0;
  // Popularity of categories as interests: category c is chosen with weight 1 / (c + 1)^s.
  double category_zipf_exponent = 0.5;
  // Share of interactions that ignore the user's interests: a uniformly random item.
  double noise = 0.05;
  // Probability that a user's `segment` is set by their first interest (else uniform).
  double segment_correlation = 0.5;
  int64_t segments = 8;      // values of the `segment` profile field
  int64_t age_bands = 5;     // values of the `age_band` profile field (independent of all else)
};

// Generates the log (see synthetic.cpp for the story). User ids are "0".."users-1"; item ids
// are the catalogue numbers "0".."items-1" of the items drawn at least once, listed in order of
// first appearance like a reader's; categories are named "c0".."c{C-1}"; each item has its one
// category as its feature and as true_item_category; true_user_interests lists each user's
// planted categories in the order drawn; profile fields `age_band` ("a0"..) and `segment`
// ("s0"..). Throws std::runtime_error naming the first impossible option (0 users,
// max_length < 2, more interests than categories, ...). `progress` (optional) is told the users
// generated so far, every few thousand users and at the end; it changes nothing generated.
InteractionLog generate_synthetic(const SyntheticOptions& options, const ProgressReport& progress = {});

}  // namespace mind::data
