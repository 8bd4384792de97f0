// Selectable periphery components (evaluator/periphery.h) against hand computations from the
// tech table's figures: defaults select none, the register file, X-Y bus, switch matrix, column
// mux, adder+register, layout box and tile H-trees each by hand on small arrays, and NeuroSim's
// multilevel sense-amplifier formula against NeuroSim's own probe figures.
#include <gtest/gtest.h>

#include <cmath>

#include "evaluator/periphery.h"
#include "evaluator/pim_cost.h"
#include "nets/pim_network.h"
#include "tests/evaluator/cost_fixtures.h"

namespace mho {
namespace {

using test::kTech;
using test::part;

// The NeuroSim subarray with the default cell and analog subtraction: the hand-computed figures
// below are for those.
TileSpec spec128() {
  TileSpec s = test::neurosim_tile();
  s.cell = TileSpec().cell;
  s.subtract = "analog";
  return s;
}

Network linear(int in, int out) { return test::linear_network(in, out, std::vector<float>(std::size_t(in) * out, 0.1f)); }

struct Fixture {
  TechTable tech = TechTable::load(kTech, "22nm");
  TileSpec spec = spec128();
  Network net = linear(128, 15);  // one array: 128 rows, 15 weights x 8 slices + 8 references
  Mapping mapping = Mapping(matrix_layers(net), spec);
  std::vector<LayerActions> acts = shape_actions(net, mapping, 8);
  double fig(const std::string& k) const { return tech.periphery.at(k); }
};

TEST(Periphery, DefaultsSelectNothing) {
  Fixture f;
  const CostReport r = evaluate_pim(f.net, f.mapping, f.acts, f.tech, PimSystemSpec());
  EXPECT_EQ(part(r.area_m2, "column_mux"), 0.0);
  EXPECT_EQ(part(r.area_m2, "level_shifters"), 0.0);
  EXPECT_EQ(part(r.area_m2, "layout_white_space"), 0.0);
  EXPECT_EQ(part(r.area_m2, "interconnect"), 0.0);
  EXPECT_EQ(part(r.energy_J, "column_mux"), 0.0);
  EXPECT_DOUBLE_EQ(part(r.area_m2, "dacs"), 128 * f.tech.dac_cost(1).area_m2);
}

TEST(Periphery, RegisterFileLevelsByHand) {
  Fixture f;
  PimSystemSpec sys;
  sys.buffer_type = "register_file";
  sys.buffer_levels = 3;
  const CostReport r = evaluate_pim(f.net, f.mapping, f.acts, f.tech, sys);
  // 128 inputs of 8 bits read (through 3 levels), 15 outputs of 8 bits written into the global one.
  const double want = 15 * 8 * f.fig("rf_write_global_per_bit_fJ") +
                      128 * 8 * (3 * f.fig("rf_read_per_bit_fJ") + 2 * f.fig("rf_write_local_per_bit_fJ"));
  EXPECT_NEAR(part(r.energy_J, "buffers"), want, 1e-6 * want);
}

TEST(Periphery, SwitchMatrixMuxAndWordLinePassesByHand) {
  Fixture f;
  PimSystemSpec sys;
  sys.row_driver = "switch_matrix";
  sys.column_mux = "transmission_gate";
  sys.input_activity = 0.25;
  const CostReport r = evaluate_pim(f.net, f.mapping, f.acts, f.tech, sys);
  // 8 planes x 128 rows; each driven row re-driven for each of the 8 mux passes.
  const double rows = 8 * 128.0;
  EXPECT_NEAR(part(r.energy_J, "dacs"),
              rows * (f.fig("wl_switch_matrix_per_row_fJ") + 0.25 * 8 * f.fig("wl_switch_matrix_per_driven_row_pass_fJ")),
              1e-20);
  // 120 converted columns (15 x 8 slices) x 8 planes on 15 ADCs: 8 mux passes per plane.
  const double conv = 120 * 8.0;
  EXPECT_NEAR(part(r.energy_J, "column_mux"),
              conv * f.fig("column_mux_per_conversion_fJ") + 64 * f.fig("mux_decoder_per_pass_fJ"), 1e-21);
  const CostReport plain = evaluate_pim(f.net, f.mapping, f.acts, f.tech, [] {
    PimSystemSpec s;
    s.input_activity = 0.25;
    return s;
  }());
  // Word lines: 8 passes instead of 1 (the bit lines unchanged).
  const double wl = f.tech.array_wire_F_per_m * 128 * std::sqrt(48.0) * 22e-9 * 0.8 * 0.8 * rows * 0.25;
  EXPECT_NEAR(part(r.energy_J, "wires") - part(plain.energy_J, "wires"), 7 * wl, 1e-6 * wl);
  EXPECT_NEAR(part(r.area_m2, "dacs"),
              128 * f.fig("wl_switch_matrix_area_per_row_um2") + 128 * f.fig("sl_switch_matrix_area_per_col_um2"), 1e-18);
}

TEST(Periphery, AdderRegisterAtRealWidths) {
  Fixture f;
  PimSystemSpec sys;
  sys.accumulation = "adder_register";
  const CostReport r = evaluate_pim(f.net, f.mapping, f.acts, f.tech, sys);
  // Per output: 8 planes x 7 slice adds at 5 + 1 x 8 / 2 = 9 bits, 7 input adds at 19 bits.
  const double per_bit = f.fig("adder_per_bit_fJ") + f.fig("dff_per_bit_fJ");
  const double want = 15 * (56 * 9 + 7 * 19) * per_bit;
  EXPECT_NEAR(part(r.energy_J, "shift_add"), want, 1e-6 * want);
}

TEST(Periphery, LayoutBoxByHand) {
  Fixture f;
  PimSystemSpec sys;
  sys.area_model = "layout_box";
  sys.cell_aspect = 3.0;
  sys.write_voltage_V = 2.0;
  const CostReport r = evaluate_pim(f.net, f.mapping, f.acts, f.tech, sys);
  const double cell = 48 * 22e-9 * 22e-9, w = std::sqrt(cell * 3), h = std::sqrt(cell / 3);
  const double H = 128 * h, W = 128 * w, ls = f.fig("level_shifter_area_per_line_um2");
  const double below = part(r.area_m2, "adcs") + part(r.area_m2, "shift_add") + 128 * ls;
  const double beside = part(r.area_m2, "dacs") + 256 * ls;
  EXPECT_NEAR(part(r.area_m2, "level_shifters"), 384 * ls, 1e-18);
  const double box = (H + below / W) * (W + beside / H);
  EXPECT_NEAR(part(r.area_m2, "layout_white_space"), box - H * W - below - beside, 1e-6 * box);
}

TEST(Periphery, XyBusToggleRates) {
  Fixture f;
  PimSystemSpec sys;
  sys.interconnect = "xy_bus";
  sys.input_toggle = 0.2;
  sys.output_toggle = 0.6;
  const CostReport r = evaluate_pim(f.net, f.mapping, f.acts, f.tech, sys);
  // The repeaters: delay-optimal (tolerance 0), sized from the table's minimum inverter.
  const RepeaterDevice dev{f.fig("repeater_unit_on_resistance_ohm"), f.fig("repeater_unit_input_cap_fF"),
                           f.fig("repeater_unit_output_cap_fF"), f.fig("repeater_unit_area_um2")};
  const RepeatedWire w = repeated_wire(dev, f.fig("bus_wire_res_ohm_per_um"), f.fig("bus_wire_cap_fF_per_um"), 0.0);
  const double e_bit_m = 0.5 * f.fig("bus_wire_cap_fF_per_um") * (1 + w.cap_ratio) * 0.8 * 0.8;
  double area = 0;
  for (const auto& kv : r.area_m2)
    if (kv.first != "interconnect") area += kv.second;
  // Each wire at its pitch plus one repeater per spacing.
  const double footprint_m = f.fig("bus_wire_pitch_um") + w.size * f.fig("repeater_unit_area_um2") / w.spacing_m;
  EXPECT_NEAR(part(r.area_m2, "interconnect"), 2048 * footprint_m * 2 * std::sqrt(area), 1e-18);
  const double want = (128 * 8 * 0.2 + 15 * 8 * 0.6) * e_bit_m * 0.5 * std::sqrt(r.area_total_m2());
  EXPECT_NEAR(part(r.energy_J, "interconnect"), want, 1e-6 * want);
}

TEST(Periphery, MultilevelSenseAmpMatchesNeuroSimProbe) {
  // docs/neurosim_v14_vgg8.md: 0.952 ns; 64.0 / 71.1 / 74.7 fJ at 38.9 / 9.0 / 3.6 kOhm.
  const TechTable tech = TechTable::load(kTech, "22nm");
  const double t = msa_conversion_time_s(100e3, 128, 31);
  EXPECT_NEAR(t, 0.952e-9, 0.001e-9);
  const double pref = msa_reference_power_W(100e3, 128, 31, 32);
  const double esw = 31 * tech.periphery.at("msa_switching_per_level_fJ");
  const double r_ohm[] = {38.9e3, 9.0e3, 3.6e3}, e_fJ[] = {64.0, 71.1, 74.7};
  for (int i = 0; i < 3; ++i) EXPECT_NEAR((esw + (msa_column_power_W(r_ohm[i], 31) + pref) * t) * 1e15, e_fJ[i], 0.5);
}

// 512 x 30 on 128 x 128 arrays: 4 row blocks x 2 column blocks = 8 arrays of the default parts,
// the chip's tiles 2 x 2 arrays; the repeated wire's footprint and energy per bit and metre by
// hand from the 22 nm figures (delay-optimal repeaters, 0.8 V).
struct HtreeCase {
  TechTable tech = TechTable::load(kTech, "22nm");
  TileSpec spec = spec128();
  Network net = linear(512, 30);
  Mapping m{matrix_layers(net), spec};
  std::vector<LayerActions> acts = shape_actions(net, m, 8);
  PimSystemSpec none, sys;
  double footprint = 0, e_bit_m = 0, a = 0;  // a: one array with its periphery
  RepeatedWire w;
  CostReport r0;
  HtreeCase() {
    auto fig = [&](const char* k) { return tech.periphery.at(k); };
    const RepeaterDevice dev{fig("repeater_unit_on_resistance_ohm"), fig("repeater_unit_input_cap_fF"),
                             fig("repeater_unit_output_cap_fF"), fig("repeater_unit_area_um2")};
    w = repeated_wire(dev, fig("bus_wire_res_ohm_per_um"), fig("bus_wire_cap_fF_per_um"), 0.0);
    footprint = fig("bus_wire_pitch_um") + w.size * fig("repeater_unit_area_um2") / w.spacing_m;
    e_bit_m = 0.5 * fig("bus_wire_cap_fF_per_um") * (1 + w.cap_ratio) * 0.8 * 0.8;
    none.tile_row_arrays = 2;
    none.tile_col_arrays = 2;
    sys = none;
    sys.tile_interconnect = "htree";
    r0 = evaluate_pim(net, m, acts, tech, none);
    for (const auto& kv : r0.layers[0].area_by_component_m2) a += kv.second;
    a /= 8;
  }
  double fig(const char* k) const { return tech.periphery.at(k); }
  CostReport eval(const PimSystemSpec& s) const { return evaluate_pim(net, m, acts, tech, s); }
};

TEST(Periphery, TileHtreesByHand) {
  HtreeCase c;
  const TechTable& tech = c.tech;
  const Mapping& m = c.m;
  const Network& net = c.net;
  const std::vector<LayerActions>& acts = c.acts;
  ASSERT_EQ(m.layers()[0].arrays, 8);
  auto fig = [&](const char* k) { return c.fig(k); };
  const RepeatedWire& w = c.w;
  const double footprint = c.footprint, e_bit_m = c.e_bit_m, a = c.a;
  PimSystemSpec& sys = c.sys;
  const CostReport& r0 = c.r0;
  const CostReport r = evaluate_pim(net, m, acts, tech, sys);
  // Two full tiles of 2 x 2 arrays: a 2 x 2 H-tree over a square of 4 a, root to leaf one
  // array pitch sqrt(a); 2 x 128 wires from each root.
  const double d = std::sqrt(a);
  EXPECT_NEAR(part(r.layers[0].area_by_component_m2, "interconnect"), 2 * 256 * d * footprint, 1e-9 * a);
  EXPECT_NEAR(part(r.area_m2, "interconnect"), 2 * 256 * d * footprint, 1e-9 * a);  // no xy_bus
  // Energy: 512 x 8 input bits into the one tile column, 30 outputs out of each of the two
  // tile rows at shift-add + 1 bits (two row blocks summed in a tile), toggle rates 0.5.
  const int width = acts[0].shift_add_bits + 1;
  const double in = 512 * 8, out = 30 * 2 * width;
  const double tree_J = (0.5 * in + 0.5 * out) * e_bit_m * d;
  // The table's wire energy over half the chip side ("distance") stays; the side grew by the trees.
  const double dist_J = (in + 30 * 8) * tech.wire_J_per_bit_m * 0.5;
  EXPECT_NEAR(part(r.energy_J, "interconnect") - dist_J * std::sqrt(r.area_total_m2()),
              tree_J, 1e-9 * tree_J);
  // Latency: the busiest tile's 256 rows x 8 bits in and 30 outputs out over its 256 wires, at 1 ns.
  const double clocks = std::ceil((256.0 * 8 + 30 * width) / 256);
  EXPECT_NEAR(part(r.layers[0].latency_by_component_s, "interconnect") -
                  part(r0.layers[0].latency_by_component_s, "interconnect"), clocks * 1e-9, 1e-15);
  // Repeater leakage: s / h repeaters per metre of wire, s minimum inverters each.
  EXPECT_NEAR(r.leakage_W - r0.leakage_W, 2 * 256 * d * w.size / w.spacing_m * fig("repeater_unit_leakage_pW"), 1e-18);

  // Tiles of 3 x 1 arrays: two full ones (k = 1 over a square of 3 a: d = sqrt(3 a) / 2) and
  // one of the remaining 2 (d = sqrt(2 a) / 2), 3 x 128 / 3 = 128 wires per array.
  sys.tile_row_arrays = 3;
  sys.tile_col_arrays = 1;
  const CostReport r3 = evaluate_pim(net, m, acts, tech, sys);
  const double want = 128 * (6 * std::sqrt(3 * a) / 2 + 2 * std::sqrt(2 * a) / 2) * footprint;
  EXPECT_NEAR(part(r3.layers[0].area_by_component_m2, "interconnect"), want, 1e-9 * want);
}

TEST(Periphery, TileHtreesOnEachLayersTileDesign) {
  // The same 8 arrays (4 row blocks x 2 column blocks) on a tile design of their own, 4 x 2
  // arrays, while the chip's is 2 x 2: one full tile of 8 arrays, k = ceil(log2 ceil(sqrt 8))
  // = 2 levels over a square of 8 a, root to leaf d = sqrt(8 a) (1 - 1/4), 4 x 128 wires.
  HtreeCase c;
  PimSystemSpec& sys = c.sys;
  sys.layer_tile_row_arrays = {4};
  sys.layer_tile_col_arrays = {2};
  const CostReport r = c.eval(sys);
  const double a = c.a;
  const double d = std::sqrt(8 * a) * 0.75;
  EXPECT_NEAR(part(r.layers[0].area_by_component_m2, "interconnect"), 512 * d * c.footprint, 1e-9 * a);
  // Energy: 512 x 8 input bits into the one tile, 30 outputs out of it at shift-add + 2 bits
  // (four row blocks summed in the tile), toggle rates 0.5.
  const int width = c.acts[0].shift_add_bits + 2;
  const double in = 512 * 8, out = 30 * width;
  const double dist_J = (in + 30 * 8) * c.tech.wire_J_per_bit_m * 0.5 * std::sqrt(r.area_total_m2());
  const double tree_J = (0.5 * in + 0.5 * out) * c.e_bit_m * d;
  EXPECT_NEAR(part(r.energy_J, "interconnect") - dist_J, tree_J, 1e-9 * tree_J);
  // Latency: all 512 rows x 8 bits in and 30 outputs out over the tile's 512 wires, at 1 ns.
  const double clocks = std::ceil((512.0 * 8 + 30 * width) / 512);
  EXPECT_NEAR(part(r.layers[0].latency_by_component_s, "interconnect") -
                  part(c.r0.layers[0].latency_by_component_s, "interconnect"), clocks * 1e-9, 1e-15);
  // Only the rows list given: 3 x 2 tiles (one full of 6 arrays, 2 rest): per array 3 x 128 / 6 wires.
  sys.layer_tile_row_arrays = {3};
  sys.layer_tile_col_arrays.clear();
  const CostReport r3 = c.eval(sys);
  const double want = 64 * (6 * mho::tile_htree_path_m(6, a) + 2 * mho::tile_htree_path_m(2, a)) * c.footprint;
  EXPECT_NEAR(part(r3.layers[0].area_by_component_m2, "interconnect"), want, 1e-9 * want);
  EXPECT_NEAR(mho::tile_htree_path_m(6, a), std::sqrt(6 * a) * 0.75, 1e-12);  // 3 per side -> 4 leaves, k = 2
  // A list that is not one entry per conv/linear layer, or an entry out of range, names the field.
  sys.layer_tile_row_arrays = {3, 1};
  try {
    c.eval(sys);
    ADD_FAILURE() << "no throw";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("layer_tile_row_arrays"), std::string::npos) << e.what();
  }
  sys.layer_tile_row_arrays = {0};
  EXPECT_THROW(sys.validate(), std::invalid_argument);
  sys.layer_tile_row_arrays = {2, 2};
  sys.layer_tile_col_arrays = {2};
  EXPECT_THROW(sys.validate(), std::invalid_argument);
}

TEST(Periphery, TileHtreesOverTheArrays) {
  // Two full tiles of 2 x 2 arrays, k = 1: 256 wires of d = sqrt(a) each, 128 crossing the
  // busiest cut each way, a 2 sqrt(a) side. One layer over the tiles (M5, 160 nm) takes every
  // x wire when 2 sqrt(a) / 160 nm >= 128 tracks, so half the length keeps its own track; two
  // layers take both directions, and only the repeaters are left.
  HtreeCase c;
  PimSystemSpec& sys = c.sys;
  const double d = std::sqrt(c.a), per_m = c.w.size * c.fig("repeater_unit_area_um2") / c.w.spacing_m;
  ASSERT_GE(2 * d / 0.16e-6, 128.0);
  sys.tile_routing_layers = 1;
  EXPECT_NEAR(part(c.eval(sys).area_m2, "interconnect"), 2 * 256 * d * (per_m + 0.5 * c.fig("bus_wire_pitch_um")),
              1e-9 * c.a);
  sys.tile_routing_layers = 2;
  EXPECT_NEAR(part(c.eval(sys).area_m2, "interconnect"), 2 * 256 * d * per_m, 1e-9 * c.a);
  // More layers than the node's table gives: the figure is named.
  sys.tile_routing_layers = 5;
  try {
    c.eval(sys);
    ADD_FAILURE() << "no throw";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("over_array_layer5_pitch_um"), std::string::npos) << e.what();
  }
}

TEST(Periphery, BadChoicesNameTheField) {
  Fixture f;
  PimSystemSpec sys;
  sys.buffer_type = "dram";
  EXPECT_THROW(evaluate_pim(f.net, f.mapping, f.acts, f.tech, sys), std::invalid_argument);
  sys = PimSystemSpec();
  sys.cell_aspect = 0;
  EXPECT_THROW(sys.validate(), std::invalid_argument);
  sys = PimSystemSpec();
  sys.adc_type = "multilevel_sa";
  const TechTable t65 = TechTable::load(kTech, "65nm");
  EXPECT_THROW(evaluate_pim(f.net, f.mapping, f.acts, t65, sys), std::invalid_argument);
  sys = PimSystemSpec();
  sys.tile_interconnect = "mesh";
  EXPECT_THROW(sys.validate(), std::invalid_argument);
  sys = PimSystemSpec();
  sys.repeater_delay_tolerance = -0.1;
  EXPECT_THROW(sys.validate(), std::invalid_argument);
  sys = PimSystemSpec();
  sys.tile_bus_width_bits = -1;
  EXPECT_THROW(sys.validate(), std::invalid_argument);
  // The repeater figures are the 22 nm entry's only: another node names the missing figure.
  sys = PimSystemSpec();
  sys.tile_interconnect = "htree";
  try {
    evaluate_pim(f.net, f.mapping, f.acts, t65, sys);
    ADD_FAILURE() << "no error";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("tile_interconnect htree needs the figure"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace mho
