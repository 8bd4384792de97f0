// Pipeline tests: each latency component of a layer by hand, the balancing rule against a
// brute-force search, automatic and given duplication end to end, and NeuroSim V1.4's VGG-8
// design (its copies 16, 16, 4, 4, 2, 1, 1, 8) costed by mho.
#include <gtest/gtest.h>

#include <cmath>
#include <functional>
#include <iostream>
#include <limits>
#include <random>

#include "devices/presets.h"
#include "evaluator/pim_cost.h"
#include "evaluator/pipeline.h"
#include "nets/pim_network.h"
#include "tests/evaluator/cost_fixtures.h"

namespace mho {
namespace {

using test::kTech;
using test::part;
using test::small_spec;

Layer layer(LayerKind kind, const std::string& name, int input) {
  Layer l;
  l.kind = kind;
  l.name = name;
  l.inputs = {input};
  return l;
}

Layer linear(const std::string& name, int input, int in, int out) {
  Layer l = layer(LayerKind::kLinear, name, input);
  l.in_ch = in;
  l.out_ch = out;
  return l;
}

Layer conv3x3(const std::string& name, int input, int in, int out) {
  Layer l = layer(LayerKind::kConv2d, name, input);
  l.in_ch = in;
  l.out_ch = out;
  l.kh = l.kw = 3;
  l.pad_h = l.pad_w = 1;
  return l;
}

TEST(Pipeline, EachLatencyComponentByHand) {
  const TechTable t = TechTable::load(kTech, "22nm");
  const Network net("fc", {100, 1, 1}, {linear("fc", -1, 100, 10)});
  const Mapping m(matrix_layers(net), small_spec());
  PimSystemSpec sys;
  sys.clock_hz = 0.5e9;  // 2 ns
  sys.buffer_line_bits = 8;
  sys.buffer_lines_per_clock = 2;
  sys.bus_width_bits = 32;
  const CostReport r = evaluate_pim(net, m, shape_actions(net, m, 8), t, sys);
  const auto& lat = r.layers[0].latency_by_component_s;
  // 4 passes (4 input bits, one vector): each a 10 ns read and 4 conversions of 7 ns (20
  // converted columns, 4 per ADC).
  EXPECT_NEAR(part(lat, "sensing"), 4 * 10e-9, 1e-18);
  EXPECT_NEAR(part(lat, "adc"), 4 * 4 * 7e-9, 1e-18);
  // 10 bias adds on 64 lanes at 2 ns.
  EXPECT_NEAR(part(lat, "digital"), 10.0 / 64 * 2e-9, 1e-21);
  // 800 bits read (100 8-bit inputs) and 80 written, 16 bits per clock: 50 + 5 clocks.
  EXPECT_NEAR(part(lat, "buffer"), 55 * 2e-9, 1e-18);
  // 880 bits over a 32-bit bus: ceil(27.5) = 28 clocks.
  EXPECT_NEAR(part(lat, "interconnect"), 28 * 2e-9, 1e-18);
  EXPECT_NEAR(r.layers[0].latency_s, 4 * (10e-9 + 4 * 7e-9) + 55 * 2e-9 + 28 * 2e-9, 1e-18);
  EXPECT_EQ(r.layers[0].replication, 1);
  // The digital work sets the layer's compute time when it is slower than the arrays:
  // 1 lane at 0.5 MHz, 10 adds = 20 us.
  PimSystemSpec slow = sys;
  slow.digital_lanes = 1;
  slow.clock_hz = 0.5e6;
  const CostReport s = evaluate_pim(net, m, shape_actions(net, m, 8), t, slow);
  EXPECT_NEAR(s.layers[0].latency_s, 10 * 2e-6 + 55 * 2e-6 + 28 * 2e-6, 1e-15);
}

TEST(Pipeline, CopiesDivideTheArrayTimeNotTheTransfers) {
  const TechTable t = TechTable::load(kTech, "22nm");
  const Network net("fc", {100, 1, 1}, {linear("fc", -1, 100, 10)});
  const Mapping m1(matrix_layers(net), small_spec()), m4(matrix_layers(net), small_spec(), {{0, 4}});
  const CostReport r1 = evaluate_pim(net, m1, shape_actions(net, m1, 8), t, PimSystemSpec());
  const CostReport r4 = evaluate_pim(net, m4, shape_actions(net, m4, 8), t, PimSystemSpec());
  for (const char* k : {"sensing", "adc"})
    EXPECT_NEAR(part(r4.layers[0].latency_by_component_s, k), part(r1.layers[0].latency_by_component_s, k) / 4, 1e-18);
  for (const char* k : {"digital", "buffer", "interconnect"})
    EXPECT_DOUBLE_EQ(part(r4.layers[0].latency_by_component_s, k), part(r1.layers[0].latency_by_component_s, k));
  EXPECT_EQ(r4.layers[0].replication, 4);
}

TEST(Pipeline, TileBufferLatencyByHand) {
  const TechTable t = TechTable::load(kTech, "22nm");
  // fc 300 -> 40 on 128 x 64 arrays of 4-bit weights on 2-bit cells: 3 row blocks (128, 128,
  // 44 rows) and max_outputs() outputs per array.
  const Network net("fc", {300, 1, 1}, {linear("fc", -1, 300, 40)});
  const TileSpec spec = small_spec();
  const Mapping m(matrix_layers(net), spec), m4(matrix_layers(net), spec, {{0, 4}});
  const int per_array = spec.max_outputs();
  ASSERT_EQ(m.layers()[0].row_blocks, 3);
  ASSERT_EQ(m.layers()[0].col_blocks, (40 + per_array - 1) / per_array);
  ASSERT_LT(per_array, 40);  // the tile of one array column below holds part of the outputs
  const std::vector<LayerActions> acts = shape_actions(net, m, 8);
  const int sa = acts[0].shift_add_bits;
  PimSystemSpec sys;
  sys.clock_hz = 0.5e9;  // 2 ns
  sys.buffer_levels = 2;
  sys.tile_row_arrays = 2;
  sys.tile_col_arrays = 1;
  sys.tile_buffer_line_bits = 8;
  sys.tile_input_lines_per_clock = 2;
  sys.tile_output_lines_per_clock = 1;
  // The busiest tile: 2 of the 3 row blocks (256 of 300 rows), one array column of outputs.
  // In: 256 rows x 8 bits = 2048 bits over 16 bits per clock = 128 clocks. Out: per_array
  // outputs at sa + 1 bits (two row blocks summed) over 8 bits per clock.
  const TileTraffic tt = tile_buffer_traffic(acts[0], m.layers()[0], spec, sys, tile_shape(sys));
  EXPECT_DOUBLE_EQ(tt.in_bits, 2048.0);
  EXPECT_DOUBLE_EQ(tt.out_bits, double(per_array) * (sa + 1));
  const double clocks = 128 + std::ceil(per_array * (sa + 1) / 8.0);
  const CostReport r = evaluate_pim(net, m, acts, t, sys);
  EXPECT_NEAR(part(r.layers[0].latency_by_component_s, "tile_buffer"), clocks * 2e-9, 1e-18);
  // Copies sit in the same tile and share its buffers.
  const CostReport r4 = evaluate_pim(net, m4, shape_actions(net, m4, 8), t, sys);
  EXPECT_DOUBLE_EQ(part(r4.layers[0].latency_by_component_s, "tile_buffer"),
                   part(r.layers[0].latency_by_component_s, "tile_buffer"));
  // A tile holding the whole matrix: every row and output, at the partial-sum width of 3 row
  // blocks (sa + 2); 2400 bits over 16 = 150 clocks.
  sys.tile_row_arrays = sys.tile_col_arrays = 8;
  const TileTraffic all = tile_buffer_traffic(acts[0], m.layers()[0], spec, sys, tile_shape(sys));
  EXPECT_DOUBLE_EQ(all.in_bits, 2400.0);
  EXPECT_DOUBLE_EQ(all.out_bits, 40.0 * (sa + 2));
  EXPECT_EQ(acts[0].partial_sum_bits, sa + 2);
  // A conv layer: 3x3 over 4 x 4 x 16 (padded): 16 vectors of 144 rows (2 row blocks), 8 outputs.
  const Network cn("conv", {16, 4, 4}, {conv3x3("c", -1, 16, 8)});
  const Mapping cm(matrix_layers(cn), spec);
  const std::vector<LayerActions> ca = shape_actions(cn, cm, 8);
  sys.tile_row_arrays = 1;
  const TileTraffic ct = tile_buffer_traffic(ca[0], cm.layers()[0], spec, sys, tile_shape(sys));
  EXPECT_DOUBLE_EQ(ct.in_bits, 16.0 * 128 * 8);
  EXPECT_DOUBLE_EQ(ct.out_bits, 16.0 * 8 * ca[0].shift_add_bits);
  // No tile level with one buffer level (the default): nothing, and the latency is unchanged.
  sys.buffer_levels = 1;
  const TileTraffic none = tile_buffer_traffic(acts[0], m.layers()[0], spec, sys, tile_shape(sys));
  EXPECT_EQ(none.in_bits + none.out_bits, 0.0);
  EXPECT_EQ(part(evaluate_pim(net, m, acts, t, sys).layers[0].latency_by_component_s, "tile_buffer"), 0.0);
}

// Brute force: every copies vector with area <= budget; the least cycle, then the least area.
std::vector<int> brute_force(const std::vector<double>& area, double fixed, double budget, double floor_s,
                             const std::vector<int>& max_copies,
                             const std::function<double(std::size_t, int)>& latency_of) {
  const std::size_t n = area.size();
  std::vector<int> c(n, 1), best;
  double best_cycle = std::numeric_limits<double>::infinity(), best_area = 0;
  std::function<void(std::size_t, double)> walk = [&](std::size_t i, double used) {
    if (i == n) {
      double cycle = floor_s;
      for (std::size_t j = 0; j < n; ++j) cycle = std::max(cycle, latency_of(j, c[j]));
      if (cycle < best_cycle || (cycle == best_cycle && used < best_area)) {
        best_cycle = cycle;
        best_area = used;
        best = c;
      }
      return;
    }
    for (c[i] = 1; c[i] <= max_copies[i] && used + c[i] * area[i] <= budget; ++c[i]) walk(i + 1, used + c[i] * area[i]);
    c[i] = 1;
  };
  walk(0, fixed);
  return best;
}

TEST(Pipeline, BalancingByHand) {
  // Layers of 800 / c, 200 / c and 100 / c + 10 (a part copies do not shorten), one area unit
  // a copy, 10 units: the cycle 800 / 7 = 114.3 with copies 7, 2, 1 (a cycle of 110 needs
  // 8 + 2 + 1 = 11 units).
  const std::vector<double> A = {800, 200, 100}, F = {0, 0, 10};
  auto lat = [&](std::size_t i, int c) { return A[i] / c + F[i]; };
  const std::vector<int> cap = {1000, 1000, 1000};
  EXPECT_EQ(balance_copies({1, 1, 1}, 0, 10, 0, cap, lat), (std::vector<int>{7, 2, 1}));
  // 11 units: cycle 110 (copies 8, 2, 1); 20 units: layer 2 can never go below 10 + 100/c,
  // the copies stop where another copy would not fit or help.
  EXPECT_EQ(balance_copies({1, 1, 1}, 0, 11, 0, cap, lat), (std::vector<int>{8, 2, 1}));
  // A layer that cannot be duplicated at 150: nothing is bought below it (800 / 6 = 133).
  EXPECT_EQ(balance_copies({1, 1, 1}, 0, 100, 150, cap, lat), (std::vector<int>{6, 2, 1}));
  // Copies capped at the passes: layer 0 stops at 4 (200), then layer 1 at 200 is not slower.
  EXPECT_EQ(balance_copies({1, 1, 1}, 0, 100, 0, {4, 1000, 1000}, lat), (std::vector<int>{4, 1, 1}));
  // A budget below one copy each is refused, naming the field.
  try {
    balance_copies({1, 1, 1}, 0.5, 3, 0, cap, lat);
    FAIL();
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("area_budget_mm2"), std::string::npos) << e.what();
  }
}

TEST(Pipeline, BalancingMatchesBruteForce) {
  std::mt19937 rng(12);
  std::uniform_real_distribution<double> u(0.0, 1.0);
  for (int trial = 0; trial < 200; ++trial) {
    const std::size_t n = 1 + trial % 3;
    std::vector<double> area(n), A(n), F(n);
    std::vector<int> cap(n);
    for (std::size_t i = 0; i < n; ++i) {
      area[i] = 0.5 + u(rng);
      A[i] = 100 * u(rng);
      F[i] = 10 * u(rng) * u(rng);
      cap[i] = 1 + int(12 * u(rng));
    }
    const double fixed = 2 * u(rng), budget = fixed + (n + 10 * u(rng)) * 1.5, floor_s = 20 * u(rng) * u(rng);
    auto lat = [&](std::size_t i, int c) { return A[i] / c + F[i]; };
    double one = fixed;
    for (double a : area) one += a;
    if (one > budget) continue;
    const std::vector<int> got = balance_copies(area, fixed, budget, floor_s, cap, lat);
    const std::vector<int> want = brute_force(area, fixed, budget, floor_s, cap, lat);
    double cg = floor_s, cw = floor_s, ag = 0, aw = 0;
    for (std::size_t i = 0; i < n; ++i) {
      cg = std::max(cg, lat(i, got[i]));
      cw = std::max(cw, lat(i, want[i]));
      ag += got[i] * area[i];
      aw += want[i] * area[i];
    }
    EXPECT_DOUBLE_EQ(cg, cw) << "trial " << trial;
    EXPECT_NEAR(ag, aw, 1e-9) << "trial " << trial;
  }
}

// Two layers on the small tile: an 8x8 conv (64 positions x 4 planes = 256 passes of one
// array) and a linear layer (4 passes).
Network two_layers() {
  return Network("two", {4, 8, 8}, {conv3x3("conv", -1, 4, 8), layer(LayerKind::kFlatten, "flat", 0),
                                    linear("fc", 1, 512, 10)});
}

TEST(Pipeline, AutoReplicationIsTheBestWithinTheBudget) {
  const TechTable t = TechTable::load(kTech, "22nm");
  const Network net = two_layers();
  const TileSpec s = small_spec();
  PimSystemSpec sys;
  const Mapping one(matrix_layers(net), s);
  const CostReport r1 = evaluate_pim(net, one, shape_actions(net, one, 8), t, sys);
  // Brute force over the evaluator itself: every (conv, fc) copies whose chip fits.
  const double budget_m2 = r1.area_total_m2() * 3;
  double best_cycle = 1e9, best_area = 0;
  std::pair<int, int> best;
  for (int a = 1; a <= 40; ++a)
    for (int b = 1; b <= 4; ++b) {
      const Mapping m(matrix_layers(net), s, {{0, a}, {2, b}});
      const CostReport r = evaluate_pim(net, m, shape_actions(net, m, 8), t, sys);
      if (r.area_total_m2() > budget_m2) continue;
      double cycle = 0;
      for (const LayerCost& lc : r.layers) cycle = std::max(cycle, lc.latency_s);
      if (cycle < best_cycle - 1e-15 || (std::abs(cycle - best_cycle) <= 1e-15 && r.area_total_m2() < best_area)) {
        best_cycle = cycle;
        best_area = r.area_total_m2();
        best = {a, b};
      }
    }
  sys.replication = "auto";
  sys.area_budget_mm2 = budget_m2 * 1e6;
  const std::map<int, int> copies = system_replication(net, s, t, sys);
  EXPECT_EQ(copies.at(0), best.first);
  EXPECT_EQ(copies.at(2), best.second);
  EXPECT_GT(best.first, 1);
  // The report of that mapping shows the copies and fits the budget.
  const Mapping m(matrix_layers(net), s, copies);
  const CostReport r = evaluate_pim(net, m, shape_actions(net, m, 8), t, sys);
  EXPECT_EQ(r.layers[0].replication, best.first);
  EXPECT_EQ(r.layers[1].replication, 0);  // flatten: not on tiles
  EXPECT_LE(r.area_total_m2(), budget_m2 * (1 + 1e-12));
  // The user's own copies, one per conv/linear layer.
  PimSystemSpec given;
  given.layer_replication = {5, 2};
  EXPECT_EQ(system_replication(net, s, t, given), (std::map<int, int>{{0, 5}, {2, 2}}));
  given.layer_replication = {5};
  EXPECT_THROW(system_replication(net, s, t, given), std::invalid_argument);
  PimSystemSpec bad;
  bad.replication = "auto";  // no budget
  EXPECT_THROW(system_replication(net, s, t, bad), std::invalid_argument);
  bad.area_budget_mm2 = r1.area_total_m2() * 1e6 * 0.5;  // below the chip without copies
  EXPECT_THROW(system_replication(net, s, t, bad), std::invalid_argument);
  bad.replication = "sometimes";
  EXPECT_THROW(bad.validate(), std::invalid_argument);
}

// NeuroSim V1.4's VGG-8 (NetWork_VGG8.csv; data/neurosim_v14_vgg8.yaml): six 3x3 convolutions
// with padding 1 (max pool after 2, 4, 6) and two linear layers, on 32x32x3 inputs.
Network vgg8() {
  std::vector<Layer> ls;
  int x = -1;
  auto push = [&](Layer l) {
    ls.push_back(l);
    return x = int(ls.size()) - 1;
  };
  const int convs[6][2] = {{3, 128}, {128, 128}, {128, 256}, {256, 256}, {256, 512}, {512, 512}};
  for (int i = 0; i < 6; ++i) {
    push(conv3x3("conv" + std::to_string(i + 1), x, convs[i][0], convs[i][1]));
    push(layer(LayerKind::kReLU, "relu" + std::to_string(i + 1), x));
    if (i % 2 == 1) {
      Layer p = layer(LayerKind::kMaxPool, "pool" + std::to_string(i / 2 + 1), x);
      p.kh = p.kw = p.stride_h = p.stride_w = 2;
      push(p);
    }
  }
  push(layer(LayerKind::kFlatten, "flatten", x));
  push(linear("fc1", x, 8192, 1024));
  push(layer(LayerKind::kReLU, "relu7", x));
  push(linear("fc2", x, 1024, 10));
  return Network("vgg8", {3, 32, 32}, ls);
}

// NeuroSim's design as mho describes it: 128x128 RRAM subarrays, 8-bit weights on 8 one-bit
// columns, 8 bit-serial input bits, 5-bit sense-amp ADCs shared by 8 columns, its clock
// (1.66336 ns, set by its slowest sensing path in that run) and its copies.

TEST(Pipeline, NeuroSimVgg8AdcLatencyPerLayer) {
  const TechTable t = TechTable::load(kTech, "22nm");
  const Network net = vgg8();
  PimSystemSpec sys;
  sys.adc_type = "sense_amp";
  sys.clock_hz = 1.0 / 1.66336e-9;
  sys.synchronous = true;
  sys.layer_replication = {16, 16, 4, 4, 2, 1, 1, 8};
  const TileSpec s = test::neurosim_tile();
  const Mapping m(matrix_layers(net), s, system_replication(net, s, t, sys));
  const CostReport r = evaluate_pim(net, m, shape_actions(net, m, 8), t, sys);
  // NeuroSim's ADC latency per layer (data/neurosim_v14_vgg8.yaml, layers[].adc_latency_ns):
  // positions x 8 input bits / copies x 8 columns per ADC, one clock each. NeuroSim simulates
  // the unpadded positions (900, 196, 36 of 1024, 256, 64), mho all of them.
  const double neurosim_ns[8] = {5988.11, 5988.11, 5216.31, 5216.31, 1916.2, 3832.39, 106.455, 13.3069};
  const double padded_over_simulated[8] = {1024.0 / 900, 1024.0 / 900, 256.0 / 196, 256.0 / 196,
                                           64.0 / 36, 64.0 / 36, 1, 1};
  const int copies[8] = {16, 16, 4, 4, 2, 1, 1, 8};
  int k = 0;
  double cycle = 0;
  std::string slowest;
  for (const LayerCost& lc : r.layers) {
    if (lc.latency_s > cycle) cycle = lc.latency_s, slowest = lc.name;
    if (lc.arrays == 0) continue;
    ASSERT_LT(k, 8);
    EXPECT_EQ(lc.replication, copies[k]) << lc.name;
    EXPECT_NEAR(part(lc.latency_by_component_s, "adc") * 1e9, neurosim_ns[k] * padded_over_simulated[k],
                1e-4 * neurosim_ns[k] * padded_over_simulated[k]) << lc.name;
    ++k;
  }
  EXPECT_EQ(k, 8);
  // mho's pipeline cycle for NeuroSim's design (NeuroSim: 130.31 us, conv1, 102.84 us of it
  // buffer latency from its tile-level register files); recorded for the comparison.
  RecordProperty("mho_pipeline_cycle_us", std::to_string(cycle * 1e6));
  RecordProperty("mho_slowest_layer", slowest);
  std::cout << "NeuroSim VGG-8 design on mho: pipeline cycle " << cycle * 1e6 << " us (" << slowest << ")\n";
  for (const LayerCost& lc : r.layers) {
    std::cout << "  " << lc.name << " x" << lc.replication << " " << lc.latency_s * 1e6 << " us:";
    for (const auto& kv : lc.latency_by_component_s) std::cout << " " << kv.first << " " << kv.second * 1e6;
    std::cout << "\n";
  }
  std::cout << "  area " << r.area_total_m2() * 1e6 << " mm2\n";
  // mho's own rule within the same area: no slower than NeuroSim's copies (its optimum).
  PimSystemSpec autosys = sys;
  autosys.layer_replication.clear();
  autosys.replication = "auto";
  autosys.area_budget_mm2 = r.area_total_m2() * 1e6;
  const std::map<int, int> copies_auto = system_replication(net, s, t, autosys);
  const Mapping ma(matrix_layers(net), s, copies_auto);
  const CostReport ra = evaluate_pim(net, ma, shape_actions(net, ma, 8), t, autosys);
  double cycle_auto = 0;
  for (const LayerCost& lc : ra.layers) cycle_auto = std::max(cycle_auto, lc.latency_s);
  EXPECT_LE(cycle_auto, cycle * (1 + 1e-12));
  EXPECT_LE(ra.area_total_m2(), r.area_total_m2() * (1 + 1e-12));
  std::cout << "  mho's rule in the same area: copies";
  for (const auto& kv : copies_auto) std::cout << " " << kv.second;
  std::cout << ", cycle " << cycle_auto * 1e6 << " us, area " << ra.area_total_m2() * 1e6 << " mm2\n";
}

}  // namespace
}  // namespace mho
