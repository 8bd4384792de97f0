#include "evaluator/pim_cost.h"

#include <algorithm>
#include <cmath>
#include <iterator>
#include <sstream>

#include "adc_dac/dac.h"
#include "common/validate.h"

namespace mho {

std::string PimSystemSpec::repr() const {
  std::ostringstream s;
  s << "PimSystemSpec(" << "adc_type='" << adc_type << "'" << ", "
     << "activation_bits=" << activation_bits << ", "
     << "accumulator_bits=" << accumulator_bits << ", "
     << "digital_lanes=" << digital_lanes << ", "
     << "pipeline_layers=" << (pipeline_layers ? "True" : "False") << ", "
     << "offchip_io=" << (offchip_io ? "True" : "False") << ", "
     << "batch=" << batch << ")";
  return s.str();
}

void PimSystemSpec::validate() const {
  require_in("PimSystemSpec.activation_bits", activation_bits, 1, 32);
  require_in("PimSystemSpec.accumulator_bits", accumulator_bits, 1, 64);
  require_in("PimSystemSpec.digital_lanes", digital_lanes, 1, 1 << 20);
  require_in("PimSystemSpec.batch", batch, 1, 1 << 30);
  if (adc_type.empty()) reject("PimSystemSpec.adc_type", "''", "an ADC type of the tech table");
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
  const TileSpec& spec = mapping.spec();
  if (spec.adc.bits == 0)
    reject("TileSpec.adc.bits", "0", "a physical resolution (>= 1): an ideal ADC has no cost to look up");
  const int dac_bits = driver_bits(spec.dac);
  if (dac_bits == 0)
    reject("TileSpec.dac.input_bits", "0", "a physical resolution (>= 1): an ideal DAC has no cost to look up");
  if (actions.size() != net.layers().size())
    reject("actions", std::to_string(actions.size()) + " layers", "one entry per network layer");
  const ComponentCost& adc = tech.adc_cost(sys.adc_type, spec.adc.bits);
  const ComponentCost dac = tech.dac_cost(dac_bits);
  const ComponentCost& acc = tech.add_cost(sys.accumulator_bits);
  const ComponentCost& act_add = tech.add_cost(sys.activation_bits);
  const ComponentCost& act_mult = tech.mult_cost(sys.activation_bits);
  const CellSpec& cell = spec.cell;
  const double e_cell = cell.v_read_V * cell.v_read_V * 0.5 * (cell.g_min_S + cell.g_max_S) * cell.t_read_s;
  const double cell_area = cell.area_F2 * cell.feature_size_m * cell.feature_size_m;
  const double t_clock = 1.0 / tech.clock_hz;

  CostReport r;
  r.system = "pim";
  r.network = net.name();
  r.batch = sys.batch;
  r.utilization = mapping.utilization();

  // Area first: the interconnect distance depends on the chip's size.
  const double A = mapping.arrays(), adcs = spec.adcs_per_array();
  const double buffer_bits = double(max_activation_bits(net, actions, sys));
  const double buffer_bytes = buffer_bits / 8.0;
  r.area_m2 = {
      {"arrays", A * spec.rows * spec.cols * cell_area},
      {"adcs", A * adcs * adc.area_m2},
      {"dacs", A * spec.rows * dac.area_m2},
      {"shift_add", A * adcs * acc.area_m2},
      {"digital", sys.digital_lanes * (act_add.area_m2 + act_mult.area_m2 + acc.area_m2)},
      {"buffers", buffer_bits * tech.sram_bit_area_m2},
  };
  const double distance_m = 0.5 * std::sqrt(r.area_total_m2());
  const double e_sram_bit = tech.sram_J_per_bit(buffer_bytes);

  r.energy_J = {{"arrays", 0.0},  {"adcs", 0.0},    {"dacs", 0.0},         {"shift_add", 0.0},
                {"digital", 0.0}, {"buffers", 0.0}, {"interconnect", 0.0}, {"offchip", 0.0}};
  double latency = 0, slowest = 0;
  for (const LayerActions& a : actions) {
    LayerCost lc;
    lc.layer = a.layer;
    lc.name = a.name;
    lc.kind = a.kind;
    lc.macs = a.macs;
    lc.arrays = a.arrays;
    lc.utilization = a.utilization;
    const double bits = a.buffer_read_bits + a.buffer_write_bits;
    // Per component, in the order of r.energy_J (off-chip traffic is the network's, below).
    const double parts[] = {a.cell_energy_measured ? a.cell_energy_J : a.cell_reads * e_cell,
                            a.adc_conversions * adc.energy_J,
                            a.dac_conversions * dac.energy_J,
                            a.shift_adds * acc.energy_J,
                            a.acc_adds * acc.energy_J + a.act_adds * act_add.energy_J + a.act_mults * act_mult.energy_J,
                            bits * e_sram_bit,
                            bits * tech.wire_J_per_bit_m * distance_m};
    for (std::size_t k = 0; k < std::size(parts); ++k) {
      r.energy_J[k].second += parts[k];
      lc.energy_J += parts[k];
    }

    const double t_digital = (a.acc_adds + a.act_adds + a.act_mults) / sys.digital_lanes * t_clock;
    double t_analog = 0;
    if (a.on_tiles) {
      const double t_pass = cell.t_read_s + a.conversions_per_adc * adc.time_s;
      t_analog = a.sequential_passes * t_pass / a.replication;
    }
    lc.latency_s = std::max(t_analog, t_digital);
    latency += lc.latency_s;
    slowest = std::max(slowest, lc.latency_s);
    r.macs += a.macs;
    r.layers.push_back(lc);
  }
  const double io_bits = double(net.input_shape().size() + net.output_shape(net.output_layer()).size()) * sys.activation_bits;
  if (sys.offchip_io) r.energy_J.back().second = io_bits * tech.dram_J_per_bit;
  r.latency_s = latency;
  r.throughput_per_s = (sys.pipeline_layers ? 1.0 / slowest : 1.0 / latency);
  return r;
}

}  // namespace mho
