// Nearest-rank percentile (pct in (0, 100]) of a sample; reorders `a`. 0 for an empty sample.
#pragma once

#include <algorithm>
#include <cmath>
#include <vector>

namespace mho {

template <typename T>
double nearest_rank_percentile(std::vector<T>& a, double pct) {
  if (a.empty()) return 0.0;
  std::size_t rank = std::size_t(std::ceil(pct / 100.0 * double(a.size())));
  rank = std::clamp<std::size_t>(rank, 1, a.size()) - 1;
  std::nth_element(a.begin(), a.begin() + std::ptrdiff_t(rank), a.end());
  return double(a[rank]);
}

}  // namespace mho
