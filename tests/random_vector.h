// Seeded standard-normal vectors for test fixtures (weights of small networks).
#pragma once

#include <random>
#include <vector>

namespace mho {

inline std::vector<float> randv(std::size_t n, unsigned seed) {
  std::mt19937 g(seed);
  std::normal_distribution<float> d;
  std::vector<float> v(n);
  for (float& x : v) x = d(g);
  return v;
}

}  // namespace mho
