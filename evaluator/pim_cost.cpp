#include "evaluator/pim_cost.h"

#include "evaluator/periphery.h"

#include <algorithm>
#include <cmath>
#include <iterator>
#include <sstream>

#include "adc_dac/dac.h"
#include "common/validate.h"
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
    << ", interconnect='" << interconnect << "', input_toggle=" << input_toggle << ", output_toggle=" << output_toggle
    << ", area_model='" << area_model << "', cell_aspect=" << cell_aspect
    << ", clock_hz=" << clock_hz << ", synchronous=" << (synchronous ? "True" : "False") << ", buffer_line_bits=" << buffer_line_bits
    << ", buffer_lines_per_clock=" << buffer_lines_per_clock << ", bus_width_bits=" << bus_width_bits
    << ", replication='" << replication << "', layer_replication=[";
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
  if (replication != "given" && replication != "auto")
    reject("PimSystemSpec.replication", "'" + replication + "'", "must be one of 'given', 'auto'");
  for (std::size_t i = 0; i < layer_replication.size(); ++i)
    require_in("PimSystemSpec.layer_replication[" + std::to_string(i) + "]", layer_replication[i], 1, 1 << 20);
  require_finite_in("PimSystemSpec.area_budget_mm2", area_budget_mm2, 0.0, 1e6);
  fraction("PimSystemSpec.input_activity", input_activity);
  for (std::size_t i = 0; i < layer_activity.size(); ++i)
    fraction("PimSystemSpec.layer_activity[" + std::to_string(i) + "]", layer_activity[i]);
  require_one_of("PimSystemSpec.row_driver", row_driver, {"dac", "switch_matrix"});
  require_one_of("PimSystemSpec.column_mux", column_mux, {"none", "transmission_gate"});
  require_one_of("PimSystemSpec.accumulation", accumulation, {"adder", "adder_register"});
  require_one_of("PimSystemSpec.buffer_type", buffer_type, {"sram", "register_file"});
  require_one_of("PimSystemSpec.interconnect", interconnect, {"distance", "xy_bus"});
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

CostReport evaluate_pim(const Network& net, const Mapping& mapping, const std::vector<LayerActions>& actions,
                        const TechTable& tech, const PimSystemSpec& sys) {
  sys.validate();
  if (!mapping.uniform() || !mapping.digital_layers().empty())
    reject("mapping", "per-layer hardware", "one TileSpec for every layer (per-layer costs are not modelled yet)");
  const TileSpec& spec = mapping.spec();
  if (spec.adc.bits == 0)
    reject("TileSpec.adc.bits", "0", "a physical resolution (>= 1): an ideal ADC has no cost to look up");
  const int dac_bits = driver_bits(spec.dac);
  if (dac_bits == 0)
    reject("TileSpec.dac.input_bits", "0", "a physical resolution (>= 1): an ideal DAC has no cost to look up");
  if (actions.size() != net.layers().size())
    reject("actions", std::to_string(actions.size()) + " layers", "one entry per network layer");
  if (!sys.layer_activity.empty() && sys.layer_activity.size() != net.layers().size())
    reject("PimSystemSpec.layer_activity", std::to_string(sys.layer_activity.size()) + " entries",
           "empty or one per network layer (" + std::to_string(net.layers().size()) + ")");
  // The multilevel sense amplifier's energy is a formula (evaluator/periphery.h); its area and
  // conversion time are the table's sense_amp entry.
  const ComponentCost& adc = tech.adc_cost(table_adc_type(sys), spec.adc.bits);
  const Periphery peri(spec, tech, sys);
  const ComponentCost dac = tech.dac_cost(dac_bits);
  // Adders at their real widths, capped by the accumulator's.
  auto adder = [&](int bits) { return tech.adder(std::clamp(bits, 1, sys.accumulator_bits)); };
  int sa_bits = 1;
  for (const LayerActions& a : actions) sa_bits = std::max(sa_bits, a.shift_add_bits);
  const ComponentCost sa_unit = adder(sa_bits);
  const ComponentCost& act_add = tech.add_cost(sys.activation_bits);
  const ComponentCost& act_mult = tech.mult_cost(sys.activation_bits);
  const CellSpec& cell = spec.cell;
  const double e_cell = cell.v_read_V * cell.v_read_V * 0.5 * (cell.g_min_S + cell.g_max_S) * cell.t_read_s;
  const double cell_area = cell.area_F2 * cell.feature_size_m * cell.feature_size_m;
  const LatencyModel timing = latency_model(spec, tech, sys);
  // Cell pitch along a word line (width) and a bit line (height): area_F2 F^2 at cell_aspect.
  const double pitch_w = std::sqrt(cell_area * sys.cell_aspect), pitch_h = std::sqrt(cell_area / sys.cell_aspect);
  const double e_wordline = tech.array_wire_F_per_m * spec.cols * pitch_w * tech.vdd_V * tech.vdd_V;
  const double e_bitline = tech.array_wire_F_per_m * spec.rows * pitch_h * cell.v_read_V * cell.v_read_V;

  CostReport r;
  r.system = "pim";
  r.network = net.name();
  r.batch = sys.batch;
  r.utilization = mapping.utilization();

  // Area first: the interconnect distance depends on the chip's size.
  const double A = mapping.arrays(), adcs = spec.adcs_per_array();
  const double buffer_bits = double(max_activation_bits(net, actions, sys));
  const double driver_area = peri.row_drivers_area(dac.area_m2), sa_area = peri.shift_add_area(sa_unit.area_m2);
  r.area_m2 = {
      {"arrays", A * spec.rows * spec.cols * cell_area},
      {"adcs", A * adcs * adc.area_m2},
      {"dacs", A * driver_area},
      {"shift_add", A * (sa_area + peri.adder_tree_area())},
      {"digital", sys.digital_lanes * (act_add.area_m2 + act_mult.area_m2 + tech.add_cost(sys.accumulator_bits).area_m2)},
      {"buffers", peri.buffers_area(buffer_bits, tech.sram_bit_area_m2)},
      {"column_mux", A * peri.column_mux_area()},
      {"level_shifters", A * peri.level_shifters_area()},
      {"layout_white_space", A * peri.white_space_per_array(adcs * adc.area_m2, sa_area, driver_area)},
  };
  // The interconnect's wires span the chip; its side before them sets their length.
  const double side_m = std::sqrt(r.area_total_m2());
  r.area_m2.push_back({"interconnect", peri.interconnect_area(side_m)});
  const double distance_m = 0.5 * std::sqrt(r.area_total_m2());

  r.energy_J = {{"arrays", 0.0},  {"adcs", 0.0},    {"dacs", 0.0},         {"shift_add", 0.0},
                {"digital", 0.0}, {"buffers", 0.0}, {"interconnect", 0.0}, {"wires", 0.0},
                {"column_mux", 0.0}, {"offchip", 0.0}};
  double latency = 0, slowest = 0;
  for (const LayerActions& a : actions) {
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
    const double cells = peri.cells_in_adc() ? 0.0 : a.cell_energy_measured ? a.cell_energy_J : a.cell_reads * act * e_cell;
    const double parts[] = {cells,
                            peri.adc_J(a, act, adc.energy_J),
                            peri.row_drivers_J(a, act, dac.energy_J),
                            peri.shift_add_J(a, adder(a.shift_add_bits).energy_J),
                            a.acc_adds * peri.partial_sum_add_J(std::clamp(ps_bits, 1, sys.accumulator_bits), adder(ps_bits).energy_J) +
                                a.act_adds * act_add.energy_J + a.act_mults * act_mult.energy_J,
                            peri.buffers_J(a, e_sram_bit),
                            peri.interconnect_J(a, distance_m, tech.wire_J_per_bit_m),
                            a.dac_conversions * act * peri.wordline_passes(a) * e_wordline + a.bitline_charges * e_bitline,
                            peri.column_mux_J(a)};
    for (std::size_t k = 0; k < std::size(parts); ++k) {
      r.energy_J[k].second += parts[k];
      lc.energy_J += parts[k];
      lc.energy_by_component_J.push_back({r.energy_J[k].first, parts[k]});
    }
    const double La = a.arrays;
    lc.area_by_component_m2 = {{"arrays", La * spec.rows * spec.cols * cell_area},
                               {"adcs", La * adcs * adc.area_m2},
                               {"dacs", La * driver_area},
                               {"shift_add", La * (sa_area + peri.adder_tree_area())},
                               {"column_mux", La * peri.column_mux_area()},
                               {"level_shifters", La * peri.level_shifters_area()},
                               {"layout_white_space", La * peri.white_space_per_array(adcs * adc.area_m2, sa_area, driver_area)}};

    const LayerLatency t = layer_latency(a, timing, a.replication);
    lc.replication = a.on_tiles ? a.replication : 0;
    lc.latency_by_component_s = {{"sensing", t.sensing_s}, {"adc", t.adc_s}, {"digital", t.digital_s},
                                 {"buffer", t.buffer_s}, {"interconnect", t.interconnect_s}};
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
                sys.digital_lanes * tech.logic_leakage_W_per_mac + peri.leakage_W(A, buffer_bits);
  r.energy_J.push_back({"leakage", r.leakage_W / r.throughput_per_s});
  return r;
}

}  // namespace mho
