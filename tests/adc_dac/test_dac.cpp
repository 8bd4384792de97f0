#include <gtest/gtest.h>

#include "tests/expect_rejects.h"

#include <cmath>

#include "adc_dac/dac.h"
#include "adc_dac/shift_add.h"

namespace mho {
namespace {

using Mat = Eigen::Matrix<double, -1, -1, Eigen::RowMajor>;

// x recovered from the planes: sum_k multiplier(k) * level_k.
Mat recombine(const Dac& dac, const Mat& levels, Eigen::Index B, double x_max) {
  Mat x = Mat::Zero(B, levels.cols());
  AdcSpec ideal;
  ideal.bits = 0;
  const Adc adc(ideal, 1.0, true);
  for (int k = 0; k < dac.num_planes(); ++k)
    for (Eigen::Index b = 0; b < B; ++b)
      convert_shift_add(levels.row(k * B + b).data(), 0.0, int(levels.cols()), adc, nullptr,
                        dac.multiplier(k, x_max), x.row(b).data());
  return x;
}

Mat ramp(int n, double lo, double hi) {
  Mat x(1, n);
  for (int i = 0; i < n; ++i) x(0, i) = lo + (hi - lo) * i / (n - 1);
  return x;
}

TEST(Dac, QuantizationErrorWithinHalfLsb) {
  for (int bits : {1, 3, 8}) {
    DacSpec s;
    s.input_bits = bits;
    s.signed_mode = "two_pass";
    Dac dac(s);
    const double x_max = 2.5, lsb = x_max / ((1 << bits) - 1);
    Mat x = ramp(1001, -x_max, x_max), lv;
    dac.encode<double>(x, x_max, lv);
    Mat back = recombine(dac, lv, 1, x_max);
    EXPECT_LE((back - x).cwiseAbs().maxCoeff(), lsb / 2 + 1e-12) << bits;
  }
}

TEST(Dac, ClipsAtFullScale) {
  DacSpec s;
  s.input_bits = 4;
  s.signed_mode = "bipolar";
  Dac dac(s);
  Mat x(1, 2), lv;
  x << 10.0, -10.0;
  dac.encode<double>(x, 1.0, lv);
  Mat back = recombine(dac, lv, 1, 1.0);
  EXPECT_DOUBLE_EQ(back(0, 0), 1.0);
  EXPECT_DOUBLE_EQ(back(0, 1), -1.0);
}

TEST(Dac, BitSerialPlanesRecombineExactly) {
  // Every code of 8 bits, through 1-, 2-, 3- and 8-bit planes: exact integer recombination.
  for (int bpp : {1, 2, 3, 8}) {
    for (const char* sm : {"two_pass", "bipolar"}) {
      DacSpec s;
      s.input_bits = 8;
      s.mode = "bitserial";
      s.bits_per_plane = bpp;
      s.signed_mode = sm;
      Dac dac(s);
      EXPECT_EQ(dac.num_planes(), ((8 + bpp - 1) / bpp) * (std::string(sm) == "two_pass" ? 2 : 1));
      Mat x(1, 511), lv;
      for (int c = -255; c <= 255; ++c) x(0, c + 255) = c;  // x_max = 255: lsb = 1
      dac.encode<double>(x, 255.0, lv);
      // Integer recombination of the plane codes is exact ...
      for (int i = 0; i < x.cols(); ++i) {
        long code = 0;
        for (int k = 0; k < dac.num_planes(); ++k) {
          const DacPlane& p = dac.planes()[k];
          code += p.sign * (std::lround(lv(k, i) * dac.plane_max_code()) << p.shift_bits);
        }
        EXPECT_EQ(code, long(x(0, i))) << bpp << sm;
      }
      // ... and so is the floating-point one, to rounding of level = code / (2^bpp - 1).
      Mat back = recombine(dac, lv, 1, 255.0);
      EXPECT_LE((back - x).cwiseAbs().maxCoeff(), 255 * 1e-15) << bpp << sm;
      EXPECT_LE(lv.cwiseAbs().maxCoeff(), 1.0);
    }
  }
}

TEST(Dac, IdealIsExactAndUnclipped) {
  DacSpec s;
  s.input_bits = 0;
  Dac dac(s);
  Mat x = ramp(101, -3.0, 3.0), lv;
  dac.encode<double>(x, 1.0, lv);
  EXPECT_LE((recombine(dac, lv, 1, 1.0) - x).cwiseAbs().maxCoeff(), 1e-15);
}

TEST(Dac, CalibratedRangeIsPercentile) {
  DacSpec s;
  s.percentile = 50.0;
  Dac dac(s);
  Mat x(1, 4);
  x << -4, 1, 2, 3;
  EXPECT_DOUBLE_EQ(dac.calibrated_range<double>(x), 2.0);  // nearest rank of {1,2,3,4}
  s.percentile = 100.0;
  EXPECT_DOUBLE_EQ(Dac(s).calibrated_range<double>(x), 4.0);
}

TEST(DacSpec, BadFieldsAreNamed) {
  auto bad = [](auto f, const char* field) { testing::expect_rejects<DacSpec>(f, field); };
  bad([](DacSpec& s) { s.input_bits = -1; }, "input_bits");
  bad([](DacSpec& s) { s.input_bits = 17; }, "input_bits");
  bad([](DacSpec& s) { s.mode = "serial"; }, "mode");
  bad([](DacSpec& s) { s.mode = "bitserial"; s.input_bits = 0; }, "mode");
  bad([](DacSpec& s) { s.bits_per_plane = 0; }, "bits_per_plane");
  bad([](DacSpec& s) { s.signed_mode = "sign"; }, "signed_mode");
  bad([](DacSpec& s) { s.range = "auto"; }, "range");
  bad([](DacSpec& s) { s.x_max = 0; }, "x_max");
  bad([](DacSpec& s) { s.percentile = 101; }, "percentile");
}

}  // namespace
}  // namespace mho
