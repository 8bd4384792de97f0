#include "evaluator/periphery.h"

#include <algorithm>
#include <cmath>
#include <stdexcept>

#include "adc_dac/dac.h"
#include "evaluator/interconnect.h"
#include "evaluator/pim_cost.h"
#include "evaluator/pipeline.h"

namespace mho {

namespace {

// NeuroSim V1.4 MultilevelSenseAmp.cpp, GetColumnPower at technode 22 (current mode): the
// static power of one amplifier's column path in three fitted regions of the column
// resistance, times the unit's levelOutput - 1 amplifiers.
double column_power_one(double r) {
  if (r < 4832) return -2.85373e-11 * r + 9.16744e-7;
  if (r < 379269) return -1.63133e-7 * std::log(r) + 2.1687e-6;
  return -5.8712e-8 * std::log(r) + 8.64648e-7;
}

// NeuroSim V1.4 MultilevelSenseAmp.cpp, ColumnLatency_Table at technode 22: settling time of a
// column of resistance r (s), below the column-capacitance region (12.7 kOhm and above adds a
// capacitance term NeuroSim reaches only with fewer parallel rows; not modelled, so refused).
double column_latency(double r) {
  return r < 4832 ? -1.32118e-10 * std::log(r) + 1.7552e-9 : 8.02517e-15 * r + 8.51803e-10;
}

// NeuroSim's references for a unit of `levels` = 2^b - 1 amplifiers with `rows` rows read in
// parallel: the i-th is the conductance (1 - i / 2^b) rows G_on (MultilevelSenseAmp.cpp, Rref).
double reference_ohm(double r_on, int rows, int levels, int i) {
  return (r_on / rows) / (1.0 - double(i) / (levels + 1));
}

}  // namespace

double msa_column_power_W(double r_ohm, int levels) { return std::max(0.0, column_power_one(r_ohm)) * levels; }

double msa_conversion_time_s(double r_on_ohm, int rows, int levels) {
  // NeuroSim takes the larger of the times at the second-smallest and the largest reference.
  const double t = std::max(column_latency(reference_ohm(r_on_ohm, rows, levels, 1)),
                            column_latency(reference_ohm(r_on_ohm, rows, levels, levels - 1)));
  return t;
}

double msa_reference_power_W(double r_on_ohm, int rows, int levels, int shared_by) {
  double p = 0;
  for (int i = 1; i < levels - 1; ++i) p += msa_column_power_W(reference_ohm(r_on_ohm, rows, levels, i), levels);
  return p / shared_by;
}

Periphery::Periphery(const TileSpec& spec, const TechTable& tech, const PimSystemSpec& sys)
    : spec_(spec), tech_(tech), sys_(sys) {
  msa_ = sys.adc_type == "multilevel_sa";
  switch_matrix_ = sys.row_driver == "switch_matrix";
  mux_ = sys.column_mux == "transmission_gate" && spec.adc.columns_per_adc > 1;
  level_shifters_ = sys.write_voltage_V > 1.5;
  adder_register_ = sys.accumulation == "adder_register";
  register_file_ = sys.buffer_type == "register_file";
  xy_bus_ = sys.interconnect == "xy_bus";
  htree_ = sys.tile_interconnect == "htree";
  if (xy_bus_ || htree_) {
    const char* by = xy_bus_ ? "interconnect xy_bus" : "tile_interconnect htree";
    const RepeaterDevice dev{fig("repeater_unit_on_resistance_ohm", by), fig("repeater_unit_input_cap_fF", by),
                             fig("repeater_unit_output_cap_fF", by), fig("repeater_unit_area_um2", by)};
    c_wire_ = fig("bus_wire_cap_fF_per_um", by);
    pitch_ = fig("bus_wire_pitch_um", by);
    leak_unit_W_ = fig("repeater_unit_leakage_pW", by);
    wire_ = mho::repeated_wire(dev, fig("bus_wire_res_ohm_per_um", by), c_wire_, sys.repeater_delay_tolerance);
  }
  if (htree_)
    for (int i = 1; i <= sys.tile_routing_layers; ++i)
      over_array_pitches_.push_back(
          fig(("over_array_layer" + std::to_string(i) + "_pitch_um").c_str(), "tile_routing_layers"));
  layout_box_ = sys.area_model == "layout_box";
  const Dac dac(spec.dac);
  planes_ = dac.num_planes();
  groups_ = spec.conversion_groups();
  sa_bits_ = shift_add_width(spec);
  adcs_ = spec.adcs_per_array();
  cpa_ = spec.adc.columns_per_adc;
  outputs_ = spec.max_outputs();
  // Cell layout: area_F2 F^2 as width / height = cell_aspect.
  const double area = spec.cell.area_F2 * spec.cell.feature_size_m * spec.cell.feature_size_m;
  cell_w_m_ = std::sqrt(area * sys.cell_aspect);
  cell_h_m_ = std::sqrt(area / sys.cell_aspect);
  if (msa_) {
    if (std::abs(tech.node_m - 22e-9) > 1e-12)
      throw std::invalid_argument("PimSystemSpec.adc_type = 'multilevel_sa': its power and latency fits are "
                                  "NeuroSim V1.4's at 22 nm; the tech node is " + tech.node);
    const double r_on = 1.0 / spec.cell.g_max_S;
    const double r_top = reference_ohm(r_on, spec.rows, (1 << spec.adc.bits) - 1, (1 << spec.adc.bits) - 2);
    if (r_top >= 12.7e3)
      throw std::invalid_argument("PimSystemSpec.adc_type = 'multilevel_sa': the largest reference, " +
                                  std::to_string(r_top) + " ohm (r_on / rows / (1 - (2^b - 2) / 2^b)), reaches "
                                  "NeuroSim's column-capacitance region (>= 12.7 kOhm), which is not modelled");
  }
}

double Periphery::fig(const char* name, const char* needed_by) const { return tech_.periphery_figure(name, needed_by); }

double Periphery::adc_J(const LayerActions& a, double act, double table_J) const {
  if (!msa_) return a.adc_conversions * table_J;
  if (a.bitline_charges <= 0) return 0.0;
  const int levels = (1 << spec_.adc.bits) - 1;
  // Rows each converted column sums: the placement's biased rows, the activity's share driven.
  const double driven = std::max(1e-9, act * a.cell_reads / a.bitline_charges);
  const double r_acc = fig("msa_access_resistance_ratio", "adc_type multilevel_sa") / spec_.cell.g_max_S;
  // Half of the driven cells in the low-resistance state (an unsigned 1-bit weight slice's mean).
  const double g = 0.5 / (1.0 / spec_.cell.g_max_S + r_acc) + 0.5 / (1.0 / spec_.cell.g_min_S + r_acc);
  const double r_col = 1.0 / (driven * g);
  const double r_on = 1.0 / spec_.cell.g_max_S;
  const double t = msa_conversion_time_s(r_on, spec_.rows, levels);
  const double p = msa_column_power_W(r_col, levels) +
                   msa_reference_power_W(r_on, spec_.rows, levels, int(fig("msa_reference_shared_by_ratio", "adc_type multilevel_sa")));
  const double e = levels * fig("msa_switching_per_level_fJ", "adc_type multilevel_sa") + p * t;
  return a.adc_conversions * e;
}

double Periphery::wordline_passes(const LayerActions& a) const {
  return mux_ ? std::max(1, a.conversions_per_adc) : 1.0;
}

double Periphery::row_drivers_J(const LayerActions& a, double act, double dac_J) const {
  if (!switch_matrix_) return a.dac_conversions * act * dac_J;
  return a.dac_conversions * (fig("wl_switch_matrix_per_row_fJ", "row_driver switch_matrix") +
                              act * wordline_passes(a) * fig("wl_switch_matrix_per_driven_row_pass_fJ", "row_driver switch_matrix"));
}

double Periphery::column_mux_J(const LayerActions& a) const {
  if (!mux_) return 0.0;
  // The decoder switches once per mux pass of an array: conversions / (ADCs x columns each).
  const double passes = a.adc_conversions / double(adcs_);
  return a.adc_conversions * fig("column_mux_per_conversion_fJ", "column_mux") +
         passes * fig("mux_decoder_per_pass_fJ", "column_mux");
}

double Periphery::mean_weight_stage_bits() const {
  return spec_.adc.bits + spec_.slice_bits() * groups_ / 2.0;
}

double Periphery::shift_add_J(const LayerActions& a, double table_J) const {
  if (!adder_register_) return a.shift_adds * table_J;
  const double per_bit = fig("adder_per_bit_fJ", "accumulation adder_register") +
                         fig("dff_per_bit_fJ", "accumulation adder_register");
  // Of an output's P G - 1 adds, P (G - 1) combine its weight slices, P - 1 its input bits.
  const double pg = double(planes_) * groups_ - 1;
  const double w_share = pg > 0 ? planes_ * (groups_ - 1.0) / pg : 0.0;
  return a.shift_adds * per_bit * (w_share * mean_weight_stage_bits() + (1 - w_share) * sa_bits_);
}

double Periphery::partial_sum_add_J(int bits, double table_J) const {
  if (!adder_register_) return table_J;
  return bits * (fig("adder_per_bit_fJ", "accumulation adder_register") + fig("dff_per_bit_fJ", "accumulation adder_register"));
}

double Periphery::buffers_J(const LayerActions& a, double sram_J_per_bit) const {
  if (!register_file_) return (a.buffer_read_bits + a.buffer_write_bits) * sram_J_per_bit;
  const double r = fig("rf_read_per_bit_fJ", "buffer_type register_file");
  const double wg = fig("rf_write_global_per_bit_fJ", "buffer_type register_file");
  const double wl = fig("rf_write_local_per_bit_fJ", "buffer_type register_file");
  const int L = sys_.buffer_levels;
  return a.buffer_write_bits * wg + a.buffer_read_bits * (L * r + (L - 1) * wl);
}

double Periphery::repeated_wire_J_per_bit_m() const {
  return 0.5 * c_wire_ * (1.0 + wire_.cap_ratio) * tech_.vdd_V * tech_.vdd_V;
}

// Table figures are in SI units once loaded (evaluator/tech_table.h).
double Periphery::wire_footprint_m() const { return pitch_ + wire_.area_per_m; }

double Periphery::interconnect_J(const LayerActions& a, double distance_m, double table_J_per_bit_m) const {
  const double bits = a.buffer_read_bits + a.buffer_write_bits;
  if (!xy_bus_) return bits * table_J_per_bit_m * distance_m;
  return (a.buffer_read_bits * sys_.input_toggle + a.buffer_write_bits * sys_.output_toggle) *
         repeated_wire_J_per_bit_m() * distance_m;
}

double Periphery::tile_wires(const TileShape& shape) const { return tile_root_wires(sys_, spec_, shape); }

double Periphery::tile_htree_J(double in_bits, double out_bits, double path_m) const {
  if (!htree_) return 0.0;
  return (in_bits * sys_.input_toggle + out_bits * sys_.output_toggle) *
         repeated_wire_J_per_bit_m() * path_m;
}

double Periphery::tile_htree_path_m(double arrays, double array_area, const TileShape& shape) const {
  const double full = shape.arrays();
  return mho::tile_htree_path_m(std::min(arrays, full), array_area);
}

namespace {
// f(n) summed over the tiles a layer's `arrays` fill: full tiles of `full` arrays, then the
// partial one.
template <typename F>
double over_tiles(double arrays, double full, F f) {
  const double tiles = std::floor(arrays / full), rest = arrays - tiles * full;
  return tiles * f(full) + (rest > 0 ? f(rest) : 0.0);
}
}  // namespace

double Periphery::tile_htree_wire_m(double arrays, double array_area, const TileShape& shape) const {
  if (!htree_ || !(arrays > 0)) return 0.0;
  // B n / T wires of d(n) in a tile of n arrays.
  const double per_array = tile_wires(shape) / shape.arrays();
  return over_tiles(arrays, shape.arrays(),
                    [&](double n) { return per_array * n * mho::tile_htree_path_m(n, array_area); });
}

double Periphery::tile_htree_area(double arrays, double array_area, const TileShape& shape) const {
  if (!htree_ || !(arrays > 0)) return 0.0;
  // A tile of n arrays: B n / T wires of d(n), each with its repeaters, and the tracks of the
  // share that does not fit over the tile's side S = sqrt(n a).
  return over_tiles(arrays, shape.arrays(), [&](double n) {
    const double wires = tile_wires(shape) * n / shape.arrays();
    const double share = htree_track_share(wires, htree_levels(n), std::sqrt(n * array_area), over_array_pitches_);
    return wires * mho::tile_htree_path_m(n, array_area) * (wire_.area_per_m + share * pitch_);
  });
}

double Periphery::repeater_leakage_W(double wire_m) const {
  return wire_.spacing_m > 0 ? wire_m * wire_.size / wire_.spacing_m * leak_unit_W_ : 0.0;
}

double Periphery::bus_wire_m(double side_m) const { return xy_bus_ ? sys_.bus_width_bits * 2.0 * side_m : 0.0; }

double Periphery::row_drivers_area(double dac_area) const {
  if (!switch_matrix_) return spec_.rows * dac_area;
  return spec_.rows * fig("wl_switch_matrix_area_per_row_um2", "row_driver switch_matrix") +
         spec_.cols * fig("sl_switch_matrix_area_per_col_um2", "row_driver switch_matrix");
}

double Periphery::column_mux_area() const {
  if (!mux_) return 0.0;
  return adcs_ * fig("column_mux_area_per_adc_um2", "column_mux") + fig("mux_decoder_area_um2", "column_mux");
}

double Periphery::level_shifters_area() const {
  if (!level_shifters_) return 0.0;
  // Word lines (one per row), bit and source lines (one each per column).
  return (spec_.rows + 2.0 * spec_.cols) * fig("level_shifter_area_per_line_um2", "write_voltage_V > 1.5");
}

double Periphery::shift_add_area(double table_unit) const {
  if (!adder_register_) return adcs_ * table_unit;
  const double per_bit = fig("adder_area_per_bit_um2", "accumulation adder_register") +
                         fig("dff_area_um2", "accumulation adder_register");
  // One weight-slice and one input-bit shift-add unit per ADC, each an adder and its register.
  return adcs_ * per_bit * (mean_weight_stage_bits() + sa_bits_);
}

double Periphery::adder_tree_area() const {
  if (!adder_register_) return 0.0;
  const double per_bit = fig("adder_area_per_bit_um2", "accumulation adder_register") +
                         fig("dff_area_um2", "accumulation adder_register");
  return outputs_ * per_bit * (sa_bits_ + 1);
}

double Periphery::buffers_area(double bits, double sram_bit_area) const {
  if (!register_file_) return bits * sram_bit_area;
  return bits * fig("rf_area_per_bit_um2", "buffer_type register_file");
}

double Periphery::interconnect_area(double side_m) const {
  if (!xy_bus_) return 0.0;
  return bus_wire_m(side_m) * wire_footprint_m();
}

double Periphery::white_space_per_array(double adc_area, double sa_area, double driver_area) const {
  if (!layout_box_) return 0.0;
  const double H = spec_.rows * cell_h_m_, W = spec_.cols * cell_w_m_;
  const double ls_line = level_shifters_ ? fig("level_shifter_area_per_line_um2", "write_voltage_V > 1.5") : 0.0;
  const double sl_sm = switch_matrix_ ? spec_.cols * fig("sl_switch_matrix_area_per_col_um2", "row_driver switch_matrix") : 0.0;
  const double wl_sm = switch_matrix_ ? driver_area - sl_sm : driver_area;
  // Column pitch: under the array; row pitch: beside it (NeuroSim SubArray.cpp CalculateArea).
  const double below = adc_area + sa_area + column_mux_area() + sl_sm + spec_.cols * ls_line;
  const double beside = wl_sm + (spec_.rows + spec_.cols) * ls_line;
  const double box = (H + below / W) * (W + beside / H);
  return box - (H * W + below + beside);
}

double Periphery::leakage_W(double arrays, double buffer_bits) const {
  double per_array = 0;
  if (switch_matrix_) per_array += spec_.rows * fig("wl_switch_matrix_leakage_per_row_pW", "row_driver switch_matrix");
  if (mux_) per_array += fig("mux_decoder_leakage_pW", "column_mux");
  if (msa_) per_array += adcs_ * fig("msa_encoder_leakage_per_adc_pW", "adc_type multilevel_sa");
  if (adder_register_)
    per_array += (adcs_ * (mean_weight_stage_bits() + sa_bits_) + outputs_ * (sa_bits_ + 1.0)) *
                 (fig("adder_leakage_per_bit_pW", "accumulation adder_register") +
                  fig("dff_leakage_per_bit_pW", "accumulation adder_register"));
  double w = arrays * per_array;
  if (register_file_) w += buffer_bits * fig("rf_leakage_per_bit_pW", "buffer_type register_file");
  return w;
}

}  // namespace mho
