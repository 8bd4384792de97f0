// Per-inference action counts of each layer of a network on a mapping: the "count" step of
// config -> program -> run -> count -> report.
//
// shape_actions() computes them from layer shapes and the mapping alone (no weights needed):
// for each placement of a conv/linear layer and each input vector it sees (out_h * out_w per
// image for a conv, 1 for a linear layer), P analog passes (DAC planes, twice for two-pass
// signed inputs) each bias the placement's rows x physical columns of cells, drive its rows
// once and convert its conversion columns once; shift-and-add recombines P x (conversion
// groups) partial results per output. The tile counts the same actions when it runs
// (crossbar/counters.h), so measured() replaces the computed tile counts with those of a
// simulation run and tests check that both agree.
// Digital work: partial sums of row blocks and one bias add per output at accumulator
// precision; ReLU (1 compare per output), max pool (k-1 compares), average pool (k-1 adds and
// 1 multiply), unfolded BatchNorm (1 multiply + 1 add), residual add (1 add per output) at
// activation precision; flatten and concat are views and cost nothing. Buffer traffic: a
// conv/linear layer reads its im2col input vectors (each element once; the input is broadcast
// to its column blocks) and writes its outputs; other layers read their inputs and write
// their outputs. A conv/linear layer the mapping keeps digital (per-layer hardware) does its
// MACs on the digital lanes (a multiply at activation precision, an add at accumulator
// precision) and reads its weights, held on chip, once per inference. With per-layer
// hardware every layer's tile actions follow its own TileSpec.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "crossbar/counters.h"
#include "mapping/mapping.h"
#include "nets/network.h"

namespace mho {

struct LayerActions {
  int layer = 0;
  std::string name, kind;
  long long macs = 0;
  bool on_tiles = false;
  int arrays = 0;             // including replicas
  int replication = 1;
  double utilization = 0.0;   // of the layer's arrays
  // Tile actions per inference. cell_reads and dac_conversions count every row a pass biases;
  // a row whose input bit (plane code) is zero draws no current and its driver does not
  // switch, so the energy is theirs times the activity (driven rows / biased rows per pass).
  double cell_reads = 0, dac_conversions = 0, adc_conversions = 0, shift_adds = 0;
  // Measured by a run: rows driven with a nonzero code (crossbar/counters.h) over the row
  // drives; from shapes it is unknown (activity_measured false) and the system's stated
  // activity applies (PimSystemSpec::input_activity).
  double activity = 1.0;
  // Bit lines biased per inference (a placement's physical columns, once per pass): each
  // charges its line's capacitance to v_read (evaluator/pim_cost.h, `wires`).
  double bitline_charges = 0;
  bool activity_measured = false;
  // Real widths of the recombination (evaluator/pim_cost.h): the shift-and-add result of an
  // output (ADC bits + input-code shifts + slice shifts + a sign bit with two-pass inputs or
  // digital subtraction) and the partial sums over row blocks (+ ceil(log2(row_blocks))).
  int shift_add_bits = 0, partial_sum_bits = 0;
  // Energy the cells dissipated, measured by a run (crossbar/counters.h); shape counts leave
  // it unmeasured and the cost model bounds it from cell_reads.
  double cell_energy_J = 0;
  bool cell_energy_measured = false;
  // Digital actions per inference.
  double acc_adds = 0;        // at accumulator precision
  double act_adds = 0;        // adds and compares at activation precision
  double act_mults = 0;
  double buffer_read_bits = 0, buffer_write_bits = 0;
  // A digital conv/linear layer's weights, held on chip for the digital datapath (bits).
  double digital_weight_bits = 0;
  // Latency ingredients: analog passes in sequence per inference on one copy of the layer
  // (input vectors x planes x packed groups sharing an array) and, per pass, the most
  // conversions one ADC performs in sequence: a placement converts its columns on the ADCs
  // of those columns (columns_per_adc adjacent columns share one, a placement starting on an
  // ADC boundary), so it is min(converted columns, columns_per_adc), not its columns spread
  // over all of the array's ADCs.
  double sequential_passes = 0;
  int conversions_per_adc = 0;
  long long input_elements = 0, output_elements = 0;
};

// The layer-shape part alone (digital work, buffer traffic, MACs; no tile actions): what a
// digital accelerator shares with the PIM system.
std::vector<LayerActions> network_actions(const Network& net, int activation_bits);

// Bits of one output's shift-and-add result on this tile (0 with an ideal DAC or ADC).
int shift_add_width(const TileSpec& spec);

std::vector<LayerActions> shape_actions(const Network& net, const Mapping& mapping, int activation_bits);

// The same with the tile actions replaced by measured counts (per layer, since program())
// divided by the number of inferences that produced them.
std::vector<LayerActions> measured_actions(const Network& net, const Mapping& mapping, int activation_bits,
                                           const std::map<int, TileCounters>& per_layer, long long inferences);

}  // namespace mho
