#include <gtest/gtest.h>

#include <cmath>

#include "tile_fixtures.h"

namespace mho {
namespace {

using testing::normal_matrix;
using testing::quantized_spec;
using testing::RowMatD;

TEST(TileIdeal, EqualsMatmulInDoubleAndFloat) {
  const int n_in = 200, n_out = 60, B = 33;
  RowMatD w = normal_matrix(n_in, n_out, 1), x = normal_matrix(B, n_in, 2);
  Tile tile(TileSpec::ideal(256, 128));
  tile.program(w);
  RowMatD ref = x * w;
  RowMatD y = tile.forward<double>(x);
  EXPECT_LE((y - ref).cwiseAbs().maxCoeff(), 1e-12 * ref.cwiseAbs().maxCoeff());
  RowMat<float> yf = tile.forward<float>(x.cast<float>());
  EXPECT_LE((yf.cast<double>() - ref).cwiseAbs().maxCoeff(), 1e-5 * ref.cwiseAbs().maxCoeff());
}

// Brute force: codes from the conventions in tile_spec.h / dac_spec.h, integer products.
RowMatD integer_reference(const RowMatD& x, const RowMatD& w, int wb, int ib, double x_max,
                          bool offset) {
  const double cmax = offset ? std::ldexp(1.0, wb - 1) - 1 : std::ldexp(1.0, wb) - 1;
  const double w_lsb = w.cwiseAbs().maxCoeff() / cmax, x_lsb = x_max / (std::ldexp(1.0, ib) - 1);
  RowMatD wc = w.unaryExpr([&](double v) { return std::clamp(std::nearbyint(v / w_lsb), -cmax, cmax); });
  RowMatD xc = x.unaryExpr([&](double v) {
    return std::copysign(std::min(std::nearbyint(std::abs(v) / x_lsb), std::ldexp(1.0, ib) - 1), v);
  });
  return (xc * wc) * (x_lsb * w_lsb);  // integers below 2^53: exact
}

struct Layout {
  const char* mode;
  int bits_per_plane;
  int bits_per_cell;
  const char* encoding;
  const char* subtract;
  const char* signed_mode;
};

class TileQuantized : public ::testing::TestWithParam<Layout> {};

TEST_P(TileQuantized, PlanesAndSlicesRecombineExactly) {
  const Layout l = GetParam();
  const int n_in = 40, n_out = 7, B = 25, wb = 8, ib = 6;
  const double x_max = 2.0;
  TileSpec s = quantized_spec(64, 256, wb, ib);
  s.bits_per_cell = l.bits_per_cell;
  s.dac.mode = l.mode;
  s.dac.bits_per_plane = l.bits_per_plane;
  s.dac.signed_mode = l.signed_mode;
  s.dac.x_max = x_max;
  s.encoding = l.encoding;
  s.subtract = l.subtract;
  RowMatD w = normal_matrix(n_in, n_out, 3), x = normal_matrix(B, n_in, 4);
  Tile tile(s);
  tile.program(w);
  RowMatD ref = integer_reference(x, w, wb, ib, x_max, std::string(l.encoding) == "offset");
  RowMatD y = tile.forward<double>(x);
  EXPECT_LE((y - ref).cwiseAbs().maxCoeff(), 1e-12 * ref.cwiseAbs().maxCoeff() + 1e-12);
}

INSTANTIATE_TEST_SUITE_P(
    Layouts, TileQuantized,
    ::testing::Values(Layout{"multilevel", 1, 8, "differential", "analog", "two_pass"},
                      Layout{"bitserial", 1, 8, "differential", "analog", "two_pass"},
                      Layout{"bitserial", 2, 2, "differential", "analog", "bipolar"},
                      Layout{"bitserial", 3, 1, "differential", "digital", "two_pass"},
                      Layout{"multilevel", 1, 4, "differential", "digital", "bipolar"},
                      Layout{"multilevel", 1, 8, "offset", "analog", "two_pass"},
                      Layout{"bitserial", 2, 4, "offset", "analog", "bipolar"},
                      Layout{"bitserial", 1, 3, "offset", "digital", "two_pass"},
                      Layout{"multilevel", 1, 2, "offset", "digital", "bipolar"},
                      // Uneven: 8 bits on 6- and 5-bit cells (4 + 4), on 3-bit cells (3 x 3,
                      // the code shifted up one bit).
                      Layout{"bitserial", 1, 6, "differential", "analog", "two_pass"},
                      Layout{"multilevel", 1, 5, "offset", "analog", "bipolar"},
                      Layout{"bitserial", 2, 6, "offset", "digital", "two_pass"},
                      Layout{"multilevel", 1, 3, "differential", "digital", "bipolar"}));

// Every slice spreads its part of the code over all its levels: the largest weight drives
// the top slice to its top level, and the slices hold the code's bits from the top down.
TEST(TileSlices, BalancedSlicesUseAllTheirLevels) {
  struct Case { int wb, cell_bits, slices, slice_bits, pad; };
  for (const Case c : {Case{8, 6, 2, 4, 0}, Case{8, 3, 3, 3, 1}, Case{7, 2, 4, 2, 1}, Case{6, 6, 1, 6, 0},
                       Case{8, 2, 4, 2, 0}, Case{4, 8, 1, 4, 0}}) {
    TileSpec s = quantized_spec(16, 64, c.wb, 8);
    s.bits_per_cell = c.cell_bits;
    EXPECT_EQ(s.slices(), c.slices) << c.wb << " on " << c.cell_bits;
    EXPECT_EQ(s.slice_bits(), c.slice_bits) << c.wb << " on " << c.cell_bits;
    EXPECT_EQ(s.slice_pad_bits(), c.pad) << c.wb << " on " << c.cell_bits;
    RowMatD w = normal_matrix(16, 3, 8);
    w(0, 0) = 4 * w.cwiseAbs().maxCoeff();  // code 2^wb - 1, all ones
    Tile t(s);
    t.program(w);
    const double g_min = s.cell.g_min_S, dg = (s.cell.g_max_S - g_min) / ((1 << c.slice_bits) - 1);
    const long code = (1L << c.wb) - 1, stored = code << c.pad;
    for (int k = 0; k < c.slices; ++k) {
      const double level = (t.target_conductances()(0, 2 * k * 3) - g_min) / dg;
      EXPECT_NEAR(level, double((stored >> (k * c.slice_bits)) & ((1 << c.slice_bits) - 1)), 1e-9)
          << c.wb << " on " << c.cell_bits << ", slice " << k;
    }
    // The top slice reaches its top level.
    EXPECT_NEAR((t.target_conductances()(0, 2 * (c.slices - 1) * 3) - g_min) / dg, (1 << c.slice_bits) - 1, 1e-9);
  }
}

TEST(TileIdeal, DifferentialAndOffsetAgreeWithAnalogWeights) {
  RowMatD w = normal_matrix(30, 5, 5), x = normal_matrix(9, 30, 6);
  RowMatD ref = x * w;
  for (const char* enc : {"differential", "offset"})
    for (const char* sub : {"analog", "digital"}) {
      TileSpec s = TileSpec::ideal(32, 32);
      s.encoding = enc;
      s.subtract = sub;
      Tile t(s);
      t.program(w);
      EXPECT_LE((t.forward<double>(x) - ref).cwiseAbs().maxCoeff(), 1e-12 * ref.cwiseAbs().maxCoeff())
          << enc << " " << sub;
    }
}

TEST(TileIdeal, AdcErrorWithinItsBound) {
  // One slice, multilevel, analog differential: per pass one conversion per output, each
  // off by at most lsb/2; two passes (two_pass); lsb from the fixed range.
  const int n_in = 50, n_out = 10, B = 40, wb = 6, ib = 8, ab = 7;
  const double x_max = 3.0;
  TileSpec s = quantized_spec(64, 64, wb, ib);
  s.dac.x_max = x_max;
  s.cell.g_min_S = 1e-6;
  s.cell.g_max_S = 11e-6;
  Tile exact(s);
  s.adc.bits = ab;
  s.adc.range = "fixed";
  Tile quant(s);
  RowMatD w = normal_matrix(n_in, n_out, 7), x = normal_matrix(B, n_in, 8);
  exact.program(w);
  quant.program(w);
  RowMatD d = quant.forward<double>(x) - exact.forward<double>(x);
  const double v = s.cell.v_read_V, span = 10e-6;
  const double lsb_A = n_in * v * span / (std::ldexp(1.0, ab - 1) - 1);
  const double w_lsb = w.cwiseAbs().maxCoeff() / (std::ldexp(1.0, wb) - 1);
  const double dg = span / (std::ldexp(1.0, wb) - 1);
  const double bound = 2 * (lsb_A / 2) * x_max * w_lsb / (v * dg);
  EXPECT_LE(d.cwiseAbs().maxCoeff(), bound * (1 + 1e-9));
  EXPECT_GT(d.cwiseAbs().maxCoeff(), 0.05 * bound);  // the ADC does quantize
}

TEST(TileIdeal, CountersMatchHandCount) {
  TileSpec s = quantized_spec(16, 16, 8, 8);
  s.bits_per_cell = 4;             // 2 slices
  s.dac.mode = "bitserial";
  s.dac.bits_per_plane = 2;        // 4 planes, two passes: 8
  s.dac.signed_mode = "two_pass";
  Tile t(s);
  t.program(normal_matrix(10, 3, 9));
  RowMatD x = normal_matrix(5, 10, 10);
  t.forward<double>(x);
  const TileCounters& c = t.last_counters();
  EXPECT_EQ(t.physical_columns(), 12);                  // 3 outputs x 2 slices x 2 signs
  EXPECT_EQ(c.cell_reads, 8u * 5 * 10 * 12);
  EXPECT_EQ(c.dac_conversions, 8u * 5 * 10);
  EXPECT_EQ(c.adc_conversions, 8u * 5 * 6);             // analog subtraction: 6 per pass
  EXPECT_EQ(c.shift_adds, 5u * 3 * (8 * 2 - 1));
  t.forward<double>(x);
  EXPECT_EQ(t.total_counters().cell_reads, 2 * c.cell_reads);
  EXPECT_EQ(t.total_counters().forward_calls, 2u);
}

TEST(TileErrors, ClearMessages) {
  TileSpec s = quantized_spec(16, 16, 8, 8);
  Tile t(s);
  RowMatD x = normal_matrix(2, 4, 11);
  EXPECT_THROW(t.forward<double>(x), std::logic_error);  // not programmed
  EXPECT_THROW(t.program(normal_matrix(17, 2, 1)), std::invalid_argument);  // too many rows
  EXPECT_THROW(t.program(normal_matrix(4, 9, 1)), std::invalid_argument);   // 18 columns
  RowMatD nan = normal_matrix(4, 2, 1);
  nan(0, 0) = std::nan("");
  EXPECT_THROW(t.program(nan), std::invalid_argument);
  t.program(normal_matrix(4, 2, 1));
  EXPECT_THROW(t.forward<double>(normal_matrix(2, 5, 1)), std::invalid_argument);
  s.dac.signed_mode = "unsigned";
  Tile u(s);
  u.program(normal_matrix(4, 2, 1));
  EXPECT_THROW(u.forward<double>(x), std::invalid_argument);
  s.dac.range = "calibrated";
  Tile c(s);
  c.program(normal_matrix(4, 2, 1));
  EXPECT_THROW(c.forward<double>(x.cwiseAbs()), std::logic_error);
  c.calibrate<double>(x.cwiseAbs());
  EXPECT_NO_THROW(c.forward<double>(x.cwiseAbs()));
  s = quantized_spec(16, 16, 8, 8);
  s.cell.bits = 4;
  s.bits_per_cell = 8;
  EXPECT_THROW(Tile{s}, std::invalid_argument);
}

}  // namespace
}  // namespace mho

namespace mho::testing {
namespace {

// Energy in linear cells by its definition, sum over passes and cells of t_read V_i^2 G_ij, with
// the pass levels worked out by hand from the input codes.
double energy_by_hand(const Tile& t, const std::vector<std::vector<double>>& pass_levels) {
  const Eigen::MatrixXd& g = t.conductances();
  const double v = t.spec().cell.v_read_V, tr = t.spec().cell.t_read_s;
  double e = 0.0;
  for (const auto& levels : pass_levels)
    for (int i = 0; i < g.rows(); ++i)
      for (int j = 0; j < g.cols(); ++j) e += tr * (levels[i] * v) * (levels[i] * v) * g(i, j);
  return e;
}

TEST(TileEnergy, CellEnergyEqualsSumOfVTimesI) {
  // Inputs on the DAC grid (codes / 15 with a fixed range of 1), so levels are exact.
  std::mt19937 rng(4);
  std::uniform_int_distribution<int> code(0, 15);
  RowMatD x(6, 12);
  for (Eigen::Index k = 0; k < x.size(); ++k) x.data()[k] = code(rng) / 15.0;
  for (const std::string mode : {"multilevel", "bitserial"}) {
    TileSpec s = quantized_spec(16, 16, 4, 4);
    s.cell.g_min_S = 1e-6;
    s.cell.g_max_S = 1e-4;
    s.dac.mode = mode;
    s.dac.signed_mode = "unsigned";
    s.dac.x_max = 1.0;
    s.adc.bits = 8;
    s.adc.range = "fixed";
    Tile t(s);
    t.program(normal_matrix(12, 4, 3));
    t.forward<double>(x);
    std::vector<std::vector<double>> passes;
    for (Eigen::Index b = 0; b < x.rows(); ++b) {
      if (mode == "multilevel") {
        passes.emplace_back(x.row(b).data(), x.row(b).data() + x.cols());
      } else {
        for (int bit = 0; bit < 4; ++bit) {
          std::vector<double> lv;
          for (int i = 0; i < x.cols(); ++i) lv.push_back((int(std::lround(x(b, i) * 15)) >> bit) & 1);
          passes.push_back(lv);
        }
      }
    }
    const double e = energy_by_hand(t, passes);
    EXPECT_GT(e, 0.0);
    EXPECT_NEAR(t.last_counters().cell_energy_J(), e, 1e-12 * e) << mode;
    // Float inputs: the same energy to single precision.
    t.forward<float>(x.cast<float>());
    EXPECT_NEAR(t.last_counters().cell_energy_J(), e, 1e-6 * e) << mode;
  }
  // sinh cells: each dissipates V I = V G v0 sinh(V / v0) per pass.
  {
    TileSpec s = quantized_spec(16, 16, 4, 4);
    s.dac.signed_mode = "unsigned";
    s.dac.x_max = 1.0;
    s.adc.bits = 8;
    s.adc.range = "fixed";
    s.cell.iv = "sinh";
    s.cell.iv_v0_V = 0.1;
    s.nonlinear_iv = true;
    Tile t(s);
    t.program(normal_matrix(12, 4, 6));
    t.forward<double>(x);
    const Eigen::MatrixXd& g = t.conductances();
    const double v = s.cell.v_read_V, v0 = s.cell.iv_v0_V;
    double e = 0.0;
    for (Eigen::Index b = 0; b < x.rows(); ++b)
      for (int i = 0; i < x.cols(); ++i)
        for (int j = 0; j < g.cols(); ++j) {
          const double vi = x(b, i) * v;
          e += s.cell.t_read_s * vi * g(i, j) * v0 * std::sinh(vi / v0);
        }
    EXPECT_GT(e, 0.0);
    EXPECT_NEAR(t.last_counters().cell_energy_J(), e, 1e-12 * e);
  }
  // The exact linear path (ideal DAC and ADC) drives levels x / x_max.
  TileSpec s = TileSpec::ideal(16, 16);
  s.dac.range = "fixed";
  s.dac.x_max = 2.0;
  Tile t(s);
  t.program(normal_matrix(12, 4, 5));
  t.forward<double>(x);
  std::vector<std::vector<double>> passes;
  for (Eigen::Index b = 0; b < x.rows(); ++b) {
    std::vector<double> lv;
    for (int i = 0; i < x.cols(); ++i) lv.push_back(x(b, i) / 2.0);
    passes.push_back(lv);
  }
  const double e = energy_by_hand(t, passes);
  EXPECT_NEAR(t.last_counters().cell_energy_J(), e, 1e-12 * e);
}

}  // namespace
}  // namespace mho::testing
