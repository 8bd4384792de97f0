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

void fill_normals_block(const StreamKey& key, std::uint64_t index0, std::uint32_t sub, int rows,
                        int n, float* out) {
  if (rows <= 0 || n <= 0) return;
  const std::uint64_t k = (std::uint64_t(key.k1()) << 32) | key.k0();
  const int m = (n + 1) / 2, half = n / 2;  // pair p of a row gives elements p and p + m
  const std::size_t pairs = std::size_t(rows) * std::size_t(m);
  // Every pair goes through the vector loops (their length is padded to a multiple of 16),
  // never a scalar tail whose libm results could differ in the last bit: an element's value
  // depends on its row and position only, however rows are grouped.
  const std::size_t padded = (pairs + 15) / 16 * 16;
  thread_local std::vector<std::uint64_t> ctr;
  thread_local std::vector<float> u1, u2, cs, sn;
  if (rows > 1) ctr.resize(padded);
  u1.resize(padded);
  u2.resize(padded);
  cs.resize(padded);
  sn.resize(padded);
  constexpr float kTwoPi = 6.28318530717958647692f, kInv24 = 1.0f / 16777216.0f;
  auto row_key = [&](int r) {
    return splitmix(splitmix(k ^ splitmix(index0 + std::uint64_t(r) + kGamma)) ^ (std::uint64_t(sub) + 1));
  };
  float* a = u1.data();
  float* b = u2.data();
  if (rows == 1) {
    // One row: the counters are row + (p + 1) * gamma, computed in the loop.
    const std::uint64_t row = row_key(0);
    for (std::size_t q = 0; q < padded; ++q) {
      const std::uint64_t h = splitmix(q < pairs ? row + std::uint64_t(q + 1) * kGamma : 0);
      a[q] = (float(std::int32_t(h >> 40)) + 0.5f) * kInv24;
      b[q] = float(std::int32_t((h >> 16) & 0xFFFFFFu)) * kInv24;
    }
  } else {
    for (int r = 0; r < rows; ++r) {
      const std::uint64_t row = row_key(r);
      std::uint64_t* c = ctr.data() + std::size_t(r) * m;
      for (int p = 0; p < m; ++p) c[p] = row + std::uint64_t(p + 1) * kGamma;
    }
    for (std::size_t q = pairs; q < padded; ++q) ctr[q] = 0;
    const std::uint64_t* c = ctr.data();
    for (std::size_t q = 0; q < padded; ++q) {
      const std::uint64_t h = splitmix(c[q]);
      a[q] = (float(std::int32_t(h >> 40)) + 0.5f) * kInv24;
      b[q] = float(std::int32_t((h >> 16) & 0xFFFFFFu)) * kInv24;
    }
  }
  float* x = cs.data();
  float* y = sn.data();
  for (std::size_t q = 0; q < padded; ++q) {
    const float rr = std::sqrt(-2.0f * std::log(a[q]));
    x[q] = rr * std::cos(kTwoPi * b[q]);
    y[q] = rr * std::sin(kTwoPi * b[q]);
  }
  for (int r = 0; r < rows; ++r) {
    float* o = out + std::size_t(r) * n;
    const float* xr = x + std::size_t(r) * m;
    const float* yr = y + std::size_t(r) * m;
    for (int p = 0; p < m; ++p) o[p] = xr[p];
    for (int p = 0; p < half; ++p) o[p + m] = yr[p];
  }
}

void fill_normals(const StreamKey& key, std::uint64_t index, std::uint32_t sub, float* out, int n) {
  fill_normals_block(key, index, sub, 1, n, out);
}

}  // namespace mho
