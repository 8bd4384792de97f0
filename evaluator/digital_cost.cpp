#include "evaluator/digital_cost.h"

#include <algorithm>
#include <cmath>
#include <sstream>

#include "common/validate.h"

namespace mho {

std::string DigitalSpec::repr() const {
  std::ostringstream s;
  s << "DigitalSpec(" << "pe_rows=" << pe_rows << ", "
     << "pe_cols=" << pe_cols << ", "
     << "bits=" << bits << ", "
     << "accumulator_bits=" << accumulator_bits << ", "
     << "rf_bytes_per_pe=" << rf_bytes_per_pe << ", "
     << "glb_bytes=" << glb_bytes << ", "
     << "dram_bandwidth_Bps=" << dram_bandwidth_Bps << ", "
     << "digital_lanes=" << digital_lanes << ", "
     << "batch=" << batch << ")";
  return s.str();
}

void DigitalSpec::validate() const {
  require_in("DigitalSpec.pe_rows", pe_rows, 1, 1 << 16);
  require_in("DigitalSpec.pe_cols", pe_cols, 1, 1 << 16);
  require_in("DigitalSpec.bits", bits, 1, 32);
  require_in("DigitalSpec.accumulator_bits", accumulator_bits, 1, 64);
  require_in("DigitalSpec.rf_bytes_per_pe", rf_bytes_per_pe, 1, 1 << 20);
  // Generous bounds: accelerators hold 0.1-100 MB of SRAM (Eyeriss 108 kB, TPUv1 28 MB) and
  // reach 1e10-1e12 B/s (DDR4 channel 25.6 GB/s, HBM3 stack ~0.8 TB/s); 1 TB and 1 PB/s are
  // far beyond both, and keep bytes x energies and bytes / bandwidth finite.
  require_finite_positive("DigitalSpec.glb_bytes", glb_bytes, 1e12);
  require_finite_positive("DigitalSpec.dram_bandwidth_Bps", dram_bandwidth_Bps, 1e15);
  require_in("DigitalSpec.digital_lanes", digital_lanes, 1, 1 << 20);
  require_in("DigitalSpec.batch", batch, 1, 1 << 30);
}

CostReport evaluate_digital(const Network& net, const TechTable& tech, const DigitalSpec& d) {
  d.validate();
  const ComponentCost& mult = tech.mult_cost(d.bits);
  const ComponentCost& acc = tech.add_cost(d.accumulator_bits);
  const ComponentCost& act_add = tech.add_cost(d.bits);
  const double e_mac = mult.energy_J + acc.energy_J;
  const double e_glb = tech.sram_J_per_bit(d.glb_bytes);
  const double pes = double(d.pe_rows) * d.pe_cols, B = d.batch, t_clock = 1.0 / tech.clock_hz;
  const double glb_bits = d.glb_bytes * 8.0;

  CostReport r;
  r.system = "digital";
  r.network = net.name();
  r.batch = d.batch;
  r.area_m2 = {
      {"macs", pes * (mult.area_m2 + acc.area_m2)},
      {"register_files", pes * d.rf_bytes_per_pe * 8.0 * tech.sram_bit_area_m2},
      {"digital", d.digital_lanes * (act_add.area_m2 + mult.area_m2 + acc.area_m2)},
      {"buffers", glb_bits * tech.sram_bit_area_m2},
  };
  const double distance_m = 0.5 * std::sqrt(r.area_total_m2());

  r.energy_J = {{"macs", 0.0},    {"register_files", 0.0}, {"pe_to_pe", 0.0}, {"digital", 0.0},
                {"buffers", 0.0}, {"interconnect", 0.0},   {"offchip", 0.0}};
  double latency = 0, busy_cycles = 0;
  for (const LayerActions& a : network_actions(net, d.bits)) {
    const Layer& l = net.layers()[std::size_t(a.layer)];
    LayerCost lc;
    lc.layer = a.layer;
    lc.name = a.name;
    lc.kind = a.kind;
    lc.macs = a.macs;
    double glb_bits_moved = a.buffer_read_bits + a.buffer_write_bits, dram_bits = 0, cycles = 0;
    const double mac = double(a.macs);
    if (l.has_weights()) {
      const Shape& o = net.output_shape(a.layer);
      const double V = l.kind == LayerKind::kConv2d ? double(o.h) * o.w : 1.0;
      const double K = l.matrix_rows(), M = l.matrix_cols(), G = l.groups;
      const double rt = std::ceil(K / d.pe_rows), ct = std::ceil(M / d.pe_cols);
      const double tiles = G * rt * ct;
      lc.arrays = int(tiles);
      cycles = tiles * (d.pe_rows + V * B + d.pe_rows + d.pe_cols) / B;
      lc.utilization = mac / (cycles * pes);
      const double weight_bits = K * M * G * d.bits;
      glb_bits_moved = V * K * G * ct * d.bits                            // inputs, once per column tile
                       + V * M * G * (2 * rt - 1) * d.accumulator_bits      // partial sums
                       + a.output_elements * double(d.bits)                 // quantised outputs
                       + weight_bits / B;                                   // weights into the PEs
      dram_bits = weight_bits / B;
    }
    const double io_bits = double(a.input_elements + a.output_elements) * d.bits;
    if (a.kind != "flatten" && a.kind != "concat" && io_bits > glb_bits) dram_bits += io_bits;
    const double ops = a.acc_adds + a.act_adds + a.act_mults;
    // Per component, in the order of r.energy_J (MAC-related parts are 0 for other layers).
    const double parts[] = {mac * e_mac,
                            mac * tech.rf_access_per_mac * e_mac,
                            mac * 2.0 * tech.pe_to_pe_per_mac * e_mac,
                            a.acc_adds * acc.energy_J + a.act_adds * act_add.energy_J + a.act_mults * mult.energy_J,
                            glb_bits_moved * e_glb,
                            glb_bits_moved * tech.wire_J_per_bit_m * distance_m,
                            dram_bits * tech.dram_J_per_bit};
    for (std::size_t k = 0; k < r.energy_J.size(); ++k) {
      r.energy_J[k].second += parts[k];
      lc.energy_J += parts[k];
    }
    lc.latency_s = std::max({cycles * t_clock, dram_bits / 8.0 / d.dram_bandwidth_Bps, ops / d.digital_lanes * t_clock});
    busy_cycles += cycles;
    latency += lc.latency_s;
    r.macs += a.macs;
    r.layers.push_back(lc);
  }
  const double io = double(net.input_shape().size() + net.output_shape(net.output_layer()).size()) * d.bits;
  r.energy_J.back().second += io * tech.dram_J_per_bit;
  r.latency_s = latency;
  r.throughput_per_s = 1.0 / latency;
  r.utilization = double(r.macs) / (std::max(busy_cycles, 1.0) * pes);
  return r;
}

}  // namespace mho
