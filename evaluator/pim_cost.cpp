#include "evaluator/pim_cost.h"

#include "evaluator/periphery.h"

#include <algorithm>
#include <cmath>
#include <iterator>
#include <memory>
#include <sstream>

#include "adc_dac/dac.h"
#include "common/validate.h"
#include "crossbar/charge_domain.h"
#include "evaluator/pipeline.h"

namespace mho {

std::string PimSystemSpec::repr() const {
  std::ostringstream s;
  s << "PimSystemSpec(" << "adc_type='" << adc_type << "'" << ", "
     << "activation_bits=" << activation_bits << ", "
     << "accumulator_bits=" << accumulator_bits << ", "
     << "digital_lanes=" << digital_lanes << ", "
     << "pipeline_layers=" << (pipeline_layers ? "True" : "False") << ", "
     << "offchip_io=" << (offchip_io ? "True" : "False") << ", "
     << "batch=" << batch << ", "
     << "input_activity=" << input_activity << ", "
     << "layer_activity=[";
  for (std::size_t i = 0; i < layer_activity.size(); ++i) s << (i ? ", " : "") << layer_activity[i];
  s << "], row_driver='" << row_driver << "', column_mux='" << column_mux << "', write_voltage_V=" << write_voltage_V
    << ", accumulation='" << accumulation << "', buffer_type='" << buffer_type << "', buffer_levels=" << buffer_levels
    << ", interconnect='" << interconnect << "', tile_interconnect='" << tile_interconnect
    << "', tile_bus_width_bits=" << tile_bus_width_bits << ", tile_routing_layers=" << tile_routing_layers
    << ", repeater_delay_tolerance=" << repeater_delay_tolerance
    << ", input_toggle=" << input_toggle << ", output_toggle=" << output_toggle
    << ", area_model='" << area_model << "', cell_aspect=" << cell_aspect
    << ", clock_hz=" << clock_hz << ", synchronous=" << (synchronous ? "True" : "False") << ", buffer_line_bits=" << buffer_line_bits
    << ", buffer_lines_per_clock=" << buffer_lines_per_clock << ", bus_width_bits=" << bus_width_bits
    << ", tile_row_arrays=" << tile_row_arrays << ", tile_col_arrays=" << tile_col_arrays
    << ", tile_buffer_line_bits=" << tile_buffer_line_bits << ", tile_input_lines_per_clock=" << tile_input_lines_per_clock
    << ", tile_output_lines_per_clock=" << tile_output_lines_per_clock << ", layer_tile_row_arrays=[";
  for (std::size_t i = 0; i < layer_tile_row_arrays.size(); ++i) s << (i ? ", " : "") << layer_tile_row_arrays[i];
  s << "], layer_tile_col_arrays=[";
  for (std::size_t i = 0; i < layer_tile_col_arrays.size(); ++i) s << (i ? ", " : "") << layer_tile_col_arrays[i];
  s << "], replication='" << replication << "', layer_replication=[";
  for (std::size_t i = 0; i < layer_replication.size(); ++i) s << (i ? ", " : "") << layer_replication[i];
  s << "], area_budget_mm2=" << area_budget_mm2 << ")";
  return s.str();
}

void PimSystemSpec::validate() const {
  require_in("PimSystemSpec.activation_bits", activation_bits, 1, 32);
  require_in("PimSystemSpec.accumulator_bits", accumulator_bits, 1, 64);
  require_in("PimSystemSpec.digital_lanes", digital_lanes, 1, 1 << 20);
  require_in("PimSystemSpec.batch", batch, 1, 1 << 30);
  if (adc_type.empty()) reject("PimSystemSpec.adc_type", "''", "an ADC type of the tech table");
  auto fraction = [](const std::string& name, double v) {
    if (!(v >= 0.0 && v <= 1.0)) {
      std::ostringstream s;
      s << v;
      reject(name, s.str(), "a finite number in [0, 1] (a fraction of driven rows)");
    }
  };
  // Clocks up to 100 GHz and budgets up to 1 m^2: generous bounds that keep products finite.
  require_finite_in("PimSystemSpec.clock_hz", clock_hz, 0.0, 1e11);
  require_in("PimSystemSpec.buffer_line_bits", buffer_line_bits, 1, 1 << 20);
  require_in("PimSystemSpec.buffer_lines_per_clock", buffer_lines_per_clock, 1, 1 << 20);
  require_in("PimSystemSpec.bus_width_bits", bus_width_bits, 1, 1 << 24);
  require_in("PimSystemSpec.tile_routing_layers", tile_routing_layers, 0, 8);
  require_in("PimSystemSpec.tile_row_arrays", tile_row_arrays, 1, 1 << 20);
  require_in("PimSystemSpec.tile_col_arrays", tile_col_arrays, 1, 1 << 20);
  require_in("PimSystemSpec.tile_buffer_line_bits", tile_buffer_line_bits, 1, 1 << 20);
  require_in("PimSystemSpec.tile_input_lines_per_clock", tile_input_lines_per_clock, 1, 1 << 20);
  require_in("PimSystemSpec.tile_output_lines_per_clock", tile_output_lines_per_clock, 1, 1 << 20);
  if (replication != "given" && replication != "auto")
    reject("PimSystemSpec.replication", "'" + replication + "'", "must be one of 'given', 'auto'");
  for (std::size_t i = 0; i < layer_replication.size(); ++i)
    require_in("PimSystemSpec.layer_replication[" + std::to_string(i) + "]", layer_replication[i], 1, 1 << 20);
  for (std::size_t i = 0; i < layer_tile_row_arrays.size(); ++i)
    require_in("PimSystemSpec.layer_tile_row_arrays[" + std::to_string(i) + "]", layer_tile_row_arrays[i], 1, 1 << 20);
  for (std::size_t i = 0; i < layer_tile_col_arrays.size(); ++i)
    require_in("PimSystemSpec.layer_tile_col_arrays[" + std::to_string(i) + "]", layer_tile_col_arrays[i], 1, 1 << 20);
  if (!layer_tile_row_arrays.empty() && !layer_tile_col_arrays.empty() &&
      layer_tile_row_arrays.size() != layer_tile_col_arrays.size())
    reject("PimSystemSpec.layer_tile_col_arrays", std::to_string(layer_tile_col_arrays.size()) + " entries",
           "as many as layer_tile_row_arrays (" + std::to_string(layer_tile_row_arrays.size()) + ") or none");
  require_finite_in("PimSystemSpec.area_budget_mm2", area_budget_mm2, 0.0, 1e6);
  fraction("PimSystemSpec.input_activity", input_activity);
  for (std::size_t i = 0; i < layer_activity.size(); ++i)
    fraction("PimSystemSpec.layer_activity[" + std::to_string(i) + "]", layer_activity[i]);
  require_one_of("PimSystemSpec.row_driver", row_driver, {"dac", "switch_matrix"});
  require_one_of("PimSystemSpec.column_mux", column_mux, {"none", "transmission_gate"});
  require_one_of("PimSystemSpec.accumulation", accumulation, {"adder", "adder_register"});
  require_one_of("PimSystemSpec.buffer_type", buffer_type, {"sram", "register_file"});
  require_one_of("PimSystemSpec.interconnect", interconnect, {"distance", "xy_bus"});
  require_one_of("PimSystemSpec.tile_interconnect", tile_interconnect, {"none", "htree"});
  require_in("PimSystemSpec.tile_bus_width_bits", tile_bus_width_bits, 0, 1 << 24);
  require_one_of("PimSystemSpec.area_model", area_model, {"parts", "layout_box"});
  require_in("PimSystemSpec.buffer_levels", buffer_levels, 1, 8);
  fraction("PimSystemSpec.input_toggle", input_toggle);
  fraction("PimSystemSpec.output_toggle", output_toggle);
  auto range = [](const std::string& name, double v, double lo, double hi, const char* what) {
    if (!(v >= lo && v <= hi)) {
      std::ostringstream s;
      s << v;
      reject(name, s.str(), what);
    }
  };
  range("PimSystemSpec.write_voltage_V", write_voltage_V, 0.0, 10.0, "a finite number in [0, 10] (volts; 0: not given)");
  range("PimSystemSpec.repeater_delay_tolerance", repeater_delay_tolerance, 0.0, 10.0,
        "a finite number in [0, 10] (delay above the delay-optimal repeaters, as a fraction)");
  range("PimSystemSpec.cell_aspect", cell_aspect, 0.01, 100.0, "a finite number in [0.01, 100] (cell width / height)");
}

namespace {

// Bits one row driver resolves per pass (0 for the ideal DAC).
int driver_bits(const DacSpec& spec) {
  const Dac dac(spec);
  return dac.is_ideal() ? 0 : int(std::lround(std::log2(dac.plane_max_code() + 1.0)));
}

long long max_activation_bits(const Network& net, const std::vector<LayerActions>& acts, const PimSystemSpec& sys) {
  long long bits = 0;
  if (sys.pipeline_layers) {
    bits = net.input_shape().size();
    for (const LayerActions& a : acts)
      if (a.kind != "flatten" && a.kind != "concat") bits += a.output_elements;
  } else {
    for (const LayerActions& a : acts) bits = std::max(bits, 2 * (a.input_elements + a.output_elements));
  }
  return bits * sys.activation_bits;
}

}  // namespace

namespace {

// What the arrays of one TileSpec cost: per-action figures and per-array areas. A mapping
// with per-layer hardware has one per TileSpec; every other chip has one.
struct ArrayModel {
  ArrayModel(const TileSpec& s, const TechTable& tech, const PimSystemSpec& sys, int sa_bits, const std::string& where)
      : spec(s), peri(s, tech, sys), timing(latency_model(s, tech, sys)) {
    if (s.adc.bits == 0)
      reject(where + ".adc.bits", "0", "a physical resolution (>= 1): an ideal ADC has no cost to look up");
    const int dac_bits = driver_bits(s.dac);
    if (dac_bits == 0)
      reject(where + ".dac.input_bits", "0", "a physical resolution (>= 1): an ideal DAC has no cost to look up");
    adc = tech.adc_cost(table_adc_type(sys), s.adc.bits);
    dac = tech.dac_cost(dac_bits);
    sa_unit = tech.adder(std::clamp(sa_bits, 1, sys.accumulator_bits));
    const CellSpec& cell = s.cell;
    // Charge accumulation: a driven cell at full drive draws C_u V_DD^2 x its supply charge,
    // the mean over uniformly stored levels (crossbar/charge_domain.h).
    const bool charge = s.accumulation == "charge";
    const int level_max = s.weight_bits == 0 ? 1 : (1 << s.slice_bits()) - 1;
    e_cell = charge ? s.cap.c_unit_F * s.cap.v_dd_V * s.cap.v_dd_V * charge_mean_supply_units(s.cap, level_max)
                    : cell.v_read_V * cell.v_read_V * 0.5 * (cell.g_min_S + cell.g_max_S) * cell.t_read_s;
    cell_area = cell.area_F2 * cell.feature_size_m * cell.feature_size_m;
    // A charge-domain cell's capacitors beside it in the layout (crossbar/cap_spec.h).
    if (charge && s.cap.density_F_per_m2 > 0)
      cell_area += cap_units_per_cell(s.cap, s.weight_bits == 0 ? 1 : s.slice_bits()) * s.cap.c_unit_F / s.cap.density_F_per_m2;
    // Cell pitch along a word line (width) and a bit line (height): area_F2 F^2 at cell_aspect.
    const double pitch_w = std::sqrt(cell_area * sys.cell_aspect), pitch_h = std::sqrt(cell_area / sys.cell_aspect);
    // A word line charged from its low to its high level draws C (high - low) from the high
    // rail: the wire, the cells' gate and coupling loads and the driver's output.
    const double wl_high = cell.wl_v_high_V > 0 ? cell.wl_v_high_V : tech.vdd_V;
    const double wl_C = tech.array_wire_F_per_m * s.cols * pitch_w + s.cols * cell.wl_cell_cap_F + cell.wl_driver_cap_F;
    e_wordline = wl_C * (wl_high - cell.wl_v_low_V) * wl_high;
    // A charge-sharing line is charged by its cells' capacitors, not from the supply.
    e_bitline = charge ? 0.0 : tech.array_wire_F_per_m * s.rows * pitch_h * cell.v_read_V * cell.v_read_V;
    adcs = s.adcs_per_array();
    driver_area = peri.row_drivers_area(dac.area_m2);
    sa_area = peri.shift_add_area(sa_unit.area_m2);
  }
  // Area of `arrays` arrays, by component.
  std::vector<std::pair<std::string, double>> area(double arrays) const {
    return {{"arrays", arrays * spec.rows * spec.cols * cell_area},
            {"adcs", arrays * adcs * adc.area_m2},
            {"dacs", arrays * driver_area},
            {"shift_add", arrays * (sa_area + peri.adder_tree_area())},
            {"column_mux", arrays * peri.column_mux_area()},
            {"level_shifters", arrays * peri.level_shifters_area()},
            {"layout_white_space", arrays * peri.white_space_per_array(adcs * adc.area_m2, sa_area, driver_area)}};
  }

  const TileSpec& spec;
  const Periphery peri;
  const LatencyModel timing;
  ComponentCost adc, dac, sa_unit;
  double e_cell = 0, cell_area = 0, e_wordline = 0, e_bitline = 0, adcs = 0, driver_area = 0, sa_area = 0;
  double arrays = 0;  // of the layers on this spec
};

double area_of(const std::vector<std::pair<std::string, double>>& parts, const char* name) {
  for (const auto& kv : parts)
    if (kv.first == name) return kv.second;
  return 0.0;
}

}  // namespace

CostReport evaluate_pim(const Network& net, const Mapping& mapping, const std::vector<LayerActions>& actions,
                        const TechTable& tech, const PimSystemSpec& sys) {
  sys.validate();
  if (actions.size() != net.layers().size())
    reject("actions", std::to_string(actions.size()) + " layers", "one entry per network layer");
  if (!sys.layer_activity.empty() && sys.layer_activity.size() != net.layers().size())
    reject("PimSystemSpec.layer_activity", std::to_string(sys.layer_activity.size()) + " entries",
           "empty or one per network layer (" + std::to_string(net.layers().size()) + ")");
  // One array model per TileSpec (the mapping's, and each layer's own); shift-and-add units
  // sized for the widest result of their spec's layers. Layers off the arrays use the first.
  std::vector<const TileSpec*> specs = {&mapping.spec()};
  std::vector<int> model_of(net.layers().size(), 0);
  for (const LayerMapping& lm : mapping.layers()) {
    const TileSpec* s = &mapping.spec(lm.layer);
    auto it = std::find(specs.begin(), specs.end(), s);
    model_of[std::size_t(lm.layer)] = int(it - specs.begin());
    if (it == specs.end()) specs.push_back(s);
  }
  std::vector<int> sa_bits(specs.size(), 1);
  for (const LayerActions& a : actions)
    if (a.on_tiles) sa_bits[std::size_t(model_of[std::size_t(a.layer)])] =
        std::max(sa_bits[std::size_t(model_of[std::size_t(a.layer)])], a.shift_add_bits);
  std::vector<std::unique_ptr<ArrayModel>> models;
  for (std::size_t k = 0; k < specs.size(); ++k) {
    std::string where = "TileSpec";
    for (const LayerMapping& lm : mapping.layers())
      if (k > 0 && model_of[std::size_t(lm.layer)] == int(k)) {
        where = "layer " + std::to_string(lm.layer) + " TileSpec";
        break;
      }
    models.push_back(std::make_unique<ArrayModel>(*specs[k], tech, sys, sa_bits[k], where));
  }
  for (const LayerMapping& lm : mapping.layers()) models[std::size_t(model_of[std::size_t(lm.layer)])]->arrays += lm.arrays;
  // Adders at their real widths, capped by the accumulator's.
  auto adder = [&](int bits) { return tech.adder(std::clamp(bits, 1, sys.accumulator_bits)); };
  const ComponentCost& act_add = tech.add_cost(sys.activation_bits);
  const ComponentCost& act_mult = tech.mult_cost(sys.activation_bits);

  CostReport r;
  r.system = "pim";
  r.network = net.name();
  r.batch = sys.batch;
  r.utilization = mapping.utilization();

  // Area first: the interconnect distance depends on the chip's size. The digital layers'
  // weights are held in the buffers' technology beside the activations.
  const Periphery& peri0 = models[0]->peri;
  double buffer_bits = double(max_activation_bits(net, actions, sys));
  for (const LayerActions& a : actions) buffer_bits += a.digital_weight_bits;
  std::vector<std::pair<std::string, double>> arrays_area = models[0]->area(models[0]->arrays);
  for (std::size_t k = 1; k < models.size(); ++k) {
    const auto more = models[k]->area(models[k]->arrays);
    for (std::size_t c = 0; c < arrays_area.size(); ++c) arrays_area[c].second += more[c].second;
  }
  r.area_m2 = {
      {"arrays", area_of(arrays_area, "arrays")},
      {"adcs", area_of(arrays_area, "adcs")},
      {"dacs", area_of(arrays_area, "dacs")},
      {"shift_add", area_of(arrays_area, "shift_add")},
      {"digital", sys.digital_lanes * (act_add.area_m2 + act_mult.area_m2 + tech.add_cost(sys.accumulator_bits).area_m2)},
      {"buffers", peri0.buffers_area(buffer_bits, tech.sram_bit_area_m2)},
      {"column_mux", area_of(arrays_area, "column_mux")},
      {"level_shifters", area_of(arrays_area, "level_shifters")},
      {"layout_white_space", area_of(arrays_area, "layout_white_space")},
  };
  // Tile H-trees (evaluator/interconnect.h): each layer's arrays, copies included, fill tiles
  // of the array model's area per array; the trees are inside the tiles, so they add to the
  // chip before the chip bus is laid out.
  const std::vector<TileShape> shapes = layer_tile_shapes(net, sys);
  std::vector<double> tree_area(net.layers().size(), 0.0), tree_path(net.layers().size(), 0.0);
  double trees = 0, tree_wire_m = 0;
  for (const LayerMapping& lm : mapping.layers()) {
    const ArrayModel& am = *models[std::size_t(model_of[std::size_t(lm.layer)])];
    if (!am.peri.tile_htree()) continue;
    double per_array = 0;
    for (const auto& kv : am.area(1.0)) per_array += kv.second;
    const TileShape& shape = shapes[std::size_t(lm.layer)];
    tree_area[std::size_t(lm.layer)] = am.peri.tile_htree_area(lm.arrays, per_array, shape);
    tree_path[std::size_t(lm.layer)] = am.peri.tile_htree_path_m(lm.arrays, per_array, shape);
    trees += tree_area[std::size_t(lm.layer)];
    tree_wire_m += am.peri.tile_htree_wire_m(lm.arrays, per_array, shape);
  }
  // The chip bus spans the chip; its side before the bus sets the bus's length.
  const double side_m = std::sqrt(r.area_total_m2() + trees);
  r.area_m2.push_back({"interconnect", peri0.interconnect_area(side_m) + trees});
  const double distance_m = 0.5 * std::sqrt(r.area_total_m2());

  r.energy_J = {{"arrays", 0.0},  {"adcs", 0.0},    {"dacs", 0.0},         {"shift_add", 0.0},
                {"digital", 0.0}, {"buffers", 0.0}, {"interconnect", 0.0}, {"wires", 0.0},
                {"column_mux", 0.0}, {"offchip", 0.0}};
  std::vector<const LayerMapping*> mapped_as(net.layers().size(), nullptr);
  for (const LayerMapping& lm : mapping.layers()) mapped_as[std::size_t(lm.layer)] = &lm;
  double latency = 0, slowest = 0;
  for (const LayerActions& a : actions) {
    const ArrayModel& am = *models[std::size_t(model_of[std::size_t(a.layer)])];
    const Periphery& peri = am.peri;
    LayerCost lc;
    lc.layer = a.layer;
    lc.name = a.name;
    lc.kind = a.kind;
    lc.macs = a.macs;
    lc.arrays = a.arrays;
    lc.utilization = a.utilization;
    const double act = a.activity_measured ? a.activity : sys.activity(a.layer);
    lc.activity = a.on_tiles ? act : 0.0;
    const double layer_buffer_bytes = double(a.input_elements + a.output_elements) * sys.activation_bits / 8.0;
    const double e_sram_bit = tech.sram_J_per_bit(layer_buffer_bytes);
    // Per component, in the order of r.energy_J (off-chip traffic is the network's, below).
    const int ps_bits = a.on_tiles ? a.partial_sum_bits : sys.accumulator_bits;
    // Tile H-trees: every input bit to its rows' arrays in each tile column of the layer, every
    // partial sum back from its array at its tile width (evaluator/periphery.h).
    const LayerMapping* lm = mapped_as[std::size_t(a.layer)];
    double tree_J = 0;
    if (lm && peri.tile_htree()) {
      const TileShape& shape = shapes[std::size_t(a.layer)];
      const int col_tiles = (lm->col_blocks + shape.col_arrays - 1) / shape.col_arrays;
      const int row_tiles = (lm->row_blocks + shape.row_arrays - 1) / shape.row_arrays;
      const double out_bits = double(a.output_elements) * row_tiles *
                              tile_partial_sum_bits(a.shift_add_bits, std::min(lm->row_blocks, shape.row_arrays));
      tree_J = peri.tile_htree_J(a.buffer_read_bits * col_tiles, out_bits, tree_path[std::size_t(a.layer)]);
    }
    const double cells = peri.cells_in_adc() ? 0.0 : a.cell_energy_measured ? a.cell_energy_J : a.cell_reads * act * am.e_cell;
    const double parts[] = {cells,
                            peri.adc_J(a, act, am.adc.energy_J),
                            peri.row_drivers_J(a, act, am.dac.energy_J),
                            peri.shift_add_J(a, adder(a.shift_add_bits).energy_J),
                            a.acc_adds * peri.partial_sum_add_J(std::clamp(ps_bits, 1, sys.accumulator_bits), adder(ps_bits).energy_J) +
                                a.act_adds * act_add.energy_J + a.act_mults * act_mult.energy_J,
                            peri.buffers_J(a, e_sram_bit),
                            peri.interconnect_J(a, distance_m, tech.wire_J_per_bit_m) + tree_J,
                            a.dac_conversions * act * peri.wordline_passes(a) * am.e_wordline + a.bitline_charges * am.e_bitline,
                            peri.column_mux_J(a)};
    for (std::size_t k = 0; k < std::size(parts); ++k) {
      r.energy_J[k].second += parts[k];
      lc.energy_J += parts[k];
      lc.energy_by_component_J.push_back({r.energy_J[k].first, parts[k]});
    }
    lc.area_by_component_m2 = am.area(a.arrays);
    if (peri.tile_htree()) lc.area_by_component_m2.push_back({"interconnect", tree_area[std::size_t(a.layer)]});

    const LayerLatency t =
        layer_latency(a, am.timing, a.replication,
                      lm ? tile_buffer_traffic(a, *lm, am.spec, sys, shapes[std::size_t(a.layer)]) : TileTraffic{});
    lc.replication = a.on_tiles ? a.replication : 0;
    lc.latency_by_component_s = {{"sensing", t.sensing_s}, {"adc", t.adc_s}, {"digital", t.digital_s},
                                 {"buffer", t.buffer_s}, {"tile_buffer", t.tile_buffer_s},
                                 {"interconnect", t.interconnect_s}};
    lc.latency_s = t.total_s();
    latency += lc.latency_s;
    slowest = std::max(slowest, lc.latency_s);
    r.macs += a.macs;
    r.layers.push_back(lc);
  }
  const double io_bits = double(net.input_shape().size() + net.output_shape(net.output_layer()).size()) * sys.activation_bits;
  if (sys.offchip_io) r.energy_J.back().second = io_bits * tech.dram_J_per_bit;
  r.latency_s = latency;
  r.throughput_per_s = (sys.pipeline_layers ? 1.0 / slowest : 1.0 / latency);
  // Static power of the buffers' SRAM bits and of the digital lanes (a lane counts as one MAC
  // unit of the table's leakage entry), drawn for as long as an inference holds the chip in
  // steady state: 1 / throughput.
  r.leakage_W = (sys.buffer_type == "sram" ? buffer_bits * tech.sram_leakage_W_per_bit : 0.0) +
                sys.digital_lanes * tech.logic_leakage_W_per_mac + peri0.leakage_W(models[0]->arrays, buffer_bits);
  for (std::size_t k = 1; k < models.size(); ++k) r.leakage_W += models[k]->peri.leakage_W(models[k]->arrays, 0.0);
  // The repeaters of the chip bus and the tile H-trees (evaluator/periphery.h).
  r.leakage_W += peri0.repeater_leakage_W(peri0.bus_wire_m(side_m) + tree_wire_m);
  r.energy_J.push_back({"leakage", r.leakage_W / r.throughput_per_s});
  return r;
}

}  // namespace mho
