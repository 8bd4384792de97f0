// The arrays' energy of charge-domain tiles (crossbar/charge_domain.h): from shapes by hand,
// and the shape estimate against the expectation of a simulation run with known bit density.
#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "crossbar/charge_domain.h"
#include "evaluator/pim_cost.h"
#include "nets/pim_network.h"
#include "tests/evaluator/cost_fixtures.h"

namespace mho {
namespace {

using test::kTech;
using test::part;
using test::small_spec;

// One linear layer whose every output's weights come in pairs +r, -r: each output column's
// codes sum to zero, so offset-encoded analog cells hold levels averaging exactly 1/2.
Network paired_linear(int in, int out, unsigned seed) {
  std::mt19937 g(seed);
  std::normal_distribution<float> d;
  std::vector<float> w(std::size_t(in) * out);
  for (std::size_t k = 0; k < w.size(); k += 2) {
    w[k] = d(g);
    w[k + 1] = -w[k];
  }
  return test::linear_network(in, out, std::move(w));
}

TileSpec charge_small_spec(const std::string& scheme) {
  TileSpec s = small_spec();
  s.accumulation = "charge";
  s.cap.scheme = scheme;
  s.cap.c_unit_F = 2e-15;
  s.cap.v_dd_V = 0.9;
  return s;
}

TEST(ChargeCost, ShapeArraysEnergyByHandAndNoBitLineCharging) {
  // 100 x 10 on 2-bit binary-weighted cells, two slices, differential: 40 physical columns,
  // 4 bit-serial planes, so 16000 cell reads per inference; a driven cell at the mean of the
  // levels 0 .. 3 draws 1.5 C_u V_DD^2.
  const TechTable t = TechTable::load(kTech, "22nm");
  const Network net = paired_linear(100, 10, 3);
  const TileSpec s = charge_small_spec("binary_weighted");
  const Mapping m(matrix_layers(net), s);
  const auto acts = shape_actions(net, m, 8);
  const double e_cell = 1.5 * 2e-15 * 0.9 * 0.9;
  TileSpec resistive = s;
  resistive.accumulation = "current";
  const Mapping mr(matrix_layers(net), resistive);
  const double area = s.cell.area_F2 * s.cell.feature_size_m * s.cell.feature_size_m;
  const double e_bitline = t.array_wire_F_per_m * s.rows * std::sqrt(area) * s.cell.v_read_V * s.cell.v_read_V;
  for (double a : {0.125, 0.5, 1.0}) {
    PimSystemSpec sys;
    sys.input_activity = a;
    const CostReport r = evaluate_pim(net, m, acts, t, sys);
    EXPECT_NEAR(part(r.energy_J, "arrays"), a * 16000 * e_cell, 1e-12 * a * 16000 * e_cell) << a;
    // The word lines are driven as before; the bit lines share the cells' charge.
    const CostReport rr = evaluate_pim(net, mr, shape_actions(net, mr, 8), t, sys);
    const double w = part(rr.energy_J, "wires") - acts[0].bitline_charges * e_bitline;
    EXPECT_GT(acts[0].bitline_charges * e_bitline, 0.0);
    EXPECT_NEAR(part(r.energy_J, "wires"), w, 1e-12 * part(rr.energy_J, "wires")) << a;
  }
}

TEST(ChargeCost, ShapeEstimateIsTheExpectationOfARunWithThatBitDensity) {
  // Offset-encoded analog weights on bit-line sharing, the output columns' codes summing to
  // zero: the 11 physical columns' levels (10 outputs and the reference at 1/2) sum to 100 / 2
  // each, the shape estimate's uniform mean. Inputs are 4-bit codes whose bits are set with
  // probability p independently, so a run's energy is C_u V_DD^2 sum over samples, planes and
  // rows of bit x G_i (G_i the row's level sum): mean p x 4 x 550 per sample, variance
  // p (1 - p) x 4 x sum_i G_i^2 per sample.
  const double p = 0.3;
  const int in = 100, out = 10, samples = 400;
  const Network net = paired_linear(in, out, 5);
  TileSpec s = charge_small_spec("bitline_sharing");
  s.weight_bits = 0;
  s.encoding = "offset";
  s.dac.range = "fixed";
  s.dac.x_max = 15.0;
  s.adc.range = "fixed";
  PimNetwork pim(net, s);
  std::mt19937_64 rng(17);
  std::bernoulli_distribution bit(p);
  RowMat<float> x(samples, in);
  for (Eigen::Index k = 0; k < x.size(); ++k) {
    int code = 0;
    for (int b = 0; b < 4; ++b) code |= int(bit(rng)) << b;
    x.data()[k] = float(code);
  }
  pim.program(0);
  pim.forward(x);
  const TechTable t = TechTable::load(kTech, "22nm");
  const auto measured = measured_actions(pim.network(), pim.mapping(), 8, pim.layer_counters(), pim.inferences());
  ASSERT_TRUE(measured[0].cell_energy_measured);
  PimSystemSpec sys;
  sys.input_activity = p;
  const double run = part(evaluate_pim(pim.network(), pim.mapping(), measured, t, sys).energy_J, "arrays");
  const double shape =
      part(evaluate_pim(net, pim.mapping(), shape_actions(net, pim.mapping(), 8), t, sys).energy_J, "arrays");
  const double unit_J = 2e-15 * 0.9 * 0.9;
  EXPECT_NEAR(shape, unit_J * p * 4 * 550, 1e-12 * shape);
  // Row sums of the levels, by hand: (w / max|w| + 1) / 2 per output, 1/2 on the reference.
  double wmax = 0.0, sum_g2 = 0.0;
  for (float v : net.layers()[0].weight) wmax = std::max(wmax, double(std::abs(v)));
  for (int i = 0; i < in; ++i) {
    double g = 0.5;
    for (int j = 0; j < out; ++j) g += (double(net.layers()[0].weight[std::size_t(j) * in + i]) / wmax + 1.0) / 2.0;
    sum_g2 += g * g;
  }
  const double sigma = unit_J * std::sqrt(p * (1 - p) * 4 * sum_g2 / samples);
  EXPECT_GT(sigma, 0.0);
  EXPECT_NEAR(run, shape, 5 * sigma);
  // The tolerance resolves the activity: another density is many sigmas away.
  EXPECT_GT(std::abs(run - shape * (p + 0.05) / p), 5 * sigma);
}

}  // namespace
}  // namespace mho
