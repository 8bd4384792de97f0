// The digital baseline: a spatial accelerator with a pe_rows x pe_cols array of MAC units at
// `bits` precision, a register file per PE, a global buffer (SRAM), an on-chip weight storage
// (SRAM) and DRAM, costed from the same technology table as the PIM system.
//
// Weights. The weight storage holds the weights of whole layers, chosen first-fit in network
// order (a layer is resident if its weights fit what earlier resident layers left); resident
// weights are written once when the network is loaded (not counted per inference, as the
// PIM side's programming is not) and read from the weight storage. The other layers' weights
// stream from DRAM every batch: once, when they fit half the global buffer (staged there and
// re-read from it as the dataflow needs), else once per pass of the dataflow over them.
// Storage size: weight_storage = "auto" sizes it to the network's weights but at most
// weight_storage_budget_bytes (default 4 MiB, an assumption: accelerators carry 0.1-30 MB of
// SRAM); "fixed" uses weight_storage_bytes; "none" streams every weight (no weight storage).
// The report names each layer's weights resident or streamed and its DRAM bytes.
//
// Dataflow per conv/linear layer: weight_stationary, output_stationary or row_stationary
// (evaluator/dataflow.h: access counts per level from the layer's shape, the register file,
// half the global buffer for partial sums, and the tiling of least energy). Energy = counts x
// the level's energy per access: register file rf_access_per_mac x MAC and PE-to-PE
// pe_to_pe_per_mac x MAC (Eyeriss ratios, data/tech.yaml), global buffer and weight storage
// at the SRAM energy per bit of their capacity (Horowitz figures, data/tech.yaml; better
// sourced than the Eyeriss 6x), DRAM per bit (Horowitz). Words are `bits` wide, partial sums
// accumulator_bits. Buffer bits also travel half the chip's side (interconnect).
// A layer whose input and output (one image) do not fit the global buffer together exchanges
// them with DRAM. Other layers run on `digital_lanes` ops per clock, as in the PIM system.
//
// Batch: the dataflow sees N = batch images at once (weights reused across them); every
// figure is per inference (per batch / N). Latency per layer = max(compute cycles / N, DRAM
// transfer at dram_bandwidth_Bps, digital ops); layers run one after another on the one array,
// so throughput = 1 / latency. Utilization = MACs / (cycles x PEs).
// Leakage: SRAM bits (register files, global buffer, weight storage) x the node's leakage per
// bit plus MAC units (PEs and digital lanes) x leakage per unit (data/tech.yaml), times the
// latency of one inference.
#pragma once

#include <string>

#include "evaluator/actions.h"
#include "evaluator/cost_report.h"
#include "evaluator/tech_table.h"

namespace mho {

struct DigitalSpec {
  int pe_rows = 16, pe_cols = 16;
  int bits = 8;               // operands (weights and activations)
  int accumulator_bits = 32;
  int rf_bytes_per_pe = 64;
  double glb_bytes = 512.0 * 1024.0;
  double dram_bandwidth_Bps = 25.6e9;  // one DDR4-3200 channel (assumption)
  int digital_lanes = 64;
  int batch = 1;
  std::string dataflow = "weight_stationary";  // | output_stationary | row_stationary
  std::string weight_storage = "auto";         // | fixed | none
  double weight_storage_bytes = 0;             // for "fixed"
  double weight_storage_budget_bytes = 4.0 * 1024 * 1024;  // for "auto"

  void validate() const;
  std::string repr() const;
};

CostReport evaluate_digital(const Network& net, const TechTable& tech, const DigitalSpec& spec);

}  // namespace mho
