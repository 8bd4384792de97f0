// Counter-based random streams (Philox4x32-10, Salmon et al., SC'11).
//
// Contract: a draw is a pure function of (seed, chip, tile, purpose) -> key and of the
// element it belongs to (a 64-bit index and a 32-bit sub-index) -> counter. There is no
// hidden state shared between elements, so results are bit-identical for any thread count,
// any order of evaluation and any split of a batch. Thread-safe: StreamKey is immutable and
// ElementEngine is a cheap local value.
#pragma once

#include <array>
#include <cstdint>
#include <limits>

#include <boost/random/normal_distribution.hpp>
#include <boost/random/uniform_01.hpp>

namespace mho {

// Why a stream is drawn; part of the key so that two purposes never share numbers.
enum class Purpose : std::uint32_t {
  kProgramming = 1,
  kStuckAt = 2,
  kDrift = 3,
  kReadNoise = 4,
  kAdcNoise = 5,
  kFrozenReadNoise = 6,  // read noise drawn once per cell per read-out campaign
  kCapMismatch = 7,      // charge-domain capacitor mismatch, once per programming
  kThermalNoise = 8,     // charge-domain kT/C noise, once per line per readout
  kTest = 99,
};

namespace detail {
inline std::uint64_t mix64(std::uint64_t z) {
  // SplitMix64 finaliser: a bijective avalanche so that nearby inputs give unrelated keys.
  z += 0x9E3779B97F4A7C15ULL;
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
  return z ^ (z >> 31);
}

inline std::array<std::uint32_t, 4> philox4x32_10(std::array<std::uint32_t, 4> c,
                                                  std::uint32_t k0, std::uint32_t k1) {
  constexpr std::uint32_t kM0 = 0xD2511F53u, kM1 = 0xCD9E8D57u;
  constexpr std::uint32_t kW0 = 0x9E3779B9u, kW1 = 0xBB67AE85u;
  for (int round = 0; round < 10; ++round) {
    const std::uint64_t p0 = std::uint64_t(kM0) * c[0];
    const std::uint64_t p1 = std::uint64_t(kM1) * c[2];
    c = {std::uint32_t(p1 >> 32) ^ c[1] ^ k0, std::uint32_t(p1),
         std::uint32_t(p0 >> 32) ^ c[3] ^ k1, std::uint32_t(p0)};
    k0 += kW0;
    k1 += kW1;
  }
  return c;
}
}  // namespace detail

// The key of one stream: (seed, chip, tile, purpose).
class StreamKey {
 public:
  StreamKey(std::uint64_t seed, std::uint64_t chip, std::uint64_t tile, Purpose purpose) {
    std::uint64_t h = detail::mix64(seed);
    h = detail::mix64(h ^ chip);
    h = detail::mix64(h ^ (tile * 0x100000001B3ULL));
    h = detail::mix64(h ^ static_cast<std::uint64_t>(purpose));
    k0_ = std::uint32_t(h);
    k1_ = std::uint32_t(h >> 32);
  }
  std::uint32_t k0() const { return k0_; }
  std::uint32_t k1() const { return k1_; }

 private:
  std::uint32_t k0_, k1_;
};

// A UniformRandomBitGenerator over the numbers of one element of a stream: it yields
// Philox blocks for counters (index, sub, 0), (index, sub, 1), ... in turn. Feed it to
// Boost.Random distributions.
class ElementEngine {
 public:
  using result_type = std::uint32_t;
  ElementEngine(const StreamKey& key, std::uint64_t index, std::uint32_t sub = 0)
      : key_(key), index_(index), sub_(sub) {}
  static constexpr result_type min() { return 0; }
  static constexpr result_type max() { return std::numeric_limits<result_type>::max(); }
  result_type operator()() {
    if (pos_ == 4) {
      block_ = detail::philox4x32_10(
          {std::uint32_t(index_), std::uint32_t(index_ >> 32), sub_, block_index_++},
          key_.k0(), key_.k1());
      pos_ = 0;
    }
    return block_[pos_++];
  }

 private:
  StreamKey key_;
  std::uint64_t index_;
  std::uint32_t sub_;
  std::uint32_t block_index_ = 0;
  std::array<std::uint32_t, 4> block_{};
  int pos_ = 4;
};

// Standard normal draw (Boost's ziggurat) for one element.
inline double normal_draw(ElementEngine& eng) {
  boost::random::normal_distribution<double> dist(0.0, 1.0);
  return dist(eng);
}

// Uniform draw in [0, 1) for one element.
inline double uniform_draw(ElementEngine& eng) {
  boost::random::uniform_01<double> dist;
  return dist(eng);
}

}  // namespace mho

