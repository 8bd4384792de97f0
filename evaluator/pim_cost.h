// Energy, area, latency and throughput of a network mapped on PIM tiles.
//
// Energy per inference = sum of actions x per-action energy (evaluator/tech_table.h):
//   arrays        measured by a run: sum over passes of t_read sum_ij V_i I_ij with the actual
//                 drive levels and programmed conductances (crossbar/counters.h); from shapes:
//                 cell reads x activity x v_read^2 x G_mean x t_read, G_mean = (g_min + g_max)
//                 / 2 (a driven cell at full read voltage: an upper bound for multi-level
//                 planes); a zero input bit drives no row, so only the activity's share of
//                 the biased cells conducts. Charge accumulation (crossbar/charge_domain.h):
//                 what the passes draw from V_DD to charge the cells' capacitors; from shapes
//                 cell reads x activity x C_u V_DD^2 x the mean supply charge of a cell over
//                 uniformly stored levels (1/2, L/2 binary-weighted, the C-2C ladder's mean);
//                 an upper bound for multi-level planes as above;
//   dacs          row drives x activity x DAC energy at the bits resolved per pass;
//   adcs          conversions x ADC energy (type and bits from the table: survey SAR, flash,
//                 or NeuroSim's column-pitch multilevel sense amplifier);
//   shift_add     recombination adds at their real width (LayerActions::shift_add_bits, at
//                 most accumulator_bits), the tech table's adder energy at that width;
//   digital       partial-sum and bias adds at the partial-sum width, activation ops;
//   buffers       SRAM bits read + written, each layer's at the energy per bit of an SRAM
//                 holding that layer's own input and output (its tile buffer), not the chip's
//                 whole activation storage;
// Activity (shapes): the fraction of a pass's rows driven with a nonzero code. Default 0.5:
// the probability that one bit of an unsigned code uniform over its range is 1; ReLU
// outputs (about half exactly zero, most of the rest small) set fewer bits, so for bit-serial
// ReLU inputs it is an upper estimate. A run measures it exactly (TileCounters::driven_rows).
//   interconnect  the same bits moved half the chip's side on average;
//   wires         word and bit lines charged (tech table `array_wires`): each driven row's
//                 word line, cols x pitch long, to Vdd (or the cell's wl_v_low_V ->
//                 wl_v_high_V, with its cells' wl_cell_cap_F and the wl_driver_cap_F on the
//                 line, devices/cell_spec.h); each biased bit line, rows x pitch,
//                 to v_read (charge accumulation: none, the cells' capacitors charge a shared
//                 line, not the supply); pitch = sqrt(area_F2) x F;
//   offchip       the input read from and the output written to DRAM (weights stay on chip);
//   leakage       the buffers' SRAM bits and the digital lanes at the node's static power
//                 (tech table `leakage`), times 1 / throughput (the chip time one inference
//                 holds in steady state; the latency when layers are not pipelined). The
//                 arrays and converters have no leakage figure in the table and add none.
// Area: arrays (cells: rows x cols x area_F2 x F_cell^2), converters (one ADC per
// columns_per_adc conversion columns, one DAC per row), periphery (one shift-add unit per
// ADC, digital lanes: adder + multiplier), buffers (SRAM holding the activations: every
// layer's output map when layers are pipelined, else twice the largest input + output).
// Latency: per layer and component (sensing, adc, digital, buffer, tile_buffer, interconnect) as
// evaluator/pipeline.h says: passes / copies x (t_read + conversions per shared ADC x
// conversion time), digital work on `digital_lanes` ops per clock, buffer traffic at
// buffer_lines_per_clock lines of buffer_line_bits per clock, bus traffic at bus_width_bits
// per clock; the latency of one inference is the sum over layers; throughput is 1 / (slowest
// layer: the pipeline cycle) when layers are pipelined, else 1 / latency. Copies per layer:
// the mapping's (system_replication() turns `replication` / `layer_replication` /
// `area_budget_mm2` into them; mho.cost.pim applies it).
#pragma once

#include <map>
#include <string>
#include <vector>

#include "evaluator/actions.h"
#include "evaluator/cost_report.h"
#include "evaluator/tech_table.h"

namespace mho {

struct PimSystemSpec {
  std::string adc_type = "sar";
  int activation_bits = 8;    // activations in buffers and digital ops
  int accumulator_bits = 32;  // shift-and-add, partial sums, biases
  int digital_lanes = 64;     // digital ops per clock
  bool pipeline_layers = true;
  bool offchip_io = true;
  int batch = 1;
  double input_activity = 0.5;        // driven rows / biased rows per pass, shape estimates
  std::vector<double> layer_activity;  // per network layer, overriding input_activity (or empty)
  // Selectable periphery components (evaluator/periphery.h); the defaults select none.
  std::string row_driver = "dac";         // "dac" | "switch_matrix"
  std::string column_mux = "none";        // "none" | "transmission_gate"
  double write_voltage_V = 0.0;           // > 1.5 V: write level shifters laid out
  std::string accumulation = "adder";     // "adder" | "adder_register"
  std::string buffer_type = "sram";       // "sram" | "register_file"
  int buffer_levels = 1;                  // register_file: global, tile, PE buffers ...
  std::string interconnect = "distance";  // "distance" | "xy_bus"
  // H-trees inside the tiles (evaluator/interconnect.h): "none" | "htree"; wires from the
  // tile's root (0: the tile's rows, tile_row_arrays x rows, one per word line of a row of
  // arrays, as NeuroSim's Tile.cpp sizes its tile H-tree: PEs x PE rows).
  std::string tile_interconnect = "none";
  int tile_bus_width_bits = 0;
  // Metal layers over a tile's arrays and periphery free for its H-tree (0: none, every tree
  // wire in a routing track of its own beside the arrays). Layer i's pitch is the node's
  // `over_array_layer<i>_pitch_um` figure (data/tech.yaml); the tree's area is its repeaters
  // plus the tracks of the wires that do not fit over the tile (evaluator/interconnect.h
  // htree_track_share).
  int tile_routing_layers = 0;
  // Repeaters of the xy_bus and the tile H-trees (evaluator/interconnect.h): the delay
  // allowed above the delay-optimal sizing to save energy (0: delay-optimal).
  double repeater_delay_tolerance = 0.0;
  double input_toggle = 0.5, output_toggle = 0.5;  // xy_bus: bits that toggle
  std::string area_model = "parts";       // "parts" | "layout_box"
  double cell_aspect = 1.0;               // cell width / height in the layout (word lines along the width)
  // Latency (evaluator/pipeline.h). Defaults: NeuroSim V1.4's (Param.cpp): register-file
  // buffer cores of 128-bit lines, its traffic spread over maxGlobalBusWidth / 128 = 16 of
  // them per clock (Chip.cpp), a 2048-bit global bus (maxGlobalBusWidth).
  double clock_hz = 0;  // buffers, bus and digital logic; 0: the tech table's clock
  bool synchronous = false;  // reads and conversions in whole clocks (evaluator/pipeline.h)
  int buffer_line_bits = 128;
  int buffer_lines_per_clock = 16;
  int bus_width_bits = 2048;  // bits per clock; xy_bus: its wires (area)
  // Tile buffer level (buffer_levels >= 2; evaluator/pipeline.h): arrays per tile along the
  // weight matrix's rows and columns, and its input and output buffers' lines. Defaults:
  // NeuroSim V1.4's tile buffer cores, 32-bit lines (Param.cpp tileBufferCoreSizeCol), one
  // core (one line per clock) each way; its conventionally mapped tile, 1024 x 1024 cells =
  // 8 x 8 arrays of 128 x 128 (its VGG-8 floor plan, docs/neurosim_v14_vgg8.md).
  int tile_row_arrays = 8, tile_col_arrays = 8;
  // A tile design per conv/linear layer, in order (empty: every layer on tile_row_arrays x
  // tile_col_arrays tiles): a floor plan may put a layer on tiles of another size, as NeuroSim
  // V1.4 puts its conventionally mapped layers on 1024 x 1024 tiles and the others on its
  // novel-mapped ones (Chip.cpp ChipInitialize, docs/validation.md). Each tile's H-tree has
  // its own rows' wires (tile_bus_width_bits 0) and its own side; the tile buffers' lines per
  // clock are the chip's for every tile design.
  std::vector<int> layer_tile_row_arrays, layer_tile_col_arrays;
  int tile_buffer_line_bits = 32;
  int tile_input_lines_per_clock = 1, tile_output_lines_per_clock = 1;
  // Weight duplication: "given" (layer_replication, one per conv/linear layer in order, or
  // 1 each when empty) or "auto" (balanced pipeline within area_budget_mm2).
  std::string replication = "given";
  std::vector<int> layer_replication;
  double area_budget_mm2 = 0;

  void validate() const;
  double activity(int layer) const {
    return layer_activity.empty() ? input_activity : layer_activity[std::size_t(layer)];
  }
  std::string repr() const;
};

// The tech-table ADC entry behind a system's ADC type: the multilevel sense amplifier's
// energy is a formula (evaluator/periphery.h), its area and conversion time the table's
// `sense_amp` entry.
inline std::string table_adc_type(const PimSystemSpec& sys) {
  return sys.adc_type == "multilevel_sa" ? "sense_amp" : sys.adc_type;
}

CostReport evaluate_pim(const Network& net, const Mapping& mapping, const std::vector<LayerActions>& actions,
                        const TechTable& tech, const PimSystemSpec& sys);

}  // namespace mho
