// The median of a few timings, as every benchmark program here reports it: on a shared machine
// one disturbed run moves a mean, not a median. An even count gives the mean of the middle two.
#pragma once
#include <algorithm>
#include <cstddef>
#include <vector>

namespace mind::bench {

inline double median(std::vector<double> values) {
  std::sort(values.begin(), values.end());
  const size_t middle = values.size() / 2;
  return values.size() % 2 == 1 ? values[middle] : 0.5 * (values[middle - 1] + values[middle]);
}

}  // namespace mind::bench
