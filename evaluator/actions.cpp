#include "evaluator/actions.h"

#include <algorithm>

#include "adc_dac/dac.h"

namespace mho {

namespace {

long long elements(const Network& net, int layer) {
  return layer < 0 ? net.input_shape().size() : net.output_shape(layer).size();
}

// One exp, tanh or erf as a digital unit evaluates it: range reduction (1 add, 1 mult) and a
// degree-4 polynomial by Horner's rule (4 adds, 4 mults): 5 adds and 5 mults. An estimate of
// ours (float32 accuracy needs degree 4-6 after reduction, Muller, "Elementary Functions",
// 3rd ed., 2016, ch. 3), not a measured figure.
constexpr double kFunctionOps = 5;

// Adds and mults per element of each element-wise activation (compares count as adds):
// relu6 2 compares; leaky_relu 1 compare + 1 mult; sigmoid 1/(1+exp(-x)): a function + 1 add
// + 1 reciprocal (as a mult); tanh a function; silu x*sigmoid(x): one mult more; gelu
// 0.5x(1+erf(x/sqrt2)): a function + 1 add + 3 mults, its tanh form 0.5x(1+tanh(k(x+0.044715x^3))):
// a function + 2 adds + 6 mults.
std::pair<double, double> activation_ops(const Layer& l) {
  switch (l.kind) {
    case LayerKind::kReLU: return {1, 0};
    case LayerKind::kReLU6: return {2, 0};
    case LayerKind::kLeakyReLU: return {1, 1};
    case LayerKind::kSigmoid: return {kFunctionOps + 1, kFunctionOps + 1};
    case LayerKind::kTanh: return {kFunctionOps, kFunctionOps};
    case LayerKind::kSiLU: return {kFunctionOps + 1, kFunctionOps + 2};
    case LayerKind::kGELU: return l.gelu_tanh ? std::make_pair(kFunctionOps + 2, kFunctionOps + 6)
                                              : std::make_pair(kFunctionOps + 1, kFunctionOps + 3);
    default: return {0, 0};
  }
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
  if (elementwise(l.kind)) {
    const auto [adds, mults] = activation_ops(l);
    a.act_adds = out * adds;
    a.act_mults = out * mults;
  }
  switch (l.kind) {
    case LayerKind::kMaxPool: a.act_adds = out * (window - 1); break;
    case LayerKind::kAvgPool: a.act_adds = out * (window - 1); a.act_mults = out; break;
    case LayerKind::kGlobalAvgPool: a.act_adds = double(a.input_elements) - out; a.act_mults = out; break;
    case LayerKind::kBatchNorm: a.act_adds = out; a.act_mults = out; break;
    case LayerKind::kAdd: a.act_adds = out; break;
    case LayerKind::kLayerNorm: {
      // Per element: 1 add for the mean's sum, 1 for x - mean, 1 mult to square it, 1 add for
      // the variance's sum, 1 mult by 1/sqrt(var + eps); an affine weight and bias add 1 mult
      // and 1 add. Per normalized group one 1/sqrt (a function).
      const bool affine = !l.gamma.empty() || !l.beta.empty();
      double n = 1;
      for (int d : l.norm_shape) n *= d;
      const double groups = out / n;
      a.act_adds = out * (affine ? 4 : 3) + groups * kFunctionOps;
      a.act_mults = out * (affine ? 3 : 2) + groups * kFunctionOps;
      break;
    }
    case LayerKind::kAdaptiveAvgPool: {
      // Each output sums its bin (torch's bins, which may overlap) and scales it by 1/size.
      const Shape in = l.inputs[0] < 0 ? net.input_shape() : net.output_shape(l.inputs[0]);
      double rows = 0, cols = 0;
      for (int oh = 0; oh < o.h; ++oh) {
        const auto bin = adaptive_pool_bin(oh, in.h, o.h);
        rows += bin.second - bin.first;
      }
      for (int ow = 0; ow < o.w; ++ow) {
        const auto bin = adaptive_pool_bin(ow, in.w, o.w);
        cols += bin.second - bin.first;
      }
      a.act_adds = double(o.c) * rows * cols - out;
      a.act_mults = out;
      break;
    }
    default: break;
  }
}

int ceil_log2(int n) {
  int b = 0;
  while ((1LL << b) < n) ++b;
  return b;
}

}  // namespace

int shift_add_width(const TileSpec& spec) {
  const Dac dac(spec.dac);
  if (dac.is_ideal() || spec.adc.bits == 0) return 0;  // ideal converters: no digital datapath to size
  const int in_bits = ceil_log2(dac.max_code() + 1), plane_bits = ceil_log2(dac.plane_max_code() + 1);
  const bool sign = spec.conversion_groups() > spec.slices() || spec.dac.signed_mode == "two_pass";
  return spec.adc.bits + (in_bits - plane_bits) + spec.slice_bits() * (spec.slices() - 1) + (sign ? 1 : 0);
}

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
  std::vector<LayerActions> out = network_actions(net, activation_bits);
  // Input vectors per inference of each layer: output positions of a conv, 1 for a linear.
  std::vector<double> vectors(out.size(), 1.0);
  for (const LayerMapping& m : mapping.layers()) {
    const TileSpec& spec = mapping.spec(m.layer);
    const Dac dac(spec.dac);
    const int P = dac.num_planes();
    const int sa_bits = shift_add_width(spec);
    const Layer& l = net.layers()[std::size_t(m.layer)];
    const Shape& o = net.output_shape(m.layer);
    const double v = l.kind == LayerKind::kConv2d ? double(o.h) * o.w : 1.0;
    vectors[std::size_t(m.layer)] = v;
    LayerActions& a = out[std::size_t(m.layer)];
    a.on_tiles = true;
    a.arrays = m.arrays;
    a.replication = m.replication;
    a.utilization = m.utilization();
    a.buffer_read_bits = v * double(l.matrix_rows()) * l.groups * activation_bits;
    a.acc_adds += v * double(l.out_ch) * (m.row_blocks - 1);
    a.sequential_passes = v * P * std::min(m.groups_per_array, m.groups);
    a.shift_add_bits = sa_bits;
    a.partial_sum_bits = sa_bits + ceil_log2(m.row_blocks);
  }
  // Planes and conversion groups per layer, from its TileSpec once (a Dac is not free to build).
  std::vector<std::pair<int, int>> planes_groups(out.size(), {0, 0});
  for (const LayerMapping& m : mapping.layers()) {
    const TileSpec& spec = mapping.spec(m.layer);
    planes_groups[std::size_t(m.layer)] = {Dac(spec.dac).num_planes(), spec.conversion_groups()};
  }
  for (const Placement& p : mapping.placements()) {
    const TileSpec& spec = mapping.spec(p.layer);
    const auto [P, G] = planes_groups[std::size_t(p.layer)];
    LayerActions& a = out[std::size_t(p.layer)];
    const double v = vectors[std::size_t(p.layer)], conv = spec.converted_columns(p.cols);
    a.cell_reads += v * P * double(p.rows) * spec.physical_columns(p.cols);
    a.dac_conversions += v * P * double(p.rows);
    a.bitline_charges += v * P * double(spec.physical_columns(p.cols));
    a.adc_conversions += v * P * conv;
    a.shift_adds += v * double(p.cols) * (double(P) * G - 1);
    a.conversions_per_adc = std::max(a.conversions_per_adc, int(std::min<double>(conv, spec.adc.columns_per_adc)));
  }
  // Digital conv/linear layers (mapping/mapping.h LayerHardware): each MAC a multiply at
  // activation precision and an add at accumulator precision on the digital lanes; the
  // weights held on chip and each read once per inference (weight stationary at the lanes).
  for (int d : mapping.digital_layers()) {
    const Layer& l = net.layers()[std::size_t(d)];
    LayerActions& a = out[std::size_t(d)];
    const double weights = double(l.matrix_rows()) * l.matrix_cols() * l.groups;
    a.act_mults += double(a.macs);
    a.acc_adds += double(a.macs);
    a.digital_weight_bits = weights * activation_bits;
    a.buffer_read_bits += a.digital_weight_bits;
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
    a.activity = c.dac_conversions ? double(c.driven_rows) / double(c.dac_conversions) : 0.0;
    a.activity_measured = true;
    a.cell_energy_J = c.cell_energy_J() / n;
    a.cell_energy_measured = true;
  }
  return out;
}

}  // namespace mho
