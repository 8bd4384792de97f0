#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "common/normal_fill.h"

namespace mho {
namespace {

// 400 rows of 1001 draws (odd: exercises the unpaired last element).
std::vector<float> draws(const StreamKey& k, std::uint32_t sub, int rows = 400, int n = 1001) {
  std::vector<float> all(std::size_t(rows) * n);
  for (int r = 0; r < rows; ++r) fill_normals(k, std::uint64_t(r), sub, all.data() + std::size_t(r) * n, n);
  return all;
}

TEST(FillNormals, MomentsAndTailFractionsOfAStandardNormal) {
  const std::vector<float> z = draws(StreamKey(11, 0, 0, Purpose::kTest), 0);
  const double n = double(z.size());
  double s = 0, s2 = 0, s4 = 0, in1 = 0, in2 = 0;
  for (float v : z) {
    s += v;
    s2 += double(v) * v;
    s4 += double(v) * v * v * v;
    in1 += std::abs(v) < 1.0f;
    in2 += std::abs(v) < 2.0f;
  }
  EXPECT_NEAR(s / n, 0.0, 5 / std::sqrt(n));
  EXPECT_NEAR(s2 / n, 1.0, 5 * std::sqrt(2 / n));
  EXPECT_NEAR(s4 / n, 3.0, 5 * std::sqrt(96 / n));  // var(z^4) = 105 - 9
  EXPECT_NEAR(in1 / n, 0.682689, 5 * std::sqrt(0.2166 / n));
  EXPECT_NEAR(in2 / n, 0.954500, 5 * std::sqrt(0.0434 / n));
}

TEST(FillNormals, RowsSubsAndNeighboursAreUncorrelated) {
  const StreamKey k(12, 0, 0, Purpose::kTest);
  const std::vector<float> a = draws(k, 0), b = draws(k, 1);
  const int n = 1001;
  double ab = 0, next_row = 0, pair = 0, neighbour = 0;
  const std::size_t rows = a.size() / n;
  for (std::size_t i = 0; i < a.size(); ++i) ab += double(a[i]) * b[i];
  for (std::size_t i = 0; i + n < a.size(); ++i) next_row += double(a[i]) * a[i + n];
  for (std::size_t r = 0; r < rows; ++r)
    for (int p = 0; p < n / 2; ++p) {
      pair += double(a[r * n + p]) * a[r * n + p + 501];  // the two halves of one Box-Muller pair
      neighbour += double(a[r * n + p]) * a[r * n + p + 1];
    }
  const double tol = 5 / std::sqrt(double(a.size()));
  EXPECT_NEAR(ab / a.size(), 0.0, tol);
  EXPECT_NEAR(next_row / (a.size() - n), 0.0, tol);
  EXPECT_NEAR(pair / (rows * (n / 2)), 0.0, 5 / std::sqrt(double(rows * (n / 2))));
  EXPECT_NEAR(neighbour / (rows * (n / 2)), 0.0, 5 / std::sqrt(double(rows * (n / 2))));
}

TEST(FillNormals, ElementDependsOnlyOnItsPosition) {
  const StreamKey k(13, 1, 2, Purpose::kReadNoise);
  std::vector<float> x(300), y(300);
  fill_normals(k, 77, 5, x.data(), 300);
  fill_normals(k, 77, 5, y.data(), 300);
  EXPECT_EQ(x, y);
  fill_normals(k, 78, 5, y.data(), 300);
  EXPECT_NE(x, y);
}

}  // namespace
}  // namespace mho

namespace mho {
namespace {

// Rows drawn together are the rows drawn one by one, for short, odd and long rows.
TEST(FillNormals, RowsTogetherEqualRowsOneByOne) {
  const StreamKey k(13, 2, 5, Purpose::kTest);
  for (int n : {1, 2, 3, 15, 48, 61, 200}) {
    const int rows = 9;
    std::vector<std::uint32_t> subs;
    for (int r = 0; r < rows; ++r) subs.push_back(std::uint32_t(r * 7 + 1) << 21);
    std::vector<float> together(std::size_t(rows) * n);
    std::vector<float> alone(static_cast<std::size_t>(n));
    fill_normals_rows(k, 77, subs.data(), rows, together.data(), n);
    for (int r = 0; r < rows; ++r) {
      fill_normals(k, 77, subs[std::size_t(r)], alone.data(), n);
      for (int i = 0; i < n; ++i)
        ASSERT_EQ(together[std::size_t(r) * n + i], alone[std::size_t(i)]) << "n " << n << " row " << r << " i " << i;
    }
  }
}

// Rows of many samples in one call are those rows drawn one by one (samples repeated, out of
// order and interleaved, as a narrow tile's passes list them).
TEST(FillNormals, SamplesTogetherEqualRowsOneByOne) {
  const StreamKey k(13, 2, 5, Purpose::kReadNoise);
  for (int n : {1, 2, 4, 7, 33}) {
    const std::vector<std::uint64_t> idx = {5, 5, 5, 9, 2, 2, 5, 100000007, 9, 0, 0};
    std::vector<std::uint32_t> subs;
    for (std::size_t r = 0; r < idx.size(); ++r) subs.push_back(std::uint32_t(r % 4) << 21 | std::uint32_t(r % 3));
    const int rows = int(idx.size());
    std::vector<float> together(std::size_t(rows) * n), alone(static_cast<std::size_t>(n));
    fill_normals_samples(k, idx.data(), subs.data(), rows, together.data(), n);
    for (int r = 0; r < rows; ++r) {
      fill_normals(k, idx[std::size_t(r)], subs[std::size_t(r)], alone.data(), n);
      for (int i = 0; i < n; ++i)
        ASSERT_EQ(together[std::size_t(r) * n + i], alone[std::size_t(i)]) << "n " << n << " row " << r << " i " << i;
    }
  }
}

}  // namespace
}  // namespace mho
