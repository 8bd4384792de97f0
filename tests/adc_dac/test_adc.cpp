#include <gtest/gtest.h>

#include "tests/expect_rejects.h"

#include <cmath>

#include "adc_dac/adc.h"
#include "common/random_stream.h"

namespace mho {
namespace {

TEST(Adc, ErrorWithinHalfLsbInRange) {
  for (int bits : {2, 4, 8, 12}) {
    for (bool sgn : {false, true}) {
      AdcSpec s;
      s.bits = bits;
      const double R = 3e-6;
      Adc adc(s, R, sgn);
      const double lsb = sgn ? R / (std::ldexp(1.0, bits - 1) - 1) : R / (std::ldexp(1.0, bits) - 1);
      EXPECT_DOUBLE_EQ(adc.lsb(), lsb);
      for (int i = 0; i <= 2000; ++i) {
        const double x = (sgn ? -R : 0.0) + (sgn ? 2 * R : R) * i / 2000.0;
        EXPECT_LE(std::abs(adc.convert(x) - x), lsb / 2 * (1 + 1e-12)) << bits << sgn << x;
      }
    }
  }
}

TEST(Adc, ClipsAndKeepsZero) {
  AdcSpec s;
  s.bits = 4;
  Adc u(s, 1.0, false), v(s, 1.0, true);
  EXPECT_DOUBLE_EQ(u.convert(5.0), 1.0);
  EXPECT_DOUBLE_EQ(u.convert(-5.0), 0.0);
  EXPECT_DOUBLE_EQ(v.convert(-5.0), -1.0);
  EXPECT_DOUBLE_EQ(v.convert(0.0), 0.0);
  EXPECT_EQ(v.max_code(), 7);
  EXPECT_EQ(v.min_code(), -7);
  AdcSpec ideal;
  ideal.bits = 0;
  EXPECT_DOUBLE_EQ(Adc(ideal, 1.0, true).convert(1.2345), 1.2345);
}

TEST(Adc, ParabolicInlBow) {
  AdcSpec s;
  s.bits = 8;
  s.inl_lsb = 2.0;
  Adc adc(s, 255.0, false);  // lsb = 1
  EXPECT_DOUBLE_EQ(adc.convert(127.0), 129.0);  // u = 127/255: +1.99992 LSB -> 128.99992
  EXPECT_DOUBLE_EQ(adc.convert(0.0), 0.0);
  EXPECT_DOUBLE_EQ(adc.convert(255.0), 255.0);
  EXPECT_DOUBLE_EQ(adc.convert(63.75), 65.0);  // u = 1/4: +1.5 LSB -> 65.25
}

TEST(Adc, NoiseStandardDeviation) {
  AdcSpec s;
  s.bits = 16;
  s.noise_lsb = 3.0;
  Adc adc(s, 65535.0, false);  // lsb = 1
  StreamKey k(9, 0, 0, Purpose::kAdcNoise);
  const int n = 100000;
  double sum = 0, sum2 = 0;
  for (int i = 0; i < n; ++i) {
    ElementEngine e(k, std::uint64_t(i));
    const double d = adc.convert(30000.0, normal_draw(e)) - 30000.0;
    sum += d;
    sum2 += d * d;
  }
  // Rounding adds variance 1/12 LSB^2 to the noise's 9.
  const double var = sum2 / n - (sum / n) * (sum / n), expect = 9.0 + 1.0 / 12.0;
  EXPECT_NEAR(sum / n, 0.0, 5 * std::sqrt(expect / n));
  EXPECT_NEAR(var, expect, 5 * expect * std::sqrt(2.0 / n));
}

TEST(AdcSpec, BadFieldsAreNamed) {
  auto bad = [](auto f, const char* field) { testing::expect_rejects<AdcSpec>(f, field); };
  bad([](AdcSpec& s) { s.bits = -1; }, "bits");
  bad([](AdcSpec& s) { s.bits = 25; }, "bits");
  bad([](AdcSpec& s) { s.range = "auto"; }, "range");
  bad([](AdcSpec& s) { s.percentile = 0; }, "percentile");
  bad([](AdcSpec& s) { s.noise_lsb = -1; }, "noise_lsb");
  bad([](AdcSpec& s) { s.inl_lsb = -1; }, "inl_lsb");
  bad([](AdcSpec& s) { s.columns_per_adc = 0; }, "columns_per_adc");
  AdcSpec one;
  one.bits = 1;
  EXPECT_THROW(Adc(one, 1.0, true), std::invalid_argument);  // signed needs 2 bits
  EXPECT_NO_THROW(Adc(one, 1.0, false));
}

}  // namespace
}  // namespace mho
