#include <gtest/gtest.h>

#include <cmath>

#include "common/random_stream.h"

namespace mho {
namespace {

// Known-answer vectors of Philox4x32-10 published with Random123 (kat_vectors).
TEST(Philox, KnownAnswers) {
  auto r = detail::philox4x32_10({0, 0, 0, 0}, 0, 0);
  EXPECT_EQ(r[0], 0x6627e8d5u);
  EXPECT_EQ(r[1], 0xe169c58du);
  EXPECT_EQ(r[2], 0xbc57ac4cu);
  EXPECT_EQ(r[3], 0x9b00dbd8u);
  r = detail::philox4x32_10({0xffffffffu, 0xffffffffu, 0xffffffffu, 0xffffffffu}, 0xffffffffu,
                            0xffffffffu);
  EXPECT_EQ(r[0], 0x408f276du);
  EXPECT_EQ(r[1], 0x41c83b0eu);
  EXPECT_EQ(r[2], 0xa20bc7c6u);
  EXPECT_EQ(r[3], 0x6d5451fdu);
  r = detail::philox4x32_10({0x243f6a88u, 0x85a308d3u, 0x13198a2eu, 0x03707344u}, 0xa4093822u,
                            0x299f31d0u);
  EXPECT_EQ(r[0], 0xd16cfe09u);
  EXPECT_EQ(r[1], 0x94fdccebu);
  EXPECT_EQ(r[2], 0x5001e420u);
  EXPECT_EQ(r[3], 0x24126ea1u);
}

TEST(StreamKey, ElementDrawsArePureFunctions) {
  StreamKey a(7, 1, 2, Purpose::kReadNoise), b(7, 1, 2, Purpose::kReadNoise);
  StreamKey c(7, 1, 2, Purpose::kProgramming), d(8, 1, 2, Purpose::kReadNoise);
  ElementEngine e1(a, 12345, 3), e2(b, 12345, 3), e3(c, 12345, 3), e4(d, 12345, 3);
  const double x1 = normal_draw(e1), x2 = normal_draw(e2);
  EXPECT_EQ(x1, x2);
  EXPECT_NE(x1, normal_draw(e3));
  EXPECT_NE(x1, normal_draw(e4));
}

TEST(StreamKey, NormalMomentsWithinSamplingTolerance) {
  StreamKey k(1, 0, 0, Purpose::kTest);
  const int n = 200000;
  double s = 0, s2 = 0;
  for (int i = 0; i < n; ++i) {
    ElementEngine e(k, std::uint64_t(i));
    const double x = normal_draw(e);
    s += x;
    s2 += x * x;
  }
  // 5 standard errors: mean se = 1/sqrt(n); variance se = sqrt(2/n).
  EXPECT_NEAR(s / n, 0.0, 5.0 / std::sqrt(n));
  EXPECT_NEAR(s2 / n, 1.0, 5.0 * std::sqrt(2.0 / n));
}

}  // namespace
}  // namespace mho
