#include "evaluator/digital_cost.h"

#include <algorithm>
#include <cmath>
#include <sstream>

#include "common/validate.h"
#include "evaluator/dataflow.h"

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
     << "batch=" << batch << ", "
     << "dataflow='" << dataflow << "', "
     << "weight_storage='" << weight_storage << "', "
     << "weight_storage_bytes=" << weight_storage_bytes << ", "
     << "weight_storage_budget_bytes=" << weight_storage_budget_bytes << ")";
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
  require_one_of("DigitalSpec.dataflow", dataflow, dataflow_names());
  require_one_of("DigitalSpec.weight_storage", weight_storage, {"auto", "fixed", "none"});
  // As glb_bytes: 1 TB is far beyond any on-chip SRAM.
  require_finite_in("DigitalSpec.weight_storage_bytes", weight_storage_bytes, 0.0, 1e12);
  require_finite_in("DigitalSpec.weight_storage_budget_bytes", weight_storage_budget_bytes, 0.0, 1e12);
}

namespace {

// One conv/linear layer group's shape as the dataflows see it (evaluator/dataflow.h).
ConvDims conv_dims(const Network& net, const Layer& l, int layer, int batch) {
  ConvDims d;
  d.N = batch;
  d.C = l.in_ch / l.groups;
  d.M = l.matrix_cols();
  if (l.kind == LayerKind::kConv2d) {
    const Shape& in = l.inputs[0] < 0 ? net.input_shape() : net.output_shape(l.inputs[0]);
    const Shape& o = net.output_shape(layer);
    d.R = l.kh;
    d.S = l.kw;
    d.E = o.h;
    d.F = o.w;
    d.U = l.stride_h;
    d.H = in.h + 2.0 * l.pad_h;
    d.W = in.w + 2.0 * l.pad_w;
  }
  return d;
}

double weight_bytes(const Layer& l, int bits) {
  return double(l.matrix_rows()) * l.matrix_cols() * l.groups * bits / 8.0;
}

double storage_bytes(const Network& net, const DigitalSpec& d) {
  if (d.weight_storage == "none") return 0;
  if (d.weight_storage == "fixed") return d.weight_storage_bytes;
  double total = 0;
  for (const Layer& l : net.layers())
    if (l.has_weights()) total += weight_bytes(l, d.bits);
  return std::min(total, d.weight_storage_budget_bytes);
}

// Where a layer's weights come from, and what one word costs there.
struct WeightSource {
  bool resident = false, staged = false;  // staged: streamed once per batch into the buffer
};

}  // namespace

CostReport evaluate_digital(const Network& net, const TechTable& tech, const DigitalSpec& d) {
  d.validate();
  const ComponentCost& mult = tech.mult_cost(d.bits);
  const ComponentCost& acc = tech.add_cost(d.accumulator_bits);
  const ComponentCost& act_add = tech.add_cost(d.bits);
  const double e_mac = mult.energy_J + acc.energy_J;
  const double e_rf = tech.rf_access_per_mac * e_mac, e_array = tech.pe_to_pe_per_mac * e_mac;
  const double e_glb = tech.sram_J_per_bit(d.glb_bytes);
  const double ws_bytes = storage_bytes(net, d);
  const double e_ws = ws_bytes > 0 ? tech.sram_J_per_bit(ws_bytes) : 0.0;
  const double pes = double(d.pe_rows) * d.pe_cols, B = d.batch, t_clock = 1.0 / tech.clock_hz;
  const double glb_bits = d.glb_bytes * 8.0, wb = d.bits, pb = d.accumulator_bits;
  const double rf_bits_total = pes * d.rf_bytes_per_pe * 8.0;

  CostReport r;
  r.system = "digital";
  r.network = net.name();
  r.batch = d.batch;
  r.dataflow = d.dataflow;
  r.weight_storage_bytes = ws_bytes;
  r.area_m2 = {
      {"macs", pes * (mult.area_m2 + acc.area_m2)},
      {"register_files", rf_bits_total * tech.sram_bit_area_m2},
      {"digital", d.digital_lanes * (act_add.area_m2 + mult.area_m2 + acc.area_m2)},
      {"buffers", glb_bits * tech.sram_bit_area_m2},
      {"weight_storage", ws_bytes * 8.0 * tech.sram_bit_area_m2},
  };
  const double e_wire = tech.wire_J_per_bit_m * 0.5 * std::sqrt(r.area_total_m2());
  r.leakage_W = (rf_bits_total + glb_bits + ws_bytes * 8.0) * tech.sram_leakage_W_per_bit +
                (pes + d.digital_lanes) * tech.logic_leakage_W_per_mac;

  r.energy_J = {{"macs", 0.0},    {"register_files", 0.0}, {"pe_to_pe", 0.0},     {"digital", 0.0},
                {"buffers", 0.0}, {"weight_storage", 0.0}, {"interconnect", 0.0}, {"offchip", 0.0},
                {"leakage", 0.0}};
  ArraySpec arr;
  arr.pe_rows = d.pe_rows;
  arr.pe_cols = d.pe_cols;
  arr.rf_bits = d.rf_bytes_per_pe * 8.0;
  arr.psum_glb_bits = glb_bits / 2;
  arr.word_bits = d.bits;
  arr.psum_bits = d.accumulator_bits;
  double storage_left = ws_bytes, latency = 0, busy_cycles = 0;
  for (const LayerActions& a : network_actions(net, d.bits)) {
    const Layer& l = net.layers()[std::size_t(a.layer)];
    LayerCost lc;
    lc.layer = a.layer;
    lc.name = a.name;
    lc.kind = a.kind;
    lc.macs = a.macs;
    // Per inference, in the order of r.energy_J (leakage is the network's, below).
    double parts[8] = {};
    double glb_bits_moved = a.buffer_read_bits + a.buffer_write_bits, ws_bits = 0, dram_bits = 0, cycles = 0;
    if (l.has_weights()) {
      const double G = l.groups, w_bytes = weight_bytes(l, d.bits);
      WeightSource src;
      src.resident = w_bytes <= storage_left;
      if (src.resident) storage_left -= w_bytes;
      src.staged = !src.resident && w_bytes * 8.0 <= glb_bits / 2;
      const ConvDims dims = conv_dims(net, l, a.layer, d.batch);
      const double Wn = double(l.matrix_rows()) * l.matrix_cols();
      // Per group and batch: words at each level -> joules (the tiling choice's measure too).
      auto weight_traffic = [&](const DataflowCounts& c, double& ws, double& glb, double& dram) {
        ws = src.resident ? c.weights.src : 0;
        glb = src.staged ? c.weights.src : 0;
        dram = src.resident ? 0 : (src.staged ? Wn : c.weights.src);
      };
      auto energy = [&](const DataflowCounts& c) {
        double ws, wglb, dram;
        weight_traffic(c, ws, wglb, dram);
        const double glb = (c.inputs.glb + wglb + c.outputs) * wb + c.psums.glb * pb;
        return (c.weights.rf + c.inputs.rf + c.psums.rf) * e_rf +
               (c.weights.array + c.inputs.array + c.psums.array) * e_array + glb * (e_glb + e_wire) +
               ws * wb * (e_ws + e_wire) + dram * wb * tech.dram_J_per_bit;
      };
      const DataflowCounts c = dataflow_counts(d.dataflow, dims, arr, energy);
      double ws, wglb, wdram;
      weight_traffic(c, ws, wglb, wdram);
      const double per = G / B;  // per group and batch -> per inference
      const double rf = (c.weights.rf + c.inputs.rf + c.psums.rf) * per;
      const double array = (c.weights.array + c.inputs.array + c.psums.array) * per;
      const double glb_words = (c.inputs.glb + wglb + c.outputs + c.psums.glb) * per;
      glb_bits_moved = ((c.inputs.glb + wglb + c.outputs) * wb + c.psums.glb * pb) * per;
      ws_bits = ws * wb * per;
      dram_bits = wdram * wb * per;
      parts[1] = rf * e_rf;
      parts[2] = array * e_array;
      cycles = c.cycles * G / B;
      lc.arrays = int(G * std::ceil(double(l.matrix_rows()) / d.pe_rows) * std::ceil(double(l.matrix_cols()) / d.pe_cols));
      lc.utilization = double(a.macs) / (cycles * pes);
      lc.weights_resident = src.resident;
      lc.tiling = c.tiling;
      lc.rf_accesses = rf;
      lc.array_accesses = array;
      lc.glb_accesses = glb_words + ws * per;
    }
    const double io_bits = double(a.input_elements + a.output_elements) * d.bits;
    if (a.kind != "flatten" && a.kind != "concat" && io_bits > glb_bits) dram_bits += io_bits;
    const double ops = a.acc_adds + a.act_adds + a.act_mults;
    parts[0] = double(a.macs) * e_mac;
    parts[3] = a.acc_adds * acc.energy_J + a.act_adds * act_add.energy_J + a.act_mults * mult.energy_J;
    parts[4] = glb_bits_moved * e_glb;
    parts[5] = ws_bits * e_ws;
    parts[6] = (glb_bits_moved + ws_bits) * e_wire;
    parts[7] = dram_bits * tech.dram_J_per_bit;
    for (std::size_t k = 0; k < 8; ++k) {
      r.energy_J[k].second += parts[k];
      lc.energy_J += parts[k];
    }
    lc.dram_bytes = dram_bits / 8.0;
    lc.dram_accesses = dram_bits / d.bits;
    lc.latency_s = std::max({cycles * t_clock, dram_bits / 8.0 / d.dram_bandwidth_Bps, ops / d.digital_lanes * t_clock});
    busy_cycles += cycles;
    latency += lc.latency_s;
    r.macs += a.macs;
    r.dram_bytes += lc.dram_bytes;
    r.layers.push_back(lc);
  }
  const double io = double(net.input_shape().size() + net.output_shape(net.output_layer()).size()) * d.bits;
  r.energy_J[7].second += io * tech.dram_J_per_bit;
  r.dram_bytes += io / 8.0;
  r.energy_J[8].second = r.leakage_W * latency;
  r.latency_s = latency;
  r.throughput_per_s = 1.0 / latency;
  r.utilization = double(r.macs) / (std::max(busy_cycles, 1.0) * pes);
  return r;
}

}  // namespace mho
