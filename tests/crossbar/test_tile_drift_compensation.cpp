// Drift compensation as a read (crossbar/tile.h): the estimate is checked against the ratio
// computed here from the conductances, and its own read noise and quantization must show.
#include <gtest/gtest.h>

#include <bitset>
#include <cmath>

#include "tile_fixtures.h"

namespace mho {
namespace {

using testing::normal_matrix;
using testing::RowMatD;

// The reference inputs the tile documents: row k of a Sylvester-Hadamard matrix as 0/1.
RowMatD hadamard_inputs(int n_in) {
  RowMatD x(32, n_in);
  for (int k = 0; k < 32; ++k)
    for (int i = 0; i < n_in; ++i) x(k, i) = std::bitset<32>(unsigned(k) & unsigned(i)).count() % 2 == 0;
  return x;
}

// Per output: sum_k |x_k . W(G)|, with W(G) the differential weights of conductances G.
Eigen::VectorXd abs_sums(const RowMatD& x, const Eigen::MatrixXd& g, int n_out) {
  const Eigen::MatrixXd w = g.leftCols(n_out) - g.middleCols(n_out, n_out);
  return (x * w).cwiseAbs().colwise().sum().transpose();
}

TileSpec drifting_spec() {
  TileSpec s = TileSpec::ideal(64, 64);
  s.drift = true;
  s.cell.g_min_S = 0.0;
  s.cell.g_max_S = 25e-6;
  s.cell.drift = "pcm";  // nu varies with g and from cell to cell
  return s;
}

TEST(TileDriftCompensation, NoiseFreeReadEqualsConductanceRatio) {
  RowMatD w = normal_matrix(40, 12, 31), x = normal_matrix(9, 40, 32);
  const RowMatD ref_in = hadamard_inputs(40);
  for (const char* kind : {"global", "per_column"}) {
    TileSpec s = drifting_spec();
    s.drift_compensation = kind;
    Tile t(s);
    t.program(w);
    EXPECT_EQ(t.drift_scale(), Eigen::VectorXd::Ones(12)) << kind;
    t.set_time(1e6);
    const Eigen::VectorXd b = abs_sums(ref_in, t.programmed_conductances(), 12);
    const Eigen::VectorXd c = abs_sums(ref_in, t.conductances(), 12);
    for (int j = 0; j < 12; ++j) {
      const double expect = std::string(kind) == "global" ? b.sum() / c.sum() : b[j] / c[j];
      EXPECT_NEAR(t.drift_scale()[j], expect, 1e-12 * expect) << kind << " col " << j;
      EXPECT_GT(t.drift_scale()[j], 1.05) << kind;  // drift was there to compensate
    }
    // The outputs are the uncompensated ones times the factors.
    TileSpec plain = s;
    plain.drift_compensation = "none";
    Tile u(plain);
    u.program(w);
    u.set_time(1e6);
    const RowMatD yu = u.forward<double>(x), yc = t.forward<double>(x);
    EXPECT_LE((yc - yu * t.drift_scale().asDiagonal()).cwiseAbs().maxCoeff(), 1e-12 * yc.cwiseAbs().maxCoeff());
  }
}

TEST(TileDriftCompensation, PerColumnFollowsColumnsThatDriftDifferently) {
  // PCM drift is faster at low conductance (mean nu 0.049 above u = 0.2, about 0.07 at
  // u = 0.05): columns of small weights get larger factors than columns of large ones, and
  // the global factor lies between. (Whether that lowers the error depends on the cells'
  // own nu spread, which no column factor removes.)
  TileSpec s = drifting_spec();
  s.rows = 128;
  s.cols = 16;
  RowMatD w = normal_matrix(128, 8, 33);
  for (int j = 0; j < 8; ++j)
    for (int i = 0; i < 128; ++i)  // |w| in [0.5, 1] (columns 0-3) or [0.025, 0.05] (4-7)
      w(i, j) = (w(i, j) < 0 ? -1.0 : 1.0) * (0.5 + 0.5 * std::min(std::abs(w(i, j)), 1.0)) * (j < 4 ? 1.0 : 0.05);
  Eigen::VectorXd a[2];
  int n = 0;
  for (const char* kind : {"global", "per_column"}) {
    s.drift_compensation = kind;
    Tile t(s);
    t.program(w);
    t.set_time(1e4);
    a[n++] = t.drift_scale();
  }
  const double large = a[1].head(4).mean(), small = a[1].tail(4).mean();
  EXPECT_GT(small, large * 1.03);
  EXPECT_GT(a[0][0], large);
  EXPECT_LT(a[0][0], small);
}

TEST(TileDriftCompensation, EstimateCarriesItsReadNoiseAndQuantization) {
  RowMatD w = normal_matrix(64, 16, 35);
  TileSpec s = drifting_spec();
  s.drift_compensation = "global";
  Tile exact(s);
  exact.program(w);
  exact.set_time(1e5);
  const double a0 = exact.drift_scale()[0];
  // Per-read noise: the two reference reads carry their own draws.
  TileSpec noisy = s;
  noisy.read_noise = true;
  noisy.cell.read_noise = "proportional";
  noisy.cell.read_sigma = {0.05};
  Tile tn(noisy);
  tn.program(w);
  tn.set_time(1e5);
  EXPECT_NE(tn.drift_scale()[0], a0);
  EXPECT_NEAR(tn.drift_scale()[0], a0, 0.05 * a0);
  // A 3-bit ADC at its fixed full range (n_in g_max v) resolves little of the reference reads.
  TileSpec coarse = s;
  coarse.adc.bits = 3;
  Tile tq(coarse);
  tq.program(w);
  tq.set_time(1e5);
  EXPECT_GT(std::abs(tq.drift_scale()[0] - a0), 1e-3 * a0);
  // Same seed, same estimate; another seed, another.
  Tile again(noisy);
  again.program(w);
  again.set_time(1e5);
  EXPECT_EQ(again.drift_scale()[0], tn.drift_scale()[0]);
  noisy.seed = 7;
  Tile other(noisy);
  other.program(w);
  other.set_time(1e5);
  EXPECT_NE(other.drift_scale()[0], tn.drift_scale()[0]);
}

TEST(TileDriftCompensation, RejectsUnknownKind) {
  TileSpec s;
  s.drift_compensation = "oracle";
  try {
    s.validate();
    FAIL() << "accepted drift_compensation='oracle'";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("TileSpec.drift_compensation"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("per_column"), std::string::npos) << e.what();
  }
}

TEST(TileFrozenReadNoise, OneDrawPerCampaignWithTheCellsSigma) {
  TileSpec s = TileSpec::ideal(128, 64);
  s.read_noise = true;
  s.cell.g_min_S = 0.0;
  s.cell.read_noise = "proportional";
  s.cell.read_sigma = {0.05};
  s.cell.read_noise_draw = "frozen";
  RowMatD w = normal_matrix(128, 32, 36), x = normal_matrix(5, 128, 37);
  Tile t(s);
  t.program(w);
  t.set_time(100.0);
  // Repeated reads in one campaign agree bit for bit.
  const RowMatD y1 = t.forward<double>(x), y2 = t.forward<double>(x);
  EXPECT_EQ(y1, y2);
  // The drawn conductances: (g - g0) / (0.05 g0) is N(0, 1) over the cells (none near 0 clip
  // at 20 sigma), and the read is the product with them, noise-free.
  const Eigen::MatrixXd& g0 = t.programmed_conductances();
  const Eigen::MatrixXd& g = t.conductances();
  double sum = 0, sum2 = 0;
  int n = 0;
  for (Eigen::Index i = 0; i < g.size(); ++i)
    if (g0.data()[i] > 0) {
      const double z = (g.data()[i] - g0.data()[i]) / (0.05 * g0.data()[i]);
      sum += z;
      sum2 += z * z;
      ++n;
    }
  ASSERT_GT(n, 4000);
  EXPECT_NEAR(sum / n, 0.0, 5.0 / std::sqrt(n));
  EXPECT_NEAR(sum2 / n, 1.0, 5.0 * std::sqrt(2.0 / n));
  const double w_unit = w.cwiseAbs().maxCoeff() / s.cell.g_max_S;
  const RowMatD expect = x * (g.leftCols(32) - g.middleCols(32, 32)) * w_unit;
  EXPECT_LE((y1 - expect).cwiseAbs().maxCoeff(), 1e-9 * expect.cwiseAbs().maxCoeff());
  // Another campaign, another draw; the same time again, the same draw.
  t.set_time(200.0);
  EXPECT_NE(t.forward<double>(x), y1);
  t.set_time(100.0);
  EXPECT_EQ(t.forward<double>(x), y1);
}

TEST(TileFrozenReadNoise, ClipsDrawnConductanceAtZero) {
  TileSpec s = TileSpec::ideal(64, 64);
  s.read_noise = true;
  s.cell.g_min_S = 0.0;
  s.cell.read_noise = "proportional";
  s.cell.read_sigma = {2.0};  // sigma twice g: about a third of the draws would go negative
  s.cell.read_noise_draw = "frozen";
  Tile t(s);
  t.program(normal_matrix(64, 32, 38));
  t.set_time(1.0);
  EXPECT_GE(t.conductances().minCoeff(), 0.0);
  // Of the cells programmed above 0, P(z < -1/2) = 0.3085 are clipped.
  const Eigen::ArrayXXd g0 = t.programmed_conductances().array(), g = t.conductances().array();
  const double n = double((g0 > 0).count());
  ASSERT_GT(n, 1500);
  const double clipped = double(((g0 > 0) && (g == 0.0)).count()) / n;
  EXPECT_NEAR(clipped, 0.3085, 5 * std::sqrt(0.3085 * 0.6915 / n));
}

}  // namespace
}  // namespace mho
