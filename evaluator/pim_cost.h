// Energy, area, latency and throughput of a network mapped on PIM tiles.
//
// Energy per inference = sum of actions x per-action energy (evaluator/tech_table.h):
//   arrays        measured by a run: sum over passes of t_read sum_ij V_i I_ij with the actual
//                 drive levels and programmed conductances (crossbar/counters.h); from shapes:
//                 cell reads x v_read^2 x G_mean x t_read, G_mean = (g_min + g_max) / 2 (every
//                 biased cell at full read voltage: an upper bound for multi-level inputs);
//   dacs          row drives x DAC energy at the bits resolved per pass;
//   adcs          conversions x ADC energy (type and bits from the table);
//   shift_add     recombination adds at accumulator precision;
//   digital       partial-sum and bias adds (accumulator precision), activation ops;
//   buffers       SRAM bits read + written, at the energy per bit of the buffer's capacity;
//   interconnect  the same bits moved half the chip's side on average;
//   offchip       the input read from and the output written to DRAM (weights stay on chip).
// Area: arrays (cells: rows x cols x area_F2 x F_cell^2), converters (one ADC per
// columns_per_adc conversion columns, one DAC per row), periphery (one shift-add unit per
// ADC, digital lanes: adder + multiplier), buffers (SRAM holding the activations: every
// layer's output map when layers are pipelined, else twice the largest input + output).
// Latency: a pass takes t_read (the cell's read pulse) plus the conversions one ADC performs
// in sequence x its conversion time; a layer runs sequential_passes passes / replication, its
// digital work on `digital_lanes` ops per clock in parallel; the latency of one inference is
// the sum over layers; throughput is 1 / (slowest layer) when layers are pipelined, else
// 1 / latency.
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

  void validate() const;
  std::string repr() const;
};

CostReport evaluate_pim(const Network& net, const Mapping& mapping, const std::vector<LayerActions>& actions,
                        const TechTable& tech, const PimSystemSpec& sys);

}  // namespace mho
