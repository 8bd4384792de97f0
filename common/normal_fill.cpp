// Built with -ffast-math (see common/CMakeLists.txt) so that logf/sinf/cosf vectorise through
// glibc's libmvec; everything else in mho is built without it.
#include "common/normal_fill.h"

#include <cmath>
#include <vector>

namespace mho {

namespace {
inline std::uint64_t splitmix(std::uint64_t z) {
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
  return z ^ (z >> 31);
}
constexpr std::uint64_t kGamma = 0x9E3779B97F4A7C15ULL;
}  // namespace

namespace {
// A row's seed is splitmix(sample_seed ^ (sub + 1)), sample_seed = splitmix(k ^ splitmix(index +
// gamma)): the sample's part is shared by every row of one call, so it is hashed once (a tile's
// narrow rows, 2 pairs each, spent most of their draws on it).
inline std::uint64_t sample_seed(const StreamKey& key, std::uint64_t index) {
  const std::uint64_t k = (std::uint64_t(key.k1()) << 32) | key.k0();
  return splitmix(k ^ splitmix(index + kGamma));
}
inline std::uint64_t row_seed(std::uint64_t sample, std::uint32_t sub) {
  return splitmix(sample ^ (std::uint64_t(sub) + 1));
}
}  // namespace

namespace {
// Per-thread work arrays of fill_seeded_rows, kept between calls.
struct FillBuffers {
  std::vector<float> u1, u2, c, s;
  std::vector<std::uint64_t> counters, seeds;
};
thread_local FillBuffers buffers;

// Rows r < rows of n draws each into out[r * n ...], row r seeded by seeds[r]. Every loop but
// the per-row ones runs over all the rows' pairs at once, so that it vectorises however short a
// row is; kPairs, when not 0, is the pairs per row known at compile time, so that the per-row
// loops of short rows (a narrow tile's 4 columns are 2 pairs) cost less than the draws.
template <int kPairs>
void seeded_rows(const std::uint64_t* seeds, int rows, float* out, int n) {
  const int m = kPairs ? kPairs : (n + 1) / 2, half = n - m;  // pair p gives out[p] and out[p + m]
  // All rows' pairs in one array, whose length is a multiple of 16 pairs, so that every
  // element comes from the vector loop (never its scalar tail, whose libm results could differ
  // in the last bit): an element does not depend on how many rows share the call.
  const int total = rows * m, padded = (total + 15) / 16 * 16;
  FillBuffers& w = buffers;
  if (w.u1.size() < std::size_t(padded)) {
    w.u1.resize(std::size_t(padded));
    w.u2.resize(std::size_t(padded));
    w.c.resize(std::size_t(padded));
    w.s.resize(std::size_t(padded));
    w.counters.resize(std::size_t(padded));
  }
  float* a = w.u1.data();
  float* b = w.u2.data();
  std::uint64_t* ctr = w.counters.data();
  constexpr float kTwoPi = 6.28318530717958647692f, kInv24 = 1.0f / 16777216.0f;
  for (int r = 0; r < rows; ++r)
    for (int p = 0; p < m; ++p) ctr[std::size_t(r) * m + p] = seeds[r] + std::uint64_t(p + 1) * kGamma;
  for (int q = 0; q < total; ++q) {
    const std::uint64_t h = splitmix(ctr[q]);
    a[q] = (float(std::int32_t(h >> 40)) + 0.5f) * kInv24;
    b[q] = float(std::int32_t((h >> 16) & 0xFFFFFFu)) * kInv24;
  }
  for (int p = total; p < padded; ++p) a[p] = b[p] = 0.5f;
  float* cs = w.c.data();
  float* sn = w.s.data();
  for (int p = 0; p < padded; ++p) {
    const float r = std::sqrt(-2.0f * std::log(a[p]));
    cs[p] = r * std::cos(kTwoPi * b[p]);
    sn[p] = r * std::sin(kTwoPi * b[p]);
  }
  for (int r = 0; r < rows; ++r) {
    float* o = out + std::size_t(r) * n;
    const float* cr = cs + std::size_t(r) * m;
    const float* sr = sn + std::size_t(r) * m;
    for (int p = 0; p < m; ++p) o[p] = cr[p];
    for (int p = 0; p < half; ++p) o[p + m] = sr[p];
  }
}

void fill_seeded_rows(const std::uint64_t* seeds, int rows, float* out, int n) {
  if (n <= 0 || rows <= 0) return;
  switch ((n + 1) / 2) {
    case 1: return seeded_rows<1>(seeds, rows, out, n);
    case 2: return seeded_rows<2>(seeds, rows, out, n);
    case 3: return seeded_rows<3>(seeds, rows, out, n);
    case 4: return seeded_rows<4>(seeds, rows, out, n);
    default: return seeded_rows<0>(seeds, rows, out, n);
  }
}

}  // namespace

void fill_normals_rows(const StreamKey& key, std::uint64_t index, const std::uint32_t* subs, int rows,
                       float* out, int n) {
  if (rows <= 0) return;
  const std::uint64_t base = sample_seed(key, index);
  std::vector<std::uint64_t>& seeds = buffers.seeds;
  if (seeds.size() < std::size_t(rows)) seeds.resize(std::size_t(rows));
  for (int r = 0; r < rows; ++r) seeds[std::size_t(r)] = row_seed(base, subs[r]);
  fill_seeded_rows(seeds.data(), rows, out, n);
}

void fill_normals_samples(const StreamKey& key, const std::uint64_t* indices, const std::uint32_t* subs,
                          int rows, float* out, int n) {
  if (rows <= 0) return;
  std::vector<std::uint64_t>& seeds = buffers.seeds;
  if (seeds.size() < std::size_t(rows)) seeds.resize(std::size_t(rows));
  // Every row's seed hashed in full (three SplitMix64 rounds): branch-free, it vectorises.
  for (int r = 0; r < rows; ++r) seeds[std::size_t(r)] = row_seed(sample_seed(key, indices[r]), subs[r]);
  fill_seeded_rows(seeds.data(), rows, out, n);
}

void fill_normals(const StreamKey& key, std::uint64_t index, std::uint32_t sub, float* out, int n) {
  fill_normals_rows(key, index, &sub, 1, out, n);
}

}  // namespace mho

