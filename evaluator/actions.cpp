#include "evaluator/actions.h"

#include <algorithm>

#include "adc_dac/dac.h"

namespace mho {

int converted_columns(const TileSpec& spec, int n_out) {
  const int S = spec.slices();
  const bool analog = spec.subtract == "analog";
  if (spec.encoding == "differential") return (analog ? 1 : 2) * S * n_out;
  return analog ? S * n_out : S * n_out + S;
}

int conversion_groups(const TileSpec& spec) {
  const int S = spec.slices();
  return (spec.encoding == "differential" && spec.subtract == "analog") ||
                 (spec.encoding == "offset" && spec.subtract == "analog")
             ? S
             : 2 * S;
}

int adcs_per_array(const TileSpec& spec) {
  const int conv = converted_columns(spec, spec.max_outputs());
  return (conv + spec.adc.columns_per_adc - 1) / spec.adc.columns_per_adc;
}

int dac_planes(const TileSpec& spec) { return Dac(spec.dac).num_planes(); }

int dac_bits(const TileSpec& spec) {
  const DacSpec& d = spec.dac;
  if (d.input_bits == 0) return 0;
  return d.mode == "bitserial" ? std::min(d.bits_per_plane, d.input_bits) : d.input_bits;
}

namespace {

long long elements(const Network& net, int layer) {
  return layer < 0 ? net.input_shape().size() : net.output_shape(layer).size();
}

void digital_actions(const Network& net, int i, int act_bits, LayerActions& a) {
  const Layer& l = net.layers()[std::size_t(i)];
  const Shape& o = net.output_shape(i);
  const double out = double(o.size());
  a.output_elements = o.size();
  for (int src : l.inputs) a.input_elements += elements(net, src);
  const bool view = l.kind == LayerKind::kFlatten || l.kind == LayerKind::kConcat;
  if (!view) {
    a.buffer_read_bits = double(a.input_elements) * act_bits;
    a.buffer_write_bits = out * act_bits;
  }
  const double window = double(l.kh) * l.kw;
  switch (l.kind) {
    case LayerKind::kReLU: a.act_adds = out; break;
    case LayerKind::kMaxPool: a.act_adds = out * (window - 1); break;
    case LayerKind::kAvgPool: a.act_adds = out * (window - 1); a.act_mults = out; break;
    case LayerKind::kGlobalAvgPool: a.act_adds = double(a.input_elements) - out; a.act_mults = out; break;
    case LayerKind::kBatchNorm: a.act_adds = out; a.act_mults = out; break;
    case LayerKind::kAdd: a.act_adds = out; break;
    default: break;
  }
}

}  // namespace

std::vector<LayerActions> network_actions(const Network& net, int activation_bits) {
  std::vector<LayerActions> out(net.layers().size());
  for (int i = 0; i < int(out.size()); ++i) {
    const Layer& l = net.layers()[std::size_t(i)];
    LayerActions& a = out[std::size_t(i)];
    a.layer = i;
    a.name = l.name;
    a.kind = kind_name(l.kind);
    a.macs = net.macs(i);
    digital_actions(net, i, activation_bits, a);
    if (l.has_weights()) a.acc_adds = double(net.output_shape(i).size());  // bias
  }
  return out;
}

std::vector<LayerActions> shape_actions(const Network& net, const Mapping& mapping, int activation_bits) {
  const TileSpec& spec = mapping.spec();
  const int P = dac_planes(spec), G = conversion_groups(spec), adcs = adcs_per_array(spec);
  std::vector<LayerActions> out = network_actions(net, activation_bits);
  std::map<int, const LayerMapping*> lm;
  for (const LayerMapping& m : mapping.layers()) lm[m.layer] = &m;
  for (int i = 0; i < int(out.size()); ++i) {
    const Layer& l = net.layers()[std::size_t(i)];
    LayerActions& a = out[std::size_t(i)];
    if (!l.has_weights()) continue;
    const Shape& o = net.output_shape(i);
    const double vectors = l.kind == LayerKind::kConv2d ? double(o.h) * o.w : 1.0;
    const LayerMapping& m = *lm.at(i);
    a.on_tiles = true;
    a.arrays = m.arrays;
    a.replication = m.replication;
    a.utilization = m.utilization();
    a.buffer_read_bits = vectors * double(l.matrix_rows()) * l.groups * activation_bits;
    a.acc_adds += vectors * double(l.out_ch) * (m.row_blocks - 1);
    a.sequential_passes = vectors * P * std::min(m.groups_per_array, m.groups);
    for (const Placement& p : mapping.placements()) {
      if (p.layer != i) continue;
      const double conv = converted_columns(spec, p.cols);
      a.cell_reads += vectors * P * double(p.rows) * spec.physical_columns(p.cols);
      a.dac_conversions += vectors * P * double(p.rows);
      a.adc_conversions += vectors * P * conv;
      a.shift_adds += vectors * double(p.cols) * (double(P) * G - 1);
      a.conversions_per_adc = std::max(a.conversions_per_adc, int((conv + adcs - 1) / adcs));
    }
  }
  return out;
}

std::vector<LayerActions> measured_actions(const Network& net, const Mapping& mapping, int activation_bits,
                                           const std::map<int, TileCounters>& per_layer, long long inferences) {
  if (inferences < 1)
    throw std::invalid_argument("inferences = " + std::to_string(inferences) + ": measured counts need >= 1 inference");
  std::vector<LayerActions> out = shape_actions(net, mapping, activation_bits);
  for (LayerActions& a : out) {
    if (!a.on_tiles) continue;
    const auto it = per_layer.find(a.layer);
    const TileCounters c = it == per_layer.end() ? TileCounters() : it->second;
    const double n = double(inferences);
    a.cell_reads = double(c.cell_reads) / n;
    a.dac_conversions = double(c.dac_conversions) / n;
    a.adc_conversions = double(c.adc_conversions) / n;
    a.shift_adds = double(c.shift_adds) / n;
    a.cell_energy_J = c.cell_energy_J / n;
    a.cell_energy_measured = true;
  }
  return out;
}

}  // namespace mho
