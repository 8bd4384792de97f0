#include "evaluator/pipeline.h"

#include <algorithm>
#include <cmath>
#include <queue>
#include <sstream>

#include "common/validate.h"
#include "evaluator/pim_cost.h"
#include "nets/pim_network.h"

namespace mho {

double LayerLatency::total_s() const {
  return std::max(sensing_s + adc_s, digital_s) + buffer_s + tile_buffer_s + interconnect_s;
}

int tile_partial_sum_bits(int shift_add_bits, int blocks_in_tile) {
  int width = shift_add_bits;
  for (int n = 1; n < blocks_in_tile; n *= 2) ++width;
  return width;
}

double tile_root_wires(const PimSystemSpec& sys, const TileSpec& spec, const TileShape& shape) {
  return sys.tile_bus_width_bits > 0 ? double(sys.tile_bus_width_bits) : double(shape.row_arrays) * spec.rows;
}

TileShape tile_shape(const PimSystemSpec& sys) { return {sys.tile_row_arrays, sys.tile_col_arrays}; }

std::vector<TileShape> layer_tile_shapes(const Network& net, const PimSystemSpec& sys) {
  std::vector<TileShape> out(net.layers().size(), tile_shape(sys));
  if (sys.layer_tile_row_arrays.empty() && sys.layer_tile_col_arrays.empty()) return out;
  const std::vector<MatrixLayer> matrices = matrix_layers(net);
  auto check = [&](const char* field, const std::vector<int>& v) {
    if (!v.empty() && v.size() != matrices.size())
      reject(field, to_text(v.size()) + " entries",
             "one per conv/linear layer of the network (" + to_text(matrices.size()) + "), in order, or none");
  };
  check("PimSystemSpec.layer_tile_row_arrays", sys.layer_tile_row_arrays);
  check("PimSystemSpec.layer_tile_col_arrays", sys.layer_tile_col_arrays);
  for (std::size_t i = 0; i < matrices.size(); ++i) {
    TileShape& t = out[std::size_t(matrices[i].layer)];
    if (!sys.layer_tile_row_arrays.empty()) t.row_arrays = sys.layer_tile_row_arrays[i];
    if (!sys.layer_tile_col_arrays.empty()) t.col_arrays = sys.layer_tile_col_arrays[i];
  }
  return out;
}

TileTraffic tile_buffer_traffic(const LayerActions& a, const LayerMapping& lm, const TileSpec& spec,
                                const PimSystemSpec& sys, const TileShape& shape) {
  TileTraffic t;
  const bool tree = sys.tile_interconnect == "htree";
  if (!a.on_tiles || (sys.buffer_levels < 2 && !tree)) return t;
  // The busiest tile is the first: whole arrays of rows and outputs (mapping/mapping.h fills
  // blocks in order, the last one partly).
  const int blocks_in_tile = std::min(lm.row_blocks, shape.row_arrays);
  const double rows_in_tile = std::min<double>(lm.matrix_rows, double(shape.row_arrays) * spec.rows);
  const double outputs_in_tile = std::min<double>(lm.matrix_cols, double(shape.col_arrays) * spec.max_outputs());
  // buffer_read_bits: every vector's im2col input at activation precision (evaluator/actions.h).
  t.in_bits = a.buffer_read_bits * rows_in_tile / lm.matrix_rows;
  t.out_bits = double(a.output_elements) * outputs_in_tile / lm.matrix_cols *
               tile_partial_sum_bits(a.shift_add_bits, blocks_in_tile);
  if (tree) {
    // The tree of the busiest tile: its arrays (every copy of the block: the copies share the
    // tile, as its buffers) of a full tile's, that share of the wires.
    const double full = shape.arrays();
    const double in_tile = std::min(full, double(blocks_in_tile) * std::min(lm.col_blocks, shape.col_arrays) * lm.replication);
    const double wires = tile_root_wires(sys, spec, shape);
    t.tree_bits = t.in_bits + t.out_bits;
    t.tree_wires = std::max(1.0, std::floor(wires * in_tile / full));
  }
  if (sys.buffer_levels < 2) t.in_bits = t.out_bits = 0;
  return t;
}

LatencyModel latency_model(const TileSpec& spec, const TechTable& tech, const PimSystemSpec& sys) {
  LatencyModel m;
  m.t_read_s = spec.cell.t_read_s;
  m.t_conversion_s = tech.adc_cost(table_adc_type(sys), spec.adc.bits).time_s;
  m.t_clock_s = 1.0 / (sys.clock_hz > 0 ? sys.clock_hz : tech.clock_hz);
  if (sys.synchronous) {
    // No clock faster than one conversion; reads and conversions take whole clocks (the
    // relative 1e-9 keeps an exact multiple from rounding up).
    m.t_clock_s = std::max(m.t_clock_s, m.t_conversion_s);
    auto whole = [&](double t) { return std::ceil(t / m.t_clock_s * (1 - 1e-9)) * m.t_clock_s; };
    m.t_read_s = whole(m.t_read_s);
    m.t_conversion_s = whole(m.t_conversion_s);
  }
  m.digital_lanes = sys.digital_lanes;
  m.buffer_line_bits = sys.buffer_line_bits;
  m.buffer_lines_per_clock = sys.buffer_lines_per_clock;
  m.bus_width_bits = sys.bus_width_bits;
  m.tile_input_bits_per_clock = double(sys.tile_buffer_line_bits) * sys.tile_input_lines_per_clock;
  m.tile_output_bits_per_clock = double(sys.tile_buffer_line_bits) * sys.tile_output_lines_per_clock;
  return m;
}

LayerLatency layer_latency(const LayerActions& a, const LatencyModel& m, double copies, const TileTraffic& tile) {
  LayerLatency t;
  if (a.on_tiles) {
    const double passes = a.sequential_passes / copies;
    t.sensing_s = passes * m.t_read_s;
    t.adc_s = passes * a.conversions_per_adc * m.t_conversion_s;
  }
  t.digital_s = (a.acc_adds + a.act_adds + a.act_mults) / m.digital_lanes * m.t_clock_s;
  const double per_clock = m.buffer_line_bits * m.buffer_lines_per_clock;
  t.buffer_s = (std::ceil(a.buffer_read_bits / per_clock) + std::ceil(a.buffer_write_bits / per_clock)) * m.t_clock_s;
  t.tile_buffer_s = (std::ceil(tile.in_bits / m.tile_input_bits_per_clock) +
                     std::ceil(tile.out_bits / m.tile_output_bits_per_clock)) * m.t_clock_s;
  t.interconnect_s = std::ceil((a.buffer_read_bits + a.buffer_write_bits) / m.bus_width_bits) * m.t_clock_s;
  if (tile.tree_wires > 0) t.interconnect_s += std::ceil(tile.tree_bits / tile.tree_wires) * m.t_clock_s;
  return t;
}

std::vector<int> balance_copies(const std::vector<double>& area_per_copy, double fixed_area, double budget,
                                double floor_s, const std::vector<int>& max_copies,
                                const std::function<double(std::size_t, int)>& latency_of) {
  const std::size_t n = area_per_copy.size();
  std::vector<int> copies(n, 1);
  double area = fixed_area;
  for (double a : area_per_copy) area += a;
  if (area > budget) {
    std::ostringstream s;
    s << budget * 1e6;
    reject("PimSystemSpec.area_budget_mm2", s.str(),
           "below the chip without duplication (" + to_text(area * 1e6) + " mm2); give a larger budget");
  }
  // The slowest layer first; its next copy is bought while the area allows and it helps.
  std::priority_queue<std::pair<double, std::size_t>> slowest;
  for (std::size_t i = 0; i < n; ++i) slowest.push({latency_of(i, 1), i});
  while (!slowest.empty()) {
    const auto [t, i] = slowest.top();
    if (t <= floor_s || copies[i] >= max_copies[i] || area + area_per_copy[i] > budget) break;
    const double next = latency_of(i, copies[i] + 1);
    if (!(next < t)) break;
    slowest.pop();
    ++copies[i];
    area += area_per_copy[i];
    slowest.push({next, i});
  }
  if (slowest.empty()) return copies;
  // The cycle reached; every layer keeps the fewest copies that meet it (latency is
  // non-increasing in copies, so a bisection finds them).
  const double cycle = std::max(slowest.top().first, floor_s);
  for (std::size_t i = 0; i < n; ++i) {
    int lo = 1, hi = copies[i];
    while (lo < hi) {
      const int mid = (lo + hi) / 2;
      if (latency_of(i, mid) <= cycle) hi = mid; else lo = mid + 1;
    }
    copies[i] = lo;
  }
  return copies;
}

std::map<int, int> system_replication(const Network& net, const TileSpec& spec, const TechTable& tech,
                                      const PimSystemSpec& sys, const LayerHardware& hardware) {
  sys.validate();
  std::map<int, int> out;
  if (sys.replication == "given" && sys.layer_replication.empty()) return out;
  const std::vector<MatrixLayer> matrices = matrix_layers(net);
  if (sys.replication == "given") {
    if (sys.layer_replication.size() != matrices.size())
      reject("PimSystemSpec.layer_replication", to_text(sys.layer_replication.size()) + " entries",
             "one per conv/linear layer of the network (" + to_text(matrices.size()) + "), in order");
    for (std::size_t i = 0; i < matrices.size(); ++i) {
      // A digital layer has no arrays to copy: its entry must be 1 (Mapping refuses more).
      if (hardware.digital.count(matrices[i].layer) && sys.layer_replication[i] == 1) continue;
      out[matrices[i].layer] = sys.layer_replication[i];
    }
    return out;
  }
  if (!sys.layer_replication.empty())
    reject("PimSystemSpec.layer_replication", to_text(sys.layer_replication.size()) + " entries",
           "empty with replication 'auto' (the copies are chosen for you)");
  if (!(sys.area_budget_mm2 > 0))
    reject("PimSystemSpec.area_budget_mm2", to_text(sys.area_budget_mm2),
           "a budget > 0 mm2 is needed with replication 'auto'");
  // One copy each: the evaluator's area per copy and each layer's latency ingredients.
  const Mapping one(matrices, spec, {}, hardware);
  PimSystemSpec given = sys;
  given.replication = "given";
  const std::vector<LayerActions> acts = shape_actions(net, one, sys.activation_bits);
  const CostReport r = evaluate_pim(net, one, acts, tech, given);
  const LatencyModel m = latency_model(spec, tech, sys);
  std::vector<double> area_per_copy;
  std::vector<int> max_copies;
  std::vector<const LayerActions*> layer;
  std::vector<TileTraffic> tile;
  std::vector<LatencyModel> timing;  // each mapped layer's own TileSpec's
  double fixed = r.area_total_m2(), floor_s = 0;
  for (const LayerActions& a : acts)
    if (!a.on_tiles) floor_s = std::max(floor_s, layer_latency(a, m, 1).total_s());
  // one.layers(): the layers on arrays, in network order.
  const std::vector<LayerMapping>& mapped = one.layers();
  const std::vector<TileShape> shapes = layer_tile_shapes(net, sys);
  for (const LayerMapping& ml : mapped) {
    timing.push_back(latency_model(one.spec(ml.layer), tech, sys));
    const LayerCost& lc = r.layers[std::size_t(ml.layer)];
    double a = 0;
    for (const auto& kv : lc.area_by_component_m2) a += kv.second;
    area_per_copy.push_back(a);
    fixed -= a;
    const LayerActions& la = acts[std::size_t(ml.layer)];
    layer.push_back(&la);
    tile.push_back(tile_buffer_traffic(la, ml, one.spec(ml.layer), sys, shapes[std::size_t(ml.layer)]));
    // More copies than sequential passes would leave every copy idle part of a pass.
    max_copies.push_back(int(std::min(std::ceil(la.sequential_passes), double(1 << 20))));
  }
  const std::vector<int> copies =
      balance_copies(area_per_copy, fixed, sys.area_budget_mm2 * 1e-6, floor_s, max_copies,
                     [&](std::size_t i, int c) { return layer_latency(*layer[i], timing[i], c, tile[i]).total_s(); });
  for (std::size_t i = 0; i < mapped.size(); ++i) out[mapped[i].layer] = copies[i];
  return out;
}

}  // namespace mho
