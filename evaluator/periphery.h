// Selectable periphery components of a PIM chip (PimSystemSpec fields name them; the defaults
// select none and leave evaluate_pim as it was). Each reads its figures by name from the
// technology table's `periphery` entry of the node (data/tech.yaml, every figure with its
// source; at 22 nm NeuroSim V1.4's own component classes, docs/neurosim_v14_vgg8.md):
//
//   adc_type multilevel_sa  NeuroSim's current-mode multilevel sense amplifier with its
//       formula: E = (2^b - 1) E_sw + (P_col(R_col) + P_ref) t_conv per conversion, P_col the
//       fitted static power of the column path at the column's resistance R_col (the driven
//       rows' cells and access transistors in parallel, half of them in the low-resistance
//       state), P_ref the unit's share of its reference columns, t_conv the fitted settling
//       time at the extreme references. The column current is inside P_col, so the cells
//       draw no energy of their own (`arrays` is 0). Area and conversion time: the table's
//       `sense_amp` entry. The fits are NeuroSim's 22 nm ones (other nodes are refused).
//   row_driver switch_matrix  NeuroSim's word-line switch matrix (a DFF and transmission
//       gates per row) instead of a 1-bit DAC per row: a fixed energy per row and input bit
//       plus one per driven row and column-mux pass; plus the source-line switch matrix's area.
//   column_mux transmission_gate  columns_per_adc : 1 muxes in front of each ADC and their
//       decoder; the word lines (and the switch matrix's driven part) are charged again for
//       each mux pass, as NeuroSim does (its array energy x numColMuxed).
//   write_voltage_V > 1.5  word-, bit- and source-line level shifters laid out (NeuroSim's
//       rule, SubArray.cpp `cell.writeVoltage > 1.5`); area only, no read energy.
//   accumulation adder_register  every shift-add and partial-sum add is a ripple adder plus
//       the register holding its result, at its real width: the weight-slice stage at its
//       mean width (ADC bits + slice bits x slices / 2), the input-bit stage at the full
//       shift-add width, partial sums at theirs; adder trees (one partial-sum adder and
//       register per output of an array) in the area.
//   buffer_type register_file  DFF register files (NeuroSim's default) instead of SRAM: energy
//       per bit read and written, area and leakage per bit; buffer_levels levels (global,
//       tile, PE: each input bit written into and read from each level below the global one).
//   interconnect xy_bus  repeated wires: energy per bit and metre 0.5 (c_wire + c_repeaters)
//       Vdd^2 at the input / output toggle rates (NeuroSim Bus.cpp), the repeaters sized from the
//       table's minimum inverter and wire for repeater_delay_tolerance (evaluator/interconnect.h:
//       repeated_wire), over the same distance as
//       `distance` (half the chip's side: the mean Manhattan distance from a central buffer);
//       area: bus_width_bits wires along an X and a Y trunk of the chip's side, each wire at the
//       wire pitch plus its repeaters' area per metre.
//   tile_interconnect htree  an H-tree inside every tile (evaluator/interconnect.h): B wires
//       (tile_bus_width_bits; 0: the tile's rows) from the tile's buffers at its centre, each
//       to the leaf that needs it. A layer's arrays (copies included) fill tiles of
//       tile_row_arrays x tile_col_arrays arrays (or the layer's own tile design,
//       layer_tile_row_arrays / layer_tile_col_arrays), the last one partly; a tile of n arrays is a
//       square of their areas, its tree has B n / T wires (T: a full tile's arrays) of the
//       root-to-leaf length d(n), area B n / T x d(n) x (pitch + repeaters). Energy: each input
//       bit travels d once to the arrays of its rows in every tile column (each tile of a
//       layer's column blocks takes the inputs of its rows), each partial sum once from its
//       array back (at its tile width), at the bus's energy per bit and metre and toggle
//       rates. Latency: the busiest tile's bits over its wires, whole clocks (pipeline.h).
//   area_model layout_box  each array occupies its layout box, NeuroSim's floor plan: the
//       column-pitch parts (ADCs, muxes, shift-adds, source-line switch matrix and level
//       shifter) stacked under the array at its width, the row-pitch parts (row drivers,
//       word- and bit-line level shifters) beside it at its height; box = (H + sum of
//       heights) x (W + sum of widths), H and W from the cell's area and cell_aspect. The box
//       minus its parts is reported as `layout_white_space`.
// Leakage of every selected component (per row, per ADC, per bit) adds to CostReport::leakage_W.
#pragma once

#include <string>
#include <vector>

#include "crossbar/tile_spec.h"
#include "evaluator/actions.h"
#include "evaluator/interconnect.h"
#include "evaluator/tech_table.h"

namespace mho {

struct PimSystemSpec;
struct TileShape;

class Periphery {
 public:
  Periphery(const TileSpec& spec, const TechTable& tech, const PimSystemSpec& sys);

  bool cells_in_adc() const { return msa_; }
  // Energy per inference of one layer's components.
  double adc_J(const LayerActions& a, double activity, double table_energy_J) const;
  double row_drivers_J(const LayerActions& a, double activity, double dac_energy_J) const;
  double column_mux_J(const LayerActions& a) const;
  // Times each driven word line is charged per pass (1 without a column mux).
  double wordline_passes(const LayerActions& a) const;
  double shift_add_J(const LayerActions& a, double table_adder_J) const;
  // Energy of one partial-sum add at `bits` (adder_register), or the table's (`table_J`).
  double partial_sum_add_J(int bits, double table_J) const;
  double buffers_J(const LayerActions& a, double sram_J_per_bit) const;
  double interconnect_J(const LayerActions& a, double distance_m, double table_J_per_bit_m) const;
  // Tile H-trees (tile_interconnect htree; 0 otherwise): energy of in / out bits moved along a
  // root-to-leaf path of path_m, and the area of the trees of `arrays` arrays (a layer's, copies
  // included) of array_area_m2 each, and the root-to-leaf path of that layer's tile.
  bool tile_htree() const { return htree_; }
  // `shape`: the layer's tile design (evaluator/pipeline.h layer_tile_shapes).
  double tile_wires(const TileShape& shape) const;  // B: wires from a full tile's root
  double tile_htree_J(double in_bits, double out_bits, double path_m) const;
  double tile_htree_area(double arrays, double array_area_m2, const TileShape& shape) const;
  double tile_htree_wire_m(double arrays, double array_area_m2, const TileShape& shape) const;  // total wire length
  // Static power of the repeaters along `wire_m` metres of repeated wire (s / h repeaters of
  // size s per metre, s minimum inverters' leakage each).
  double repeater_leakage_W(double wire_m) const;
  double bus_wire_m(double chip_side_m) const;  // xy_bus: its wires' total length (0 otherwise)
  double tile_htree_path_m(double arrays, double array_area_m2, const TileShape& shape) const;

  // Areas per array (m^2), replacing or adding to evaluate_pim's parts.
  double row_drivers_area(double dac_area_m2) const;
  double column_mux_area() const;
  double level_shifters_area() const;
  double shift_add_area(double table_unit_m2) const;  // all of an array's shift-add units
  double adder_tree_area() const;
  // Chip-level parts.
  double buffers_area(double bits, double sram_bit_area_m2) const;
  double interconnect_area(double chip_side_m) const;
  // The white space of one array's layout box around its parts (0 for area_model parts).
  double white_space_per_array(double adc_area_m2, double shift_add_area_m2, double row_driver_area_m2) const;
  // The repeated wire of the xy_bus and the tile H-trees (zero without either).
  const RepeatedWire& repeated_wire() const { return wire_; }
  // Static power of the selected components on `arrays` arrays and `buffer_bits` bits.
  double leakage_W(double arrays, double buffer_bits) const;

 private:
  double fig(const char* name, const char* needed_by) const;
  double repeated_wire_J_per_bit_m() const;  // 0.5 c (1 + repeater ratio) Vdd^2
  double wire_footprint_m() const;          // pitch + repeater area per metre
  double mean_weight_stage_bits() const;

  const TileSpec& spec_;
  const TechTable& tech_;
  const PimSystemSpec& sys_;
  bool msa_ = false, switch_matrix_ = false, mux_ = false, level_shifters_ = false;
  bool adder_register_ = false, register_file_ = false, xy_bus_ = false, layout_box_ = false;
  bool htree_ = false;
  RepeatedWire wire_;  // the repeated wire of the bus and the trees (xy_bus or htree)
  std::vector<double> over_array_pitches_;  // htree: pitches of the layers free over the tiles
  double c_wire_ = 0, pitch_ = 0, leak_unit_W_ = 0;
  int sa_bits_ = 0, planes_ = 1, groups_ = 1, adcs_ = 1, cpa_ = 1, outputs_ = 1;
  double cell_h_m_ = 0, cell_w_m_ = 0;
};

// NeuroSim V1.4's 22 nm current-mode multilevel sense amplifier (MultilevelSenseAmp.cpp): the
// fitted static power of a column path with `levels` amplifiers at column resistance R (W),
// the settling time of the conversion (s, from the references of a full-scale column of
// `rows` cells at r_on), and the reference columns' power share per unit (W).
double msa_column_power_W(double r_ohm, int levels);
double msa_conversion_time_s(double r_on_ohm, int rows, int levels);
double msa_reference_power_W(double r_on_ohm, int rows, int levels, int shared_by);

}  // namespace mho
