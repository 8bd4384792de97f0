#include <gtest/gtest.h>

#include "tests/expect_rejects.h"

#include <cmath>

#include "common/random_stream.h"
#include "devices/cell_model.h"
#include "devices/presets.h"

namespace mho {
namespace {

// Mean and standard deviation of a sample.
void moments(const Eigen::MatrixXd& m, double* mean, double* sd) {
  *mean = m.mean();
  *sd = std::sqrt((m.array() - *mean).square().sum() / double(m.size() - 1));
}


TEST(CellSpec, PresetsValidateAndCite) {
  for (const auto& name : cell_preset_names()) {
    CellSpec s = cell_preset(name);
    EXPECT_NO_THROW(s.validate()) << name;
    EXPECT_EQ(s.name, name);
    EXPECT_FALSE(s.source.empty());
  }
  EXPECT_THROW(cell_preset("unobtainium"), std::invalid_argument);
  // NeuroSim RRAM: R_on 100 kOhm, on/off 17.
  CellSpec r = cell_preset("rram_neurosim_22nm");
  EXPECT_DOUBLE_EQ(r.g_max_S, 1e-5);
  EXPECT_DOUBLE_EQ(r.g_max_S / r.g_min_S, 17.0);
  EXPECT_EQ(cell_preset("sram_8t_22nm").bits, 1);
}

TEST(CellSpec, BadFieldsAreNamed) {
  auto expect_rejects = [](auto f, const char* field) { testing::expect_rejects<CellSpec>(f, field); };
  expect_rejects([](CellSpec& s) { s.g_min_S = -1; }, "g_min_S");
  expect_rejects([](CellSpec& s) { s.g_max_S = 0; }, "g_max_S");
  expect_rejects([](CellSpec& s) { s.g_max_S = 0.5e-6; }, "g_max_S");
  expect_rejects([](CellSpec& s) { s.bits = 0; }, "bits");
  expect_rejects([](CellSpec& s) { s.prog_error = "gaussian"; }, "prog_error");
  expect_rejects([](CellSpec& s) { s.prog_error = "constant"; }, "prog_sigma");
  expect_rejects([](CellSpec& s) { s.prog_error = "constant"; s.prog_sigma = {-1}; }, "prog_sigma");
  expect_rejects([](CellSpec& s) { s.read_noise = "pcm_1f"; s.read_sigma = {1, 2}; }, "read_sigma");
  expect_rejects([](CellSpec& s) { s.drift = "constant"; }, "drift_params");
  expect_rejects([](CellSpec& s) { s.drift_t0_s = 0; }, "drift_t0_s");
  expect_rejects([](CellSpec& s) { s.iv = "cubic"; }, "iv");
  expect_rejects([](CellSpec& s) { s.prog_clip = "none"; }, "prog_clip");
  expect_rejects([](CellSpec& s) { s.read_noise_state = "target"; }, "read_noise_state");
  expect_rejects([](CellSpec& s) { s.read_noise_draw = "once"; }, "read_noise_draw");
  expect_rejects([](CellSpec& s) { s.iv_v0_V = 0; }, "iv_v0_V");
  expect_rejects([](CellSpec& s) { s.stuck_at_min_prob = 1.5; }, "stuck_at_min_prob");
  expect_rejects([](CellSpec& s) { s.stuck_at_min_prob = 0.6; s.stuck_at_max_prob = 0.6; }, "stuck_at_max_prob");
  expect_rejects([](CellSpec& s) { s.area_F2 = 0; }, "area_F2");
  expect_rejects([](CellSpec& s) { s.v_read_V = -0.1; }, "v_read_V");
  expect_rejects([](CellSpec& s) { s.t_read_s = 0; }, "t_read_s");
}

TEST(CellModel, PcmPublishedPolynomials) {
  CellModel pcm(cell_preset("pcm_joshi2020"));
  // sigma(g_max) = c0 + c1 + c2 = 1.05538 uS (Joshi et al. 2020).
  EXPECT_NEAR(pcm.prog_sigma(25e-6), 1.05538e-6, 1e-12);
  EXPECT_NEAR(pcm.prog_sigma(12.5e-6), 0.26348e-6 + 1.9650e-6 / 2 - 1.1731e-6 / 4, 1e-12);
  double mu, sd;
  pcm.drift_moments(25e-6, &mu, &sd);  // u = 1: clamp(0.0244) -> 0.049; clamp(-0.0059) -> 0.008
  EXPECT_DOUBLE_EQ(mu, 0.049);
  EXPECT_DOUBLE_EQ(sd, 0.008);
  pcm.drift_moments(25e-6 * std::exp(-4.0), &mu, &sd);  // ln u = -4
  EXPECT_NEAR(mu, 0.0155 * 4 + 0.0244, 1e-15);
  EXPECT_NEAR(sd, 0.0125 * 4 - 0.0059, 1e-15);
  // 1/f read noise at u = 0.5, t = 1000 s.
  const double q = std::min(0.0088 / std::pow(0.5, 0.65), 0.2);
  const double expect = 12.5e-6 * q * std::sqrt(std::log((1000 + 250e-9) / (2 * 250e-9)));
  EXPECT_NEAR(pcm.read_sigma(12.5e-6, 1000.0), expect, 1e-18);
  // 1/f noise grows with time since programming; before t0 the fit is evaluated at t0.
  EXPECT_GT(pcm.read_sigma(12.5e-6, 1e6), pcm.read_sigma(12.5e-6, 1e3));
  EXPECT_EQ(pcm.read_sigma(12.5e-6, 1.0), pcm.read_sigma(12.5e-6, 20.0));
}

TEST(CellModel, PcmFollowsTheirPaperChoices) {
  // Joshi et al. 2020 (and aihwkit): devices span [0, g_max], the programmed conductance is
  // clipped at 0 only, Q_s is a function of the programmed conductance.
  const CellSpec spec = cell_preset("pcm_joshi2020");
  EXPECT_EQ(spec.g_min_S, 0.0);
  CellModel pcm(spec);
  // A cell programmed to u = 0.5 that drifted to u = 0.25: amplitude g(t), Q_s(0.5).
  const double q = 0.0088 / std::pow(0.5, 0.65);
  const double l = std::sqrt(std::log((1000 + 250e-9) / (2 * 250e-9)));
  EXPECT_NEAR(pcm.read_sigma(6.25e-6, 12.5e-6, 1000.0), 6.25e-6 * q * l, 1e-18);
  CellSpec drifted = spec;
  drifted.read_noise_state = "drifted";
  const double q_t = 0.0088 / std::pow(0.25, 0.65);
  EXPECT_NEAR(CellModel(drifted).read_sigma(6.25e-6, 12.5e-6, 1000.0), 6.25e-6 * q_t * l, 1e-18);

  // Programming at g_max and at 0: overshoots past g_max stay, nothing goes below 0.
  Eigen::MatrixXd g(200, 100);
  g.leftCols(50).setConstant(25e-6);
  g.rightCols(50).setZero();
  const StreamKey pk(1, 0, 0, Purpose::kProgramming), sk(1, 0, 0, Purpose::kStuckAt);
  Eigen::MatrixXd zero_clip = g;
  pcm.program(zero_clip, pk, sk, true, false);
  const Eigen::MatrixXd top = zero_clip.leftCols(50), bottom = zero_clip.rightCols(50);
  // sigma(g_max) = 1.05538 uS: about half the top cells above g_max, their mean at g_max.
  EXPECT_NEAR((top.array() > 25e-6).cast<double>().mean(), 0.5, 5 * std::sqrt(0.25 / 1e4));
  EXPECT_NEAR(top.mean(), 25e-6, 5 * 1.05538e-6 / std::sqrt(1e4));
  EXPECT_GE(bottom.minCoeff(), 0.0);
  EXPECT_NEAR((bottom.array() > 0).cast<double>().mean(), 0.5, 5 * std::sqrt(0.25 / 1e4));
  // The old choice, still available: clipped to [g_min, g_max].
  CellSpec ranged = spec;
  ranged.prog_clip = "range";
  ranged.g_min_S = 2e-6;
  Eigen::MatrixXd range_clip = g;
  CellModel(ranged).program(range_clip, pk, sk, true, false);
  EXPECT_LE(range_clip.maxCoeff(), 25e-6);
  EXPECT_GE(range_clip.minCoeff(), 2e-6);
}

TEST(CellModel, SinhIvTendsToOhm) {
  CellSpec s;
  s.iv = "sinh";
  s.iv_v0_V = 1e4;
  // Taylor: v0 sinh(v/v0) - v = v^3 / (6 v0^2) + ... = 1.333e-11 here.
  EXPECT_NEAR(CellModel(s).iv_voltage(0.2) - 0.2, 0.008 / 6e8, 1e-15);
  s.iv_v0_V = 0.1;
  EXPECT_NEAR(CellModel(s).iv_voltage(0.2), 0.1 * std::sinh(2.0), 1e-14);
  EXPECT_NEAR(CellModel(s).iv_voltage(-0.2), -0.1 * std::sinh(2.0), 1e-14);
}

TEST(CellModel, ProgrammingErrorStatistics) {
  CellSpec s;
  s.g_min_S = 0;
  s.g_max_S = 100e-6;
  s.prog_error = "proportional";
  s.prog_sigma = {0.02};  // sigma = 2% of g: 1 uS at 50 uS, far from the clip limits
  CellModel m(s);
  Eigen::MatrixXd g = Eigen::MatrixXd::Constant(300, 400, 50e-6);
  m.program(g, StreamKey(3, 0, 0, Purpose::kProgramming), StreamKey(3, 0, 0, Purpose::kStuckAt),
            true, true);
  const double n = double(g.size()), sigma = 1e-6;
  double mean, sd;
  moments(g, &mean, &sd);
  EXPECT_NEAR(mean, 50e-6, 5 * sigma / std::sqrt(n));
  EXPECT_NEAR(sd, sigma, 5 * sigma / std::sqrt(2 * n));
}

TEST(CellModel, PcmProgrammingErrorStatistics) {
  CellModel m(cell_preset("pcm_joshi2020"));
  const double g0 = 12.5e-6, sigma = m.prog_sigma(g0);  // 0.95 uS, 13 sigma from the limits
  Eigen::MatrixXd g = Eigen::MatrixXd::Constant(250, 400, g0);
  m.program(g, StreamKey(4, 0, 0, Purpose::kProgramming), StreamKey(4, 0, 0, Purpose::kStuckAt),
            true, false);
  const double n = double(g.size());
  double mean, sd;
  moments(g, &mean, &sd);
  EXPECT_NEAR(mean, g0, 5 * sigma / std::sqrt(n));
  EXPECT_NEAR(sd, sigma, 5 * sigma / std::sqrt(2 * n));
}

TEST(CellModel, StuckAtFractions) {
  CellSpec s;
  s.stuck_at_min_prob = 0.05;
  s.stuck_at_max_prob = 0.02;
  CellModel m(s);
  const double mid = 0.5 * (s.g_min_S + s.g_max_S);
  Eigen::MatrixXd g = Eigen::MatrixXd::Constant(200, 500, mid);
  m.program(g, StreamKey(5, 0, 0, Purpose::kProgramming), StreamKey(5, 0, 0, Purpose::kStuckAt),
            false, true);
  const double n = double(g.size());
  const double f_min = (g.array() == s.g_min_S).cast<double>().sum() / n;
  const double f_max = (g.array() == s.g_max_S).cast<double>().sum() / n;
  EXPECT_NEAR(f_min, 0.05, 5 * std::sqrt(0.05 * 0.95 / n));
  EXPECT_NEAR(f_max, 0.02, 5 * std::sqrt(0.02 * 0.98 / n));
  EXPECT_EQ((g.array() == mid).cast<double>().sum() + f_min * n + f_max * n, n);
}

TEST(CellModel, DriftMeanMatchesLognormalFormula) {
  // nu ~ N(mu, sd): E[(t/t0)^-nu] = exp(-mu L + sd^2 L^2 / 2), L = ln(t/t0).
  CellSpec s;
  s.drift = "constant";
  s.drift_params = {0.06, 0.02};
  CellModel m(s);
  Eigen::MatrixXd g = Eigen::MatrixXd::Constant(300, 300, 5e-6);
  Eigen::MatrixXd nu = m.draw_nu(g, StreamKey(6, 0, 0, Purpose::kDrift));
  const double t = 1e6, L = std::log(t / s.drift_t0_s);
  Eigen::MatrixXd f = nu.unaryExpr([&](double v) { return m.drift_factor(v, t); });
  double mean, sd;
  moments(f, &mean, &sd);
  const double expect = std::exp(-0.06 * L + 0.5 * 0.02 * 0.02 * L * L);
  EXPECT_NEAR(mean, expect, 5 * sd / std::sqrt(double(f.size())));
  EXPECT_DOUBLE_EQ(m.drift_factor(0.06, s.drift_t0_s / 2), 1.0);  // no drift before t0
}

}  // namespace
}  // namespace mho
