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

void fill_normals(const StreamKey& key, std::uint64_t index, std::uint32_t sub, float* out, int n) {
  if (n <= 0) return;
  const std::uint64_t k = (std::uint64_t(key.k1()) << 32) | key.k0();
  const std::uint64_t row = splitmix(splitmix(k ^ splitmix(index + kGamma)) ^ (std::uint64_t(sub) + 1));
  const int m = (n + 1) / 2, half = n / 2;  // pair p gives out[p] and out[p + m]
  // The transforms run over a multiple of 16 pairs so that every element comes from the
  // vector loop (never its scalar tail, whose libm results could differ in the last bit).
  const int padded = (m + 15) / 16 * 16;
  thread_local std::vector<float> u1, u2, c, s;
  u1.resize(std::size_t(padded));
  u2.resize(std::size_t(padded));
  c.resize(std::size_t(padded));
  s.resize(std::size_t(padded));
  float* a = u1.data();
  float* b = u2.data();
  constexpr float kTwoPi = 6.28318530717958647692f, kInv24 = 1.0f / 16777216.0f;
  for (int p = 0; p < padded; ++p) {
    const std::uint64_t h = splitmix(row + std::uint64_t(p + 1) * kGamma);
    a[p] = (float(std::int32_t(h >> 40)) + 0.5f) * kInv24;
    b[p] = float(std::int32_t((h >> 16) & 0xFFFFFFu)) * kInv24;
  }
  float* cs = c.data();
  float* sn = s.data();
  for (int p = 0; p < padded; ++p) {
    const float r = std::sqrt(-2.0f * std::log(a[p]));
    cs[p] = r * std::cos(kTwoPi * b[p]);
    sn[p] = r * std::sin(kTwoPi * b[p]);
  }
  for (int p = 0; p < m; ++p) out[p] = cs[p];
  for (int p = 0; p < half; ++p) out[p + m] = sn[p];
}

}  // namespace mho

