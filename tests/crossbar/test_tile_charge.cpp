// Charge-domain accumulation (crossbar/charge_domain.h) against closed forms and brute force.
#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <stdexcept>
#include <vector>

#include "adc_dac/adc.h"
#include "crossbar/charge_domain.h"
#include "crossbar/gemm.h"
#include "tile_fixtures.h"

namespace mho {
namespace {

using testing::normal_matrix;
using testing::RowMatD;

constexpr double kBoltzmannJPerK = 1.380649e-23;  // CODATA 2018, exact

// Every non-ideality off, charge accumulation, ideal converters.
TileSpec charge_spec(int rows, int cols, int weight_bits, const std::string& scheme) {
  TileSpec s = TileSpec::ideal(rows, cols);
  s.accumulation = "charge";
  s.cap.scheme = scheme;
  s.weight_bits = weight_bits;
  s.bits_per_cell = weight_bits > 0 ? weight_bits : 1;
  s.cell.bits = 16;
  s.dac.range = "fixed";
  return s;
}

// Brute force of the charge sharing: every capacitor's value drawn from the documented stream,
// charged, then sum C V / sum C on the line, capacitor by capacitor.
double brute_line_volts(const CapSpec& cap, const Eigen::MatrixXd& levels, const std::vector<double>& drive,
                        int rows, int level_max, int bits, int col, const StreamKey& key) {
  double charge = 0.0, capacitance = 0.0;
  for (int i = 0; i < rows; ++i) {
    const double l = i < levels.rows() ? levels(i, col) : 0.0;
    const double n = i < levels.rows() ? drive[std::size_t(i)] : 0.0;
    auto unit = [&](int k, double sigma) {
      ElementEngine eng(key, (std::uint64_t(i) << 20) | std::uint64_t(col), std::uint32_t(k));
      return cap.c_unit_F * (1.0 + sigma * normal_draw(eng));
    };
    if (cap.scheme == "bitline_sharing") {
      const double c = unit(0, cap.mismatch_sigma);
      charge += c * cap.v_dd_V * n * l / level_max;
      capacitance += c;
    } else {
      const unsigned code = unsigned(std::lround(l));
      for (int k = 0; k < bits; ++k) {
        const double w = std::ldexp(1.0, k);
        const double c = w * unit(k, cap.scheme == "binary_weighted" ? cap.mismatch_sigma / std::sqrt(w)
                                                                      : cap.mismatch_sigma);
        // A ladder's bit k reaches the output with weight 2^(k - b) behind 2 C_u.
        const double v_bit = ((code >> k) & 1u) ? cap.v_dd_V * n : 0.0;
        if (cap.scheme == "binary_weighted") {
          charge += c * v_bit;
          capacitance += c;
        } else {
          charge += 2.0 * cap.c_unit_F * v_bit * (c / cap.c_unit_F) / std::ldexp(1.0, bits);
        }
      }
      if (cap.scheme == "c2c") capacitance += 2.0 * cap.c_unit_F;
    }
  }
  return charge / capacitance;
}

class ChargeScheme : public ::testing::TestWithParam<const char*> {};

TEST_P(ChargeScheme, LineVoltageIsTheChargeSharingAverage) {
  CapSpec cap;
  cap.scheme = GetParam();
  const int rows = 9, n_in = 5, n_col = 3, level_max = 15, bits = 4;
  Eigen::MatrixXd levels(n_in, n_col);
  for (int i = 0; i < n_in; ++i)
    for (int j = 0; j < n_col; ++j) levels(i, j) = double((3 * i + 5 * j + 1) % 16);
  const std::vector<double> drive = {1.0, 0.0, 0.5, 1.0, 0.25};
  const StreamKey key(7, 1, 2, Purpose::kCapMismatch);
  for (double sigma : {0.0, 0.05}) {
    cap.mismatch_sigma = sigma;
    const ChargeArray a = charge_array(cap, levels, rows, level_max, true, key);
    for (int j = 0; j < n_col; ++j) {
      double v = 0.0, closed = 0.0;
      for (int i = 0; i < n_in; ++i) {
        v += drive[std::size_t(i)] * a.m(i, j);
        closed += drive[std::size_t(i)] * levels(i, j);
      }
      EXPECT_NEAR(v, brute_line_volts(cap, levels, drive, rows, level_max, bits, j, key), 1e-13);
      if (sigma == 0.0) {
        // Nominal: V_DD sum n l / (rows L), a ladder dividing by 2^b instead of L.
        EXPECT_NEAR(v, closed * charge_level_volts(cap, rows, level_max), 1e-13);
        const double full = cap.scheme == "c2c" ? 16.0 : 15.0;
        EXPECT_NEAR(v, cap.v_dd_V * closed / (rows * full), 1e-13);
        const double units = cap.scheme == "bitline_sharing" ? 1.0 : cap.scheme == "c2c" ? 2.0 : 15.0;
        EXPECT_NEAR(a.c_line_F[j], rows * units * cap.c_unit_F, 1e-27);
      }
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Schemes, ChargeScheme, ::testing::Values("bitline_sharing", "binary_weighted", "c2c"));

TEST(TileCharge, NoiseOffTileComputesTheQuantizedProductAndTheLineVoltageReachesTheAdc) {
  // 4-bit weights on 2-bit binary-weighted cells, 6-bit bit-serial inputs: every level and
  // plane recombined digitally must give the quantized product exactly.
  TileSpec s = charge_spec(32, 64, 4, "binary_weighted");
  s.bits_per_cell = 2;
  s.dac.input_bits = 6;
  s.dac.mode = "bitserial";
  s.dac.x_max = 2.0;
  const RowMatD w = normal_matrix(20, 6, 11), x = normal_matrix(50, 20, 12).cwiseAbs();
  Tile t(s);
  t.program(w);
  const double w_lsb = w.cwiseAbs().maxCoeff() / 15.0;
  const RowMatD wq = (w / w_lsb).array().round().matrix() * w_lsb;
  const RowMatD xq = ((x.array() / (2.0 / 63)).round().min(63.0) * (2.0 / 63)).matrix();
  const RowMatD y = t.forward<double>(x);
  EXPECT_LT((y - xq * wq).cwiseAbs().maxCoeff(), 1e-9);
  // A fixed ADC range is the largest line voltage: all 20 rows driven at the top level,
  // V_DD x 20 / 32 (the column's 32 capacitors share the charge of 20), here on both slices.
  const double full = s.cap.v_dd_V * 20 / 32;
  EXPECT_NEAR(t.adc_ranges()[0][0], full, 1e-12 * full);
  EXPECT_NEAR(t.adc_ranges()[3][1], full, 1e-12 * full);
}

TEST(TileCharge, MismatchVarianceOverChipsMatchesTheClosedForm) {
  // Analog non-negative weights on bit-line sharing: y = sum_i a_i (1 + d_i) / (1 + mean d)
  // with a_i = x_i w_i, so to first order in sigma (the second order is sigma^2 = 1e-4 of it)
  //   Var y = sigma^2 sum_k (a_k - A / R)^2 over all R rows (a_k = 0 on unused rows).
  // Every output column holds the same weights and draws its own capacitors: 100 columns on
  // each of 30 chips are 3000 independent samples (batch-1 reads are costly: gemm.h pads them).
  const int rows = 24, n_in = 16, n_out = 100, n_chips = 30, chips = n_out * n_chips;
  TileSpec s = charge_spec(rows, 2 * n_out, 0, "bitline_sharing");
  s.programming_error = true;
  s.cap.mismatch_sigma = 0.01;
  const RowMatD w1 = normal_matrix(n_in, 1, 21).cwiseAbs(), x = normal_matrix(1, n_in, 22).cwiseAbs();
  const RowMatD w = w1.replicate(1, n_out);
  double sum = 0.0, sum2 = 0.0;
  const double y0 = (x * w1)(0, 0);
  Tile t(s);
  for (int c = 0; c < n_chips; ++c) {
    t.program(w, std::uint64_t(c));
    const RowMatD y = t.forward<double>(x).array() - y0;
    sum += y.sum();
    sum2 += y.squaredNorm();
  }
  const double mean = sum / chips, var = (sum2 - chips * mean * mean) / (chips - 1);
  double closed = 0.0;
  for (int k = 0; k < rows; ++k) {
    const double a = k < n_in ? x(0, k) * w(k, 0) : 0.0;
    closed += (a - y0 / rows) * (a - y0 / rows);
  }
  closed *= s.cap.mismatch_sigma * s.cap.mismatch_sigma;
  // The sample variance of n normal draws has relative sd sqrt(2 / (n - 1)) = 2.6 %: 4 sd.
  EXPECT_NEAR(var / closed, 1.0, 4.0 * std::sqrt(2.0 / (chips - 1)));
  EXPECT_NEAR(mean, 0.0, 4.0 * std::sqrt(closed / chips));
}

TEST(TileCharge, BinaryWeightedMismatchVarianceFollowsPelgrom) {
  // One row, one 4-bit level: a cell's charge is sum_k bit_k 2^k (1 + d_k) with
  // sd(d_k) = sigma / sqrt(2^k), so its variance is sigma^2 sum_k bit_k 2^k = sigma^2 l.
  // The line's capacitance c = sum over all R rows of sum_k 2^k (1 + d_k) (L R units) shares
  // those d_k, so to first order, relative to the nominal V_DD l / (L R):
  //   Var = sigma^2 (1 / l + 1 / (L R) - 2 / (L R)) = sigma^2 (1 / l - 1 / (L R)).
  const int rows = 8, chips = 3000, level = 11;
  CapSpec cap;
  cap.scheme = "binary_weighted";
  cap.mismatch_sigma = 0.02;
  Eigen::MatrixXd levels(1, 1);
  levels(0, 0) = level;
  double sum = 0.0, sum2 = 0.0;
  const double v0 = cap.v_dd_V * level / (15.0 * rows);
  for (int c = 0; c < chips; ++c) {
    const ChargeArray a = charge_array(cap, levels, rows, 15, true, StreamKey(1, std::uint64_t(c), 0, Purpose::kCapMismatch));
    const double r = a.m(0, 0) / v0 - 1.0;
    sum += r;
    sum2 += r * r;
  }
  const double mean = sum / chips, var = (sum2 - chips * mean * mean) / (chips - 1);
  const double s2 = cap.mismatch_sigma * cap.mismatch_sigma;
  const double closed = s2 * (1.0 / level - 1.0 / (15.0 * rows));
  EXPECT_NEAR(var / closed, 1.0, 4.0 * std::sqrt(2.0 / (chips - 1)));
}

TEST(TileCharge, ThermalNoiseVarianceIsKtOverC) {
  // Analog weights, differential with analog subtraction: each output converts two lines of
  // R C_u each, so in output units (V -> y: x_max max|w| R / V_DD per volt)
  //   Var y = 2 k_B T / (R C_u) x (x_max max|w| R / V_DD)^2.
  const int rows = 16, n_in = 10, batch = 20000;
  TileSpec s = charge_spec(rows, 4, 0, "bitline_sharing");
  s.read_noise = true;
  s.cap.temperature_K = 350.0;
  const RowMatD w = normal_matrix(n_in, 2, 31);
  RowMatD x(batch, n_in);
  const RowMatD x0 = normal_matrix(1, n_in, 32).cwiseAbs() / 3.0;
  for (int b = 0; b < batch; ++b) x.row(b) = x0;
  Tile t(s);
  t.program(w);
  const RowMatD y = t.forward<double>(x);
  const RowMatD exact = x0 * w;
  const double per_volt = s.dac.x_max * w.cwiseAbs().maxCoeff() * rows / s.cap.v_dd_V;
  const double closed = 2.0 * kBoltzmannJPerK * s.cap.temperature_K / (rows * s.cap.c_unit_F) * per_volt * per_volt;
  for (int j = 0; j < 2; ++j) {
    const double mean = y.col(j).mean();
    const double var = (y.col(j).array() - mean).square().sum() / (batch - 1);
    EXPECT_NEAR(var / closed, 1.0, 4.0 * std::sqrt(2.0 / (batch - 1)));
    EXPECT_NEAR(mean, exact(0, j), 4.0 * std::sqrt(closed / batch));
  }
  // Noise off: exact again.
  s.read_noise = false;
  Tile quiet(s);
  quiet.program(w);
  EXPECT_LT((quiet.forward<double>(x.topRows(3)).row(2) - exact).cwiseAbs().maxCoeff(), 1e-12);
}

TEST(TileCharge, InjectionOffsetShiftsEveryLineBeforeTheConverter) {
  // 3-bit weights, differential, each sign column converted on its own by a 4-bit unsigned
  // fixed-range ADC: y = (Q(V+ + off) - Q(V- + off)) lsb, in output units, with
  // V = V_DD sum_i n_i l_i / (R L) from the closed form and Q the documented converter.
  const int rows = 12, n_in = 7, n_out = 3;
  TileSpec s = charge_spec(rows, 2 * n_out, 3, "bitline_sharing");
  s.subtract = "digital";
  s.dac.signed_mode = "unsigned";
  s.adc.bits = 4;
  s.adc.range = "fixed";
  const RowMatD w = normal_matrix(n_in, n_out, 41), x = normal_matrix(5, n_in, 42).cwiseAbs() / 3.0;
  const double w_lsb = w.cwiseAbs().maxCoeff() / 7.0;
  for (double off : {0.0, 0.013, -0.021}) {
    s.cap.injection_offset_V = off;
    Tile t(s);
    t.program(w);
    const RowMatD y = t.forward<double>(x);
    const double range = t.adc_ranges()[0][0];
    EXPECT_NEAR(range, s.cap.v_dd_V * n_in / rows, 1e-12);
    const Adc adc(s.adc, range, false);
    for (int b = 0; b < x.rows(); ++b)
      for (int j = 0; j < n_out; ++j) {
        double vp = 0.0, vn = 0.0;
        for (int i = 0; i < n_in; ++i) {
          const double c = std::nearbyint(w(i, j) / w_lsb);
          (c > 0 ? vp : vn) += x(b, i) * std::abs(c);
        }
        const double unit = s.cap.v_dd_V / (rows * 7.0);
        const double q = adc.convert(vp * unit + off) - adc.convert(vn * unit + off);
        EXPECT_NEAR(y(b, j), q / unit * w_lsb, 1e-9) << "offset " << off;
      }
  }
  // Where two lines are subtracted before one conversion, the offsets cancel exactly.
  TileSpec a = charge_spec(rows, 2 * n_out, 3, "bitline_sharing");
  Tile plain(a);
  plain.program(w);
  a.cap.injection_offset_V = 0.05;
  Tile shifted(a);
  shifted.program(w);
  EXPECT_LT((plain.forward<double>(x) - shifted.forward<double>(x)).cwiseAbs().maxCoeff(), 1e-12);
}

template <typename T>
RowMat<T> run(const TileSpec& s, const RowMatD& w, const RowMatD& x, std::vector<int> splits) {
  return testing::forward_in_splits<T>(s, w, x, splits, 5);
}

// 8-bit weights on two 4-bit binary-weighted slices with 2 % mismatch, 8 bit-serial planes, 8-bit ADCs.
TileSpec mismatched_bitserial_spec() {
  TileSpec s;
  s.rows = 96;
  s.cols = 128;
  s.accumulation = "charge";
  s.cap.scheme = "binary_weighted";
  s.cap.mismatch_sigma = 0.02;
  s.cell.bits = 4;
  s.weight_bits = 8;
  s.bits_per_cell = 4;
  s.dac.input_bits = 8;
  s.dac.mode = "bitserial";
  s.adc.bits = 8;
  s.seed = 9;
  return s;
}

TEST(TileCharge, SameSeedBitIdenticalForAnyThreadsAndSplit) {
  TileSpec s = mismatched_bitserial_spec();
  s.cap.injection_offset_V = 0.002;
  s.adc.noise_lsb = 0.3;
  const RowMatD w = normal_matrix(80, 30, 51), x = normal_matrix(300, 80, 52);
  std::vector<RowMat<float>> runs;
  for (int threads = 1; threads <= 4; ++threads) {
    set_num_threads(threads);
    runs.push_back(run<float>(s, w, x, {300}));
    runs.push_back(run<float>(s, w, x, {1, 2, 7, 90, 200}));
  }
  set_num_threads(2);
  for (const RowMat<float>& r : runs) EXPECT_TRUE(r == runs[0]);
  EXPECT_TRUE(run<double>(s, w, x, {300}) == run<double>(s, w, x, {17, 283}));
  // The noise is there, and another seed draws other noise.
  TileSpec quiet = s;
  quiet.read_noise = quiet.programming_error = false;
  quiet.adc.noise_lsb = 0.0;
  EXPECT_FALSE(run<float>(quiet, w, x, {300}) == runs[0]);
  TileSpec other = s;
  other.seed = 10;
  EXPECT_FALSE(run<float>(other, w, x, {300}) == runs[0]);
}

TEST(TileCharge, ValidationNamesTheField) {
  auto message = [](const TileSpec& s) {
    try {
      s.validate();
    } catch (const std::invalid_argument& e) {
      return std::string(e.what());
    }
    return std::string();
  };
  TileSpec s;
  s.accumulation = "voltage";
  EXPECT_NE(message(s).find("TileSpec.accumulation"), std::string::npos);
  s.accumulation = "charge";
  s.cap.scheme = "ladder";
  EXPECT_NE(message(s).find("CapSpec.scheme"), std::string::npos);
  s.cap.scheme = "c2c";
  s.cap.c_unit_F = -1e-15;
  EXPECT_NE(message(s).find("CapSpec.c_unit_F"), std::string::npos);
  s.cap.c_unit_F = 1e-15;
  s.cap.mismatch_sigma = 0.9;
  EXPECT_NE(message(s).find("CapSpec.mismatch_sigma"), std::string::npos);
  s.cap.mismatch_sigma = 0.0;
  s.wires.r_row_ohm = 1.0;
  EXPECT_NE(message(s).find("TileSpec.wires"), std::string::npos);
  s.wires.r_row_ohm = 0.0;
  s.weight_bits = 0;
  EXPECT_NE(message(s).find("TileSpec.cap.scheme"), std::string::npos);
  s.weight_bits = 8;
  s.drift_compensation = "global";
  EXPECT_NE(message(s).find("TileSpec.drift_compensation"), std::string::npos);
  s.drift_compensation = "none";
  EXPECT_EQ(message(s), "");
}

// Charge (units of C_u V_DD) the drivers at V_DD deliver to a C-2C ladder, by a dense nodal
// solve of the whole network (nodes N_0 .. N_{b-1}, one port per bit, ground): the floating
// nodes start empty, so C_NN V_N = -C_NP V_P, and the ports take Q_P = C_PN V_N + C_PP V_P.
// Also returns the open-circuit output voltage (N_{b-1}, units of V_DD) in *v_out.
double brute_ladder_supply(const std::vector<double>& branch, unsigned code, double* v_out = nullptr) {
  const int b = int(branch.size()), n = 2 * b + 1;  // N_k = k, port k = b + k, ground = 2b
  Eigen::MatrixXd c = Eigen::MatrixXd::Zero(n, n);
  auto cap = [&](int p, int q, double value) {
    c(p, p) += value;
    c(q, q) += value;
    c(p, q) -= value;
    c(q, p) -= value;
  };
  cap(0, 2 * b, 1.0);  // termination
  for (int k = 0; k < b; ++k) cap(k, b + k, branch[std::size_t(k)]);
  for (int k = 0; k + 1 < b; ++k) cap(k, k + 1, 2.0);
  Eigen::VectorXd vp = Eigen::VectorXd::Zero(b + 1);  // ports, then ground
  for (int k = 0; k < b; ++k) vp[k] = double((code >> k) & 1u);
  const Eigen::VectorXd vn = c.topLeftCorner(b, b).lu().solve(-c.topRightCorner(b, b + 1) * vp);
  const Eigen::VectorXd q = c.bottomLeftCorner(b + 1, b) * vn + c.bottomRightCorner(b + 1, b + 1) * vp;
  if (v_out) *v_out = vn[b - 1];
  double supply = 0.0;
  for (int k = 0; k < b; ++k)
    if ((code >> k) & 1u) supply += q[k];
  return supply;
}

TEST(ChargeEnergy, LadderSupplyMatchesADenseNodalSolve) {
  // The ladder's topology is the one the line model assumes: output l / 2^b of V_DD.
  std::mt19937_64 rng(5);
  std::normal_distribution<double> err(0.0, 0.05);
  for (int bits = 1; bits <= 6; ++bits)
    for (unsigned code = 0; code < (1u << bits); ++code) {
      const std::vector<double> unit(std::size_t(bits), 1.0);
      double v = 0.0;
      const double nominal = brute_ladder_supply(unit, code, &v);
      EXPECT_NEAR(v, double(code) / std::ldexp(1.0, bits), 1e-14) << bits << " " << code;
      EXPECT_NEAR(c2c_supply_units(unit.data(), bits, code), nominal, 1e-14) << bits << " " << code;
      std::vector<double> drawn(static_cast<std::size_t>(bits));
      for (double& d : drawn) d = 1.0 + err(rng);
      EXPECT_NEAR(c2c_supply_units(drawn.data(), bits, code), brute_ladder_supply(drawn, code), 1e-14);
    }
  // A one-stage ladder: the branch capacitor in series with the termination, 1 x 1 / (1 + 1).
  const double one = 1.0;
  EXPECT_NEAR(c2c_supply_units(&one, 1, 1u), 0.5, 1e-15);
}

TEST(ChargeEnergy, MeanSupplyIsTheMeanOverUniformLevels) {
  CapSpec cap;
  cap.scheme = "bitline_sharing";
  EXPECT_DOUBLE_EQ(charge_mean_supply_units(cap, 15), 0.5);
  cap.scheme = "binary_weighted";
  EXPECT_DOUBLE_EQ(charge_mean_supply_units(cap, 15), 7.5);
  cap.scheme = "c2c";
  double sum = 0.0;
  for (unsigned l = 0; l < 16; ++l) sum += brute_ladder_supply(std::vector<double>(4, 1.0), l);
  EXPECT_NEAR(charge_mean_supply_units(cap, 15), sum / 16, 1e-14);
}

// Integer weights in [-15, 15] with |w| = 15 somewhere: 4-bit differential codes are the
// weights themselves, the positive column holding max(w, 0) and the negative one max(-w, 0).
RowMatD chosen_weights() {
  RowMatD w(4, 3);
  w << 3, -7, 15, 0, 12, -1, -15, 5, 9, 6, 0, -4;
  return w;
}

// The cells' supply energy of one pass per input row at unit drive, by hand: sum over the
// row's physical cells of their charge (units C_u V_DD) for levels |w|.
double row_supply_units(const std::string& scheme, const RowMatD& w, int i, const CapSpec& cap,
                        const StreamKey* mismatch = nullptr) {
  // Physical columns of a one-slice differential tile: positive j, negative n_out + j.
  const int n_out = int(w.cols());
  double sum = 0.0;
  for (int j = 0; j < n_out; ++j)
    for (int side = 0; side < 2; ++side) {
      const unsigned l = unsigned(std::lround(side == 0 ? std::max(w(i, j), 0.0) : std::max(-w(i, j), 0.0)));
      const int col = side * n_out + j;
      auto unit = [&](int k, double sigma) {
        if (!mismatch) return 1.0;
        ElementEngine eng(*mismatch, (std::uint64_t(i) << 20) | std::uint64_t(col), std::uint32_t(k));
        return 1.0 + sigma * normal_draw(eng);
      };
      if (scheme == "bitline_sharing") {
        sum += unit(0, cap.mismatch_sigma) * l / 15.0;
      } else if (scheme == "binary_weighted") {
        for (int k = 0; k < 4; ++k)
          if ((l >> k) & 1u) sum += std::ldexp(1.0, k) * unit(k, cap.mismatch_sigma / std::sqrt(std::ldexp(1.0, k)));
      } else {
        std::vector<double> branch(4);
        for (int k = 0; k < 4; ++k) branch[std::size_t(k)] = unit(k, cap.mismatch_sigma);
        sum += brute_ladder_supply(branch, l);
      }
    }
  return sum;
}

class ChargeEnergyScheme : public ::testing::TestWithParam<const char*> {};

TEST_P(ChargeEnergyScheme, EnergyIsTheSupplyChargeOfTheCapacitorsByHand) {
  // A 4 x 3 block on a 6-row tile (2 rows unused, never charged). Two drives: an ideal DAC at
  // levels x / x_max (linear in the level: one charging event to V_DD x / x_max), and 4-bit
  // bit-serial planes (one event per set bit: popcount(code) events).
  const std::string scheme = GetParam();
  TileSpec s = charge_spec(6, 6, 4, scheme);
  s.cap.c_unit_F = 1.5e-15;
  s.cap.v_dd_V = 0.8;
  s.dac.x_max = 1.0;
  const double unit_J = s.cap.c_unit_F * s.cap.v_dd_V * s.cap.v_dd_V;
  const RowMatD w = chosen_weights();
  RowMatD x(1, 4);
  x << 0.75, -0.5, 1.0, 0.0;
  Tile t(s);
  t.program(w);
  t.forward<double>(x);
  double by_hand = 0.0;
  for (int i = 0; i < 4; ++i) by_hand += std::abs(x(0, i)) * row_supply_units(scheme, w, i, s.cap);
  EXPECT_GT(by_hand, 0.0);
  EXPECT_NEAR(t.last_counters().cell_energy_J(), unit_J * by_hand, 1e-12 * unit_J * by_hand);
  if (scheme == "binary_weighted") {
    // E = C_u V_DD^2 sum_i |n_i| sum_j |w_ij|, the levels themselves (row sums 25, 13, 29, 10).
    EXPECT_NEAR(t.last_counters().cell_energy_J(), unit_J * (0.75 * 25 + 0.5 * 13 + 1.0 * 29), 1e-12 * unit_J * 54.25);
  }
  if (scheme == "bitline_sharing") {
    EXPECT_NEAR(t.last_counters().cell_energy_J(), unit_J * (0.75 * 25 + 0.5 * 13 + 1.0 * 29) / 15,
                1e-12 * unit_J * 54.25 / 15);
  }

  TileSpec planes = s;
  planes.dac.input_bits = 4;
  planes.dac.mode = "bitserial";
  planes.dac.signed_mode = "unsigned";
  planes.dac.x_max = 15.0;  // the inputs are their own codes
  RowMatD codes(2, 4);
  codes << 5, 15, 0, 8, 3, 1, 12, 7;
  Tile tp(planes);
  tp.program(w);
  tp.forward<double>(codes);
  by_hand = 0.0;
  for (int r = 0; r < 2; ++r)
    for (int i = 0; i < 4; ++i)
      by_hand += __builtin_popcount(unsigned(codes(r, i))) * row_supply_units(scheme, w, i, s.cap);
  EXPECT_NEAR(tp.last_counters().cell_energy_J(), unit_J * by_hand, 1e-12 * unit_J * by_hand);
}

TEST_P(ChargeEnergyScheme, MismatchedEnergyIsTheBruteForceSumOverTheDrawnCapacitors) {
  const std::string scheme = GetParam();
  TileSpec s = charge_spec(6, 6, 4, scheme);
  s.programming_error = true;
  s.cap.mismatch_sigma = 0.05;
  s.seed = 13;
  const RowMatD w = chosen_weights();
  RowMatD x(3, 4);
  x << 0.75, 0.5, 1.0, 0.25, 0.0, 1.0, 0.125, 0.5, 1.0, 1.0, 1.0, 1.0;
  Tile t(s, 4);
  t.program(w, 2);
  t.forward<double>(x);
  const StreamKey key(13, 2, 4, Purpose::kCapMismatch);
  double drawn = 0.0, nominal = 0.0;
  for (int r = 0; r < 3; ++r)
    for (int i = 0; i < 4; ++i) {
      drawn += x(r, i) * row_supply_units(scheme, w, i, s.cap, &key);
      nominal += x(r, i) * row_supply_units(scheme, w, i, s.cap);
    }
  const double unit_J = s.cap.c_unit_F * s.cap.v_dd_V * s.cap.v_dd_V;
  EXPECT_NEAR(t.last_counters().cell_energy_J(), unit_J * drawn, 1e-12 * unit_J * drawn);
  EXPECT_GT(std::abs(drawn - nominal), 1e-4 * nominal);  // the mismatch is in it
}

INSTANTIATE_TEST_SUITE_P(Schemes, ChargeEnergyScheme, ::testing::Values("bitline_sharing", "binary_weighted", "c2c"));

TEST(ChargeEnergy, SameEnergyBitsForAnyThreadsSplitAndPrecision) {
  TileSpec s = mismatched_bitserial_spec();
  // Integer codes on a fixed range: the same levels whatever the precision of the encoding.
  s.dac.range = "fixed";
  s.dac.x_max = 255.0;
  const RowMatD w = normal_matrix(80, 30, 61);
  RowMatD x(300, 80);
  std::mt19937_64 rng(62);
  for (Eigen::Index k = 0; k < x.size(); ++k) x.data()[k] = double(rng() % 256);
  auto energy = [&](bool single, const std::vector<int>& splits) {
    Tile t(s, 3);
    t.program(w);
    const RowMat<float> xf = x.cast<float>();
    t.calibrate<double>(x.topRows(64));
    int at = 0;
    for (int n : splits) {
      if (single) t.forward<float>(xf.middleRows(at, n));
      else t.forward<double>(x.middleRows(at, n));
      at += n;
    }
    return t.total_counters().cell_energy_q;
  };
  const EnergyQ ref = energy(false, {300});
  EXPECT_GT(energy_J(ref), 0.0);
  for (int threads = 1; threads <= 4; ++threads) {
    set_num_threads(threads);
    EXPECT_TRUE(energy(false, {300}) == ref) << threads;
    EXPECT_TRUE(energy(false, {1, 2, 7, 90, 200}) == ref) << threads;
    // Bit-serial levels are 0 / 1 in either precision and the sum is in double.
    EXPECT_TRUE(energy(true, {13, 287}) == ref) << threads;
  }
  set_num_threads(2);
  // Other inputs draw other energy (the counter follows the data).
  const RowMatD half = x * 0.5;
  Tile t(s, 3);
  t.program(w);
  t.calibrate<double>(x.topRows(64));
  t.forward<double>(half);
  EXPECT_FALSE(t.total_counters().cell_energy_q == ref);
}

}  // namespace
}  // namespace mho
