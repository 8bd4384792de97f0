// Latency of each layer on the PIM chip, by component, and the weight duplication that
// balances the layer pipeline within an area budget.
//
// A layer's latency per inference, stages in sequence (NeuroSim V1.4 likewise adds a
// layer's buffer and bus latency to its read latency, Chip.cpp ChipCalculatePerformance;
// docs/neurosim_v14_vgg8.md), with c copies of its arrays:
//   sensing       sequential passes / c x t_read (the cell's read pulse)
//   adc           sequential passes / c x conversions per shared ADC x conversion time
//   digital       partial-sum, bias and activation ops / digital_lanes clocks (the chip's
//                 lanes serve every copy)
//   buffer        ceil(read bits / (line bits x lines per clock)) + the same for the written
//                 bits, in clocks: one line per clock on each of the buffer's ports (a register
//                 file, as NeuroSim's synchronous buffers: Buffer.cpp CalculateLatency), shared
//                 by the copies
//   tile_buffer   with a tile buffer level (PimSystemSpec::buffer_levels >= 2): the busiest
//                 tile's input bits over (tile line bits x input lines per clock) plus its
//                 output bits over (tile line bits x output lines per clock), each rounded up
//                 to whole clocks (tile_buffer_traffic() below), shared by the copies
//   interconnect  ceil((read + written bits) / bus width) clocks on the chip's bus (NeuroSim's
//                 bits / bus width, XYBus.cpp), shared by the copies; with tile H-trees plus
//                 ceil(busiest tile's bits / its tree's wires) clocks (a repeated wire of a few
//                 mm settles within a clock; NeuroSim's HTree.cpp likewise rounds up to clocks)
//   latency = max(sensing + adc, digital) + buffer + tile_buffer + interconnect.
// The tile level (NeuroSim V1.4's chip -> tile -> PE hierarchy, Tile.cpp
// TileCalculatePerformance): a tile holds a block of up to tile_row_arrays x tile_col_arrays
// arrays (the layer's tile design: layer_tile_shapes() below) of a layer's weight matrix (row blocks x column blocks) and every copy of that block
// (NeuroSim duplicates inside the tile: its PE / subarray speed-up), so the copies share the
// tile's buffers and do not shorten their time (NeuroSim adds the tile buffers' latency after
// dividing the PE latency by the duplication). Per inference the tile's input buffer takes
// in, and hands to its arrays, every input vector's bits for the tile's rows; its output
// buffer takes and hands on every output of the tile's columns at the partial-sum width of
// the tile's rows (shift-add bits + ceil(log2(row blocks in the tile))). A register file with
// a write and a read port moves one line in and one line out per clock, so a bit costs one
// line slot (NeuroSim charges half of a buffer's lines as reads and half as writes,
// Tile.cpp `numBitToLoad / interface_width / 2`, one line per clock each in synchronous mode,
// Buffer.cpp CalculateLatency). Different blocks sit in different tiles and run in parallel:
// the layer's time is its busiest tile's.
// Synchronous (PimSystemSpec::synchronous, NeuroSim's default mode, Param.cpp `synchronous`):
// one clock for the whole chip, no faster than one conversion (NeuroSim sets it from the
// slowest sensing path), and every read pulse and conversion takes whole clocks.
// Copies divide the passes, not a pass: in steady state c copies work on c input vectors (of
// one image or, for a layer with fewer vectors than copies, of successive images in the
// pipeline), so the layer's time per inference is passes / c (not rounded up).
//
// Duplication (PimSystemSpec::replication = "auto"): minimize the pipeline cycle (the slowest
// layer's latency) subject to chip area <= area_budget_mm2. Each layer's latency is
// non-increasing in its copies and only the slowest layer's copies can shorten the cycle, so
// giving the slowest layer one more copy while the area allows, until it no longer gets faster
// or the next copy does not fit, reaches the least cycle the budget allows; then every layer
// keeps the fewest copies that meet that cycle (no copy is kept that buys nothing). Area per
// copy is what the evaluator reports for one copy of the layer's arrays and their
// periphery; the chip-wide parts (buffers, digital lanes) do not change with copies.
#pragma once

#include "mapping/mapping.h"

#include <functional>
#include <map>
#include <vector>

#include "evaluator/actions.h"
#include "evaluator/tech_table.h"

namespace mho {

struct PimSystemSpec;

struct LatencyModel {
  double t_read_s = 0, t_conversion_s = 0, t_clock_s = 0;
  double digital_lanes = 1, buffer_line_bits = 1, buffer_lines_per_clock = 1, bus_width_bits = 1;
  double tile_input_bits_per_clock = 1, tile_output_bits_per_clock = 1;  // line bits x lines per clock
};

struct LayerLatency {
  double sensing_s = 0, adc_s = 0, digital_s = 0, buffer_s = 0, tile_buffer_s = 0, interconnect_s = 0;
  double total_s() const;
};

// Bits one layer moves through its busiest tile's input and output buffers per inference
// (both 0 off tiles or without a tile level).
// With tile H-trees (PimSystemSpec::tile_interconnect = "htree") also the busiest tile's
// bits on its tree (the same in + out bits, whatever the buffer levels) and the tree's wires
// in that tile (its share of tile_bus_width_bits).
// Arrays per tile of one layer's tile design: tile_row_arrays x tile_col_arrays, or the layer's
// entries of layer_tile_row_arrays / layer_tile_col_arrays.
struct TileShape {
  int row_arrays = 8, col_arrays = 8;
  double arrays() const { return double(row_arrays) * col_arrays; }
};
TileShape tile_shape(const PimSystemSpec& sys);  // the chip's tile design
// One per network layer (the chip's tile design for layers that are not conv/linear). Throws,
// naming the field, when a non-empty layer_tile_* list has not one entry per conv/linear layer.
std::vector<TileShape> layer_tile_shapes(const Network& net, const PimSystemSpec& sys);

struct TileTraffic {
  double in_bits = 0, out_bits = 0;
  double tree_bits = 0, tree_wires = 0;
};
TileTraffic tile_buffer_traffic(const LayerActions& a, const LayerMapping& lm, const TileSpec& spec,
                                const PimSystemSpec& sys, const TileShape& shape);
// Width of a partial sum leaving a tile that adds `blocks_in_tile` row blocks of
// `shift_add_bits`-bit results: + ceil(log2(blocks_in_tile)) bits.
int tile_partial_sum_bits(int shift_add_bits, int blocks_in_tile);
// Wires from a full tile's root (its H-tree's B): tile_bus_width_bits, 0 meaning the tile's rows
// (shape.row_arrays x rows).
double tile_root_wires(const PimSystemSpec& sys, const TileSpec& spec, const TileShape& shape);

LatencyModel latency_model(const TileSpec& spec, const TechTable& tech, const PimSystemSpec& sys);

// One layer with `copies` copies of its arrays (copies >= 1; off-tile layers ignore it).
LayerLatency layer_latency(const LayerActions& a, const LatencyModel& m, double copies, const TileTraffic& tile = {});

// Copies per network layer (1 for layers not on tiles) that PimSystemSpec asks for:
// replication "given": layer_replication (one per conv/linear layer, in order) or 1 each;
// "auto": the balanced duplication within area_budget_mm2 (evaluator/pipeline.h). With
// per-layer hardware, digital layers get no copies (their layer_replication entry must be 1).
std::map<int, int> system_replication(const Network& net, const TileSpec& spec, const TechTable& tech,
                                      const PimSystemSpec& sys, const LayerHardware& hardware = {});

// The balancing rule alone: area_per_copy[i] of layer i, `fixed_area` the chip-wide rest,
// floor_s the slowest layer that cannot be duplicated (none is bought below it),
// max_copies[i] the copies beyond which layer i gets no faster; latency_of(i, c) is layer i's
// latency with c copies. Returns copies per layer (>= 1). Throws if one copy each exceeds the
// budget.
std::vector<int> balance_copies(const std::vector<double>& area_per_copy, double fixed_area, double budget,
                                double floor_s, const std::vector<int>& max_copies,
                                const std::function<double(std::size_t, int)>& latency_of);

}  // namespace mho
