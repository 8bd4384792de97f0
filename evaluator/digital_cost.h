// The digital baseline: a weight-stationary accelerator (TPU/NVDLA-like) with a pe_rows x
// pe_cols array of MAC units at `bits` precision, a register file per PE, a global buffer
// (SRAM) and DRAM, costed from the same technology table as the PIM system.
//
// Dataflow per conv/linear layer and group, weight matrix K x M (im2col), V input vectors per
// inference: the matrix is cut into ceil(K/pe_rows) x ceil(M/pe_cols) weight tiles; each tile
// is loaded from the global buffer into the PEs' register files (once per batch; weights come
// from DRAM once per batch), then the batch's V x batch input vectors stream through it:
// pe_rows cycles to load weights, V x batch cycles to stream, pe_rows + pe_cols to fill and
// drain. Each MAC reads its weight from the register file (Eyeriss ratio rf_access_per_mac)
// and passes its input and its partial sum to neighbours (2 x pe_to_pe_per_mac). The global
// buffer supplies every input vector element once per column tile and takes every row tile's
// partial sums (written once, read back for all but the first row tile). A layer whose input
// and output do not fit the global buffer together exchanges them with DRAM. Other layers
// run on `digital_lanes` ops per clock, as in the PIM system. Latency per layer = max(compute,
// DRAM transfer at dram_bandwidth_Bps, digital ops); layers run one after another on the one
// array, so throughput = 1 / latency. Utilization = MACs / (cycles x PEs).
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

  void validate() const;
  std::string repr() const;
};

CostReport evaluate_digital(const Network& net, const TechTable& tech, const DigitalSpec& spec);

}  // namespace mho
