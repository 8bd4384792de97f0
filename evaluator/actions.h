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
// their outputs.
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
  // Tile actions per inference.
  double cell_reads = 0, dac_conversions = 0, adc_conversions = 0, shift_adds = 0;
  // Energy the cells dissipated, measured by a run (crossbar/counters.h); shape counts leave
  // it unmeasured and the cost model bounds it from cell_reads.
  double cell_energy_J = 0;
  bool cell_energy_measured = false;
  // Digital actions per inference.
  double acc_adds = 0;        // at accumulator precision
  double act_adds = 0;        // adds and compares at activation precision
  double act_mults = 0;
  double buffer_read_bits = 0, buffer_write_bits = 0;
  // Latency ingredients: analog passes in sequence per inference on one copy of the layer
  // (input vectors x planes x packed groups sharing an array) and, per pass, the most
  // conversions one ADC performs in sequence.
  double sequential_passes = 0;
  int conversions_per_adc = 0;
  long long input_elements = 0, output_elements = 0;
};

// The layer-shape part alone (digital work, buffer traffic, MACs; no tile actions): what a
// digital accelerator shares with the PIM system.
std::vector<LayerActions> network_actions(const Network& net, int activation_bits);

std::vector<LayerActions> shape_actions(const Network& net, const Mapping& mapping, int activation_bits);

// The same with the tile actions replaced by measured counts (per layer, since program())
// divided by the number of inferences that produced them.
std::vector<LayerActions> measured_actions(const Network& net, const Mapping& mapping, int activation_bits,
                                           const std::map<int, TileCounters>& per_layer, long long inferences);

}  // namespace mho
