// Evaluator tests: hand-computed single-tile costs, table lookups, scaling, counts measured by
// a simulation run against counts from shapes, batch linearity, array-size changes.
#include <gtest/gtest.h>

#include "tests/random_vector.h"

#include <cmath>
#include <fstream>
#include <random>

#include "devices/presets.h"
#include "evaluator/digital_cost.h"
#include "evaluator/pim_cost.h"
#include "nets/pim_network.h"
#include "nets/zoo.h"
#include "tests/evaluator/cost_fixtures.h"

namespace mho {
namespace {

using test::kTech;
using test::part;
using test::small_spec;

// Horowitz-style scaling from 45 nm / 0.9 V to 22 nm / 0.8 V, by hand.
const double kLogic22 = (22.0 / 45.0) * (0.8 / 0.9) * (0.8 / 0.9);
const double kArea22 = (22.0 / 45.0) * (22.0 / 45.0);

Network one_linear(int in, int out) { return test::linear_network(in, out, randv(std::size_t(in) * out, 7)); }

TEST(TechTable, LoadsAndScalesByTheDocumentedRule) {
  const TechTable t = TechTable::load(kTech, "22nm");
  EXPECT_DOUBLE_EQ(t.node_m, 22e-9);
  EXPECT_NEAR(t.add_cost(32).energy_J, 0.1e-12 * kLogic22, 1e-27);
  EXPECT_NEAR(t.mult_cost(8).area_m2, 282e-12 * kArea22, 1e-24);
  EXPECT_NEAR(t.wire_J_per_bit_m, 0.0404e-12 * 1e3 * (0.8 / 0.9) * (0.8 / 0.9), 1e-24);
  EXPECT_NEAR(t.dram_J_per_bit, 1950e-12 / 64, 1e-24);
  // SRAM energy per bit: table points and the log-log midpoint between 8 KB and 32 KB.
  EXPECT_NEAR(t.sram_J_per_bit(8192), 10e-12 / 64 * kLogic22, 1e-26);
  EXPECT_NEAR(t.sram_J_per_bit(16384), std::sqrt(10.0 * 20.0) * 1e-12 / 64 * kLogic22, 1e-26);
  EXPECT_NEAR(t.sram_J_per_bit(100), 10e-12 / 64 * kLogic22, 1e-26);  // clamped below
  // 65 nm: energies scale by (65/45)(1.0/0.9)^2, areas by (65/45)^2.
  const TechTable u = TechTable::load(kTech, "65nm");
  EXPECT_NEAR(u.add_cost(8).energy_J / t.add_cost(8).energy_J,
              (65.0 / 22.0) * (1.0 / 0.8) * (1.0 / 0.8), 1e-12);
  EXPECT_NEAR(u.add_cost(8).area_m2 / t.add_cost(8).area_m2, (65.0 / 22.0) * (65.0 / 22.0), 1e-12);
  // Leakage per node, as given (not scaled).
  EXPECT_NEAR(t.sram_leakage_W_per_bit, 7.04e-12, 1e-24);
  EXPECT_NEAR(t.logic_leakage_W_per_mac, 7.92e-6, 1e-18);
  EXPECT_NEAR(u.sram_leakage_W_per_bit, 26e-12, 1e-24);
}

TEST(TechTable, AnOverlayAddsAdcTypesAndReplacesNodeFigures) {
  const TechTable t = TechTable::load(kTech, "65nm");
  const TechTable o = TechTable::load(
      kTech, "65nm",
      "vdd_V: 1.2\nadc:\n  macro: {bits: [8], energy_pJ: [1.79], area_um2: [1941], time_ns: [0], source: test}\n");
  EXPECT_DOUBLE_EQ(o.vdd_V, 1.2);
  EXPECT_NEAR(o.adc_cost("macro", 8).energy_J, 1.79e-12, 1e-24);
  EXPECT_NEAR(o.adc_cost("macro", 8).area_m2, 1941e-12, 1e-22);
  EXPECT_DOUBLE_EQ(o.adc_cost("sar", 8).energy_J, t.adc_cost("sar", 8).energy_J);  // the node's own stay
  // Logic energy follows the new supply by the table's rule (energy ~ Vdd^2).
  EXPECT_NEAR(o.add_cost(8).energy_J / t.add_cost(8).energy_J, (1.2 / t.vdd_V) * (1.2 / t.vdd_V), 1e-12);
  EXPECT_THROW(TechTable::load(kTech, "65nm", "adc:\n  macro: {bits: [8], energy_pJ: [1.79]}\n"), std::invalid_argument);
}

TEST(TechTable, CellPresetsAgreeWithTheCellTable) {
  const TechTable t = TechTable::load(kTech, "22nm");
  int checked = 0;
  for (const std::string& name : cell_preset_names()) {
    if (name == "ideal") continue;
    const CellSpec c = cell_preset(name);
    ASSERT_TRUE(t.cells.count(name)) << name;
    const CellEntry& e = t.cells.at(name);
    EXPECT_DOUBLE_EQ(c.area_F2, e.area_F2) << name;
    EXPECT_NEAR(c.feature_size_m, e.node_m, 1e-15) << name;
    if (e.r_on_ohm > 0) {
      EXPECT_NEAR(c.g_max_S * e.r_on_ohm, 1.0, 1e-12) << name;
      // A preset whose paper maps weights onto [0, g_max] (pcm_joshi2020, g_min = 0) takes
      // only R_on from the table.
      if (c.g_min_S > 0) EXPECT_NEAR(c.g_max_S / c.g_min_S, e.on_off, 1e-9) << name;
    }
    ++checked;
  }
  EXPECT_EQ(checked, 11);
}

TEST(TechTable, AdcEnergyFollowsTheTableAcrossBits) {
  const TechTable t = TechTable::load(kTech, "22nm");
  const double sar[] = {0.457, 0.457, 0.457, 0.457, 0.463, 0.527, 0.6681, 0.847, 1.694, 3.388};
  const Network net = one_linear(100, 10);
  for (int bits = 1; bits <= 10; ++bits) {
    EXPECT_NEAR(t.adc_cost("sar", bits).energy_J, sar[bits - 1] * 1e-12, 1e-18);
    EXPECT_NEAR(t.adc_cost("flash", bits).energy_J, (std::ldexp(1.0, bits) - 1) * 0.457e-12 / 15, 2e-3 * 1e-12 * bits);
    // NeuroSim's multilevel sense amplifier: 2^b - 1 sense amplifiers per column, from the
    // 5-bit unit (0.027 pJ, 52 um^2 at 22 nm); its conversion time does not depend on b.
    const double units = (std::ldexp(1.0, bits) - 1) / 31;
    EXPECT_NEAR(t.adc_cost("sense_amp", bits).energy_J, 0.027e-12 * units, 1e-5 * 0.027e-12 * units) << bits;
    EXPECT_NEAR(t.adc_cost("sense_amp", bits).area_m2, 52e-12 * units, 1e-4 * 52e-12 * units) << bits;
    EXPECT_DOUBLE_EQ(t.adc_cost("sense_amp", bits).time_s, 1e-9);
    const TechTable u = TechTable::load(kTech, "65nm");
    EXPECT_NEAR(u.adc_cost("sense_amp", bits).energy_J / t.adc_cost("sense_amp", bits).energy_J,
                (65.0 / 22.0) / (0.8 * 0.8), 1e-4) << bits;
    EXPECT_NEAR(u.adc_cost("sense_amp", bits).area_m2 / t.adc_cost("sense_amp", bits).area_m2,
                (65.0 / 22.0) * (65.0 / 22.0), 1e-4) << bits;
    TileSpec s = small_spec();
    s.adc.bits = bits;
    const Mapping m(matrix_layers(net), s);
    const CostReport r = evaluate_pim(net, m, shape_actions(net, m, 8), t, PimSystemSpec());
    EXPECT_NEAR(part(r.energy_J, "adcs"), 80 * sar[bits - 1] * 1e-12, 1e-22) << bits;
  }
}

TEST(TechTable, AdderOfAnyWidthIsLinearBetweenTheTableWidths) {
  const TechTable t = TechTable::load(kTech, "22nm");
  EXPECT_DOUBLE_EQ(t.adder(16).energy_J, t.add_cost(16).energy_J);
  EXPECT_NEAR(t.adder(12).energy_J, 0.04e-12 * kLogic22, 1e-27);        // midway 8 .. 16
  EXPECT_NEAR(t.adder(24).area_m2, (67 + 137) / 2.0 * 1e-12 * kArea22, 1e-22);
  EXPECT_NEAR(t.adder(4).energy_J, 0.015e-12 * kLogic22, 1e-27);        // half the 8-bit one
  EXPECT_NEAR(t.adder(64).energy_J, 0.2e-12 * kLogic22, 1e-27);         // twice the 32-bit one
  EXPECT_THROW(t.adder(0), std::invalid_argument);
}

TEST(TechTable, ErrorsNameTheKey) {
  EXPECT_THROW(TechTable::load("no/such/tech.yaml", "22nm"), TechFileNotFound);
  try {
    TechTable::load(kTech, "3nm");
    FAIL();
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("3nm"), std::string::npos);
    EXPECT_NE(std::string(e.what()).find("22nm, 65nm, 7nm, 28nm, 32nm, 130nm"), std::string::npos);
  }
  const TechTable t = TechTable::load(kTech, "22nm");
  try {
    t.adc_cost("sar", 12);
    FAIL();
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("bits = 12"), std::string::npos) << e.what();
  }
  EXPECT_THROW(t.adc_cost("pipeline", 6), std::invalid_argument);
  const std::string bad = ::testing::TempDir() + "bad_tech.yaml";
  std::ifstream in(kTech);
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  text.replace(text.find("energy_pJ: [0.2, 0.8, 3.1]"), 26, "energy_pJ: [0.2, 0.8]");
  std::ofstream(bad) << text;
  try {
    TechTable::load(bad, "22nm");
    FAIL();
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("reference_45nm.mult.energy_pJ"), std::string::npos) << e.what();
  }
}

TEST(PimCost, SingleTileByHand) {
  const TechTable t = TechTable::load(kTech, "22nm");
  const Network net = one_linear(100, 10);
  const TileSpec s = small_spec();
  const Mapping m(matrix_layers(net), s);
  ASSERT_EQ(m.arrays(), 1);
  const CostReport r = evaluate_pim(net, m, shape_actions(net, m, 8), t, PimSystemSpec());

  // Actions: 4 planes x 100 rows x 40 physical columns (10 outputs x 2 slices x 2 signs);
  // 4 x 100 row drives; 4 x 20 conversions (one per output and slice after analog
  // subtraction); 10 x (4 planes x 2 slices - 1) shift-adds; 10 bias adds. Half the rows of a
  // pass are driven (the default activity 0.5), so half the cell reads and drives cost.
  const double cell_reads = 16000, drives = 400, conversions = 80, shift_adds = 70, bias_adds = 10;
  const double activity = 0.5;
  const double e_cell = 0.2 * 0.2 * 5.5e-6 * 10e-9;
  const double dac1 = 0.03e-12 * kLogic22;
  // Shift-and-add width: 6 ADC bits + 3 bits of plane shifts (4-bit codes, 1 bit a plane) +
  // 2 bits of slice shift (2 slices of 2 bits) = 11 bits, between the table's 8- and 16-bit
  // adders: 0.03 + (3/8)(0.05 - 0.03) pJ and 36 + (3/8)(67 - 36) um^2 at 45 nm. One row
  // block: the bias adds are 11 bits wide too.
  const double add11 = (0.03 + 0.375 * 0.02) * 1e-12 * kLogic22, add11_area = (36 + 0.375 * 31) * 1e-12 * kArea22;
  const double buffer_bits = 110 * 8;                           // input 100 + output 10 elements
  const double sram_bit = 10e-12 / 64 * kLogic22;               // below 8 KB: the 8 KB figure
  const double moved = 100 * 8 + 10 * 8;                        // read inputs, write outputs
  // Area: 128 x 64 cells of 48 F^2 at 22 nm; 32 conversion columns / 4 = 8 ADCs; 128 DACs;
  // 8 shift-add units; 64 digital lanes; the buffer.
  const double a_arrays = 128 * 64 * 48 * 22e-9 * 22e-9, a_adcs = 8 * 3195e-12;
  const double a_dacs = 128 * 36e-12 * kArea22, a_sa = 8 * add11_area;
  const double a_dig = 64 * (36 + 282 + 137) * 1e-12 * kArea22;
  const double a_buf = buffer_bits * 280 * 22e-9 * 22e-9 / 0.7;
  const double area = a_arrays + a_adcs + a_dacs + a_sa + a_dig + a_buf;
  const double wire = moved * 0.0404e-9 * (0.8 / 0.9) * (0.8 / 0.9) * 0.5 * std::sqrt(area);
  const double io = 110 * 8 * 1950e-12 / 64;

  EXPECT_NEAR(part(r.energy_J, "arrays"), activity * cell_reads * e_cell, 1e-25);
  EXPECT_NEAR(part(r.energy_J, "dacs"), activity * drives * dac1, 1e-25);
  EXPECT_NEAR(part(r.energy_J, "adcs"), conversions * 0.527e-12, 1e-25);
  EXPECT_NEAR(part(r.energy_J, "shift_add"), shift_adds * add11, 1e-25);
  EXPECT_NEAR(part(r.energy_J, "digital"), bias_adds * add11, 1e-25);
  EXPECT_NEAR(part(r.energy_J, "buffers"), moved * sram_bit, 1e-25);
  EXPECT_NEAR(part(r.energy_J, "interconnect"), wire, 1e-25);
  EXPECT_NEAR(part(r.energy_J, "offchip"), io, 1e-25);
  // Word and bit lines at 0.2 fF/um, pitch sqrt(48) F: the driven half of the 400 row drives
  // charges a 64-cell word line to 0.8 V; 4 passes x 40 biased columns charge 128-cell bit
  // lines to 0.2 V.
  const double pitch = std::sqrt(48.0) * 22e-9, c_um = 0.2e-15 / 1e-6;
  const double wires = activity * drives * c_um * 64 * pitch * 0.8 * 0.8 + 4 * 40 * c_um * 128 * pitch * 0.2 * 0.2;
  EXPECT_NEAR(part(r.energy_J, "wires"), wires, 1e-12 * wires);
  // Leakage: the buffer's bits and 64 digital lanes at the 22 nm table's static power, for the
  // inference's 1 / throughput (its latency: one layer).
  const double leak_W = buffer_bits * 7.04e-12 + 64 * 7.92e-6;
  EXPECT_NEAR(r.leakage_W, leak_W, 1e-12 * leak_W);
  EXPECT_NEAR(part(r.energy_J, "leakage"), leak_W * (4 * (10e-9 + 4 * 7e-9) + 3e-9), 1e-12 * leak_W * 1e-7);
  EXPECT_NEAR(part(r.area_m2, "arrays"), a_arrays, 1e-20);
  EXPECT_NEAR(part(r.area_m2, "adcs"), a_adcs, 1e-20);
  EXPECT_NEAR(part(r.area_m2, "dacs"), a_dacs, 1e-20);
  EXPECT_NEAR(part(r.area_m2, "shift_add"), a_sa, 1e-20);
  EXPECT_NEAR(part(r.area_m2, "buffers"), a_buf, 1e-20);
  // Total area is the sum of the parts computed above.
  EXPECT_NEAR(r.area_total_m2(), area, 1e-20);
  // Latency: 4 passes, each a 10 ns read + 4 conversions of 7 ns: the 20 converted columns
  // sit on 5 of the array's 8 ADCs, 4 columns each (not 20 spread over all 8); then the
  // 800 bits read and 80 written at 2048 bits per clock (1 + 1 clocks) and the 880 bits on
  // the 2048-bit bus (1 clock), at 1 GHz (evaluator/pipeline.h).
  EXPECT_NEAR(r.latency_s, 4 * (10e-9 + 4 * 7e-9) + 3e-9, 1e-18);
  // The layer's own breakdown sums to its energy and latency, and holds the array's area.
  ASSERT_EQ(r.layers.size(), 1u);
  double e_sum = 0;
  for (const auto& kv : r.layers[0].energy_by_component_J) e_sum += kv.second;
  EXPECT_NEAR(e_sum, r.layers[0].energy_J, 1e-12 * e_sum);
  EXPECT_NEAR(part(r.layers[0].latency_by_component_s, "sensing"), 4 * 10e-9, 1e-18);
  EXPECT_NEAR(part(r.layers[0].latency_by_component_s, "adc"), 4 * 4 * 7e-9, 1e-18);
  EXPECT_NEAR(part(r.layers[0].latency_by_component_s, "buffer"), 2e-9, 1e-18);
  EXPECT_NEAR(part(r.layers[0].latency_by_component_s, "interconnect"), 1e-9, 1e-18);
  EXPECT_NEAR(part(r.layers[0].area_by_component_m2, "adcs"), a_adcs, 1e-20);
  EXPECT_DOUBLE_EQ(r.layers[0].activity, 0.5);
  EXPECT_NEAR(r.throughput_per_s, 1.0 / r.latency_s, 1e-6);
  EXPECT_NEAR(r.tops(), 2.0 * 1000 / r.latency_s / 1e12, 1e-12);
  EXPECT_NEAR(r.tops_per_w(), 2.0 * 1000 / r.energy_total_J() / 1e12, 1e-9);
  EXPECT_NEAR(r.utilization, 1000.0 * 4 / (128 * 64), 1e-12);  // 1000 weights x 2 slices x 2 signs

  // Column sharing: 1 column per ADC -> 32 ADCs, each converting one column per pass.
  TileSpec s1 = s;
  s1.adc.columns_per_adc = 1;
  const Mapping m1(matrix_layers(net), s1);
  const CostReport r1 = evaluate_pim(net, m1, shape_actions(net, m1, 8), t, PimSystemSpec());
  EXPECT_NEAR(part(r1.area_m2, "adcs"), 32 * 3195e-12, 1e-20);
  EXPECT_NEAR(r1.latency_s, 4 * (10e-9 + 7e-9) + 3e-9, 1e-18);
}

TEST(PimCost, WordLineGateLoadDriverAndSwingByHand) {
  // The same tile with 1.5 fF of gate load a cell and 48 fF of driver on each word line, swung
  // 0.9 -> 2.2 V: every driven row's line draws (wire + 64 x 1.5 fF + 48 fF) x 1.3 V x 2.2 V
  // from the 2.2 V rail; the bit lines are unchanged.
  const TechTable t = TechTable::load(kTech, "22nm");
  const Network net = one_linear(100, 10);
  TileSpec s = small_spec();
  const Mapping m0(matrix_layers(net), s);
  const CostReport r0 = evaluate_pim(net, m0, shape_actions(net, m0, 8), t, PimSystemSpec());
  s.cell.wl_cell_cap_F = 1.5e-15;
  s.cell.wl_driver_cap_F = 48e-15;
  s.cell.wl_v_low_V = 0.9;
  s.cell.wl_v_high_V = 2.2;
  const Mapping m(matrix_layers(net), s);
  const CostReport r = evaluate_pim(net, m, shape_actions(net, m, 8), t, PimSystemSpec());
  const double pitch = std::sqrt(48.0) * 22e-9, c_um = 0.2e-15 / 1e-6, driven = 0.5 * 400;
  const double bitlines = 4 * 40 * c_um * 128 * pitch * 0.2 * 0.2;
  const double wordlines = driven * (c_um * 64 * pitch + 64 * 1.5e-15 + 48e-15) * 1.3 * 2.2;
  EXPECT_NEAR(part(r.energy_J, "wires"), wordlines + bitlines, 1e-12 * (wordlines + bitlines));
  EXPECT_NEAR(part(r0.energy_J, "wires") - bitlines, driven * c_um * 64 * pitch * 0.8 * 0.8, 1e-12 * wordlines);
  for (const char* other : {"arrays", "dacs", "adcs", "buffers"})
    EXPECT_DOUBLE_EQ(part(r.energy_J, other), part(r0.energy_J, other)) << other;
  // A low level at or above the high one is refused, naming the field.
  s.cell.wl_v_low_V = 2.2;
  EXPECT_THROW(
      {
        try {
          s.cell.validate();
        } catch (const std::invalid_argument& e) {
          EXPECT_NE(std::string(e.what()).find("wl_v_low_V"), std::string::npos);
          throw;
        }
      },
      std::invalid_argument);
}

TEST(PimCost, AFewColumnsConvertOnTheirOwnAdcsOnly) {
  // 1 output x 2 slices = 2 converted columns on an array of 8 ADCs shared by 4 columns:
  // both share ADC 0, so each pass converts 2 in sequence (spread over all 8 ADCs it was 1).
  // 6 outputs = 12 columns on ADCs 0-2: 4 each. 16 outputs (the full array, 32 columns): 4.
  const TechTable t = TechTable::load(kTech, "22nm");
  for (const auto& [outputs, per_adc] : std::vector<std::pair<int, int>>{{1, 2}, {2, 4}, {6, 4}, {16, 4}}) {
    const Network net = one_linear(100, outputs);
    const Mapping m(matrix_layers(net), small_spec());
    const auto acts = shape_actions(net, m, 8);
    EXPECT_EQ(acts[0].conversions_per_adc, per_adc) << outputs;
    const CostReport r = evaluate_pim(net, m, acts, t, PimSystemSpec());
    EXPECT_NEAR(part(r.layers[0].latency_by_component_s, "adc"), 4 * per_adc * 7e-9, 1e-18) << outputs;
  }
  // One column per ADC: one conversion each, whatever the columns.
  TileSpec s1 = small_spec();
  s1.adc.columns_per_adc = 1;
  const Network net = one_linear(100, 3);
  const Mapping m1(matrix_layers(net), s1);
  EXPECT_EQ(shape_actions(net, m1, 8)[0].conversions_per_adc, 1);
}

TEST(PimCost, ShapeActivityScalesCellAndDacEnergyByHand) {
  const TechTable t = TechTable::load(kTech, "22nm");
  const Network net = one_linear(100, 10);
  const Mapping m(matrix_layers(net), small_spec());
  const auto acts = shape_actions(net, m, 8);
  const double e_cell = 0.2 * 0.2 * 5.5e-6 * 10e-9, dac1 = 0.03e-12 * kLogic22;
  for (double a : {0.0, 0.125, 0.3, 1.0}) {
    PimSystemSpec sys;
    sys.input_activity = a;
    const CostReport r = evaluate_pim(net, m, acts, t, sys);
    EXPECT_NEAR(part(r.energy_J, "arrays"), a * 16000 * e_cell, 1e-25) << a;
    EXPECT_NEAR(part(r.energy_J, "dacs"), a * 400 * dac1, 1e-25) << a;
    // A per-layer activity overrides the system's.
    sys.layer_activity = {a};
    sys.input_activity = 0.9;
    EXPECT_NEAR(part(evaluate_pim(net, m, acts, t, sys).energy_J, "dacs"), a * 400 * dac1, 1e-25) << a;
  }
  PimSystemSpec bad;
  bad.input_activity = 1.5;
  EXPECT_THROW(evaluate_pim(net, m, acts, t, bad), std::invalid_argument);
  bad = PimSystemSpec();
  bad.layer_activity = {0.5, 0.5};  // the network has one layer
  EXPECT_THROW(evaluate_pim(net, m, acts, t, bad), std::invalid_argument);
}

TEST(PimCost, MeasuredActivityIsTheInputCodesSetBits) {
  // Fixed DAC range x_max = 15: the inputs are their own 4-bit codes, so the driven rows of
  // the 4 bit-serial planes are the codes' set bits, counted here by brute force.
  const Network net = one_linear(100, 10);
  TileSpec s = small_spec();
  s.dac.range = "fixed";
  s.dac.x_max = 15.0;
  s.adc.range = "fixed";
  PimNetwork pim(net, s);
  std::mt19937 rng(11);
  RowMat<float> x(5, 100);
  long long bits = 0;
  for (Eigen::Index i = 0; i < x.size(); ++i) {
    const int code = int(rng() % 16);
    x.data()[i] = float(code);
    bits += __builtin_popcount(unsigned(code));
  }
  pim.program(0);
  pim.forward(x);
  const auto acts = measured_actions(pim.network(), pim.mapping(), 8, pim.layer_counters(), pim.inferences());
  ASSERT_TRUE(acts[0].activity_measured);
  EXPECT_DOUBLE_EQ(acts[0].activity, double(bits) / (5 * 4 * 100));
  const TechTable t = TechTable::load(kTech, "22nm");
  PimSystemSpec sys;
  sys.input_activity = 1.0;  // ignored: measured
  const CostReport r = evaluate_pim(pim.network(), pim.mapping(), acts, t, sys);
  EXPECT_NEAR(part(r.energy_J, "dacs"), double(bits) / 5 * 0.03e-12 * kLogic22, 1e-24);
}

TEST(PimCost, MeasuredCountsEqualShapeCountsAndScaleWithBatch) {
  const Network shapes = zoo_network("lenet5");
  std::vector<Layer> layers = shapes.layers();
  for (Layer& l : layers)
    if (l.has_weights()) {
      l.weight = randv(std::size_t(l.out_ch) * l.matrix_rows(), 3);
      l.bias.assign(std::size_t(l.out_ch), 0.1f);
    }
  const Network net("lenet5", shapes.input_shape(), layers);
  TileSpec s = small_spec();
  s.dac.signed_mode = "two_pass";
  PimNetwork pim(net, s);
  const TechTable t = TechTable::load(kTech, "22nm");
  const auto shape = shape_actions(pim.network(), pim.mapping(), 8);
  RowMat<float> x = RowMat<float>::Random(6, net.input_shape().size());
  pim.program(0);
  pim.calibrate(x);
  pim.forward(x.topRows(2));
  const auto two = measured_actions(pim.network(), pim.mapping(), 8, pim.layer_counters(), pim.inferences());
  const CostReport e2 = evaluate_pim(pim.network(), pim.mapping(), two, t, PimSystemSpec());
  double measured = 0.0;
  double driven = 0.0;
  for (const auto& kv : pim.layer_counters()) {
    measured += kv.second.cell_energy_J();
    driven += double(kv.second.driven_rows);
  }
  pim.forward(x.bottomRows(4));
  const auto six = measured_actions(pim.network(), pim.mapping(), 8, pim.layer_counters(), pim.inferences());
  for (std::size_t i = 0; i < shape.size(); ++i) {
    EXPECT_DOUBLE_EQ(two[i].cell_reads, shape[i].cell_reads) << i;
    EXPECT_DOUBLE_EQ(two[i].dac_conversions, shape[i].dac_conversions) << i;
    EXPECT_DOUBLE_EQ(two[i].adc_conversions, shape[i].adc_conversions) << i;
    EXPECT_DOUBLE_EQ(two[i].shift_adds, shape[i].shift_adds) << i;
    EXPECT_DOUBLE_EQ(six[i].adc_conversions, shape[i].adc_conversions) << i;
  }
  // The cells' energy is the one the tiles measured, below the shape-based bound (every cell
  // at full read voltage and mean conductance, every row driven); the DACs' is the driven
  // rows the tiles counted (and so are the word lines they charged); every other part is the same.
  PimSystemSpec all_rows;
  all_rows.input_activity = 1.0;
  const CostReport bound = evaluate_pim(pim.network(), pim.mapping(), shape, t, all_rows);
  EXPECT_NEAR(part(e2.energy_J, "dacs"), driven / 2 * 0.03e-12 * kLogic22, 1e-12 * part(e2.energy_J, "dacs"));
  EXPECT_GT(measured, 0.0);
  EXPECT_NEAR(part(e2.energy_J, "arrays"), measured / 2, 1e-12 * measured);
  EXPECT_LT(part(e2.energy_J, "arrays"), part(bound.energy_J, "arrays"));
  for (const auto& [name, e] : bound.energy_J)
    if (name != "arrays" && name != "dacs" && name != "wires") EXPECT_NEAR(part(e2.energy_J, name), e, 1e-12 * e) << name;
  // Energy of a batch is linear in its size.
  for (int batch : {1, 2, 7, 64}) {
    PimSystemSpec sys;
    sys.batch = batch;
    const CostReport r = evaluate_pim(pim.network(), pim.mapping(), two, t, sys);
    EXPECT_NEAR(r.energy_per_batch_J(), batch * e2.energy_total_J(), 1e-12 * batch * e2.energy_total_J());
  }
}

TEST(PimCost, DoublingTheArrayChangesArraysAndUtilizationAsByHand) {
  // 600 x 300 weights, 8-bit weights in 8-bit cells, differential: 600 physical columns.
  Layer l;
  l.kind = LayerKind::kLinear;
  l.name = "fc";
  l.inputs = {-1};
  l.in_ch = 600;
  l.out_ch = 300;
  const Network net("fc", {600, 1, 1}, {l});
  TileSpec s = small_spec();
  s.weight_bits = 8;
  s.bits_per_cell = 8;
  const TechTable t = TechTable::load(kTech, "22nm");
  for (int n : {256, 512}) {
    s.rows = s.cols = n;
    const Mapping m(matrix_layers(net), s);
    const CostReport r = evaluate_pim(net, m, shape_actions(net, m, 8), t, PimSystemSpec());
    // 256: ceil(600/256) = 3 row blocks x ceil(300/128) = 3 column blocks = 9 arrays;
    // 512: 2 x ceil(300/256) = 2 -> 4 arrays. Utilization = 600 x 600 cells / allocated.
    const int arrays = n == 256 ? 9 : 4;
    EXPECT_EQ(m.arrays(), arrays);
    EXPECT_NEAR(r.utilization, 600.0 * 600 / (double(arrays) * n * n), 1e-12);
    EXPECT_NEAR(part(r.area_m2, "arrays"), arrays * double(n) * n * 48 * 22e-9 * 22e-9, 1e-20);
  }
}

TEST(PimCost, ReplicationDividesLayerTimeAndMultipliesArrays) {
  const TechTable t = TechTable::load(kTech, "22nm");
  const Network net = one_linear(100, 10);
  const Mapping m1(matrix_layers(net), small_spec()), m3(matrix_layers(net), small_spec(), {{0, 3}});
  const CostReport r1 = evaluate_pim(net, m1, shape_actions(net, m1, 8), t, PimSystemSpec());
  const CostReport r3 = evaluate_pim(net, m3, shape_actions(net, m3, 8), t, PimSystemSpec());
  EXPECT_EQ(m3.arrays(), 3 * m1.arrays());
  // The arrays' time is divided; the 3 ns of buffer and bus transfers are not (shared).
  EXPECT_NEAR(r3.latency_s, 4 * (10e-9 + 4 * 7e-9) / 3 + 3e-9, 1e-18);
  EXPECT_NEAR(r1.latency_s, 4 * (10e-9 + 4 * 7e-9) + 3e-9, 1e-18);
  EXPECT_NEAR(part(r3.area_m2, "arrays"), 3 * part(r1.area_m2, "arrays"), 1e-20);
  // The same work: every energy part but the interconnect (whose distance grows with the
  // chip) and the leakage (the same static power for the shorter cycle) is unchanged.
  for (const auto& [name, e] : r1.energy_J)
    if (name != "interconnect" && name != "leakage") EXPECT_NEAR(part(r3.energy_J, name), e, 1e-12 * e) << name;
  EXPECT_GT(part(r3.energy_J, "interconnect"), part(r1.energy_J, "interconnect"));
  EXPECT_NEAR(part(r3.energy_J, "leakage"), part(r1.energy_J, "leakage") * r3.latency_s / r1.latency_s,
              1e-12 * part(r1.energy_J, "leakage"));
  // Layers not pipelined: throughput is 1 / latency; pipelined it is 1 / slowest layer.
  PimSystemSpec serial;
  serial.pipeline_layers = false;
  const CostReport s1 = evaluate_pim(net, m1, shape_actions(net, m1, 8), t, serial);
  EXPECT_NEAR(s1.throughput_per_s * s1.latency_s, 1.0, 1e-12);
}

TEST(PimCost, RejectsIdealConvertersAndBadSystem) {
  const TechTable t = TechTable::load(kTech, "22nm");
  const Network net = one_linear(10, 4);
  TileSpec s = small_spec();
  s.adc.bits = 0;
  const Mapping m(matrix_layers(net), s);
  EXPECT_THROW(evaluate_pim(net, m, shape_actions(net, m, 8), t, PimSystemSpec()), std::invalid_argument);
  PimSystemSpec sys;
  sys.batch = 0;
  const Mapping m2(matrix_layers(net), small_spec());
  EXPECT_THROW(evaluate_pim(net, m2, shape_actions(net, m2, 8), t, sys), std::invalid_argument);
  sys = PimSystemSpec();
  sys.adc_type = "pipeline";
  EXPECT_THROW(evaluate_pim(net, m2, shape_actions(net, m2, 8), t, sys), std::invalid_argument);
}

TEST(DigitalCost, SingleLayerByHand) {
  const TechTable t = TechTable::load(kTech, "22nm");
  const Network net = one_linear(100, 10);
  DigitalSpec d;  // 16 x 16 PEs, 8-bit, 512 KiB buffer, weight stationary, weight storage auto
  const CostReport r = evaluate_digital(net, t, d);
  const double mac = (0.2 + 0.1) * 1e-12 * kLogic22;
  // The weight storage is sized to the network's 1000 bytes: the layer is resident.
  EXPECT_DOUBLE_EQ(r.weight_storage_bytes, 1000);
  ASSERT_EQ(r.layers.size(), 1u);
  EXPECT_TRUE(r.layers[0].weights_resident);
  EXPECT_EQ(r.layers[0].tiling, "v=1");
  EXPECT_NEAR(part(r.energy_J, "macs"), 1000 * mac, 1e-25);
  // One register read per MAC (the stationary weight); PE to PE: each weight shifted in once,
  // each MAC's input and partial sum passed on.
  EXPECT_NEAR(part(r.energy_J, "register_files"), 1000 * mac, 1e-25);
  EXPECT_NEAR(part(r.energy_J, "pe_to_pe"), 3000 * 2 * mac, 1e-25);
  // Global buffer: 7 row tiles x 1 column tile. Inputs 100 x 8 bits, outputs 10 x 8 bits,
  // partial sums written and read back for 6 of the 7 row tiles: 10 x 12 x 32 bits.
  const double glb_bits = 800 + 80 + 10 * 12 * 32;
  const double sram_bit = std::exp(std::log(20.0) + std::log(512.0 / 32) / std::log(1024.0 / 32) *
                                                        (std::log(100.0) - std::log(20.0))) * 1e-12 / 64 * kLogic22;
  EXPECT_NEAR(part(r.energy_J, "buffers"), glb_bits * sram_bit, 1e-22);
  // Weights read once from the 1000-byte storage (priced as the table's smallest, 8 KB).
  EXPECT_NEAR(part(r.energy_J, "weight_storage"), 8000 * 10e-12 / 64 * kLogic22, 1e-22);
  // DRAM: only the input and output, 110 x 8 bits.
  EXPECT_NEAR(part(r.energy_J, "offchip"), 880 * 1950e-12 / 64, 1e-22);
  EXPECT_DOUBLE_EQ(r.dram_bytes, 110);
  EXPECT_DOUBLE_EQ(r.layers[0].dram_bytes, 0);
  // Cycles: 7 tiles x (16 load + 16 + 16 fill/drain + 1 vector) at 1 GHz.
  EXPECT_NEAR(r.latency_s, 7 * 49e-9, 1e-15);
  EXPECT_NEAR(r.utilization, 1000.0 / (7 * 49 * 256), 1e-12);
  // Leakage: register files, buffer and weight storage bits at 7.04 pW, 256 PEs + 64 lanes at
  // 7.92 uW, for the latency.
  const double leak_W = (256 * 64 * 8 + 512 * 1024 * 8 + 8000) * 7.04e-12 + 320 * 7.92e-6;
  EXPECT_NEAR(r.leakage_W, leak_W, 1e-15);
  EXPECT_NEAR(part(r.energy_J, "leakage"), leak_W * 7 * 49e-9, 1e-22);
  EXPECT_NEAR(part(r.area_m2, "macs"), 256 * (282 + 137) * 1e-12 * kArea22, 1e-20);
  EXPECT_NEAR(part(r.area_m2, "buffers"), 512 * 1024 * 8 * 280 * 22e-9 * 22e-9 / 0.7, 1e-18);
  EXPECT_NEAR(part(r.area_m2, "weight_storage"), 8000 * 280 * 22e-9 * 22e-9 / 0.7, 1e-18);
}

TEST(DigitalCost, WeightsThatDoNotFitStreamFromDram) {
  const TechTable t = TechTable::load(kTech, "22nm");
  const Network net = one_linear(100, 10);
  DigitalSpec d;
  d.weight_storage = "fixed";
  d.weight_storage_bytes = 999;  // one byte short of the layer's weights
  const CostReport r = evaluate_digital(net, t, d);
  EXPECT_FALSE(r.layers[0].weights_resident);
  // Staged through the buffer (1000 bytes fit half of it): 8000 bits from DRAM, read once
  // more from the buffer; the storage is never read.
  EXPECT_DOUBLE_EQ(r.layers[0].dram_bytes, 1000);
  EXPECT_NEAR(part(r.energy_J, "offchip"), (8000 + 880) * 1950e-12 / 64, 1e-22);
  EXPECT_EQ(part(r.energy_J, "weight_storage"), 0.0);
  // A batch of 4 shares one fetch: a quarter of the DRAM weight bytes per inference.
  d.batch = 4;
  EXPECT_DOUBLE_EQ(evaluate_digital(net, t, d).layers[0].dram_bytes, 250);
  // "none" streams every layer; "auto" within a budget below the network's weights too.
  d.weight_storage = "auto";
  d.weight_storage_budget_bytes = 500;
  EXPECT_FALSE(evaluate_digital(net, t, d).layers[0].weights_resident);
  d.weight_storage = "none";
  EXPECT_DOUBLE_EQ(evaluate_digital(net, t, d).weight_storage_bytes, 0);
}

TEST(DigitalCost, ResidencyIsFirstFitInNetworkOrder) {
  // LeNet-5: conv 150 B, conv 2400 B, fc 48000 B, fc 10080 B, fc 840 B of 8-bit weights.
  // 12 000 bytes hold the two convs; the 48 000-byte layer does not fit the 9450 left, the
  // next two (10 080 no, 840 yes) are tried in order.
  const TechTable t = TechTable::load(kTech, "22nm");
  DigitalSpec d;
  d.weight_storage = "fixed";
  d.weight_storage_bytes = 12000;
  std::vector<bool> resident;
  for (const LayerCost& l : evaluate_digital(zoo_network("lenet5"), t, d).layers)
    if (l.kind == "conv2d" || l.kind == "linear") resident.push_back(l.weights_resident);
  EXPECT_EQ(resident, (std::vector<bool>{true, true, false, false, true}));
}

TEST(DigitalCost, PimCostsDoNotDependOnTheBatch) {
  // PIM weights are programmed once and stay in the arrays: no per-batch cost to amortise,
  // so energy and throughput per inference are the same at any batch; the digital side's
  // streamed weights are shared by the batch.
  const TechTable t = TechTable::load(kTech, "22nm");
  const Network net = zoo_network("lenet5");
  const Mapping m(matrix_layers(net), small_spec());
  PimSystemSpec sys;
  const CostReport one = evaluate_pim(net, m, shape_actions(net, m, 8), t, sys);
  sys.batch = 16;
  const CostReport many = evaluate_pim(net, m, shape_actions(net, m, 8), t, sys);
  EXPECT_DOUBLE_EQ(one.energy_total_J(), many.energy_total_J());
  EXPECT_DOUBLE_EQ(one.throughput_per_s, many.throughput_per_s);
  DigitalSpec d;
  d.weight_storage = "none";
  const double e1 = evaluate_digital(net, t, d).energy_total_J();
  d.batch = 16;
  EXPECT_LT(evaluate_digital(net, t, d).energy_total_J(), e1);
}

TEST(DigitalCost, RejectsUnknownDataflowAndStorage) {
  const TechTable t = TechTable::load(kTech, "22nm");
  DigitalSpec d;
  d.dataflow = "input_stationary";
  EXPECT_THROW(evaluate_digital(one_linear(4, 4), t, d), std::invalid_argument);
  d = DigitalSpec();
  d.weight_storage = "some";
  EXPECT_THROW(evaluate_digital(one_linear(4, 4), t, d), std::invalid_argument);
  d = DigitalSpec();
  d.weight_storage_bytes = -1;
  EXPECT_THROW(evaluate_digital(one_linear(4, 4), t, d), std::invalid_argument);
}

TEST(ZooCosts, EveryZooNetworkCostsFromShapes) {
  const TechTable t = TechTable::load(kTech, "22nm");
  TileSpec s = small_spec();
  for (const std::string& name : zoo_names()) {
    const Network net = zoo_network(name);
    const Mapping m(matrix_layers(net), s);
    const CostReport r = evaluate_pim(net, m, shape_actions(net, m, 8), t, PimSystemSpec());
    const CostReport d = evaluate_digital(net, t, DigitalSpec());
    EXPECT_EQ(r.macs, net.total_macs()) << name;
    EXPECT_EQ(d.macs, net.total_macs()) << name;
    EXPECT_GT(r.energy_total_J(), 0) << name;
    EXPECT_GT(d.tops_per_w(), 0) << name;
    EXPECT_LE(d.utilization, 1.0) << name;
  }
}

}  // namespace
}  // namespace mho
