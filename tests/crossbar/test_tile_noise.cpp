#include <gtest/gtest.h>

#include <cmath>

#include "devices/cell_model.h"
#include "tile_fixtures.h"

namespace mho {
namespace {

using testing::normal_matrix;
using testing::RowMatD;

// One input vector repeated n times through a tile whose only non-ideality is read noise;
// both noise methods must give mean x.W and the closed-form variance
// var(y_j) = (w_unit / dG)^2 sum_i x_i^2 (sigma(g+_ij)^2 + sigma(g-_ij)^2).
class ReadNoiseMethods : public ::testing::TestWithParam<const char*> {};

TEST_P(ReadNoiseMethods, MatchClosedFormDistribution) {
  const int n_in = 16, n_out = 4, n = 20000;
  TileSpec s = TileSpec::ideal(16, 8);
  s.read_noise = true;
  s.read_noise_method = GetParam();
  s.cell.read_noise = "proportional";
  s.cell.read_sigma = {0.05};
  RowMatD w = normal_matrix(n_in, n_out, 21), x1 = normal_matrix(1, n_in, 22);
  Tile t(s);
  t.program(w);
  RowMatD x = x1.replicate(n, 1);
  RowMatD y = t.forward<double>(x);

  CellModel cell(s.cell);
  const Eigen::MatrixXd& g = t.conductances();
  const double w_unit = w.cwiseAbs().maxCoeff(), dg = s.cell.g_max_S - s.cell.g_min_S;
  RowMatD mean_ref = x1 * w;
  for (int j = 0; j < n_out; ++j) {
    double var = 0;
    for (int i = 0; i < n_in; ++i) {
      const double sp = cell.read_sigma(g(i, j), 0), sm = cell.read_sigma(g(i, n_out + j), 0);
      var += x1(0, i) * x1(0, i) * (sp * sp + sm * sm);
    }
    var *= (w_unit / dg) * (w_unit / dg);
    const double m = y.col(j).mean();
    const double v = (y.col(j).array() - m).square().sum() / (n - 1);
    EXPECT_NEAR(m, mean_ref(0, j), 5 * std::sqrt(var / n)) << GetParam() << " col " << j;
    EXPECT_NEAR(v, var, 5 * var * std::sqrt(2.0 / n)) << GetParam() << " col " << j;
    // Gaussian: the fraction within one sigma is 0.6827 (binomial tolerance).
    const double in1 = ((y.col(j).array() - mean_ref(0, j)).abs() < std::sqrt(var)).cast<double>().mean();
    EXPECT_NEAR(in1, 0.682689, 5 * std::sqrt(0.682689 * 0.317311 / n)) << GetParam();
  }
}

INSTANTIATE_TEST_SUITE_P(Methods, ReadNoiseMethods, ::testing::Values("aggregate", "per_cell"));

TEST(TileProgramming, ErrorStatisticsAndSwitch) {
  TileSpec s = TileSpec::ideal(256, 256);
  s.cell.g_min_S = 0;
  s.cell.g_max_S = 100e-6;
  s.cell.prog_error = "constant";
  s.cell.prog_sigma = {0.5e-6};
  s.weight_bits = 2;  // levels 0..3: cells at 0, 33, 67, 100 uS
  s.bits_per_cell = 2;
  s.cell.bits = 2;
  RowMatD w = normal_matrix(256, 128, 23);
  Tile off(s);
  off.program(w);
  EXPECT_EQ((off.programmed_conductances() - off.target_conductances()).cwiseAbs().maxCoeff(), 0.0);
  s.programming_error = true;
  Tile on(s);
  on.program(w);
  // Cells at the middle levels are far from the clip limits: their errors are N(0, sigma).
  const Eigen::MatrixXd& t = on.target_conductances();
  Eigen::MatrixXd d = on.programmed_conductances() - t;
  double sum = 0, sum2 = 0;
  int n = 0;
  for (Eigen::Index i = 0; i < t.size(); ++i) {
    const double tv = t.data()[i];
    if (tv > 10e-6 && tv < 90e-6) {
      sum += d.data()[i];
      sum2 += d.data()[i] * d.data()[i];
      ++n;
    }
  }
  ASSERT_GT(n, 5000);
  EXPECT_NEAR(sum / n, 0.0, 5 * 0.5e-6 / std::sqrt(n));
  EXPECT_NEAR(std::sqrt(sum2 / n), 0.5e-6, 5 * 0.5e-6 / std::sqrt(2.0 * n));
}

TEST(TileDrift, GlobalCompensationRestoresUniformDrift) {
  TileSpec s = TileSpec::ideal(32, 32);
  s.drift = true;
  s.cell.drift = "constant";
  s.cell.drift_params = {0.05, 0.0};
  RowMatD w = normal_matrix(20, 6, 24), x = normal_matrix(7, 20, 25);
  Tile plain(s);
  plain.program(w);
  const double t = 1e5, f = std::pow(t / s.cell.drift_t0_s, -0.05);
  plain.set_time(t);
  RowMatD ref = x * w;
  EXPECT_LE((plain.forward<double>(x) - f * ref).cwiseAbs().maxCoeff(), 1e-12 * ref.cwiseAbs().maxCoeff());
  s.drift_compensation = "global";
  Tile comp(s);
  comp.program(w);
  comp.set_time(t);
  EXPECT_NEAR(comp.drift_scale()[0], 1.0 / f, 1e-12);
  EXPECT_LE((comp.forward<double>(x) - ref).cwiseAbs().maxCoeff(), 1e-12 * ref.cwiseAbs().maxCoeff());
}

TEST(TileIv, SinhClosedFormOnOneRow) {
  // One row, one analog weight, ideal DAC with x_max = 1: y = w x_max f(n v) / v, n = x / x_max.
  TileSpec s = TileSpec::ideal(1, 2);
  s.nonlinear_iv = true;
  s.cell.iv = "sinh";
  s.cell.iv_v0_V = 0.1;
  s.dac.range = "fixed";
  s.dac.x_max = 1.0;
  RowMatD w(1, 1), x(3, 1);
  w << 0.7;
  x << 0.25, 1.0, -0.5;
  Tile t(s);
  t.program(w);
  RowMatD y = t.forward<double>(x);
  const double v = s.cell.v_read_V;
  for (int b = 0; b < 3; ++b) {
    const double expect = 0.7 * 0.1 * std::sinh(x(b, 0) * v / 0.1) / v;
    EXPECT_NEAR(y(b, 0), expect, 1e-12) << b;
  }
}

}  // namespace
}  // namespace mho
