// The memory estimate (train/memory_estimate.h): a normal run fits with room to spare, a huge
// --max-len / --dim / --hidden is refused before anything is allocated, naming the flag.
#include <doctest/doctest.h>

#include <stdexcept>

#include "train/memory_estimate.h"

using namespace mind;

namespace {

models::Catalogue small_catalogue() {
  models::Catalogue catalogue;
  catalogue.item_count = 10000;
  catalogue.category_count = 500;
  catalogue.profile_fields = {"segment"};
  catalogue.profile_cardinalities = {8};
  return catalogue;
}

constexpr double gib = 1024.0 * 1024.0 * 1024.0;

}  // namespace

TEST_CASE("memory estimate: the default run is counted (weights, Adam, a step) and fits in a GiB") {
  const train::TrainOptions options;
  const train::MemoryEstimate estimate = train::estimate_memory(options, small_catalogue(), 600);
  // The item embeddings alone, with gradient and two moments: 10 000 x 64 x 4 floats.
  CHECK(estimate.parameter_bytes >= 10000.0 * 64 * 4 * 4);
  CHECK(estimate.step_bytes >= 256.0 * 20 * 64 * 4);
  CHECK(estimate.total() < 1 * gib);
  CHECK_NOTHROW(train::require_memory(estimate, 1 * gib));
}

TEST_CASE("memory estimate: a huge --max-len, --dim or --hidden is refused naming the flag and both sizes") {
  train::TrainOptions options;
  options.model.max_len = 1000000000;
  CHECK_THROWS_WITH_AS(train::require_memory(train::estimate_memory(options, small_catalogue(), 600), 8 * gib),
                       doctest::Contains("--max-len 1000000000"), std::invalid_argument);
  CHECK_THROWS_WITH_AS(train::require_memory(train::estimate_memory(options, small_catalogue(), 600), 8 * gib),
                       doctest::Contains("more than the 8.0 GiB of memory"), std::invalid_argument);
  options = train::TrainOptions();
  options.model.dim = 100000000;
  options.model.hidden = {64};
  CHECK_THROWS_WITH_AS(train::require_memory(train::estimate_memory(options, small_catalogue(), 600), 8 * gib),
                       doctest::Contains("--dim 100000000"), std::invalid_argument);
  options = train::TrainOptions();
  options.model.hidden = {1000000000};
  CHECK_THROWS_WITH_AS(train::require_memory(train::estimate_memory(options, small_catalogue(), 600), 8 * gib),
                       doctest::Contains("--hidden 1000000000"), std::invalid_argument);
}

TEST_CASE("memory estimate: an evaluation batch is never counted larger than the users it evaluates") {
  train::TrainOptions options;
  options.eval_batch_size = 100000000;
  CHECK(train::estimate_memory(options, small_catalogue(), 600).total() < 1 * gib);
}

TEST_CASE("memory estimate: sizes read in binary units") {
  CHECK(train::memory_text(512) == "512.0 bytes");
  CHECK(train::memory_text(1.5 * gib) == "1.5 GiB");
}

TEST_CASE("memory estimate: the refusal names every flag of its largest part with its value") {
  train::TrainOptions options;
  options.model.interests = 100000000;
  CHECK_THROWS_WITH_AS(train::require_memory(train::estimate_memory(options, small_catalogue(), 600), 8 * gib),
                       doctest::Contains("(--interests 100000000, --max-len 20, --routing-iterations 3)"),
                       std::invalid_argument);
  options = train::TrainOptions();
  options.model.routing_iterations = 100000000;
  CHECK_THROWS_WITH_AS(train::require_memory(train::estimate_memory(options, small_catalogue(), 600), 8 * gib),
                       doctest::Contains("--routing-iterations 100000000"), std::invalid_argument);
}
